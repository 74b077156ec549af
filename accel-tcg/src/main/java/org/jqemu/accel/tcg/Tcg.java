package org.jqemu.accel.tcg;

import org.jqemu.target.i386.X86Cpu;

/**
 * The translating engine for one {@link X86Cpu}: same contract as {@link X86Cpu#run(long)} (exit codes,
 * EIP and state at exits, no exception escaping), executing translated blocks where it can and the
 * interpreter one instruction at a time elsewhere.
 *
 * <p>Dispatch: the block for the current EIP is found through the previous block's link for the exit it
 * took (a successor cache checked against EIP), else the hash table, else translated now. A block is only
 * entered when its instructions fit in the remaining budget, so {@code run(n)} retires at most n
 * instructions exactly like the interpreter. Blocks run in Linux user mode and in system mode's protected
 * mode with 32-bit flat code (see {@link CpuAccess#translatable}); elsewhere the interpreter runs.
 *
 * <p>System mode: before each block the engine looks for events (halt, NMI, an interrupt request with IF
 * set) and lets the interpreter take them at that boundary, so an interrupt waits at most one block (a
 * block looping on itself stops within the budget {@code run} was given); a stop request made through
 * {@link X86Cpu#requestStop} ends {@code run} at the next block boundary.
 *
 * <p>Engine selection: system property {@value #ENGINE_PROPERTY} = {@code tcg} (the default of the front
 * ends) or {@code interp} (the interpreter alone, the reference); see {@link #engine}.
 */
public final class Tcg {
    public static final String ENGINE_PROPERTY = "jqemu.engine";
    /** Most guest instructions in one block unless {@link #setMaxBlockInstructions} says otherwise. */
    public static final int DEFAULT_MAX_BLOCK_INSTRUCTIONS = CodeCache.MAX_BLOCK_INSTRUCTIONS;
    /**
     * User mode: most instructions one block or region execution may retire (looping on itself). Stop requests
     * (another thread's signal, exit_group, a TLB shootdown for munmap) are seen only between executions: at
     * 1 Mi a thread spinning in a loop held a munmap of another thread 0.4-1.9 ms (median); 16 Ki costs
     * one block entry per 16 Ki instructions (linux-user/README-processes.md, "Session 12 (uleft)").
     */
    private static final int MAX_BLOCK_BUDGET = 1 << 14;
    /**
     * System mode: most instructions one block or region execution may retire. Events are polled between
     * executions; inside one, only another thread can make one pending (devices run between the run loop's
     * slices), so this bounds how late such an event is taken.
     */
    private static final int MAX_SYSTEM_BLOCK_BUDGET = 4096;
    /**
     * Instructions {@link #run} lets linked blocks run one after another before it polls events and stop
     * requests again (bounds how late an interrupt is taken, like {@link #MAX_SYSTEM_BLOCK_BUDGET}).
     */
    static final int CHAIN_INSTRUCTIONS = Integer.getInteger("jqemu.tcg.chain", 4096);
    /**
     * System mode: an EIP with no block yet starts a straight run of the interpreter
     * ({@link X86Cpu#runStraight}) rather than one instruction ({@code -Djqemu.tcg.straight=false}: one).
     */
    static final boolean STRAIGHT_RUNS = Boolean.parseBoolean(System.getProperty("jqemu.tcg.straight", "true"));
    /** Most instructions of one straight run (bounds how late the engine looks for events and stop requests). */
    private static final int STRAIGHT_RUN_MAX = 256;
    /** Executions of an open region between polls of whether its code is compiled yet (a power of two). */
    private static final int ENTRY_POLL = 64;
    /** A block no region could be made for is tried again after twice its executions, up to this factor. */
    private static final int MAX_REGION_WAIT = 64;
    /** Default of {@link #setRegionTries}, {@code -Djqemu.tcg.regionTries=N}. */
    static final int DEFAULT_REGION_TRIES = Integer.getInteger("jqemu.tcg.regionTries", 1);
    /** Successor links per block: exit 0, exit 1, the last dynamic target. */
    private static final int KIND_SLOTS = 3;
    /** Replays per window of {@link #checkMissExitRate} (a power of two). */
    static final int MISS_EXIT_WINDOW = 64;
    /** Guest instructions per replay below which misses leave too often (see {@link #checkMissExitRate}). */
    static final int MISS_EXIT_SPACING = 64;

