package org.jqemu.fpu;

import java.math.BigInteger;

import static org.jqemu.fpu.FloatEnv.*;

/**
 * An x87 double-extended value exactly as a register holds it: {@code se} is the sign (bit 15) and the
 * 15-bit biased exponent, {@code sig} the 64-bit significand with its explicit integer bit (bit 63).
 * The static methods are a soft-float that rounds like the x87: rounding and precision control from a
 * {@link FloatEnv}, tininess detected after rounding, C1 = round-up, and Intel's rules for NaNs and
 * unsupported encodings. Nothing here uses Java's floating point.
 */
public record Float80(int se, long sig) {
    public static final int BIAS = 16383;
    public static final int EXP_MAX = 0x7fff;
    /** Exponent adjustment of a wrapped result when overflow or underflow is unmasked. */
    static final int WRAP = 24576;
    static final long J = 0x8000000000000000L;
    static final long QUIET = 0x4000000000000000L;

    public static final Float80 ZERO = new Float80(0, 0);
    public static final Float80 NEG_ZERO = new Float80(0x8000, 0);
    public static final Float80 ONE = new Float80(BIAS, J);
    public static final Float80 INFINITY = new Float80(EXP_MAX, J);
    public static final Float80 NEG_INFINITY = new Float80(0xffff, J);
    /** The QNaN indefinite delivered by masked invalid operations. */
    public static final Float80 INDEFINITE = new Float80(0xffff, 0xc000000000000000L);

    /** Operand classes as the x87 sees them. */
    public enum Kind { ZERO, DENORMAL, NORMAL, INFINITY, QNAN, SNAN, UNSUPPORTED }

    public Float80 {
        se &= 0xffff;
    }

    public int exp() { return se & EXP_MAX; }

    public boolean negative() { return (se & 0x8000) != 0; }

    public Kind kind() {
        int e = exp();
        if (e == 0) return sig == 0 ? Kind.ZERO : Kind.DENORMAL;
        if (sig >= 0) return Kind.UNSUPPORTED; // unnormal, pseudo-infinity, pseudo-NaN: integer bit clear
        if (e != EXP_MAX) return Kind.NORMAL;
        if (sig == J) return Kind.INFINITY;
        return (sig & QUIET) != 0 ? Kind.QNAN : Kind.SNAN;
    }

    public boolean isNaN() { return exp() == EXP_MAX && sig < 0 && sig != J; }

    public boolean isSignalingNaN() { return kind() == Kind.SNAN; }

    public boolean isZero() { return exp() == 0 && sig == 0; }

    public boolean isInfinite() { return exp() == EXP_MAX && sig == J; }

    public boolean isDenormal() { return exp() == 0 && sig != 0; }

    public boolean isUnsupported() { return exp() != 0 && sig >= 0; }

    public Float80 negate() { return new Float80(se ^ 0x8000, sig); }

    public Float80 abs() { return new Float80(se & EXP_MAX, sig); }

    public Float80 withSign(boolean neg) { return new Float80(neg ? se | 0x8000 : se & EXP_MAX, sig); }

    Float80 quieted() { return new Float80(se, sig | QUIET); }

    static Float80 zero(boolean neg) { return neg ? NEG_ZERO : ZERO; }

    static Float80 infinity(boolean neg) { return neg ? NEG_INFINITY : INFINITY; }

    /** Unbiased exponent of a finite nonzero value after normalising its significand (denormals included). */
    int normalExponent() {
        int e = exp() == 0 ? 1 - BIAS : exp() - BIAS;
        return e - Long.numberOfLeadingZeros(sig);
    }

    long normalSignificand() { return sig << Long.numberOfLeadingZeros(sig); }

    @Override
    public String toString() { return String.format("%04x:%016x", se, sig); }

    // ---------------------------------------------------------------------------------------------
    // Rounding

    /** Exponent range of a rounding destination. */
    public enum Format {
        EXTENDED(64, 1 - BIAS, BIAS), DOUBLE(53, -1022, 1023), SINGLE(24, -126, 127);

        final int precision, emin, emax;

        Format(int precision, int emin, int emax) {
            this.precision = precision;
            this.emin = emin;
            this.emax = emax;
        }
    }

