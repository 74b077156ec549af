package org.jqemu.linuxuser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.memory.IoPorts;
import org.jqemu.target.i386.X86Cpu;

/**
 * The process and thread system calls of one guest thread: fork, vfork, clone, execve, exit,
 * wait4/waitpid/waitid, kill/tkill/tgkill, process groups and sessions.
 */
final class ProcessCalls {
    static final int CLONE_VM = 0x100, CLONE_FS = 0x200, CLONE_FILES = 0x400, CLONE_SIGHAND = 0x800,
            CLONE_PIDFD = 0x1000, CLONE_PTRACE = 0x2000, CLONE_VFORK = 0x4000, CLONE_PARENT = 0x8000,
            CLONE_THREAD = 0x10000, CLONE_NEWNS = 0x20000, CLONE_SYSVSEM = 0x40000, CLONE_SETTLS = 0x80000,
            CLONE_PARENT_SETTID = 0x100000, CLONE_CHILD_CLEARTID = 0x200000, CLONE_DETACHED = 0x400000,
            CLONE_UNTRACED = 0x800000, CLONE_CHILD_SETTID = 0x1000000;
    /** Flags we implement (namespaces and the rest are refused with EINVAL rather than ignored). */
    private static final int SUPPORTED = 0xff | CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_PTRACE
            | CLONE_VFORK | CLONE_PARENT | CLONE_THREAD | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID
            | CLONE_CHILD_CLEARTID | CLONE_DETACHED | CLONE_UNTRACED | CLONE_CHILD_SETTID;
    static final int WNOHANG = 1, WUNTRACED = 2, WEXITED = 4, WCONTINUED = 8, WNOWAIT = 0x1000000,
            WNOTHREAD = 0x20000000, WALL = 0x40000000, WCLONE = 0x80000000;
    private static final int P_ALL = 0, P_PID = 1, P_PGID = 2;
    static final int CLD_EXITED = 1, CLD_KILLED = 2, CLD_STOPPED = 5, CLD_CONTINUED = 6;
    private static final int RUSAGE_SIZE = 72;
    private static final int MAX_ARGS = 0x20000, MAX_STRING = 0x20000, MAX_SCRIPT_DEPTH = 4, SHEBANG_LINE = 256;

    private final GuestThread thread;
    private final GuestProcess process;

    ProcessCalls(GuestThread thread) {
        this.thread = thread;
        this.process = thread.process;
    }

    private GuestMemory memory() { return process.memory; }

    // ---- clone

    /** A copy of the parent thread's CPU for a child over {@code memory}: registers, TLS descriptors, segments; EAX = 0. */
    static X86Cpu copyCpu(GuestThread parent, GuestMemory memory, GuestThread child) {
        X86Cpu from = parent.cpu;
        X86Cpu cpu = new X86Cpu(memory, IoPorts.NONE);
        cpu.enterUserMode32();
        copyLdt(from, cpu, memory == parent.process.memory);
        for (int i = 0; i < GuestThread.TLS_ENTRIES; i++) {
            int[] d = parent.tls[i];
            if (d != null) {
                child.tls[i] = d.clone();
                Syscalls.installTlsDescriptor(cpu, GuestThread.TLS_ENTRY_MIN + i, d[0], d[1], d[2]);
            }
        }
        for (int r = X86Cpu.EAX; r <= X86Cpu.EDI; r++) {
            cpu.setReg(r, from.reg(r));
        }
        cpu.setReg(X86Cpu.EAX, 0);
        FpuState.copy(from.fpu(), cpu.fpu());
        cpu.setEip(from.eip());
        cpu.setEflags(from.eflags());
        for (int seg : new int[] {X86Cpu.FS, X86Cpu.GS}) {
            try {
                cpu.loadSegmentRegister(seg, from.segmentSelector(seg));
            } catch (IllegalArgumentException e) {
                cpu.loadSegmentRegister(seg, 0);
            }
        }
        return cpu;
    }

