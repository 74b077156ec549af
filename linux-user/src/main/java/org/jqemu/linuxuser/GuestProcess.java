package org.jqemu.linuxuser;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.memory.IoPorts;
import org.jqemu.target.i386.X86Cpu;

/**
 * One emulated i386 Linux process, modelled inside the JVM (which cannot fork): a pid, an address
 * space ({@link GuestMemory}: fork copies it, CLONE_VM shares it, execve replaces it), a descriptor table
 * ({@link FdTable}), working directory and umask ({@link FsContext}), signal actions and process-wide
 * pending signals, process group and session, its threads ({@link GuestThread}, each on a JVM thread),
 * its children, and its exit state until the parent reaps it with wait4/waitid.
 */
public final class GuestProcess {
    static final int INITIAL_EFLAGS = 0x202; // IF set, as the kernel starts every process
    /** The flat user data selector user mode starts with (what signal delivery reloads into DS/ES/SS). */
    static final int USER_DATA_SELECTOR = 0x7b;
    static final int MAX_FILES = FdTable.MAX_FILES;

    /** How the process was started: what Main's options and environment amount to. */
    public record Config(Path executable, List<String> argv, List<String> envp, long stackSize, String ldPrefix,
                         boolean strace, boolean logUnimplemented, PrintStream log, PrintStream err) {
        public Config {
            argv = List.copyOf(argv);
            envp = List.copyOf(envp);
        }
    }

    final Kernel kernel;
    final Config config;
    final int pid;
    /** Guarded by kernel.treeLock: the tree, process group and session, exit state. */
    GuestProcess parent;
    final List<GuestProcess> children = new ArrayList<>();
    int pgid, sid;
    /** The signal the parent receives at our death (SIGCHLD, or clone's low byte). */
    int exitSignal = Signals.SIGCHLD;
    private boolean zombie;
    private int waitStatus;
    /** The process was created by vfork/CLONE_VFORK: the parent waits until we exec or exit. */
    private boolean vforkPending;

    volatile GuestMemory memory;
    /** The thread the process started with (null in children): its engine's statistics outlive the run. */
    private GuestThread firstThread;
    /** What names {@link #memory}'s regions, the sysroot, auxv and cmdline: replaced, copied and shared with it. */
    volatile ProcessImage image;
    FdTable files;
    FsContext fs;
    SignalDelivery.Actions actions;
    final List<GuestThread> threads = new ArrayList<>();
    private long sharedPending;
    private final SignalDelivery.Info[] sharedInfo = new SignalDelivery.Info[Signals.MAX + 1];
    long brkStart;
    long brk;
    /** setitimer/alarm and POSIX timers: not inherited by fork, kept by execve. */
    final IntervalTimers timers = new IntervalTimers(this);
    volatile String executablePath;
    volatile List<String> argv;
    private volatile boolean exiting;
    private Integer killedBy;

    /**
     * The first process of a run: loads the executable and builds the initial stack. {@code stdout} is the
     * file behind descriptor 1 (a {@link HostFile} for jqemu-i386, a {@link CapturedOutput} for tests).
     */
    public GuestProcess(Config config, byte[] executableBytes, GuestFile stdin, GuestFile stdout, GuestFile stderr)
            throws ElfLoader.InvalidElfException {
        this.config = config;
        int hostPid = (int) ProcessHandle.current().pid();
        this.kernel = new Kernel(config, hostPid);
        this.pid = kernel.allocatePid();
        int[] groupAndSession = Kernel.hostGroupAndSession(pid);
        this.pgid = groupAndSession[0];
        this.sid = groupAndSession[1];
        kernel.foregroundPgid = pgid;
        this.files = new FdTable();
        files.install(stdin, 0, false);
        files.install(stdout, 1, false);
        files.install(stderr, 2, false);
        this.fs = FsContext.initial();
        this.actions = new SignalDelivery.Actions();
        this.memory = new GuestMemory();
        this.executablePath = config.executable().toAbsolutePath().normalize().toString();
        Image image = loadImage(memory, executableBytes, config.executable().toString(), executablePath, config.argv(),
                config.envp());
        this.image = image.processImage();
        this.image.paths.setProcess(pid, this::hostFd);
        this.argv = config.argv();
        GuestThread main = new GuestThread(this, pid, null);
        firstThread = main;
        threads.add(main);
        main.attach(newCpu(memory, image));
        kernel.register(this);
        kernel.register(main);
    }

