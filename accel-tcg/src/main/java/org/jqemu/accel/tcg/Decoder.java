package org.jqemu.accel.tcg;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jqemu.memory.Page;

/**
 * Decodes the subset of 32-bit x86 the translator compiles, from the bytes of one code page: prefixes
 * (segment overrides, 0x66 operand size where the compiler has a 16-bit form, LOCK on read-modify-writes
 * of memory, REP/REPE/REPNE on string instructions), integer, string and bit instructions. Anything else
 * (0x67, system instructions, x87, LOCK where it is #UD, an instruction crossing the page end) decodes to
 * null: the block ends before it and the interpreter executes it.
 */
final class Decoder {
    private static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5, ESP = 4, EBP = 5;
    private static final int MAX_LENGTH = 15, MAX_PREFIXES = 4;

    private final MemorySegment page;
    /** The following page when it is executable RAM (an instruction may end there), else null. */
    private final MemorySegment nextPage;
    private final int pageBase;
    private int pos;
    /** The operand size of the instruction being decoded: 4, or 2 after a 0x66 prefix. */
    private int osz;

    Decoder(MemorySegment page, int pageBase) { this(page, pageBase, null); }

    Decoder(MemorySegment page, int pageBase, MemorySegment nextPage) {
        this.page = page;
        this.pageBase = pageBase;
        this.nextPage = nextPage;
    }

    private int u8() {
        if (pos < Page.SIZE) {
            return page.get(ValueLayout.JAVA_BYTE, pos++) & 0xff;
        }
        if (nextPage == null || pos >= 2 * Page.SIZE) {
            throw new EndOfPage();
        }
        return nextPage.get(ValueLayout.JAVA_BYTE, pos++ - Page.SIZE) & 0xff;
    }

    private int s8() { return (byte) u8(); }

    private int u16() { return u8() | (u8() << 8); }

    private int u32() { return u16() | (u16() << 16); }

    /** Thrown when an instruction runs past the page: it is left to the interpreter. */
    private static final class EndOfPage extends RuntimeException {
        EndOfPage() { super(null, null, false, false); }
    }

    /** The instruction at {@code eip} (inside this page), or null when the translator does not handle it. */
    Insn decode(int eip) {
        pos = eip - pageBase;
        try {
            return decodeAt(eip);
        } catch (EndOfPage e) {
            return null;
        }
    }

    private Insn decodeAt(int eip) {
        int segment = -1;
        int rep = 0;
        boolean lock = false;
        boolean operandSize = false;
        int op = u8();
        for (int prefixes = 0; ; prefixes++) {
            switch (op) {
                case 0x26 -> segment = ES;
                case 0x2e -> segment = CS;
                case 0x36 -> segment = SS;
                case 0x3e -> segment = DS;
                case 0x64 -> segment = FS;
                case 0x65 -> segment = GS;
                case 0x66 -> operandSize = true;
                case 0xf0 -> lock = true;
                case 0xf2, 0xf3 -> rep = op;
                default -> {
                    osz = operandSize ? 2 : 4;
                    Insn in = decodeUnprefixed(eip, op);
                    if (in == null || in.length() > MAX_LENGTH || (operandSize && !sizeable(in))
                            || (lock && !lockable(in))) {
                        return null; // the interpreter executes it (and raises #UD or #GP where due)
                    }
                    return in.withPrefixes(segment, isString(in.op()) ? rep : 0, lock);
                }
            }
            if (prefixes == MAX_PREFIXES) {
                return null;
            }
            op = u8();
        }
    }

    /** String instructions: REP/REPE/REPNE apply to them only (the interpreter ignores them elsewhere). */
    static boolean isString(int op) { return op >= 0xa4 && op <= 0xaf && op != 0xa8 && op != 0xa9; }

    /** Instructions whose 16-bit form (0x66) the compiler handles (transfers of control and the stack do not). */
    private static boolean sizeable(Insn in) {
        int op = in.op();
        if (op < 0x40 || (op >= 0x140 && op <= 0x14f)) {
            return true;
        }
        return switch (op) {
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
                 0x69, 0x6b, 0x81, 0x83, 0x85, 0x87, 0x89, 0x8b, 0x8d, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96,
                 0x97, 0x98, 0x99, 0xa1, 0xa3, 0xa5, 0xa7, 0xa9, 0xab, 0xad, 0xaf,
                 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc1, 0xc7, 0xd1, 0xd3,
                 0x1a3, 0x1a4, 0x1a5, 0x1ab, 0x1ac, 0x1ad, 0x1af, 0x1b1, 0x1b3, 0x1ba, 0x1bb, 0x1bc, 0x1bd, 0x1c1 -> true;
            case 0xf7 -> in.reg() < 4;
            case 0xff -> in.reg() < 2;
            default -> false;
        };
    }

