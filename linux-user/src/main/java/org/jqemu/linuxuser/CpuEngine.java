package org.jqemu.linuxuser;

import java.io.PrintStream;
import java.util.Set;

import org.jqemu.accel.tcg.Tcg;
import org.jqemu.accel.tcg.TcgLog;
import org.jqemu.target.i386.X86Cpu;

/**
 * How a guest process's CPU runs: the dynamic translator (accel-tcg, the default) or the interpreter
 * ({@code -Djqemu.engine=interp}), and the one place that tells the translator about guest memory that
 * changed without a CPU store: system calls that fill buffers (read, pread, readv) or replace mappings
 * (mmap, munmap, mremap, mprotect, brk) invalidate the translated blocks they overlap.
 */
final class CpuEngine {
    /** System property choosing the engine: {@code tcg} (default in user mode) or {@code interp}. */
    static final String ENGINE_PROPERTY = Tcg.ENGINE_PROPERTY;
    /** System property: visits of an address before it is translated (tests use 0 to translate everything). */
    static final String HOT_PROPERTY = "jqemu.tcg.hot";
    static final int DEFAULT_HOT_THRESHOLD = 16;
    static final int DEFAULT_CACHE_BLOCKS = Tcg.defaultCacheLimit();

    // i386 system call numbers whose effects reach guest code without a CPU store
    private static final int READ = 3, EXECVE = 11, BRK = 45, MMAP = 90, MUNMAP = 91, MPROTECT = 125, READV = 145,
            MREMAP = 163, PREAD64 = 180, MMAP2 = 192, PREADV = 333, PREADV2 = 378, EXECVEAT = 358;
    private static final long ALL_MEMORY = 1L << 32;

    /** What the command line asked of the engine. */
    record Options(boolean interpreter, boolean oneInsnPerTb, int cacheBlocks, int hotThreshold, boolean noChain,
                   Set<String> logItems, boolean stats, PrintStream log) {
        /** The defaults, with the engine and hot threshold from the system properties. */
        static Options fromProperties() {
            return new Options(interpreterSelected(), false, DEFAULT_CACHE_BLOCKS,
                    Integer.getInteger(HOT_PROPERTY, DEFAULT_HOT_THRESHOLD), false, Set.of(), false, null);
        }
    }

    /** Most blocks of a path region in user mode (system mode has none: see CodeCache's DEFAULT_PATH_BLOCKS). */
    private static final int USER_PATH_REGION_BLOCKS = Tcg.pathRegionBlocks(8);

    private final X86Cpu cpu;
    private final Tcg tcg;
    private final Options options;
    private final GuestMemory memory;
    private int syscall;
    private long arg0, arg1, arg2;
    /** The program break the last brk() returned (-1 before the first). */
    private long lastBrk = -1;

    CpuEngine(X86Cpu cpu, GuestMemory memory, Options options) {
        this.cpu = cpu;
        this.memory = memory;
        this.options = options;
        if (options.interpreter()) {
            tcg = null;
            return;
        }
        tcg = new Tcg(cpu, options.cacheBlocks(), options.hotThreshold());
        tcg.setMaxBlockInstructions(options.oneInsnPerTb() ? 1 : Tcg.DEFAULT_MAX_BLOCK_INSTRUCTIONS);
        tcg.setChaining(!options.noChain());
        tcg.preferRawMemoryAccessLeavingOnMisses(); // a process's few hundred hot blocks: see Tcg and accel-tcg/README-design.md
        tcg.setBackgroundRegions(true); // its blocks run on meanwhile: accel-tcg/README-design.md, "Session 10 (usermode)"
        tcg.setOverlappingRegions(false); // one region per loop: accel-tcg/README-design.md, "Session 14 (regions)"
        // A hot block no loop region holds (a big loop's glue between its inner loops' regions) heads a region of its
        // hot path: busybox bzip2 and gzip -9 of 16 MB 7% and 3% less wall time (accel-tcg/README-design.md, "Session 17")
        tcg.setPathRegionBlocks(USER_PATH_REGION_BLOCKS);
        if (options.log() != null && TcgLog.wanted(options.logItems())) {
            tcg.setLog(new TcgLog(options.log(), options.logItems()));
        }
    }

    static boolean interpreterSelected() { return Tcg.interpreterRequested(); }

    /** The translator, or null when the interpreter runs the guest. */
    Tcg tcg() { return tcg; }

    int run(long budget) { return tcg != null ? tcg.run(budget) : cpu.run(budget); }

    /** Records the system call about to run (EAX and its first arguments are overwritten by then). */
    void beforeSyscall() {
        if (tcg == null) {
            return;
        }
        syscall = (int) cpu.reg(X86Cpu.EAX);
        arg0 = cpu.reg(X86Cpu.EBX);
        arg1 = cpu.reg(X86Cpu.ECX);
        arg2 = cpu.reg(X86Cpu.EDX);
    }

    /** Drops the translated blocks that the system call just run may have overwritten or unmapped. */
    void afterSyscall() {
        if (tcg == null) {
            return;
        }
        long result = cpu.reg(X86Cpu.EAX);
        boolean failed = (int) result < 0 && (int) result >= -4095;
        switch (syscall) {
            case READ, PREAD64 -> {
                if (!failed) {
                    tcg.invalidate(arg1, result);
                }
            }
            case READV, PREADV, PREADV2 -> {
                if (!failed) {
                    invalidateVector(arg1, arg2);
                }
            }
            case MMAP, MMAP2 -> {
                if (!failed) {
                    tcg.invalidate(result, syscall == MMAP2 ? arg1 : oldMmapLength());
                }
            }
            case MUNMAP, MPROTECT -> tcg.invalidate(arg0, arg1);
            case BRK -> {
                // the pages between the old and the new break were unmapped or mapped afresh
                if (lastBrk >= 0) {
                    tcg.invalidate(Math.min(lastBrk, result), Math.abs(result - lastBrk));
                }
                lastBrk = result;
            }
            case MREMAP, EXECVE, EXECVEAT -> tcg.invalidate(0, ALL_MEMORY);
            default -> { }
        }
    }

    /** old_mmap(struct mmap_arg_struct *): the length is the struct's second word. */
    private long oldMmapLength() {
        try {
            return memory.readInt(arg0 + 4) & 0xffff_ffffL;
        } catch (RuntimeException e) {
            return ALL_MEMORY;
        }
    }

    private void invalidateVector(long iov, long count) {
        try {
            for (int i = 0; i < Math.min(count, 1024); i++) {
                tcg.invalidate(memory.readInt(iov + 8L * i) & 0xffff_ffffL, memory.readInt(iov + 8L * i + 4) & 0xffff_ffffL);
            }
        } catch (RuntimeException e) {
            tcg.invalidate(0, ALL_MEMORY); // the vector itself went away: be safe
        }
    }

    /** At exit: the translator's statistics when asked for ({@code -d jit}). */
    void printStatistics() {
        if (tcg != null && options.stats() && options.log() != null) {
            options.log().println("jit: " + tcg.stats() + ", guest instructions " + tcg.cpu().instructionCount());
        }
    }
}
