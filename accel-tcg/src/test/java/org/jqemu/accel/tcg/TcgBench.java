package org.jqemu.accel.tcg;

import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;

/**
 * Guest MIPS of the interpreter and of the translator on two loops (run by bench/tcg-mips.sh, not a test):
 * a tight register loop and a memory-heavy loop (loads, read-modify-write stores, push/pop).
 */
public final class TcgBench {
    private static final long CODE = 0x1000;
    private static final long SLICE = 10_000_000;

    private static final String TIGHT = """
            l:  add eax, ecx
                xor ebx, eax
                sub edx, 3
                lea esi, [esi + ebx*2]
                cmp edx, eax
                setl cl
                dec ecx
                jmp l
            """;

    private static final String MEMORY = """
                mov ecx, 0x7fffffff
            l:  mov eax, [buf + esi*4]
                add [buf + edi*4], eax
                inc esi
                and esi, 1023
                add edi, 7
                and edi, 1023
                push eax
                pop edx
                movzx ebx, byte [buf + esi]
                add [buf + 8], bl
                dec ecx
                jnz l
            align 4096
            buf: times 4096 db 0
            """;

    private TcgBench() { }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        for (String[] program : new String[][] {{"tight integer loop", TIGHT}, {"memory-heavy loop", MEMORY}}) {
            byte[] code = Nasm.assemble("bits 32\norg 0x1000\n" + program[1]);
            double interp = mips(code, seconds, cpu -> budget -> cpu.run(budget));
            double tcg = mips(code, seconds, cpu -> {
                Tcg t = new Tcg(cpu);
                return budget -> t.run(budget);
            });
            System.out.printf("%-20s interpreter %8.1f MIPS   translator %8.1f MIPS   (x%.1f)%n", program[0], interp, tcg,
                    tcg / interp);
        }
    }


    private static double mips(byte[] code, double seconds, java.util.function.Function<X86Cpu, java.util.function.LongToIntFunction> engine) {
        TestRam ram = new TestRam(0x40000, Page.RWX);
        ram.load(CODE, code);
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.enterUserMode32();
        cpu.setEip(CODE);
        cpu.setReg(X86Cpu.ESP, 0x3f000);
        java.util.function.LongToIntFunction run = engine.apply(cpu);
        long warmEnd = System.nanoTime() + (long) (seconds * 0.3e9);
        while (System.nanoTime() < warmEnd) {
            check(run.applyAsInt(SLICE), cpu);
        }
        long start = System.nanoTime();
        long first = cpu.instructionCount();
        long end = start + (long) (seconds * 1e9);
        long now;
        do {
            check(run.applyAsInt(SLICE), cpu);
            now = System.nanoTime();
        } while (now < end);
        return (cpu.instructionCount() - first) / ((now - start) / 1e3);
    }

    private static void check(int exit, X86Cpu cpu) {
        if (exit != X86Cpu.EXIT_BUDGET) {
            throw new IllegalStateException("benchmark loop exited with " + exit + " at " + Long.toHexString(cpu.eip()));
        }
    }
}
