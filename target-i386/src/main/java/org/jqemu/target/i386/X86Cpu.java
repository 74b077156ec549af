package org.jqemu.target.i386;

import org.jqemu.fpu.X87;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.IrqLine;

/**
 * One x86 CPU: the public face of the target. Front ends (system mode, Linux user mode, tests)
 * use only this API; decoder, interpreter, flags, segmentation and paging live behind it.
 *
 * <p>CONTRACT:
 * <ul>
 * <li>Registers are 64 bits wide (ready for x86_64); in 32-bit modes the upper half is zero.</li>
 * <li>{@link #run(long)} executes up to {@code maxInstructions} and returns an {@code EXIT_*} code. No
 *     Java exception escapes it: an emulator bug ends it with {@link #EXIT_INTERNAL_ERROR}.</li>
 * <li>In user mode ({@link #enterUserMode32()}), INT n, SYSENTER and every exception do not go through
 *     an IDT: {@code run} stops with {@link #EXIT_INTERRUPT}, {@link #EXIT_SYSCALL} or {@link #EXIT_EXCEPTION},
 *     EIP pointing after INT n / SYSENTER / INT3 / INTO (traps), or at the faulting instruction for a fault,
 *     so that the caller (linux-user) emulates the kernel and calls {@code run} again. User-mode memory
 *     protection follows Page.prot as a 32-bit x86 with NX does: any mapped page is readable, writes need
 *     WRITE, instruction fetches need EXEC; a violation is #PF with the error code paging would give
 *     (P, W/R, U=1, I/D for fetches) and {@link #faultAddress()} = CR2.</li>
 * </ul>
 *
 * <p>DESIGN. The class hierarchy splits one CPU into files, each layer seeing the fields of the ones below:
 * {@code CpuState} (64-bit register file {@code long[16]}, EFLAGS, segment descriptor caches, control
 * registers, and the lazy arithmetic flags: the last flag-setting operation's kind, size, operands and
 * result, from which CF/PF/AF/ZF/SF/OF are computed only when read) → {@code Mmu} (segment limit/rights
 * checks, a software TLB of 4 KiB linear pages to host RAM slices read with little-endian unaligned
 * {@code ValueLayout}s, the page walk with A/D bits, MMIO dispatch, LOCKed read-modify-writes as
 * compare-and-set on the RAM segment) → {@code SystemUnit} (descriptors, gates, privilege changes, IVT/IDT
 * delivery, IRET, task switches, I/O bitmap, MSRs) → {@code Interpreter} (prefix scan, ModR/M and SIB
 * decoding, every integer instruction of a P6; x87 escapes go to the fpu module's {@link X87}) →
 * {@code SystemInstructions} → this class (run loop, event delivery, double faults, the API).
 * Faults are {@code CpuFault}, an unchecked exception without stack trace, caught here per instruction.
 */
public final class X86Cpu extends SystemInstructions {
    public static final int EAX = 0, ECX = 1, EDX = 2, EBX = 3, ESP = 4, EBP = 5, ESI = 6, EDI = 7;
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

    /** The instruction budget ran out (or {@link #requestStop()} was called). */
    public static final int EXIT_BUDGET = 0;
    /** HLT executed and no interrupt is pending (user mode: HLT is privileged, see EXIT_EXCEPTION). */
    public static final int EXIT_HALT = 1;
    /** INT n in user mode: {@link #exitVector()} is n, EIP is after the instruction. */
    public static final int EXIT_INTERRUPT = 2;
    /** SYSENTER in user mode: EIP is after the instruction. */
    public static final int EXIT_SYSCALL = 3;
    /** An exception in user mode: vector, error code and (for #PF) {@link #faultAddress()}; EIP at the faulting instruction for faults. */
    public static final int EXIT_EXCEPTION = 4;
    /** System mode: triple fault, the machine must reset. */
    public static final int EXIT_SHUTDOWN = 5;
    /** An emulator bug: {@link #internalError()} says what; the CPU state is that before the instruction. */
    public static final int EXIT_INTERNAL_ERROR = 6;

    private InterruptSource interruptSource;
    private volatile boolean nmiPending;
    private volatile boolean stopRequested;
    private boolean nmiBlocked;
    private int exitVector, exitErrorCode;
    private String internalError;
    /** See {@link #setStraightRunStops}: never null (one slot that no 32-bit EIP matches until set). */
    private long[] straightRunStops = {-1};