    /** Rounds to the register format with the precision control of {@code env}; wraps the exponent if OE/UE are unmasked. */
    static Float80 roundPc(boolean neg, int e, long hi, long lo, FloatEnv env) {
        return round(neg, e, hi, lo, env.precisionBits(), Format.EXTENDED, true, env);
    }

    /** Rounds to the full 64-bit register format (no precision control). */
    static Float80 round64(boolean neg, int e, long hi, long lo, FloatEnv env) {
        return round(neg, e, hi, lo, 64, Format.EXTENDED, true, env);
    }

    /**
     * Rounds the exact value (-1)^neg * hi.lo * 2^(e-63) ({@code hi} normalised, bit 63 set; {@code lo}
     * holds further bits with any sticky bit ORed in) to {@code p} significand bits within the exponent
     * range of {@code fmt}, raising PE, UE, OE and setting {@link FloatEnv#roundedUp}. The result is
     * expressed as an extended value (exact for the smaller formats). With {@code wrap} and the
     * exception unmasked, overflow and underflow deliver the significand with the exponent biased by
     * -/+24576 as the x87 does for register destinations.
     */
    static Float80 round(boolean neg, int e, long hi, long lo, int p, Format fmt, boolean wrap, FloatEnv env) {
        int shift = 64 - p;
        int rc = env.roundingControl();
        env.roundedUp = false;
        if (e < fmt.emin) {
            boolean tiny = e < fmt.emin - 1 || !carriesOut(neg, hi, lo, shift, rc);
            if (tiny && wrap && !env.masked(UE)) {
                env.raise(UE);
                e += WRAP;
            } else if (tiny) {
                int d = fmt.emin - e;
                if (d >= 128) {
                    lo = (hi | lo) != 0 ? 1 : 0;
                    hi = 0;
                } else if (d >= 64) {
                    long lost = d == 64 ? lo : (lo | (hi << (128 - d)));
                    lo = (d == 64 ? hi : hi >>> (d - 64)) | (lost != 0 ? 1 : 0);
                    hi = 0;
                } else {
                    lo = (lo >>> d) | (hi << (64 - d)) | ((lo << (64 - d)) != 0 ? 1 : 0);
                    hi >>>= d;
                }
                e = fmt.emin;
                if (roundBitsNonZero(hi, lo, shift)) env.raise(UE);
            }
        }
        long mask = shift == 0 ? 0 : (1L << shift) - 1;
        long rHi = hi & mask;
        boolean inexact = (rHi | lo) != 0;
        if (inexact) {
            env.raise(PE);
            if (roundIncrements(neg, hi, rHi, lo, shift, rc)) {
                env.roundedUp = true;
                long before = hi & ~mask;
                hi = before + (1L << shift);
                if (before < 0 && hi >= 0) { // carried out of bit 63
                    hi = J;
                    e++;
                }
            } else {
                hi &= ~mask;
            }
        }
        if (e > fmt.emax) {
            env.raise(OE);
            if (wrap && !env.masked(OE)) {
                e -= WRAP;
            } else {
                env.raise(PE);
                boolean toInfinity = switch (rc) {
                    case RC_NEAREST -> true;
                    case RC_DOWN -> neg;
                    case RC_UP -> !neg;
                    default -> false;
                };
                env.roundedUp = toInfinity;
                if (toInfinity) return infinity(neg);
                return new Float80((neg ? 0x8000 : 0) | (fmt.emax + BIAS), -1L << shift);
            }
        }
        return pack(neg, e, hi);
    }

    /** Packs a rounded significand: a clear bit 63 means a denormal (or zero) at the format's minimum exponent. */
    private static Float80 pack(boolean neg, int e, long hi) {
        int s = neg ? 0x8000 : 0;
        if (hi == 0) return zero(neg);
        if (hi < 0) return new Float80(s | (e + BIAS), hi);
        if (e > 1 - BIAS) { // a smaller format's denormal: normal in extended
            int lz = Long.numberOfLeadingZeros(hi);
            return new Float80(s | (e - lz + BIAS), hi << lz);
        }
        return new Float80(s, hi);
    }