    /** The LDT belongs to the address space, as in Linux: shared with CLONE_VM children, copied by fork. */
    private static void copyLdt(X86Cpu from, X86Cpu to, boolean sameAddressSpace) {
        if (sameAddressSpace) {
            to.shareUserLdt(from);
            return;
        }
        for (int i = 0; i < from.userLdtEntries(); i++) {
            to.setUserLdtEntry(i, from.userLdtEntry(i));
        }
    }

    long fork() {
        return clone(Signals.SIGCHLD, 0, 0, 0, 0);
    }

    long vfork() {
        return clone(CLONE_VM | CLONE_VFORK | Signals.SIGCHLD, 0, 0, 0, 0);
    }

    /** clone(flags, newsp, parent_tid, tls, child_tid): the i386 argument order. */
    long clone(int flags, long newSp, long parentTid, long tls, long childTid) {
        if ((flags & ~SUPPORTED) != 0) {
            return -Errno.EINVAL;
        }
        boolean threadClone = (flags & CLONE_THREAD) != 0;
        if ((threadClone && (flags & CLONE_SIGHAND) == 0) || ((flags & CLONE_SIGHAND) != 0 && (flags & CLONE_VM) == 0)) {
            return -Errno.EINVAL;
        }
        int[] tlsDescriptor = null;
        if ((flags & CLONE_SETTLS) != 0) {
            tlsDescriptor = new int[] {memory().readInt(tls), memory().readInt(tls + 4), memory().readInt(tls + 8),
                    memory().readInt(tls + 12)};
        }
        GuestThread child;
        GuestProcess childProcess = null;
        if (threadClone) {
            child = process.newThread(thread);
        } else {
            childProcess = process.forkFrom(thread, (flags & CLONE_VM) != 0, (flags & CLONE_FILES) != 0,
                    (flags & CLONE_FS) != 0, (flags & CLONE_SIGHAND) != 0, (flags & CLONE_VFORK) != 0,
                    flags & 0xff, (flags & CLONE_PARENT) != 0);
            child = childProcess.threadList().getFirst();
        }
        X86Cpu cpu = child.cpu;
        if (newSp != 0) {
            cpu.setReg(X86Cpu.ESP, newSp);
        }
        if (tlsDescriptor != null) {
            long r = child.syscalls.setThreadArea(tlsDescriptor, 0, cpu, child);
            if (r < 0) {
                return r; // (the kernel checks this before creating the child; a bad descriptor is rare)
            }
        }
        int tid = child.tid;
        if ((flags & CLONE_PARENT_SETTID) != 0) {
            memory().userWriteInt(parentTid, tid);
        }
        if ((flags & CLONE_CHILD_SETTID) != 0) {
            child.process.memory.userWriteInt(childTid, tid);
        }
        if ((flags & CLONE_CHILD_CLEARTID) != 0) {
            child.clearChildTid = childTid;
        }
        child.start();
        if ((flags & CLONE_VFORK) != 0 && childProcess != null) {
            childProcess.awaitVforkRelease();
        }
        return tid;
    }

    // ---- exit

    long exit(int code) {
        boolean last;
        synchronized (process) {
            last = process.threads.size() == 1;
        }
        if (last) {
            process.exitGroup((code & 0xff) << 8);
        } else {
            thread.exitThread((code & 0xff) << 8); // the status if another thread leaves before this one is gone
        }
        return 0;
    }

    long exitGroup(int code) {
        process.exitGroup((code & 0xff) << 8);
        return 0;
    }

    // ---- execve

    /** The result of reading an executable for execve: bytes and the argv after #! rewriting, or -errno. */
    private record Program(String path, byte[] bytes, List<String> argv, long error) { }

