package org.jqemu.target.i386;

/**
 * Told of every interrupt and exception the CPU is about to deliver (system mode), with the CPU state
 * still as it was (EIP at the return address); for logging such as QEMU's "-d int". Called on the CPU's
 * thread; must not change the CPU.
 */
@FunctionalInterface
public interface EventObserver {
    /** {@code software}: INT n, INT3, INTO or ICEBP rather than an exception or external interrupt. */
    void event(int vector, boolean software, boolean hasErrorCode, int errorCode);
}
