package org.jqemu.memory;

/** One interrupt wire from a device to an interrupt controller (level: raised or lowered). */
@FunctionalInterface
public interface IrqLine {
    void set(boolean raised);

    default void raise() { set(true); }

    default void lower() { set(false); }

    /** A line wired to nothing. */
    IrqLine NONE = raised -> { };
}
