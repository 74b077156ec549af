package org.jqemu.accel.tcg;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.CodeWatcher;
import org.jqemu.target.i386.X86Cpu;

/**
 * The translation blocks of one CPU, keyed by EIP (user mode: the linear address, with the identity of
 * the page checked after any mapping change), indexed by page for self-modifying-code invalidation, with
 * a size limit that flushes everything. Also the CPU's {@link CodeWatcher}: stores to a page holding
 * blocks invalidate the blocks they overlap and raise {@link #codeDirty}, which the running block checks
 * after each of its stores so that it stops before executing stale code.
 */
public final class CodeCache implements CodeWatcher {
    /** Most guest instructions per block (keeps a block's method far below HotSpot's 8000-byte limit). */
    static final int MAX_BLOCK_INSTRUCTIONS = 32;
    static final int DEFAULT_LIMIT = 16384;
    /** Visits of an EIP before it is translated (the class definition costs about what 100 interpreted blocks do). */
    static final int DEFAULT_HOT_THRESHOLD = 16;
    private static final int MAX_BACKOFF = 1 << 16;
    private static final int COLD_LIMIT = 1 << 16;

    /** Set when a store invalidated a block; generated code reads it after each store (see {@link BlockCompiler}). */
    public boolean codeDirty;
    /** Instructions the running block may complete in all (a block looping on itself checks it per iteration). */
    public int budget;
    /** Guest instructions per block at most (1 for one-insn-per-tb). */
    int maxInstructions = MAX_BLOCK_INSTRUCTIONS;
    /** {@code -d in_asm,out_asm} output, or null. */
    TcgLog log;

    private final X86Cpu cpu;
    private final AddressSpace memory;
    private final int limit;
    private final int hotThreshold;
    private final TcgStats stats;
    private final Map<Integer, Block> blocks = new HashMap<>();
    private final Map<Integer, Block> cold = new HashMap<>();
    private final Map<Long, List<Block>> byPage = new HashMap<>();
    /** One bit per 4 KiB page of the 32-bit space: the page holds blocks. */
    private final long[] codePages = new long[1 << 14];
    private int generation;

    CodeCache(X86Cpu cpu, int limit, int hotThreshold, TcgStats stats) {
        this.cpu = cpu;
        this.hotThreshold = hotThreshold;
        this.memory = CpuAccess.memory(cpu);
        this.limit = limit;
        this.stats = stats;
    }

    /**
     * The block starting at {@code eip}. An EIP first gets an interpreter-only entry (kept apart, so cold
     * code never pushes translated blocks out) that counts its visits; once hot, or for an instruction the
     * translator rejected after a doubling back-off, it is translated. Null when the page cannot be executed.
     */
    Block lookup(int eip) {
        stats.lookups++;
        Block b = blocks.get(eip);
        if (b != null && (b.generation == generation || revalidate(b))) {
            return b;
        }
        Block c = cold.get(eip);
        if (c == null) {
            return hotThreshold == 0 ? translate(eip, 0) : insertCold(eip, hotThreshold);
        }
        return --c.countdown > 0 ? c : translate(eip, c.backoff);
    }

    /** Whether a cached link to {@code b} may be followed. */
    boolean current(Block b) { return b.valid && b.generation == generation; }

    /** After a mapping change: the block stays if its page is still the same executable RAM. */
    private boolean revalidate(Block b) {
        Page p = memory.page(b.eip & 0xffff_ffffL);
        if (p != null && p.isRam() && (p.prot() & Page.EXEC) != 0 && p.ram().address() == b.pageIdentity) {
            b.generation = generation;
            return true;
        }
        remove(b);
        return false;
    }

    /** An interpreter-only entry: the interpreter runs {@code eip} for {@code countdown} visits. */
    private Block insertCold(int eip, int countdown) {
        if (cold.size() >= COLD_LIMIT) {
            cold.clear(); // only visit counts are lost
        }
        Block c = new Block(eip, eip, 0, null, 0, generation);
        c.countdown = countdown;
        c.backoff = countdown;
        cold.put(eip, c);
        return c;
    }

