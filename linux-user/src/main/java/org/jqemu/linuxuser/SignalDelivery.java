package org.jqemu.linuxuser;

import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;

/**
 * Signals of one guest thread: its blocked mask, its pending signals (the process's shared ones and
 * actions live in {@link GuestProcess} and {@link Actions}), restart of interrupted calls, and
 * delivery the way the i386 ABI (the kernel's ia32 signal code) does it: a signal frame on the guest
 * stack holding the interrupted context, the handler called with (sig, siginfo*, ucontext*), and
 * sigreturn/rt_sigreturn restoring the context from the frame.
 *
 * <p>Frames: with SA_SIGINFO the rt frame {pretcode, sig, pinfo, puc, siginfo (128 bytes), ucontext
 * (uc_flags, uc_link, uc_stack, sigcontext, sigmask), retcode}; without it the plain frame {pretcode,
 * sig, sigcontext, fpstate (624 bytes, unused), extramask, retcode}. The FPU state is not saved
 * (fpstate pointer 0). SA_ONSTACK handlers run on the sigaltstack(2) stack when one is set and not in use.
 */
final class SignalDelivery {
    static final int SA_SIGINFO = 0x4, SA_RESTART = 0x10000000, SA_NOCLDSTOP = 1, SA_NOCLDWAIT = 2, SA_ONSTACK = 0x08000000, SA_RESTORER = 0x04000000, SA_NODEFER = 0x40000000,
            SA_RESETHAND = 0x80000000;
    static final long SIG_DFL = 0, SIG_IGN = 1;
    private static final int SIGACTION_SIZE = 20;
    private static final long UNBLOCKABLE = bit(Signals.SIGKILL) | bit(Signals.SIGSTOP);
    /** EFLAGS bits sigreturn takes from the frame (AC OF DF TF SF ZF AF PF CF RF NT): the kernel's FIX_EFLAGS. */
    private static final int FIX_EFLAGS = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000 | 0x4000;
    private static final int SIGCONTEXT_SIZE = 88, SIGINFO_SIZE = 128, FPSTATE_SIZE = 624;
    private static final int RT_INFO = 16, RT_UCONTEXT = RT_INFO + SIGINFO_SIZE, RT_MCONTEXT = RT_UCONTEXT + 20,
            RT_SIGMASK = RT_MCONTEXT + SIGCONTEXT_SIZE, RT_RETCODE = RT_SIGMASK + 8, RT_SIZE = RT_RETCODE + 8;
    private static final int PLAIN_SC = 8, PLAIN_EXTRAMASK = PLAIN_SC + SIGCONTEXT_SIZE + FPSTATE_SIZE,
            PLAIN_RETCODE = PLAIN_EXTRAMASK + 4, PLAIN_SIZE = PLAIN_RETCODE + 8;
    /** mov eax, 173; int 0x80 — and pop eax; mov eax, 119; int 0x80: what old kernels put in the frame. */
    private static final byte[] RT_RETCODE_BYTES = {(byte) 0xb8, (byte) 173, 0, 0, 0, (byte) 0xcd, (byte) 0x80, 0};
    private static final byte[] PLAIN_RETCODE_BYTES = {0x58, (byte) 0xb8, 119, 0, 0, 0, (byte) 0xcd, (byte) 0x80};

    /** What the guest learns about a signal: siginfo fields and, for CPU exceptions, the sigcontext's trap fields. */
    record Info(int signal, int code, long address, int trapno, int error, int value) {
        static final int SI_TIMER = -2;

        Info(int signal, int code, long address, int trapno, int error) {
            this(signal, code, address, trapno, error, 0);
        }

        /** A POSIX timer's expiry: si_tid, si_overrun, si_value. */
        static Info timer(int signal, int timerId, int overrun, int value) {
            return new Info(signal, SI_TIMER, (timerId & 0xffff_ffffL) | ((long) overrun << 32), 0, 0, value);
        }

        static final int SI_USER = 0, SI_TKILL = -6;

        /** kill (SI_USER) or tkill/tgkill (SI_TKILL) from this process: si_pid and si_uid where si_addr would be. */
        static Info sent(int signal, int code, int pid, int uid) {
            return new Info(signal, code, (pid & 0xffff_ffffL) | ((long) uid << 32), 0, 0);
        }
    }

