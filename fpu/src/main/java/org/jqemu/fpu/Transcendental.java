package org.jqemu.fpu;

import java.math.BigInteger;

import static org.jqemu.fpu.FloatEnv.*;

/**
 * Transcendental functions of the x87 in exact integer arithmetic: each function is evaluated in
 * fixed point with a known error bound and rounded once to 64 bits; if the bound straddles a rounding
 * boundary the evaluation is repeated with twice the precision (Ziv's strategy). Arguments of the
 * trigonometric functions are reduced modulo pi/2 with a 66-bit pi, as the x87 does (so, like the
 * hardware, results for large arguments follow that pi rather than the true one).
 */
final class Transcendental {
    private Transcendental() { }

    private static final int BASE_BITS = 160;
    private static final int MAX_BITS = 4096;
    private static final int CONSTANT_BITS = MAX_BITS + 256;
    /** Significant bits of the pi used for argument reduction; 0 means the true pi. */
    static final int REDUCTION_PI_BITS = 66;

    private static final BigInteger PI = machinPi(CONSTANT_BITS);
    private static final BigInteger LN2 = atanhInverse(3, CONSTANT_BITS).shiftLeft(1);
    private static final BigInteger REDUCTION_PI = REDUCTION_PI_BITS == 0 ? PI : roundToBits(PI, CONSTANT_BITS, REDUCTION_PI_BITS);

    /** A fixed-point approximation: value * 2^-scale, within 2^errBits units of its last place. */
    record Approx(BigInteger value, int scale, int errBits) { }

    interface Approximation { Approx at(int bits); }

    // ---------------------------------------------------------------------------------------------
    // Fixed-point series

    /** atan(1/n) * 2^w. */
    private static BigInteger atanInverse(int n, int w) {
        BigInteger x = BigInteger.ONE.shiftLeft(w).divide(BigInteger.valueOf(n));
        BigInteger n2 = BigInteger.valueOf((long) n * n);
        BigInteger sum = x, term = x;
        for (int k = 1; term.signum() != 0; k++) {
            term = term.divide(n2);
            BigInteger t = term.divide(BigInteger.valueOf(2L * k + 1));
            sum = (k & 1) != 0 ? sum.subtract(t) : sum.add(t);
        }
        return sum;
    }

    /** atanh(1/n) * 2^w. */
    private static BigInteger atanhInverse(int n, int w) {
        BigInteger x = BigInteger.ONE.shiftLeft(w).divide(BigInteger.valueOf(n));
        BigInteger n2 = BigInteger.valueOf((long) n * n);
        BigInteger sum = x, term = x;
        for (int k = 1; term.signum() != 0; k++) {
            term = term.divide(n2);
            sum = sum.add(term.divide(BigInteger.valueOf(2L * k + 1)));
        }
        return sum;
    }

    private static BigInteger machinPi(int w) {
        int g = w + 16;
        return atanInverse(5, g).shiftLeft(4).subtract(atanInverse(239, g).shiftLeft(2)).shiftRight(16);
    }

    private static BigInteger roundToBits(BigInteger v, int scale, int bits) {
        int drop = v.bitLength() - bits;
        return v.add(BigInteger.ONE.shiftLeft(drop - 1)).shiftRight(drop).shiftLeft(drop);
    }

    private static BigInteger pi(int w) { return PI.shiftRight(CONSTANT_BITS - w); }

    private static BigInteger ln2(int w) { return LN2.shiftRight(CONSTANT_BITS - w); }

    private static BigInteger mulFixed(BigInteger a, BigInteger b, int w) { return a.multiply(b).shiftRight(w); }

    /** sin(r) for |r| <= pi/4 (fixed point, scale w). */
    private static BigInteger sinSeries(BigInteger r, int w) {
        BigInteger r2 = mulFixed(r, r, w);
        BigInteger sum = r, term = r;
        for (long n = 1; term.signum() != 0; n++) {
            term = mulFixed(term, r2, w).divide(BigInteger.valueOf((2 * n) * (2 * n + 1))).negate();
            sum = sum.add(term);
        }
        return sum;
    }

    private static BigInteger cosSeries(BigInteger r, int w) {
        BigInteger r2 = mulFixed(r, r, w);
        BigInteger term = BigInteger.ONE.shiftLeft(w), sum = term;
        for (long n = 1; term.signum() != 0; n++) {
            term = mulFixed(term, r2, w).divide(BigInteger.valueOf((2 * n - 1) * (2 * n))).negate();
            sum = sum.add(term);
        }
        return sum;
    }