    private final X86Cpu cpu;
    private final TcgStats stats = new TcgStats();
    private final CodeCache cache;
    private volatile boolean stopRequested;
    /** The block run last and the exit it took, for chaining; null after interpreted instructions. */
    private Block previous;
    private int previousKind;
    /** The CPU was in a translatable mode at the last check and only blocks ran since. */
    private boolean modeChecked;
    /** Blocks reach their successors through cached links (QEMU's chaining; {@code -d nochain} turns it off). */
    private boolean chaining = true;
    private TcgLog log;
    /** The CPU is not in Linux user mode: events are checked between blocks. */
    private boolean system;
    /** The region threshold's multiple up to which a block that got no region tries again (see {@link #setRegionTries}). */
    private int closedRegionWait = regionWaitForTries(DEFAULT_REGION_TRIES);
    /** The guest's instruction count when the current window of replays began (see {@link #checkMissExitRate}). */
    private long replayWindowStart;

    public Tcg(X86Cpu cpu) { this(cpu, CodeCache.DEFAULT_LIMIT, CodeCache.DEFAULT_HOT_THRESHOLD); }

    /** Blocks kept for QEMU's {@code tb-size} (MiB of translated code): about 4 KiB per block (class, bytecode, host code). */
    public static int cacheLimitForTbSize(long mebibytes) {
        return (int) Math.max(256, Math.min(1 << 20, mebibytes * 256));
    }

    /** The default number of blocks kept before the cache is flushed. */
    public static int defaultCacheLimit() { return CodeCache.DEFAULT_LIMIT; }

    /**
     * {@code cacheLimit}: blocks kept before the whole cache is flushed; {@code hotThreshold}: visits of an
     * EIP before its block is translated (0: at once).
     */
    public Tcg(X86Cpu cpu, int cacheLimit, int hotThreshold) {
        if (cacheLimit < 1 || hotThreshold < 0) {
            throw new IllegalArgumentException("cache limit must be positive and the threshold not negative: "
                    + cacheLimit + ", " + hotThreshold);
        }
        this.cpu = cpu;
        this.cache = new CodeCache(cpu, cacheLimit, hotThreshold, stats);
        CpuAccess.setCodeWatcher(cpu, cache);
    }

    /** At most {@code n} guest instructions per block from now on (1: QEMU's one-insn-per-tb); flushes the cache. */
    public void setMaxBlockInstructions(int n) {
        if (n < 1 || n > CodeCache.MAX_BLOCK_INSTRUCTIONS) {
            throw new IllegalArgumentException("instructions per block must be 1.." + CodeCache.MAX_BLOCK_INSTRUCTIONS + ": " + n);
        }
        if (cache.maxInstructions != n) {
            cache.maxInstructions = n;
            cache.flush();
        }
    }

    /**
     * Executions after which a block becomes the head of a region (its hot successors compiled with it into
     * one method); 0 turns regions off. Regions are only made while chaining is on and blocks may hold more
     * than one instruction.
     */
    public void setRegionThreshold(int executions) {
        if (executions < 0) {
            throw new IllegalArgumentException("region threshold must not be negative: " + executions);
        }
        cache.regionThreshold = executions;
    }

    /**
     * Guest instructions a region retires before it is compiled again as a class C2 may compile (the hot tier,
     * see CodeCache.promote), for regions built from now on; 0 turns it off.
     */
    public void setHotInstructions(long instructions) {
        if (instructions < 0) {
            throw new IllegalArgumentException("hot tier threshold must not be negative: " + instructions);
        }
        cache.hotInstructions = instructions;
    }