    record Action(long handler, int flags, long restorer, long mask) { }

    /**
     * The actions of a process (rt_sigaction's table): copied by fork, shared by CLONE_SIGHAND, reset
     * to the defaults (ignored signals stay ignored) by execve. Its monitor also guards the pending sets
     * of the process and of its threads.
     */
    static final class Actions {
        private final Action[] table = new Action[Signals.MAX + 1];

        synchronized Action get(int signal) { return table[signal]; }

        synchronized void set(int signal, Action action) { table[signal] = action; }

        synchronized Actions copy() {
            Actions a = new Actions();
            System.arraycopy(table, 0, a.table, 0, table.length);
            return a;
        }

        /** execve: caught signals go back to their default action. */
        synchronized void resetHandlers() {
            for (int s = 1; s <= Signals.MAX; s++) {
                if (table[s] != null && table[s].handler != SIG_IGN) {
                    table[s] = null;
                }
            }
        }

        synchronized boolean isIgnored(int signal) {
            Action a = table[signal];
            long handler = a == null ? SIG_DFL : a.handler;
            return signal != Signals.SIGKILL && (handler == SIG_IGN || (handler == SIG_DFL && Signals.ignoredByDefault(signal)));
        }
    }

    /** -ERESTARTSYS: a blocking call met a signal; restarted unless a handler without SA_RESTART runs. */
    static final int ERESTARTSYS = 512;
    /** -ERESTARTNOHAND: restarted only when no handler runs (sleeps, sigsuspend, poll). */
    static final int ERESTARTNOHAND = 514;
    /** Instruction length of INT 0x80 and of SYSENTER: restarting a call re-executes it. */
    private static final int SYSCALL_INSN_LENGTH = 2;

    private final GuestThread thread;
    private final GuestProcess process;
    private final Info[] pendingInfo = new Info[Signals.MAX + 1];
    private volatile long blocked;
    private long pending;
    /** rt_sigsuspend's mask to restore once a handler frame saved it (null outside sigsuspend). */
    private Long savedMask;
    /** The call being restarted, or -1: its number and the -ERESTART* code it returned. */
    private int restartNr = -1, restartCode;
    private long altStackBase, altStackSize;
    private boolean altStackEnabled;
    private static final int SS_ONSTACK = 1, SS_DISABLE = 2, MINSIGSTKSZ = 2048;

    SignalDelivery(GuestThread thread) {
        this.thread = thread;
        this.process = thread.process;
    }

    /** A new thread (clone) inherits the mask; fork also the alternate stack. */
    void inheritFrom(SignalDelivery parent, boolean altStack) {
        blocked = parent.blocked;
        if (altStack) {
            altStackBase = parent.altStackBase;
            altStackSize = parent.altStackSize;
            altStackEnabled = parent.altStackEnabled;
        }
    }

    /** execve: no alternate stack any more (the mask and pending signals survive). */
    void resetForExec() {
        altStackEnabled = false;
        altStackBase = 0;
        altStackSize = 0;
    }

    private GuestMemory memory() { return process.memory; }

    private X86Cpu cpu() { return thread.cpu; }

    private Actions actions() { return process.actions; }

    long blockedMask() { return blocked; }

    static long bit(int signal) { return 1L << (signal - 1); }

    // ---- system calls

    long sigaction(int signal, long actionAddress, long oldAddress, long setSize) {
        if (signal < 1 || signal > Signals.MAX || setSize != 8
                || (actionAddress != 0 && (signal == Signals.SIGKILL || signal == Signals.SIGSTOP))) {
            return -Errno.EINVAL;
        }
        Action next = null;
        if (actionAddress != 0) {
            next = new Action(memory().readInt(actionAddress) & 0xffff_ffffL, memory().readInt(actionAddress + 4),
                    memory().readInt(actionAddress + 8) & 0xffff_ffffL, memory().readLong(actionAddress + 12));
        }
        if (oldAddress != 0) {
            Action current = actions().get(signal);
            Action old = current == null ? new Action(SIG_DFL, 0, 0, 0) : current;
            byte[] bytes = new byte[SIGACTION_SIZE];
            java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                    .putInt((int) old.handler).putInt(old.flags).putInt((int) old.restorer).putLong(old.mask);
            memory().userWrite(oldAddress, bytes);
        }
        if (next != null) {
            actions().set(signal, next);
            if (actions().isIgnored(signal)) {
                process.discardPending(signal); // POSIX: setting SIG_IGN discards a pending signal
            }
        }
        return 0;
    }