    private static boolean roundBitsNonZero(long hi, long lo, int shift) {
        return ((shift == 0 ? 0 : hi & ((1L << shift) - 1)) | lo) != 0;
    }

    /** Whether rounding a normalised significand at {@code shift} would carry out of bit 63 (unbounded exponent). */
    private static boolean carriesOut(boolean neg, long hi, long lo, int shift, int rc) {
        long mask = shift == 0 ? 0 : (1L << shift) - 1;
        if ((hi | mask) != -1L) return false;
        long rHi = hi & mask;
        if ((rHi | lo) == 0) return false;
        return roundIncrements(neg, hi, rHi, lo, shift, rc);
    }

    private static boolean roundIncrements(boolean neg, long hi, long rHi, long lo, int shift, int rc) {
        switch (rc) {
            case RC_DOWN: return neg;
            case RC_UP: return !neg;
            case RC_ZERO: return false;
            default:
                int cmp;
                if (shift == 0) {
                    cmp = Long.compareUnsigned(lo, J);
                } else {
                    long half = 1L << (shift - 1);
                    cmp = rHi != half ? Long.compareUnsigned(rHi, half) : (lo != 0 ? 1 : 0);
                }
                return cmp > 0 || (cmp == 0 && ((hi >>> shift) & 1) != 0);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Operand screening shared by the arithmetic

    /**
     * Handles unsupported encodings and NaNs of a two-operand operation. Returns the result to deliver,
     * or null when both operands are numbers (zeros, denormals, normals, infinities).
     */
    static Float80 screen(Float80 a, Float80 b, FloatEnv env) {
        Kind ka = a.kind(), kb = b.kind();
        if (ka == Kind.UNSUPPORTED || kb == Kind.UNSUPPORTED) return invalid(env);
        boolean na = ka == Kind.QNAN || ka == Kind.SNAN, nb = kb == Kind.QNAN || kb == Kind.SNAN;
        if (!na && !nb) return null;
        if (ka == Kind.SNAN || kb == Kind.SNAN) env.raise(IE);
        if (na && nb) return propagate(a, b).quieted();
        return (na ? a : b).quieted();
    }

    /** Intel's choice between two NaNs: the larger significand (quiet bit included), on a tie the positive one. */
    private static Float80 propagate(Float80 a, Float80 b) {
        int c = Long.compareUnsigned(a.sig | QUIET, b.sig | QUIET);
        if (c != 0) return c > 0 ? a : b;
        return a.negative() ? b : a;
    }

    static Float80 screen(Float80 a, FloatEnv env) {
        Kind k = a.kind();
        if (k == Kind.UNSUPPORTED) return invalid(env);
        if (k == Kind.SNAN) {
            env.raise(IE);
            return a.quieted();
        }
        return k == Kind.QNAN ? a : null;
    }

    static Float80 invalid(FloatEnv env) {
        env.raise(IE);
        return INDEFINITE;
    }

    /** Raises DE for a denormal operand; true when DE is unmasked, which stops the instruction. */
    static boolean denormalStops(Float80 a, Float80 b, FloatEnv env) {
        if (a.isDenormal() || (b != null && b.isDenormal())) {
            env.raise(DE);
            return !env.masked(DE);
        }
        return false;
    }

    // ---------------------------------------------------------------------------------------------
    // Arithmetic

    public static Float80 add(Float80 a, Float80 b, FloatEnv env) { return addSigned(a, b, false, env); }

    public static Float80 sub(Float80 a, Float80 b, FloatEnv env) { return addSigned(a, b, true, env); }

    private static Float80 addSigned(Float80 a, Float80 b, boolean subtract, FloatEnv env) {
        env.roundedUp = false;
        Float80 r = screen(a, b, env);
        if (r != null) return r;
        boolean sa = a.negative(), sb = b.negative() ^ subtract;
        if (a.isInfinite() || b.isInfinite()) {
            if (a.isInfinite() && b.isInfinite() && sa != sb) return invalid(env);
            return a.isInfinite() ? a : infinity(sb);
        }
        if (denormalStops(a, b, env)) return null;
        if (a.isZero() || b.isZero()) {
            if (a.isZero() && b.isZero()) {
                boolean neg = sa == sb ? sa : env.roundingControl() == RC_DOWN;
                return zero(neg);
            }
            Float80 x = a.isZero() ? b.withSign(sb) : a;
            return roundPc(x.negative(), x.normalExponent(), x.normalSignificand(), 0, env);
        }
        return addFinite(sa, a.normalExponent(), a.normalSignificand(), sb, b.normalExponent(), b.normalSignificand(), env);
    }

    /** Exact sum of two normalised nonzero values, rounded with precision control. */
    static Float80 addFinite(boolean sa, int ea, long ma, boolean sb, int eb, long mb, FloatEnv env) {
        if (ea < eb || (ea == eb && Long.compareUnsigned(ma, mb) < 0)) {
            boolean ts = sa; sa = sb; sb = ts;
            int te = ea; ea = eb; eb = te;
            long tm = ma; ma = mb; mb = tm;
        }
        int d = ea - eb;
        long bHi, bLo;
        if (d == 0) {
            bHi = mb; bLo = 0;
        } else if (d < 64) {
            bHi = mb >>> d; bLo = mb << (64 - d);
        } else if (d < 128) {
            bHi = 0;
            bLo = (d == 64 ? mb : mb >>> (d - 64)) | (d > 64 && (mb << (128 - d)) != 0 ? 1 : 0);
        } else {
            bHi = 0; bLo = 1;
        }
        long hi, lo;
        int e = ea;
        if (sa == sb) {
            lo = 0 + bLo;
            hi = ma + bHi;
            if (Long.compareUnsigned(hi, ma) < 0) { // carry out: shift right keeping a sticky bit
                lo = (lo >>> 1) | (hi << 63) | (lo & 1);
                hi = (hi >>> 1) | J;
                e++;
            }
        } else {
            lo = -bLo;
            hi = ma - bHi - (bLo != 0 ? 1 : 0);
            if (hi == 0 && lo == 0) return zero(env.roundingControl() == RC_DOWN);
            int lz = hi != 0 ? Long.numberOfLeadingZeros(hi) : 64 + Long.numberOfLeadingZeros(lo);
            if (lz >= 64) {
                hi = lo << (lz - 64);
                lo = 0;
            } else if (lz > 0) {
                hi = (hi << lz) | (lo >>> (64 - lz));
                lo <<= lz;
            }
            e -= lz;
        }
        return roundPc(sa, e, hi, lo, env);
    }

    public static Float80 mul(Float80 a, Float80 b, FloatEnv env) { return mul(a, b, true, env); }

    /** Multiplication rounded with precision control ({@code pc}) or to the full 64 bits. */
    static Float80 mul(Float80 a, Float80 b, boolean pc, FloatEnv env) {
        env.roundedUp = false;
        Float80 r = screen(a, b, env);
        if (r != null) return r;
        boolean neg = a.negative() ^ b.negative();
        if (a.isInfinite() || b.isInfinite()) {
            if (a.isZero() || b.isZero()) return invalid(env);
            return infinity(neg);
        }
        if (denormalStops(a, b, env)) return null;
        if (a.isZero() || b.isZero()) return zero(neg);
        return mulFinite(neg, a.normalExponent() + b.normalExponent(), a.normalSignificand(), b.normalSignificand(), pc, env);
    }

    static Float80 mulFinite(boolean neg, int e, long ma, long mb, boolean pc, FloatEnv env) {
        long hi = Math.unsignedMultiplyHigh(ma, mb);
        long lo = ma * mb;
        if (hi < 0) {
            e++;
        } else {
            hi = (hi << 1) | (lo >>> 63);
            lo <<= 1;
        }
        return pc ? roundPc(neg, e, hi, lo, env) : round64(neg, e, hi, lo, env);
    }

    public static Float80 div(Float80 a, Float80 b, FloatEnv env) {
        env.roundedUp = false;
        Float80 r = screen(a, b, env);
        if (r != null) return r;
        boolean neg = a.negative() ^ b.negative();
        if (a.isInfinite()) return b.isInfinite() ? invalid(env) : infinity(neg);
        if (b.isInfinite()) {
            if (denormalStops(a, null, env)) return null;
            return zero(neg);
        }
        if (b.isZero()) {
            if (a.isZero()) return invalid(env);
            env.raise(ZE);
            return infinity(neg);
        }
        if (denormalStops(a, b, env)) return null;
        if (a.isZero()) return zero(neg);
        return divFinite(neg, a.normalExponent() - b.normalExponent(), a.normalSignificand(), b.normalSignificand(), env);
    }

    static Float80 divFinite(boolean neg, int e, long ma, long mb, FloatEnv env) {
        long hiIn = ma, loIn = 0;
        if (Long.compareUnsigned(ma, mb) >= 0) { // quotient in [1,2): divide ma*2^63 so it fits 64 bits
            hiIn = ma >>> 1;
            loIn = ma << 63;
        } else {
            e--;
        }
        long q1 = divlu(hiIn, loIn, mb);
        long r1 = loIn - q1 * mb;
        long q2 = divlu(r1, 0, mb);
        long r2 = -q2 * mb;
        return roundPc(neg, e, q1, q2 | (r2 != 0 ? 1 : 0), env);
    }

    /**
     * Unsigned 128/64 division (u1:u0) / v with u1 < v, so the quotient fits 64 bits; the remainder is
     * u0 - q*v modulo 2^64. Long division on 32-bit digits after normalising v (Knuth's algorithm D).
     */
    static long divlu(long u1, long u0, long v) {
        final long b = 1L << 32;
        int s = Long.numberOfLeadingZeros(v);
        v <<= s;
        long vn1 = v >>> 32, vn0 = v & 0xffffffffL;
        long un32 = s == 0 ? u1 : (u1 << s) | (u0 >>> (64 - s));
        long un10 = u0 << s;
        long un1 = un10 >>> 32, un0 = un10 & 0xffffffffL;
        long q1 = Long.divideUnsigned(un32, vn1);
        long rhat = un32 - q1 * vn1;
        while (Long.compareUnsigned(q1, b) >= 0 || Long.compareUnsigned(q1 * vn0, b * rhat + un1) > 0) {
            q1--;
            rhat += vn1;
            if (Long.compareUnsigned(rhat, b) >= 0) break;
        }
        long un21 = un32 * b + un1 - q1 * v;
        long q0 = Long.divideUnsigned(un21, vn1);
        rhat = un21 - q0 * vn1;
        while (Long.compareUnsigned(q0, b) >= 0 || Long.compareUnsigned(q0 * vn0, b * rhat + un0) > 0) {
            q0--;
            rhat += vn1;
            if (Long.compareUnsigned(rhat, b) >= 0) break;
        }
        return q1 * b + q0;
    }

    public static Float80 sqrt(Float80 a, FloatEnv env) {
        env.roundedUp = false;
        Float80 r = screen(a, env);
        if (r != null) return r;
        if (a.isZero()) return a;
        if (a.negative()) return invalid(env);
        if (a.isInfinite()) return a;
        if (denormalStops(a, null, env)) return null;
        int e = a.normalExponent();
        long m = a.normalSignificand();
        // value = m * 2^(e-63); make the exponent of the integer even, then take a 128+ bit root
        int shift = ((e - 63) & 1) == 0 ? 128 : 129;
        BigInteger n = new BigInteger(1, toBytes(m)).shiftLeft(shift);
        BigInteger root = n.sqrt();
        boolean sticky = !root.multiply(root).equals(n);
        // root ~ sqrt(m * 2^shift): about 96 bits
        int rootExp = (e - 63 - shift) / 2; // value = root * 2^rootExp
        return roundBig(false, root, rootExp, sticky, env, true);
    }

    /** Rounds the nonzero integer {@code v} * 2^{@code scale} (plus a sticky bit) to the register format. */
    static Float80 roundBig(boolean neg, BigInteger v, int scale, boolean sticky, FloatEnv env, boolean usePc) {
        int len = v.bitLength();
        int e = scale + len - 1;
        BigInteger top;
        boolean lost = sticky;
        if (len > 128) {
            top = v.shiftRight(len - 128);
            lost |= v.getLowestSetBit() < len - 128;
        } else {
            top = v.shiftLeft(128 - len);
        }
        long hi = top.shiftRight(64).longValue();
        long lo = top.longValue() | (lost ? 1 : 0);
        return usePc ? roundPc(neg, e, hi, lo, env) : round64(neg, e, hi, lo, env);
    }

    static byte[] toBytes(long m) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) b[i] = (byte) (m >>> (56 - 8 * i));
        return b;
    }

