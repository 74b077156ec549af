package org.jqemu.target.i386.oracle;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The state each case dumps, {@value #SIZE} bytes: EAX..EDI in encoding order, EFLAGS, the scratch area,
 * and the FNSAVE image (32-bit protected-mode layout) for x87 cases.
 */
public final class Record {
    public static final int SIZE = 216;
    public static final int REGS = 0, EFLAGS = 32, SCRATCH = 40, SCRATCH_SIZE = 64, FPU = 104, FPU_SIZE = 108;
    /** FNSAVE fields compared: control word, status word, tag word, and the eight 80-bit registers. */
    public static final int FPU_CW = FPU, FPU_SW = FPU + 4, FPU_TW = FPU + 8, FPU_REGS = FPU + 28, FPU_REGS_SIZE = 80;
    public static final String[] REG_NAMES = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

    private Record() { }

    static int reg(ByteBuffer b, int base, int r) { return b.getInt(base + REGS + 4 * r); }

    static ByteBuffer wrap(byte[] bytes) { return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN); }
}