    long sigprocmask(int how, long setAddress, long oldAddress, long setSize) {
        if (setSize != 8) {
            return -Errno.EINVAL;
        }
        long previous = blocked;
        if (setAddress != 0) {
            long set = memory().readLong(setAddress);
            switch (how) {
                case 0 -> blocked |= set;
                case 1 -> blocked &= ~set;
                case 2 -> blocked = set;
                default -> {
                    return -Errno.EINVAL;
                }
            }
            blocked &= ~UNBLOCKABLE;
        }
        if (oldAddress != 0) {
            memory().userWriteLong(oldAddress, previous);
        }
        return 0;
    }

    /** sigaltstack(stack_t *ss, stack_t *old): stack_t is {ss_sp, ss_flags, ss_size}. */
    long sigaltstack(long newAddress, long oldAddress) {
        long sp = cpu().reg(X86Cpu.ESP);
        boolean onStack = onAltStack(sp);
        if (oldAddress != 0) {
            memory().userWriteInt(oldAddress, (int) altStackBase);
            memory().userWriteInt(oldAddress + 4, altStackEnabled ? (onStack ? SS_ONSTACK : 0) : SS_DISABLE);
            memory().userWriteInt(oldAddress + 8, (int) altStackSize);
        }
        if (newAddress != 0) {
            long base = memory().readInt(newAddress) & 0xffff_ffffL;
            int flags = memory().readInt(newAddress + 4);
            long size = memory().readInt(newAddress + 8) & 0xffff_ffffL;
            if (onStack) {
                return -Errno.EPERM;
            }
            if (flags != 0 && flags != SS_DISABLE && flags != SS_ONSTACK) {
                return -Errno.EINVAL;
            }
            if (flags == SS_DISABLE) {
                altStackEnabled = false;
                altStackBase = 0;
                altStackSize = 0;
            } else {
                if (size < MINSIGSTKSZ) {
                    return -Errno.ENOMEM;
                }
                altStackEnabled = true;
                altStackBase = base;
                altStackSize = size;
            }
        }
        return 0;
    }

    private boolean onAltStack(long sp) {
        return altStackEnabled && sp > altStackBase && sp <= altStackBase + altStackSize;
    }

    /** rt_sigsuspend: waits with {@code mask} until a signal is delivered; the old mask returns after the handler. */
    long sigsuspend(long maskAddress, long setSize) {
        if (setSize != 8) {
            return -Errno.EINVAL;
        }
        long mask = memory().readLong(maskAddress) & ~UNBLOCKABLE;
        savedMask = blocked;
        blocked = mask;
        return pause();
    }

    /** Signals a sigtimedwait of this thread accepts even while blocked (senders wake the thread for them). */
    private volatile long waitingFor;

    boolean waitsFor(int signal) { return waitsForAny(bit(signal)); }

    boolean waitsForAny(long signals) { return (waitingFor & signals) != 0; }

    /**
     * rt_sigtimedwait(set, info, timeout): takes a pending signal of {@code set} (usually blocked ones) without
     * running a handler; its number, -EAGAIN at the time-out, -EINTR for another signal.
     */
    long sigtimedwait(long setAddress, long infoAddress, long timeoutNanos, long setSize) {
        if (setSize != 8) {
            return -Errno.EINVAL;
        }
        long set = memory().readLong(setAddress) & ~UNBLOCKABLE;
        long deadline = timeoutNanos < 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutNanos;
        waitingFor = set;
        try {
            synchronized (thread.sleepMonitor) {
                while (true) {
                    Info info = takeFrom(set);
                    if (info != null) {
                        if (infoAddress != 0) {
                            writeSiginfo(infoAddress, info);
                        }
                        return info.signal();
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return -Errno.EAGAIN;
                    }
                    long millis = deadline == Long.MAX_VALUE ? 0 : Math.max(1, left / 1_000_000);
                    if (GuestThread.await(thread.sleepMonitor, millis) < 0 && takeFromPeek(set) == 0) {
                        return -Errno.EINTR;
                    }
                }
            }
        } finally {
            waitingFor = 0;
        }
    }

