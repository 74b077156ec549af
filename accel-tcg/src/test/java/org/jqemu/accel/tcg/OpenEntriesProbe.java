package org.jqemu.accel.tcg;

/**
 * Run by {@link JitControlTest} in a JVM of its own (HotSpot's WhiteBox API on the boot class path): open regions
 * with tier-1 requests, where a region's entries wait until HotSpot runs its code compiled ({@code entriesPending},
 * polled every {@code Tcg.ENTRY_POLL} executions of the region; see CodeCache#addEntriesWhenCompiled). A loop calling
 * a function from two places ({@link RegionTest#TWO_CALLERS}), in lockstep with the interpreter. Prints
 * {@code exit E entries N} and the statistics on stderr.
 */
final class OpenEntriesProbe {
    private OpenEntriesProbe() {}

    public static void main(String[] args) {
        // RegionTest's loop, run long enough for HotSpot to compile its regions while the probe polls
        String program = RegionTest.TWO_CALLERS.replace("mov ecx, 2000", "mov ecx, 400000");
        if (program.equals(RegionTest.TWO_CALLERS)) {
            throw new IllegalStateException("RegionTest.TWO_CALLERS no longer counts 2000 iterations");
        }
        LockstepTest.Pair p = new LockstepTest.Pair(program, CodeCache.DEFAULT_LIMIT, 0);
        p.tcg.setRegionThreshold(8);
        p.tcg.setOpenRegions(true);
        int exit = p.lockstep(10_000_000);
        System.err.println("exit " + exit + " entries " + p.tcg.stats().regionEntries());
        System.err.println(p.tcg.stats());
    }
}