    static BigInteger unsigned(long m) { return new BigInteger(1, toBytes(m)); }

    // ---------------------------------------------------------------------------------------------
    // Comparison

    public static final int CMP_LESS = -1, CMP_EQUAL = 0, CMP_GREATER = 1, CMP_UNORDERED = 2;

    /**
     * Compares two values. {@code quiet}: only SNaNs (and unsupported encodings) raise IE, as FUCOM;
     * otherwise any NaN does, as FCOM. Denormal operands raise DE.
     */
    public static int compare(Float80 a, Float80 b, boolean quiet, FloatEnv env) {
        Kind ka = a.kind(), kb = b.kind();
        if (ka == Kind.UNSUPPORTED || kb == Kind.UNSUPPORTED) {
            env.raise(IE);
            return CMP_UNORDERED;
        }
        boolean na = ka == Kind.QNAN || ka == Kind.SNAN, nb = kb == Kind.QNAN || kb == Kind.SNAN;
        if (na || nb) {
            if (!quiet || ka == Kind.SNAN || kb == Kind.SNAN) env.raise(IE);
            return CMP_UNORDERED;
        }
        if (a.isDenormal() || b.isDenormal()) env.raise(DE);
        return compareNumbers(a, b);
    }

    /** Total order on non-NaN values; zeros of either sign are equal. */
    static int compareNumbers(Float80 a, Float80 b) {
        if (a.isZero() && b.isZero()) return CMP_EQUAL;
        boolean sa = a.negative(), sb = b.negative();
        if (sa != sb) return sa ? CMP_LESS : CMP_GREATER;
        int c = compareMagnitude(a, b);
        return sa ? -c : c;
    }