    private long takeFromPeek(long set) {
        synchronized (actions()) {
            return (pending | process.sharedPending()) & set;
        }
    }

    private Info takeFrom(long set) {
        synchronized (actions()) {
            long mine = pending & set;
            if (mine != 0) {
                int signal = Long.numberOfTrailingZeros(mine) + 1;
                pending &= ~bit(signal);
                return pendingInfo[signal];
            }
            long shared = process.sharedPending() & set;
            if (shared != 0) {
                return process.takeShared(Long.numberOfTrailingZeros(shared) + 1);
            }
            return null;
        }
    }

    /** pause(2), and rt_sigsuspend once its mask is in force: sleeps until a signal is to be delivered. */
    long pause() {
        synchronized (thread.sleepMonitor) {
            while (true) {
                long r = GuestThread.await(thread.sleepMonitor);
                if (r < 0) {
                    return -ERESTARTNOHAND;
                }
            }
        }
    }

    /** ppoll/pselect6: installs {@code mask} for the wait; returns the mask to restore. */
    long setTemporaryMask(long mask) {
        long old = blocked;
        blocked = mask & ~UNBLOCKABLE;
        return old;
    }

    /** After the wait: an interrupted call keeps the temporary mask until the handler frame has saved {@code old}. */
    void restoreMaskAfter(long old, long result) {
        if (result == -ERESTARTNOHAND || result == -ERESTARTSYS) {
            savedMask = old;
        } else {
            blocked = old;
        }
    }

    /** A signal for this thread (tkill, tgkill, faults): pending until delivered at the next boundary. */
    void send(Info info) {
        process.generated(info.signal());
        synchronized (actions()) {
            if (actions().isIgnored(info.signal())) {
                return;
            }
            pending |= bit(info.signal());
            pendingInfo[info.signal()] = info;
        }
        if (!isBlocked(info.signal()) || waitsFor(info.signal())) {
            thread.wake();
        }
    }

    boolean isBlocked(int signal) { return (blocked & bit(signal)) != 0; }

    /** Whether a signal is waiting that this thread would take now (blocking calls give up for it). */
    boolean hasDeliverable() {
        synchronized (actions()) {
            return ((pending | process.sharedPending()) & ~blocked) != 0;
        }
    }

    void discard(int signal) {
        synchronized (actions()) {
            pending &= ~bit(signal);
        }
    }

    /**
     * A CPU exception: delivered now. If the guest blocks or ignores it, the kernel forces the default
     * action (a fault that cannot be handled would repeat forever).
     */
    void fault(Info info) {
        int signal = info.signal();
        Action a = actions().get(signal);
        if ((blocked & bit(signal)) != 0 || a == null || a.handler == SIG_DFL || a.handler == SIG_IGN) {
            process.terminate(signal);
            return;
        }
        handle(info, a);
    }

    /** A system call returned -ERESTART*: decided when the signals that interrupted it are delivered. */
    void interrupted(int nr, int code) {
        restartNr = nr;
        restartCode = code;
        cpu().setReg(X86Cpu.EAX, -Errno.EINTR);
    }

    /** Delivers pending unblocked signals; called between instructions (after each system call). */
    void deliverPending() {
        while (!process.exiting()) {
            Info info;
            Action a;
            synchronized (actions()) {
                long mine = pending & ~blocked;
                long shared = process.sharedPending() & ~blocked;
                if ((mine | shared) == 0) {
                    break;
                }
                int signal;
                if (mine != 0) {
                    signal = Long.numberOfTrailingZeros(mine) + 1;
                    pending &= ~bit(signal);
                    info = pendingInfo[signal];
                } else {
                    signal = Long.numberOfTrailingZeros(shared) + 1;
                    info = process.takeShared(signal);
                }
                a = actions().get(signal);
            }
            int signal = info.signal();
            if (a == null || a.handler == SIG_DFL) {
                if (Signals.stopsByDefault(signal)) {
                    process.stop(signal);
                    process.waitWhileStopped();
                } else if (!Signals.ignoredByDefault(signal)) {
                    process.terminate(signal);
                    return;
                }
            } else if (a.handler != SIG_IGN) {
                settleRestart(a);
                handle(info, a);
            }
        }
        if (restartNr >= 0) { // no handler ran: the call starts again
            cpu().setEip(cpu().eip() - SYSCALL_INSN_LENGTH);
            cpu().setReg(X86Cpu.EAX, restartNr);
            restartNr = -1;
        }
        if (savedMask != null) {
            blocked = savedMask;
            savedMask = null;
        }
    }

