package org.jqemu.fpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Documented x87 behaviours (Intel SDM vol. 1 ch. 8 and the instruction pages), one by one. */
class X87BehaviourTest {
    static final int MEM = 0x100;

    /** A context whose math fault is observable. */
    static final class Ctx extends OracleRunner.SimContext {
        int faults;

        @Override public void raiseMathFault() { faults++; }
    }

    final Ctx ctx = new Ctx();
    final X87 fpu = new X87();

    void exec(int opcode, int modrm) { assertTrue(fpu.execute(ctx, opcode, modrm, MEM, true, false)); }

    void loadControlWord(int cw) {
        ctx.write(MEM, 2, cw);
        exec(0xd9, 0x28);
    }

    void push(Float80 v) {
        ctx.write(MEM, 8, v.sig());
        ctx.write(MEM + 8, 2, v.se());
        exec(0xdb, 0x28);
    }

    static final long PI_SIG_LOW = 0xc90fdaa22168c234L;

    @Test
    void fldpiRoundsItsLastBitWithRoundingControl() {
        // pi = C90FDAA2 2168C234 C4C6...: nearest and up give ...235, down and chop ...234
        long[] expected = {PI_SIG_LOW + 1, PI_SIG_LOW, PI_SIG_LOW + 1, PI_SIG_LOW};
        for (int rc = 0; rc < 4; rc++) {
            fpu.reset();
            loadControlWord(0x037f | rc << 10);
            exec(0xd9, 0xeb);
            assertEquals(new Float80(0x4000, expected[rc]), fpu.st(0), "RC=" + rc);
            assertEquals(0, fpu.statusWord() & 0x3f, "constants raise no exception");
        }
    }

    @Test
    void zeroDividedByZeroMaskedGivesTheQNaNIndefinite() {
        push(Float80.ZERO);
        push(Float80.ZERO);
        exec(0xde, 0xf9); // FDIVP
        assertEquals(new Float80(0xffff, 0xc000000000000000L), fpu.st(0));
        assertEquals(FloatEnv.IE, fpu.statusWord() & 0x7f);
    }

    @Test
    void stackOverflowSetsSfAndC1AndPushesIndefinite() {
        for (int i = 0; i < 8; i++) exec(0xd9, 0xe8); // FLD1
        exec(0xd9, 0xee); // FLDZ into a full stack
        int sw = fpu.statusWord();
        assertEquals(FloatEnv.IE | FloatEnv.SF, sw & 0x7f);
        assertTrue((sw & X87.SW_C1) != 0, "C1=1 means overflow");
        assertEquals(Float80.INDEFINITE, fpu.st(0));
    }

    @Test
    void stackUnderflowClearsC1() {
        exec(0xd9, 0xe8); // FLD1 sets nothing; then add with empty ST1
        exec(0xd8, 0xc1);
        int sw = fpu.statusWord();
        assertEquals(FloatEnv.IE | FloatEnv.SF, sw & 0x7f);
        assertEquals(0, sw & X87.SW_C1, "C1=0 means underflow");
        assertEquals(Float80.INDEFINITE, fpu.st(0));
    }

    @Test
    void fxamClassifiesEveryClass() {
        Object[][] table = {
                {new Float80(0x3fff, 0x4000000000000000L), 0x0000}, // unnormal: unsupported
                {Float80.INDEFINITE, 0x0100}, // NaN
                {Float80.ONE, 0x0400}, // normal
                {Float80.INFINITY, 0x0500}, // infinity
                {Float80.ZERO, 0x4000}, // zero
                {new Float80(0, 1), 0x4400}, // denormal
        };
        for (Object[] row : table) {
            fpu.reset();
            push((Float80) row[0]);
            exec(0xd9, 0xe5);
            assertEquals((int) row[1], fpu.statusWord() & 0x4500, row[0].toString());
        }
        fpu.reset();
        exec(0xd9, 0xe5); // empty
        assertEquals(0x4100, fpu.statusWord() & 0x4500);
        push(Float80.ONE.negate());
        exec(0xd9, 0xe5);
        assertTrue((fpu.statusWord() & X87.SW_C1) != 0, "C1 is the sign");
    }

