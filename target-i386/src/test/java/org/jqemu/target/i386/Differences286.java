package org.jqemu.target.i386;

import java.util.List;
import java.util.Map;

/**
 * The documented ways a P6 differs from the 80286 that the SingleStepTests corpus exposes; the list with
 * reasons is src/test/resources/singlestep-286-differences.md (keep both in step). A test is only
 * excused when it failed on the P6 and the failure is one of these differences.
 */
final class Differences286 {
    private Differences286() { }

    static final String LOCK = "LOCK on an instruction that is not a memory read-modify-write: #UD on a P6, ignored by the 286";
    static final String STACK_LIMIT = "stack-segment limit violation in real mode: #SS (12) on a P6, #GP (13) on the 286";
    static final String STRING_WRAP = "string instruction with a word at offset FFFFh: the 286 wraps within the segment"
            + " or faults after updating SI/DI/CX; a P6 raises #GP/#SS with the registers unchanged";
    static final String FS_GS = "8C/8E with reg 4/5 name FS/GS on a P6 (386+); the 286 raises #UD";
    static final String MOV_SREG_ALIAS = "8E with reg 1 (CS) or 8C/8E with reg 6/7: #UD on a P6; the 286 aliases them";
    static final String LENGTH = "instruction longer than 10 bytes: #GP on the 286, allowed up to 15 bytes on a P6";
    static final String UNDEFINED_GROUP = "undefined group encoding (8F/C6/C7 /1-7, FE /2-7, FF /7): #UD on a P6, the 286 executes an alias";
    static final String X87 = "ESC (D8-DF): a P6 has an x87 that executes it (and may fault on its memory operand);"
            + " the 286 rig had no coprocessor (also excused while the fpu module is a stub)";

    /** Why this failing test is excused, or null when its failure is a real bug. */
    static String explain(String key, Map<String, Object> test, int p6Vector, String error) {
        int[] b = bytes(test);
        int at = 0;
        boolean lock = false;
        while (at < b.length && isPrefix(b[at])) {
            lock |= b[at] == 0xf0;
            at++;
        }
        int op = at < b.length ? b[at] : -1;
        int reg = at + 1 < b.length ? (b[at + 1] >> 3) & 7 : -1;
        int expectedVector = test.get("exception") instanceof Map<?, ?> ex ? ((Long) ex.get("number")).intValue() : -1;
        if (lock && p6Vector == 6 && expectedVector != 6) {
            return LOCK;
        }
        if ((op == 0x8c || op == 0x8e) && (reg == 4 || reg == 5)) {
            return FS_GS;
        }
        if ((op == 0x8e && reg == 1) || ((op == 0x8c || op == 0x8e) && reg >= 6)) {
            return MOV_SREG_ALIAS;
        }
        if (expectedVector == 13 && b.length - 1 > 10) {
            return LENGTH;
        }
        if (expectedVector == 13 && p6Vector == 12) {
            return STACK_LIMIT;
        }
        boolean stringOp = (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf) || (op >= 0x6c && op <= 0x6f);
        if (stringOp && (op & 1) == 1 && (p6Vector == 12 || p6Vector == 13)) {
            return STRING_WRAP;
        }
        boolean undefinedGroup = ((op == 0x8f || op == 0xc6 || op == 0xc7) && reg >= 1)
                || (op == 0xfe && reg >= 2) || (op == 0xff && reg == 7);
        if (undefinedGroup && p6Vector == 6) {
            return UNDEFINED_GROUP;
        }
        boolean x87Unavailable = error.contains("x87 not implemented");
        if (op >= 0xd8 && op <= 0xdf && (x87Unavailable || p6Vector == 12 || p6Vector == 13)) {
            return X87;
        }
        return null;
    }

    /** Flags bits compared for this test (AND mask): POPF/IRET may load IOPL and NT on a P6 in real mode. */
    static int flagsMask(String key) {
        return key.equals("9D") || key.equals("CF") ? 0x8fff : 0xffff;
    }

    private static boolean isPrefix(int b) {
        return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0xf0 || b == 0xf2 || b == 0xf3;
    }

    @SuppressWarnings("unchecked")
    static int[] bytes(Map<String, Object> test) {
        List<Long> b = (List<Long>) test.get("bytes");
        int[] r = new int[b.size()];
        for (int i = 0; i < r.length; i++) {
            r[i] = b.get(i).intValue();
        }
        return r;
    }
}