    /** A child made by fork/clone: the caller fills in memory, tables and the thread. */
    private GuestProcess(GuestProcess parent, int pid) {
        this.kernel = parent.kernel;
        this.config = parent.config;
        this.pid = pid;
        this.executablePath = parent.executablePath;
        this.argv = parent.argv;
        this.brkStart = parent.brkStart;
        this.brk = parent.brk;
    }

    /**
     * Where a loaded program starts: entry point (the interpreter's when there is one), initial stack pointer,
     * the program break, and the new {@link ProcessImage} naming what was loaded.
     */
    record Image(long entry, long sp, long brkStart, ProcessImage processImage) { }

    /**
     * Loads a program (and its PT_INTERP interpreter, looked up in the sysroot) into a fresh address space
     * with a fresh {@link ProcessImage}, and lays out its initial stack (used at start and by execve).
     * {@code hostExecutable} is the program's absolute host path (/proc/self/exe). Nothing of the calling
     * process changes, so a failed load leaves it intact.
     */
    Image loadImage(GuestMemory target, byte[] bytes, String execFn, String hostExecutable, List<String> argvList,
                    List<String> envp) throws ElfLoader.InvalidElfException {
        ProcessImage names = new ProcessImage(new PathResolver(config.ldPrefix(), hostExecutable));
        ElfLoader.Image image = ElfLoader.load(bytes, target, names);
        byte[] random = new byte[16];
        HostRandom.fill(random);
        long sp = InitialStack.build(target, image, argvList, envp, execFn, config.stackSize(), random,
                HostCredentials.current());
        names.setInitialStack(target, sp);
        names.setCmdline(argvList);
        return new Image(image.entry(), sp, image.brkStart(), names);
    }

