package org.jqemu.accel.tcg;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Run by {@link JitControlTest} in a JVM of its own (HotSpot's WhiteBox API on the boot class path): a loop
 * becomes a region, the region retires its hot-tier threshold of instructions and its copy is queued for C2.
 * Every step of {@link #PROGRAM} runs in lockstep with the interpreter, and after each step the probe checks
 * that no region runs a hot-tier copy (a {@code TcgHot} class) whose code is not C2's. Between rounds it lets
 * the engine install what C2 finished (a minute at most). The last round leaves the loop by a path the earlier
 * rounds never took. Prints {@code hot H early E level L} (regions running their C2 copy at the end, checks
 * that found a copy installed before C2 compiled it, the last copy's level at the end) and the statistics on
 * stderr.
 */
final class HotTierProbe {
    /**
     * Rounds of a loop over a call and a memory operand (the region: call, body, count); the fourth round's
     * loop leaves early through the {@code jz out} the others never took. Each round ends at INT 0x80.
     */
    static final String PROGRAM = """
                mov esi, 4
                mov edi, 0x3000
            round:
                mov ecx, 3000
                xor eax, eax
            top:
                call body
                cmp esi, 1
                jne next
                cmp ecx, 1500
                jz out
            next:
                dec ecx
                jnz top
            out:
                int 0x80
                dec esi
                jnz round
                int 0x80
            body:
                lea eax, [eax + ecx * 2]
                rol eax, 3
                add [edi], eax
                sub eax, ecx
                ret
            """;
    private static final long WAIT_LIMIT_NANOS = 60_000_000_000L;
    private static int early;

    private HotTierProbe() {}

    public static void main(String[] args) throws Exception {
        LockstepTest.Pair p = new LockstepTest.Pair(PROGRAM, CodeCache.DEFAULT_LIMIT, 2);
        p.tcg.setRegionThreshold(100);
        p.tcg.setHotInstructions(5_000);
        CodeCache cache = p.tcg.cache();
        runToStop(p); // the loop becomes a region, which retires its 5,000 instructions: its copy is queued for C2
        long deadline = System.nanoTime() + WAIT_LIMIT_NANOS;
        while (cache.hotCopiesPending() && System.nanoTime() < deadline) {
            cache.installHotCopies();
            check(cache);
            Thread.sleep(5);
        }
        runToStop(p); // the region's C2 code runs
        runToStop(p);
        runToStop(p); // and leaves the loop early
        AtomicInteger hot = new AtomicInteger();
        AtomicInteger level = new AtomicInteger(-1);
        cache.forEachBlock(b -> {
            if (isHotCopy(b.code)) {
                hot.incrementAndGet();
                level.set(levelOf(b.code));
            }
        });
        System.err.printf("hot %d early %d level %d%n", hot.get(), early, level.get());
        System.err.println("stats " + p.tcg.stats());
    }

    private static void runToStop(LockstepTest.Pair p) {
        AwaitTier1Probe.runToStop(p, 1_000_000, HotTierProbe::check);
    }

    /** Counts the regions whose hot-tier copy runs without C2's code. */
    private static void check(CodeCache cache) {
        cache.forEachBlock(b -> {
            if (isHotCopy(b.code) && levelOf(b.code) != JitControl.TIER_C2) {
                early++;
            }
        });
    }

    private static boolean isHotCopy(BlockCode code) {
        return code.getClass().getName().startsWith("org.jqemu.target.i386.TcgHot");
    }

    private static int levelOf(BlockCode code) {
        try {
            return JitControl.level(JitControl.executeMethod(code));
        } catch (NoSuchMethodException e) {
            throw new IllegalStateException(e);
        }
    }
}
