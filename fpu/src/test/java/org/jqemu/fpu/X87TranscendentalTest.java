package org.jqemu.fpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1 against the host CPU. The hardware is not
 * correctly rounded; the test counts exact matches and the ulp distance of the others, and fails on
 * any difference beyond the documented bound (see {@link #MAX_ULPS}) or in anything but the rounded
 * value and its C1/PE consequences.
 */
class X87TranscendentalTest {
    static final int N = Integer.getInteger("x87.cases", 3000);
    /** Largest ulp distance tolerated from the host's result. */
    static final long MAX_ULPS = 1;

    static Float80 scaled(Random r, int minExp, int maxExp) {
        int e = minExp + r.nextInt(maxExp - minExp + 1);
        return new Float80((r.nextBoolean() ? 0x8000 : 0) | (Float80.BIAS + e), Values.J | r.nextLong());
    }

    /** An edge value from {@link Values#any} inside the documented domain |x| <= limit, or not finite. */
    static Float80 edge(Random r, Float80 limit) {
        while (true) {
            Float80 v = Values.any(r);
            if (v.exp() == 0x7fff || v.isUnsupported() || Float80.compareMagnitude(v, limit) <= 0) return v;
        }
    }

    static final Float80 HUGE = new Float80(0x7ffe, -1L);

    static Function<Random, Float80[]> one(Function<Random, Float80> f) { return one(f, HUGE); }

    static Function<Random, Float80[]> one(Function<Random, Float80> f, Float80 limit) {
        return r -> new Float80[] {r.nextInt(30) == 0 ? edge(r, limit) : f.apply(r)};
    }

    static Function<Random, Float80[]> twoLimited(Function<Random, Float80> x, Function<Random, Float80> y, Float80 limit) {
        return r -> new Float80[] {r.nextInt(30) == 0 ? edge(r, limit) : x.apply(r), r.nextInt(30) == 0 ? Values.any(r) : y.apply(r)};
    }

    static Function<Random, Float80[]> two(Function<Random, Float80> x, Function<Random, Float80> y) {
        return r -> new Float80[] {r.nextInt(30) == 0 ? Values.any(r) : x.apply(r), r.nextInt(30) == 0 ? Values.any(r) : y.apply(r)};
    }

    record Stats(String name, int cases, int exact, long[] ulpHistogram, int other, List<String> examples) { }

    /** Monotonic integer image of a finite value, so that adjacent values differ by one. */
    static long key(Float80 v) {
        long k = (long) v.exp() << 63 | (v.sig() & Long.MAX_VALUE);
        if (v.exp() != 0 && v.sig() >= 0) k = -1; // unnormal: no ulp distance
        return v.negative() ? -k : k;
    }

    static Stats measure(String name, int opcode, int modrm, Function<Random, Float80[]> stack, int n) throws Exception {
        Random r = new Random(name.hashCode());
        List<OracleRunner.Case> cases = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int cw = 0x1040 | r.nextInt(4) << 10 | (r.nextInt(4) == 0 ? r.nextInt(4) << 8 : 0x300) | (r.nextInt(8) == 0 ? r.nextInt(64) : 0x3f);
            cases.add(new OracleRunner.Case(cw, 0, opcode, modrm, stack.apply(r), new byte[16]));
        }
        List<String> lines = new ArrayList<>();
        for (OracleRunner.Case c : cases) lines.add(c.line());
        List<String> out = HostOracle.run(lines);
        int exact = 0, other = 0;
        long[] hist = new long[8];
        List<String> examples = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            OracleRunner.Case c = cases.get(i);
            OracleRunner.Outcome host = OracleRunner.parse(out.get(i)), sim = OracleRunner.simulate(c);
            String d = OracleRunner.difference(c, host, sim);
            if (d == null) {
                exact++;
                continue;
            }
            long ulps = ulpDistance(host, sim);
            if (ulps >= 0 && ulps < hist.length) {
                hist[(int) ulps]++;
                if (Boolean.getBoolean("x87.verbose") && ulps == 1) System.out.println("  1ulp " + c.line());
                if (ulps > MAX_ULPS && examples.size() < 6) examples.add(c.line() + " -> " + d + " (" + ulps + " ulps)");
            } else {
                other++;
                if (examples.size() < 6) examples.add(c.line() + " -> " + d);
            }
        }
        Stats s = new Stats(name, n, exact, hist, other, examples);
        StringBuilder b = new StringBuilder(String.format("%s: %d cases, %d exact", name, n, exact));
        b.append(String.format(", %d same value with the other C1", hist[0]));
        for (int u = 1; u < hist.length; u++) if (hist[u] != 0) b.append(String.format(", %d at %d ulp", hist[u], u));
        b.append(String.format(", %d other mismatches", other));
        for (String e : examples) b.append("\n  ").append(e);
        System.out.println(b);
        return s;
    }

    /**
     * The largest ulp distance between host and simulated registers when everything else agrees
     * (the status word up to C1, which follows the rounding direction), or -1. Zero: the same values
     * with a different C1, the two roundings having started from different sides of the result.
     */
    static long ulpDistance(OracleRunner.Outcome host, OracleRunner.Outcome sim) {
        if (host.undefined() || sim.undefined()) return -1;
        byte[] h = host.save(), s = sim.save();
        int swh = u16(h, 4), sws = u16(s, 4);
        if (((swh ^ sws) & ~0x0200) != 0) return -1;
        if (u16(h, 8) != u16(s, 8)) return -1;
        long worst = 0;
        int tw = u16(h, 8), top = (swh >> 11) & 7;
        for (int i = 0; i < 8; i++) {
            if (((tw >> (2 * ((top + i) & 7))) & 3) == 3) continue;
            Float80 a = reg(h, 28 + 10 * i), b = reg(s, 28 + 10 * i);
            if (a.equals(b)) continue;
            if (a.exp() == 0x7fff || b.exp() == 0x7fff || a.negative() != b.negative()) return -1;
            worst = Math.max(worst, Math.abs(key(a) - key(b)));
        }
        return worst;
    }

    static int u16(byte[] b, int off) { return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8; }

    static Float80 reg(byte[] b, int off) {
        long m = 0;
        for (int k = 7; k >= 0; k--) m = (m << 8) | (b[off + k] & 0xff);
        return new Float80(u16(b, off + 8), m);
    }

    static void check(List<Stats> all) {
        List<String> bad = new ArrayList<>();
        for (Stats s : all) {
            long beyond = 0;
            for (int u = (int) MAX_ULPS + 1; u < s.ulpHistogram().length; u++) beyond += s.ulpHistogram()[u];
            if (s.other() != 0 || beyond != 0) bad.add(s.name() + ": " + s.other() + " mismatches beyond rounding, " + beyond + " beyond " + MAX_ULPS + " ulp\n  " + String.join("\n  ", s.examples()));
        }
        assertTrue(bad.isEmpty(), String.join("\n", bad));
    }

    @Test
    void trigonometric() throws Exception {
        Function<Random, Float80> arg = r -> switch (r.nextInt(4)) {
            case 0 -> scaled(r, -70, 0);
            case 1 -> scaled(r, 0, 63);
            default -> scaled(r, -3, 3);
        };
        check(List.of(
                measure("fsin", 0xd9, 0xfe, one(arg), N),
                measure("fcos", 0xd9, 0xff, one(arg), N),
                measure("fsincos", 0xd9, 0xfb, one(arg), N),
                measure("fptan", 0xd9, 0xf2, one(arg), N)));
    }

    @Test
    void arctangentAndLogarithms() throws Exception {
        check(List.of(
                measure("fpatan", 0xd9, 0xf3, two(r -> scaled(r, -40, 40), r -> scaled(r, -40, 40)), N),
                measure("fyl2x", 0xd9, 0xf1, two(r -> scaled(r, -100, 100).abs(), r -> scaled(r, -10, 10)), N),
                measure("fyl2x near 1", 0xd9, 0xf1, two(r -> new Float80(Float80.BIAS - r.nextInt(2), r.nextBoolean() ? -1L << r.nextInt(40) : Values.J | r.nextLong() >>> r.nextInt(60)),
                        r -> scaled(r, -10, 10)), N / 2),
                measure("fyl2xp1", 0xd9, 0xf9, twoLimited(r -> scaled(r, -70, -3), r -> scaled(r, -10, 10), new Float80(Float80.BIAS - 2, 0x95f619980c4336f7L)), N),
                measure("f2xm1", 0xd9, 0xf0, one(r -> scaled(r, -70, -1), Float80.ONE), N)));
    }
}