    /**
     * The host descriptor behind guest descriptor {@code fd}: -EBADF when it is closed, -1 for a file jqemu
     * models in the JVM (pipes, /proc views); PathResolver uses it for /proc/self/fd/N.
     */
    int hostFd(int fd) {
        GuestFile f = files.get(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        return f instanceof HostFile h ? h.fd() : -1;
    }

    /** A CPU in user mode at the program's entry, as the kernel starts a process. */
    X86Cpu newCpu(GuestMemory target, Image image) {
        X86Cpu cpu = new X86Cpu(target, IoPorts.NONE);
        cpu.enterUserMode32();
        for (int r = X86Cpu.EAX; r <= X86Cpu.EDI; r++) {
            cpu.setReg(r, 0);
        }
        cpu.setReg(X86Cpu.ESP, image.sp());
        cpu.setEip(image.entry());
        cpu.setEflags(INITIAL_EFLAGS);
        brkStart = image.brkStart();
        brk = brkStart;
        return cpu;
    }

    public X86Cpu cpu() { return mainThread().cpu; }

    /** Guest instructions the process's first thread has retired (since its last execve), after its exit too. */
    long instructionsRetired() {
        X86Cpu cpu = firstThread.cpu;
        return cpu == null ? 0 : cpu.instructionCount();
    }

    /** Replaces the engine options (jqemu-i386's command line) for this process and the ones it creates; before {@link #run}. */
    void useEngine(CpuEngine.Options options) {
        kernel.engineOptions = options;
        mainThread().useEngine(options);
    }

    /** The translator running the main thread, or null under the interpreter. */
    public org.jqemu.accel.tcg.Tcg translator() { return firstThread.engine().tcg(); }

    public GuestMemory memory() { return memory; }

    private synchronized GuestThread mainThread() {
        return threads.isEmpty() ? null : threads.getFirst();
    }

    /**
     * Runs the first process's first thread on the calling JVM thread, then waits until the whole process
     * has ended; returns the status a shell would see: the exit code, or 128 + signal when a signal killed it
     * (jqemu-i386 exits with that status, as QEMU's process does).
     */
    public int run() {
        GuestThread main = mainThread();
        main.run();
        synchronized (kernel.treeLock) {
            while (!zombie) {
                try {
                    kernel.treeLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        }
        main.engine().printStatistics();
        return killedBy != null ? 128 + killedBy : (waitStatus >> 8) & 0xff;
    }

    /** The CPU met a case it cannot handle (a jqemu bug, never the guest's fault): the process stops. */
    public static final class EmulatorBug extends RuntimeException {
        public EmulatorBug(String message) { super(message, null, false, false); }
    }

    /** The signal that killed the guest, or null if it exited (or is still running). */
    public Integer killedBy() { return killedBy; }

    boolean exiting() { return exiting; }

    /** Frees what a process that never ran holds (a run frees everything itself as the process ends). */
    public void close() {
        synchronized (kernel.treeLock) {
            if (zombie || !threads.isEmpty() && threads.getFirst().syscalls == null) {
                return;
            }
        }
        if (!exiting) {
            exiting = true;
            files.leave();
            fs.leave();
            image.release(memory);
            memory.release();
            zombie = true;
        }
    }

    /** exit_group, or the last thread's exit: {@code status} in wait(2)'s encoding. */
    void exitGroup(int status) {
        if (claimExit(status, null)) {
            wakeThreads();
        }
    }

    /**
     * The default action of a terminating signal: QEMU's message for core-dumping ones. Only the first of
     * several threads meeting one at once (each its own fault, say) prints it and sets the status.
     */
    void terminate(int signal) {
        if (!claimExit(signal, signal)) {
            return;
        }
        String message = Signals.uncaughtMessage(signal);
        if (message != null) {
            config.err().println(message);
        }
        wakeThreads();
    }

    /** Whether this call ends the process (no exit_group nor fatal signal came first): status and cause set at once. */
    private synchronized boolean claimExit(int status, Integer signal) {
        if (exiting) {
            return false;
        }
        exiting = true;
        waitStatus = status;
        killedBy = signal;
        return true;
    }

    private void wakeThreads() {
        for (GuestThread t : threadList()) {
            t.wake();
        }
    }

    /** Called on each thread's JVM thread as it ends; the last one makes the process a zombie. */
    void threadExited(GuestThread t) {
        long clear = t.clearChildTid;
        if (clear != 0 && !exiting && t.attachedMemory == memory) {
            try {
                memory.userWriteInt(clear, 0);
                kernel.futexes.wake(this, clear, 1, -1);
            } catch (GuestMemory.Fault e) {
                // the address is gone: nothing to clear, as in the kernel
            }
        }
        boolean last;
        GuestThread heir;
        synchronized (this) {
            threads.remove(t);
            last = threads.isEmpty();
            if (last) {
                // threads that called exit(2) together each saw another still there: the last to go gives the status
                claimExit(t.exitStatus(), null);
            }
            heir = sharedPending == 0 ? null : takerOf(sharedPending); // a signal sent to t while it left
        }
        if (heir != null) {
            heir.wake();
        }
        t.detachMemory(t.attachedMemory);
        kernel.unregister(t);
        if (last) {
            becomeZombie();
        }
    }

    private void becomeZombie() {
        timers.cancelAll();
        files.leave();
        fs.leave();
        image.release(memory); // shared file mappings reach their files
        memory.release();
        GuestProcess notify;
        boolean autoReap;
        synchronized (kernel.treeLock) {
            releaseVfork();
            for (GuestProcess c : children) {
                c.parent = null; // orphans: nobody waits for them, they vanish when they exit
            }
            children.clear();
            notify = parent;
            // the parent's SIGCHLD is pending before it can see the zombie, as in the kernel's do_notify_parent
            if (notify != null && exitSignal != 0) {
                notify.sendSignal(new SignalDelivery.Info(exitSignal, killedBy == null ? 1 : 2, (pid & 0xffff_ffffL)
                        | ((long) HostCredentials.current().uid() << 32), 0, 0,
                        killedBy == null ? (waitStatus >> 8) & 0xff : killedBy)); // CLD_EXITED/CLD_KILLED, si_status
            }
            zombie = true;
            SignalDelivery.Action a = notify == null ? null : notify.actions.get(Signals.SIGCHLD);
            autoReap = notify == null || (exitSignal == Signals.SIGCHLD && a != null
                    && (a.handler() == SignalDelivery.SIG_IGN || (a.flags() & SignalDelivery.SA_NOCLDWAIT) != 0));
            if (autoReap) {
                if (notify != null) {
                    notify.children.remove(this);
                }
                kernel.unregister(this);
            }
            kernel.treeLock.notifyAll();
        }
    }

    /** getppid: the parent's guest pid; the first process's is jqemu's own parent, an orphan's is 1 (init). */
    long parentPid() {
        synchronized (kernel.treeLock) {
            if (parent != null) {
                return parent.pid;
            }
        }
        return pid == kernel.firstPid() ? ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L) : 1;
    }

    /** The status word wait4 reports and whether we are a zombie; kernel.treeLock held. */
    boolean isZombie() { return zombie; }

    int waitStatus() { return waitStatus; }

    // ---- signals for the whole process

    synchronized long sharedPending() { return sharedPending; }

    /** kill(2), SIGCHLD, host signals: pending for the process, taken by the first thread that does not block it. */
    void sendSignal(SignalDelivery.Info info) {
        int signal = info.signal();
        if (signal == Signals.SIGKILL) {
            terminate(signal);
            return;
        }
        generated(signal);
        GuestThread target = null;
        synchronized (actions) {
            if (actions.isIgnored(signal)) {
                return;
            }
            synchronized (this) {
                sharedPending |= SignalDelivery.bit(signal);
                sharedInfo[signal] = info;
                target = takerOf(SignalDelivery.bit(signal));
            }
        }
        if (target != null) {
            target.wake();
        }
    }

    /**
     * A thread that would take one of {@code signals} (a bit set): one that does not block it or waits for it in
     * sigtimedwait, and is not on its way out (its exit would leave the signal pending with nobody woken, as
     * the kernel's wants_signal says). Null when there is none; this process's monitor is held.
     */
    private GuestThread takerOf(long signals) {
        for (GuestThread t : threads) {
            if (!t.exited() && ((signals & ~t.signals.blockedMask()) != 0 || t.signals.waitsForAny(signals))) {
                return t;
            }
        }
        return null;
    }

    /** Removes {@code signal} from the shared set and returns its info; the actions' monitor is held. */
    synchronized SignalDelivery.Info takeShared(int signal) {
        sharedPending &= ~SignalDelivery.bit(signal);
        return sharedInfo[signal];
    }

    /** A signal became ignored: pending instances go. */
    void discardPending(int signal) {
        synchronized (actions) { // the actions' monitor before ours, as everywhere
            synchronized (this) {
                sharedPending &= ~SignalDelivery.bit(signal);
                for (GuestThread t : threads) {
                    t.signals.discard(signal);
                }
            }
        }
    }

    synchronized List<GuestThread> threadList() { return new ArrayList<>(threads); }

    // ---- job control: stopped and continued processes (kernel.treeLock guards these fields)

    private volatile boolean stopped;
    /** What wait4's WUNTRACED and WCONTINUED have not reported yet: the stopping signal, or a continue. */
    private int unreportedStop;
    private boolean unreportedContinue;

    /**
     * What sending a signal does at once, whatever its action (signal.c's prepare_signal): SIGCONT resumes a
     * stopped process and discards pending stop signals; a stop signal discards a pending SIGCONT.
     */
    void generated(int signal) {
        if (signal == Signals.SIGCONT) {
            for (int stop = Signals.SIGSTOP; stop <= Signals.SIGTTOU; stop++) {
                discardPending(stop);
            }
            resume();
        } else if (Signals.stopsByDefault(signal)) {
            discardPending(Signals.SIGCONT);
        }
    }

    /** A stop signal's default action: every thread stops at its next boundary; the parent hears of it. */
    void stop(int signal) {
        synchronized (kernel.treeLock) {
            if (stopped || exiting) {
                return;
            }
            stopped = true;
            unreportedStop = signal;
            unreportedContinue = false;
            kernel.treeLock.notifyAll();
        }
        notifyParent(ProcessCalls.CLD_STOPPED, signal);
        for (GuestThread t : threadList()) {
            t.wake();
        }
    }

    private void resume() {
        synchronized (kernel.treeLock) {
            if (!stopped) {
                return;
            }
            stopped = false;
            unreportedStop = 0;
            unreportedContinue = true;
            kernel.treeLock.notifyAll();
        }
        notifyParent(ProcessCalls.CLD_CONTINUED, Signals.SIGCONT);
    }

    /** SIGCHLD for a stop or continue, unless the parent asked for none with SA_NOCLDSTOP. */
    private void notifyParent(int code, int status) {
        GuestProcess p;
        synchronized (kernel.treeLock) {
            p = parent;
        }
        if (p == null) {
            return;
        }
        SignalDelivery.Action a = p.actions.get(Signals.SIGCHLD);
        if (a != null && (a.flags() & SignalDelivery.SA_NOCLDSTOP) != 0) {
            return;
        }
        p.sendSignal(new SignalDelivery.Info(Signals.SIGCHLD, code, (pid & 0xffff_ffffL)
                | ((long) HostCredentials.current().uid() << 32), 0, 0, status));
    }

    /** Each thread calls this at its signal boundary: it sleeps while the process is stopped (SIGKILL ends it). */
    void waitWhileStopped() {
        if (!stopped) {
            return;
        }
        synchronized (kernel.treeLock) {
            while (stopped && !exiting) {
                try {
                    kernel.treeLock.wait();
                } catch (InterruptedException e) {
                    // a wake-up: SIGCONT or SIGKILL changed the state, or another signal is now pending
                }
            }
        }
    }

    /**
     * For wait4/waitid with WUNTRACED or WCONTINUED: the stop ({@code (signal << 8) | 0x7f}) or continue
     * ({@code 0xffff}) not reported yet, consumed unless {@code keep}; 0 when there is none. treeLock held.
     */
    int takeJobControlStatus(boolean stops, boolean continues, boolean keep) {
        if (stops && unreportedStop != 0) {
            int status = (unreportedStop << 8) | 0x7f;
            if (!keep) {
                unreportedStop = 0;
            }
            return status;
        }
        if (continues && unreportedContinue) {
            unreportedContinue = keep;
            return 0xffff;
        }
        return 0;
    }

    // ---- fork, clone, exec

    /**
     * clone/fork/vfork: a new process whose first thread continues from {@code parentThread}'s state with
     * EAX = 0. {@code shareMemory} is CLONE_VM, and so on; the child is not started yet.
     */
    GuestProcess forkFrom(GuestThread parentThread, boolean shareMemory, boolean shareFiles, boolean shareFs,
                          boolean shareActions, boolean vfork, int childExitSignal, boolean parentIsGrandparent) {
        GuestProcess child = new GuestProcess(this, kernel.allocatePid());
        GuestMemory space = memory;
        child.memory = shareMemory ? space.retain() : space.copy(() -> parentThread.awaitTlbShootdown(space));
        child.image = shareMemory ? image.retain() : image.copy();
        child.files = shareFiles ? files.share() : files.copy();
        child.fs = shareFs ? fs.share() : fs.copy();
        child.actions = shareActions ? actions : actions.copy();
        if (!shareMemory) {
            child.image.paths.setProcess(child.pid, child::hostFd); // shared: /proc/PID stays the creator's
        }
        child.exitSignal = childExitSignal;
        child.vforkPending = vfork;
        synchronized (kernel.treeLock) {
            child.pgid = pgid;
            child.sid = sid;
            GuestProcess p = parentIsGrandparent && parent != null ? parent : this;
            child.parent = p;
            p.children.add(child);
        }
        GuestThread t = new GuestThread(child, child.pid, null);
        child.threads.add(t);
        kernel.register(child);
        kernel.register(t);
        t.attach(ProcessCalls.copyCpu(parentThread, child.memory, t));
        t.signals.inheritFrom(parentThread.signals, true);
        return child;
    }

    /** A new thread of this process (CLONE_THREAD), not started yet. */
    GuestThread newThread(GuestThread parentThread) {
        GuestThread t = new GuestThread(this, kernel.allocatePid(), null);
        synchronized (this) {
            threads.add(t);
        }
        kernel.register(t);
        t.attach(ProcessCalls.copyCpu(parentThread, memory, t));
        t.signals.inheritFrom(parentThread.signals, false);
        return t;
    }

    /** CLONE_VFORK: the parent sleeps until the child execs or exits. */
    void awaitVforkRelease() {
        synchronized (kernel.treeLock) {
            while (vforkPending) {
                try {
                    kernel.treeLock.wait();
                } catch (InterruptedException e) {
                    // the parent cannot be interrupted out of vfork (as in the kernel): keep waiting
                }
            }
        }
    }

    private void releaseVfork() {
        synchronized (kernel.treeLock) {
            if (vforkPending) {
                vforkPending = false;
                kernel.treeLock.notifyAll();
            }
        }
    }

    /**
     * execve's point of no return: the new image replaces the old in place for the calling thread; other
     * threads end, close-on-exec descriptors close, caught signals reset, shared tables are unshared.
     */
    void replaceImage(GuestThread caller, GuestMemory newMemory, Image image, String path, List<String> newArgv) {
        List<GuestThread> others;
        synchronized (this) {
            others = new ArrayList<>(threads);
            others.remove(caller);
        }
        for (GuestThread t : others) {
            t.exitThread(0);
            t.wake();
        }
        GuestMemory old = memory;
        caller.detachMemory(old);
        this.image.release(old);
        memory = newMemory;
        this.image = image.processImage();
        this.image.paths.setProcess(pid, this::hostFd);
        old.release();
        FdTable table = files.copy();
        files.leave();
        files = table;
        files.closeOnExec();
        actions = actions.copy();
        actions.resetHandlers();
        caller.signals.resetForExec();
        java.util.Arrays.fill(caller.tls, null);
        executablePath = path;
        argv = List.copyOf(newArgv);
        caller.attach(newCpu(newMemory, image));
        releaseVfork();
    }
}
