package org.jqemu.fpu;

/** Which D8-DF encodings a P6 defines, which are non-waiting, and which are control instructions. */
final class X87Decode {
    private X87Decode() { }

    static boolean defined(int opcode, int modrm) {
        int reg = (modrm >> 3) & 7, i = modrm & 7;
        boolean mem = modrm < 0xc0;
        return switch (opcode) {
            case 0xd8, 0xdc -> true;
            case 0xd9 -> mem ? reg != 1 : switch (reg) {
                case 2 -> i == 0;
                case 4 -> i == 0 || i == 1 || i == 4 || i == 5;
                case 5 -> i != 7;
                default -> true;
            };
            case 0xda -> mem || reg < 4 || (reg == 5 && i == 1);
            case 0xdb -> mem ? reg != 1 && reg != 4 && reg != 6 : reg != 7 && (reg != 4 || i <= 4);
            case 0xdd -> mem ? reg != 1 && reg != 5 : reg < 6;
            case 0xde -> mem || reg != 3 || i == 1;
            case 0xdf -> mem ? reg != 1 : reg != 7 && (reg != 4 || i == 0);
            default -> false;
        };
    }

    /** FNSTENV, FNSTCW, FNSAVE, FNSTSW, FNCLEX, FNINIT and the 8087/287 no-ops do not check pending exceptions. */
    static boolean nonWaiting(int opcode, int modrm) {
        int reg = (modrm >> 3) & 7;
        boolean mem = modrm < 0xc0;
        return switch (opcode) {
            case 0xd9, 0xdd -> mem && reg >= 6;
            case 0xdb -> !mem && reg == 4;
            case 0xdf -> modrm == 0xe0;
            default -> false;
        };
    }

    /** Control instructions leave FIP, FCS, FOP, FDP and FDS alone. */
    static boolean isControl(int opcode, int modrm) {
        int reg = (modrm >> 3) & 7;
        boolean mem = modrm < 0xc0;
        return switch (opcode) {
            case 0xd9 -> mem && reg >= 4;
            case 0xdd -> mem && reg >= 4;
            case 0xdb -> !mem && reg == 4;
            case 0xdf -> modrm == 0xe0;
            default -> false;
        };
    }
}