    static int compareMagnitude(Float80 a, Float80 b) {
        if (a.isZero()) return b.isZero() ? 0 : -1;
        if (b.isZero()) return 1;
        if (a.isInfinite()) return b.isInfinite() ? 0 : 1;
        if (b.isInfinite()) return -1;
        int ea = a.normalExponent(), eb = b.normalExponent();
        if (ea != eb) return ea < eb ? -1 : 1;
        int c = Long.compareUnsigned(a.normalSignificand(), b.normalSignificand());
        return Integer.signum(c);
    }

    // ---------------------------------------------------------------------------------------------
    // Integers

    /** Exact conversion of a signed 64-bit integer (FILD). */
    public static Float80 fromLong(long v) {
        if (v == 0) return ZERO;
        boolean neg = v < 0;
        long m = neg ? -v : v; // Long.MIN_VALUE stays 2^63 as an unsigned magnitude
        int lz = Long.numberOfLeadingZeros(m);
        return new Float80((neg ? 0x8000 : 0) | (BIAS + 63 - lz), m << lz);
    }

    /**
     * Rounds to an integral value with the rounding control (FRNDINT without the operand screening).
     * Sets PE if inexact and roundedUp.
     */
    static Float80 roundToIntegral(Float80 a, FloatEnv env) {
        env.roundedUp = false;
        if (a.isZero() || a.isInfinite() || a.isNaN()) return a;
        int e = a.normalExponent();
        if (e >= 63) return a;
        long m = a.normalSignificand();
        boolean neg = a.negative();
        long intPart;
        long fracHi;
        if (e < 0) {
            intPart = 0;
            // fraction = m * 2^(e-63): place it so bit 63 of fracHi is the 1/2 bit
            fracHi = e == -1 ? m : (e < -64 ? 1 : (m >>> (-1 - e)) | ((m << (65 + e)) != 0 ? 1 : 0));
            if (e < -64) fracHi = 1;
        } else {
            intPart = m >>> (63 - e);
            fracHi = m << (e + 1);
        }
        if (fracHi == 0) return a;
        env.raise(PE);
        int rc = env.roundingControl();
        boolean up = switch (rc) {
            case RC_NEAREST -> Long.compareUnsigned(fracHi, J) > 0 || (fracHi == J && (intPart & 1) != 0);
            case RC_DOWN -> neg;
            case RC_UP -> !neg;
            default -> false;
        };
        if (up) {
            intPart++;
            env.roundedUp = true;
        }
        if (intPart == 0) return zero(neg);
        int lz = Long.numberOfLeadingZeros(intPart);
        return new Float80((neg ? 0x8000 : 0) | (BIAS + 63 - lz), intPart << lz);
    }