    /** LOCK on a read-modify-write of memory (else #UD: left to the interpreter). */
    private static boolean lockable(Insn in) {
        if (!in.mem()) {
            return false;
        }
        int op = in.op();
        if (op < 0x40) {
            return (op & 7) < 2 && (op >> 3) != 7;
        }
        return switch (op) {
            case 0x80, 0x81, 0x83 -> in.reg() != 7;
            case 0x86, 0x87, 0x1ab, 0x1b3, 0x1bb, 0x1b0, 0x1b1, 0x1c0, 0x1c1 -> true;
            case 0xf6, 0xf7 -> in.reg() == 2 || in.reg() == 3;
            case 0xfe, 0xff -> in.reg() < 2;
            case 0x1ba -> in.reg() >= 5;
            default -> false;
        };
    }

    private Insn decodeUnprefixed(int eip, int op) {
        if (op == 0x0f) {
            return decodeTwoByte(eip, 0x100 | u8());
        }
        if (op < 0x40 && (op & 7) < 6) {
            return switch (op & 7) {
                case 0, 1, 2, 3 -> modrm(eip, op, (op & 1) == 0 ? 1 : osz, 0);
                case 4 -> simple(eip, op, 1, u8());
                default -> simple(eip, op, osz, immediate(osz));
            };
        }
        return switch (op) {
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
                 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99 -> simple(eip, op, osz, 0);
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
                 0x9c, 0xc3, 0xc9, 0xf5, 0xf8, 0xf9, 0xfc, 0xfd -> simple(eip, op, 4, 0);
            case 0x86 -> modrm(eip, op, 1, 0);
            case 0x87 -> modrm(eip, op, osz, 0);
            case 0xa0, 0xa2 -> absolute(eip, op, 1);
            case 0xa1, 0xa3 -> absolute(eip, op, osz);
            case 0xa4, 0xa6, 0xaa, 0xac, 0xae -> simple(eip, op, 1, 0);
            case 0xa5, 0xa7, 0xab, 0xad, 0xaf -> simple(eip, op, osz, 0);
            case 0x68 -> simple(eip, op, 4, u32());
            case 0x6a -> simple(eip, op, 4, s8());
            case 0x69 -> modrm(eip, op, osz, osz);
            case 0x6b -> modrm(eip, op, osz, -1);
            case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f,
                 0xeb -> simple(eip, op, 4, s8());
            case 0x80 -> modrm(eip, op, 1, 1);
            case 0x81 -> modrm(eip, op, osz, osz);
            case 0x83 -> modrm(eip, op, osz, -1);
            case 0x84, 0x88, 0x8a -> modrm(eip, op, 1, 0);
            case 0x85, 0x89, 0x8b -> modrm(eip, op, osz, 0);
            case 0x8d -> memoryOnly(modrm(eip, op, osz, 0));
            case 0xa8 -> simple(eip, op, 1, u8());
            case 0xa9 -> simple(eip, op, osz, immediate(osz));
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7 -> simple(eip, op, 1, u8());
            case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> simple(eip, op, osz, immediate(osz));
            case 0xc0 -> modrm(eip, op, 1, 1);
            case 0xc1 -> modrm(eip, op, osz, 1);
            case 0xd0, 0xd2 -> modrm(eip, op, 1, 0);
            case 0xd1, 0xd3 -> modrm(eip, op, osz, 0);
            case 0xc2 -> simple(eip, op, 4, u16());
            case 0xc6 -> regFieldIn(modrm(eip, op, 1, 1), 0, 0);
            case 0xc7 -> regFieldIn(modrm(eip, op, osz, osz), 0, 0);
            case 0xe8, 0xe9 -> simple(eip, op, 4, u32());
            case 0xf6 -> group3(eip, op, 1);
            case 0xf7 -> group3(eip, op, osz);
            case 0xfe -> regFieldIn(modrm(eip, op, 1, 0), 0, 1);
            case 0xff -> group5(modrm(eip, op, osz, 0));
            default -> null;
        };
    }

