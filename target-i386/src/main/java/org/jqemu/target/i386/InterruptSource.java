package org.jqemu.target.i386;

/**
 * The INTR line as the CPU sees it (in a PC, the 8259 PIC's output). Called from the CPU's thread at
 * instruction boundaries when EFLAGS.IF allows; implementations driven by other threads synchronise.
 */
public interface InterruptSource {
    /** Whether INTR is asserted. */
    boolean interruptPending();

    /** The interrupt acknowledge cycle: returns the vector to deliver (0-255). */
    int acknowledgeInterrupt();
}
