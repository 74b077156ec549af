package org.jqemu.fpu;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Runs the same instruction on the host x87 and on {@link X87} from the same state, and compares
 * control/status/tag words, FOP, the non-empty registers, the memory operand, EFLAGS and AX.
 */
final class OracleRunner {
    /** One instruction: stack contents (values[0] is ST0), control word, EFLAGS and 16 bytes of memory operand. */
    record Case(int cw, int eflags, int opcode, int modrm, Float80[] values, byte[] mem) {
        String line() {
            StringBuilder b = new StringBuilder();
            b.append(String.format("%x %x %x %x %d", cw, eflags, opcode, modrm, values.length));
            for (Float80 v : values) b.append(String.format(" %04x%016x", v.se(), v.sig()));
            b.append(' ').append(HexFormat.of().formatHex(mem));
            return b.toString();
        }
    }

    /** Result image in the oracle's output format. */
    record Outcome(byte[] save, byte[] mem, int eflags, int eax, boolean undefined) { }

    static final int MEM = 0x1000, SAVE = 0x2000, SCRATCH = 0x3000;
    /** 0F AE: FXSAVE (reg 0) and FXRSTOR (reg 1), run through {@link X87#fxsave}/{@link X87#fxrstor}. */
    static final int FXSAVE_OPCODE = 0x0fae;
    /** Bytes of the memory operand the oracle prints (an FXSAVE image up to the last register). */
    static final int MEM_SHOWN = 160;

    /** A flat 16 KiB memory and the few CPU registers the unit touches. */
    static class SimContext implements X87Context {
        final byte[] ram = new byte[0x4000];
        int eflags;
        int ax = 0x12345678;

        @Override public long read(long ea, int size) {
            long v = 0;
            for (int i = size - 1; i >= 0; i--) v = (v << 8) | (ram[(int) ea + i] & 0xff);
            return v;
        }

        @Override public void write(long ea, int size, long value) {
            for (int i = 0; i < size; i++) ram[(int) ea + i] = (byte) (value >>> (8 * i));
        }

        @Override public int eflags() { return eflags; }

        @Override public void setCompareFlags(boolean zf, boolean pf, boolean cf) {
            eflags = (eflags & ~0x8d5) | (zf ? 0x40 : 0) | (pf ? 4 : 0) | (cf ? 1 : 0);
        }

        @Override public void setAx(int value) { ax = (ax & 0xffff0000) | (value & 0xffff); }

        @Override public long instructionPointer() { return 0x401000; }

        @Override public int codeSelector() { return 0x33; }

        @Override public int dataSelector() { return 0x2b; }

        @Override public void raiseMathFault() { throw new AssertionError("#MF raised by the test sequence"); }
    }

    static Outcome simulate(Case c) {
        SimContext ctx = new SimContext();
        X87 u = new X87();
        u.execute(ctx, 0xdb, 0xe3, 0, true, false);
        ctx.write(SCRATCH, 2, 0x037f);
        u.execute(ctx, 0xd9, 0x2c, SCRATCH, true, false);
        for (int k = c.values().length - 1; k >= 0; k--) {
            ctx.write(SCRATCH, 8, c.values()[k].sig());
            ctx.write(SCRATCH + 8, 2, c.values()[k].se());
            u.execute(ctx, 0xdb, 0x2c, SCRATCH, true, false);
        }
        u.execute(ctx, 0xdb, 0xe2, 0, true, false);
        ctx.write(SCRATCH, 2, c.cw());
        u.execute(ctx, 0xd9, 0x2c, SCRATCH, true, false);
        ctx.eflags = (c.eflags() & 0x8d5) | 2;
        System.arraycopy(c.mem(), 0, ctx.ram, MEM, 16);
        int modrm = c.modrm() < 0xc0 ? (c.modrm() & 0x38) | 4 : c.modrm(); // the oracle addresses memory through a SIB byte
        boolean ok = true;
        if (c.opcode() == FXSAVE_OPCODE) {
            if ((modrm & 0x38) == 0) u.fxsave(ctx, MEM);
            else u.fxrstor(ctx, MEM);
        } else {
            boolean op32 = (c.opcode() >> 8) != 0x66;
            ok = u.execute(ctx, c.opcode() & 0xff, modrm, MEM, op32, false);
        }
        if (!ok) return new Outcome(null, null, 0, 0, true);
        u.execute(ctx, 0xdd, 0x30, SAVE, true, false);
        byte[] save = new byte[108], mem = new byte[MEM_SHOWN];
        System.arraycopy(ctx.ram, SAVE, save, 0, 108);
        System.arraycopy(ctx.ram, MEM, mem, 0, MEM_SHOWN);
        return new Outcome(save, mem, ctx.eflags, ctx.ax, false);
    }

    static Outcome parse(String line) {
        if (line.equals("UD")) return new Outcome(null, null, 0, 0, true);
        String[] f = line.split(" ");
        HexFormat h = HexFormat.of();
        return new Outcome(h.parseHex(f[0]), h.parseHex(f[1]), (int) Long.parseLong(f[2], 16), (int) Long.parseLong(f[3], 16), false);
    }