    public X86Cpu(AddressSpace memory, IoPorts io) {
        this(memory, io, new X87());
    }

    public X86Cpu(AddressSpace memory, IoPorts io, X87 x87) {
        super(memory, io, x87);
        reset();
    }

    /** The power-on state: real mode, CS:IP = F000:FFF0 with CS base FFFF0000. */
    public void reset() {
        java.util.Arrays.fill(regs, 0);
        regs[EDX] = CPUID_SIGNATURE;
        flags = FIXED_ONE;
        lazyOp = OP_NONE;
        cr0 = CR0_ET | CR0_CD | CR0_NW;
        cr2 = 0;
        cr3 = 0;
        cr4 = 0;
        gdtrBase = 0;
        gdtrLimit = 0xffff;
        idtrBase = 0;
        idtrLimit = 0xffff;
        userMode = false;
        setCpl(0);
        for (int s = ES; s <= GS; s++) {
            setSegmentCache(s, 0, 0, 0xffff, 0x93);
        }
        setSegmentCache(CS, 0xf000, 0xffff_0000L, 0xffff, 0x9b);
        setSegmentCache(LDTR, 0, 0, 0xffff, 0x82);
        setSegmentCache(TR, 0, 0, 0xffff, 0x8b);
        eip = 0xfff0;
        halted = false;
        interruptShadow = false;
        nmiBlocked = false;
        firstEventVector = -1;
        java.util.Arrays.fill(dr, 0);
        dr[6] = DR6_FIXED;
        dr[7] = DR7_FIXED;
        debugTrapStatus = 0;
        debugRegistersChanged();
        x87.reset();
        flushTlb();
    }

    /**
     * Full access to this package for the dynamic translator (accel-tcg): its generated blocks are hidden
     * classes defined here, reading the register file, lazy flags and TLB paths directly. Not for other callers.
     */
    public static java.lang.invoke.MethodHandles.Lookup translatorLookup() { return java.lang.invoke.MethodHandles.lookup(); }

    public long reg(int index) { return regs[index]; }

    public void setReg(int index, long value) { regs[index] = value & MASK32; }

    public long eip() { return eip; }

    public void setEip(long value) { eip = value & MASK32; }

    /** EFLAGS with every lazily computed flag materialised. */
    public int eflags() { return materializeFlags(); }

    public void setEflags(int value) {
        boolean wasV86 = v86();
        lazyOp = OP_NONE;
        flags = (value & IMPLEMENTED_FLAGS) | FIXED_ONE;
        if (wasV86 != v86()) {
            recomputeSegmentWindows();
        }
    }

    /**
     * 32-bit protected mode, CPL 3, flat 4 GiB code and data segments, paging off: what a Linux process sees.
     * CS = 0x73 and SS = DS = ES = 0x7b as on Linux i386; FS = GS = 0. Segment loads read a kernel GDT kept
     * inside the CPU (see {@link #setUserGdtEntry}), there is no LDT.
     */
    public void enterUserMode32() {
        userMode = true;
        cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_MP | CR0_AM | CR0_WP; // as Linux sets CR0
        cr4 = CR4_OSFXSR;
        setEflags(IF);
        setCpl(3);
        java.util.Arrays.fill(userGdt, 0);
        userLdt = new UserLdt();
        userGdt[USER_CS >> 3] = makeDescriptor(0, MASK32, 0xc0fb);
        userGdt[USER_DS >> 3] = makeDescriptor(0, MASK32, 0xc0f3);
        setSegmentCache(CS, USER_CS, 0, MASK32, 0xc0fb);
        setSegmentCache(SS, USER_DS, 0, MASK32, 0xc0f3);
        setSegmentCache(DS, USER_DS, 0, MASK32, 0xc0f3);
        setSegmentCache(ES, USER_DS, 0, MASK32, 0xc0f3);
        setSegmentCache(FS, 0, 0, 0, 0);
        setSegmentCache(GS, 0, 0, 0, 0);
        halted = false;
        flushTlb();
    }

