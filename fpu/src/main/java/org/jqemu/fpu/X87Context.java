package org.jqemu.fpu;

/**
 * What the x87 unit needs from the CPU executing it. The CPU has already decoded prefixes and
 * computed the effective address; segmentation, paging and their faults stay the CPU's business
 * (a fault propagates out of these calls as the CPU's own unchecked exception).
 */
public interface X87Context {
    /** Reads {@code size} (1, 2, 4 or 8) bytes, little-endian, at effective address {@code ea} of the current data segment. */
    long read(long ea, int size);

    void write(long ea, int size, long value);

    /** EFLAGS as the CPU has them (FCMOVcc reads CF, ZF, PF). */
    int eflags();

    /** FCOMI/FUCOMI: sets ZF, PF, CF to the given bits and clears OF, SF, AF. */
    void setCompareFlags(boolean zf, boolean pf, boolean cf);

    /** FNSTSW AX. */
    void setAx(int value);

    /** For FIP/FCS/FOP/FDP bookkeeping (FSTENV, FSAVE, FXSAVE). */
    long instructionPointer();

    int codeSelector();

    int dataSelector();

    /** An unmasked x87 exception is pending at a waiting instruction: the CPU raises #MF (CR0.NE=1) or asserts FERR/IRQ13; never returns normally when it raises #MF. */
    void raiseMathFault();
}
