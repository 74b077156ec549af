package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Random straight-line and branching programs over the translated subset (mixed with instructions the
 * interpreter runs: STC/CMC/NEG/XCHG), run in lockstep against the interpreter. EBP points at a data
 * area; ESP is only moved by balanced PUSH/POP.
 */
class RandomProgramLockstepTest {
    private static final String[] R32 = {"eax", "ebx", "ecx", "edx", "esi", "edi"};
    private static final String[] R8 = {"al", "bl", "cl", "dl", "ah", "bh", "ch", "dh"};
    private static final String[] ALU = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
    private static final String[] SHIFT = {"shl", "shr", "sar", "rol", "ror", "rcl", "rcr"};
    private static final String[] CC = {"o", "no", "b", "ae", "z", "nz", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"};
    private static final String[] INTERPRETED = {"stc", "clc", "cmc", "sahf", "xchg [ebp + 12], ecx", "mov ax, bx"};

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
    void randomProgramAgreesWithInterpreter(int seed) {
        Random rnd = new Random(seed);
        StringBuilder asm = new StringBuilder("""
                    mov ebp, 0x20000
                    mov dword [ebp + 0x800], 3
                    mov dword [ebp + 0x900], -7
                """);
        for (String r : R32) {
            asm.append("    mov ").append(r).append(", ").append(imm(rnd)).append('\n');
        }
        asm.append("top:\n");
        for (int i = 0; i < 150; i++) {
            asm.append("    ").append(instruction(rnd, i)).append('\n');
        }
        asm.append("""
                    dec dword [ebp + 0x800]
                    jnz top
                    mov eax, 1
                    int 0x80
                """);
        LockstepTest.Pair p = new LockstepTest.Pair(asm.toString(), CodeCache.DEFAULT_LIMIT, seed % 3);
        if (seed % 2 == 0) {
            p.tcg.setRegionThreshold(2); // the later iterations run as regions
        }
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(100_000), asm::toString);
    }

    private static <T> T pick(Random rnd, T[] items) { return items[rnd.nextInt(items.length)]; }

    private static String mem(Random rnd, String size) {
        return size + " [ebp + " + rnd.nextInt(0x7fc) + "]";
    }

    private static String imm(Random rnd) {
        return switch (rnd.nextInt(6)) {
            case 0 -> Integer.toString(rnd.nextInt(256) - 128);
            case 1 -> Integer.toString(rnd.nextInt());
            case 2 -> "0x80000000";
            case 3 -> "0x7fffffff";
            case 4 -> "0";
            default -> Integer.toString(rnd.nextInt(3) - 1);
        };
    }

    /** Divisor registers: never EAX or EDX, which hold the dividend. */
    private static final String[] DIVISORS = {"ebx", "ecx", "esi", "edi"};

    /** An instruction whose flags the next one reads (the direct-condition paths of the compiler). */
    private static String flagProducer(Random rnd, String r, String s, String b) {
        return switch (rnd.nextInt(6)) {
            case 0 -> pick(rnd, ALU) + " " + r + ", " + (rnd.nextBoolean() ? s : imm(rnd));
            case 1 -> pick(rnd, ALU) + " " + b + ", " + pick(rnd, R8);
            case 2 -> "test " + (rnd.nextBoolean() ? r + ", " + s : b + ", " + (rnd.nextInt(256)));
            case 3 -> (rnd.nextBoolean() ? "inc " : "dec ") + (rnd.nextBoolean() ? r : b);
            case 4 -> "cmp " + mem(rnd, "dword") + ", " + imm(rnd);
            default -> "and " + r + ", " + imm(rnd);
        };
    }

    private static String flagConsumer(Random rnd, String r, String s, String b, int i) {
        String cc = pick(rnd, CC);
        return switch (rnd.nextInt(3)) {
            case 0 -> "set" + cc + " " + b;
            case 1 -> "cmov" + cc + " " + r + ", " + s;
            default -> "j" + cc + " .skip" + i + "\n    inc " + s + "\n.skip" + i + ":";
        };
    }

