package org.jqemu.fpu;

import static org.jqemu.fpu.FloatEnv.*;

/**
 * The x87 floating-point unit: registers, control/status/tag words, and every D8-DF instruction.
 *
 * <p>CONTRACT: the CPU decodes an escape opcode D8-DF and its ModR/M byte, computes the effective
 * address for memory forms (mod != 3), and calls {@link #execute}; a {@code false} return means the
 * encoding is undefined on a P6 and the CPU raises #UD (nothing was changed). 0F AE /0 and /1 call
 * {@link #fxsave}/{@link #fxrstor}; WAIT/FWAIT calls {@link #waitCheck}.
 *
 * <p>Registers are kept by physical index with a one-bit-per-register "valid" mask (the abridged tag);
 * the full tag word is derived from the contents when it is read, as the hardware does.
 */
public final class X87 {
    static final int SW_C0 = 0x0100, SW_C1 = 0x0200, SW_C2 = 0x0400, SW_C3 = 0x4000;
    static final int SW_ES = 0x0080, SW_B = 0x8000;
    static final int SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;
    static final int EXC_MASK = 0x3f;

    private final long[] sig = new long[8];
    private final int[] se = new int[8];
    private int valid;
    private int top;
    private int cw = 0x037f;
    /** Status word without the TOP field. */
    private int sw;
    private long fip, fdp;
    private int fcs, fds, fop;
    private final FloatEnv env = new FloatEnv();

    public X87() { reset(); }

    // ---------------------------------------------------------------------------------------------
    // State access

    /** FNINIT state, also the state at CPU reset (after INIT the FPU keeps its state; after RESET it is this). */
    public void reset() {
        cw = 0x037f;
        sw = 0;
        top = 0;
        valid = 0;
        fip = fdp = 0;
        fcs = fds = fop = 0;
    }

    public int controlWord() { return cw; }

    public int statusWord() { return sw | (top << 11); }

    public int tagWord() {
        int t = 0;
        for (int p = 0; p < 8; p++) t |= physicalTag(p) << (2 * p);
        return t;
    }

    /** The value of ST(i), whatever its tag. */
    public Float80 st(int i) {
        int p = (top + i) & 7;
        return new Float80(se[p], sig[p]);
    }

    public boolean isEmpty(int i) { return (valid & (1 << ((top + i) & 7))) == 0; }

    /** Tag of a physical register: 0 valid, 1 zero, 2 special (NaN, infinity, denormal, unsupported), 3 empty. */
    private int physicalTag(int p) {
        if ((valid & (1 << p)) == 0) return 3;
        int e = se[p] & 0x7fff;
        if (e == 0) return sig[p] == 0 ? 1 : 2;
        if (e == 0x7fff || sig[p] >= 0) return 2;
        return 0;
    }

    private void put(int i, Float80 v) {
        int p = (top + i) & 7;
        se[p] = v.se();
        sig[p] = v.sig();
        valid |= 1 << p;
    }

    private void push(Float80 v) {
        top = (top - 1) & 7;
        put(0, v);
    }

    private void pop() {
        valid &= ~(1 << top);
        top = (top + 1) & 7;
    }

    // ---------------------------------------------------------------------------------------------
    // Exception bookkeeping

    private FloatEnv begin() {
        env.controlWord = cw;
        env.clear();
        return env;
    }

    /** Merges the flags an operation raised into the status word; C1 becomes the round-up bit. */
    private void finish(FloatEnv e) {
        sw = (sw & ~SW_C1) | (e.roundedUp ? SW_C1 : 0) | (e.flags & 0x7f);
        if ((e.flags & ~cw & EXC_MASK) != 0) sw |= SW_ES | SW_B;
    }

    /** IE, DE or ZE unmasked: the instruction leaves its destination (and the stack) unchanged. */
    private boolean blocked(FloatEnv e) { return (e.flags & ~cw & (IE | DE | ZE)) != 0; }

    /** A store to memory is also suppressed by unmasked overflow and underflow. */
    private boolean storeBlocked(FloatEnv e) { return (e.flags & ~cw & (IE | DE | ZE | OE | UE)) != 0; }

    /** Stack underflow: IE and SF with C1 = 0. True when masked (the caller delivers the indefinite). */
    private boolean underflow() {
        FloatEnv e = begin();
        e.raise(IE | SF);
        finish(e);
        return (cw & IE) != 0;
    }