    /** atan(t) for |t| <= 1: three argument halvings t/(1+sqrt(1+t^2)) then the Taylor series. */
    private static BigInteger atanSeries(BigInteger t, int w) {
        BigInteger one = BigInteger.ONE.shiftLeft(w);
        int halvings = 3;
        for (int i = 0; i < halvings; i++) {
            BigInteger root = one.add(mulFixed(t, t, w)).shiftLeft(w).sqrt();
            t = t.shiftLeft(w).divide(one.add(root));
        }
        BigInteger t2 = mulFixed(t, t, w);
        BigInteger power = t, sum = t;
        for (long k = 1; power.signum() != 0; k++) {
            power = mulFixed(power, t2, w).negate();
            sum = sum.add(power.divide(BigInteger.valueOf(2 * k + 1)));
        }
        return sum.shiftLeft(halvings);
    }

    /** atanh(s) = s + s^3/3 + ... for |s| < 1/2. */
    private static BigInteger atanhSeries(BigInteger s, int w) {
        BigInteger s2 = mulFixed(s, s, w);
        BigInteger power = s, sum = s;
        for (long k = 1; power.signum() != 0; k++) {
            power = mulFixed(power, s2, w);
            sum = sum.add(power.divide(BigInteger.valueOf(2 * k + 1)));
        }
        return sum;
    }

    /** e^t - 1 for |t| < 1. */
    private static BigInteger expm1Series(BigInteger t, int w) {
        BigInteger term = t, sum = t;
        for (long n = 2; term.signum() != 0; n++) {
            term = mulFixed(term, t, w).divide(BigInteger.valueOf(n));
            sum = sum.add(term);
        }
        return sum;
    }

    // ---------------------------------------------------------------------------------------------
    // Rounding with Ziv's loop

    static Float80 round(Approximation f, FloatEnv env) {
        Approx a = null;
        for (int w = BASE_BITS; w <= MAX_BITS; w *= 2) {
            a = f.at(w);
            Float80 r = tryRound(a, env);
            if (r != null) return r;
        }
        return Float80.roundBig(a.value().signum() < 0, a.value().abs(), -a.scale(), true, env, false);
    }

    private static Float80 tryRound(Approx a, FloatEnv env) {
        boolean neg = a.value().signum() < 0;
        BigInteger mag = a.value().abs();
        BigInteger err = BigInteger.ONE.shiftLeft(a.errBits());
        BigInteger low = mag.subtract(err), high = mag.add(err);
        if (low.signum() <= 0) return null;
        FloatEnv e1 = new FloatEnv(env.controlWord), e2 = new FloatEnv(env.controlWord);
        Float80 r1 = Float80.roundBig(neg, low, -a.scale(), true, e1, false);
        Float80 r2 = Float80.roundBig(neg, high, -a.scale(), true, e2, false);
        if (!r1.equals(r2) || e1.roundedUp != e2.roundedUp || e1.flags != e2.flags) return null;
        env.flags |= e1.flags;
        env.roundedUp = e1.roundedUp;
        return r1;
    }

    /** |x| as a fixed-point integer at scale w (exact when w + e >= 63). */
    private static BigInteger fixed(Float80 x, int w) {
        int shift = w + x.normalExponent() - 63;
        BigInteger m = Float80.unsigned(x.normalSignificand());
        return shift >= 0 ? m.shiftLeft(shift) : m.shiftRight(-shift);
    }

    // ---------------------------------------------------------------------------------------------
    // Trigonometric

    private static final int SIN = 0, COS = 1, TAN = 2;

    static Float80 sin(Float80 x, FloatEnv env) { return trig(x, SIN, env); }

    static Float80 cos(Float80 x, FloatEnv env) { return trig(x, COS, env); }

    static Float80 tan(Float80 x, FloatEnv env) { return trig(x, TAN, env); }

    private static Float80 trig(Float80 x, int fn, FloatEnv env) {
        Float80 nan = Float80.screen(x, env);
        if (nan != null) return nan;
        if (x.isInfinite()) return Float80.invalid(env);
        if (Float80.denormalStops(x, null, env)) return null;
        if (x.isZero()) return fn == COS ? Float80.ONE : x;
        int e = x.normalExponent();
        boolean neg = x.negative();
        return round(w -> {
            int bits = w + Math.max(0, -e);
            int wide = bits + Math.max(0, e) + 8;
            BigInteger big = fixed(x, wide);
            BigInteger halfPi = REDUCTION_PI.shiftRight(CONSTANT_BITS - wide + 1);
            BigInteger k = big.add(halfPi.shiftRight(1)).divide(halfPi);
            BigInteger r = big.subtract(k.multiply(halfPi)).shiftRight(wide - bits);
            int quadrant = k.intValue() & 3;
            BigInteger v;
            if (fn == TAN) {
                BigInteger s = sinSeries(r, bits), c = cosSeries(r, bits);
                v = (quadrant & 1) == 0 ? s.shiftLeft(bits).divide(c) : c.shiftLeft(bits).divide(s).negate();
                if (neg) v = v.negate();
            } else {
                boolean useSin = (fn == SIN) == ((quadrant & 1) == 0);
                v = useSin ? sinSeries(r, bits) : cosSeries(r, bits);
                boolean flip = fn == SIN ? (quadrant >= 2) ^ neg : quadrant == 1 || quadrant == 2;
                if (flip) v = v.negate();
            }
            return new Approx(v, bits, 8);
        }, env);
    }