    /**
     * User mode: sets entry {@code index} (0-31) of the kernel GDT that segment loads see, as
     * set_thread_area does for TLS (entries 6-8, selectors 0x33/0x3b/0x43). {@code access} is the
     * type/flags byte pair as in {@link #setSegment}; {@code limit} is byte-granular (stored page-granular
     * above 1 MiB). A segment register holding the selector is not reloaded (as on Linux).
     */
    public void setUserGdtEntry(int index, long base, long limit, int access) {
        if (index < 0 || index >= USER_GDT_ENTRIES) {
            throw new IllegalArgumentException("GDT entry " + index + " outside 0.." + (USER_GDT_ENTRIES - 1));
        }
        userGdt[index] = access == 0 ? 0 : makeDescriptor(base, limit, access);
    }

    /**
     * User mode: sets entry {@code index} (0-8191) of the process's LDT, as modify_ldt does, to the raw 8-byte
     * {@code descriptor}; the LDT grows to cover the index. Selectors with TI = 1 read it; a segment
     * register holding the selector is not reloaded.
     */
    public void setUserLdtEntry(int index, long descriptor) {
        if (index < 0 || index >= USER_LDT_MAX) {
            throw new IllegalArgumentException("LDT entry " + index + " outside 0.." + (USER_LDT_MAX - 1));
        }
        if (index >= userLdt.entries.length) {
            userLdt.entries = java.util.Arrays.copyOf(userLdt.entries, index + 1);
        }
        userLdt.entries[index] = descriptor;
    }

    /** User mode: the number of entries in the process's LDT (0 when it has none). */
    public int userLdtEntries() { return userLdt.entries.length; }

    /** User mode: raw descriptor {@code index} of the process's LDT (with the accessed bits the CPU set). */
    public long userLdtEntry(int index) { return userLdt.entries[index]; }

    /**
     * User mode: this CPU sees (and modify_ldt on it changes) the LDT of {@code process}'s CPU from now on, as the
     * threads of one process share its LDT. Call after {@link #enterUserMode32}, which gives a CPU an LDT of its own.
     */
    public void shareUserLdt(X86Cpu process) { userLdt = process.userLdt; }

    /**
     * Loads a segment register with an explicit descriptor cache (user-mode TLS through set_thread_area;
     * tests). {@code access} is the descriptor's type/flags byte pair as in the GDT entry bits 40-55 (the
     * limit bits 16-19 in it are ignored); {@code limit} is the byte-granular limit.
     */
    public void setSegment(int seg, int selector, long base, long limit, int access) {
        checkSegmentIndex(seg);
        setSegmentCache(seg, selector, base, limit, access & 0xf0ff);
        if (seg == CS) {
            setCpl(protectedMode() && !v86() ? selector & 3 : v86() ? 3 : 0);
        }
    }

    /**
     * Loads a segment register as MOV Sreg would in the current mode (real/v86: base = selector * 16;
     * protected: from the GDT/LDT with the privilege checks). CS is allowed here (tests, firmware entry).
     *
     * @throws IllegalArgumentException if the load would fault
     */
    public void loadSegmentRegister(int seg, int selector) {
        checkSegmentIndex(seg);
        if (!protectedMode() || v86()) {
            loadSegmentReal(seg, selector);
            return;
        }
        try {
            if (seg == CS) {
                long d = readDescriptor(selector);
                setSegmentCache(CS, selector, descriptorBase(d), descriptorLimit(d), descriptorAttr(d));
                setCpl(selector & 3);
            } else {
                loadSegment(seg, selector);
            }
        } catch (CpuFault f) {
            throw new IllegalArgumentException("loading selector " + Integer.toHexString(selector) + " faults with vector " + f.vector);
        }
    }

    private static void checkSegmentIndex(int seg) {
        if (seg < ES || seg > GS) {
            throw new IllegalArgumentException("no segment register " + seg);
        }
    }

    public long segmentBase(int seg) { return segBase[seg]; }

    public int segmentSelector(int seg) { return segSel[seg]; }

    public long segmentLimit(int seg) { return segLimit[seg]; }

    public int cpl() { return cpl; }

    /** Control register n (0, 2, 3, 4). */
    public long cr(int n) { return readControlChecked(n); }

    private long readControlChecked(int n) {
        if (n != 0 && n != 2 && n != 3 && n != 4) {
            throw new IllegalArgumentException("no control register " + n);
        }
        return readControl(n);
    }

