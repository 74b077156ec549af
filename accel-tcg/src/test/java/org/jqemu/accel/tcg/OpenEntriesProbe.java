package org.jqemu.accel.tcg;

/**
 * Run by {@link JitControlTest} in a JVM of its own (HotSpot's WhiteBox API on the boot class path): open regions
 * with tier-1 requests, where a region's entries wait until HotSpot runs its code compiled ({@code entriesPending},
 * polled every {@code Tcg.ENTRY_POLL} executions of the region; see CodeCache#addEntriesWhenCompiled). A loop calling
 * a function from two places, in lockstep with the interpreter. Prints {@code exit E entries N} and the statistics
 * on stderr.
 */
final class OpenEntriesProbe {
    private OpenEntriesProbe() {}

    public static void main(String[] args) {
        LockstepTest.Pair p = new LockstepTest.Pair("""
                    mov ecx, 400000
                    xor edi, edi
                again:
                    mov eax, ecx
                    call mix
                    add edi, eax
                    test ecx, 1
                    jz skip
                    mov eax, edi
                    call mix
                    xor edi, eax
                skip:
                    dec ecx
                    jnz again
                    mov eax, 1
                    int 0x80
                mix:
                    imul eax, eax, 7
                    rol eax, 3
                    ret
                """, CodeCache.DEFAULT_LIMIT, 0);
        p.tcg.setRegionThreshold(8);
        p.tcg.setOpenRegions(true);
        int exit = p.lockstep(10_000_000);
        System.err.println("exit " + exit + " entries " + p.tcg.stats().regionEntries());
        System.err.println(p.tcg.stats());
    }
}
