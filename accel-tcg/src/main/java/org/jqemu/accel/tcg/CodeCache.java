package org.jqemu.accel.tcg;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.CodeWatcher;
import org.jqemu.target.i386.X86Cpu;

/**
 * The translation blocks of one CPU, keyed by EIP (the linear address: blocks only run with a flat CS),
 * each checked after any TLB flush or CPL change against what the page now maps to for a fetch (the
 * same physical page, the same host RAM), indexed by physical page for self-modifying-code invalidation
 * (stores through any virtual alias, or by devices, are seen by their physical address), with
 * a size limit that flushes everything. In user mode (linear = physical) a block's last instruction may
 * end on the next page, which is then checked and indexed too; in system mode blocks stop before an
 * instruction that crosses a page end (its second page would need its own page walk and its bytes would
 * not be physically contiguous), and the interpreter runs that instruction. Also the CPU's {@link CodeWatcher}: stores to a page holding
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
    private static final int RECENT_SIZE = 1 << 13;
    /** Slots of the table of translated blocks' starts where the interpreter's straight runs stop (X86Cpu.setStraightRunStops). */
    private static final int STRAIGHT_RUN_STOPS = 1 << 12;
    /**
     * Executions of a block before a region is compiled from it, {@code -Djqemu.tcg.region=N}; 0, the
     * default, makes none. Regions pay when HotSpot's C1 alone compiles generated code (jqemu-i386's
     * launcher passes {@code -XX:TieredStopAtLevel=1 -Djqemu.tcg.region=4000}, jqemu-system-i386's keeps C2
     * away from generated classes with bin/jit-directives.json and passes the same threshold); C2 spends seconds of CPU
     * on each and recompiles them, more than they save (see README-design.md).
     */
    static final int DEFAULT_REGION_THRESHOLD = Integer.getInteger("jqemu.tcg.region", 0);
    /** A successor joins a region after this fraction of the head's executions (rarely taken paths stay out). */
    private static final int REGION_MEMBER_DIVISOR = 64;
    /** Default of {@link #openRegions}, {@code -Djqemu.tcg.openRegions=true}. */
    static final boolean DEFAULT_OPEN_REGIONS = Boolean.getBoolean("jqemu.tcg.openRegions");
    /** Most blocks considered for one region (then as many as fit in one method). */
    private static final int REGION_MAX_BLOCKS = Integer.getInteger("jqemu.tcg.regionBlocks", 48);
    /**
     * Default of {@link #pathBlocks}, {@code -Djqemu.tcg.pathBlocks=N} (0: no path regions). Off: the full boot
     * took longer with them (their C1 work outweighs the decompressor's gain; 5 of 5 rounds, README-design.md,
     * "Session 12: the lead's measurements"); linux-user's CpuEngine asks for 8 (README-design.md, "Session 17").
     */
    static final int DEFAULT_PATH_BLOCKS = pathBlocksOr(0);
    /** {@code -Djqemu.tcg.pathBlocks=N} if given (any mode), else a front end's {@code modeDefault}. */
    static int pathBlocksOr(int modeDefault) { return Integer.getInteger("jqemu.tcg.pathBlocks", modeDefault); }

    /** A block joins a path region only if it runs at least this fraction of the head's executions. */
    private static final int PATH_MEMBER_DIVISOR = 4;
    /**
     * A hot block without a loop region heads a path region only when it has run this many times the region
     * threshold: in the boot's kernel phase most such blocks run a few thousand times, and compiling paths for
     * them cost the compiler threads more than the paths saved (see README-design.md, Session 12).
     */
    static final int PATH_WAIT = 8;
    /**
     * A member of an installed region that keeps running as a block heads a region of its own from this many times the
     * region threshold (see {@link #inAnotherRegion}): below it a region costs its compilation for few runs.
     */
    static final int OUTSIDE_WAIT = 16;
    /**
     * ... and once it ran as a block this many times as often as the region holding it. At 1, busybox sha256sum made
     * a second region of its main loop (entered at another block), which C2 compiled too: 1.13-1.48 s against
     * 1.02-1.34 (5 of 6 rounds slower); at 4 its regions are those it had without the rule.
     */
    static final int OUTSIDE_RATIO = 4;

    /** Set when a store invalidated a block; generated code reads it after each store (see {@link BlockCompiler}). */
    public boolean codeDirty;
    /** Instructions the running block may complete in all (a block looping on itself checks it per iteration). */
    public int budget;
    /** The member a region is entered at (its index, {@link Block#entry}); blocks ignore it. */
    public int entry;
    /** Guest instructions per block at most (1 for one-insn-per-tb; see {@link Tcg#setMaxBlockInstructions}). */
    int maxInstructions = MAX_BLOCK_INSTRUCTIONS;
    /**
     * Guest instructions a region retires before the hot tier compiles it again for C2,
     * {@code -Djqemu.tcg.hotInstructions=N} (0: never; jqemu-i386's launcher passes it); see {@link #promote}.
     */
    long hotInstructions = Long.getLong("jqemu.tcg.hotInstructions", 0);
    /**
     * Most blocks of a path region: a hot head no loop comes back to becomes a region of the hottest path of
     * plain blocks from it (see {@link #keepHotPath}); 0 makes none.
     */
    int pathBlocks = DEFAULT_PATH_BLOCKS;
    /** Executions of a block that make it a region's head (0: no regions); see {@link Tcg#setRegionThreshold}. */
    int regionThreshold = DEFAULT_REGION_THRESHOLD;
    /**
     * Executions of a block after which HotSpot is asked for its tier-1 code (0: at translation; -1: never,
     * HotSpot's own policy); regions are asked for when built unless -1. See {@link JitControl}.
     */
    int tier1Executions = JitControl.blockExecutions();
    /** {@code -d in_asm,out_asm} output, or null. */
    TcgLog log;
    /** Regions are entered at any member and keep dynamic exits to any member inside (see {@link Tcg#setOpenRegions}). */
    boolean openRegions = DEFAULT_OPEN_REGIONS;
    /** How this engine's blocks reach guest RAM (see {@link Tcg#preferRawMemoryAccess}). */
    BlockCompiler.TlbPath tlbPath = BlockCompiler.tlbPath();
    /** A block already in a region may head another one (see {@link #inAnotherRegion}, {@link Tcg#setOverlappingRegions}). */
    boolean overlappingRegions = true;
    /** Hot blocks are compiled on {@link #BACKGROUND}'s thread (see {@link Tcg#setBackgroundTranslation}). */
    boolean backgroundTranslation;
    /** Regions alone are compiled on {@link #BACKGROUND}'s thread (see {@link Tcg#setBackgroundRegions}). */
    boolean backgroundRegions;
    /** Blocks compiled in the background, waiting for the machine thread to check and install them. */
    private final Queue<Compilation> compiled = new ConcurrentLinkedQueue<>();
    /**
     * Blocks and regions compiled in the background (system mode: {@link #backgroundTranslation}; user mode's
     * regions: {@link #backgroundRegions}) are asked for HotSpot's tier-1 code as soon as their class is defined,
     * and installed only once C1 compiled it ({@code -Djqemu.tcg.awaitTier1=false}: installed at once, blocks
     * asked for after {@link #tier1Executions} executions): until then the interpreter runs a block's code, and a
     * region's members run as compiled blocks, as while the class was being built. A block run in HotSpot's
     * bytecode interpreter cost ~100 ns per guest instruction on the Linux boot, the interpreter ~65
     * (system/README-boot.md, session 12); a user-mode region of 5-7 KB of bytecode waited 10-30 ms for C1 on
     * busybox gzip -9 (accel-tcg/README-design.md, "Session 18"). Needs {@link JitControl}.
     */
    boolean awaitTier1 = AWAIT_TIER1 && JitControl.available();
    static final boolean AWAIT_TIER1 = !"false".equals(System.getProperty("jqemu.tcg.awaitTier1"));
    /**
     * {@link #installCompiled} calls (system mode: slices of up to 50,000 instructions) a translation waits
     * for its tier-1 code at most, {@code -Djqemu.tcg.tier1Polls=N}; then it is installed as it is (C1's queue
     * is long, or HotSpot dropped the request).
     */
    static final int MAX_TIER1_POLLS = Integer.getInteger("jqemu.tcg.tier1Polls", 256);
    /**
     * {@link #installHotCopies} calls (in user mode, one per slice of guest code between system calls) a hot-tier copy
     * waits for C2 at most; a C2 compile takes 0.05-0.5 s.
     */
    static final int MAX_C2_POLLS = 1 << 20;
    /** Compilations waiting for their tier-1 code, in the order they were built (see {@link #awaitTier1}). */
    private final List<Compilation> awaitingTier1 = new ArrayList<>();
    /**
     * One daemon thread for every engine's background compilations (class bytes and the hidden class's
     * definition, about half a millisecond per block): the guest's own thread meanwhile interprets on.
     */
    private static final ExecutorService BACKGROUND = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "jqemu-translator");
        t.setDaemon(true);
        return t;
    });

    private final X86Cpu cpu;
    private final AddressSpace memory;
    private final int limit;
    private final int hotThreshold;
    private final TcgStats stats;
    private final BlockTable blocks = new BlockTable();
    private final BlockTable cold = new BlockTable();
    /**
     * A direct-mapped cache in front of both maps (boxing and hashing cost as much as a small block):
     * the entry, translated or cold, last looked up in each slot; checked by EIP and, for blocks, validity.
     */
    private final Block[] recent = new Block[RECENT_SIZE];
    /**
     * What an empty slot of {@link #recent} holds: an entry whose EIP maps to another slot ({@link #NOWHERE_0} to slot
     * 1, for slot 0; {@link #NOWHERE} to slot 0, for the others), so that a slot's one EIP test also finds it empty.
     * With null for empty slots, the engine's compiled loop tested for it first, and the AOT training (whose few
     * blocks never collide) never saw a slot taken by another EIP: the first collision threw the loop away.
     */
    private static final Block NOWHERE = new Block(0, 0, 0, null, 0, 0, 0, 0, 0);
    private static final Block NOWHERE_0 = new Block(1, 1, 0, null, 0, 0, 1, 0, 0);
    /** The starts of the translated blocks, direct-mapped by EIP (-1: empty): the CPU's straight runs stop there. */
    private final long[] straightRunStops = new long[STRAIGHT_RUN_STOPS];
    private final Map<Long, List<Block>> byPage = new HashMap<>();
    /** One bit per 4 KiB page of the 32-bit space: the page holds blocks. */
    private final long[] codePages = new long[1 << 14];
    /**
     * One bit per 4 MiB of the linear space (a large page at most): blocks were translated from code
     * fetched there since the last flush through non-global translations. An INVLPG elsewhere cannot change
     * what a block's EIP maps to.
     */
    private final long[] linearCodeAreas = new long[1 << (32 - LINEAR_AREA_SHIFT - 6)];
    /**
     * The same for blocks fetched through global translations ({@link Block#global}): only an INVLPG in one of
     * these areas makes every block check again; one in an area of non-global code alone checks only the
     * non-global blocks, as a CR3 load does (a process's COW and unmap INVLPGs no longer send the kernel's
     * blocks through a page walk each).
     */
    private final long[] globalCodeAreas = new long[linearCodeAreas.length];
    private static final int LINEAR_AREA_SHIFT = 22;
    private int generation;
    /** Bumped by CR3 loads: blocks fetched through non-global pages are checked again (see {@link Block#global}). */
    private int spaceGeneration;
    /** Physical address found by the last {@link #codePage} (a field: it is an out value of that method). */
    private long codePhys;
    /** The last {@link #codePage} (or {@link #membersStillMapped}: all of them) went through global translations. */
    private boolean codeGlobal;

    CodeCache(X86Cpu cpu, int limit, int hotThreshold, TcgStats stats) {
        this.cpu = cpu;
        this.hotThreshold = hotThreshold;
        this.memory = CpuAccess.memory(cpu);
        this.limit = limit;
        this.stats = stats;
        forgetRecent();
        Arrays.fill(straightRunStops, -1);
        cpu.setStraightRunStops(straightRunStops);
    }

    /**
     * The block starting at {@code eip}. An EIP first gets an interpreter-only entry (kept apart, so cold
     * code never pushes translated blocks out) that counts its visits; once hot, or for an instruction the
     * translator rejected after a doubling back-off, it is translated. Null when the page cannot be executed.
     */
    Block lookup(int eip) {
        stats.lookups++;
        int slot = recentSlot(eip);
        Block r = recent[slot];
        if (r.eip == eip) {
            if (r.code == null) {
                return --r.countdown > 0 ? r : remember(slot, translate(eip, r.backoff));
            }
            if (current(r)) {
                return r;
            }
        }
        return remember(slot, lookupSlow(eip));
    }

    private static int recentSlot(int eip) { return (eip ^ (eip >>> 13)) & (RECENT_SIZE - 1); }

    private Block remember(int slot, Block b) {
        recent[slot] = b != null ? b : emptySlot(slot);
        return b;
    }

    private static Block emptySlot(int slot) { return slot == 0 ? NOWHERE_0 : NOWHERE; }

    /** Empties {@link #recent}. */
    private void forgetRecent() { Arrays.setAll(recent, CodeCache::emptySlot); }

    private Block lookupSlow(int eip) {
        Block b = blocks.get(eip);
        if (b != null && (current(b) || revalidate(b))) {
            return b;
        }
        Block c = cold.get(eip);
        if (c == null) {
            return hotThreshold == 0 ? translate(eip, 0) : insertCold(eip, hotThreshold);
        }
        return --c.countdown > 0 ? c : translate(eip, c.backoff);
    }

    /**
     * Whether a cached link to {@code b} may be followed. Split in three methods under C2's 35-byte limit for
     * inlining a call at any frequency: as one method of 56 bytes it stayed a call in the engine's chain loop.
     */
    boolean current(Block b) {
        return b.valid && checkedInThisGeneration(b) && checkedWithThisTlbSet(b);
    }

    private boolean checkedInThisGeneration(Block b) {
        return b.generation == generation && (b.global || b.spaceGeneration == spaceGeneration);
    }

    private boolean checkedWithThisTlbSet(Block b) { return b.tlbSet == CpuAccess.tlbSet(cpu); }

    /** Marks {@code b} checked now, with the global-ness {@link #codePage} found for its code. */
    private void checkedNow(Block b) {
        b.generation = generation;
        b.spaceGeneration = spaceGeneration;
        b.global = codeGlobal;
        markCodeAreas(b);
    }

    /**
     * After a mapping change or at another CPL: the block stays if a fetch at its EIP still reaches the
     * same executable RAM page (and the page its last byte is on). A fetch that faults propagates the CPU's fault: the caller then lets
     * the interpreter execute there, which raises it properly.
     */
    private boolean revalidate(Block b) {
        stats.revalidations++;
        if (b.members == null ? stillMapped(b) : membersStillMapped(b)) {
            checkedNow(b);
            b.tlbSet = CpuAccess.tlbSet(cpu);
            return true;
        }
        remove(b);
        return false;
    }

    /**
     * Every member of region {@code r} is still mapped the same way. A member whose fetch would fault now
     * drops the region instead of raising the fault at the head's address (the blocks then run alone, and
     * a fault at the head itself is raised when it is translated again).
     */
    private boolean membersStillMapped(Block r) {
        try {
            boolean global = true;
            for (Block m : r.members) {
                if (!stillMapped(m)) {
                    return false;
                }
                global &= codeGlobal;
            }
            codeGlobal = global;
            return true;
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** A fetch at the block's EIP reaches the same executable RAM page it was translated from (and the page its last byte is on). */
    private boolean stillMapped(Block b) {
        Page p = codePage(b.eip);
        return p != null && codePhys == b.phys && p.ram().address() == b.pageIdentity
                && (b.lastPage() == b.page() || sameFollowingPage(b));
    }

    /** A block ending on the next page (user mode only): that page is still the same executable RAM. */
    private boolean sameFollowingPage(Block b) {
        Page q = followingPage(b.phys & ~(long) (Page.SIZE - 1));
        return q != null && q.ram().address() == b.lastPageIdentity;
    }

    /**
     * The executable RAM page after the page at {@code pageBase}, where a block's last instruction may end,
     * or null. User mode only: there linear = physical, so the block's bytes stay physically contiguous.
     */
    private Page followingPage(long pageBase) {
        long next = pageBase + Page.SIZE;
        if (!CpuAccess.userMode(cpu) || next >= (1L << 32)) {
            return null;
        }
        Page q = memory.page(next);
        return q != null && q.isRam() && (q.prot() & Page.EXEC) != 0 ? q : null;
    }

    /**
     * The executable RAM page a fetch at {@code eip} reads now (its physical address in {@link #codePhys}),
     * or null. User mode: the process's page at that address; system mode: the page walk with the current
     * privilege (may throw the fetch's #PF).
     */
    private Page codePage(int eip) {
        long linear = eip & 0xffff_ffffL;
        boolean user = CpuAccess.userMode(cpu);
        codePhys = user ? linear : CpuAccess.fetchPhysical(cpu, linear);
        codeGlobal = !user && CpuAccess.fetchWasGlobal(cpu);
        Page p = memory.page(codePhys);
        return p != null && p.isRam() && (p.prot() & Page.EXEC) != 0 ? p : null;
    }

    /**
     * Whether interpreter-only entry {@code cold} is there because its instruction cannot be translated (a
     * system instruction, one crossing a page in system mode): its wait grew past the first one.
     */
    boolean rejected(Block cold) { return cold.backoff > hotThreshold; }

    /** An interpreter-only entry: the interpreter runs {@code eip} for {@code countdown} visits. */
    private Block insertCold(int eip, int countdown) {
        if (cold.size() >= COLD_LIMIT) {
            cold.clear(); // only visit counts are lost
        }
        Block c = new Block(eip, eip, 0, null, 0, 0, eip & 0xffff_ffffL, generation, 0);
        c.countdown = countdown;
        c.backoff = countdown;
        cold.put(c);
        return c;
    }

    /** Work for the background thread, installed by the machine thread ({@link #installCompiled}). */
    private abstract static class Compilation {
        BlockCompiler.Fitted fitted;
        BlockCode code;
        /** {@link #code}'s {@code execute}, asked for at tier 1 on the background thread (see {@link #awaitTier1}); else null. */
        Method requested;
        /** {@link #installCompiled} calls this compilation waited through for its tier-1 code. */
        int polls;

        /** Class bytes and hidden class; {@link #code} stays null if nothing fits or the translator failed (a bug: the interpreter runs this code). */
        final void compile(Supplier<BlockCompiler.Fitted> fit) {
            try {
                fitted = fit.get();
                code = fitted == null ? null : BlockCompiler.load(fitted.classFile());
            } catch (RuntimeException e) {
                code = null;
            }
        }
    }

    /**
     * A block decoded on the machine thread and compiled (class bytes, hidden class) there or in the
     * background: with the mapping and generations seen at decode time and, for a background compilation,
     * the code bytes it was decoded from (checked again before the block is installed).
     */
    private static final class Translation extends Compilation {
        final Block cold;
        final int eip;
        final Page page;
        final Page following;
        final long phys;
        final boolean global;
        final int generation;
        final int spaceGeneration;
        final int tlbSet;
        final List<Insn> insns;
        byte[] bytes;

        Translation(Block cold, int eip, Page page, Page following, long phys, boolean global, int generation,
                int spaceGeneration, int tlbSet, List<Insn> insns) {
            this.cold = cold;
            this.eip = eip;
            this.page = page;
            this.following = following;
            this.phys = phys;
            this.global = global;
            this.generation = generation;
            this.spaceGeneration = spaceGeneration;
            this.tlbSet = tlbSet;
            this.insns = insns;
        }

        int pageOffset() { return eip & (Page.SIZE - 1); }

        void compile(BlockCompiler.TlbPath path) { compile(() -> BlockCompiler.fit(insns, path)); }

        /** The guest bytes the block was decoded from are still those in its page. */
        boolean bytesUnchanged() {
            byte[] now = page.ram().asSlice(pageOffset(), bytes.length).toArray(ValueLayout.JAVA_BYTE);
            return Arrays.equals(now, bytes);
        }
    }

    /** Translates the block at {@code eip}; {@code backoff} is the wait before retrying if nothing translates. */
    private Block translate(int eip, int backoff) {
        Page p = codePage(eip);
        long phys = codePhys;
        boolean global = codeGlobal;
        if (p == null) {
            cold.remove(eip, null);
            return null;
        }
        if (blocks.size() >= limit) {
            flush();
        }
        Page following = followingPage(phys & ~(long) (Page.SIZE - 1));
        List<Insn> insns = decode(p, following, eip, maxInstructions);
        if (insns.isEmpty()) {
            // Not handled yet: retry after twice the wait (the code may change, the translator never does).
            int next = Math.min(Math.max(2 * backoff, 1), MAX_BACKOFF);
            return insertCold(eip, next);
        }
        // Marked at decoding: an INVLPG while the block compiles in the background must reach it at its install.
        markCodeAreas(eip, insns.getLast().next() - 1, global);
        Block coldEntry = cold.get(eip);
        heatFallThrough(insns.getLast()); // (after the lookup above: making an entry may clear the cold table)
        Translation t = new Translation(coldEntry, eip, p, following, phys, global, generation, spaceGeneration,
                CpuAccess.tlbSet(cpu), insns);
        if (backgroundTranslation && coldEntry != null && log == null
                && t.pageOffset() + (insns.getLast().next() - eip) <= Page.SIZE) { // its bytes on one page, checked at install
            compileInBackground(t);
            return coldEntry;
        }
        t.compile(tlbPath);
        return finish(t);
    }

    /**
     * A block that runs on into its successor (it ended at its length, a page end or an instruction the
     * translator leaves to the interpreter, not at a jump) makes that successor hot too: it runs whenever the
     * block runs, so it is translated at its next visit. Otherwise, in system mode, where only the starts of
     * interpreted runs count visits, a long straight-line function got one more block per threshold's worth
     * of calls (the kernel's unrolled blake2s_compress: ~6 KB, 3.2 M of the ~10 M instructions interpreted
     * during the boot's /init).
     */
    private void heatFallThrough(Insn last) {
        if (hotThreshold == 0 || last.endsBlock() || blocks.get(last.next()) != null) {
            return; // (threshold 0: every EIP is translated at its first visit anyway)
        }
        Block c = cold.get(last.next());
        if (c == null) {
            c = insertCold(last.next(), hotThreshold);
        }
        if (!rejected(c) && c.countdown != Integer.MAX_VALUE) { // MAX_VALUE: its compilation is under way
            c.countdown = 1;
        }
    }

    /**
     * Starts compiling {@code t} on the background thread; its cold entry keeps the interpreter running the
     * code until {@link #installCompiled} installs the block (its visits are no longer counted meanwhile).
     */
    private void compileInBackground(Translation t) {
        int length = t.insns.getLast().next() - t.eip;
        t.bytes = t.page.ram().asSlice(t.pageOffset(), length).toArray(ValueLayout.JAVA_BYTE);
        t.cold.countdown = Integer.MAX_VALUE;
        BlockCompiler.TlbPath path = tlbPath;
        inBackground(t, () -> t.compile(path));
    }

    /**
     * Runs {@code compile} on the background thread, asks for the tier-1 code if {@link #awaitTier1}, then queues
     * {@code c} for {@link #installCompiled}.
     */
    private void inBackground(Compilation c, Runnable compile) {
        boolean ask = awaitTier1; // read here, on the machine thread that sets it
        BACKGROUND.execute(() -> {
            compile.run();
            if (ask && c.code != null) {
                c.requested = JitControl.requestTier1(c.code);
            }
            compiled.add(c);
        });
    }

    /** Whether background compilations are done but not installed yet (waiting for their tier-1 code) (tests). */
    boolean installsPending() { return !compiled.isEmpty() || !awaitingTier1.isEmpty(); }

    /** Whether compilations may be waiting in {@link #installCompiled}'s queue. */
    boolean compilesInBackground() { return backgroundTranslation || backgroundRegions; }

    /**
     * Machine thread: installs the blocks compiled in the background since the last call. A block whose
     * guest bytes changed meanwhile (stores to a page are only watched once it holds a block) is dropped
     * and its EIP counts visits again; one compiled before a flush or a mapping change is checked on its
     * first use like any block (its generations are those of its decoding). Regions likewise, unless their
     * head left the cache or a member was invalidated meanwhile. Returns whether anything was taken.
     */
    boolean installCompiled() {
        boolean any = false;
        for (Compilation c; (c = compiled.poll()) != null; ) {
            any = true;
            if (c.requested != null) {
                stats.tier1Requests++;
                awaitingTier1.add(c);
            } else {
                install(c);
            }
        }
        return installTier1Compiled() || any;
    }

    /** Installs block or region compilation {@code c} now. */
    private void install(Compilation c) {
        if (c instanceof RegionTranslation r) {
            install(r);
        } else {
            installBlock((Translation) c);
        }
    }

    /** Installs the compilations of {@link #awaitingTier1} whose tier-1 code is there, or that waited long enough. */
    private boolean installTier1Compiled() {
        if (awaitingTier1.isEmpty()) {
            return false;
        }
        boolean any = false;
        for (Iterator<Compilation> i = awaitingTier1.iterator(); i.hasNext(); ) {
            Compilation c = i.next();
            if (++c.polls > MAX_TIER1_POLLS || JitControl.level(c.requested) != 0) {
                i.remove();
                install(c);
                any = true;
            }
        }
        return any;
    }

    /** Installs background translation {@code t}, unless its EIP got a block meanwhile or its guest bytes changed. */
    private void installBlock(Translation t) {
        Block installed = blocks.get(t.eip);
        if (installed != null && installed.valid) {
            return; // translated again meanwhile (its cold entry had been dropped)
        }
        if (t.code != null && !t.bytesUnchanged()) {
            t.cold.countdown = Math.max(1, t.cold.backoff);
            return;
        }
        if (blocks.size() >= limit) {
            flush();
        }
        Block b = finish(t);
        replaceRecent(t.cold, b);
    }

    /** Waits until the background thread has finished every compilation started so far (tests). */
    static void awaitBackgroundCompilations() throws Exception {
        BACKGROUND.submit(() -> { }).get();
    }

    /** The block of compiled translation {@code t}, now in the cache (or a cold entry if the translator failed). */
    private Block finish(Translation t) {
        int eip = t.eip;
        if (t.code == null) {
            // A translator bug must not stop the guest: the interpreter keeps running this code.
            stats.translationFailures++;
            return insertCold(eip, MAX_BACKOFF);
        }
        int n = t.fitted.instructions();
        int end = t.insns.get(n - 1).next();
        int pageBase = eip & ~(Page.SIZE - 1);
        long lastIdentity = end - pageBase > Page.SIZE ? t.following.ram().address() : t.page.ram().address();
        Block b = new Block(eip, end, n, t.code, t.page.ram().address(), lastIdentity, t.phys, t.generation, t.tlbSet);
        b.global = t.global;
        b.spaceGeneration = t.spaceGeneration;
        b.exits = staticExits(t.insns.get(n - 1), false);
        stats.blocksTranslated++;
        b.tier1Requested = t.requested != null;
        if (tier1Executions == 0) {
            requestTier1(b);
        }
        if (log != null) {
            log.translated(t.insns.subList(0, n), t.fitted.classFile());
        }
        cold.remove(eip, null);
        insert(b);
        return b;
    }

    /** The direct-mapped cache no longer hands out {@code old} (a cold entry whose block is installed). */
    private void replaceRecent(Block old, Block now) {
        int slot = recentSlot(old.eip);
        if (recent[slot] == old) {
            recent[slot] = now;
        }
    }

    /** Up to {@code max} instructions from {@code eip} on page {@code p} (the last one may end on {@code following}). */
    private static List<Insn> decode(Page p, Page following, int eip, int max) {
        int pageBase = eip & ~(Page.SIZE - 1);
        Decoder decoder = new Decoder(p.ram(), pageBase, following != null ? following.ram() : null);
        List<Insn> insns = new ArrayList<>();
        int pc = eip;
        while (insns.size() < max) {
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
        return insns;
    }

    /**
     * Compiles a region headed by the hot block {@code head}: the blocks reachable from it through static
     * exits and the recorded targets of dynamic exits (RET, indirect jumps), each already translated,
     * current and run at least 1/{@link #REGION_MEMBER_DIVISOR} as often as a head, breadth first, at most
     * {@link #REGION_MAX_BLOCKS}, then as many as fit in one method. The region replaces the head in the
     * cache (it is entered where the head was); its other members become entries into it where they are
     * still plain blocks ({@link #addEntries}). {@code start} is a hot block or a hot entry into another
     * region (control keeps reaching that loop there from outside it): the new region is headed by that
     * member's block. Returns whether a region was made or is being compiled in the background (its head then
     * does not try again).
     */
    boolean buildRegion(Block start) {
        if ((start.members != null && (start.entry == 0 || !openRegions)) || !start.valid || !current(start)) {
            return false; // a region's head already
        }
        Block head = start.members == null ? start : start.members[start.entry];
        boolean pathTry = pathBlocks > 1 && start == head && head.regionWait >= PATH_WAIT;
        if (!openRegions && !pathTry && !loopClosesAtHead(head)) {
            stats.regionsRejected++;
            stats.regionsRejectedUndecoded++;
            return false;
        }
        try {
            List<Block> chosen = new ArrayList<>();
            List<BlockCompiler.Member> members = new ArrayList<>();
            Map<Integer, Block> seen = new HashMap<>();
            seen.put(head.eip, head);
            chosen.add(head);
            for (int k = 0; k < chosen.size(); k++) {
                Block b = chosen.get(k);
                List<Insn> insns = decodeBlock(b);
                if (insns == null) {
                    if (k == 0) {
                        break;
                    }
                    chosen.remove(k--); // a later member's code cannot be read again now: leave it out
                    continue;
                }
                Block dynamic = b.next[BlockCompiler.KIND_DYNAMIC];
                int[] dynamicTargets = dynamic != null && !insns.getLast().isDirectTransfer() ? new int[] {dynamic.eip} : new int[0];
                members.add(new BlockCompiler.Member(insns, dynamicTargets));
                for (int target : successors(insns, dynamicTargets, openRegions)) {
                    if (chosen.size() < REGION_MAX_BLOCKS && !seen.containsKey(target)) {
                        Block s = regionCandidate(target);
                        seen.put(target, s);
                        if (s != null) {
                            chosen.add(s);
                        }
                    }
                }
            }
            List<Block> reachable = List.copyOf(chosen);
            List<BlockCompiler.Member> reachableMembers = List.copyOf(members);
            keepLoopMembers(chosen, members, openRegions);
            boolean selfLoop = !openRegions && members.size() == 1 && jumpsToItself(members.getFirst());
            if (members.size() < 2 && !selfLoop && pathTry) {
                chosen = new ArrayList<>(reachable);
                members = new ArrayList<>(reachableMembers);
                keepHotPath(chosen, members);
            }
            if (members.size() < 2 && !selfLoop) {
                stats.regionsRejected++;
                return false;
            }
            RegionTranslation t = new RegionTranslation(start, List.copyOf(chosen), List.copyOf(members), generation,
                    spaceGeneration, CpuAccess.tlbSet(cpu));
            if ((backgroundTranslation || backgroundRegions) && !openRegions && log == null) {
                BlockCompiler.TlbPath path = tlbPath;
                if (!overlappingRegions) {
                    t.claimed = true;
                    countPending(t, 1);
                }
                inBackground(t, () -> t.compile(path, false));
                return true; // installed later by installCompiled, or never (like a rejected region) if a member changed
            }
            t.compile(tlbPath, openRegions);
            return install(t);
        } catch (RuntimeException e) {
            // A fetch fault on re-reading a member or a translator bug: the blocks keep running as they are.
            stats.regionsRejected++;
            return false;
        }
    }

    private static boolean allUnchanged(List<Block> chosen) {
        for (Block b : chosen) {
            if (!unchanged(b)) {
                return false;
            }
        }
        return true;
    }

    /** A region chosen and decoded on the machine thread, compiled there or in the background. */
    private static final class RegionTranslation extends Compilation {
        final Block start;
        final List<Block> chosen;
        final List<BlockCompiler.Member> members;
        final int generation;
        final int spaceGeneration;
        final int tlbSet;
        /** Its chosen blocks count it among their {@link Block#pendingRegions} until it is installed or refused. */
        boolean claimed;

        RegionTranslation(Block start, List<Block> chosen, List<BlockCompiler.Member> members, int generation,
                int spaceGeneration, int tlbSet) {
            this.start = start;
            this.chosen = chosen;
            this.members = members;
            this.generation = generation;
            this.spaceGeneration = spaceGeneration;
            this.tlbSet = tlbSet;
        }

        void compile(BlockCompiler.TlbPath path, boolean open) { compile(() -> BlockCompiler.fitRegion(members, path, open)); }
    }

    /**
     * Whether hot block {@code b} should not head a region because one that holds it already runs or is being
     * compiled ({@link #overlappingRegions} off). A loop's blocks get hot within a few iterations of each other,
     * and each became the head of a region of the same loop while the first one was compiled in the background
     * (busybox sha256sum: 19 regions for a handful of loops; README-design.md, "Session 14 (regions)"). A member
     * of an installed region runs as a block only when control reaches it from outside that region: once it has run so
     * {@link #OUTSIDE_WAIT} times the region threshold, and {@link #OUTSIDE_RATIO} times as often as that region ran,
     * control reaches it mostly from elsewhere (a return into the middle of a loop, an exit of a caller's region that
     * holds only a callee's first blocks), and it may head a region of its own. busybox bzip2 of 16 MB ran 85 M of its
     * 137 M block executions as such blocks (mainGtU's compare chain: 1.1-1.3 M each, entered from the first block,
     * which the caller's region holds).
     */
    boolean inAnotherRegion(Block b) {
        return !overlappingRegions && (b.pendingRegions > 0 || (b.memberOf != null && b.memberOf.valid
                && (b.heat < OUTSIDE_WAIT * regionThreshold || OUTSIDE_RATIO * (long) b.memberOf.heat >= b.heat)));
    }

    /** Background region {@code t} counts among the pending regions of each block it chose ({@code delta} 1), or no longer (-1). */
    private static void countPending(RegionTranslation t, int delta) {
        for (Block b : t.chosen) {
            b.pendingRegions += delta;
        }
    }

    /**
     * Puts compiled region {@code t} in its head's place, if its head is still in the cache and every member
     * it holds is still valid (a store into a member's code invalidates that block, so an unchanged member
     * has unchanged bytes); with the generations seen when it was chosen.
     */
    private boolean install(RegionTranslation t) {
        if (t.claimed) {
            countPending(t, -1);
        }
        Block start = t.start;
        int n = t.fitted == null ? 0 : t.fitted.instructions();
        if (t.code == null || !start.valid || blocks.get(start.eip) != start
                || !allUnchanged(t.chosen.subList(0, n))) {
            stats.regionsRejected++;
            return false;
        }
        Block head = t.chosen.getFirst();
        Block region = new Block(head.eip, head.end, head.instructions, t.code, head.pageIdentity,
                head.lastPageIdentity, head.phys, t.generation, t.tlbSet);
        region.members = t.chosen.subList(0, n).toArray(new Block[0]);
        // (loops, not streams: the streams' lambdas, which no AOT training reaches, were spun at run time)
        boolean global = true;
        for (Block m : region.members) {
            if (!overlappingRegions) {
                m.memberOf = region;
            }
            global &= m.global;
        }
        region.global = global;
        region.spaceGeneration = t.spaceGeneration;
        region.source = List.copyOf(t.members.subList(0, n));
        region.tier1Requested = t.requested != null;
        if (hotInstructions > 0) {
            region.hotCountdown = hotInstructions;
        }
        if (tier1Executions >= 0) {
            requestTier1(region); // a region is hot at once: its head already ran regionThreshold times
        }
        replace(start, region);
        if (openRegions && tier1Executions >= 0 && JitControl.available()) {
            region.entriesPending = true; // its members keep their compiled blocks until its own code is compiled
        } else {
            addEntries(region);
        }
        forgetRecent();
        stats.regionsBuilt++;
        stats.regionBlocks += region.members.length;
        if (log != null) {
            log.translated(t.members.stream().limit(n).flatMap(m -> m.insns().stream()).toList(), t.fitted.classFile());
        }
        return true;
    }

    /**
     * Whether block {@code m}'s code is unchanged since it was translated: it is valid, or it was replaced by a
     * region (another region's head, chosen as a member) that is (a store into its code drops the region).
     */
    private static boolean unchanged(Block m) {
        for (Block b = m; b != null; b = b.replacedBy) {
            if (b.valid) {
                return true;
            }
        }
        return false;
    }

    /** {@code replacement} takes the place of {@code b} in the cache (links to {@code b} fail and re-link). */
    private void replace(Block b, Block replacement) {
        remove(b);
        b.replacedBy = replacement;
        stats.invalidations--; // replaced, not invalidated
        insert(replacement);
    }

    /**
     * Every member of {@code region} that is still a plain block in the cache is replaced by an entry into
     * the region at that member (same code, {@link Block#entry} its index): control reaching the loop
     * anywhere (a return from a callee, the exit of another region) runs inside the region instead of
     * block by block until it reaches the head. A member that already enters another region stays so.
     */
    private void addEntries(Block region) {
        if (!openRegions) {
            return;
        }
        Block[] members = region.members;
        for (int k = 1; k < members.length; k++) {
            Block m = members[k];
            if (blocks.get(m.eip) != m) {
                continue;
            }
            Block e = new Block(m.eip, m.end, m.instructions, region.code, m.pageIdentity, m.lastPageIdentity,
                    m.phys, region.generation, region.tlbSet);
            e.members = members;
            e.entry = k;
            e.source = region.source;
            e.global = region.global;
            e.spaceGeneration = region.spaceGeneration;
            replace(m, e);
            stats.regionEntries++;
        }
    }

    /**
     * An open region whose entries wait for its compiled code: adds them once HotSpot runs the region's
     * {@code execute} compiled (until then its members run as compiled blocks, not in the bytecode interpreter).
     */
    void addEntriesWhenCompiled(Block region) {
        int level;
        try {
            level = JitControl.level(JitControl.executeMethod(region.code));
        } catch (NoSuchMethodException e) {
            level = -1;
        }
        if (level != 0) {
            region.entriesPending = false;
            if (region.valid) {
                addEntries(region);
            }
        }
    }

    /** Queues block or region {@code b} for HotSpot's tier 1 (see {@link JitControl}), counting the requests HotSpot took. */
    void requestTier1(Block b) {
        if (b.tier1Requested) {
            return;
        }
        b.tier1Requested = true;
        if (JitControl.compileNow(b.code)) {
            stats.tier1Requests++;
        }
    }

    /**
     * The hot tier: region {@code r}, which retired {@link #hotInstructions} guest instructions, compiled again as a
     * class that HotSpot's C2 may compile (bin/jit-directives.json leaves ordinary blocks and regions to C1). With
     * {@link JitControl} the copy is queued for C2 at once and replaces the region's C1 code only when C2's code is
     * there ({@link #installHotCopies}): until then the C1 code runs on, never HotSpot's bytecode interpreter, and
     * C2 compiles without a profile, so it plants no traps that would throw its code away. Without it the copy
     * replaces the code at once and HotSpot's own policy compiles it. Same code, same cache entry: only
     * {@code r.code} changes. Figures in README-design.md, "Session 14 (hot)".
     */
    void promote(Block r) {
        if (r.source == null || !r.valid) {
            return;
        }
        try {
            // An entry other than the head needs the entry switch whatever the switch says now.
            BlockCode hot = BlockCompiler.load(BlockCompiler.regionClassBytes(r.source, true, true, tlbPath, openRegions || r.entry != 0));
            Method execute = JitControl.request(hot, JitControl.TIER_C2);
            if (execute != null) {
                awaitingC2.add(new HotCopy(r, hot, execute));
            } else {
                r.code = hot;
                stats.hotRegions++;
            }
        } catch (RuntimeException e) {
            stats.translationFailures++; // the C1 code keeps running
        }
    }

    /** A region's hot-tier copy waiting for C2: {@code execute} is its method, whose level {@link #installHotCopies} polls. */
    private static final class HotCopy {
        final Block region;
        final BlockCode code;
        final Method execute;
        int polls;

        HotCopy(Block region, BlockCode code, Method execute) {
            this.region = region;
            this.code = code;
            this.execute = execute;
        }
    }

    /** Hot-tier copies queued for C2 and not installed yet, oldest first. */
    private final List<HotCopy> awaitingC2 = new ArrayList<>();

    /**
     * Machine thread, between runs: each region whose hot-tier copy C2 has compiled runs that copy from now on;
     * a copy whose region was dropped meanwhile (a store into its code, a flush) is forgotten, and so is one
     * C2 has not compiled in {@link #MAX_C2_POLLS} polls (it gave up on the method: the C1 code stays).
     */
    void installHotCopies() {
        if (awaitingC2.isEmpty()) {
            return;
        }
        for (Iterator<HotCopy> i = awaitingC2.iterator(); i.hasNext(); ) {
            HotCopy h = i.next();
            if (!h.region.valid || ++h.polls > MAX_C2_POLLS) {
                i.remove();
            } else if (JitControl.level(h.execute) == JitControl.TIER_C2) {
                h.region.code = h.code;
                stats.hotRegions++;
                i.remove();
            }
        }
    }

    /** Whether hot-tier copies wait for C2 (tests). */
    boolean hotCopiesPending() { return !awaitingC2.isEmpty(); }

    /**
     * Keeps the members on a path back to the head (the loops through it, inner loops included): code
     * that only leaves the loop runs once per exit and would just make the method bigger and slower to
     * compile. {@code chosen} and {@code members} are parallel lists, the head first.
     */
    private static void keepLoopMembers(List<Block> chosen, List<BlockCompiler.Member> members, boolean withReturns) {
        int n = members.size();
        Map<Integer, Integer> index = new HashMap<>();
        for (int k = n - 1; k >= 0; k--) {
            index.put(members.get(k).eip(), k); // the first member at an EIP, as a search from the head would find
        }
        int[][] successorIndices = new int[n][];
        for (int k = 1; k < n; k++) {
            int[] targets = successors(members.get(k).insns(), members.get(k).dynamicTargets(), withReturns);
            int[] indices = new int[targets.length];
            int found = 0;
            for (int target : targets) {
                Integer t = index.get(target);
                if (t != null) {
                    indices[found++] = t;
                }
            }
            successorIndices[k] = Arrays.copyOf(indices, found);
        }
        boolean[] reachesHead = new boolean[n];
        reachesHead[0] = true;
        for (boolean changed = true; changed; ) {
            changed = false;
            for (int k = 1; k < n; k++) {
                if (!reachesHead[k]) {
                    for (int t : successorIndices[k]) {
                        if (reachesHead[t]) {
                            reachesHead[k] = changed = true;
                            break;
                        }
                    }
                }
            }
        }
        for (int k = n - 1; k > 0; k--) {
            if (!reachesHead[k]) {
                chosen.remove(k);
                members.remove(k);
            }
        }
    }

    /**
     * Keeps the hottest path from the head: from each kept member, its successor (static exits, the recorded
     * dynamic target) that ran most often, if that is at least 1/{@link #PATH_MEMBER_DIVISOR} of the head's
     * executions, not on the path yet and still a plain block in the cache (a region's head or entry ends the
     * path, so its loops keep running in it), up to {@link #pathBlocks}. For a hot straight run of blocks that
     * no loop closes at the head (calls and returns along a big loop's body): one method instead of a return
     * to the engine, a megamorphic call and the registers stored and loaded at every block boundary.
     * {@code chosen} and {@code members} are parallel lists, the head first.
     */
    private void keepHotPath(List<Block> chosen, List<BlockCompiler.Member> members) {
        List<Integer> path = new ArrayList<>(List.of(0));
        long minHeat = Math.max(1, chosen.getFirst().heat / PATH_MEMBER_DIVISOR);
        for (int k = 0; path.size() < pathBlocks; ) {
            int best = -1;
            for (int target : successors(members.get(k).insns(), members.get(k).dynamicTargets(), false)) {
                int t = indexOf(members, target);
                if (t > 0 && !path.contains(t) && blocks.get(target) == chosen.get(t) && chosen.get(t).heat >= minHeat
                        && (best < 0 || chosen.get(t).heat > chosen.get(best).heat)) {
                    best = t;
                }
            }
            if (best < 0) {
                break;
            }
            path.add(best);
            k = best;
        }
        List<Block> pathBlocksChosen = new ArrayList<>(path.size());
        List<BlockCompiler.Member> pathMembers = new ArrayList<>(path.size());
        for (int k : path) { // (loops, not streams: the streams' lambdas were spun at run time, outside the AOT training)
            pathBlocksChosen.add(chosen.get(k));
            pathMembers.add(members.get(k));
        }
        chosen.clear();
        chosen.addAll(pathBlocksChosen);
        members.clear();
        members.addAll(pathMembers);
    }

    /**
     * Whether a loop closes at {@code head} among the blocks {@link #buildRegion} would choose (the same walk: the
     * blocks' exits as recorded at translation, {@link Block#exits}, and their last dynamic targets, in the same
     * order, up to as many blocks), without decoding them again: a closed region's precondition. Most hot
     * blocks of the boot's kernel phase are in functions called from everywhere, with no loop back to them; each
     * was rejected only after its reachable blocks (~17 on average) had been decoded again (README-design.md,
     * Session 13).
     */
    private boolean loopClosesAtHead(Block head) {
        List<Block> chosen = new ArrayList<>(List.of(head));
        List<Integer> seen = new ArrayList<>(List.of(head.eip));
        for (int k = 0; k < chosen.size(); k++) {
            for (int target : exits(chosen.get(k))) {
                if (target == head.eip && (k > 0 || !openRegions)) {
                    return true;
                }
                if (chosen.size() < REGION_MAX_BLOCKS && !seen.contains(target)) {
                    seen.add(target);
                    Block s = regionCandidate(target);
                    if (s != null) {
                        chosen.add(s);
                    }
                }
            }
        }
        return false;
    }

    /**
     * Whether a block's last instruction may jump to the block's own start: a one-block loop, which becomes a region
     * of that one member, so that the hot tier compiles it for C2 and its page bases are a region's (as a plain
     * block, C1's code of busybox gzip's hash insertion loop took 4% of the samples of gzip -9).
     */
    private static boolean jumpsToItself(BlockCompiler.Member m) {
        for (int target : successors(m.insns(), m.dynamicTargets(), false)) {
            if (target == m.eip()) {
                return true;
            }
        }
        return false;
    }

    /** Where block {@code b} may go next: its static exits, else its last dynamic target (see {@link #successors}). */
    private static int[] exits(Block b) {
        Block dynamic = b.next[BlockCompiler.KIND_DYNAMIC];
        return b.exits != null ? b.exits : dynamic != null ? new int[] {dynamic.eip} : new int[0];
    }

    private static int indexOf(List<BlockCompiler.Member> members, int eip) {
        for (int k = 0; k < members.size(); k++) {
            if (members.get(k).eip() == eip) {
                return k;
            }
        }
        return -1;
    }

    /** The block at {@code eip} if it may join a region: translated, current, run often; a region's own head block. */
    private Block regionCandidate(int eip) {
        Block b = blocks.get(eip);
        if (b == null || b.code == null || !current(b)) {
            return null;
        }
        if (b.members != null) {
            b = b.members[b.entry]; // the member's own block (its code, its heat)
        }
        return b.heat >= Math.max(1, regionThreshold / REGION_MEMBER_DIVISOR) ? b : null;
    }

    /**
     * Where the block's last instruction may go: static targets, its fall-through, the recorded dynamic
     * targets; for a CALL also its return address when {@code withReturns} (open regions).
     */
    private static int[] successors(List<Insn> insns, int[] dynamicTargets, boolean withReturns) {
        int[] exits = staticExits(insns.getLast(), withReturns);
        return exits != null ? exits : dynamicTargets;
    }

    /** As {@link #successors} for a block ending with {@code last}, the dynamic targets aside: null for a dynamic exit. */
    private static int[] staticExits(Insn last, boolean withReturns) {
        int op = last.op();
        if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
            return new int[] {last.next() + last.imm(), last.next()};
        }
        if (op == 0xe8 && withReturns) { // the callee, and where its RET comes back (kept inside an open region)
            return new int[] {last.next() + last.imm(), last.next()};
        }
        if (op == 0xe8 || op == 0xe9 || op == 0xeb) {
            return new int[] {last.next() + last.imm()};
        }
        return last.endsBlock() ? null : new int[] {last.next()};
    }

    /**
     * The instructions of translated block {@code b}, decoded again from the page it was translated from,
     * or null when that page is no longer mapped the same way (may throw the fetch's page fault).
     */
    private List<Insn> decodeBlock(Block b) {
        if (!stillMapped(b)) {
            return null;
        }
        Page p = codePage(b.eip);
        Page following = followingPage(b.phys & ~(long) (Page.SIZE - 1));
        List<Insn> insns = decode(p, following, b.eip, b.instructions);
        return insns.size() == b.instructions && insns.getLast().next() == b.end ? insns : null;
    }

    private void insert(Block b) {
        blocks.put(b);
        straightRunStops[stopSlot(b.eip)] = Integer.toUnsignedLong(b.eip);
        markCodeAreas(b);
        for (Block unit : b.members != null ? b.members : new Block[] {b}) {
            for (long page = unit.page(); page <= unit.lastPage(); page++) { // a last instruction may end on the next page
                List<Block> list = byPage.computeIfAbsent(page, k -> new ArrayList<>());
                if (!list.contains(b)) { // region members may share pages
                    list.add(b);
                }
                int word = (int) (page >>> 6);
                long bit = 1L << page;
                if ((codePages[word] & bit) == 0) {
                    codePages[word] |= bit;
                    // Stores to it, through any alias, must take the slow path that reports them.
                    CpuAccess.dropWriteEntries(cpu, unit.identityOf(page));
                }
            }
        }
    }

    private void remove(Block b) {
        if (!b.valid) {
            return;
        }
        b.valid = false;
        blocks.remove(b.eip, b);
        int stop = stopSlot(b.eip);
        if (straightRunStops[stop] == Integer.toUnsignedLong(b.eip)) {
            straightRunStops[stop] = -1;
        }
        for (long page : b.pages()) {
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

    private static int stopSlot(int eip) { return eip & (STRAIGHT_RUN_STOPS - 1); }

    /** Marks the areas of block or region {@code b}'s code as holding global or non-global code, as {@code b} was checked. */
    private void markCodeAreas(Block b) {
        if (b.members == null) {
            markCodeAreas(b.eip, b.end - 1, b.global);
            return;
        }
        for (Block unit : b.members) {
            markCodeAreas(unit.eip, unit.end - 1, b.global);
        }
    }

    /** Marks the areas of code from linear {@code first} to {@code last} (a block's first and last byte). */
    private void markCodeAreas(int first, int last, boolean global) {
        markCodeArea(first, global);
        markCodeArea(last, global);
    }

    private void markCodeArea(int linear, boolean global) {
        int area = linear >>> LINEAR_AREA_SHIFT;
        (global ? globalCodeAreas : linearCodeAreas)[area >>> 6] |= 1L << area;
    }

    private void forgetPage(long page) {
        byPage.remove(page);
        codePages[(int) (page >>> 6)] &= ~(1L << page);
    }

    /** Drops every block (size limit reached); their hidden classes become unreachable and are unloaded. */
    void flush() {
        blocks.forEach(b -> b.valid = false);
        blocks.clear();
        cold.clear();
        forgetRecent();
        Arrays.fill(straightRunStops, -1);
        for (Long page : List.copyOf(byPage.keySet())) {
            forgetPage(page);
        }
        Arrays.fill(linearCodeAreas, 0L);
        Arrays.fill(globalCodeAreas, 0L);
        generation++;
        stats.flushes++;
    }

    int size() { return blocks.size(); }

    /** Every translated block and region now in the cache (tests). */
    void forEachBlock(Consumer<Block> action) { blocks.forEach(action); }

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

    /** A CR3 load: only blocks fetched through non-global translations are checked again. */
    @Override
    public void addressSpaceChanged() { spaceGeneration++; }

    /**
     * INVLPG: blocks are checked again only when code was translated from the 4 MiB around that page, and the
     * global ones only when some of that code was fetched through a global translation.
     */
    @Override
    public void pageMappingChanged(long linear) {
        int area = (int) (linear >>> LINEAR_AREA_SHIFT);
        long bit = 1L << area;
        if ((globalCodeAreas[area >>> 6] & bit) != 0) {
            generation++;
        } else if ((linearCodeAreas[area >>> 6] & bit) != 0) {
            spaceGeneration++;
        }
    }

    /**
     * Drops the blocks overlapping {@code [start, start + length)}, physical addresses (writes the CPU did
     * not see: syscalls in user mode, device DMA in system mode).
     */
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