    @Test
    void fisttpIsUndefinedOnP6AndChangesNothing() {
        push(Float80.ONE);
        int sw = fpu.statusWord();
        assertFalse(fpu.execute(ctx, 0xdb, 0x08, MEM, true, false));
        assertFalse(fpu.execute(ctx, 0xdd, 0x08, MEM, true, false));
        assertFalse(fpu.execute(ctx, 0xdf, 0x08, MEM, true, false));
        assertFalse(fpu.execute(ctx, 0xd9, 0xd1, MEM, true, false));
        assertEquals(sw, fpu.statusWord());
        assertEquals(Float80.ONE, fpu.st(0));
    }

    @Test
    void unmaskedExceptionFaultsAtTheNextWaitingInstructionOnly() {
        loadControlWord(0x037e); // IE unmasked
        exec(0xd9, 0xe1); // FABS on an empty stack: unmasked stack underflow
        int sw = fpu.statusWord();
        assertEquals(0x8000 | 0x80, sw & 0x8080, "B and ES set");
        assertTrue(fpu.isEmpty(0), "destination untouched");
        assertEquals(0, ctx.faults);
        exec(0xdf, 0xe0); // FNSTSW AX: non-waiting
        assertEquals(0, ctx.faults);
        assertEquals(sw, ctx.ax & 0xffff);
        fpu.waitCheck(ctx);
        assertEquals(1, ctx.faults);
        exec(0xd9, 0xe8); // FLD1 is a waiting instruction
        assertEquals(2, ctx.faults);
        exec(0xdb, 0xe2); // FNCLEX
        fpu.waitCheck(ctx);
        assertEquals(2, ctx.faults);
    }

    @Test
    void environmentRoundTripsInEveryLayout() {
        for (int layout = 0; layout < 4; layout++) {
            boolean op32 = (layout & 1) != 0, real = (layout & 2) != 0;
            X87 a = new X87();
            Ctx c = new Ctx();
            a.execute(c, 0xd9, 0xeb, 0, op32, real); // FLDPI
            a.execute(c, 0xd9, 0xe8, 0, op32, real); // FLD1
            a.execute(c, 0xde, 0xc1, 0, op32, real); // FADDP
            a.execute(c, 0xd9, 0x30, MEM, op32, real); // FNSTENV
            assertEquals(0x037f, a.controlWord() & 0x3f | 0x0340, "FNSTENV masks all exceptions");
            X87 b = new X87();
            b.execute(c, 0xd9, 0x20, MEM, op32, real); // FLDENV
            assertEquals(a.statusWord(), b.statusWord(), "layout " + layout);
            for (int i = 0; i < 8; i++) assertEquals(a.isEmpty(i), b.isEmpty(i), "layout " + layout + " ST" + i);
            a.execute(c, 0xdd, 0x30, MEM + 0x200, op32, real); // FNSAVE reinitialises
            assertEquals(0xffff, a.tagWord());
            b.reset();
            b.execute(c, 0xdd, 0x20, MEM + 0x200, op32, real); // FRSTOR
            assertEquals(0x037f, b.controlWord() & 0xff7f | 0x3f);
            assertTrue(b.tagWord() != 0xffff);
            assertEquals(Float80.add(new Float80(0x4000, PI_SIG_LOW + 1), Float80.ONE, new FloatEnv()), b.st(0));
        }
    }

    @Test
    void fxsaveUsesTheAbridgedTagAndRoundTrips() {
        exec(0xd9, 0xe8);
        exec(0xd9, 0xee);
        fpu.fxsave(ctx, 0x400);
        assertEquals(0xc0, ctx.read(0x400 + 4, 1), "physical registers 6 and 7 valid");
        assertEquals(0x037f, ctx.read(0x400, 2));
        X87 other = new X87();
        other.fxrstor(ctx, 0x400);
        assertEquals(fpu.statusWord(), other.statusWord());
        assertEquals(fpu.tagWord(), other.tagWord());
        assertEquals(Float80.ZERO, other.st(0));
        assertEquals(Float80.ONE, other.st(1));
    }

    @Test
    void transcendentalOutOfRangeSetsC2AndKeepsTheOperand() {
        Float80 big = new Float80(Float80.BIAS + 63, Values.J);
        push(big);
        exec(0xd9, 0xfe); // FSIN
        assertTrue((fpu.statusWord() & X87.SW_C2) != 0);
        assertEquals(big, fpu.st(0));
    }

    @Test
    void unsupportedEncodingsAreInvalidOperands() {
        FloatEnv env = new FloatEnv();
        Float80 unnormal = new Float80(0x3fff, 0x4000000000000000L);
        assertEquals(Float80.INDEFINITE, Float80.add(unnormal, Float80.ONE, env));
        assertEquals(FloatEnv.IE, env.flags);
    }
}
