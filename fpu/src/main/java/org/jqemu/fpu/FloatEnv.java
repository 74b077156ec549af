package org.jqemu.fpu;

/**
 * The rounding environment and sticky results of one soft-float operation: the x87 control word it
 * obeys, the exception flags it raised (status-word bit positions) and whether the last rounding
 * increased the magnitude (the x87 C1 "round up" bit).
 */
public final class FloatEnv {
    public static final int IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20;
    /** Stack fault bit of the status word; raised with IE by the unit, never by arithmetic. */
    public static final int SF = 0x40;

    public static final int RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

    /** Control word: exception masks in bits 0-5, precision control in 8-9, rounding control in 10-11. */
    public int controlWord = 0x037f;
    /** Exceptions raised, accumulated until {@link #clear()}. */
    public int flags;
    /** The last rounding increased the magnitude. */
    public boolean roundedUp;
    /** FPREM/FPREM1: low three bits of the quotient, and whether the reduction is incomplete (C2). */
    public int quotient;
    public boolean incomplete;

    public FloatEnv() { }

    public FloatEnv(int controlWord) { this.controlWord = controlWord; }

    public void clear() { flags = 0; roundedUp = false; }

    public int roundingControl() { return (controlWord >> 10) & 3; }

    /** Significand bits selected by the precision-control field (24, 53 or 64; the reserved value 1 acts as 64). */
    public int precisionBits() {
        return switch ((controlWord >> 8) & 3) {
            case 0 -> 24;
            case 2 -> 53;
            default -> 64;
        };
    }

    public boolean masked(int exception) { return (controlWord & exception) != 0; }

    void raise(int exception) { flags |= exception; }
}
