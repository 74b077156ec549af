package org.jqemu.accel.tcg;

/** The mnemonic of a decoded instruction, for {@code -d in_asm} (operands are not shown). */
final class Mnemonics {
    private static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    private static final String[] SHIFT = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
    private static final String[] GROUP3 = {"test", "test", "not", "neg", "mul", "imul", "div", "idiv"};
    private static final String[] GROUP5 = {"inc", "dec", "call", "lcall", "jmp", "ljmp", "push", "(bad)"};
    private static final String[] CC = {"o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};
    private static final String[] BIT = {"bt", "bts", "btr", "btc"};

    private Mnemonics() { }

    static String of(Insn in) {
        String base = name(in);
        String prefix = (in.lock() ? "lock " : "") + switch (in.rep()) {
            case 0xf3 -> "repz ";
            case 0xf2 -> "repnz ";
            default -> "";
        };
        String suffix = in.size() == 2 && in.op() != 0x1b7 && in.op() != 0x1bf ? "w" : "";
        return prefix + base + suffix;
    }

    private static String name(Insn in) {
        int op = in.op();
        if (op < 0x40) {
            return ALU[op >> 3];
        }
        if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
            return "j" + CC[op & 15];
        }
        if (op >= 0x140 && op <= 0x14f) {
            return "cmov" + CC[op & 15];
        }
        if (op >= 0x190 && op <= 0x19f) {
            return "set" + CC[op & 15];
        }
        if (op >= 0x1c8 && op <= 0x1cf) {
            return "bswap";
        }
        return switch (op) {
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> "inc";
            case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> "dec";
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x68, 0x6a -> "push";
            case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f, 0x8f -> "pop";
            case 0x69, 0x6b, 0x1af -> "imul";
            case 0x80, 0x81, 0x83 -> ALU[in.reg()];
            case 0x84, 0x85, 0xa8, 0xa9 -> "test";
            case 0x86, 0x87, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97 -> op == 0x90 ? "nop" : "xchg";
            case 0x88, 0x89, 0x8a, 0x8b, 0xa0, 0xa1, 0xa2, 0xa3, 0xc6, 0xc7 -> "mov";
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> "mov";
            case 0x8d -> "lea";
            case 0x98 -> "cwtl";
            case 0x99 -> "cltd";
            case 0x9c -> "pushf";
            case 0x9d -> "popf";
            case 0xa4, 0xa5 -> "movs";
            case 0xa6, 0xa7 -> "cmps";
            case 0xaa, 0xab -> "stos";
            case 0xac, 0xad -> "lods";
            case 0xae, 0xaf -> "scas";
            case 0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3 -> SHIFT[in.reg()];
            case 0xc2, 0xc3 -> "ret";
            case 0xc9 -> "leave";
            case 0xe8 -> "call";
            case 0xe9, 0xeb -> "jmp";
            case 0xf5 -> "cmc";
            case 0xf8 -> "clc";
            case 0xf9 -> "stc";
            case 0xfc -> "cld";
            case 0xfd -> "std";
            case 0xf6, 0xf7 -> GROUP3[in.reg()];
            case 0xfe, 0xff -> GROUP5[in.reg()];
            case 0x1a3, 0x1ab, 0x1b3, 0x1bb -> BIT[(op >> 3) & 3];
            case 0x1ba -> BIT[in.reg() & 3];
            case 0x1a4, 0x1a5 -> "shld";
            case 0x1ac, 0x1ad -> "shrd";
            case 0x1b0, 0x1b1 -> "cmpxchg";
            case 0x1b6, 0x1b7 -> "movz";
            case 0x1be, 0x1bf -> "movs";
            case 0x1bc -> "bsf";
            case 0x1bd -> "bsr";
            case 0x1c0, 0x1c1 -> "xadd";
            default -> String.format("op_%x", op);
        };
    }
}