    private static String instruction(Random rnd, int i) {
        String d = pick(rnd, DIVISORS);
        String r = pick(rnd, R32);
        String s = pick(rnd, R32);
        String b = pick(rnd, R8);
        return switch (rnd.nextInt(42)) {
            case 40 -> rnd.nextBoolean() ? "mov " + r + ", [gs:" + rnd.nextInt(0xffc) + "]" : "mov eax, [gs:0x14]";
            case 41 -> pick(rnd, ALU) + " dword [gs:" + s + "*0 + " + rnd.nextInt(0xffc) + "], " + r;
            case 38 -> "xor edx, edx\n    or " + d + ", 1\n    div " + d;
            case 39 -> "and " + d + ", 0x7fff\n    or " + d + ", 1\n    cdq\n    idiv "
                    + (rnd.nextBoolean() ? d : "dword [ebp + 0x900]");
            case 36 -> (rnd.nextBoolean() ? "mul " : "imul ") + (rnd.nextBoolean() ? r : mem(rnd, "dword"));
            case 37 -> (rnd.nextBoolean() ? "mul " : "imul ") + r + "\n    " + flagConsumer(rnd, r, s, b, i);
            case 30 -> "neg " + (rnd.nextBoolean() ? r : rnd.nextBoolean() ? b : mem(rnd, "dword"));
            case 31 -> "xchg " + r + ", " + s;
            case 32 -> pick(rnd, SHIFT) + " " + (rnd.nextBoolean() ? r : b) + ", cl";
            case 33 -> rnd.nextBoolean() ? "mov eax, [0x20000 + " + rnd.nextInt(0x7fc) + "]" : "mov [0x20000 + " + rnd.nextInt(0x7fc) + "], al";
            case 34 -> "push ebp\n    mov ebp, esp\n    push " + r + "\n    leave";
            case 35 -> "cmp " + mem(rnd, "byte") + ", " + b;
            case 24, 25, 26, 27 -> flagProducer(rnd, r, s, b) + "\n    " + flagConsumer(rnd, r, s, b, i);
            case 0 -> pick(rnd, ALU) + " " + r + ", " + s;
            case 1 -> pick(rnd, ALU) + " " + r + ", " + imm(rnd);
            case 2 -> pick(rnd, ALU) + " " + r + ", " + mem(rnd, "dword");
            case 3 -> pick(rnd, ALU) + " " + mem(rnd, "dword") + ", " + s;
            case 4 -> pick(rnd, ALU) + " " + b + ", " + pick(rnd, R8);
            case 5 -> pick(rnd, ALU) + " " + mem(rnd, "byte") + ", " + (rnd.nextInt(256) - 128);
            case 6 -> (rnd.nextBoolean() ? "inc " : "dec ") + (rnd.nextBoolean() ? r : mem(rnd, "dword"));
            case 7 -> (rnd.nextBoolean() ? "inc " : "dec ") + (rnd.nextBoolean() ? b : mem(rnd, "byte"));
            case 8 -> "test " + r + ", " + (rnd.nextBoolean() ? s : imm(rnd));
            case 9 -> "mov " + (rnd.nextBoolean() ? r + ", " + mem(rnd, "dword") : mem(rnd, "dword") + ", " + s);
            case 10 -> "lea " + r + ", [" + s + " + " + pick(rnd, R32) + "*" + (1 << rnd.nextInt(4)) + " + " + imm(rnd) + "]";
            case 11 -> pick(rnd, SHIFT) + " " + (rnd.nextBoolean() ? r : b) + ", " + rnd.nextInt(33);
            case 12 -> "imul " + r + ", " + (rnd.nextBoolean() ? s : mem(rnd, "dword"));
            case 13 -> "imul " + r + ", " + s + ", " + imm(rnd);
            case 14 -> (rnd.nextBoolean() ? "movzx " : "movsx ") + r + ", " + (rnd.nextBoolean() ? b : mem(rnd, "word"));
            case 15 -> "set" + pick(rnd, CC) + " " + (rnd.nextBoolean() ? b : mem(rnd, "byte"));
            case 16 -> "cmov" + pick(rnd, CC) + " " + r + ", " + (rnd.nextBoolean() ? s : mem(rnd, "dword"));
            case 17 -> "push " + r + "\n    pop " + s;
            case 18 -> "push dword " + (rnd.nextBoolean() ? imm(rnd) : mem(rnd, "")) + "\n    pop " + s;
            case 19 -> "j" + pick(rnd, CC) + " .skip" + i + "\n    " + pick(rnd, ALU) + " " + r + ", " + s + "\n.skip" + i + ":";
            case 20 -> pick(rnd, INTERPRETED);
            case 21 -> (rnd.nextBoolean() ? "not " + r : "cdq");
            case 22 -> "mov " + b + ", " + (rnd.nextInt(256));
            default -> "mov " + mem(rnd, "dword") + ", " + imm(rnd);
        };
    }
}