    /** Stack overflow: IE and SF with C1 = 1. True when masked (the caller pushes the indefinite). */
    private boolean overflow() {
        FloatEnv e = begin();
        e.raise(IE | SF);
        finish(e);
        sw |= SW_C1;
        return (cw & IE) != 0;
    }

    private void setCc(int c3c2c0) {
        sw = (sw & ~(SW_C0 | SW_C2 | SW_C3)) | c3c2c0;
    }

    // ---------------------------------------------------------------------------------------------
    // Decoding

    /**
     * Executes one escape instruction.
     *
     * @param opcode    the escape byte, 0xD8..0xDF
     * @param modrm     the ModR/M byte
     * @param ea        effective address for memory forms (ignored when mod == 3)
     * @param opSize32  operand size is 32 bits (FSTENV/FLDENV/FSAVE/FRSTOR layouts)
     * @param realMode  real or virtual-8086 mode (FSTENV/FSAVE layouts)
     * @return false when the encoding is undefined (#UD); the unit is then unchanged
     */
    public boolean execute(X87Context cpu, int opcode, int modrm, long ea, boolean opSize32, boolean realMode) {
        opcode &= 0xff;
        modrm &= 0xff;
        if (!X87Decode.defined(opcode, modrm)) return false;
        if (!X87Decode.nonWaiting(opcode, modrm) && (sw & SW_ES) != 0) cpu.raiseMathFault();
        boolean mem = modrm < 0xc0;
        if (!X87Decode.isControl(opcode, modrm)) {
            fip = cpu.instructionPointer();
            fcs = cpu.codeSelector();
            fop = ((opcode & 7) << 8) | modrm;
            if (mem) {
                fdp = ea;
                fds = cpu.dataSelector();
            }
        }
        int reg = (modrm >> 3) & 7;
        if (mem) {
            memoryForm(cpu, opcode, reg, ea, opSize32, realMode);
        } else {
            registerForm(cpu, opcode, reg, modrm & 7);
        }
        return true;
    }

    private void memoryForm(X87Context cpu, int opcode, int reg, long ea, boolean op32, boolean real) {
        switch (opcode) {
            case 0xd8 -> arithMemory(reg, Float80.operand32((int) cpu.read(ea, 4), begin()));
            case 0xdc -> arithMemory(reg, Float80.operand64(cpu.read(ea, 8), begin()));
            case 0xda -> arithMemory(reg, Float80.fromLong((int) cpu.read(ea, 4)), begin());
            case 0xde -> arithMemory(reg, Float80.fromLong((short) cpu.read(ea, 2)), begin());
            case 0xd9 -> {
                switch (reg) {
                    case 0 -> load(Float80.fromFloat32((int) cpu.read(ea, 4), begin()));
                    case 2, 3 -> storeBinary(cpu, ea, 4, reg == 3);
                    case 4 -> loadEnvironment(cpu, ea, op32, real);
                    case 5 -> setControlWord((int) cpu.read(ea, 2));
                    case 6 -> {
                        storeEnvironment(cpu, ea, op32, real);
                        cw |= EXC_MASK;
                    }
                    default -> cpu.write(ea, 2, cw);
                }
            }
            case 0xdd -> {
                switch (reg) {
                    case 0 -> load(Float80.fromFloat64(cpu.read(ea, 8), begin()));
                    case 2, 3 -> storeBinary(cpu, ea, 8, reg == 3);
                    case 4 -> restore(cpu, ea, op32, real);
                    case 6 -> save(cpu, ea, op32, real);
                    default -> cpu.write(ea, 2, statusWord());
                }
            }
            case 0xdb -> {
                switch (reg) {
                    case 0 -> load(Float80.fromLong((int) cpu.read(ea, 4)), begin());
                    case 2, 3 -> storeInteger(cpu, ea, 4, reg == 3);
                    case 5 -> load(read80(cpu, ea), begin());
                    default -> store80(cpu, ea);
                }
            }
            default -> { // 0xdf
                switch (reg) {
                    case 0 -> load(Float80.fromLong((short) cpu.read(ea, 2)), begin());
                    case 2, 3 -> storeInteger(cpu, ea, 2, reg == 3);
                    case 4 -> load(Float80.fromBcd(cpu.read(ea, 8), (int) cpu.read(ea + 8, 2)), begin());
                    case 5 -> load(Float80.fromLong(cpu.read(ea, 8)), begin());
                    case 6 -> storeBcd(cpu, ea);
                    default -> storeInteger(cpu, ea, 8, true);
                }
            }
        }
    }

