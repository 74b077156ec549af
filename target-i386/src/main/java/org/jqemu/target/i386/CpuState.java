package org.jqemu.target.i386;

/**
 * The architectural state of one x86 CPU and the lazy evaluation of the arithmetic flags.
 *
 * <p>Lazy flags: an instruction that sets CF/PF/AF/ZF/SF/OF records what it did ({@link #lazyOp}, the
 * operand size as its sign bit, the two operands and the result, all masked to the operand size) instead
 * of computing six flags nobody may read. {@link #cf()}, {@link #zf()} ... compute one flag from that
 * record; {@link #materializeFlags()} folds all six into {@link #flags} and clears the record.
 * {@link #OP_INC}/{@link #OP_DEC} keep the previous CF in {@link #lazyAux}; {@link #OP_RESULT} takes
 * SF/ZF/PF from the result and CF/OF/AF from {@link #lazyAux} (logic ops, shifts, multiplies).
 */
abstract class CpuState {
    static final int CF = 0x1, PF = 0x4, AF = 0x10, ZF = 0x40, SF = 0x80, TF = 0x100, IF = 0x200, DF = 0x400,
            OF = 0x800, IOPL = 0x3000, NT = 0x4000, RF = 0x10000, VM = 0x20000, AC = 0x40000, VIF = 0x80000,
            VIP = 0x100000, ID = 0x200000;
    static final int ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;
    /** Bits of EFLAGS a P6 implements (ID, VIP, VIF are absent: no CPUID-bit toggling, no VME). */
    static final int IMPLEMENTED_FLAGS = ARITH_FLAGS | TF | IF | DF | IOPL | NT | RF | VM | AC | ID;
    static final int FIXED_ONE = 0x2;

    static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, LDTR = 6, TR = 7;
    static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;

    static final int OP_NONE = 0, OP_ADD = 1, OP_ADC = 2, OP_SUB = 3, OP_SBB = 4, OP_INC = 5, OP_DEC = 6,
            OP_RESULT = 7;

    static final long MASK32 = 0xffff_ffffL;

    /** General registers, 64 bits wide for a future x86_64; 32-bit code keeps the upper halves zero. */
    final long[] regs = new long[16];
    long eip;
    /** EFLAGS; the six arithmetic bits are stale while {@link #lazyOp} != OP_NONE. */
    int flags = FIXED_ONE;

    int lazyOp;
    int lazySign;
    int lazyDst, lazySrc, lazyRes, lazyAux;

    // Segment registers and their descriptor caches, indexed ES..GS, LDTR, TR.
    final int[] segSel = new int[8];
    final long[] segBase = new long[8];
    /** Byte-granular limit as loaded (after G scaling). */
    final long[] segLimit = new long[8];
    /** Descriptor bits 40-55 (type, S, DPL, P, AVL, L, D/B, G), bit 8..15 of this field = bits 48..55 minus limit. */
    final int[] segAttr = new int[8];
    /** Valid offsets are [segLow, segHigh]; a null or unusable segment has segLow > segHigh. */
    final long[] segLow = new long[8];
    final long[] segHigh = new long[8];
    /** RIGHT_READ / RIGHT_WRITE for data accesses through this segment. */
    final int[] segRights = new int[8];
    static final int RIGHT_READ = 1, RIGHT_WRITE = 2;

    int cpl;
    boolean code32;
    boolean stack32;

    long cr0 = 0x6000_0010L, cr2, cr3, cr4;
    long gdtrBase, gdtrLimit = 0xffff, idtrBase, idtrLimit = 0xffff;
    final long[] dr = new long[8];

    static final long CR0_PE = 1, CR0_MP = 2, CR0_EM = 4, CR0_TS = 8, CR0_ET = 0x10, CR0_NE = 0x20,
            CR0_WP = 0x10000, CR0_AM = 0x40000, CR0_NW = 0x2000_0000L, CR0_CD = 0x4000_0000L, CR0_PG = 0x8000_0000L;
    static final long CR4_VME = 1, CR4_PVI = 2, CR4_TSD = 4, CR4_DE = 8, CR4_PSE = 0x10, CR4_PGE = 0x80,
            CR4_PCE = 0x100, CR4_OSFXSR = 0x200;

    // ---- registers by operand size (size in bytes: 1, 2, 4) ----

    final int reg8(int r) {
        return r < 4 ? (int) regs[r] & 0xff : (int) (regs[r - 4] >>> 8) & 0xff;
    }

    final void setReg8(int r, int v) {
        if (r < 4) {
            regs[r] = (regs[r] & ~0xffL) | (v & 0xff);
        } else {
            regs[r - 4] = (regs[r - 4] & ~0xff00L) | ((v & 0xffL) << 8);
        }
    }

    final int reg16(int r) { return (int) regs[r] & 0xffff; }

    final void setReg16(int r, int v) { regs[r] = (regs[r] & ~0xffffL) | (v & 0xffff); }

    final int reg32(int r) { return (int) regs[r]; }

    final void setReg32(int r, int v) { regs[r] = v & MASK32; }

    // The 32-bit operand first and the rest out of line: small enough for C2 to inline at every call site.