    private int immediate(int size) { return size == 2 ? u16() : u32(); }

    private Insn decodeTwoByte(int eip, int op) {
        int low = op & 0xff;
        if (low >= 0x40 && low <= 0x4f) {
            return modrm(eip, op, osz, 0);
        }
        if (low >= 0x80 && low <= 0x8f) {
            return simple(eip, op, 4, u32());
        }
        if (low >= 0x90 && low <= 0x9f) {
            return modrm(eip, op, 1, 0);
        }
        if (low >= 0xc8 && low <= 0xcf) {
            return simple(eip, op, 4, 0);
        }
        return switch (low) {
            case 0xa3, 0xab, 0xb3, 0xbb, 0xaf, 0xbc, 0xbd, 0xa5, 0xad, 0xb1, 0xc1 -> modrm(eip, op, osz, 0);
            case 0xa4, 0xac -> modrm(eip, op, osz, 1);
            case 0xba -> regFieldIn(modrm(eip, op, osz, 1), 4, 7);
            case 0xb0, 0xc0 -> modrm(eip, op, 1, 0);
            case 0xb6, 0xbe -> modrm(eip, op, 1, 0);
            case 0xb7, 0xbf -> modrm(eip, op, 2, 0);
            default -> null;
        };
    }

    private Insn group3(int eip, int op, int size) {
        int save = pos;
        int regField = (u8() >> 3) & 7;
        pos = save;
        return switch (regField) {
            case 0, 1 -> modrm(eip, op, size, size);
            case 2, 3 -> modrm(eip, op, size, 0);
            case 4, 5, 6, 7 -> size == 4 ? modrm(eip, op, size, 0) : null; // MUL/IMUL/DIV/IDIV EDX:EAX
            default -> null;
        };
    }

    private static Insn group5(Insn in) {
        return switch (in.reg()) {
            case 0, 1, 2, 4, 6 -> in;
            default -> null;
        };
    }

    private static Insn memoryOnly(Insn in) { return in.mem() ? in : null; }

    private static Insn registerOnly(Insn in) { return in.mem() ? null : in; }

    private static Insn regFieldIn(Insn in, int low, int high) {
        return in.reg() >= low && in.reg() <= high ? in : null;
    }

    /** MOV between the accumulator and {@code DS:[moffs32]}. */
    private Insn absolute(int eip, int op, int size) {
        int disp = u32();
        return new Insn(eip, pos - (eip - pageBase), op, size, 0, true, 0, DS, Insn.NONE, Insn.NONE, 0, disp, 0);
    }

    private Insn simple(int eip, int op, int size, int imm) {
        return new Insn(eip, pos - (eip - pageBase), op, size, 0, false, 0, DS, Insn.NONE, Insn.NONE, 0, 0, imm);
    }

    /**
     * An instruction with a ModR/M byte; {@code immKind} is 0 (no immediate), 1 (imm8), -1 (sign-extended
     * imm8), 4 (imm32).
     */
    private Insn modrm(int eip, int op, int size, int immKind) {
        int m = u8();
        int mod = m >> 6;
        int reg = (m >> 3) & 7;
        int rm = m & 7;
        int seg = DS;
        int base = Insn.NONE;
        int index = Insn.NONE;
        int scale = 0;
        int disp = 0;
        if (mod != 3) {
            if (rm == 4) {
                int sib = u8();
                int b = sib & 7;
                int i = (sib >> 3) & 7;
                scale = sib >> 6;
                if (b == 5 && mod == 0) {
                    disp = u32();
                } else {
                    base = b;
                    if (b == ESP || b == EBP) {
                        seg = SS;
                    }
                }
                if (i != 4) {
                    index = i;
                }
            } else if (rm == 5 && mod == 0) {
                disp = u32();
            } else {
                base = rm;
                if (rm == EBP) {
                    seg = SS;
                }
            }
            if (mod == 1) {
                disp += s8();
            } else if (mod == 2) {
                disp += u32();
            }
        }
        int imm = switch (immKind) {
            case 1 -> u8();
            case -1 -> s8();
            case 2 -> u16();
            case 4 -> u32();
            default -> 0;
        };
        return new Insn(eip, pos - (eip - pageBase), op, size, reg, mod != 3, rm, seg, base, index, scale, disp, imm);
    }
}