    public void setGdtr(long base, int limit) {
        gdtrBase = base & MASK32;
        gdtrLimit = limit & 0xffff;
    }

    public void setIdtr(long base, int limit) {
        idtrBase = base & MASK32;
        idtrLimit = limit & 0xffff;
    }

    /** The A20 gate: when disabled, physical address bit 20 reads as zero (PC compatibility). */
    public void setA20(boolean enabled) {
        long mask = enabled ? -1L : ~(1L << 20);
        if (mask != a20Mask) {
            a20Mask = mask;
            flushTlb();
        }
    }

    public boolean halted() { return halted; }

    public X87 fpu() { return x87; }

    /** FERR#: asserted on an unmasked x87 exception when CR0.NE = 0 (a PC wires it to IRQ 13). */
    public void setFerrLine(IrqLine line) { ferr = line == null ? IrqLine.none() : line; }

    public void setInterruptSource(InterruptSource source) { interruptSource = source; }

    /** Observes each interrupt and exception before delivery (null: none). */
    public void setEventObserver(EventObserver observer) { eventObserver = observer; }

    /**
     * What RDTSC counts (before the offset WRMSR to IA32_TIME_STAMP_COUNTER sets). By default the TSC is the
     * number of retired instructions, which makes runs reproducible; a machine may give a time base instead.
     */
    public void setTimeStampCounter(java.util.function.LongSupplier counter) { tscSource = counter; }

    public void raiseNmi() { nmiPending = true; }

    /**
     * Makes {@link #run} return {@link #EXIT_BUDGET} at the next instruction boundary (any thread); a request
     * made while the CPU is not running ends the next {@code run} before its first instruction.
     */
    public void requestStop() { stopRequested = true; }

    public int exitVector() { return exitVector; }

    public int exitErrorCode() { return exitErrorCode; }

    public long faultAddress() { return faultAddress; }

    public String internalError() { return internalError; }

    /** Forget cached translations (after munmap/mprotect in user mode, or CR3 writes in system mode). */
    @Override
    public void flushTlb() { super.flushTlb(); }

    /** Instructions retired since creation. */
    public long instructionCount() { return retired; }

    // ---- the run loop ----

    public int run(long maxInstructions) {
        return run(maxInstructions, false);
    }

    /**
     * Like {@link #run(long)}, but also returns ({@link #EXIT_BUDGET}) as soon as EIP does not simply move
     * on to the next instruction: after a jump, call, return, fault or delivered interrupt. A translating
     * engine interprets a straight stretch of cold code in one call this way, and looks blocks up again
     * where control flow goes. (A jump forward by less than an instruction's maximum length counts as
     * falling through: the interpreter just goes on, which is always correct.) A stop request ends the run
     * too but stays pending, for the engine's own run loop to see.
     */
    public int runStraight(long maxInstructions) {
        return run(maxInstructions, true);
    }

    /**
     * A straight run ({@link #runStraight}) also ends when it falls through to an EIP found in {@code stops}, a
     * direct-mapped table (power-of-two length, the slot is the EIP's low bits) the caller keeps filled with the
     * starts of its translated blocks: cold code falling into translated code hands over to it instead of being
     * interpreted up to the next jump. A stale or missing entry only ends a run early or late, which is always correct.
     */
    public void setStraightRunStops(long[] stops) {
        if (Integer.bitCount(stops.length) != 1) {
            throw new IllegalArgumentException("stop table length must be a power of two: " + stops.length);
        }
        straightRunStops = stops;
    }

    /** EIP reached a start listed in {@link #setStraightRunStops}'s table. */
    private boolean atStraightRunStop() {
        long[] stops = straightRunStops;
        return stops[(int) eip & (stops.length - 1)] == eip;
    }