    long execve(long pathAddress, long argvAddress, long envpAddress) {
        String path = memory().readCString(pathAddress, 4096);
        List<String> argv = readStrings(argvAddress);
        List<String> envp = readStrings(envpAddress);
        if (argv == null || envp == null) {
            return -Errno.E2BIG;
        }
        Program program = readProgram(path, argv, 0);
        if (program.error != 0) {
            return program.error;
        }
        GuestMemory fresh = new GuestMemory();
        GuestProcess.Image image;
        String hostExecutable = absolute(thread.syscalls.hostPath(program.path)); // /proc/self/exe of the new image
        try {
            image = process.loadImage(fresh, program.bytes, program.path, hostExecutable, program.argv, envp);
        } catch (ElfLoader.InvalidElfException | IllegalArgumentException e) {
            fresh.release();
            return e instanceof IllegalArgumentException ? -Errno.E2BIG : -Errno.ENOEXEC;
        }
        process.replaceImage(thread, fresh, image, hostExecutable, program.argv);
        return 0;
    }

    /** NULL-terminated array of string pointers; null when absurdly long. */
    private List<String> readStrings(long address) {
        List<String> out = new ArrayList<>();
        if (address == 0) {
            return out;
        }
        for (int i = 0; i < MAX_ARGS; i++) {
            long p = memory().readInt(address + 4L * i) & 0xffff_ffffL;
            if (p == 0) {
                return out;
            }
            out.add(memory().readCString(p, MAX_STRING));
        }
        return null;
    }

    private String absolute(String path) {
        if (path.startsWith("/")) {
            return Path.of(path).normalize().toString();
        }
        return Path.of(process.fs.path(), path).normalize().toString();
    }

    /** Finds and reads the file execve names, following #! up to the kernel's depth. */
    private Program readProgram(String path, List<String> argv, int depth) {
        String hostPath = thread.syscalls.hostPath(path);
        int dirfd = process.fs.cwd();
        int access = HostOs.faccessat(hostPath.startsWith("/") ? HostOs.AT_FDCWD : dirfd, hostPath, 1 /* X_OK */, 0);
        if (access < 0) {
            return new Program(path, null, argv, access);
        }
        Path file = hostPath.startsWith("/") ? Path.of(hostPath) : Path.of(process.fs.path(), hostPath);
        byte[] bytes;
        try {
            if (Files.isDirectory(file)) {
                return new Program(path, null, argv, -Errno.EACCES);
            }
            bytes = readFully(file);
        } catch (IOException | OutOfMemoryError e) {
            return new Program(path, null, argv, -Errno.EIO);
        }
        if (bytes.length >= 2 && bytes[0] == '#' && bytes[1] == '!') {
            if (depth >= MAX_SCRIPT_DEPTH) {
                return new Program(path, null, argv, -40 /* ELOOP */);
            }
            int end = 2;
            while (end < bytes.length && end < SHEBANG_LINE && bytes[end] != '\n') {
                end++;
            }
            String line = new String(bytes, 2, end - 2, StandardCharsets.UTF_8).strip();
            if (line.isEmpty()) {
                return new Program(path, null, argv, -Errno.ENOEXEC);
            }
            int space = indexOfBlank(line);
            String interpreter = space < 0 ? line : line.substring(0, space);
            String argument = space < 0 ? null : line.substring(space).strip();
            List<String> next = new ArrayList<>();
            next.add(interpreter);
            if (argument != null && !argument.isEmpty()) {
                next.add(argument);
            }
            next.add(path);
            next.addAll(argv.isEmpty() ? List.of() : argv.subList(1, argv.size()));
            return readProgram(interpreter, next, depth + 1);
        }
        return new Program(process.image.paths.isSelfExe(path) ? process.executablePath : path, bytes, argv, 0);
    }

