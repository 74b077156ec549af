package org.jqemu.fpu;

import java.math.BigInteger;

import static org.jqemu.fpu.FloatEnv.*;

/** The D9 E8-FF group: constants, transcendentals, FPREM, FSCALE, FXTRACT, FRNDINT, FSQRT, stack pointer moves. */
final class X87Math {
    private X87Math() { }

    /** A one-operand numeric function: returns null when the instruction is stopped (unmasked DE). */
    interface Unary { Float80 apply(Float80 x, FloatEnv env); }

    /** A two-operand numeric function of ST0 (x) and ST1 (y). */
    interface Binary { Float80 apply(Float80 x, Float80 y, FloatEnv env); }

    /** D9 F0+index. */
    static void execute(X87 u, int index) {
        switch (index) {
            case 0 -> unary(u, Transcendental::twoToXMinus1);
            case 1 -> binaryPop(u, Transcendental::yLog2X);
            case 2 -> partialTangent(u);
            case 3 -> binaryPop(u, Transcendental::arcTangent);
            case 4 -> extract(u);
            case 5 -> remainder(u, true);
            case 6 -> u.rotateTop(-1);
            case 7 -> u.rotateTop(1);
            case 8 -> remainder(u, false);
            case 9 -> binaryPop(u, Transcendental::yLog2XPlus1);
            case 10 -> unary(u, Float80::sqrt);
            case 11 -> sineCosine(u);
            case 12 -> unary(u, Float80::roundToInt);
            case 13 -> scale(u);
            case 14 -> trigonometric(u, Transcendental::sin);
            default -> trigonometric(u, Transcendental::cos);
        }
    }

    private static void unary(X87 u, Unary f) {
        if (u.isEmpty(0)) {
            if (u.stackUnderflow()) u.set(0, Float80.INDEFINITE);
            return;
        }
        FloatEnv e = u.beginOperation();
        Float80 r = f.apply(u.st(0), e);
        if (r != null && !u.isBlocked(e)) u.set(0, r);
        u.finishOperation(e);
    }

    private static void binaryPop(X87 u, Binary f) {
        if (u.isEmpty(0) || u.isEmpty(1)) {
            if (u.stackUnderflow()) {
                u.set(1, Float80.INDEFINITE);
                u.popValue();
            }
            return;
        }
        FloatEnv e = u.beginOperation();
        Float80 r = f.apply(u.st(0), u.st(1), e);
        if (r != null && !u.isBlocked(e)) {
            u.set(1, r);
            u.popValue();
        }
        u.finishOperation(e);
    }

    /** FSIN/FCOS: |x| >= 2^63 sets C2 and leaves ST0 alone. */
    private static void trigonometric(X87 u, Unary f) {
        if (u.isEmpty(0)) {
            if (u.stackUnderflow()) u.set(0, Float80.INDEFINITE);
            return;
        }
        Float80 x = u.st(0);
        if (outOfRange(x)) {
            u.setConditionCodes(X87.SW_C2, X87.SW_C2);
            return;
        }
        u.setConditionCodes(X87.SW_C2, 0);
        FloatEnv e = u.beginOperation();
        Float80 r = f.apply(x, e);
        if (r != null && !u.isBlocked(e)) u.set(0, r);
        u.finishOperation(e);
    }

    static boolean outOfRange(Float80 x) {
        int k = x.exp();
        return k != 0x7fff && k >= Float80.BIAS + 63 && x.sig() < 0;
    }

    private static void partialTangent(X87 u) {
        pushingPair(u, Transcendental::tan, x -> Float80.ONE);
    }

    private static void sineCosine(X87 u) {
        pushingPair(u, Transcendental::sin, null);
    }

    /**
     * Whether an instruction that replaces ST0 and pushes a second result may go on: ST0 must hold a
     * value and ST7 must be free. If not, the stack fault is signalled and, when masked, both results
     * are the indefinite value.
     */
    private static boolean canReplaceAndPush(X87 u) {
        boolean underflow = u.isEmpty(0);
        if (!underflow && u.isEmpty(7)) {
            return true;
        }
        if (underflow ? u.stackUnderflow() : u.stackOverflow()) {
            u.set(0, Float80.INDEFINITE);
            u.pushValue(Float80.INDEFINITE);
        }
        return false;
    }