    private void settleRestart(Action a) {
        if (restartNr < 0) {
            return;
        }
        if (restartCode == ERESTARTSYS && (a.flags & SA_RESTART) != 0) {
            cpu().setEip(cpu().eip() - SYSCALL_INSN_LENGTH);
            cpu().setReg(X86Cpu.EAX, restartNr);
        } else {
            cpu().setReg(X86Cpu.EAX, -Errno.EINTR);
        }
        restartNr = -1;
    }

    // ---- frames

    private void handle(Info info, Action a) {
        int signal = info.signal();
        boolean rt = (a.flags & SA_SIGINFO) != 0;
        long sp = cpu().reg(X86Cpu.ESP);
        boolean wasOnAltStack = onAltStack(sp);
        if ((a.flags & SA_ONSTACK) != 0 && altStackEnabled && !wasOnAltStack) {
            sp = altStackBase + altStackSize;
        }
        int size = rt ? RT_SIZE : PLAIN_SIZE;
        long frame = ((sp - size + 4) & ~15L) - 4; // at handler entry (sp + 4) is 16-byte aligned, as after a call
        if (!memory().accessible(frame, size, Page.WRITE)) {
            process.terminate(Signals.SIGSEGV); // no room for the frame: the kernel forces SIGSEGV
            return;
        }
        long oldMask = savedMask != null ? savedMask : blocked;
        savedMask = null;
        long retcode = frame + (rt ? RT_RETCODE : PLAIN_RETCODE);
        long restorer = (a.flags & SA_RESTORER) != 0 ? a.restorer : retcode;
        memory().userWriteInt(frame, (int) restorer);
        memory().userWriteInt(frame + 4, signal);
        if (rt) {
            memory().userWriteInt(frame + 8, (int) (frame + RT_INFO));
            memory().userWriteInt(frame + 12, (int) (frame + RT_UCONTEXT));
            writeSiginfo(frame + RT_INFO, info);
            memory().userWrite(frame + RT_UCONTEXT, new byte[20]); // uc_flags, uc_link: 0
            memory().userWriteInt(frame + RT_UCONTEXT + 8, (int) altStackBase);
            memory().userWriteInt(frame + RT_UCONTEXT + 12, altStackEnabled ? (wasOnAltStack ? SS_ONSTACK : 0) : SS_DISABLE);
            memory().userWriteInt(frame + RT_UCONTEXT + 16, (int) altStackSize);
            writeSigcontext(frame + RT_MCONTEXT, info, oldMask);
            memory().userWriteLong(frame + RT_SIGMASK, oldMask);
            memory().userWrite(retcode, RT_RETCODE_BYTES);
        } else {
            writeSigcontext(frame + PLAIN_SC, info, oldMask);
            memory().userWriteInt(frame + PLAIN_EXTRAMASK, (int) (oldMask >>> 32));
            memory().userWrite(retcode, PLAIN_RETCODE_BYTES);
        }
        blocked = (oldMask | a.mask | ((a.flags & SA_NODEFER) != 0 ? 0 : bit(signal))) & ~UNBLOCKABLE;
        if ((a.flags & SA_RESETHAND) != 0) {
            actions().set(signal, null);
        }
        cpu().setReg(X86Cpu.ESP, frame);
        cpu().setEip(a.handler);
        cpu().setReg(X86Cpu.EAX, signal);
        cpu().setReg(X86Cpu.EDX, rt ? frame + RT_INFO : 0);
        cpu().setReg(X86Cpu.ECX, rt ? frame + RT_UCONTEXT : 0);
        cpu().setEflags(cpu().eflags() & ~(0x400 | 0x100 | 0x10000)); // DF, TF, RF cleared for the handler
        cpu().loadSegmentRegister(X86Cpu.DS, GuestProcess.USER_DATA_SELECTOR);
        cpu().loadSegmentRegister(X86Cpu.ES, GuestProcess.USER_DATA_SELECTOR);
        cpu().loadSegmentRegister(X86Cpu.SS, GuestProcess.USER_DATA_SELECTOR);
    }