    /** Translates the block at {@code eip}; {@code backoff} is the wait before retrying if nothing translates. */
    private Block translate(int eip, int backoff) {
        Page p = memory.page(eip & 0xffff_ffffL);
        if (p == null || !p.isRam() || (p.prot() & Page.EXEC) == 0) {
            cold.remove(eip);
            return null;
        }
        if (blocks.size() >= limit) {
            flush();
        }
        int pageBase = eip & ~(Page.SIZE - 1);
        Page following = (pageBase & 0xffff_ffffL) + Page.SIZE < (1L << 32) ? memory.page((pageBase & 0xffff_ffffL) + Page.SIZE) : null;
        boolean crossable = following != null && following.isRam() && (following.prot() & Page.EXEC) != 0;
        Decoder decoder = new Decoder(p.ram(), pageBase, crossable ? following.ram() : null);
        List<Insn> insns = new ArrayList<>();
        int pc = eip;
        while (insns.size() < maxInstructions) {
            Insn in = decoder.decode(pc);
            if (in == null) {
                break;
            }
            insns.add(in);
            pc = in.next();
            if (in.endsBlock() || pc - pageBase >= Page.SIZE) { // a block may end on the next page, never go on there
                break;
            }
        }
        if (insns.isEmpty()) {
            // Not handled yet: retry after twice the wait (the code may change, the translator never does).
            int next = Math.min(Math.max(2 * backoff, 1), MAX_BACKOFF);
            return insertCold(eip, next);
        }
        BlockCompiler.Fitted fitted;
        BlockCode code;
        try {
            fitted = BlockCompiler.fit(insns);
            code = BlockCompiler.load(fitted.classFile());
        } catch (RuntimeException e) {
            // A translator bug must not stop the guest: the interpreter keeps running this code.
            stats.translationFailures++;
            return insertCold(eip, MAX_BACKOFF);
        }
        int n = fitted.instructions();
        Block b = new Block(eip, insns.get(n - 1).next(), n, code, p.ram().address(), generation);
        stats.blocksTranslated++;
        if (log != null) {
            log.translated(insns.subList(0, n), fitted.classFile());
        }
        cold.remove(eip);
        insert(b);
        return b;
    }

    private void insert(Block b) {
        blocks.put(b.eip, b);
        for (long page = b.page(); page <= b.lastPage(); page++) { // a last instruction may end on the next page
            byPage.computeIfAbsent(page, k -> new ArrayList<>()).add(b);
            int word = (int) (page >>> 6);
            long bit = 1L << page;
            if ((codePages[word] & bit) == 0) {
                codePages[word] |= bit;
                CpuAccess.invalidatePage(cpu, page << Page.SHIFT); // drop a cached write entry: stores must be seen
            }
        }
    }

    private void remove(Block b) {
        b.valid = false;
        blocks.remove(b.eip, b);
        for (long page = b.page(); page <= b.lastPage(); page++) {
            List<Block> list = byPage.get(page);
            if (list != null) {
                list.remove(b);
                if (list.isEmpty()) {
                    forgetPage(page);
                }
            }
        }
        stats.invalidations++;
    }

    private void forgetPage(long page) {
        byPage.remove(page);
        codePages[(int) (page >>> 6)] &= ~(1L << page);
    }

    /** Drops every block (size limit reached); their hidden classes become unreachable and are unloaded. */
    void flush() {
        for (Block b : blocks.values()) {
            b.valid = false;
        }
        blocks.clear();
        cold.clear();
        for (Long page : List.copyOf(byPage.keySet())) {
            forgetPage(page);
        }
        generation++;
        stats.flushes++;
    }

    int size() { return blocks.size(); }

    @Override
    public boolean holdsCode(long physPage) {
        return physPage < (1L << 20) && (codePages[(int) (physPage >>> 6)] & (1L << physPage)) != 0;
    }

    @Override
    public void codeWritten(long phys, int size) {
        List<Block> list = byPage.get(phys >>> Page.SHIFT);
        if (list == null) {
            return;
        }
        for (Block b : List.copyOf(list)) {
            if (b.overlaps(phys, phys + size)) {
                remove(b);
                codeDirty = true;
            }
        }
    }

    @Override
    public void mappingsChanged() { generation++; }

    /** Drops the blocks overlapping {@code [start, start + length)} (writes the CPU did not see). */
    void invalidate(long start, long length) {
        long end = Math.min(start + length, 1L << 32);
        if (((end - start) >>> Page.SHIFT) > byPage.size()) { // a large range: visit the pages holding code
            for (Long page : List.copyOf(byPage.keySet())) {
                long from = Math.max(start, page << Page.SHIFT);
                long to = Math.min(end, (page + 1) << Page.SHIFT);
                if (from < to) {
                    codeWritten(from, (int) (to - from));
                }
            }
            return;
        }
        for (long page = start >>> Page.SHIFT; page << Page.SHIFT < end; page++) {
            long from = Math.max(start, page << Page.SHIFT);
            long to = Math.min(end, (page + 1) << Page.SHIFT);
            codeWritten(from, (int) (to - from));
        }
    }
}