    /**
     * FPTAN and FSINCOS: ST0 becomes the first result and the second is pushed. {@code second} null
     * means cosine of the same argument.
     */
    private static void pushingPair(X87 u, Unary first, java.util.function.UnaryOperator<Float80> second) {
        if (!canReplaceAndPush(u)) {
            return;
        }
        Float80 x = u.st(0);
        if (outOfRange(x)) {
            u.setConditionCodes(X87.SW_C2, X87.SW_C2);
            return;
        }
        u.setConditionCodes(X87.SW_C2, 0);
        FloatEnv e = u.beginOperation();
        Float80 a = first.apply(x, e);
        if (a == null || u.isBlocked(e)) {
            u.finishOperation(e);
            return;
        }
        Float80 b;
        if (second != null) {
            b = a.isNaN() ? a : second.apply(x);
        } else {
            FloatEnv e2 = new FloatEnv(e.controlWord);
            b = Transcendental.cos(x, e2);
            e.flags |= e2.flags & ~DE;
            // C1 keeps the sine's rounding
        }
        u.set(0, a);
        u.pushValue(b);
        u.finishOperation(e);
    }

    private static void extract(X87 u) {
        if (!canReplaceAndPush(u)) {
            return;
        }
        FloatEnv e = u.beginOperation();
        Float80 x = u.st(0);
        Float80 exponent, significand;
        Float80 nan = Float80.screen(x, e);
        if (nan != null) {
            exponent = significand = nan;
        } else if (x.isZero()) {
            e.raise(ZE);
            exponent = Float80.NEG_INFINITY;
            significand = x;
        } else if (x.isInfinite()) {
            exponent = Float80.INFINITY;
            significand = x;
        } else {
            if (Float80.denormalStops(x, null, e)) {
                u.finishOperation(e);
                return;
            }
            exponent = Float80.fromLong(x.normalExponent());
            significand = new Float80((x.negative() ? 0x8000 : 0) | Float80.BIAS, x.normalSignificand());
        }
        if (!u.isBlocked(e)) {
            u.set(0, exponent);
            u.pushValue(significand);
        }
        u.finishOperation(e);
    }

    private static void scale(X87 u) {
        if (u.isEmpty(0) || u.isEmpty(1)) {
            if (u.stackUnderflow()) u.set(0, Float80.INDEFINITE);
            return;
        }
        FloatEnv e = u.beginOperation();
        Float80 r = scale(u.st(0), u.st(1), e);
        if (r != null && !u.isBlocked(e)) u.set(0, r);
        u.finishOperation(e);
    }

    static Float80 scale(Float80 x, Float80 y, FloatEnv e) {
        Float80 nan = Float80.screen(x, y, e);
        if (nan != null) return nan;
        if (y.isInfinite()) {
            if (y.negative()) {
                if (x.isInfinite()) return Float80.invalid(e);
                if (Float80.denormalStops(x, null, e)) return null;
                return Float80.zero(x.negative());
            }
            if (x.isZero()) return Float80.invalid(e);
            if (Float80.denormalStops(x, null, e)) return null;
            return Float80.infinity(x.negative());
        }
        if (Float80.denormalStops(x, y, e)) return null;
        if (x.isZero() || x.isInfinite()) return x;
        long n = truncatedScale(y);
        return Float80.round64(x.negative(), (int) (x.normalExponent() + n), x.normalSignificand(), 0, e);
    }

    /** trunc(y) clamped far beyond any exponent that could matter. */
    private static long truncatedScale(Float80 y) {
        if (y.isZero()) return 0;
        int ey = y.normalExponent();
        if (ey < 0) return 0;
        long mag = ey >= 20 ? 1 << 20 : y.normalSignificand() >>> (63 - ey);
        return y.negative() ? -mag : mag;
    }