    private void writeSiginfo(long at, Info info) {
        byte[] bytes = new byte[SIGINFO_SIZE];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, info.signal()).putInt(4, 0).putInt(8, info.code()).putInt(12, (int) info.address())
                .putInt(16, (int) (info.address() >>> 32)).putInt(20, info.value());
        memory().userWrite(at, bytes);
    }

    private void writeSigcontext(long at, Info info, long oldMask) {
        int[] w = new int[SIGCONTEXT_SIZE / 4];
        w[0] = cpu().segmentSelector(X86Cpu.GS);
        w[1] = cpu().segmentSelector(X86Cpu.FS);
        w[2] = cpu().segmentSelector(X86Cpu.ES);
        w[3] = cpu().segmentSelector(X86Cpu.DS);
        int[] order = {X86Cpu.EDI, X86Cpu.ESI, X86Cpu.EBP, X86Cpu.ESP, X86Cpu.EBX, X86Cpu.EDX, X86Cpu.ECX, X86Cpu.EAX};
        for (int i = 0; i < order.length; i++) {
            w[4 + i] = (int) cpu().reg(order[i]);
        }
        w[12] = info.trapno();
        w[13] = info.error();
        w[14] = (int) cpu().eip();
        w[15] = cpu().segmentSelector(X86Cpu.CS);
        w[16] = cpu().eflags();
        w[17] = (int) cpu().reg(X86Cpu.ESP);
        w[18] = cpu().segmentSelector(X86Cpu.SS);
        w[19] = 0; // fpstate: not saved
        w[20] = (int) oldMask;
        w[21] = info.signal() == Signals.SIGSEGV ? (int) info.address() : 0; // cr2
        byte[] bytes = new byte[SIGCONTEXT_SIZE];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int v : w) {
            b.putInt(v);
        }
        memory().userWrite(at, bytes);
    }

    /** rt_sigreturn: the handler returned through the restorer; the frame began 4 bytes below ESP. Returns EAX. */
    long rtSigreturn() {
        long frame = cpu().reg(X86Cpu.ESP) - 4;
        blocked = memory().readLong(frame + RT_SIGMASK) & ~UNBLOCKABLE;
        return restore(frame + RT_MCONTEXT);
    }

    /** sigreturn: the plain frame began 8 bytes below ESP (the restorer popped the signal number). */
    long sigreturn() {
        long frame = cpu().reg(X86Cpu.ESP) - 8;
        long sc = frame + PLAIN_SC;
        blocked = ((memory().readInt(sc + 80) & 0xffff_ffffL) | ((long) memory().readInt(frame + PLAIN_EXTRAMASK) << 32)) & ~UNBLOCKABLE;
        return restore(sc);
    }

    private long restore(long sc) {
        int[] w = new int[SIGCONTEXT_SIZE / 4];
        for (int i = 0; i < w.length; i++) {
            w[i] = memory().readInt(sc + 4L * i);
        }
        int[] order = {X86Cpu.EDI, X86Cpu.ESI, X86Cpu.EBP, X86Cpu.ESP, X86Cpu.EBX, X86Cpu.EDX, X86Cpu.ECX, X86Cpu.EAX};
        for (int i = 0; i < order.length; i++) {
            cpu().setReg(order[i], w[4 + i] & 0xffff_ffffL);
        }
        cpu().setEip(w[14] & 0xffff_ffffL);
        cpu().setEflags((cpu().eflags() & ~FIX_EFLAGS) | (w[16] & FIX_EFLAGS));
        try {
            cpu().loadSegmentRegister(X86Cpu.GS, w[0] & 0xffff);
            cpu().loadSegmentRegister(X86Cpu.FS, w[1] & 0xffff);
            cpu().loadSegmentRegister(X86Cpu.ES, w[2] & 0xffff);
            cpu().loadSegmentRegister(X86Cpu.DS, w[3] & 0xffff);
            cpu().loadSegmentRegister(X86Cpu.SS, w[18] & 0xffff);
        } catch (IllegalArgumentException e) {
            process.terminate(Signals.SIGSEGV); // a forged frame with bad selectors: the kernel sends SIGSEGV
        }
        return w[11] & 0xffff_ffffL; // EAX as it was: sigreturn must not clobber it with a result
    }
}