    /**
     * Blocks translated from now on reach guest RAM with a raw inline access (the CPU's flat page table read in
     * the generated code, then an Unsafe load or store at the page's host address; see RamAccess and the MMU's
     * FlatTlb) instead of a call of the MMU, unless {@code -Djqemu.tcg.inlineTlb} names a path, or
     * jdk.internal.misc is not exported to us. Both front ends ask for it: in user mode about a third less
     * guest CPU where memory accesses dominate and no TLB misses for large working sets (bzip2); on a Linux boot
     * about 6% less wall time than the MMU call (session 8; figures in README-design.md).
     */
    public void preferRawMemoryAccess() { cache.tlbPath = BlockCompiler.tlbPathOr(BlockCompiler.TlbPath.FLAT); }

    /**
     * As {@link #preferRawMemoryAccess}, but a miss of the flat table leaves the block or region (the MMU fills
     * the entry, the interpreter replays the instruction) instead of calling the MMU and going on: the miss path
     * never rejoins the hit path, so C1 keeps guest registers in host registers across accesses (busybox gzip -9:
     * 5-22% less guest-thread CPU; "Session 12 (hotcode)" in README-design.md). For user mode, where a miss is
     * a page's first access, an access across a page end or a store into a page holding code: all rare; and
     * system mode since session 13 (the kernel's decompressor: 6-13% less machine-thread CPU), where an MMIO
     * access in a translated loop would leave every time, until {@link #checkMissExitRate} turns this off.
     */
    public void preferRawMemoryAccessLeavingOnMisses() {
        cache.tlbPath = BlockCompiler.tlbPathOr(BlockCompiler.TlbPath.FLAT_EXIT);
    }

    /**
     * Open regions (off by default, {@code -Djqemu.tcg.openRegions=true}): a region's other members become
     * entries into it, its dynamic exits continue at any member, and a hot entry or a block no region was
     * made for tries again later (see README-design.md, "Decompressor: staying in generated code").
     */
    public void setOpenRegions(boolean on) { cache.openRegions = on; }

    /**
     * How many times a hot block tries for a (closed) region, at 1, 2, 4, ... times the region threshold, until
     * one is made: a loop's other blocks may not be translated, or not installed yet, when its head first gets hot.
     */
    public void setRegionTries(int tries) {
        if (tries < 1) {
            throw new IllegalArgumentException("region tries must be positive: " + tries);
        }
        closedRegionWait = regionWaitForTries(tries);
    }

    private static int regionWaitForTries(int tries) {
        return Math.min(MAX_REGION_WAIT, 1 << Math.min(30, Math.max(0, tries - 1)));
    }

    /**
     * Whether a block already in a region (a member of an installed one, or chosen for one being compiled in the
     * background) may head another region (on by default; linux-user turns it off). Each of a loop's blocks got
     * hot while the first region of that loop was compiled, and headed a region of the same loop: C1 compiled
     * them all and the hot tier promoted several (README-design.md, "Session 14 (regions)").
     */
    public void setOverlappingRegions(boolean allowed) { cache.overlappingRegions = allowed; }

    /** Most blocks of a region along a hot path no loop closes (0: none; see CodeCache#keepHotPath). */
    public void setPathRegionBlocks(int blocks) { cache.pathBlocks = blocks; }

    /** The most blocks of a path region: {@code -Djqemu.tcg.pathBlocks=N} if given, else {@code frontEndDefault}. */
    public static int pathRegionBlocks(int frontEndDefault) { return CodeCache.pathBlocksOr(frontEndDefault); }

    private static final boolean BACKGROUND_TRANSLATION_ALLOWED =
            Boolean.parseBoolean(System.getProperty("jqemu.tcg.backgroundTranslation", "true"));

    /**
     * Background translation (system mode's default, {@code -Djqemu.tcg.backgroundTranslation=false} turns it
     * off): a hot EIP's block is decoded on the guest's thread and compiled (class bytes, hidden class
     * definition) on a background thread while the interpreter goes on running that code; {@link #run}
     * installs the compiled blocks whose guest bytes did not change meanwhile. Off, a block is compiled
     * where it became hot, before the guest goes on (user mode, the tests' exact translation points).
     */
    public void setBackgroundTranslation(boolean on) {
        cache.backgroundTranslation = on && BACKGROUND_TRANSLATION_ALLOWED;
    }

