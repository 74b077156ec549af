package org.jqemu.hw.intc;

/**
 * What the CPU sees of an interrupt controller: it polls {@link #hasInterrupt()} at instruction boundaries
 * (when EFLAGS.IF is set) and runs an INTA cycle with {@link #acknowledge()} to learn the vector.
 */
public interface InterruptAcknowledge {
    boolean hasInterrupt();

    /** The INTA cycle: returns the vector (0-255) and updates the controller's in-service state. */
    int acknowledge();
}
