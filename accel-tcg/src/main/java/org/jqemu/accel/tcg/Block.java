package org.jqemu.accel.tcg;

/**
 * A translation block: guest code from {@code eip} up to (excluding) {@code end}, all on one page.
 * {@code code} is null for an EIP not translated (yet): cold, or an instruction the translator does not handle;
 * the interpreter runs one instruction there.
 * {@code next[k]} caches the successor last reached through exit kind k (static exits 0, 1; dynamic 2) (chaining without a hash lookup).
 */
final class Block {
    final int eip;
    final int end;
    final int instructions;
    final BlockCode code;
    /** Identity of the RAM page holding the code (its host address), checked after mapping changes. */
    final long pageIdentity;
    final Block[] next = new Block[3];
    int generation;
    /** Interpreter-only entries: visits left before (another) translation attempt, and the wait last used. */
    int countdown;
    int backoff;
    boolean valid = true;

    Block(int eip, int end, int instructions, BlockCode code, long pageIdentity, int generation) {
        this.eip = eip;
        this.end = end;
        this.instructions = instructions;
        this.code = code;
        this.pageIdentity = pageIdentity;
        this.generation = generation;
    }

    long page() { return (eip & 0xffff_ffffL) >>> 12; }

    /** The page of the block's last byte: the next page when its last instruction crosses the page end. */
    long lastPage() { return ((end - 1) & 0xffff_ffffL) >>> 12; }

    boolean overlaps(long start, long endExclusive) {
        return (eip & 0xffff_ffffL) < endExclusive && start < (end & 0xffff_ffffL);
    }
}