    // ---------------------------------------------------------------------------------------------
    // FPATAN

    static Float80 arcTangent(Float80 x, Float80 y, FloatEnv env) {
        Float80 nan = Float80.screen(y, x, env);
        if (nan != null) return nan;
        boolean ny = y.negative(), nx = x.negative();
        if (y.isZero() || x.isInfinite() && !y.isInfinite()) {
            if (Float80.denormalStops(x, y, env)) return null;
            if (!nx) return y.isZero() ? y : Float80.zero(ny);
            return piMultiple(4, 4, ny, env);
        }
        if (y.isInfinite()) {
            if (x.isInfinite()) return piMultiple(nx ? 3 : 1, 4, ny, env);
            if (Float80.denormalStops(x, null, env)) return null;
            return piMultiple(2, 4, ny, env);
        }
        if (x.isZero()) {
            if (Float80.denormalStops(y, null, env)) return null;
            return piMultiple(2, 4, ny, env);
        }
        if (Float80.denormalStops(x, y, env)) return null;
        int ex = x.normalExponent(), ey = y.normalExponent();
        return round(w -> {
            int bits = w + Math.max(0, ex - ey) + 2;
            BigInteger my = Float80.unsigned(y.normalSignificand()), mx = Float80.unsigned(x.normalSignificand());
            boolean inverted = Float80.compareMagnitude(y.abs(), x.abs()) > 0;
            // z = |y/x| or |x/y| at scale bits
            int d = inverted ? ex - ey : ey - ex;
            BigInteger num = inverted ? mx : my, den = inverted ? my : mx;
            BigInteger z = d + bits >= 0 ? num.shiftLeft(d + bits).divide(den) : BigInteger.ZERO;
            BigInteger a = atanSeries(z, bits);
            BigInteger halfPi = pi(bits - 1);
            if (inverted) a = halfPi.subtract(a);
            if (nx) a = halfPi.shiftLeft(1).subtract(a);
            return new Approx(ny ? a.negate() : a, bits, 8);
        }, env);
    }

    /** k/n * pi, rounded (the FPATAN special results). */
    private static Float80 piMultiple(int k, int n, boolean neg, FloatEnv env) {
        return round(w -> {
            BigInteger v = pi(w).multiply(BigInteger.valueOf(k)).divide(BigInteger.valueOf(n));
            return new Approx(neg ? v.negate() : v, w, 2);
        }, env);
    }

    // ---------------------------------------------------------------------------------------------
    // Logarithms and exponential

    /** FYL2X: y * log2(x). */
    static Float80 yLog2X(Float80 x, Float80 y, FloatEnv env) {
        Float80 nan = Float80.screen(x, y, env);
        if (nan != null) return nan;
        boolean ny = y.negative();
        if (x.negative() && !x.isZero()) return Float80.invalid(env);
        if (x.isZero()) {
            if (y.isZero()) return Float80.invalid(env);
            if (Float80.denormalStops(y, null, env)) return null;
            if (!y.isInfinite()) env.raise(ZE);
            return Float80.infinity(!ny);
        }
        if (x.isInfinite()) {
            if (y.isZero()) return Float80.invalid(env);
            if (Float80.denormalStops(y, null, env)) return null;
            return Float80.infinity(ny);
        }
        int cmpOne = Float80.compareMagnitude(x, Float80.ONE);
        if (y.isInfinite()) {
            if (cmpOne == 0) return Float80.invalid(env);
            if (Float80.denormalStops(x, null, env)) return null;
            return Float80.infinity(ny ^ (cmpOne < 0));
        }
        if (Float80.denormalStops(x, y, env)) return null;
        if (y.isZero() || cmpOne == 0) return Float80.zero(ny ^ (cmpOne < 0));
        int e = x.normalExponent();
        long m = x.normalSignificand();
        if (m == Float80.J) { // a power of two: log2 is exact
            return Float80.mul(Float80.fromLong(e), y, false, env);
        }
        return round(w -> {
            int bits = w;
            BigInteger one = BigInteger.ONE.shiftLeft(bits);
            BigInteger mm = Float80.unsigned(m).shiftLeft(bits - 63);
            int ee = e;
            // keep the reduced significand in [sqrt(1/2), sqrt(2))
            if (mm.compareTo(SQRT2_TIMES_2_POW_62.shiftLeft(bits - 62)) > 0) {
                ee++;
                mm = mm.shiftRight(1);
            }
            BigInteger s = mm.subtract(one).shiftLeft(bits).divide(mm.add(one));
            BigInteger ln = atanhSeries(s, bits).shiftLeft(1);
            BigInteger log2 = BigInteger.valueOf(ee).shiftLeft(bits).add(ln.shiftLeft(bits).divide(ln2(bits)));
            return scaleByY(log2, bits, y);
        }, env);
    }