    public static Float80 roundToInt(Float80 a, FloatEnv env) {
        env.roundedUp = false;
        Float80 r = screen(a, env);
        if (r != null) return r;
        if (denormalStops(a, null, env)) return null;
        return roundToIntegral(a, env);
    }

    /**
     * Converts to a signed integer of {@code bits} (16, 32, 64) with the rounding control: IE and the
     * integer indefinite (the most negative value) when the value is a NaN, infinite or out of range.
     */
    public static long toInteger(Float80 a, int bits, FloatEnv env) {
        env.roundedUp = false;
        long indefinite = 1L << (bits - 1);
        Kind k = a.kind();
        if (k == Kind.UNSUPPORTED || k == Kind.QNAN || k == Kind.SNAN || k == Kind.INFINITY) {
            env.raise(IE);
            return -indefinite;
        }
        FloatEnv probe = new FloatEnv(env.controlWord);
        Float80 r = roundToIntegral(a, probe);
        long max = indefinite; // magnitude limit: 2^(bits-1) for negatives, 2^(bits-1)-1 for positives
        if (r.isZero()) {
            env.flags |= probe.flags;
            env.roundedUp = probe.roundedUp;
            return 0;
        }
        int e = r.normalExponent();
        if (e > bits - 1) {
            env.raise(IE);
            return -indefinite;
        }
        long mag = r.sig >>> (63 - e);
        if (r.negative() ? Long.compareUnsigned(mag, max) > 0 : Long.compareUnsigned(mag, max) >= 0) {
            env.raise(IE);
            return -indefinite;
        }
        env.flags |= probe.flags;
        env.roundedUp = probe.roundedUp;
        return r.negative() ? -mag : mag;
    }

