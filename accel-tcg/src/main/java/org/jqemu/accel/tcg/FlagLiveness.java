package org.jqemu.accel.tcg;

import java.util.List;

/**
 * Dead-flag analysis over one block: an instruction's arithmetic flags are dead when a later instruction
 * of the block overwrites all six before any instruction reads them and before anything can fault (a
 * fault exposes the flags, in a signal frame). The block's end keeps them live: the next block may read.
 */
final class FlagLiveness {
    private enum Effect { NEUTRAL, WRITES, READS }

    private FlagLiveness() { }

    /** For each instruction: true when its flags are dead. */
    static boolean[] deadAfter(List<Insn> insns) {
        boolean[] dead = new boolean[insns.size()];
        boolean live = true;
        for (int i = insns.size() - 1; i >= 0; i--) {
            dead[i] = !live;
            Insn in = insns.get(i);
            switch (mayFault(in) ? Effect.READS : effect(in)) {
                case WRITES -> live = false;
                case READS -> live = true;
                default -> { }
            }
        }
        return dead;
    }

    /** Memory operands, the stack, string instructions and division can fault. */
    private static boolean mayFault(Insn in) {
        int op = in.op();
        return in.mem() || (op >= 0x50 && op <= 0x5f) || op == 0x68 || op == 0x6a || op == 0x9c || op == 0xc9
                || Decoder.isString(op) || ((op == 0xf6 || op == 0xf7) && in.reg() >= 6) || (op == 0xff && in.reg() == 6);
    }

    private static Effect effect(Insn in) {
        int op = in.op();
        if (op < 0x40) {
            int kind = op >> 3;
            return kind == 2 || kind == 3 ? Effect.READS : Effect.WRITES; // ADC and SBB read CF
        }
        if ((op >= 0x50 && op <= 0x5f) || (op >= 0xb0 && op <= 0xbf) || (op >= 0x1c8 && op <= 0x1cf)) {
            return Effect.NEUTRAL;
        }
        return switch (op) {
            case 0x80, 0x81, 0x83 -> in.reg() == 2 || in.reg() == 3 ? Effect.READS : Effect.WRITES;
            case 0x84, 0x85, 0xa8, 0xa9, 0x69, 0x6b, 0x1af, 0x1bc, 0x1bd, 0x1b0, 0x1b1, 0x1c0, 0x1c1 -> Effect.WRITES;
            // a zero count changes nothing; ROL/ROR and INC/DEC change some flags and keep the others: when
            // their own flags are dead, so are the ones they keep (transparent, like NEUTRAL)
            case 0xc0, 0xc1 -> in.reg() == 2 || in.reg() == 3 ? Effect.READS
                    : in.reg() >= 4 && (in.imm() & 0x1f) != 0 ? Effect.WRITES : Effect.NEUTRAL;
            case 0xd0, 0xd1 -> in.reg() == 2 || in.reg() == 3 ? Effect.READS : in.reg() >= 4 ? Effect.WRITES : Effect.NEUTRAL;
            case 0xd2, 0xd3 -> in.reg() == 2 || in.reg() == 3 ? Effect.READS : Effect.NEUTRAL; // CL may be 0
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> Effect.NEUTRAL;
            case 0xfe, 0xff -> in.reg() <= 1 ? Effect.NEUTRAL : Effect.READS;
            case 0xf6, 0xf7 -> in.reg() == 2 || in.reg() >= 6 ? Effect.NEUTRAL : Effect.WRITES;
            case 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                 0xa0, 0xa1, 0xa2, 0xa3, 0xc6, 0xc7, 0x68, 0x6a, 0xc9, 0xfc, 0xfd, 0x1b6, 0x1b7, 0x1be, 0x1bf -> Effect.NEUTRAL;
            default -> Effect.READS; // Jcc, SETcc, CMOVcc, INC/DEC (CF), rotates, anything else: conservative
        };
    }
}