    /**
     * Files.readAllBytes, retried when a signal's wake-up (Thread.interrupt) closed the channel under it:
     * the signal stays pending and is delivered when execve returns, as the kernel would.
     */
    private static byte[] readFully(Path file) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                Thread.interrupted();
                return Files.readAllBytes(file);
            } catch (java.nio.channels.ClosedByInterruptException e) {
                if (attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    private static int indexOfBlank(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == ' ' || s.charAt(i) == '\t') {
                return i;
            }
        }
        return -1;
    }

    // ---- wait

    /** wait4(pid, status*, options, rusage*); waitpid is wait4 without rusage. */
    long wait4(int pid, long statusAddress, int options, long rusageAddress) {
        if ((options & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE)) != 0) {
            return -Errno.EINVAL;
        }
        int idType = pid == -1 ? P_ALL : pid > 0 ? P_PID : P_PGID;
        int id = pid > 0 ? pid : pid == 0 ? -1 : -pid;
        Waited w = waitFor(idType, id, options | WEXITED);
        if (w == null) {
            return lastWaitError;
        }
        if (statusAddress != 0) {
            memory().userWriteInt(statusAddress, w.status());
        }
        if (rusageAddress != 0) {
            memory().userWrite(rusageAddress, new byte[RUSAGE_SIZE]);
        }
        return w.child().pid;
    }

    /** waitid(idtype, id, siginfo*, options, rusage*). */
    long waitid(int idType, int id, long infoAddress, int options, long rusageAddress) {
        if (idType < P_ALL || idType > P_PGID || (options & (WEXITED | WUNTRACED | WCONTINUED)) == 0) {
            return -Errno.EINVAL;
        }
        Waited w = waitFor(idType, idType == P_PGID && id == 0 ? -1 : id, options);
        if (w == null && lastWaitError != 0) {
            return lastWaitError;
        }
        byte[] info = new byte[128];
        if (w != null) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(info).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int status = w.status();
            int code;
            int value;
            if ((status & 0xff) == 0x7f) {
                code = CLD_STOPPED;
                value = status >> 8;
            } else if (status == 0xffff) {
                code = CLD_CONTINUED;
                value = Signals.SIGCONT;
            } else {
                boolean killed = (status & 0x7f) != 0;
                code = killed ? CLD_KILLED : CLD_EXITED;
                value = killed ? status & 0x7f : (status >> 8) & 0xff;
            }
            b.putInt(0, Signals.SIGCHLD).putInt(8, code).putInt(12, w.child().pid)
                    .putInt(16, HostCredentials.current().uid()).putInt(20, value);
        }
        if (infoAddress != 0) {
            memory().userWrite(infoAddress, info);
        }
        if (rusageAddress != 0) {
            memory().userWrite(rusageAddress, new byte[RUSAGE_SIZE]);
        }
        return 0;
    }

    /** Why waitFor returned null: 0 for WNOHANG with nothing ready, else -ECHILD or -ERESTARTSYS. */
    private long lastWaitError;

    /** A child wait found, with its status in wait4's encoding (exit, signal, stop or continue). */
    private record Waited(GuestProcess child, int status) { }

    /**
     * Finds a child matching (idType, id) that exited (WEXITED; reaped unless WNOWAIT), stopped (WUNTRACED) or
     * continued (WCONTINUED) and has not said so yet; waits unless WNOHANG. Null with lastWaitError set when none.
     */
    private Waited waitFor(int idType, int id, int options) {
        Object lock = process.kernel.treeLock;
        synchronized (lock) {
            while (true) {
                boolean any = false;
                for (GuestProcess c : new ArrayList<>(process.children)) {
                    if (!matches(c, idType, id)) {
                        continue;
                    }
                    any = true;
                    if (c.isZombie()) {
                        if ((options & WEXITED) == 0) {
                            continue;
                        }
                        if ((options & WNOWAIT) == 0) {
                            process.children.remove(c);
                            process.kernel.unregister(c);
                        }
                        return new Waited(c, c.waitStatus());
                    }
                    int status = c.takeJobControlStatus((options & WUNTRACED) != 0, (options & WCONTINUED) != 0,
                            (options & WNOWAIT) != 0);
                    if (status != 0) {
                        return new Waited(c, status);
                    }
                }
                if (!any) {
                    lastWaitError = -Errno.ECHILD;
                    return null;
                }
                if ((options & WNOHANG) != 0) {
                    lastWaitError = 0;
                    return null;
                }
                long r = GuestThread.await(lock);
                if (r < 0) {
                    lastWaitError = r;
                    return null;
                }
            }
        }
    }

    private boolean matches(GuestProcess c, int idType, int id) {
        return switch (idType) {
            case P_PID -> c.pid == id;
            case P_PGID -> c.pgid == (id == -1 ? process.pgid : id);
            default -> true;
        };
    }

    // ---- signals between processes

    long kill(int pid, int signal) {
        if (signal < 0 || signal > Signals.MAX) {
            return -Errno.EINVAL;
        }
        List<GuestProcess> targets = new ArrayList<>();
        synchronized (process.kernel.treeLock) {
            for (GuestProcess p : process.kernel.processes()) {
                if (p.isZombie() && pid <= 0) {
                    continue;
                }
                boolean match = pid > 0 ? p.pid == pid : pid == 0 ? p.pgid == process.pgid
                        : pid == -1 ? p != process : p.pgid == -pid;
                if (match) {
                    targets.add(p);
                }
            }
        }
        if (targets.isEmpty()) {
            return -Errno.ESRCH;
        }
        if (signal != 0) {
            for (GuestProcess p : targets) {
                if (!p.isZombie()) {
                    p.sendSignal(SignalDelivery.Info.sent(signal, SignalDelivery.Info.SI_USER, process.pid, uid()));
                }
            }
        }
        return 0;
    }

    long tgkill(int tgid, int tid, int signal) {
        if (signal < 0 || signal > Signals.MAX || tid <= 0) {
            return -Errno.EINVAL;
        }
        GuestThread t = process.kernel.thread(tid);
        if (t == null || (tgid > 0 && t.process.pid != tgid)) {
            return -Errno.ESRCH;
        }
        if (signal != 0) {
            if (signal == Signals.SIGKILL) {
                t.process.terminate(signal);
            } else {
                t.signals.send(SignalDelivery.Info.sent(signal, SignalDelivery.Info.SI_TKILL, process.pid, uid()));
            }
        }
        return 0;
    }

    private static int uid() { return HostCredentials.current().uid(); }

    // ---- process groups and sessions

    long getppid() {
        return process.parentPid();
    }

    long getpgid(int pid) {
        GuestProcess p = pid == 0 ? process : process.kernel.process(pid);
        if (p == null) {
            return -Errno.ESRCH;
        }
        synchronized (process.kernel.treeLock) {
            return p.pgid;
        }
    }

    long getsid(int pid) {
        GuestProcess p = pid == 0 ? process : process.kernel.process(pid);
        if (p == null) {
            return -Errno.ESRCH;
        }
        synchronized (process.kernel.treeLock) {
            return p.sid;
        }
    }

    long setpgid(int pid, int pgid) {
        if (pgid < 0) {
            return -Errno.EINVAL;
        }
        synchronized (process.kernel.treeLock) {
            GuestProcess p = pid == 0 ? process : process.kernel.process(pid);
            if (p == null || (p != process && p.parent != process)) {
                return -Errno.ESRCH;
            }
            if (p.sid != process.sid || p.pid == p.sid) {
                return -Errno.EPERM;
            }
            int target = pgid == 0 ? p.pid : pgid;
            if (target != p.pid) {
                boolean exists = false;
                for (GuestProcess q : process.kernel.processes()) {
                    exists |= q.pgid == target && q.sid == process.sid;
                }
                if (!exists) {
                    return -Errno.EPERM;
                }
            }
            p.pgid = target;
            return 0;
        }
    }

    long setsid() {
        synchronized (process.kernel.treeLock) {
            for (GuestProcess q : process.kernel.processes()) {
                if (q.pgid == process.pid) {
                    return -Errno.EPERM;
                }
            }
            process.sid = process.pid;
            process.pgid = process.pid;
            return process.pid;
        }
    }
}