    // ---------------------------------------------------------------------------------------------
    // Binary formats

    /** FLD m32/m64 conversion: exact; SNaN raises IE and is quieted, denormals raise DE. */
    public static Float80 fromFloat32(int bits, FloatEnv env) {
        return fromBinary(bits & 0xffffffffL, 23, 8, true, env);
    }

    public static Float80 fromFloat64(long bits, FloatEnv env) {
        return fromBinary(bits, 52, 11, true, env);
    }

    /**
     * Converts an arithmetic operand: exact, SNaNs stay signaling for the operation's own NaN rules,
     * denormals raise DE here because they are normal once extended.
     */
    static Float80 operand32(int bits, FloatEnv env) {
        return fromBinary(bits & 0xffffffffL, 23, 8, false, env);
    }

    static Float80 operand64(long bits, FloatEnv env) {
        return fromBinary(bits, 52, 11, false, env);
    }

    private static Float80 fromBinary(long bits, int fracBits, int expBits, boolean load, FloatEnv env) {
        boolean neg = (bits >>> (fracBits + expBits)) != 0;
        int s = neg ? 0x8000 : 0;
        int expMax = (1 << expBits) - 1;
        int bias = expMax >> 1;
        int e = (int) (bits >>> fracBits) & expMax;
        long frac = bits & ((1L << fracBits) - 1);
        if (e == expMax) {
            if (frac == 0) return infinity(neg);
            long m = J | (frac << (63 - fracBits));
            if ((m & QUIET) == 0 && load) {
                env.raise(IE);
                m |= QUIET;
            }
            return new Float80(s | EXP_MAX, m);
        }
        if (e == 0) {
            if (frac == 0) return zero(neg);
            env.raise(DE);
            int lz = Long.numberOfLeadingZeros(frac);
            // value = frac * 2^(1-bias-fracBits)
            return new Float80(s | (1 - bias - fracBits + 63 - lz + BIAS), frac << lz);
        }
        return new Float80(s | (e - bias + BIAS), J | (frac << (63 - fracBits)));
    }

