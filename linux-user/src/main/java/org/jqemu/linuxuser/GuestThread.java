package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.jqemu.target.i386.X86Cpu;

/**
 * One guest thread on one JVM thread: its CPU (registers, TLS descriptors), signal mask and pending
 * signals, the clear_child_tid address, and the loop that runs the CPU and plays the kernel whenever it
 * stops. Its process ({@link GuestProcess}) holds what threads share: address space, descriptors, cwd,
 * signal actions.
 */
final class GuestThread {
    /** Instructions per CPU slice; signals from other threads also stop the CPU early (requestStop). */
    private static final long BUDGET = 1 << 20;
    private static final int SYSCALL_VECTOR = 0x80;
    static final int TLS_ENTRY_MIN = 6, TLS_ENTRIES = 3; // GDT_ENTRY_TLS_MIN on i386
    private static final ThreadLocal<GuestThread> CURRENT = new ThreadLocal<>();

    final GuestProcess process;
    final int tid;
    /** Replaced by execve (a new address space needs a new CPU). */
    volatile X86Cpu cpu;
    /** Runs {@link #cpu}: the translator by default (see {@link CpuEngine}); replaced with the CPU. */
    private CpuEngine engine;
    Syscalls syscalls;
    final SignalDelivery signals;
    /** set_thread_area's descriptors {base, limit, flags}, GDT entries 6-8. */
    final int[][] tls = new int[TLS_ENTRIES][];
    /** CLONE_CHILD_CLEARTID / set_tid_address: zeroed and futex-woken when the thread exits. */
    volatile long clearChildTid;
    /** What blocking calls without an object of their own (sleeps, sigsuspend) wait on. */
    final Object sleepMonitor = new Object();
    private volatile Thread jvmThread;
    private volatile boolean tlbStale;
    /** True while the CPU runs guest code (the TLB in use); a stale TLB is flushed before it is set again. */
    private volatile boolean inGuest;
    /** How many times the CPU has left guest code: a shootdown waits for one more, not for a moment without changes. */
    private volatile long guestExits;
    private static final int SHOOTDOWN_SPINS = 200;
    private static final long SHOOTDOWN_SLEEP_NANOS = 20_000;
    /** The address space this thread's CPU runs in (a thread ended by another's execve still has the old one). */
    volatile GuestMemory attachedMemory;
    private volatile boolean threadExit;
    private volatile int exitStatus;
    private final Runnable memoryListener = this::memoryChanged;
    /** #PF error code bit: the access was a write. */
    private static final int PF_WRITE = 2;

    GuestThread(GuestProcess process, int tid, X86Cpu cpu) {
        this.process = process;
        this.tid = tid;
        this.cpu = cpu;
        this.signals = new SignalDelivery(this);
    }

    /** The guest thread running on the calling JVM thread (null on other threads). */
    static GuestThread current() { return CURRENT.get(); }

    /** Attaches a CPU over the process's current memory (new thread, or after execve). */
    void attach(X86Cpu newCpu) {
        process.memory.removeInvalidationListener(memoryListener);
        cpu = newCpu;
        engine = new CpuEngine(newCpu, process.memory, process.kernel.engineOptions);
        attachedMemory = process.memory;
        attachedMemory.addInvalidationListener(memoryListener);
        syscalls = new Syscalls(this);
    }

    /** jqemu-i386's engine options for this thread (before it runs); later threads take them from the kernel. */
    void useEngine(CpuEngine.Options options) {
        engine = new CpuEngine(cpu, attachedMemory, options);
    }

    CpuEngine engine() { return engine; }

    void detachMemory(GuestMemory memory) {
        memory.removeInvalidationListener(memoryListener);
    }

    /**
     * Another thread's munmap/mprotect: this CPU drops its TLB itself, before its next instruction. The
     * changing thread waits for that before its call returns ({@link #awaitTlbShootdown}).
     */
    private void memoryChanged() {
        if (Thread.currentThread() == jvmThread) {
            cpu.flushTlb();
        } else {
            tlbStale = true;
            cpu.requestStop();
        }
    }

    /**
     * After mappings changed (munmap, mprotect, madvise, a copy-on-write copy): the TLB shootdown, then the
     * slices the changes up to it retired are reused or left to their other holders.
     */
    private void settle(GuestMemory memory) {
        long settled = memory.settledChanges();
        awaitTlbShootdown(memory);
        memory.recycleRetired(settled);
    }

