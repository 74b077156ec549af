package org.jqemu.accel.tcg;

/**
 * One decoded guest instruction (32-bit code, no prefixes). {@code op} is the opcode byte, or
 * {@code 0x100 | second byte} for the 0F map. A ModR/M memory operand is {@code seg:[base + index << scale + disp]}
 * ({@code base}/{@code index} -1 when absent); a register operand is {@code rm} with {@code mem} false.
 */
record Insn(int eip, int length, int op, int size, int reg, boolean mem, int rm, int seg, int base, int index,
            int scale, int disp, int imm) {
    static final int NONE = -1;

    int next() { return eip + length; }

    Insn withSegment(int segment) {
        return new Insn(eip, length, op, size, reg, mem, rm, segment, base, index, scale, disp, imm);
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