    private static int u16(byte[] b, int off) { return (b[off] & 0xff) | (b[off + 1] & 0xff) << 8; }

    /** Describes the first difference, or returns null when the outcomes agree. */
    static String difference(Case c, Outcome host, Outcome sim) {
        if (host.undefined() || sim.undefined()) {
            return host.undefined() == sim.undefined() ? null : "host #UD=" + host.undefined() + " sim #UD=" + sim.undefined();
        }
        byte[] h = host.save(), s = sim.save();
        String[] names = {"CW", "CW.hi", "SW", "SW.hi", "TW", "TW.hi"};
        for (int i = 0; i < 6; i++) {
            if (u16(h, 2 * i) != u16(s, 2 * i)) return String.format("%s host %04x sim %04x", names[i], u16(h, 2 * i), u16(s, 2 * i));
        }
        int simFop = u16(s, 18) & 0x7ff;
        boolean envLoad = ((c.opcode() & 0xff) == 0xd9 || (c.opcode() & 0xff) == 0xdd) && c.modrm() < 0xc0 && ((c.modrm() >> 3) & 7) == 4;
        // An AMD host loses FOP (reads 0) when the kernel switches tasks between the instruction and
        // FNSAVE: its XSAVE keeps FOP only while an exception is pending. Compare FOP when it survived.
        int hostFop = u16(h, 18) & 0x7ff;
        if (!envLoad && hostFop != 0 && hostFop != simFop) return String.format("FOP host %03x sim %03x", u16(h, 18) & 0x7ff, simFop);
        int tw = u16(h, 8), top = (u16(h, 4) >> 11) & 7;
        for (int i = 0; i < 8; i++) {
            if (((tw >> (2 * ((top + i) & 7))) & 3) == 3) continue;
            int off = 28 + 10 * i;
            for (int k = 0; k < 10; k++) {
                if (h[off + k] != s[off + k]) return String.format("ST%d host %s sim %s", i, reg(h, off), reg(s, off));
            }
        }
        String m = memoryDifference(c, host.mem(), sim.mem());
        if (m != null) return m;
        if ((host.eflags() & 0x8d5) != (sim.eflags() & 0x8d5)) return String.format("EFLAGS host %x sim %x", host.eflags() & 0x8d5, sim.eflags() & 0x8d5);
        if (host.eax() != sim.eax()) return String.format("EAX host %x sim %x", host.eax(), sim.eax());
        return null;
    }

    /** Compares what the instruction stored: 16 bytes, or the parts of an environment or FXSAVE image that are defined. */
    private static String memoryDifference(Case c, byte[] h, byte[] s) {
        int low = c.opcode() & 0xff, reg = (c.modrm() >> 3) & 7;
        boolean envStore = (low == 0xd9 || low == 0xdd) && c.modrm() < 0xc0 && reg == 6;
        int limit = 16;
        if (envStore) limit = (c.opcode() >> 8) == 0x66 ? 6 : 12; // FIP and beyond hold the host's real addresses
        if (c.opcode() == FXSAVE_OPCODE && reg == 0) {
            limit = 5; // FCW, FSW, abridged FTW; FOP/FIP/FDP are only kept by the host while an exception is pending
            int tags = h[4] & 0xff, top = ((h[3] & 0xff) >> 3) & 7;
            for (int i = 0; i < 8; i++) {
                if ((tags & (1 << ((top + i) & 7))) == 0) continue;
                for (int k = 0; k < 10; k++) {
                    if (h[32 + 16 * i + k] != s[32 + 16 * i + k]) return String.format("FXSAVE ST%d host %s sim %s", i, reg(h, 32 + 16 * i), reg(s, 32 + 16 * i));
                }
            }
        }
        for (int k = 0; k < limit; k++) {
            if (h[k] != s[k]) {
                return "mem host " + HexFormat.of().formatHex(h, 0, 16) + " sim " + HexFormat.of().formatHex(s, 0, 16);
            }
        }
        return null;
    }

    static String reg(byte[] b, int off) {
        long m = 0;
        for (int k = 7; k >= 0; k--) m = (m << 8) | (b[off + k] & 0xff);
        return String.format("%04x:%016x", u16(b, off + 8), m);
    }

    /** Result of a batch: counts and the first mismatches, for the test's report. */
    record Report(String name, int cases, int mismatches, List<String> examples) {
        @Override public String toString() {
            return name + ": " + cases + " cases, " + mismatches + " mismatches" + (examples.isEmpty() ? "" : "\n  " + String.join("\n  ", examples));
        }
    }

    static Report run(String name, List<Case> cases) throws Exception {
        List<String> lines = new ArrayList<>(cases.size());
        for (Case c : cases) lines.add(c.line());
        List<String> out = HostOracle.run(lines);
        int bad = 0;
        List<String> examples = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Case c = cases.get(i);
            String d;
            try {
                d = difference(c, parse(out.get(i)), simulate(c));
            } catch (RuntimeException | AssertionError e) {
                d = "exception " + e;
            }
            if (d != null) {
                bad++;
                if (examples.size() < 8) examples.add(c.line() + " -> " + d);
            }
        }
        Report r = new Report(name, cases.size(), bad, examples);
        System.out.println(r);
        return r;
    }
}