    /**
     * Waits until every other CPU over {@code memory} has dropped its TLB or left guest code, as Linux's TLB
     * shootdown does before the call returns: otherwise another thread could go on using a freed page (a
     * recycled slice) or writing a page now shared with a child. Done outside the memory's lock, which the
     * other CPUs may need to finish their block. Not bounded by a time (a loaded host may not run a thread
     * for a while, and giving up would hand out pages still in use): a CPU asked to stop leaves guest code
     * within a chain of blocks, and a thread waiting here runs no guest code, so nothing waits on itself.
     */
    void awaitTlbShootdown(GuestMemory memory) {
        for (GuestThread t : process.kernel.threadsOf(memory)) {
            long exits = t.guestExits;
            // Until t leaves guest code once (it flushes before it enters again): waiting for t.tlbStale to clear
            // could last for ever while other threads' changes keep marking t stale again.
            for (int spins = 0; t != this && t.tlbStale && t.inGuest && t.guestExits == exits; spins++) {
                pause(spins);
            }
        }
    }

    /**
     * A short spin, then sleeps: the other CPU's thread may be waiting for a host core (2 cores, 8 guest
     * threads), and spinning would keep it from the core it needs to acknowledge.
     */
    private static void pause(int spins) {
        if (spins < SHOOTDOWN_SPINS) {
            Thread.onSpinWait();
        } else {
            java.util.concurrent.locks.LockSupport.parkNanos(SHOOTDOWN_SLEEP_NANOS);
        }
    }

    /** Starts the thread on a new JVM thread (fork, clone). */
    void start() {
        Thread t = Thread.ofPlatform().daemon(true).name("guest-" + tid).stackSize(1 << 20).unstarted(this::run);
        jvmThread = t;
        t.start();
    }

    /** Runs the thread on the calling JVM thread until it exits. */
    void run() {
        jvmThread = Thread.currentThread();
        CURRENT.set(this);
        try {
            loop();
        } catch (GuestProcess.EmulatorBug e) {
            process.kernel.config.err().println(Main.PROGRAM + ": " + e.getMessage());
            process.exitGroup(1 << 8);
        } catch (RuntimeException | StackOverflowError e) {
            process.kernel.config.err().println(Main.PROGRAM + ": internal error: " + e);
            process.exitGroup(1 << 8);
        } finally {
            process.threadExited(this);
            CURRENT.remove();
        }
    }

    private void loop() {
        while (!threadExit && !process.exiting()) {
            inGuest = true; // before the check: a change made after it makes the changer wait for this run to stop
            if (tlbStale) {
                tlbStale = false;
                cpu.flushTlb();
            }
            int reason = runCpu(BUDGET);
            inGuest = false;
            guestExits++; // only this thread writes it
            switch (reason) {
                case X86Cpu.EXIT_BUDGET -> { }
                case X86Cpu.EXIT_INTERRUPT -> softwareInterrupt();
                // SYSENTER: without a vDSO there is no return trampoline; we resume after the instruction.
                case X86Cpu.EXIT_SYSCALL -> systemCall(true);
                case X86Cpu.EXIT_EXCEPTION -> exception();
                case X86Cpu.EXIT_HALT -> signals.fault(Signals.privilegedInfo()); // HLT is privileged: #GP at CPL 3
                case X86Cpu.EXIT_INTERNAL_ERROR -> throw new GuestProcess.EmulatorBug(cpu.internalError());
                default -> throw new IllegalStateException("CPU stopped with unknown reason " + reason);
            }
            if (!threadExit) {
                signals.deliverPending();
                process.waitWhileStopped(); // another thread took the stop signal
            }
        }
    }

    /**
     * A CPU exception: a write to a copy-on-write page is the kernel's (the page is unshared and the
     * instruction retried, as Linux's fault handler does); anything else becomes the guest's signal.
     */
    private void exception() {
        GuestMemory memory = attachedMemory;
        long changes = memory.changes();
        if (cpu.exitVector() == Signals.PF && (cpu.exitErrorCode() & PF_WRITE) != 0 && memory.unshare(cpu.faultAddress())) {
            cpu.flushTlb();
            if (memory.changes() != changes) {
                settle(memory); // the other CPUs may still read the shared page we just copied, as after munmap
            }
            return;
        }
        signals.fault(Signals.exceptionInfo(cpu.exitVector(), cpu.exitErrorCode(), cpu.faultAddress(), cpu.eip()));
    }

    /** The one place the CPU runs guest code: the engine (interpreter or translator) is chosen here. */
    private int runCpu(long budget) {
        return engine.run(budget);
    }