    private int run(long maxInstructions, boolean straight) {
        forgetFetchWindow(); // translated code or the embedder may have run since
        long done = 0;
        while (done < maxInstructions) {
            if (stopRequested) {
                if (!straight) {
                    stopRequested = false;
                }
                return EXIT_BUDGET;
            }
            boolean shadow = interruptShadow;
            interruptShadow = false;
            if (!shadow && !userMode) {
                long before = eip;
                int r = takeExternalEvents();
                if (r >= 0) {
                    return r;
                }
                if (straight && eip != before) {
                    return EXIT_BUDGET; // an interrupt was delivered: its handler starts a new stretch
                }
            }
            if (halted) {
                return EXIT_HALT;
            }
            boolean singleStep = (flags & TF) != 0;
            boolean resume = (flags & RF) != 0;
            checkpointValid = false;
            debugShadow = false;
            try {
                step();
                retired++;
                done++;
                if (resume) {
                    flags &= ~RF; // RF holds off instruction breakpoints for one instruction
                }
                if ((singleStep || debugTrapStatus != 0) && !debugShadow) {
                    dr[6] |= (singleStep ? DR6_BS : 0) | debugTrapStatus;
                    debugTrapStatus = 0;
                    throw new CpuFault(CpuFault.DB, 0, false, true, 0);
                }
                if (straight && (Long.compareUnsigned(eip - startEip, MAX_INSTRUCTION_LENGTH) > 0 || atStraightRunStop())) {
                    return EXIT_BUDGET; // EIP went elsewhere than the next instruction (or a REP's next step), or to translated code
                }
            } catch (CpuFault f) {
                if (!f.trap) {
                    debugTrapStatus = 0; // the instruction did not complete
                }
                int r = handleFault(f);
                if (r >= 0) {
                    return r;
                }
                done++;
                if (straight) {
                    return EXIT_BUDGET; // EIP is at the handler
                }
            } catch (RuntimeException | StackOverflowError e) {
                rollback();
                eip = startEip;
                regs[ESP] = startEsp;
                internalError = "internal error at " + Long.toHexString(segBase[CS]) + "+" + Long.toHexString(startEip)
                        + ": " + e;
                return EXIT_INTERNAL_ERROR;
            }
        }
        return EXIT_BUDGET;
    }

    /** NMI and INTR at an instruction boundary; returns an exit code or -1. */
    private int takeExternalEvents() {
        if (nmiPending && !nmiBlocked) {
            nmiPending = false;
            nmiBlocked = true;
            return deliverEvent(CpuFault.NMI, EVENT_EXTERNAL, false, 0);
        }
        InterruptSource source = interruptSource;
        if (source != null && (flags & IF) != 0 && source.interruptPending()) {
            int vector = source.acknowledgeInterrupt() & 0xff;
            return deliverEvent(vector, EVENT_EXTERNAL, false, 0);
        }
        return -1;
    }

    private int deliverEvent(int vector, int kind, boolean hasError, int error) {
        checkpointValid = false;
        try {
            deliver(vector, kind, hasError, error);
            return -1;
        } catch (CpuFault second) {
            rollback();
            return handleNested(vector, second);
        }
    }

    private int handleFault(CpuFault f) {
        if (f.userExit != 0) {
            exitVector = f.vector;
            exitErrorCode = 0;
            return f.userExit;
        }
        if (!f.trap) {
            rollback();
            eip = startEip;
            regs[ESP] = startEsp;
        }
        if (userMode) {
            exitVector = f.vector;
            exitErrorCode = f.errorCode;
            return EXIT_EXCEPTION;
        }
        boolean pushCode = f.hasErrorCode && protectedMode() && !f.trap;
        return deliverEvent(f.vector, EVENT_EXTERNAL, pushCode, f.errorCode);
    }

    /** A fault while delivering {@code first}: the double-fault rules of SDM Vol. 3 table 6-5. */
    private int handleNested(int first, CpuFault second) {
        if (first == CpuFault.DF) {
            return EXIT_SHUTDOWN;
        }
        boolean benignFirst = !CpuFault.contributory(first) && first != CpuFault.PF;
        boolean doubleFault = !benignFirst && (CpuFault.contributory(second.vector)
                || (first == CpuFault.PF && second.vector == CpuFault.PF));
        int vector = doubleFault ? CpuFault.DF : second.vector;
        boolean hasCode = protectedMode() && (doubleFault || second.hasErrorCode);
        int code = doubleFault ? 0 : second.errorCode;
        checkpointValid = false;
        try {
            deliver(vector, EVENT_EXTERNAL, hasCode, code);
            return -1;
        } catch (CpuFault third) {
            rollback();
            if (doubleFault) {
                return EXIT_SHUTDOWN;
            }
            return handleNested(vector, third);
        }
    }

    @Override
    final void afterIret() { nmiBlocked = false; }
}
