package org.jqemu.accel.tcg;

import org.jqemu.target.i386.X86Cpu;

/**
 * Run by {@link JitControlTest} in a JVM of its own (HotSpot's WhiteBox API on the boot class path): a loop's
 * blocks, then a region of them, are compiled in the background and asked for at tier 1. At each of
 * {@link #PROGRAM}'s stops the probe lets the engine install what it will until the blocks (then the region)
 * are in the cache; after each attempt and each step of the program (run in lockstep with the interpreter) it
 * checks that no installed block's or region's code is still at level 0 (HotSpot's bytecode interpreter). Prints
 * {@code installed N regions R levelZero M} and the statistics on stderr. With the argument {@value #REGIONS_ONLY},
 * user mode's setting (jqemu-i386's CpuEngine): blocks are compiled at once on the guest's thread (and run at
 * level 0 until their tier-1 request after a few executions), regions alone in the background; then only
 * regions count toward M.
 */
final class AwaitTier1Probe {
    /** Three rounds of a loop of three blocks (the call, the body, the count), each ending at INT 0x80. */
    static final String PROGRAM = """
                mov esi, 3
            round:
                mov ecx, 200
                xor eax, eax
            top:
                call body
                dec ecx
                jnz top
                int 0x80
                dec esi
                jnz round
                int 0x80
            body:
                lea eax, [eax + ecx * 2]
                rol eax, 3
                sub eax, ecx
                ret
            """;
    private static final long WAIT_LIMIT_NANOS = 60_000_000_000L;
    private static int installed;
    private static int regions;
    private static int levelZero;
    static final String REGIONS_ONLY = "regions";
    private static boolean regionsOnly;

    private AwaitTier1Probe() {}

    public static void main(String[] args) throws Exception {
        regionsOnly = args.length > 0 && args[0].equals(REGIONS_ONLY);
        LockstepTest.Pair p = new LockstepTest.Pair(PROGRAM, CodeCache.DEFAULT_LIMIT, 2);
        if (regionsOnly) {
            p.tcg.setBackgroundRegions(true);
        } else {
            p.tcg.setBackgroundTranslation(true);
        }
        p.tcg.setRegionThreshold(50);
        CodeCache cache = p.tcg.cache();
        runToStop(p); // the loop's blocks became hot: built in the background, asked for, maybe installed
        // Every block compiled so far, not only three: a loop member still waiting for C1 when the head gets hot
        // leaves the region without it (rejected, and the head backs off past this program's 200 iterations).
        awaitInstalls(cache, () -> installed >= 3 && !cache.installsPending());
        runToStop(p); // they ran 200 times more: a region of them is built and asked for
        askForRegionsIfNoneCame(cache);
        awaitInstalls(cache, () -> regions >= 1);
        runToStop(p); // the region runs
        System.err.printf("installed %d regions %d levelZero %d%n", installed, regions, levelZero);
        System.err.println("stats " + p.tcg.stats());
    }

    /**
     * A head tries for its region once, when it gets hot; if C1 installed the loop's blocks far apart (a busy
     * machine), that try found a member not yet installed and no region came. This probe is about how
     * regions are installed, not when they are chosen, so it then asks for them itself.
     */
    private static void askForRegionsIfNoneCame(CodeCache cache) throws Exception {
        CodeCache.awaitBackgroundCompilations();
        cache.installCompiled();
        check(cache);
        if (regions == 0 && !cache.installsPending()) {
            java.util.List<Block> heads = new java.util.ArrayList<>();
            cache.forEachBlock(heads::add);
            heads.forEach(cache::buildRegion);
        }
    }

    private static void runToStop(LockstepTest.Pair p) {
        runToStop(p, 100_000, AwaitTier1Probe::check);
    }

    /**
     * Runs {@code p}'s program to its next stop (INT 0x80) in lockstep with the interpreter, comparing the states
     * and calling {@code check} on the cache after every step (also for {@link HotTierProbe}).
     */
    static void runToStop(LockstepTest.Pair p, int maxSteps, java.util.function.Consumer<CodeCache> check) {
        int exit = LockstepTest.runInLockstep(p.tcg, p.a, p.b, maxSteps, where -> {
            p.compare(where);
            check.accept(p.tcg.cache());
        });
        if (exit != X86Cpu.EXIT_INTERRUPT) {
            throw new IllegalStateException("program stopped with exit " + exit);
        }
    }

    /** Lets the cache install what it will until {@code done} (or a minute passed), checking each time. */
    private static void awaitInstalls(CodeCache cache, java.util.function.BooleanSupplier done) throws Exception {
        CodeCache.awaitBackgroundCompilations();
        long deadline = System.nanoTime() + WAIT_LIMIT_NANOS;
        do {
            cache.installCompiled();
            check(cache);
            Thread.sleep(5);
        } while (!done.getAsBoolean() && System.nanoTime() < deadline);
    }

    /** Counts the cache's blocks and regions, and those whose code HotSpot would run in its bytecode interpreter. */
    private static void check(CodeCache cache) {
        installed = 0;
        regions = 0;
        cache.forEachBlock(b -> {
            installed++;
            regions += b.members != null ? 1 : 0;
            if (regionsOnly && b.members == null) {
                return;
            }
            try {
                levelZero += JitControl.level(JitControl.executeMethod(b.code)) == 0 ? 1 : 0;
            } catch (NoSuchMethodException e) {
                throw new IllegalStateException(e);
            }
        });
    }
}
