package org.jqemu.memory;

/** One interrupt wire from a device to an interrupt controller (level: raised or lowered). */
@FunctionalInterface
public interface IrqLine {
    void set(boolean raised);

    default void raise() { set(true); }

    default void lower() { set(false); }

    /** A line wired to nothing. */
    static IrqLine none() { return Unwired.LINE; }

    /**
     * Holds {@link #none()}'s line. As a field of the interface itself it gave the interface a static initializer, and
     * HotSpot's AOT cache keeps no lambda of such an interface's type: each line made by a lambda was spun again at
     * every start (accel-tcg/README-design.md, "Session 20").
     */
    final class Unwired {
        static final IrqLine LINE = raised -> { };

        private Unwired() { }
    }
}