    /** A system call, and afterwards the translated blocks it may have overwritten or unmapped dropped. */
    private void systemCall(boolean sysenter) {
        CpuEngine current = engine; // execve replaces the engine; the old one has nothing left to drop
        current.beforeSyscall();
        GuestMemory memory = attachedMemory;
        long changes = memory.changes();
        syscalls.dispatch(sysenter);
        if (memory.changes() != changes) {
            settle(memory);
        }
        if (current == engine) {
            current.afterSyscall();
        }
    }

    private void softwareInterrupt() {
        int vector = cpu.exitVector();
        if (vector == SYSCALL_VECTOR) {
            systemCall(false);
            return;
        }
        if (vector != 3 && vector != 4) {
            cpu.setEip(cpu.eip() - 2); // INT n faults (#GP): the context points at the CD nn instruction
        }
        signals.fault(Signals.softwareInterruptInfo(vector));
    }

    /** exit(2) of this thread alone; {@code status} (wait(2)'s encoding) becomes the process's if it is the last. */
    void exitThread(int status) {
        exitStatus = status;
        threadExit = true;
    }

    /** What {@link #exitThread} was given: the process's status when this thread turns out to be its last. */
    int exitStatus() { return exitStatus; }

    /** This thread called exit(2) (or another's execve ended it): it takes no more signals. */
    boolean exited() { return threadExit; }

    /** Makes the thread notice a signal or group exit: out of guest code, out of a blocking wait. */
    void wake() {
        cpu.requestStop();
        Thread t = jvmThread;
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
        }
    }

    /** SIGPIPE for a write to a pipe without readers, sent to the writing thread. */
    void raiseSigpipe() {
        signals.send(SignalDelivery.Info.sent(Signals.SIGPIPE, 0, process.pid, HostCredentials.current().uid()));
    }

    /** How long one host poll waits before the thread looks for signals again. */
    private static final int HOST_POLL_MILLIS = 100;

    /**
     * A host read can block for ever (a terminal, a host pipe, a socket's recv or accept) and a native call
     * cannot be interrupted, so a blocking descriptor is polled until readable, checking for signals (Ctrl-C)
     * and exit between polls.
     * 0 when a read may go ahead, -ERESTARTSYS for a signal.
     */
    long waitHostReadable(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pfd = arena.allocate(8, 4);
            if (HostFile.pollIn(pfd, hostFd, 0) != 0) {
                return 0; // readable, at end, or an error the read itself will report
            }
            if ((HostOs.syscall(HostOs.SYS_FCNTL, hostFd, Fcntl.F_GETFL) & Fcntl.O_NONBLOCK) != 0) {
                return 0; // the read answers EAGAIN itself
            }
            while (true) {
                if (interruptedBySignal()) {
                    return -SignalDelivery.ERESTARTSYS;
                }
                long r = HostFile.pollIn(pfd, hostFd, HOST_POLL_MILLIS);
                if (r != 0 && r != -Errno.EINTR) {
                    return 0;
                }
            }
        }
    }

    /** Whether a blocking call of this thread must give up: a deliverable signal, or the process is ending. */
    boolean interruptedBySignal() {
        return threadExit || process.exiting() || signals.hasDeliverable();
    }

    /**
     * Waits once on {@code monitor} (held by the caller) for up to {@code millis} (0: until notified):
     * 0 after a wake-up or time-out (the caller re-checks its condition), -ERESTARTSYS when a signal
     * must be delivered first or the process is ending.
     */
    static long await(Object monitor, long millis) {
        GuestThread self = current();
        if (self != null && self.interruptedBySignal()) {
            return -SignalDelivery.ERESTARTSYS;
        }
        try {
            monitor.wait(millis);
        } catch (InterruptedException e) {
            // a signal or an exit woke us: the check below decides
        }
        if (self != null && self.interruptedBySignal()) {
            return -SignalDelivery.ERESTARTSYS;
        }
        return 0;
    }

    static long await(Object monitor) { return await(monitor, 0); }

    /** Sleeps until {@code deadlineNanos} (System.nanoTime): 0, or -ERESTARTSYS for a signal. */
    long sleepUntil(long deadlineNanos) {
        synchronized (sleepMonitor) {
            while (true) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return 0;
                }
                long r = await(sleepMonitor, Math.max(1, left / 1_000_000));
                if (r < 0) {
                    return r;
                }
            }
        }
    }
}
