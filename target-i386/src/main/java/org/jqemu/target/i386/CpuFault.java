package org.jqemu.target.i386;

/**
 * An x86 exception raised while executing an instruction: thrown from deep inside the interpreter and
 * caught by the run loop, which delivers it (IVT/IDT) or reports it (user mode). No stack trace: faults
 * are part of normal guest execution and must be cheap.
 */
final class CpuFault extends RuntimeException {
    static final int DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
            TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18;

    final int vector;
    final int errorCode;
    final boolean hasErrorCode;
    /** A trap (INT3, INTO, INT n in user mode): EIP already points after the instruction. */
    final boolean trap;
    /** In user mode, the X86Cpu.EXIT_* code this event ends run() with (0: an ordinary exception). */
    final int userExit;

    CpuFault(int vector, int errorCode, boolean hasErrorCode) {
        this(vector, errorCode, hasErrorCode, false, 0);
    }

    CpuFault(int vector, int errorCode, boolean hasErrorCode, boolean trap, int userExit) {
        super(null, null, false, false);
        this.vector = vector;
        this.errorCode = errorCode;
        this.hasErrorCode = hasErrorCode;
        this.trap = trap;
        this.userExit = userExit;
    }

    static CpuFault of(int vector) { return new CpuFault(vector, 0, false); }

    static CpuFault withCode(int vector, int errorCode) { return new CpuFault(vector, errorCode, true); }

    /** Vectors whose exceptions push an error code (in protected mode). */
    static boolean pushesErrorCode(int vector) {
        return vector == DF || (vector >= TS && vector <= PF) || vector == AC;
    }

    /** Contributory exceptions for the double-fault rules (SDM Vol. 3 table 6-5). */
    static boolean contributory(int vector) {
        return vector == DE || (vector >= TS && vector <= GP);
    }
}