    /**
     * Regions alone compiled in the background (user mode's default; {@code -Djqemu.tcg.backgroundTranslation=false}
     * turns it off): a region's members are chosen and decoded on the guest's thread as before, and its class
     * (a method of up to 7.5 KB, several milliseconds to build, define and verify) is built on the translator
     * thread while the member blocks keep running; {@link #run} installs it as {@link #setBackgroundTranslation}
     * installs regions. Blocks are still compiled where they became hot.
     */
    public void setBackgroundRegions(boolean on) {
        cache.backgroundRegions = on && BACKGROUND_TRANSLATION_ALLOWED;
    }

    /** Whether a block's exits follow cached links to their successors (off: a hash lookup for every block). */
    public void setChaining(boolean on) { chaining = on; }

    /** QEMU's {@code -d in_asm,out_asm,exec} output for this engine, or null for none. */
    public void setLog(TcgLog log) {
        this.log = log;
        cache.log = log;
    }

    /** The engines a front end can run a CPU with. */
    public enum Engine { TRANSLATOR, INTERPRETER }

    /**
     * The engine {@value #ENGINE_PROPERTY} asks for ({@code tcg}; {@code interp} or {@code interpreter}, any
     * case), or {@code defaultEngine} when it is absent or names neither: the one reading of the property
     * for both front ends.
     */
    public static Engine engine(Engine defaultEngine) {
        String value = System.getProperty(ENGINE_PROPERTY, "").toLowerCase(java.util.Locale.ROOT);
        return switch (value) {
            case "tcg" -> Engine.TRANSLATOR;
            case "interp", "interpreter" -> Engine.INTERPRETER;
            default -> defaultEngine;
        };
    }

    /** Whether {@value #ENGINE_PROPERTY} asks for the interpreter alone (both front ends default to the translator). */
    public static boolean interpreterRequested() { return engine(Engine.TRANSLATOR) == Engine.INTERPRETER; }

    public X86Cpu cpu() { return cpu; }

    public TcgStats stats() { return stats; }

    /** The block cache (tests). */
    CodeCache cache() { return cache; }

    /** Makes a running {@link #run} return {@link X86Cpu#EXIT_BUDGET} at the next block boundary (any thread). */
    public void requestStop() {
        stopRequested = true;
        cpu.requestStop();
    }

    /**
     * Guest memory at {@code [address, address + length)} was written without going through this CPU
     * (a syscall such as read(2) filling a buffer, another CPU, a device): drops the blocks it overlaps.
     */
    public void invalidate(long address, long length) {
        cache.invalidate(address & 0xffff_ffffL, Math.max(0, length));
    }

    /** Drops every block (guest memory was rewritten behind the CPU's back, e.g. by a machine reset). */
    public void invalidateAll() {
        cache.flush();
        previous = null;
    }

    /** Executes up to {@code maxInstructions}; returns an {@code X86Cpu.EXIT_*} code. */
    public int run(long maxInstructions) {
        stopRequested = false;
        modeChecked = false; // the caller may have changed the CPU's state between runs
        system = !CpuAccess.userMode(cpu);
        if (cache.compilesInBackground() && cache.installCompiled()) {
            previous = null; // a region may have replaced the block run last
        }
        cache.installHotCopies();
        long done = 0;
        while (done < maxInstructions) {
            if (stopRequested || CpuAccess.takeStopRequest(cpu)) {
                return X86Cpu.EXIT_BUDGET;
            }
            long before = cpu.instructionCount();
            int r = dispatch(maxInstructions - done, chaining ? CHAIN_INSTRUCTIONS : 0, system && STRAIGHT_RUNS);
            done += Math.max(1, cpu.instructionCount() - before);
            if (r != X86Cpu.EXIT_BUDGET) {
                return r;
            }
        }
        return X86Cpu.EXIT_BUDGET;
    }

