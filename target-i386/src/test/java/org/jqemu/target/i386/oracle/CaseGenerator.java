package org.jqemu.target.i386.oracle;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Random instruction cases, reproducible from a seed. Each generator method makes one case of one
 * instruction family with random operands, random initial flags and a random scratch area; memory
 * operands address the scratch area through a base register (never an absolute address, whose
 * encoding would turn RIP-relative in 64-bit mode).
 */
public final class CaseGenerator {
    static final String[] R32 = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};
    static final String[] R16 = {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di"};
    static final String[] R8 = {"al", "cl", "dl", "bl", "ah", "ch", "dh", "bh"};
    static final String[] CC = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};
    static final int ARITH_FLAGS = 0x8d5; // CF PF AF ZF SF OF
    static final int DF = 0x400;
    private static final int[] EDGES = {0, 1, 2, -1, -2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
            0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0x55555555, 0xaaaaaaaa, 0x12345678};
    private static final int SCRATCH = (int) ProgramBuilder.SCRATCH;
    /** Registers that can hold a memory operand's base (not ESP: the wrapper owns the stack). */
    private static final int[] BASES = {3, 5, 6, 7};

    private final Random random;

    public CaseGenerator(long seed) {
        this.random = new Random(seed);
    }

    /** A case under construction: random GPRs (ESP at the scratch area's middle), flags and scratch. */
    final class Builder {
        final int[] regs = new int[8];
        int eflags = 0x2 | (random.nextInt() & ARITH_FLAGS);
        final byte[] scratch = new byte[Record.SCRATCH_SIZE];
        final List<String> body = new ArrayList<>();
        final List<Integer> dest = new ArrayList<>();
        String form;
        boolean neutral = true, x87, fault;

        Builder() {
            for (int r = 0; r < 8; r++) {
                regs[r] = value();
            }
            regs[4] = SCRATCH + 32;
            random.nextBytes(scratch);
        }

        /** Picks a base register other than {@code avoid}, points it into the scratch area; returns "[reg+disp]" and records the offset. */
        String memory(int size, int avoid1, int avoid2, int[] offsetOut) {
            int base;
            do {
                base = BASES[random.nextInt(BASES.length)];
            } while (base == avoid1 || base == avoid2);
            int offset = random.nextInt(Record.SCRATCH_SIZE - size + 1);
            int disp = random.nextInt(33) - 16;
            regs[base] = SCRATCH + offset - disp;
            offsetOut[0] = offset;
            return "[" + R32[base] + (disp < 0 ? "-" : "+") + Math.abs(disp) + "]";
        }

        void destReg(int reg, int size) {
            boolean high = size == 8 && reg >= 4;
            dest.add(Record.REGS + 4 * (high ? reg - 4 : reg) + (high ? 1 : 0));
            dest.add(size / 8);
        }

        void destMem(int offset, int size) {
            dest.add(Record.SCRATCH + offset);
            dest.add(size / 8);
        }

        OracleCase build() {
            int[] d = dest.stream().mapToInt(Integer::intValue).toArray();
            return new OracleCase(form, body, regs.clone(), eflags, scratch.clone(), neutral, x87, fault, d);
        }
    }

    int value() {
        return random.nextInt(4) == 0 ? EDGES[random.nextInt(EDGES.length)] : random.nextInt();
    }

    static String reg(int size, int r) {
        return switch (size) {
            case 8 -> R8[r];
            case 16 -> R16[r];
            default -> R32[r];
        };
    }

    static String sizeWord(int size) {
        return switch (size) {
            case 8 -> "byte";
            case 16 -> "word";
            case 32 -> "dword";
            default -> "qword";
        };
    }

    private int anySize() { return new int[] {8, 16, 32}[random.nextInt(3)]; }

    private int wideSize() { return random.nextBoolean() ? 16 : 32; }

    /** A register usable as an operand of this size (any of 8; ESP excluded for 16/32 so the stack stays ours). */
    private int operandReg(int size) {
        int r;
        do {
            r = random.nextInt(8);
        } while (size != 8 && r == 4);
        return r;
    }

    // ---- families

    void alu(Builder b) {
        String op = new String[] {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp", "test"}[random.nextInt(9)];
        int size = anySize();
        int shape = random.nextInt(5);
        int r1 = operandReg(size), r2 = operandReg(size);
        String sw = sizeWord(size);
        boolean writes = !op.equals("cmp") && !op.equals("test");
        int imm = size == 32 ? value() : value() & ((1 << size) - 1);
        if (random.nextInt(3) == 0) {
            imm = (byte) imm & (size == 32 ? -1 : (1 << size) - 1); // sign-extendable: the 83 /x form
        }
        int[] off = new int[1];
        switch (shape) {
            case 0 -> {
                b.body.add(op + " " + reg(size, r1) + ", " + reg(size, r2));
                b.form = op + " r" + size + ",r" + size;
                if (writes) b.destReg(r1, size);
            }
            case 1 -> {
                b.body.add(op + " " + reg(size, r1) + ", " + imm);
                b.form = op + " r" + size + ",imm";
                if (writes) b.destReg(r1, size);
            }
            case 2 -> {
                String m = b.memory(size / 8, size == 8 ? r2 & 3 : r2, -1, off);
                b.body.add(op + " " + sw + " " + m + ", " + reg(size, r2));
                b.form = op + " m" + size + ",r" + size;
                if (writes) b.destMem(off[0], size);
            }
            case 3 -> {
                String m = b.memory(size / 8, size == 8 ? r1 & 3 : r1, -1, off);
                String o = op.equals("test") ? "test " + sw + " " + m + ", " + reg(size, r1) : op + " " + reg(size, r1) + ", " + sw + " " + m;
                b.body.add(o);
                b.form = op + " r" + size + ",m" + size;
                if (writes) b.destReg(r1, size);
            }
            default -> {
                String m = b.memory(size / 8, -1, -1, off);
                b.body.add(op + " " + sw + " " + m + ", " + imm);
                b.form = op + " m" + size + ",imm";
                if (writes) b.destMem(off[0], size);
            }
        }
    }

    void unary(Builder b) {
        String op = new String[] {"inc", "dec", "neg", "not"}[random.nextInt(4)];
        int size = anySize();
        int r = operandReg(size);
        if (random.nextBoolean()) {
            int[] off = new int[1];
            b.body.add(op + " " + sizeWord(size) + " " + b.memory(size / 8, -1, -1, off));
            b.form = op + " m" + size;
            b.destMem(off[0], size);
        } else {
            if (size != 8 && (op.equals("inc") || op.equals("dec"))) {
                // FF /0 and FF /1: NASM would pick the one-byte 40+r/48+r forms, which are REX prefixes in 64-bit mode
                int modrm = 0xc0 | (op.equals("dec") ? 8 : 0) | r;
                b.body.add((size == 16 ? "db 0x66, 0xff, " : "db 0xff, ") + modrm);
            } else {
                b.body.add(op + " " + reg(size, r));
            }
            b.form = op + " r" + size;
            b.destReg(r, size);
        }
    }

    void shift(Builder b) {
        String op = new String[] {"rol", "ror", "rcl", "rcr", "shl", "shr", "sar"}[random.nextInt(7)];
        int size = anySize();
        int kind = random.nextInt(3);
        int count = switch (random.nextInt(6)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> size;
            case 3 -> size + 1;
            case 4 -> random.nextInt(32);
            default -> random.nextInt(256);
        };
        if (kind == 0) {
            count = 1;
        }
        String countText = kind == 0 ? "1" : kind == 1 ? "cl" : Integer.toString(count);
        if (kind == 1) {
            b.regs[1] = (b.regs[1] & ~0xff) | count;
        }
        int r = kind == 1 ? pickExcept(size, 1) : operandReg(size);
        String dst;
        String shape;
        if (random.nextBoolean()) {
            int[] off = new int[1];
            dst = sizeWord(size) + " " + b.memory(size / 8, 1, -1, off);
            shape = "m";
            b.destMem(off[0], size);
        } else {
            dst = reg(size, r);
            shape = "r";
            b.destReg(r, size);
        }
        b.body.add(op + " " + dst + ", " + countText);
        b.form = op + " " + shape + size + "," + (kind == 1 ? "cl" : "imm") + " " + countTag(count & 31, size);
    }

    /** The count classes the SDM's flag rules depend on: masked count 0, 1, more; and at least the width. */
    static String countTag(int n, int width) {
        return n == 0 ? "[n=0]" : n == 1 ? "[n=1]" : n >= width ? (n > width ? "[n>w]" : "[n=w]") : "[n>1]";
    }

    private int pickExcept(int size, int except) {
        int r;
        do {
            r = operandReg(size);
        } while (r == except || (size == 8 && (r & 3) == except));
        return r;
    }

    void multiply(Builder b) {
        int size = anySize();
        int shape = size == 8 ? random.nextInt(2) : random.nextInt(4);
        String op = random.nextBoolean() ? "mul" : "imul";
        int r = operandReg(size);
        int[] off = new int[1];
        switch (shape) {
            case 0 -> {
                b.body.add(op + " " + reg(size, r));
                b.form = op + " r" + size;
            }
            case 1 -> {
                b.body.add(op + " " + sizeWord(size) + " " + b.memory(size / 8, -1, -1, off));
                b.form = op + " m" + size;
            }
            case 2 -> {
                int r2 = operandReg(size);
                b.body.add("imul " + reg(size, r) + ", " + reg(size, r2));
                b.form = "imul r" + size + ",r" + size;
                b.destReg(r, size);
            }
            default -> {
                int imm = random.nextBoolean() ? (byte) value() : (size == 16 ? (short) value() : value());
                b.body.add("imul " + reg(size, r) + ", " + sizeWord(size) + " " + b.memory(size / 8, r, -1, off) + ", " + imm);
                b.form = "imul r" + size + ",m" + size + ",imm";
                b.destReg(r, size);
            }
        }
    }

    /** DIV/IDIV with operands whose quotient fits (no #DE). */
    void divide(Builder b) {
        int size = anySize();
        boolean signed = random.nextBoolean();
        long mask = size == 32 ? 0xffff_ffffL : (1L << size) - 1;
        long divisor;
        do {
            divisor = value() & mask;
        } while (divisor == 0);
        long sd = signed ? signExtend(divisor, size) : divisor;
        long quotientLimit = signed ? 1L << (size - 1) : 1L << size;
        long q = (random.nextLong() % quotientLimit);
        if (!signed) {
            q = Math.abs(q);
        }
        long remainder = Math.abs(random.nextLong() % Math.abs(sd));
        long dividend = q * sd;
        if (signed && Long.signum(dividend) < 0) {
            remainder = -remainder;
        }
        dividend += remainder;
        if (!fitsDividend(dividend, size, signed) || !fitsQuotient(dividend, sd, size, signed)) {
            dividend = remainder; // small dividend: quotient 0, always fits
        }
        setDividend(b, dividend, size);
        int r = pickDivisorReg(size);
        setRegPart(b, r, size, divisor);
        String op = signed ? "idiv" : "div";
        if (random.nextBoolean()) {
            int[] off = new int[1];
            String m = b.memory(size / 8, -1, -1, off);
            writeScratch(b, off[0], size, divisor);
            b.body.add(op + " " + sizeWord(size) + " " + m);
            b.form = op + " m" + size;
        } else {
            b.body.add(op + " " + reg(size, r));
            b.form = op + " r" + size;
        }
    }

    private static boolean fitsDividend(long dividend, int size, boolean signed) {
        int bits = 2 * size;
        if (bits == 64) {
            return true;
        }
        return signed ? dividend >= -(1L << (bits - 1)) && dividend < (1L << (bits - 1)) : dividend >= 0 && dividend < (1L << bits);
    }

    private static boolean fitsQuotient(long dividend, long divisor, int size, boolean signed) {
        long q = signed ? dividend / divisor : Long.divideUnsigned(dividend, divisor);
        return signed ? q >= -(1L << (size - 1)) && q < (1L << (size - 1)) : q >= 0 && q < (1L << size);
    }

    static long signExtend(long v, int size) {
        return size == 64 ? v : (v << (64 - size)) >> (64 - size);
    }

    private void setDividend(Builder b, long dividend, int size) {
        switch (size) {
            case 8 -> b.regs[0] = (b.regs[0] & ~0xffff) | (int) (dividend & 0xffff);
            case 16 -> {
                b.regs[0] = (b.regs[0] & ~0xffff) | (int) (dividend & 0xffff);
                b.regs[2] = (b.regs[2] & ~0xffff) | (int) ((dividend >> 16) & 0xffff);
            }
            default -> {
                b.regs[0] = (int) dividend;
                b.regs[2] = (int) (dividend >> 32);
            }
        }
    }

    /** A register for the divisor that is not part of the dividend (AX, or DX:AX / EDX:EAX). */
    private int pickDivisorReg(int size) {
        int r;
        do {
            r = operandReg(size);
        } while (r == 0 || r == 2 || (size == 8 && (r == 4 || r == 6)));
        return r;
    }

    private static void setRegPart(Builder b, int r, int size, long v) {
        if (size == 8 && r >= 4) {
            b.regs[r - 4] = (b.regs[r - 4] & ~0xff00) | (int) ((v & 0xff) << 8);
        } else if (size == 32) {
            b.regs[r] = (int) v;
        } else {
            int m = (1 << size) - 1;
            b.regs[r] = (b.regs[r] & ~m) | (int) (v & m);
        }
    }

    private static void writeScratch(Builder b, int offset, int size, long v) {
        for (int i = 0; i < size / 8; i++) {
            b.scratch[offset + i] = (byte) (v >>> (8 * i));
        }
    }

    void bitOps(Builder b) {
        String op = new String[] {"bt", "bts", "btr", "btc", "bsf", "bsr"}[random.nextInt(6)];
        int size = wideSize();
        int r1 = operandReg(size), r2 = operandReg(size);
        int[] off = new int[1];
        boolean writes = !op.equals("bt");
        if (op.equals("bsf") || op.equals("bsr")) {
            boolean zero = random.nextInt(4) == 0;
            if (random.nextBoolean()) {
                String m = b.memory(size / 8, r1, -1, off);
                if (zero) writeScratch(b, off[0], size, 0);
                b.body.add(op + " " + reg(size, r1) + ", " + sizeWord(size) + " " + m);
                b.form = op + " r" + size + ",m" + size + (zero ? " [src=0]" : "");
            } else {
                if (zero) setRegPart(b, r2, size, 0);
                b.body.add(op + " " + reg(size, r1) + ", " + reg(size, r2));
                b.form = op + " r" + size + ",r" + size + (zero ? " [src=0]" : "");
            }
            b.destReg(r1, size);
            return;
        }
        switch (random.nextInt(4)) {
            case 0 -> {
                b.body.add(op + " " + reg(size, r1) + ", " + reg(size, r2));
                b.form = op + " r" + size + ",r" + size;
                if (writes) b.destReg(r1, size);
            }
            case 1 -> {
                b.body.add(op + " " + reg(size, r1) + ", " + random.nextInt(256));
                b.form = op + " r" + size + ",imm";
                if (writes) b.destReg(r1, size);
            }
            case 2 -> {
                b.body.add(op + " " + sizeWord(size) + " " + b.memory(size / 8, -1, -1, off) + ", " + random.nextInt(256));
                b.form = op + " m" + size + ",imm";
            }
            default -> {
                // bit offset register: the address moves by offset/8, so keep it small and the base mid-area
                int base = BASES[random.nextInt(BASES.length)];
                while (base == r2) {
                    base = BASES[random.nextInt(BASES.length)];
                }
                int bit = random.nextInt(384) - 128;
                b.regs[base] = SCRATCH + 24 + random.nextInt(9);
                setRegPart(b, r2, size, bit);
                if (size == 16) {
                    b.regs[r2] = (b.regs[r2] & ~0xffff) | (bit & 0xffff);
                }
                b.body.add(op + " " + sizeWord(size) + " [" + R32[base] + "], " + reg(size, r2));
                b.form = op + " m" + size + ",r" + size;
            }
        }
    }

    void doubleShift(Builder b) {
        String op = random.nextBoolean() ? "shld" : "shrd";
        int size = wideSize();
        boolean cl = random.nextBoolean();
        int count = random.nextInt(4) == 0 ? random.nextInt(3) : random.nextInt(256);
        if (cl) {
            b.regs[1] = (b.regs[1] & ~0xff) | count;
        }
        int src = pickExcept(size, cl ? 1 : -1);
        String dst;
        if (random.nextBoolean()) {
            int[] off = new int[1];
            dst = sizeWord(size) + " " + b.memory(size / 8, src, cl ? 1 : -1, off);
            b.destMem(off[0], size);
        } else {
            int d = pickExcept(size, cl ? 1 : -1);
            dst = reg(size, d);
            b.destReg(d, size);
        }
        b.body.add(op + " " + dst + ", " + reg(size, src) + ", " + (cl ? "cl" : Integer.toString(count)));
        b.form = op + " " + (dst.startsWith("word") || dst.startsWith("dword") ? "m" : "r") + size + ","
                + (cl ? "cl" : "imm") + " " + countTag(count & 31, size);
    }

    void exchange(Builder b) {
        int kind = random.nextInt(5);
        int size = anySize();
        int r = operandReg(size), r2 = operandReg(size);
        int[] off = new int[1];
        switch (kind) {
            case 0, 1 -> {
                String op = kind == 0 ? "cmpxchg" : "xadd";
                if (kind == 0 && random.nextBoolean()) {
                    setRegPart(b, 0, size, r2 == 0 ? b.regs[0] : (size == 8 && r2 >= 4 ? b.regs[r2 - 4] >>> 8 : b.regs[r2]));
                }
                if (random.nextBoolean()) {
                    String m = b.memory(size / 8, size == 8 ? r & 3 : r, -1, off);
                    if (kind == 0 && random.nextBoolean()) {
                        writeScratch(b, off[0], size, size == 8 ? b.regs[0] & 0xff : b.regs[0]);
                    }
                    b.body.add(op + " " + sizeWord(size) + " " + m + ", " + reg(size, r));
                    b.form = op + " m" + size + ",r" + size;
                } else {
                    b.body.add(op + " " + reg(size, r2) + ", " + reg(size, r));
                    b.form = op + " r" + size + ",r" + size;
                }
            }
            case 2 -> {
                String m = b.memory(8, 0, 2, off);
                if (random.nextBoolean()) {
                    writeScratch(b, off[0], 32, b.regs[0] & 0xffff_ffffL);
                    writeScratch(b, off[0] + 4, 32, b.regs[2] & 0xffff_ffffL);
                }
                b.body.add("cmpxchg8b [" + m.substring(1));
                b.form = "cmpxchg8b m64";
            }
            case 3 -> {
                int r32 = operandReg(32);
                b.body.add("bswap " + R32[r32]);
                b.form = "bswap r32";
            }
            default -> {
                if (random.nextBoolean()) {
                    b.body.add("xchg " + reg(size, r) + ", " + reg(size, r2));
                    b.form = "xchg r" + size + ",r" + size;
                } else {
                    b.body.add("xchg " + sizeWord(size) + " " + b.memory(size / 8, size == 8 ? r & 3 : r, -1, off) + ", " + reg(size, r));
                    b.form = "xchg m" + size + ",r" + size;
                }
            }
        }
    }

    void conditional(Builder b) {
        String cc = CC[random.nextInt(CC.length)];
        int[] off = new int[1];
        if (random.nextBoolean()) {
            int size = wideSize();
            int r = operandReg(size);
            if (random.nextBoolean()) {
                b.body.add("cmov" + cc + " " + reg(size, r) + ", " + reg(size, operandReg(size)));
                b.form = "cmovcc r" + size + ",r" + size;
            } else {
                b.body.add("cmov" + cc + " " + reg(size, r) + ", " + sizeWord(size) + " " + b.memory(size / 8, r, -1, off));
                b.form = "cmovcc r" + size + ",m" + size;
            }
        } else if (random.nextBoolean()) {
            b.body.add("set" + cc + " " + R8[random.nextInt(8)]);
            b.form = "setcc r8";
        } else {
            b.body.add("set" + cc + " byte " + b.memory(1, -1, -1, off));
            b.form = "setcc m8";
        }
    }

    void extend(Builder b) {
        String op = random.nextBoolean() ? "movzx" : "movsx";
        int kind = random.nextInt(3);
        int dstSize = kind == 0 ? 16 : 32, srcSize = kind == 2 ? 16 : 8;
        int r = operandReg(dstSize);
        int[] off = new int[1];
        if (random.nextBoolean()) {
            b.body.add(op + " " + reg(dstSize, r) + ", " + reg(srcSize, operandReg(srcSize)));
            b.form = op + " r" + dstSize + ",r" + srcSize;
        } else {
            b.body.add(op + " " + reg(dstSize, r) + ", " + sizeWord(srcSize) + " " + b.memory(srcSize / 8, r, -1, off));
            b.form = op + " r" + dstSize + ",m" + srcSize;
        }
    }

    void misc(Builder b) {
        String op = new String[] {"lahf", "sahf", "cbw", "cwde", "cwd", "cdq", "cmc", "clc", "stc", "cld", "std", "xlatb"}[random.nextInt(12)];
        if (op.equals("xlatb")) {
            b.regs[3] = SCRATCH + random.nextInt(Record.SCRATCH_SIZE - 15);
            b.regs[0] = (b.regs[0] & ~0xff) | random.nextInt(16);
        }
        b.body.add(op);
        b.form = op;
    }

    /** Jcc, LOOP/LOOPcc and JECXZ over a two-byte INC EAX: EAX tells whether the branch was taken. */
    void branch(Builder b) {
        String op = random.nextInt(3) > 0 ? "j" + CC[random.nextInt(CC.length)]
                : new String[] {"loop", "loope", "loopne", "jecxz"}[random.nextInt(4)];
        if (!op.startsWith("j") || op.equals("jecxz")) {
            b.regs[1] = random.nextInt(3) == 0 ? value() : random.nextInt(3);
        }
        b.body.add(op + (op.startsWith("loop") || op.equals("jecxz") ? " $+4" : " short $+4"));
        b.body.add("db 0xff, 0xc0 ; inc eax, not the 40+r form (a REX prefix in 64-bit mode)");
        b.form = op.startsWith("loop") || op.equals("jecxz") ? op : "jcc";
    }

    void imulRegisterImmediate(Builder b) {
        int size = wideSize();
        int imm = random.nextBoolean() ? (byte) value() : (size == 16 ? (short) value() : value());
        int r = operandReg(size);
        b.body.add("imul " + reg(size, r) + ", " + reg(size, operandReg(size)) + ", " + imm);
        b.form = "imul r" + size + ",r" + size + ",imm";
        b.destReg(r, size);
    }

    void lea(Builder b) {
        int size = wideSize();
        int r = operandReg(size);
        int base = random.nextInt(9) - 1; // -1: none
        int index = random.nextInt(8);    // 4: none
        int scale = 1 << random.nextInt(4);
        int disp = switch (random.nextInt(3)) {
            case 0 -> 0;
            case 1 -> (byte) random.nextInt();
            default -> random.nextInt();
        };
        StringBuilder a = new StringBuilder("[");
        if (base >= 0) {
            a.append(R32[base]);
        }
        if (index != 4) {
            a.append(a.length() > 1 ? "+" : "").append(R32[index]).append('*').append(scale);
        }
        if (base < 0 && index == 4) {
            a.append(R32[0]); // [disp32] alone is RIP-relative in 64-bit mode: always keep a register
        }
        a.append(disp < 0 ? "-" : "+").append(Math.abs((long) disp)).append(']');
        b.body.add("lea " + reg(size, r) + ", " + a);
        b.form = "lea r" + size + ",m";
        b.destReg(r, size);
    }

    void string(Builder b) {
        String op = new String[] {"movs", "cmps", "stos", "lods", "scas"}[random.nextInt(5)];
        char unit = "bwd".charAt(random.nextInt(3));
        int width = unit == 'b' ? 1 : unit == 'w' ? 2 : 4;
        boolean down = random.nextBoolean();
        b.eflags = (b.eflags & ~DF) | (down ? DF : 0);
        boolean compares = op.equals("cmps") || op.equals("scas");
        String prefix = switch (random.nextInt(3)) {
            case 0 -> "";
            case 1 -> compares ? "repe " : "rep ";
            default -> compares ? "repne " : "rep ";
        };
        int count = prefix.isEmpty() ? 1 : random.nextInt(6);
        b.regs[1] = prefix.isEmpty() ? value() : count;
        b.regs[6] = SCRATCH + (down ? 20 + random.nextInt(41 - width) : random.nextInt(41));
        b.regs[7] = SCRATCH + (down ? 20 + random.nextInt(41 - width) : random.nextInt(41));
        if (compares && random.nextBoolean()) {
            makeEqual(b.scratch, b.regs[6] - SCRATCH, b.regs[7] - SCRATCH, width, down);
        }
        b.body.add(prefix + op + unit);
        b.form = prefix + op + unit + (down ? " [df=1]" : " [df=0]");
    }

    /** Makes (part of) the two compared strings equal so that REPE runs longer than one step. */
    private static void makeEqual(byte[] scratch, int source, int destination, int width, boolean down) {
        int length = 20;
        int from = down ? source + width - length : source;
        int to = down ? destination + width - length : destination;
        if (from < 0 || to < 0) {
            int shift = -Math.min(from, to);
            from += shift;
            to += shift;
            length -= shift;
        }
        length = Math.min(length, Record.SCRATCH_SIZE - Math.max(from, to));
        System.arraycopy(scratch, from, scratch, to, Math.max(0, length));
    }

    void push16(Builder b) {
        int[] off = new int[1];
        switch (random.nextInt(5)) {
            case 0 -> {
                b.body.add("push " + R16[operandReg(16)]);
                b.form = "push r16";
            }
            case 1 -> {
                b.body.add("pop " + R16[operandReg(16)]);
                b.form = "pop r16";
            }
            case 2 -> {
                b.body.add("push word " + (short) value());
                b.form = "push imm16";
            }
            case 3 -> {
                b.body.add("push word " + b.memory(2, -1, -1, off));
                b.form = "push m16";
            }
            default -> {
                b.body.add("pop word " + b.memory(2, -1, -1, off));
                b.form = "pop m16";
            }
        }
    }

    // ---- x87

    private static final String[] X87_BINARY = {"faddp", "fsubp", "fsubrp", "fmulp", "fdivp", "fdivrp"};
    private static final String[] X87_UNARY = {"fsqrt", "fabs", "fchs", "frndint", "fxch", "fscale", "fprem",
            "fcom", "fcomp", "fucompp", "ftst", "fxam", "fcomi", "fucomi", "fcmovb", "fcmove", "fcmovbe", "fcmovu"};
    private static final String[] X87_MEMORY = {"fadd qword", "fmul qword", "fsub qword", "fdivr qword",
            "fiadd dword", "fimul dword", "fcom qword", "fist dword", "fistp dword", "fstp qword", "fst dword",
            "fild dword", "fld dword"};

    void x87(Builder b) {
        b.x87 = true;
        b.regs[3] = SCRATCH; // EBX addresses the operands
        writeDouble(b, 0, randomDouble());
        writeDouble(b, 8, randomDouble());
        writeDouble(b, 16, randomDouble());
        writeScratch(b, 24, 32, value());
        int precision = new int[] {0, 2, 3}[random.nextInt(3)]; // 1 is reserved
        int cw = 0x007f | (precision << 8) | (random.nextInt(4) << 10); // every exception masked
        if (random.nextBoolean()) {
            writeScratch(b, 56, 16, cw);
            b.body.add("fldcw [ebx+56]");
        }
        b.body.add("fld qword [ebx]");
        b.body.add("fld qword [ebx+8]");
        String op;
        switch (random.nextInt(3)) {
            case 0 -> {
                op = X87_BINARY[random.nextInt(X87_BINARY.length)];
                b.body.add(op + " st1, st0");
            }
            case 1 -> {
                op = X87_UNARY[random.nextInt(X87_UNARY.length)];
                b.body.add(op.startsWith("fcmov") ? op + " st0, st1" : op.equals("fcomi") || op.equals("fucomi") ? op + " st0, st1" : op);
            }
            default -> {
                op = X87_MEMORY[random.nextInt(X87_MEMORY.length)];
                int at = op.startsWith("fi") || op.endsWith("dword") ? 24 : 16;
                b.body.add(op + " [ebx+" + at + "]");
                op = op.substring(0, op.indexOf(' '));
            }
        }
        b.form = "x87 " + op;
    }

    private double randomDouble() {
        return switch (random.nextInt(8)) {
            case 0 -> new double[] {0.0, -0.0, 1.0, -1.0, 0.5, 2.0, 3.0, 1e300, -1e-300, Double.POSITIVE_INFINITY,
                    Double.NEGATIVE_INFINITY, Double.NaN, Double.MIN_VALUE, 65536.5, -2.5, 1.5}[random.nextInt(16)];
            case 1 -> random.nextInt(2001) - 1000;
            case 2 -> Double.longBitsToDouble(random.nextLong());
            default -> (random.nextDouble() - 0.5) * Math.pow(10, random.nextInt(20) - 10);
        };
    }

    private static void writeDouble(Builder b, int offset, double v) {
        long bits = Double.doubleToRawLongBits(v);
        for (int i = 0; i < 8; i++) {
            b.scratch[offset + i] = (byte) (bits >>> (8 * i));
        }
    }

    // ---- i386-only encodings (not runnable by a 64-bit host)

    void bcd(Builder b) {
        b.neutral = false;
        String op = new String[] {"daa", "das", "aaa", "aas", "aam", "aad"}[random.nextInt(6)];
        if (op.equals("aam") || op.equals("aad")) {
            int base = random.nextBoolean() ? 10 : 1 + random.nextInt(255);
            b.body.add(op + " " + base);
        } else {
            b.body.add(op);
        }
        b.form = op;
    }

    void stack32(Builder b) {
        b.neutral = false;
        int[] off = new int[1];
        switch (random.nextInt(9)) {
            case 0 -> {
                b.body.add("push " + R32[operandReg(32)]);
                b.form = "push r32";
            }
            case 1 -> {
                b.body.add("pop " + R32[operandReg(32)]);
                b.form = "pop r32";
            }
            case 2 -> {
                b.body.add("push dword " + value());
                b.form = "push imm32";
            }
            case 3 -> {
                b.body.add("push dword " + b.memory(4, -1, -1, off));
                b.form = "push m32";
            }
            case 4 -> {
                b.body.add("pushad");
                b.form = "pushad";
            }
            case 5 -> {
                b.body.add("popad");
                b.form = "popad";
            }
            case 6 -> {
                b.regs[5] = SCRATCH + 16 + random.nextInt(40);
                b.body.add("leave");
                b.form = "leave";
            }
            case 7 -> {
                b.regs[5] = SCRATCH + 16 + random.nextInt(32);
                b.regs[4] = SCRATCH + 48;
                b.body.add("enter " + random.nextInt(9) + ", " + random.nextInt(4));
                b.form = "enter";
            }
            default -> {
                int r = operandReg(random.nextBoolean() ? 16 : 32);
                boolean inc = random.nextBoolean();
                boolean word = random.nextBoolean();
                b.body.add((word ? "db 0x66, " : "db ") + ((inc ? 0x40 : 0x48) | r));
                b.form = (inc ? "inc" : "dec") + " r" + (word ? 16 : 32) + " (short)";
            }
        }
    }

    /** POPFD then PUSHFD: which flags user mode may change (not IF or IOPL; TF and AC left out: they would trap). */
    void flagsRoundTrip(Builder b) {
        b.neutral = false;
        int value = random.nextInt() & (ARITH_FLAGS | DF | 0x4000 | 0x200000 | 0x3200);
        b.body.add("push dword " + value);
        b.body.add("popfd");
        b.body.add("pushfd");
        b.form = "popfd/pushfd";
    }

    void lea16(Builder b) {
        b.neutral = false;
        String[] modes = {"bx+si", "bx+di", "bp+si", "bp+di", "si", "di", "bp", "bx"};
        int disp = random.nextInt(3) == 0 ? 0 : (short) random.nextInt();
        b.body.add("lea " + R16[operandReg(16)] + ", [" + modes[random.nextInt(8)] + (disp < 0 ? "-" : "+") + Math.abs(disp) + "]");
        b.form = "lea r16,m (a16)";
    }

    // ---- faulting cases: each ends a program

    OracleCase fault(boolean neutral) {
        Builder b = new Builder();
        b.fault = true;
        b.neutral = neutral;
        int kind = neutral ? random.nextInt(7) : 7 + random.nextInt(2);
        switch (kind) {
            case 0 -> {
                setRegPart(b, 3, 32, 0);
                b.body.add("div ebx");
                b.form = "fault div by zero";
            }
            case 1 -> {
                b.regs[0] = 0;
                b.regs[2] = 0x80000000;
                b.regs[3] = -1;
                b.body.add("idiv ebx");
                b.form = "fault idiv overflow";
            }
            case 2 -> {
                b.regs[0] = 0xffff;
                b.regs[3] = 0x10;
                b.body.add("div bl");
                b.form = "fault div8 overflow";
            }
            case 3 -> {
                b.body.add("ud2");
                b.form = "fault ud2";
            }
            case 4 -> {
                b.body.add("hlt");
                b.form = "fault hlt";
            }
            case 5 -> {
                b.body.add("int3");
                b.form = "fault int3";
            }
            case 6 -> {
                b.regs[3] = 0;
                b.body.add("mov [ebx], eax");
                b.form = "fault write to address 0";
            }
            case 7 -> {
                b.body.add("aam 0");
                b.form = "fault aam 0";
            }
            default -> {
                b.eflags |= 0x800;
                b.body.add("into");
                b.form = "fault into";
            }
        }
        return b.build();
    }

    /** Cases are packed into programs by group, so that one missing feature (e.g. the x87) stops only its own programs. */
    public enum Group {
        INTEGER(true), X87(true), I386_ONLY(false);

        public final boolean neutral;

        Group(boolean neutral) { this.neutral = neutral; }
    }

    /** The integer families, each listed as often as its share of the cases. */
    private final List<Consumer<Builder>> integerFamilies = List.of(this::alu, this::alu, this::alu, this::unary,
            this::shift, this::shift, this::shift, this::multiply, this::divide, this::bitOps, this::bitOps,
            this::doubleShift, this::exchange, this::conditional, this::extend, this::misc, this::lea, this::string,
            this::string, this::push16, this::branch, this::imulRegisterImmediate);
    private final List<Consumer<Builder>> i386Families = List.of(this::bcd, this::bcd, this::stack32, this::stack32, this::lea16,
            this::flagsRoundTrip);

    public OracleCase next(Group group) {
        Builder b = new Builder();
        switch (group) {
            case INTEGER -> integerFamilies.get(random.nextInt(integerFamilies.size())).accept(b);
            case X87 -> x87(b);
            default -> i386Families.get(random.nextInt(i386Families.size())).accept(b);
        }
        return b.build();
    }
}