    private void registerForm(X87Context cpu, int opcode, int reg, int i) {
        switch (opcode) {
            case 0xd8 -> {
                if (reg == 2 || reg == 3) compare(i, false, reg == 3 ? 1 : 0);
                else arithRegister(reg, 0, i, false);
            }
            case 0xdc -> {
                if (reg == 2 || reg == 3) compare(i, false, reg == 3 ? 1 : 0);
                else arithRegister(reverseForm(reg), i, i, false);
            }
            case 0xde -> {
                if (reg == 2 || reg == 3) compare(1, false, 2); // DE D9 FCOMPP and the DE D0-D7 FCOMP alias
                else arithRegister(reverseForm(reg), i, i, true);
            }
            case 0xda -> {
                if (reg == 5) compare(1, true, 2); // FUCOMPP
                else fcmov(cpu, i, condition(cpu, reg));
            }
            case 0xdb -> {
                switch (reg) {
                    case 4 -> {
                        if (i == 2) sw &= ~(EXC_MASK | SF | SW_ES | SW_B);
                        else if (i == 3) reset();
                    }
                    case 5 -> compareFlags(cpu, i, true, false);
                    case 6 -> compareFlags(cpu, i, false, false);
                    default -> fcmov(cpu, i, !condition(cpu, reg));
                }
            }
            case 0xdd -> {
                switch (reg) {
                    case 0 -> valid &= ~(1 << ((top + i) & 7));
                    case 1 -> exchange(i);
                    case 2, 3 -> storeRegister(i, reg == 3);
                    case 4 -> compare(i, true, 0);
                    default -> compare(i, true, 1);
                }
            }
            case 0xdf -> {
                switch (reg) {
                    case 0 -> {
                        valid &= ~(1 << ((top + i) & 7));
                        pop();
                    }
                    case 1 -> exchange(i);
                    case 2, 3 -> storeRegister(i, true);
                    case 4 -> cpu.setAx(statusWord());
                    case 5 -> compareFlags(cpu, i, true, true);
                    default -> compareFlags(cpu, i, false, true);
                }
            }
            default -> d9Register(reg, i); // 0xd9
        }
    }

    /** DC/DE register forms encode SUB/SUBR and DIV/DIVR the other way round from D8. */
    private static int reverseForm(int reg) { return reg >= 4 ? reg ^ 1 : reg; }

    private static boolean condition(X87Context cpu, int reg) {
        int f = cpu.eflags();
        boolean cf = (f & 1) != 0, zf = (f & 0x40) != 0, pf = (f & 4) != 0;
        return switch (reg & 3) {
            case 0 -> cf;
            case 1 -> zf;
            case 2 -> cf || zf;
            default -> pf;
        };
    }