    private static void remainder(X87 u, boolean ieee) {
        if (u.isEmpty(0) || u.isEmpty(1)) {
            if (u.stackUnderflow()) u.set(0, Float80.INDEFINITE);
            return;
        }
        FloatEnv e = u.beginOperation();
        Float80 r = remainder(u.st(0), u.st(1), ieee, e);
        if (r != null && !u.isBlocked(e)) {
            u.set(0, r);
            if (e.incomplete) {
                u.setConditionCodes(X87.SW_C2, X87.SW_C2);
            } else {
                int q = e.quotient;
                u.setConditionCodes(X87.SW_CC, ((q & 4) != 0 ? X87.SW_C0 : 0)
                        | ((q & 2) != 0 ? X87.SW_C3 : 0) | ((q & 1) != 0 ? X87.SW_C1 : 0));
            }
        }
        boolean c1 = (u.statusWord() & X87.SW_C1) != 0;
        e.roundedUp = c1 && r != null && !e.incomplete;
        u.finishOperation(e);
    }

    /**
     * A partial FPREM step (exponents 64 or more apart) reduces with a quotient of 32 + (D mod 32) bits,
     * as measured on the host: the remainder keeps an exponent difference that is a multiple of 32.
     */
    static final int PARTIAL_BITS = 32;

    /** FPREM (truncating quotient) and FPREM1 (IEEE nearest-even quotient); exact. */
    static Float80 remainder(Float80 a, Float80 b, boolean ieee, FloatEnv e) {
        e.incomplete = false;
        e.quotient = 0;
        Float80 nan = Float80.screen(a, b, e);
        if (nan != null) return nan;
        if (a.isInfinite() || b.isZero()) return Float80.invalid(e);
        if (Float80.denormalStops(a, b, e)) return null;
        if (b.isInfinite() || a.isZero()) return unchanged(a, e);
        int ea = a.normalExponent(), eb = b.normalExponent();
        int d = ea - eb;
        BigInteger ma = Float80.unsigned(a.normalSignificand()), mb = Float80.unsigned(b.normalSignificand());
        if (d >= 64) {
            // partial: subtract a multiple of b * 2^(d - n) with a truncated quotient
            int n = PARTIAL_BITS + d % PARTIAL_BITS;
            BigInteger num = ma.shiftLeft(n);
            BigInteger r = num.mod(mb);
            e.incomplete = true;
            if (r.signum() == 0) return Float80.zero(a.negative());
            return Float80.roundBig(a.negative(), r, ea - 63 - n, false, e, false);
        }
        if (d < -1) return unchanged(a, e);
        // both scaled by 2^(eb - 64): A = ma * 2^(d+1), B = mb * 2
        BigInteger bigA = ma.shiftLeft(d + 1), bigB = mb.shiftLeft(1);
        BigInteger[] qr = bigA.divideAndRemainder(bigB);
        BigInteger q = qr[0], r = qr[1];
        boolean neg = a.negative();
        if (ieee) {
            int c = r.shiftLeft(1).compareTo(bigB);
            if (c > 0 || (c == 0 && q.testBit(0))) {
                q = q.add(BigInteger.ONE);
                r = bigB.subtract(r);
                neg = !neg;
            }
        }
        e.quotient = q.intValue() & 7;
        if (r.signum() == 0) return Float80.zero(a.negative());
        return Float80.roundBig(neg, r, eb - 64, false, e, false);
    }

    /** The dividend as FPREM's result: canonical, and a denormal still signals underflow when UE is unmasked. */
    private static Float80 unchanged(Float80 a, FloatEnv e) {
        if (a.isZero()) return a;
        return Float80.round64(a.negative(), a.normalExponent(), a.normalSignificand(), 0, e);
    }

    // ---------------------------------------------------------------------------------------------
    // Constants

    /** FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (D9 E8+i), rounded to 64 bits by RC without raising PE. */
    static Float80 constant(int i, int rc) {
        return switch (i) {
            case 0 -> Float80.ONE;
            case 6 -> Float80.ZERO;
            default -> Transcendental.constant(i, rc);
        };
    }
}
