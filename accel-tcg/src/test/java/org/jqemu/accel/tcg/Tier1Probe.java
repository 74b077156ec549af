package org.jqemu.accel.tcg;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.target.i386.X86Cpu;

/**
 * Run by {@link JitControlTest} in a JVM of its own (HotSpot's WhiteBox API on the boot class path): runs
 * {@link #PROGRAM} through the translator, waits until every block run at least {@code -Djqemu.tcg.tier1}
 * times has compiled code, and prints one line per block on stderr (stdout is HotSpot's, see
 * -XX:+PrintCompilation): {@code block EIP executions level}.
 */
final class Tier1Probe {
    static final int ITERATIONS = 3000;
    /** A loop of three blocks (the call, the body, the count) run {@link #ITERATIONS} times each, after one entry block. */
    static final String PROGRAM = """
                mov ecx, %d
                xor eax, eax
            top:
                call body
                dec ecx
                jnz top
                mov ebx, eax
                mov eax, 1
                int 0x80
            body:
                add eax, ecx
                imul edx, eax, 3
                xor eax, edx
                ret
            """.formatted(ITERATIONS);
    private static final long WAIT_LIMIT_NANOS = 60_000_000_000L;

    private Tier1Probe() {}

    public static void main(String[] args) throws Exception {
        LockstepTest.Pair p = new LockstepTest.Pair(PROGRAM, CodeCache.DEFAULT_LIMIT, 0);
        int exit = p.tcg.run(10_000_000);
        if (exit != X86Cpu.EXIT_INTERRUPT) {
            throw new IllegalStateException("program ended with exit " + exit);
        }
        CodeCache cache = p.tcg.cache();
        List<Block> blocks = new ArrayList<>();
        cache.forEachBlock(blocks::add);
        long deadline = System.nanoTime() + WAIT_LIMIT_NANOS; // compilation runs in the background
        for (Block b : blocks) {
            Method m = JitControl.executeMethod(b.code);
            while (b.heat >= cache.tier1Executions && JitControl.level(m) == 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
        }
        for (Block b : blocks) {
            System.err.printf("block %x %d %d%n", b.eip, b.heat, JitControl.level(JitControl.executeMethod(b.code)));
        }
        System.err.println("stats " + p.tcg.stats());
    }
}