    private void d9Register(int reg, int i) {
        switch (reg) {
            case 0 -> loadRegister(i);
            case 1 -> exchange(i);
            case 2 -> { } // FNOP
            case 3 -> storeRegister(i, true); // D9 D8+i: FSTP alias
            case 4 -> {
                switch (i) {
                    case 0, 1 -> signOp(i == 0);
                    case 4 -> test();
                    default -> examine();
                }
            }
            case 5 -> loadConstant(i);
            default -> X87Math.execute(this, ((reg - 6) << 3) | i);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Loads and stores

    static Float80 read80(X87Context cpu, long ea) {
        long m = cpu.read(ea, 8);
        int s = (int) cpu.read(ea + 8, 2);
        return new Float80(s, m);
    }

    private void load(Float80 v) { load(v, env); }

    /** Pushes a converted value; the conversion's flags (IE for SNaN, DE) are in {@code e}. */
    private void load(Float80 v, FloatEnv e) {
        if (!isEmpty(7)) {
            if (overflow()) push(Float80.INDEFINITE);
            return;
        }
        if (!blocked(e)) push(v);
        finish(e);
    }

    private void loadRegister(int i) {
        Float80 v = st(i);
        boolean empty = isEmpty(i);
        if (!isEmpty(7)) {
            if (overflow()) push(Float80.INDEFINITE);
            return;
        }
        if (empty) {
            if (underflow()) push(Float80.INDEFINITE);
            return;
        }
        begin();
        push(v);
        finish(env);
    }

    private void loadConstant(int i) {
        if (i == 7) return; // D9 EF is rejected by the decoder
        if (!isEmpty(7)) {
            if (overflow()) push(Float80.INDEFINITE);
            return;
        }
        FloatEnv e = begin();
        push(X87Math.constant(i, e.roundingControl()));
        finish(e);
    }

    private void storeBinary(X87Context cpu, long ea, int size, boolean popAfter) {
        if (isEmpty(0)) {
            if (underflow()) {
                cpu.write(ea, size, size == 4 ? 0xffc00000L : 0xfff8000000000000L);
                if (popAfter) pop();
            }
            return;
        }
        FloatEnv e = begin();
        long bits = size == 4 ? Float80.toFloat32(st(0), e) & 0xffffffffL : Float80.toFloat64(st(0), e);
        if (!storeBlocked(e)) {
            cpu.write(ea, size, bits);
            if (popAfter) pop();
        }
        finish(e);
    }

    private void storeInteger(X87Context cpu, long ea, int size, boolean popAfter) {
        long indefinite = 1L << (size * 8 - 1);
        if (isEmpty(0)) {
            if (underflow()) {
                cpu.write(ea, size, indefinite);
                if (popAfter) pop();
            }
            return;
        }
        FloatEnv e = begin();
        long v = Float80.toInteger(st(0), size * 8, e);
        if (!storeBlocked(e)) {
            cpu.write(ea, size, v);
            if (popAfter) pop();
        }
        finish(e);
    }

    private void storeBcd(X87Context cpu, long ea) {
        if (isEmpty(0)) {
            if (underflow()) {
                cpu.write(ea, 8, 0xc000000000000000L);
                cpu.write(ea + 8, 2, 0xffff);
                pop();
            }
            return;
        }
        FloatEnv e = begin();
        long[] bcd = Float80.toBcd(st(0), e);
        if (!storeBlocked(e)) {
            cpu.write(ea, 8, bcd[0]);
            cpu.write(ea + 8, 2, bcd[1]);
            pop();
        }
        finish(e);
    }

    private void store80(X87Context cpu, long ea) {
        Float80 v = st(0);
        if (isEmpty(0)) {
            if (!underflow()) return;
            v = Float80.INDEFINITE;
        } else {
            begin();
            finish(env);
        }
        cpu.write(ea, 8, v.sig());
        cpu.write(ea + 8, 2, v.se());
        pop();
    }

    private void storeRegister(int i, boolean popAfter) {
        if (isEmpty(0)) {
            if (!underflow()) return;
            put(i, Float80.INDEFINITE);
        } else {
            begin();
            put(i, st(0));
            finish(env);
        }
        if (popAfter) pop();
    }

    private void exchange(int i) {
        boolean e0 = isEmpty(0), ei = isEmpty(i);
        if (e0 || ei) {
            if (!underflow()) return;
            if (e0) put(0, Float80.INDEFINITE);
            if (ei) put(i, Float80.INDEFINITE);
        } else {
            begin();
            finish(env);
        }
        Float80 a = st(0);
        put(0, st(i));
        put(i, a);
    }

    private void fcmov(X87Context cpu, int i, boolean move) {
        if (isEmpty(i) || isEmpty(0)) {
            if (underflow() && move) put(0, Float80.INDEFINITE); // TODO check
            return;
        }
        begin();
        finish(env);
        if (move) put(0, st(i));
    }

    // ---------------------------------------------------------------------------------------------
    // Arithmetic

    private void arithMemory(int reg, Float80 operand) { arithMemory(reg, operand, env); }

    /** D8/DC/DA/DE memory forms: ST0 = ST0 op operand, or a compare with it (reg 2, 3). */
    private void arithMemory(int reg, Float80 operand, FloatEnv e) {
        if (isEmpty(0)) {
            if (underflow() && reg != 2 && reg != 3) put(0, Float80.INDEFINITE);
            if (reg == 2 || reg == 3) {
                if ((cw & IE) != 0) {
                    setCc(SW_C3 | SW_C2 | SW_C0);
                    if (reg == 3) pop();
                }
            }
            return;
        }
        if ((e.flags & DE) != 0 && !e.masked(DE)) { // denormal memory operand, unmasked
            finish(e);
            return;
        }
        if (reg == 2 || reg == 3) {
            int c = Float80.compare(st(0), operand, false, e);
            completeCompare(e, c, reg == 3 ? 1 : 0);
            return;
        }
        int savedFlags = e.flags;
        Float80 r = operate(reg, st(0), operand, e);
        e.flags |= savedFlags;
        if (r != null && !blocked(e)) put(0, r);
        finish(e);
    }

    /** Register forms: ST(dst) = ST(dst) op ST(src) in D8 terms, where one of dst/src is 0. */
    private void arithRegister(int reg, int dst, int i, boolean popAfter) {
        if (isEmpty(0) || isEmpty(i)) {
            if (underflow()) {
                put(dst, Float80.INDEFINITE);
                if (popAfter) pop();
            }
            return;
        }
        FloatEnv e = begin();
        Float80 a = st(dst), b = st(dst == 0 ? i : 0);
        Float80 r = operate(reg, a, b, e);
        if (r != null && !blocked(e)) {
            put(dst, r);
            if (popAfter) pop();
        }
        finish(e);
    }

    private static Float80 operate(int reg, Float80 a, Float80 b, FloatEnv e) {
        return switch (reg) {
            case 0 -> Float80.add(a, b, e);
            case 1 -> Float80.mul(a, b, e);
            case 4 -> Float80.sub(a, b, e);
            case 5 -> Float80.sub(b, a, e);
            case 6 -> Float80.div(a, b, e);
            default -> Float80.div(b, a, e);
        };
    }

    // ---------------------------------------------------------------------------------------------
    // Comparisons

    /** FCOM/FUCOM family on ST0 and ST(i); pops = 0, 1 or 2. */
    private void compare(int i, boolean quiet, int pops) {
        if (isEmpty(0) || isEmpty(i)) {
            if (underflow()) {
                setCc(SW_C3 | SW_C2 | SW_C0);
                for (int k = 0; k < pops; k++) pop();
            }
            return;
        }
        FloatEnv e = begin();
        int c = Float80.compare(st(0), st(i), quiet, e);
        completeCompare(e, c, pops);
    }

    private void completeCompare(FloatEnv e, int c, int pops) {
        e.roundedUp = false;
        if (!blocked(e)) {
            setCc(switch (c) {
                case Float80.CMP_LESS -> SW_C0;
                case Float80.CMP_EQUAL -> SW_C3;
                case Float80.CMP_GREATER -> 0;
                default -> SW_C3 | SW_C2 | SW_C0;
            });
            for (int k = 0; k < pops; k++) pop();
        }
        finish(e);
    }

    /** FCOMI/FUCOMI(P): the result goes to ZF, PF, CF. */
    private void compareFlags(X87Context cpu, int i, boolean quiet, boolean popAfter) {
        if (isEmpty(0) || isEmpty(i)) {
            if (underflow()) {
                cpu.setCompareFlags(true, true, true);
                if (popAfter) pop();
            }
            return;
        }
        FloatEnv e = begin();
        int c = Float80.compare(st(0), st(i), quiet, e);
        if (!blocked(e)) {
            cpu.setCompareFlags(c == Float80.CMP_EQUAL || c == Float80.CMP_UNORDERED,
                    c == Float80.CMP_UNORDERED, c == Float80.CMP_LESS || c == Float80.CMP_UNORDERED);
            if (popAfter) pop();
        }
        finish(e);
    }

    private void test() {
        if (isEmpty(0)) {
            if (underflow()) setCc(SW_C3 | SW_C2 | SW_C0);
            return;
        }
        FloatEnv e = begin();
        int c = Float80.compare(st(0), Float80.ZERO, false, e);
        completeCompare(e, c, 0);
    }

    /** FXAM: C3 C2 C0 give the class, C1 the sign; never raises an exception. */
    private void examine() {
        Float80 v = st(0);
        int cc;
        if (isEmpty(0)) {
            cc = SW_C3 | SW_C0;
        } else {
            cc = switch (v.kind()) {
                case UNSUPPORTED -> 0;
                case QNAN, SNAN -> SW_C0;
                case NORMAL -> SW_C2;
                case INFINITY -> SW_C2 | SW_C0;
                case ZERO -> SW_C3;
                case DENORMAL -> SW_C3 | SW_C2;
            };
        }
        sw = (sw & ~SW_CC) | cc | (v.negative() ? SW_C1 : 0);
    }

    private void signOp(boolean change) {
        if (isEmpty(0)) {
            if (underflow()) put(0, Float80.INDEFINITE);
            return;
        }
        begin();
        Float80 v = st(0);
        put(0, change ? v.negate() : v.abs());
        finish(env);
    }

    // ---------------------------------------------------------------------------------------------
    // Hooks for X87Math (the D9 E0-FF group)

    FloatEnv beginOperation() { return begin(); }

    void finishOperation(FloatEnv e) { finish(e); }

    boolean isBlocked(FloatEnv e) { return blocked(e); }

    void set(int i, Float80 v) { put(i, v); }

    void pushValue(Float80 v) { push(v); }

    void popValue() { pop(); }

    boolean stackUnderflow() { return underflow(); }

    boolean stackOverflow() { return overflow(); }

    void setConditionCodes(int mask, int bits) { sw = (sw & ~mask) | (bits & mask); }

    void rotateTop(int delta) {
        top = (top + delta) & 7;
        sw &= ~SW_C1;
    }

    // ---------------------------------------------------------------------------------------------
    // Environment and state images

    private static final int TAG_EMPTY_ALL = 0xffff;

    private void storeEnvironment(X87Context cpu, long ea, boolean op32, boolean real) {
        int unit = op32 ? 4 : 2;
        cpu.write(ea, unit, cw | (op32 ? 0xffff0000L : 0));
        cpu.write(ea + unit, unit, statusWord() | (op32 ? 0xffff0000L : 0));
        cpu.write(ea + 2L * unit, unit, tagWord() | (op32 ? 0xffff0000L : 0));
        if (real) {
            long ip = fip + ((long) fcs << 4), dp = fdp + ((long) fds << 4);
            if (op32) {
                cpu.write(ea + 12, 4, (ip & 0xffff) | 0xffff0000L);
                cpu.write(ea + 16, 4, ((ip >>> 16) & 0xffff) << 12 | fop);
                cpu.write(ea + 20, 4, (dp & 0xffff) | 0xffff0000L);
                cpu.write(ea + 24, 4, ((dp >>> 16) & 0xffff) << 12);
            } else {
                cpu.write(ea + 6, 2, ip & 0xffff);
                cpu.write(ea + 8, 2, ((ip >>> 16) & 0xf) << 12 | fop);
                cpu.write(ea + 10, 2, dp & 0xffff);
                cpu.write(ea + 12, 2, ((dp >>> 16) & 0xf) << 12);
            }
        } else if (op32) {
            cpu.write(ea + 12, 4, fip & 0xffffffffL);
            cpu.write(ea + 16, 4, (fcs & 0xffff) | ((long) fop << 16));
            cpu.write(ea + 20, 4, fdp & 0xffffffffL);
            cpu.write(ea + 24, 4, (fds & 0xffff) | 0xffff0000L);
        } else {
            cpu.write(ea + 6, 2, fip & 0xffff);
            cpu.write(ea + 8, 2, fcs & 0xffff);
            cpu.write(ea + 10, 2, fdp & 0xffff);
            cpu.write(ea + 12, 2, fds & 0xffff);
        }
    }

    private void loadEnvironment(X87Context cpu, long ea, boolean op32, boolean real) {
        int unit = op32 ? 4 : 2;
        int newCw = (int) cpu.read(ea, 2);
        int newSw = (int) cpu.read(ea + unit, 2);
        int newTag = (int) cpu.read(ea + 2L * unit, 2);
        if (real) {
            if (op32) {
                long ipLo = cpu.read(ea + 12, 2), w = cpu.read(ea + 16, 4);
                long dpLo = cpu.read(ea + 20, 2), w2 = cpu.read(ea + 24, 4);
                fip = ipLo | ((w >>> 12) & 0xffff) << 16;
                fop = (int) w & 0x7ff;
                fdp = dpLo | ((w2 >>> 12) & 0xffff) << 16;
            } else {
                long w = cpu.read(ea + 8, 2), w2 = cpu.read(ea + 12, 2);
                fip = cpu.read(ea + 6, 2) | ((w >>> 12) & 0xf) << 16;
                fop = (int) w & 0x7ff;
                fdp = cpu.read(ea + 10, 2) | ((w2 >>> 12) & 0xf) << 16;
            }
            fcs = 0;
            fds = 0;
        } else if (op32) {
            fip = cpu.read(ea + 12, 4);
            long w = cpu.read(ea + 16, 4);
            fcs = (int) w & 0xffff;
            fop = (int) (w >>> 16) & 0x7ff;
            fdp = cpu.read(ea + 20, 4);
            fds = (int) cpu.read(ea + 24, 2);
        } else {
            fip = cpu.read(ea + 6, 2);
            fcs = (int) cpu.read(ea + 8, 2);
            fdp = cpu.read(ea + 10, 2);
            fds = (int) cpu.read(ea + 12, 2);
        }
        setControlWord(newCw);
        setStatusWord(newSw);
        setTagWord(newTag);
    }

    private void save(X87Context cpu, long ea, boolean op32, boolean real) {
        storeEnvironment(cpu, ea, op32, real);
        long regs = ea + (op32 ? 28 : 14);
        for (int i = 0; i < 8; i++) {
            Float80 v = st(i);
            cpu.write(regs + 10L * i, 8, v.sig());
            cpu.write(regs + 10L * i + 8, 2, v.se());
        }
        reset();
    }

    private void restore(X87Context cpu, long ea, boolean op32, boolean real) {
        long regs = ea + (op32 ? 28 : 14);
        Float80[] values = new Float80[8];
        for (int i = 0; i < 8; i++) values[i] = read80(cpu, regs + 10L * i);
        loadEnvironment(cpu, ea, op32, real);
        for (int i = 0; i < 8; i++) {
            int p = (top + i) & 7;
            se[p] = values[i].se();
            sig[p] = values[i].sig();
        }
    }

    private void setControlWord(int v) { cw = v & 0x1f7f | 0x40; }

    /** Loading a status word: TOP is taken from it; ES and B follow the unmasked pending exceptions. */
    private void setStatusWord(int v) {
        top = (v >> 11) & 7;
        sw = v & ~0x3800 & ~(SW_ES | SW_B);
        if ((sw & ~cw & EXC_MASK) != 0) sw |= SW_ES | SW_B;
    }

    private void setTagWord(int t) {
        valid = 0;
        for (int p = 0; p < 8; p++) if (((t >> (2 * p)) & 3) != 3) valid |= 1 << p;
    }

    /** FXSAVE: the x87 part of the 512-byte image (bytes 0-23 and 32-159); MXCSR and XMM are the CPU's. */
    public void fxsave(X87Context cpu, long ea) {
        cpu.write(ea, 2, cw);
        cpu.write(ea + 2, 2, statusWord());
        cpu.write(ea + 4, 2, valid & 0xff);
        cpu.write(ea + 6, 2, fop);
        cpu.write(ea + 8, 4, fip & 0xffffffffL);
        cpu.write(ea + 12, 4, fcs & 0xffff);
        cpu.write(ea + 16, 4, fdp & 0xffffffffL);
        cpu.write(ea + 20, 4, fds & 0xffff);
        for (int i = 0; i < 8; i++) {
            Float80 v = st(i);
            long a = ea + 32 + 16L * i;
            cpu.write(a, 8, v.sig());
            cpu.write(a + 8, 2, v.se());
            cpu.write(a + 10, 2, 0);
            cpu.write(a + 12, 4, 0);
        }
    }

    public void fxrstor(X87Context cpu, long ea) {
        Float80[] values = new Float80[8];
        for (int i = 0; i < 8; i++) values[i] = read80(cpu, ea + 32 + 16L * i);
        setControlWord((int) cpu.read(ea, 2));
        setStatusWord((int) cpu.read(ea + 2, 2));
        valid = (int) cpu.read(ea + 4, 1) & 0xff;
        fop = (int) cpu.read(ea + 6, 2) & 0x7ff;
        fip = cpu.read(ea + 8, 4);
        fcs = (int) cpu.read(ea + 12, 2);
        fdp = cpu.read(ea + 16, 4);
        fds = (int) cpu.read(ea + 20, 2);
        for (int i = 0; i < 8; i++) {
            int p = (top + i) & 7;
            se[p] = values[i].se();
            sig[p] = values[i].sig();
        }
    }

    /** WAIT/FWAIT: raises the pending unmasked exception through {@link X87Context#raiseMathFault()}, if any. */
    public void waitCheck(X87Context cpu) {
        if ((sw & SW_ES) != 0) cpu.raiseMathFault();
    }
}