    /**
     * Runs one block, or one instruction in the interpreter when no block fits (at most {@code budget}
     * instructions); returns an exit code. Public for lockstep testing against the interpreter.
     */
    public int step(long budget) {
        if (cache.compilesInBackground() && cache.installCompiled()) {
            previous = null;
        }
        cache.installHotCopies();
        modeChecked = false;
        system = !CpuAccess.userMode(cpu);
        return dispatch(budget);
    }

    private int dispatch(long budget) {
        return dispatch(budget, 0, false);
    }

    /**
     * Runs the block at EIP and then, up to {@code chainLimit} more instructions, its successors (through
     * the exit's link, checked against EIP and current, else the hash table) without returning to
     * {@link #run}: no event poll or stop-request check between chained blocks. Events are polled before the first block, so one waits
     * at most {@code chainLimit} instructions plus a block (see {@link #CHAIN_INSTRUCTIONS}). With
     * {@code straight}, an EIP with no block yet (cold) starts a straight run of the interpreter (see
     * {@link #STRAIGHT_RUNS}) instead of one instruction.
     */
    private int dispatch(long budget, int chainLimit, boolean straight) {
        if (system && CpuAccess.eventPending(cpu)) {
            stats.eventExits++;
            return interpretOne(); // the interpreter takes the event at this boundary (or reports the halt)
        }
        Block b = null;
        // Blocks never change the mode (segments, CPL, TF, sizes), so it is only re-checked after the interpreter ran.
        if (modeChecked || (modeChecked = CpuAccess.translatable(cpu))) {
            try {
                b = blockAtEip();
            } catch (RuntimeException e) {
                // The fetch at EIP faults (the interpreter raises it) or a translator bug (the interpreter runs the guest correctly).
                stats.lookupFaults++;
                previous = null;
            }
        }
        if (b == null || b.code == null || b.code.minBudget > budget) {
            return straight && cold(b) ? interpretStraight(budget) : interpretOne();
        }
        long left = budget;
        int chainLeft = chainLimit;
        int blockLimit = system ? MAX_SYSTEM_BLOCK_BUDGET : MAX_BLOCK_BUDGET;
        // Counted here and added to the statistics on the way out: a counter field incremented per block is a load and a store.
        int executed = 0;
        int chained = 0;
        int linked = 0;
        try {
            while (true) {
                int done = executeBlock(b, (int) Math.min(left, blockLimit));
                if (done < 0) {
                    return interpretOne();
                }
                executed++;
                Block prev = previous;
                left -= done;
                chainLeft -= done;
                if (prev == null || chainLeft <= 0 || left <= 0 || stopRequested) {
                    return X86Cpu.EXIT_BUDGET;
                }
                int eip = (int) cpu.eip();
                Block next = linkedSuccessor(prev, eip);
                if (next != null) {
                    linked++;
                } else {
                    try {
                        next = lookupAndLink(prev, eip); // the hash table (and a new link)
                    } catch (RuntimeException e) {
                        stats.lookupFaults++;
                        return interpretOne();
                    }
                }
                if (next == null || next.code == null || next.code.minBudget > left) {
                    // as dispatch would (the interpreter takes any event first)
                    return straight && cold(next) ? interpretStraight(left) : interpretOne();
                }
                chained++;
                b = next;
            }
        } finally {
            stats.blocksExecuted += executed;
            stats.chained += chained;
            stats.chainHits += linked;
        }
    }