    final int reg(int size, int r) {
        return size == 4 ? (int) regs[r] : regNarrow(size, r);
    }

    private int regNarrow(int size, int r) { return size == 1 ? reg8(r) : reg16(r); }

    final void setReg(int size, int r, int v) {
        if (size == 4) {
            regs[r] = v & MASK32;
        } else {
            setRegNarrow(size, r, v);
        }
    }

    private void setRegNarrow(int size, int r, int v) {
        if (size == 1) {
            setReg8(r, v);
        } else {
            setReg16(r, v);
        }
    }

    static int sizeMask(int size) { return size == 4 ? -1 : (1 << (size * 8)) - 1; }

    static int signBit(int size) { return 1 << (size * 8 - 1); }

    /** Sign-extends a value of {@code size} bytes to 32 bits. */
    static int signExtend(int v, int size) {
        return switch (size) {
            case 1 -> (byte) v;
            case 2 -> (short) v;
            default -> v;
        };
    }

    // ---- lazy flags ----

    final void setLazy(int op, int size, int dst, int src, int res) {
        int m = sizeMask(size);
        lazyOp = op;
        lazySign = signBit(size);
        lazyDst = dst & m;
        lazySrc = src & m;
        lazyRes = res & m;
    }

    /** SF, ZF, PF from {@code res}; CF, OF, AF exactly as given in {@code cfOfAf}. */
    final void setLazyResult(int size, int res, int cfOfAf) {
        lazyOp = OP_RESULT;
        lazySign = signBit(size);
        lazyRes = res & sizeMask(size);
        lazyAux = cfOfAf;
    }

    final boolean cf() {
        return switch (lazyOp) {
            case OP_NONE -> (flags & CF) != 0;
            case OP_ADD -> Integer.compareUnsigned(lazyRes, lazyDst) < 0;
            case OP_ADC -> Integer.compareUnsigned(lazyRes, lazyDst) <= 0;
            case OP_SUB -> Integer.compareUnsigned(lazyDst, lazySrc) < 0;
            case OP_SBB -> Integer.compareUnsigned(lazyDst, lazySrc) <= 0;
            default -> (lazyAux & CF) != 0;
        };
    }

    final boolean zf() { return lazyOp == OP_NONE ? (flags & ZF) != 0 : lazyRes == 0; }

    final boolean sf() { return lazyOp == OP_NONE ? (flags & SF) != 0 : (lazyRes & lazySign) != 0; }

    final boolean pf() {
        return lazyOp == OP_NONE ? (flags & PF) != 0 : (Integer.bitCount(lazyRes & 0xff) & 1) == 0;
    }

    final boolean of() {
        return switch (lazyOp) {
            case OP_NONE -> (flags & OF) != 0;
            case OP_ADD, OP_ADC, OP_INC -> ((lazyDst ^ lazyRes) & (lazySrc ^ lazyRes) & lazySign) != 0;
            case OP_SUB, OP_SBB, OP_DEC -> ((lazyDst ^ lazySrc) & (lazyDst ^ lazyRes) & lazySign) != 0;
            default -> (lazyAux & OF) != 0;
        };
    }

    final boolean af() {
        return switch (lazyOp) {
            case OP_NONE -> (flags & AF) != 0;
            case OP_RESULT -> (lazyAux & AF) != 0;
            default -> ((lazyDst ^ lazySrc ^ lazyRes) & 0x10) != 0;
        };
    }

    final int arithFlags() {
        if (lazyOp == OP_NONE) {
            return flags & ARITH_FLAGS;
        }
        return (cf() ? CF : 0) | (pf() ? PF : 0) | (af() ? AF : 0) | (zf() ? ZF : 0) | (sf() ? SF : 0)
                | (of() ? OF : 0);
    }

    /** Folds the lazy record into {@link #flags}; afterwards {@code flags} is the whole EFLAGS. */
    final int materializeFlags() {
        if (lazyOp != OP_NONE) {
            flags = (flags & ~ARITH_FLAGS) | arithFlags();
            lazyOp = OP_NONE;
        }
        return flags;
    }

    /** Replaces the arithmetic flags selected by {@code mask} with {@code bits}. */
    final void setArithFlags(int mask, int bits) {
        materializeFlags();
        flags = (flags & ~mask) | (bits & mask);
    }

    /** Condition code {@code cc} (the low nibble of Jcc/SETcc/CMOVcc). */
    final boolean condition(int cc) {
        boolean r = switch (cc >> 1) {
            case 0 -> of();
            case 1 -> cf();
            case 2 -> zf();
            case 3 -> cf() || zf();
            case 4 -> sf();
            case 5 -> pf();
            case 6 -> sf() != of();
            default -> zf() || sf() != of();
        };
        return r != ((cc & 1) != 0);
    }

    // ---- modes ----

    final boolean protectedMode() { return (cr0 & CR0_PE) != 0; }

    final boolean v86() { return (flags & VM) != 0; }

    final boolean realMode() { return (cr0 & CR0_PE) == 0; }

    final int iopl() { return (flags >> 12) & 3; }
}
