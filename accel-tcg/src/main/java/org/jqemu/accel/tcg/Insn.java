package org.jqemu.accel.tcg;

/**
 * One decoded guest instruction (32-bit code). {@code op} is the opcode byte, or {@code 0x100 | second byte}
 * for the 0F map; {@code size} is the operand size in bytes (1, 2 with the 0x66 prefix, 4). A ModR/M memory
 * operand is {@code seg:[base + index << scale + disp]} ({@code base}/{@code index} -1 when absent); a
 * register operand is {@code rm} with {@code mem} false. {@code rep} is 0, 0xf2 (REPNE) or 0xf3 (REP/REPE);
 * {@code lock} is the LOCK prefix.
 */
record Insn(int eip, int length, int op, int size, int reg, boolean mem, int rm, int seg, int base, int index,
            int scale, int disp, int imm, int rep, boolean lock) {
    static final int NONE = -1;

    Insn(int eip, int length, int op, int size, int reg, boolean mem, int rm, int seg, int base, int index,
         int scale, int disp, int imm) {
        this(eip, length, op, size, reg, mem, rm, seg, base, index, scale, disp, imm, 0, false);
    }

    int next() { return eip + length; }

    /** This instruction with its prefixes applied: a segment override (or -1), REP, LOCK. */
    Insn withPrefixes(int segment, int repPrefix, boolean locked) {
        return new Insn(eip, length, op, size, reg, mem, rm, segment >= 0 ? segment : seg, base, index, scale, disp, imm,
                repPrefix, locked);
    }

    /** Whether the instruction transfers control to a target known at translation time (Jcc, JMP/CALL rel). */
    boolean isDirectTransfer() {
        return op == 0xe8 || op == 0xe9 || op == 0xeb || (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f);
    }

    /** Whether the instruction ends a block (it transfers control). */
    boolean endsBlock() {
        return switch (op) {
            case 0xc2, 0xc3, 0xe8, 0xe9, 0xeb -> true;
            case 0xff -> reg == 2 || reg == 4;
            default -> (op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f);
        };
    }
}