    /**
     * Executes block {@code b} with at most {@code budget} instructions; returns the instructions it
     * completed (they are retired), or -1 when the interpreter must run the next instruction (a fault to
     * replay, an error outside any instruction). Leaves {@link #previous} at {@code b} when its exit may be
     * chained.
     */
    private int executeBlock(Block b, int budget) {
        if (log != null) {
            logExecuting(b);
        }
        cache.codeDirty = false;
        cache.budget = budget;
        cache.entry = b.entry;
        int result;
        try {
            result = b.code.execute(cpu, cache);
        } catch (RuntimeException | StackOverflowError e) {
            // Outside any instruction (entry or exit code): the state is still the block's entry state.
            stats.blockErrors++;
            return -1;
        }
        int done = result >>> 8;
        CpuAccess.addRetired(cpu, done);
        int kind = result & 0xff;
        if (kind > BlockCompiler.KIND_DYNAMIC) {
            return leftWithoutExit(b, kind, budget);
        }
        previous = cache.codeDirty ? null : b;
        previousKind = kind;
        if ((b.hotCountdown -= done) < 0) {
            b.hotCountdown = Long.MAX_VALUE;
            cache.promote(b);
        }
        int heat = ++b.heat;
        if (heat >= b.nextEvent) { // (a block past every threshold never again)
            heatEvents(b, heat);
            b.nextEvent = nextEvent(b, heat);
        }
        return done;
    }

    /**
     * Block {@code b} returned without taking an exit: a fault for the interpreter to replay (-1), or a region refused
     * to run (a page base it needs could not be made), when its head's own block runs. Out of {@link #executeBlock}'s
     * line, and not inlined by C2 (bin/jit-directives*.json): the engine's loop then tests one branch, taken as soon as
     * a first fault is replayed; a refusal of its own, which the AOT training never sees, trapped the compiled loop the
     * first time a region refused (busybox sh loop: three of its seven compilations).
     */
    private int leftWithoutExit(Block b, int kind, int budget) {
        if (kind == BlockCompiler.KIND_REFUSED) {
            stats.regionRefusals++;
            return executeBlock(b.members[0], budget); // (a refusal comes before any instruction: done is 0)
        }
        stats.blocksExecuted++; // a fault (the caller counts the others)
        if ((++stats.faultsReplayed & (MISS_EXIT_WINDOW - 1)) == 0) {
            checkMissExitRate();
        }
        return -1;
    }

    /**
     * {@code FLAT_EXIT}'s safety valve, after every {@link #MISS_EXIT_WINDOW} replays (a miss that leaves is one;
     * faults are the others): if they came within fewer than {@link #MISS_EXIT_SPACING} guest instructions each,
     * misses are not rare here (a loop storing into a page that holds code, or reaching a new page at each
     * iteration), and the engine drops its code and translates on with misses that call the MMU ({@code FLAT},
     * the path before session 12). First touches of pages are far apart: busybox gzip, bzip2 and sha256sum of
     * 4 MB replay 7-3,176 times in 0.35-2 G instructions, the densest 64 of gzip's over 44,000 instructions.
     */
    private void checkMissExitRate() {
        long now = cpu.instructionCount();
        if (cache.tlbPath == BlockCompiler.TlbPath.FLAT_EXIT && now - replayWindowStart < MISS_EXIT_WINDOW * MISS_EXIT_SPACING) {
            cache.tlbPath = BlockCompiler.TlbPath.FLAT;
            invalidateAll();
        }
        replayWindowStart = now;
    }

    /**
     * The next heat after {@code heat} at which {@link #heatEvents} may act on block {@code b} (a region's attempt at
     * the region threshold times its wait, an open region's entries every {@link #ENTRY_POLL} executions, a tier-1
     * request), or {@link Integer#MAX_VALUE}. The engine looks at a block's heat only there: a comparison that is
     * true in a block's first executions, so that the profile HotSpot compiles the engine's loop from has seen both
     * ways (the check it replaces, whether the heat was past every threshold, was true only after 256,000 executions
     * of a block, and its first such block threw the compiled loop away). A threshold changed by a setter applies to a
     * block from its next event on.
     */
    private int nextEvent(Block b, int heat) {
        long next = Integer.MAX_VALUE;
        long region = (long) cache.regionThreshold * b.regionWait;
        if (region > heat) {
            next = region;
        }
        if (b.members == null && cache.tier1Executions > heat) {
            next = Math.min(next, cache.tier1Executions);
        }
        if (b.entriesPending) {
            next = Math.min(next, (heat | (ENTRY_POLL - 1)) + 1L);
        }
        return (int) next;
    }

