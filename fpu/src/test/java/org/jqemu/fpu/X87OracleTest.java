package org.jqemu.fpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * Bit-for-bit comparison of {@link X87} with the host CPU's x87 over thousands of generated cases per
 * instruction, in every rounding and precision mode, with masked and unmasked exceptions.
 */
class X87OracleTest {
    static final int N = Integer.getInteger("x87.cases", 3000);

    /** How the operands of one instruction are generated. */
    record Spec(String name, int opcode, int modrm, Function<Random, Float80[]> stack, Function<Random, byte[]> mem) { }

    static byte[] randomMem(Random r) {
        byte[] b = new byte[16];
        r.nextBytes(b);
        return b;
    }

    static byte[] memOf(long lo, long hi) {
        byte[] b = new byte[16];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (lo >>> (8 * i));
            b[8 + i] = (byte) (hi >>> (8 * i));
        }
        return b;
    }

    static Function<Random, byte[]> m32() { return r -> memOf(Values.float32(r) & 0xffffffffL, 0); }

    static Function<Random, byte[]> m64() { return r -> memOf(Values.float64(r), 0); }

    static Function<Random, byte[]> mInt(int bits) { return r -> memOf(Values.integer(r, bits), 0); }

    static Function<Random, byte[]> m80() {
        return r -> {
            Float80 v = Values.any(r);
            return memOf(v.sig(), v.se());
        };
    }

    static Function<Random, byte[]> bcd() {
        return r -> {
            long lo = 0;
            for (int i = 0; i < 16; i++) lo |= (long) r.nextInt(10) << (4 * i);
            int hi = r.nextInt(100);
            hi = (hi / 10) << 4 | (hi % 10);
            if (r.nextInt(4) == 0) hi = 0;
            return memOf(lo, (r.nextBoolean() ? 0x8000 : 0) | hi);
        };
    }

    /** A stack of {@code depth} values (sometimes one fewer, for underflow); the second is often near the first. */
    static Function<Random, Float80[]> stack(int depth) {
        return r -> {
            int n = r.nextInt(25) == 0 ? Math.max(0, depth - 1) : depth;
            Float80[] v = new Float80[n];
            for (int i = 0; i < n; i++) v[i] = i == 1 && r.nextBoolean() ? Values.near(r, v[0]) : Values.any(r);
            return v;
        };
    }

    /** For pushing instructions: sometimes a full stack (overflow). */
    static Function<Random, Float80[]> pushing(int depth) {
        Function<Random, Float80[]> base = stack(depth);
        return r -> r.nextInt(25) == 0 ? stack(8).apply(r) : base.apply(r);
    }

    static Function<Random, Float80[]> stackOf(Function<Random, Float80> first, Function<Random, Float80> second) {
        return r -> r.nextInt(25) == 0 ? new Float80[0]
                : second == null ? new Float80[] {first.apply(r)} : new Float80[] {first.apply(r), second.apply(r)};
    }

    static List<OracleRunner.Case> cases(Spec s, long seed, int n) {
        Random r = new Random(seed);
        List<OracleRunner.Case> list = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            list.add(new OracleRunner.Case(Values.controlWord(r), r.nextInt(0x1000), s.opcode(), s.modrm(), s.stack().apply(r), s.mem().apply(r)));
        }
        return list;
    }

    static void check(List<Spec> specs, int n) throws Exception {
        List<String> failures = new ArrayList<>();
        int total = 0;
        for (Spec s : specs) {
            OracleRunner.Report rep = OracleRunner.run(s.name(), cases(s, s.name().hashCode(), n));
            total += rep.cases();
            if (rep.mismatches() != 0) failures.add(rep.toString());
        }
        System.out.println("total cases: " + total);
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    static Spec reg(String name, int opcode, int modrm, int depth) {
        return new Spec(name, opcode, modrm, stack(depth), X87OracleTest::randomMem);
    }

    static Spec mem(String name, int opcode, int reg, int depth, Function<Random, byte[]> mem) {
        return new Spec(name, opcode, reg << 3, stack(depth), mem);
    }

    static final String[] ARITH = {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"};

    @Test
    void arithmeticRegisterForms() throws Exception {
        List<Spec> specs = new ArrayList<>();
        for (int reg : new int[] {0, 1, 4, 5, 6, 7}) {
            specs.add(reg(ARITH[reg] + " st0,st1", 0xd8, 0xc1 | reg << 3, 2));
            specs.add(reg("dc " + ARITH[reg] + " st2", 0xdc, 0xc2 | reg << 3, 3));
            specs.add(reg("de " + ARITH[reg] + "p st1", 0xde, 0xc1 | reg << 3, 2));
        }
        check(specs, N);
    }

    @Test
    void arithmeticMemoryForms() throws Exception {
        List<Spec> specs = new ArrayList<>();
        for (int reg = 0; reg < 8; reg++) {
            specs.add(mem(ARITH[reg] + " m32", 0xd8, reg, 1, m32()));
            specs.add(mem(ARITH[reg] + " m64", 0xdc, reg, 1, m64()));
            specs.add(mem("fi" + ARITH[reg].substring(1) + " m32", 0xda, reg, 1, mInt(32)));
            specs.add(mem("fi" + ARITH[reg].substring(1) + " m16", 0xde, reg, 1, mInt(16)));
        }
        check(specs, N / 2);
    }

    @Test
    void comparisons() throws Exception {
        check(List.of(
                reg("fcom st1", 0xd8, 0xd1, 2), reg("fcomp st1", 0xd8, 0xd9, 2), reg("fcompp", 0xde, 0xd9, 2),
                reg("fucom st1", 0xdd, 0xe1, 2), reg("fucomp st1", 0xdd, 0xe9, 2), reg("fucompp", 0xda, 0xe9, 2),
                reg("fcomi st1", 0xdb, 0xf1, 2), reg("fucomi st1", 0xdb, 0xe9, 2),
                reg("fcomip st1", 0xdf, 0xf1, 2), reg("fucomip st1", 0xdf, 0xe9, 2),
                reg("ftst", 0xd9, 0xe4, 1), reg("fxam", 0xd9, 0xe5, 1)), N);
    }

    @Test
    void loadsAndStores() throws Exception {
        check(List.of(
                new Spec("fld m32", 0xd9, 0x00, pushing(1), m32()),
                new Spec("fld m64", 0xdd, 0x00, pushing(1), m64()),
                new Spec("fld m80", 0xdb, 0x28, pushing(1), m80()),
                new Spec("fild m16", 0xdf, 0x00, pushing(1), mInt(16)),
                new Spec("fild m32", 0xdb, 0x00, pushing(1), mInt(32)),
                new Spec("fild m64", 0xdf, 0x28, pushing(1), mInt(64)),
                new Spec("fbld", 0xdf, 0x20, pushing(1), bcd()),
                new Spec("fld st1", 0xd9, 0xc1, pushing(2), X87OracleTest::randomMem),
                mem("fst m32", 0xd9, 2, 1, X87OracleTest::randomMem), mem("fstp m32", 0xd9, 3, 2, X87OracleTest::randomMem),
                mem("fst m64", 0xdd, 2, 1, X87OracleTest::randomMem), mem("fstp m64", 0xdd, 3, 2, X87OracleTest::randomMem),
                mem("fstp m80", 0xdb, 7, 2, X87OracleTest::randomMem),
                mem("fist m16", 0xdf, 2, 1, X87OracleTest::randomMem), mem("fistp m16", 0xdf, 3, 1, X87OracleTest::randomMem),
                mem("fist m32", 0xdb, 2, 1, X87OracleTest::randomMem), mem("fistp m32", 0xdb, 3, 1, X87OracleTest::randomMem),
                mem("fistp m64", 0xdf, 7, 1, X87OracleTest::randomMem), mem("fbstp", 0xdf, 6, 1, X87OracleTest::randomMem),
                reg("fst st2", 0xdd, 0xd2, 3), reg("fstp st2", 0xdd, 0xda, 3)), N / 2);
    }

    @Test
    void stackAndControl() throws Exception {
        List<Spec> specs = new ArrayList<>(List.of(
                reg("fxch st1", 0xd9, 0xc9, 2), reg("fchs", 0xd9, 0xe0, 1), reg("fabs", 0xd9, 0xe1, 1),
                reg("ffree st1", 0xdd, 0xc1, 2), reg("ffreep st1", 0xdf, 0xc1, 2),
                reg("fdecstp", 0xd9, 0xf6, 2), reg("fincstp", 0xd9, 0xf7, 2), reg("fnop", 0xd9, 0xd0, 1),
                reg("fnclex", 0xdb, 0xe2, 1), reg("fnstsw ax", 0xdf, 0xe0, 2),
                mem("fnstsw m16", 0xdd, 7, 2, X87OracleTest::randomMem), mem("fnstcw", 0xd9, 7, 1, X87OracleTest::randomMem)));
        for (int i = 0; i < 7; i++) specs.add(new Spec("fld const " + i, 0xd9, 0xe8 + i, pushing(1), X87OracleTest::randomMem));
        for (int c = 0; c < 8; c++) specs.add(reg("fcmov" + c, c < 4 ? 0xda : 0xdb, 0xc1 | (c & 3) << 3, 2));
        check(specs, N / 4);
    }

    @Test
    void numeric() throws Exception {
        check(List.of(
                reg("fsqrt", 0xd9, 0xfa, 1), reg("frndint", 0xd9, 0xfc, 1), reg("fxtract", 0xd9, 0xf4, 1),
                new Spec("fscale", 0xd9, 0xfd, stackOf(Values::any, r -> r.nextInt(4) == 0 ? Values.any(r)
                        : Float80.fromLong(r.nextInt(140) - 70)), X87OracleTest::randomMem),
                reg("fprem", 0xd9, 0xf8, 2), reg("fprem1", 0xd9, 0xf5, 2)), N);
    }

    /** FXSAVE/FXRSTOR images and the 16-bit environment layout (operand-size prefix) against the host. */
    @Test
    void stateImages() throws Exception {
        Function<Random, byte[]> fxImage = r -> {
            byte[] b = new byte[16];
            b[0] = 0x7f; b[1] = 0x03; // FCW
            b[2] = (byte) r.nextInt(256); b[3] = (byte) (r.nextInt(256) & 0x7f); // FSW with no pending ES
            b[2] &= ~0x80;
            b[4] = (byte) r.nextInt(256); // abridged tag
            return b;
        };
        Function<Random, byte[]> env16 = r -> {
            byte[] b = new byte[16];
            b[0] = 0x7f; b[1] = 0x03;
            b[2] = (byte) (r.nextInt(256) & 0x7f); b[3] = (byte) (r.nextInt(256) & 0x7f); // no ES, no B
            b[4] = (byte) r.nextInt(256); b[5] = (byte) r.nextInt(256);
            return b;
        };
        check(List.of(
                new Spec("fxsave", OracleRunner.FXSAVE_OPCODE, 0x00, stack(4), X87OracleTest::randomMem),
                new Spec("fxrstor", OracleRunner.FXSAVE_OPCODE, 0x08, stack(2), fxImage),
                new Spec("fnstenv o16", 0x66d9, 0x30, stack(3), X87OracleTest::randomMem),
                new Spec("fldenv o16", 0x66d9, 0x20, stack(3), env16)), N / 4);
    }

    /** Every register-form encoding and every memory reg field: #UD exactly where the host raises it. */
    @Test
    void undefinedEncodings() throws Exception {
        List<OracleRunner.Case> all = new ArrayList<>();
        Random r = new Random(7);
        for (int op = 0xd8; op <= 0xdf; op++) {
            for (int modrm = 0; modrm < 256; modrm++) {
                if (modrm < 0xc0 && (modrm & 7) != 0) continue;
                boolean fisttp = modrm < 0xc0 && ((modrm >> 3) & 7) == 1 && (op == 0xdb || op == 0xdd || op == 0xdf);
                if (fisttp) continue; // SSE3 on the host; #UD on the P6 we model (checked in X87BehaviourTest)
                all.add(new OracleRunner.Case(0x037f, 0, op, modrm, new Float80[] {Values.normal(r, 0, 4), Values.normal(r, 0, 4)}, new byte[16]));
            }
        }
        OracleRunner.Report rep = OracleRunner.run("encodings", all);
        assertTrue(rep.mismatches() == 0, rep.toString());
    }
}
