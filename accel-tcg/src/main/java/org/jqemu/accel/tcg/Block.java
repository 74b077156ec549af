package org.jqemu.accel.tcg;

/**
 * A translation block: guest code from {@code eip} up to (excluding) {@code end}, read from physical
 * address {@code phys} (in user mode the linear address). It starts on one page; in user mode its last
 * instruction may end on the next one ({@link #lastPage}), in system mode it never leaves its page. It is valid while its linear
 * page still maps the same RAM page for fetches with the TLB set ({@code tlbSet}: CPL 3 or not) it was
 * checked with; {@code generation} records the last check (the cache bumps its generation on TLB flushes).
 * {@code code} is null for an EIP not translated (yet): cold, or an instruction the translator does not handle;
 * the interpreter runs one instruction there.
 * {@code next[k]} caches the successor last reached through exit kind k (static exits 0, 1; dynamic 2) (chaining without a hash lookup).
 */
final class Block {
    final int eip;
    final int end;
    final int instructions;
    /** The compiled code; replaced once by the hot tier's copy (same semantics, another class name). */
    BlockCode code;
    /** Identity of the RAM page holding the code (its host address), checked after mapping changes. */
    final long pageIdentity;
    /** Identity of the RAM page holding the last byte: {@link #pageIdentity} unless the block ends on the next page. */
    final long lastPageIdentity;
    /** Physical address of the first byte: self-modifying-code invalidation works on physical addresses. */
    final long phys;
    final Block[] next = new Block[3];
    /**
     * A translated block: the static successors of its last instruction (branch target and fall-through, a call's
     * or jump's target, the next instruction), null when it leaves through a dynamic exit ({@code next[2]}).
     */
    int[] exits;
    /**
     * A region (one method for several blocks, entered at its head): the blocks compiled into it, the
     * head's own block first (metadata only: page checks, self-modifying-code overlaps); null for a block.
     */
    Block[] members;
    /** An open region's head whose entries are added once its code is compiled (see CodeCache.addEntriesWhenCompiled). */
    boolean entriesPending;
    /** A region: the index of the member this entry starts at (0: the head). */
    int entry;
    /** A region: the code it was compiled from (its members' instructions), for the hot tier; else null. */
    java.util.List<BlockCompiler.Member> source;
    /**
     * A region: guest instructions it may still retire before the hot tier compiles it for C2 (see
     * CodeCache.promote); else, and once asked, {@link Long#MAX_VALUE}.
     */
    long hotCountdown = Long.MAX_VALUE;
    /** Executions counted by the engine (a hot block becomes the head of a region). */
    int heat;
    /** The heat at which the engine next acts on this block (see Tcg#nextEvent); 0: not known yet. */
    int nextEvent;
    /** HotSpot was asked for this block's tier-1 code (see CodeCache.requestTier1). */
    boolean tier1Requested;
    /**
     * Regions being compiled in the background that chose this block as a member (neither installed nor refused
     * yet): while there are any, it does not head a region of its own (see CodeCache#inAnotherRegion).
     */
    int pendingRegions;
    /** The last region installed with this block among its members, if regions may not overlap; else null. */
    Block memberOf;
    /** The region threshold's multiple at which {@link #heat} tries for a region next (0: no more tries). */
    int regionWait = 1;
    int generation;
    int tlbSet;
    /**
     * System mode: every page of the code was fetched through a global translation at the last check, so a
     * CR3 load does not make the block be checked again; else {@code spaceGeneration} must be current too.
     */
    boolean global;
    int spaceGeneration;
    /** Interpreter-only entries: visits left before (another) translation attempt, and the wait last used. */
    int countdown;
    int backoff;
    boolean valid = true;
    /** The region that took this block's place in the cache (it was the region's head or an entry), else null. */
    Block replacedBy;

    Block(int eip, int end, int instructions, BlockCode code, long pageIdentity, long lastPageIdentity, long phys,
            int generation, int tlbSet) {
        this.eip = eip;
        this.end = end;
        this.instructions = instructions;
        this.code = code;
        this.pageIdentity = pageIdentity;
        this.lastPageIdentity = lastPageIdentity;
        this.phys = phys;
        this.generation = generation;
        this.tlbSet = tlbSet;
    }

    /** The physical page number of the code. */
    long page() { return phys >>> 12; }

    /**
     * The physical page number of the block's last byte: the next page when its last instruction crosses
     * the page end (user mode only, where the bytes are physically contiguous).
     */
    long lastPage() { return (phys + Math.max(1, end - eip) - 1) >>> 12; }

    /** Whether the code (a region: any member's) overlaps the physical range {@code [start, endExclusive)}. */
    boolean overlaps(long start, long endExclusive) {
        if (members != null) {
            for (Block m : members) {
                if (m.overlaps(start, endExclusive)) {
                    return true;
                }
            }
            return false;
        }
        return phys < endExclusive && start < phys + (end - eip);
    }

    /** The physical pages holding the code (a region: each member's, once). */
    long[] pages() {
        if (members == null) {
            return page() == lastPage() ? new long[] {page()} : new long[] {page(), lastPage()};
        }
        long[] pages = new long[2 * members.length]; // (a loop, not a stream: see CodeCache.install)
        int n = 0;
        for (Block m : members) {
            for (long page : m.pages()) {
                if (!contains(pages, n, page)) {
                    pages[n++] = page;
                }
            }
        }
        return java.util.Arrays.copyOf(pages, n);
    }

    private static boolean contains(long[] values, int count, long value) {
        for (int i = 0; i < count; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
    }

    /** The RAM identity of physical page {@code page} of this block (its first or last page). */
    long identityOf(long page) { return page == page() ? pageIdentity : lastPageIdentity; }
}