    /** FST m32: rounds to single, raising IE (SNaN), DE, OE, UE, PE; NaNs keep their top fraction bits. */
    public static int toFloat32(Float80 a, FloatEnv env) {
        return (int) toBinary(a, Format.SINGLE, 23, 8, env);
    }

    public static long toFloat64(Float80 a, FloatEnv env) {
        return toBinary(a, Format.DOUBLE, 52, 11, env);
    }

    private static long toBinary(Float80 a, Format fmt, int fracBits, int expBits, FloatEnv env) {
        env.roundedUp = false;
        long signBit = a.negative() ? 1L << (fracBits + expBits) : 0;
        long expMax = (1L << expBits) - 1;
        Kind k = a.kind();
        switch (k) {
            case UNSUPPORTED:
                env.raise(IE);
                return (1L << (fracBits + expBits)) | (expMax << fracBits) | (1L << (fracBits - 1));
            case SNAN:
                env.raise(IE);
                // fall through
            case QNAN:
                return signBit | (expMax << fracBits) | ((a.sig | QUIET) << 1 >>> (64 - fracBits));
            case INFINITY:
                return signBit | (expMax << fracBits);
            case ZERO:
                return signBit;
            default:
                break;
        }
        Float80 r = round(a.negative(), a.normalExponent(), a.normalSignificand(), 0, fmt.precision, fmt, false, env);
        if (r.isInfinite()) return signBit | (expMax << fracBits);
        if (r.isZero()) return signBit;
        int e = r.normalExponent();
        int bias = (int) (expMax >> 1);
        if (e < fmt.emin) { // denormal in the destination format
            long frac = r.sig >>> (63 - fracBits + (fmt.emin - e));
            return signBit | frac;
        }
        long frac = (r.sig << 1) >>> (64 - fracBits);
        return signBit | ((long) (e + bias) << fracBits) | frac;
    }

    // ---------------------------------------------------------------------------------------------
    // Packed BCD

    /** FBLD: 18 BCD digits and a sign byte, converted exactly. Digits above 9 give an undefined result. */
    public static Float80 fromBcd(long low8, int high2) {
        // byte 8 holds digits 17,16; bytes 7..0 hold digits 15..0
        int b8 = high2 & 0xff;
        long v = (b8 >> 4) * 10L + (b8 & 0xf);
        for (int i = 7; i >= 0; i--) {
            int byt = (int) (low8 >>> (8 * i)) & 0xff;
            v = v * 100 + (byt >> 4) * 10 + (byt & 0xf);
        }
        Float80 r = fromLong(v);
        boolean neg = (high2 & 0x8000) != 0;
        return r.withSign(neg);
    }

    /** FBSTP: rounds with RC; out of range or NaN: IE and the BCD indefinite. Returns {low 8 bytes, high 2 bytes}. */
    public static long[] toBcd(Float80 a, FloatEnv env) {
        env.roundedUp = false;
        long[] indefinite = {0xc000000000000000L, 0xffff};
        Kind k = a.kind();
        if (k == Kind.UNSUPPORTED || k == Kind.QNAN || k == Kind.SNAN || k == Kind.INFINITY) {
            env.raise(IE);
            return indefinite;
        }
        FloatEnv probe = new FloatEnv(env.controlWord);
        Float80 r = roundToIntegral(a, probe);
        long mag = 0;
        if (!r.isZero()) {
            int e = r.normalExponent();
            if (e > 59) {
                env.raise(IE);
                return indefinite;
            }
            mag = r.sig >>> (63 - e);
            if (mag > 999_999_999_999_999_999L) {
                env.raise(IE);
                return indefinite;
            }
        }
        env.flags |= probe.flags;
        env.roundedUp = probe.roundedUp;
        long low = 0;
        for (int i = 0; i < 16; i++) {
            low |= (mag % 10) << (4 * i);
            mag /= 10;
        }
        int high = (int) (mag % 10) | (int) ((mag / 10) % 10) << 4;
        if (a.negative()) high |= 0x8000;
        return new long[] {low, high};
    }
}