    /** What block {@code b}'s {@code heat}-th execution starts: a region, its entries, a tier-1 request. */
    private void heatEvents(Block b, int heat) {
        if (heat == cache.regionThreshold * b.regionWait && chaining && cache.maxInstructions > 1) {
            tryRegion(b);
        } else if (b.entriesPending && (heat & (ENTRY_POLL - 1)) == 0) {
            cache.addEntriesWhenCompiled(b);
        } else if (heat == cache.tier1Executions && b.members == null) {
            cache.requestTier1(b); // before HotSpot's policy would profile it at tier 3
        }
    }

    /** Hot block {@code b} heads a region, or tries again later (see {@link #nextRegionWait}). */
    private void tryRegion(Block b) {
        if (cache.inAnotherRegion(b)) {
            stats.regionsDeferred++;
            b.regionWait++; // after another threshold's worth of runs as a block: that region may be refused or dropped
        } else if (cache.buildRegion(b)) {
            previous = null;
        } else {
            b.regionWait = nextRegionWait(b.regionWait);
        }
    }

    /**
     * The region threshold's multiple at which a block that got no region tries again: open regions double it
     * (its loop may still be warming up), as do closed ones for their {@link #setRegionTries} tries; with path
     * regions, once more at {@link CodeCache#PATH_WAIT} (see there); else 0, no more tries.
     */
    private int nextRegionWait(int wait) {
        if ((wait < MAX_REGION_WAIT && cache.openRegions) || wait < closedRegionWait) {
            return 2 * wait;
        }
        return wait < CodeCache.PATH_WAIT && cache.pathBlocks > 1 ? CodeCache.PATH_WAIT : 0;
    }

    private void logExecuting(Block b) { log.executing(b); }

    /**
     * No block yet at this EIP, and not because its instruction cannot be translated: such an instruction
     * (CLI, IN, a page-crossing one) is interpreted alone so that the translated block after it runs next.
     */
    private boolean cold(Block b) {
        return b == null || (b.code == null && !cache.rejected(b));
    }

    /**
     * Cold code: the interpreter runs on until control flow leaves the straight line or falls through to a
     * translated block's start (the cache's stop table; at most {@code budget} and {@link #STRAIGHT_RUN_MAX}
     * instructions), and only the EIPs where runs start are looked up and
     * counted toward translation, instead of every instruction going through the lookup, the event poll
     * and the mode check.
     */
    private int interpretStraight(long budget) {
        previous = null;
        modeChecked = false;
        long before = cpu.instructionCount();
        int r = cpu.runStraight(Math.min(budget, STRAIGHT_RUN_MAX));
        stats.interpreted += cpu.instructionCount() - before;
        return r;
    }

    private int interpretOne() {
        previous = null;
        modeChecked = false;
        stats.interpreted++;
        return cpu.run(1);
    }

    private Block blockAtEip() {
        int eip = (int) cpu.eip();
        Block prev = previous;
        if (prev != null && chaining) {
            Block linked = linkedSuccessor(prev, eip);
            if (linked != null) {
                stats.chainHits++;
                return linked;
            }
            return lookupAndLink(prev, eip);
        }
        return cache.lookup(eip);
    }

    /** The successor {@code prev}'s exit ({@link #previousKind}) is linked to, if it starts at {@code eip} and is current; else null. */
    private Block linkedSuccessor(Block prev, int eip) {
        Block linked = prev.next[exitSlot()];
        return linked != null && linked.eip == eip && cache.current(linked) ? linked : null;
    }

    /** The link slot of the exit the previous block took ({@link #previousKind}). */
    private int exitSlot() { return Math.min(previousKind, KIND_SLOTS - 1); }

    /** The block at {@code eip} from the hash table, linked from {@code prev}'s exit when translated. */
    private Block lookupAndLink(Block prev, int eip) {
        Block b = cache.lookup(eip);
        if (b != null && b.code != null) { // cold entries are reached through lookup, which counts visits
            prev.next[exitSlot()] = b;
        }
        return b;
    }
}