    private static final BigInteger SQRT2_TIMES_2_POW_62 = BigInteger.ONE.shiftLeft(125).sqrt();

    /** v * 2^-bits times the exact y, as an approximation whose error grows with y's significand. */
    private static Approx scaleByY(BigInteger v, int bits, Float80 y) {
        BigInteger product = v.multiply(Float80.unsigned(y.normalSignificand()));
        if (y.negative()) product = product.negate();
        return new Approx(product, bits + 63 - y.normalExponent(), 8 + 64);
    }

    /** FYL2XP1: y * log2(x + 1), for |x| < 1 - sqrt(2)/2. */
    static Float80 yLog2XPlus1(Float80 x, Float80 y, FloatEnv env) {
        Float80 nan = Float80.screen(x, y, env);
        if (nan != null) return nan;
        boolean ny = y.negative(), nx = x.negative();
        if (x.isInfinite()) return y.isZero() ? Float80.invalid(env) : Float80.infinity(ny ^ nx);
        if (y.isInfinite()) {
            if (x.isZero()) return Float80.invalid(env);
            if (Float80.denormalStops(x, null, env)) return null;
            return Float80.infinity(ny ^ nx);
        }
        if (Float80.denormalStops(x, y, env)) return null;
        if (x.isZero() || y.isZero()) return Float80.zero(ny ^ nx);
        int e = x.normalExponent();
        return round(w -> {
            int bits = w + Math.max(0, -e);
            BigInteger t = fixed(x, bits);
            if (nx) t = t.negate();
            BigInteger two = BigInteger.ONE.shiftLeft(bits + 1);
            BigInteger s = t.shiftLeft(bits).divide(two.add(t));
            BigInteger ln = atanhSeries(s, bits).shiftLeft(1);
            BigInteger log2 = ln.shiftLeft(bits).divide(ln2(bits));
            return scaleByY(log2, bits, y);
        }, env);
    }

    /** F2XM1: 2^x - 1, defined for -1 <= x <= 1. */
    static Float80 twoToXMinus1(Float80 x, FloatEnv env) {
        Float80 nan = Float80.screen(x, env);
        if (nan != null) return nan;
        if (x.isInfinite()) return x.negative() ? Float80.ONE.negate() : x;
        if (Float80.denormalStops(x, null, env)) return null;
        if (x.isZero()) return x;
        int e = x.normalExponent();
        if (e == 0 && x.normalSignificand() == Float80.J) {
            return x.negative() ? new Float80(0x8000 | (Float80.BIAS - 1), Float80.J) : Float80.ONE;
        }
        return round(w -> {
            int bits = w + Math.max(0, -e);
            BigInteger t = mulFixed(fixed(x, bits), ln2(bits), bits);
            if (x.negative()) t = t.negate();
            return new Approx(expm1Series(t, bits), bits, 8);
        }, env);
    }

    // ---------------------------------------------------------------------------------------------
    // Constants

    private static final BigInteger LOG2_10 = log2Of10(CONSTANT_BITS);

    private static BigInteger log2Of10(int w) {
        // ln 10 = 3 ln 2 + ln(5/4) = 3 ln 2 + 2 atanh(1/9)
        int g = w + 16;
        BigInteger ln2 = atanhInverse(3, g).shiftLeft(1);
        BigInteger ln10 = ln2.multiply(BigInteger.valueOf(3)).add(atanhInverse(9, g).shiftLeft(1));
        return ln10.shiftLeft(g).divide(ln2).shiftRight(16);
    }

    /** D9 E9..ED: log2(10), log2(e), pi, log10(2), ln(2), rounded by RC to 64 bits, raising nothing. */
    static Float80 constant(int index, int rc) {
        int w = CONSTANT_BITS;
        BigInteger one = BigInteger.ONE.shiftLeft(w);
        BigInteger v = switch (index) {
            case 1 -> LOG2_10;
            case 2 -> one.shiftLeft(w).divide(LN2);
            case 3 -> PI;
            case 4 -> one.shiftLeft(w).divide(LOG2_10);
            default -> LN2;
        };
        FloatEnv scratch = new FloatEnv(0x037f | (rc << 10));
        return Float80.roundBig(false, v, -w, true, scratch, false);
    }
}
