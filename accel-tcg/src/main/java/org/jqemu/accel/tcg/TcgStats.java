package org.jqemu.accel.tcg;

/** Counters of the translator (read by tests, the benchmark and, later, {@code -d} logging). */
public final class TcgStats {
    long blocksTranslated;
    long blocksExecuted;
    long interpreted;
    long chainHits;
    long chained;
    long lookups;
    long invalidations;
    long flushes;
    long faultsReplayed;
    long translationFailures;
    long revalidations;
    long lookupFaults;
    long blockErrors;
    long eventExits;
    long regionsBuilt;
    long regionBlocks;
    long regionsRejected;
    long regionsRejectedUndecoded;
    long regionsDeferred;
    long regionEntries;
    long regionRefusals;
    long hotRegions;
    long tier1Requests;

    public long blocksTranslated() { return blocksTranslated; }

    public long blocksExecuted() { return blocksExecuted; }

    /** Instructions run by the interpreter because no block covered them (unsupported, faulting, other mode). */
    public long interpreted() { return interpreted; }

    /** Block exits whose successor came from the exit's cached link instead of the hash table. */
    public long chainHits() { return chainHits; }

    /** Blocks entered straight after their predecessor inside one dispatch (no event poll, no return to {@code run}). */
    public long chained() { return chained; }

    public long lookups() { return lookups; }

    /** Blocks dropped because guest stores modified their code (or their page was remapped). */
    public long invalidations() { return invalidations; }

    /** Whole-cache flushes when the size limit was reached. */
    public long flushes() { return flushes; }

    /** Faults inside a block, handed back to the interpreter to re-execute the faulting instruction. */
    public long faultsReplayed() { return faultsReplayed; }

    /** Blocks the compiler failed to produce (a translator bug; the interpreter ran that code instead). */
    public long translationFailures() { return translationFailures; }

    /** Blocks checked again against the page their EIP maps to after a TLB flush, INVLPG or CPL change. */
    public long revalidations() { return revalidations; }

    /** Lookups abandoned because the fetch at EIP faults (the interpreter raises the fault). */
    public long lookupFaults() { return lookupFaults; }

    /** Exceptions thrown by a block outside any guest instruction (an engine bug; the interpreter took over). */
    public long blockErrors() { return blockErrors; }

    /** System mode: block boundaries where an event (interrupt, NMI, halt) went to the interpreter. */
    public long eventExits() { return eventExits; }

    /** Regions compiled (hot blocks with their successors in one method). */
    public long regionsBuilt() { return regionsBuilt; }

    /** Blocks compiled into regions in all. */
    public long regionBlocks() { return regionBlocks; }

    /** Members of regions that became entries into them (control reaching them runs in the region). */
    public long regionEntries() { return regionEntries; }

    /** Runs of a region that a page base it needed refused (its head's own block ran instead). */
    public long regionRefusals() { return regionRefusals; }

    /** Regions compiled again for C2 by the hot tier. */
    public long hotRegions() { return hotRegions; }

    /** Hot blocks no region was made for (no successor fit, or building failed). */
    public long regionsRejected() { return regionsRejected; }

    /** Of {@link #regionsRejected}, those where no loop closed at the head, found without decoding its blocks again. */
    public long regionsRejectedUndecoded() { return regionsRejectedUndecoded; }

    /** Times a hot block did not head a region because one holding it ran or was being compiled (see Tcg#setOverlappingRegions). */
    public long regionsDeferred() { return regionsDeferred; }

    /** Blocks and regions HotSpot took to compile at tier 1 on request (see JitControl). */
    public long tier1Requests() { return tier1Requests; }

    @Override
    public String toString() {
        return "blocks translated " + blocksTranslated + ", executed " + blocksExecuted + ", interpreted insns "
                + interpreted + ", chain hits " + chainHits + " (" + chained + " chained in a dispatch)" + ", lookups " + lookups + ", invalidations "
                + invalidations + ", flushes " + flushes + ", faults replayed " + faultsReplayed + ", translation failures "
                + translationFailures + ", revalidations " + revalidations + ", lookup faults " + lookupFaults
                + ", block errors " + blockErrors + ", event exits " + eventExits + ", regions " + regionsBuilt
                + " (" + regionBlocks + " blocks, " + regionEntries + " entries, " + regionsRejected + " rejected, " + regionsRejectedUndecoded + " of them undecoded, " + regionsDeferred + " deferred, " + hotRegions + " hot, " + regionRefusals + " runs refused), tier-1 requests " + tier1Requests;
    }
}
