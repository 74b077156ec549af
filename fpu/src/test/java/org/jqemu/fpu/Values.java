package org.jqemu.fpu;

import java.util.Random;

/** Random test values weighted toward the edges: zeros, denormals, extremes, NaNs, halfway patterns. */
final class Values {
    private Values() { }

    static final long J = 0x8000000000000000L;

    static Float80 any(Random r) {
        int sign = r.nextBoolean() ? 0x8000 : 0;
        return switch (r.nextInt(24)) {
            case 0 -> new Float80(sign, 0);
            case 1 -> new Float80(sign, r.nextLong() >>> (1 + r.nextInt(63)));
            case 2 -> new Float80(sign, r.nextInt(8) == 0 ? J | r.nextLong() : r.nextLong() >>> 1); // pseudo-denormal rarely
            case 3 -> new Float80(sign | 0x7fff, J);
            case 4 -> new Float80(sign | 0x7fff, 0xc000000000000000L | (r.nextBoolean() ? 0 : r.nextLong() >>> 2));
            case 5 -> new Float80(sign | 0x7fff, J | (r.nextLong() >>> 2) | 1);
            case 6 -> r.nextInt(4) == 0 ? new Float80(sign | (1 + r.nextInt(0x7ffe)), r.nextLong() >>> 1) // unnormal
                    : new Float80(sign | 0x7fff, r.nextLong() >>> 1); // pseudo-NaN/infinity
            case 7 -> new Float80(sign | (0x7fff - 1 - r.nextInt(70)), J | r.nextLong());
            case 8 -> new Float80(sign | (1 + r.nextInt(70)), J | r.nextLong());
            case 9 -> Float80.fromLong(r.nextInt(2001) - 1000);
            case 10 -> halfway(r, sign);
            default -> normal(r, sign, 40);
        };
    }

    /** A normal number within +-spread of exponent 0, with a random, sparse or dense significand. */
    static Float80 normal(Random r, int sign, int spread) {
        long m = switch (r.nextInt(4)) {
            case 0 -> J | (r.nextLong() & (-1L << r.nextInt(64)));
            case 1 -> -1L << r.nextInt(20);
            default -> J | r.nextLong();
        };
        return new Float80(sign | (Float80.BIAS - spread + r.nextInt(2 * spread + 1)), m);
    }

    /** Significands whose bits below the 24-, 53- or 64-bit rounding point sit at or next to the half. */
    static Float80 halfway(Random r, int sign) {
        int[] cut = {40, 11, 1};
        int c = cut[r.nextInt(3)];
        long m = (J | r.nextLong()) & (-1L << c);
        m |= 1L << (c - 1);
        if (r.nextBoolean()) m += r.nextInt(3) - 1;
        return new Float80(sign | (Float80.BIAS - 20 + r.nextInt(40)), m | J);
    }

    /** A value with the same exponent region as {@code a}, for cancellation and close comparisons. */
    static Float80 near(Random r, Float80 a) {
        if (a.exp() == 0 || a.exp() == 0x7fff || r.nextInt(3) == 0) return any(r);
        int e = Math.max(1, Math.min(0x7ffe, a.exp() + r.nextInt(5) - 2));
        long m = r.nextBoolean() ? a.sig() ^ (1L << r.nextInt(64)) : J | r.nextLong();
        return new Float80((r.nextBoolean() ? 0x8000 : 0) | e, m | J);
    }

    static int controlWord(Random r) {
        int rc = r.nextInt(4), pc = new int[] {0, 1, 2, 3, 3}[r.nextInt(5)];
        int masks = r.nextInt(5) == 0 ? r.nextInt(64) : 0x3f;
        return 0x1040 | (rc << 10) | (pc << 8) | masks;
    }

    static int float32(Random r) {
        int sign = r.nextBoolean() ? 0x80000000 : 0;
        int frac = r.nextInt(1 << 23);
        return sign | switch (r.nextInt(10)) {
            case 0 -> 0;
            case 1 -> frac;
            case 2 -> 0x7f800000 | (r.nextBoolean() ? 0 : frac | 1);
            case 3 -> (1 + r.nextInt(254)) << 23 | frac;
            default -> (127 - 20 + r.nextInt(40)) << 23 | frac;
        };
    }

    static long float64(Random r) {
        long sign = r.nextBoolean() ? J : 0;
        long frac = r.nextLong() >>> 12;
        return sign | switch (r.nextInt(10)) {
            case 0 -> 0L;
            case 1 -> frac;
            case 2 -> 0x7ff0000000000000L | (r.nextBoolean() ? 0 : frac | 1);
            case 3 -> (long) (1 + r.nextInt(2046)) << 52 | frac;
            default -> (long) (1023 - 40 + r.nextInt(80)) << 52 | frac;
        };
    }

    static long integer(Random r, int bits) {
        long v = switch (r.nextInt(5)) {
            case 0 -> 1L << (bits - 1);
            case 1 -> r.nextInt(200) - 100;
            default -> r.nextLong() >> r.nextInt(64);
        };
        return bits == 64 ? v : (v << (64 - bits)) >> (64 - bits);
    }
}
