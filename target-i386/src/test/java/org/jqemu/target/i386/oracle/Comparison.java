package org.jqemu.target.i386.oracle;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/** Field-by-field comparison of two records of one case, honouring its masks. */
public final class Comparison {
    private Comparison() { }

    /** The differences that count (empty: the case passes); {@code maskedDiffer[0]} tells whether masked parts differed. */
    public static List<String> differences(OracleCase c, byte[] expected, byte[] actual, int offset,
                                           Masks.Applied masks, boolean[] maskedDiffer) {
        ByteBuffer e = Record.wrap(expected), a = Record.wrap(actual);
        boolean[] ignore = new boolean[Record.SIZE];
        if (masks.dest()) {
            for (int i = 0; i < c.dest().length; i += 2) {
                for (int j = 0; j < c.dest()[i + 1]; j++) {
                    ignore[c.dest()[i] + j] = true;
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (int r = 0; r < 8; r++) {
            int at = offset + Record.REGS + 4 * r;
            int diffMask = 0;
            for (int j = 0; j < 4; j++) {
                if (!ignore[Record.REGS + 4 * r + j]) {
                    diffMask |= 0xff << (8 * j);
                }
            }
            int x = e.getInt(at), y = a.getInt(at);
            if (((x ^ y) & diffMask) != 0) {
                out.add(String.format("%s expected %08x got %08x", Record.REG_NAMES[r], x, y));
            } else if (x != y) {
                maskedDiffer[0] = true;
            }
        }
        int fe = e.getInt(offset + Record.EFLAGS), fa = a.getInt(offset + Record.EFLAGS);
        if (((fe ^ fa) & ~masks.eflags()) != 0) {
            out.add(String.format("eflags expected %08x got %08x (differ %08x)", fe, fa, fe ^ fa));
        } else if (fe != fa) {
            maskedDiffer[0] = true;
        }
        for (int i = 0; i < Record.SCRATCH_SIZE; i++) {
            byte x = e.get(offset + Record.SCRATCH + i), y = a.get(offset + Record.SCRATCH + i);
            if (x != y) {
                if (ignore[Record.SCRATCH + i]) {
                    maskedDiffer[0] = true;
                } else {
                    out.add(String.format("scratch+%d expected %02x got %02x", i, x, y));
                    break;
                }
            }
        }
        if (c.x87()) {
            compareFpu(e, a, offset, masks, out, maskedDiffer);
        }
        return out;
    }

    private static void compareFpu(ByteBuffer e, ByteBuffer a, int offset, Masks.Applied masks, List<String> out, boolean[] maskedDiffer) {
        int cwE = e.getShort(offset + Record.FPU_CW) & 0xffff, cwA = a.getShort(offset + Record.FPU_CW) & 0xffff;
        if (cwE != cwA) {
            out.add(String.format("fpu cw expected %04x got %04x", cwE, cwA));
        }
        int swE = e.getShort(offset + Record.FPU_SW) & 0xffff, swA = a.getShort(offset + Record.FPU_SW) & 0xffff;
        if (((swE ^ swA) & ~masks.fsw()) != 0) {
            out.add(String.format("fpu sw expected %04x got %04x", swE, swA));
        } else if (swE != swA) {
            maskedDiffer[0] = true;
        }
        int twE = e.getShort(offset + Record.FPU_TW) & 0xffff, twA = a.getShort(offset + Record.FPU_TW) & 0xffff;
        if (twE != twA) {
            out.add(String.format("fpu tw expected %04x got %04x", twE, twA));
            return;
        }
        int top = (swE >> 11) & 7;
        for (int i = 0; i < 8; i++) {
            int physical = (top + i) & 7;
            if (((twE >> (2 * physical)) & 3) == 3) {
                continue; // empty register: no architectural value
            }
            int at = offset + Record.FPU_REGS + 10 * i;
            long mE = e.getLong(at), mA = a.getLong(at);
            int xE = e.getShort(at + 8) & 0xffff, xA = a.getShort(at + 8) & 0xffff;
            if (mE != mA || xE != xA) {
                out.add(String.format("st%d expected %04x_%016x got %04x_%016x", i, xE, mE, xA, mA));
            }
        }
    }
}
