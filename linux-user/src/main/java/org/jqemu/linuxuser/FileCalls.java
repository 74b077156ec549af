package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/**
 * Descriptor and path system calls of one guest thread that the process model needs: pipes, dup,
 * fcntl, the working directory and umask, and the path operations (mkdir, unlink, rename, links,
 * permissions, times, directory listing) passed to the host relative to the process's own cwd.
 */
final class FileCalls {
    private static final int MAX_PATH = 4096;
    private static final int AT_REMOVEDIR = 0x200;
    private static final int F_GETLK = 5, F_SETLK = 6, F_SETLKW = 7, F_GETLK64 = 12, F_SETLK64 = 13, F_SETLKW64 = 14;
    private static final int F_SETOWN = 8, F_GETOWN = 9, F_GETPIPE_SZ = 1032;

    private final GuestThread thread;
    private final GuestProcess process;
    private final Syscalls syscalls;

    FileCalls(GuestThread thread, Syscalls syscalls) {
        this.thread = thread;
        this.process = thread.process;
        this.syscalls = syscalls;
    }

    private GuestMemory memory() { return process.memory; }

    private String path(long address) {
        return syscalls.hostPath(memory().readCString(address, MAX_PATH));
    }

    /** The host dirfd for a guest dirfd: the process's cwd for AT_FDCWD; -EBADF when it is not a host directory. */
    private int dir(int dirfd) {
        if (dirfd == HostOs.AT_FDCWD) {
            return process.fs.cwd();
        }
        return process.files.get(dirfd) instanceof HostFile h ? h.fd() : -Errno.EBADF;
    }

    /** A host *at call: syscall(nr, dirfd, path, rest...), with the path as a C string. */
    private long atCall(int nr, int dirfd, long pathAddress, long... rest) {
        String path = path(pathAddress);
        int host = path.startsWith("/") ? HostOs.AT_FDCWD : dir(dirfd);
        if (host < 0 && host != HostOs.AT_FDCWD) {
            return host;
        }
        try (Arena arena = Arena.ofConfined()) {
            long[] args = new long[2 + rest.length];
            args[0] = host;
            args[1] = arena.allocateFrom(path).address();
            System.arraycopy(rest, 0, args, 2, rest.length);
            return HostOs.syscall(nr, args);
        }
    }

    long mkdir(int dirfd, long path, int mode) {
        return atCall(HostOs.SYS_MKDIRAT, dirfd, path, mode & ~process.fs.umask() & 07777);
    }

    long mknod(int dirfd, long path, int mode, long dev) {
        return atCall(HostOs.SYS_MKNODAT, dirfd, path, mode & ~(process.fs.umask() & 0777), dev);
    }

    long unlink(int dirfd, long path, int flags) {
        return atCall(HostOs.SYS_UNLINKAT, dirfd, path, flags & AT_REMOVEDIR);
    }

    long rmdir(long path) { return unlink(HostOs.AT_FDCWD, path, AT_REMOVEDIR); }

    /** Two-path calls (rename, link): both paths resolved against their dirfds. */
    private long twoPaths(int nr, int olddir, long oldPath, int newdir, long newPath, long flags) {
        String from = path(oldPath);
        String to = path(newPath);
        int fromDir = from.startsWith("/") ? HostOs.AT_FDCWD : dir(olddir);
        int toDir = to.startsWith("/") ? HostOs.AT_FDCWD : dir(newdir);
        if (fromDir < 0 && fromDir != HostOs.AT_FDCWD) {
            return fromDir;
        }
        if (toDir < 0 && toDir != HostOs.AT_FDCWD) {
            return toDir;
        }
        try (Arena arena = Arena.ofConfined()) {
            return HostOs.syscall(nr, fromDir, arena.allocateFrom(from).address(), toDir, arena.allocateFrom(to).address(), flags);
        }
    }

    long rename(int olddir, long oldPath, int newdir, long newPath, int flags) {
        return twoPaths(HostOs.SYS_RENAMEAT2, olddir, oldPath, newdir, newPath, flags);
    }

    long link(int olddir, long oldPath, int newdir, long newPath, int flags) {
        return twoPaths(HostOs.SYS_LINKAT, olddir, oldPath, newdir, newPath, flags);
    }

    long symlink(long target, int newdir, long linkPath) {
        String t = memory().readCString(target, MAX_PATH);
        String p = path(linkPath);
        int host = p.startsWith("/") ? HostOs.AT_FDCWD : dir(newdir);
        if (host < 0 && host != HostOs.AT_FDCWD) {
            return host;
        }
        try (Arena arena = Arena.ofConfined()) {
            return HostOs.syscall(HostOs.SYS_SYMLINKAT, arena.allocateFrom(t).address(), host, arena.allocateFrom(p).address());
        }
    }

    long chmod(int dirfd, long path, int mode) {
        return atCall(HostOs.SYS_FCHMODAT, dirfd, path, mode);
    }

    long chown(int dirfd, long path, int uid, int gid, int flags) {
        return atCall(HostOs.SYS_FCHOWNAT, dirfd, path, uid, gid, flags);
    }

    /** utimensat with a 32-bit (time64 = false) or 64-bit timespec pair; a NULL path means the descriptor itself. */
    long utimensat(int dirfd, long pathAddress, long times, int flags, boolean time64) {
        long[] values = null;
        if (times != 0) {
            values = new long[4];
            for (int i = 0; i < 2; i++) {
                values[2 * i] = time64 ? memory().readLong(times + 16L * i) : memory().readInt(times + 8L * i);
                values[2 * i + 1] = time64 ? memory().readInt(times + 16L * i + 8) : memory().readInt(times + 8L * i + 4);
            }
        }
        return utimensat(dirfd, pathAddress, values, flags);
    }

    /** utimensat with {atime s, atime ns, mtime s, mtime ns}, or null for "now" (utime and utimes come here too). */
    long utimensat(int dirfd, long pathAddress, long[] values, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ts = MemorySegment.NULL;
            if (values != null) {
                ts = arena.allocate(32, 8);
                for (int i = 0; i < 4; i++) {
                    ts.set(ValueLayout.JAVA_LONG, 8L * i, values[i]);
                }
            }
            if (pathAddress == 0) {
                int host = hostFd(dirfd);
                return host < 0 ? host : HostOs.syscall(HostOs.SYS_UTIMENSAT, host, 0, ts.address(), flags);
            }
            return atCall(HostOs.SYS_UTIMENSAT, dirfd, pathAddress, ts.address(), flags);
        }
    }

    private int hostFd(int fd) {
        GuestFile f = process.files.get(fd);
        return f instanceof HostFile h ? h.fd() : f == null ? -Errno.EBADF : -Errno.EINVAL;
    }

    /** Calls taking one host descriptor and plain numbers: fchmod, fchown, fsync, ftruncate, flock, fallocate. */
    long onHostFd(int nr, int fd, long... rest) {
        int host = hostFd(fd);
        if (host < 0) {
            return host;
        }
        long[] args = new long[1 + rest.length];
        args[0] = host;
        System.arraycopy(rest, 0, args, 1, rest.length);
        return HostOs.syscall(nr, args);
    }

    long truncate(long path, long length) {
        try (Arena arena = Arena.ofConfined()) {
            String p = path(path);
            if (!p.startsWith("/")) {
                p = process.fs.path() + "/" + p;
            }
            return HostOs.syscall(HostOs.SYS_TRUNCATE, arena.allocateFrom(p).address(), length);
        }
    }

    long getdents64(int fd, long buffer, long count) {
        int host = hostFd(fd);
        if (host < 0) {
            return host == -Errno.EINVAL ? -Errno.ENOTDIR : host;
        }
        int n = (int) Math.min(count, 1 << 20);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(n, 1), 8);
            long r = HostOs.syscall(HostOs.SYS_GETDENTS64, host, out.address(), n);
            if (r > 0) {
                memory().userWrite(buffer, out.asSlice(0, r).toArray(ValueLayout.JAVA_BYTE));
            }
            return r;
        }
    }

    long statfs64(long pathAddress, long size, long buffer, int fd) {
        if (size != 84) {
            return -Errno.EINVAL;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(120, 8);
            long r;
            if (pathAddress != 0) {
                String p = path(pathAddress);
                if (!p.startsWith("/")) {
                    p = process.fs.path() + "/" + p;
                }
                r = HostOs.syscall(HostOs.SYS_STATFS, arena.allocateFrom(p).address(), out.address());
            } else {
                int host = hostFd(fd);
                r = host < 0 ? host : HostOs.syscall(HostOs.SYS_FSTATFS, host, out.address());
            }
            if (r < 0) {
                return r;
            }
            // struct statfs (x86_64, 8-byte fields) to the i386 struct statfs64: type, bsize as 32-bit, counts 64-bit
            java.nio.ByteBuffer o = java.nio.ByteBuffer.allocate(84).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            o.putInt(0, (int) out.get(ValueLayout.JAVA_LONG, 0));
            o.putInt(4, (int) out.get(ValueLayout.JAVA_LONG, 8));
            for (int i = 0; i < 5; i++) {
                o.putLong(8 + 8 * i, out.get(ValueLayout.JAVA_LONG, 16 + 8L * i));
            }
            o.putLong(48, out.get(ValueLayout.JAVA_LONG, 56)); // f_fsid
            o.putInt(56, (int) out.get(ValueLayout.JAVA_LONG, 64)); // f_namelen
            o.putInt(60, (int) out.get(ValueLayout.JAVA_LONG, 72)); // f_frsize
            o.putInt(64, (int) out.get(ValueLayout.JAVA_LONG, 80)); // f_flags
            memory().userWrite(buffer, o.array());
            return 0;
        }
    }

    // ---- working directory and umask

    long chdir(long pathAddress) {
        return process.fs.chdir(HostOs.AT_FDCWD, path(pathAddress));
    }

    long fchdir(int fd) {
        int host = hostFd(fd);
        return host < 0 ? host : process.fs.chdir(host, ".");
    }

    long getcwd(long buffer, long size) {
        byte[] cwd = (process.fs.path() + "\0").getBytes(StandardCharsets.UTF_8);
        if (size < cwd.length) {
            return -Errno.ERANGE;
        }
        memory().userWrite(buffer, cwd);
        return cwd.length;
    }

    long umask(int mask) { return process.fs.setUmask(mask); }

    // ---- pipes and descriptors

    long pipe(long fdsAddress, int flags) {
        if ((flags & ~(Fcntl.O_CLOEXEC | Fcntl.O_NONBLOCK | 040000 /* O_DIRECT */)) != 0) {
            return -Errno.EINVAL;
        }
        if (!memory().accessible(fdsAddress, 8, org.jqemu.memory.Page.WRITE)) {
            return -Errno.EFAULT;
        }
        Pipe.End[] ends = Pipe.create(flags & Fcntl.O_NONBLOCK);
        boolean cloexec = (flags & Fcntl.O_CLOEXEC) != 0;
        int r = process.files.install(ends[0], 0, cloexec);
        if (r < 0) {
            ends[0].close();
            ends[1].close();
            return r;
        }
        int w = process.files.install(ends[1], 0, cloexec);
        if (w < 0) {
            process.files.close(r);
            ends[1].close();
            return w;
        }
        memory().userWriteInt(fdsAddress, r);
        memory().userWriteInt(fdsAddress + 4, w);
        return 0;
    }

    long dup(int fd) {
        GuestFile f = process.files.get(fd);
        return f == null ? -Errno.EBADF : process.files.install(f, 0, false);
    }

    /** dup2 (dup3 = false: same descriptors are fine) and dup3 (flags O_CLOEXEC; same descriptors are EINVAL). */
    long dup3(int oldFd, int newFd, int flags, boolean dup3) {
        GuestFile f = process.files.get(oldFd);
        if (f == null) {
            return -Errno.EBADF;
        }
        if (newFd < 0 || newFd >= FdTable.MAX_FILES) {
            return -Errno.EBADF;
        }
        if (dup3 && ((flags & ~Fcntl.O_CLOEXEC) != 0 || oldFd == newFd)) {
            return -Errno.EINVAL;
        }
        if (oldFd == newFd) {
            return newFd;
        }
        return process.files.installAt(newFd, f, (flags & Fcntl.O_CLOEXEC) != 0);
    }

    long fcntl(int fd, int command, long argument) {
        GuestFile f = process.files.get(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        return switch (command) {
            case Fcntl.F_DUPFD -> checkFd(argument) ? process.files.install(f, (int) argument, false) : -Errno.EINVAL;
            case Fcntl.F_DUPFD_CLOEXEC -> checkFd(argument) ? process.files.install(f, (int) argument, true) : -Errno.EINVAL;
            case Fcntl.F_GETFD -> process.files.closeOnExec(fd) ? Fcntl.FD_CLOEXEC : 0;
            case Fcntl.F_SETFD -> {
                process.files.setCloseOnExec(fd, (argument & Fcntl.FD_CLOEXEC) != 0);
                yield 0;
            }
            case Fcntl.F_GETFL -> f instanceof Pipe.End p ? p.statusFlags | (p.reading ? 0 : 1)
                    : f instanceof HostFile h ? HostOs.syscall(HostOs.SYS_FCNTL, h.fd(), Fcntl.F_GETFL) : 2;
            case Fcntl.F_SETFL -> {
                int settable = Fcntl.O_APPEND | Fcntl.O_NONBLOCK;
                if (f instanceof Pipe.End p) {
                    p.statusFlags = (int) argument & settable;
                    yield 0;
                }
                yield f instanceof HostFile h ? HostOs.syscall(HostOs.SYS_FCNTL, h.fd(), Fcntl.F_SETFL, argument) : 0;
            }
            case F_SETLK, F_SETLKW, F_SETLK64, F_SETLKW64 -> 0; // one emulator, no other lockers that could conflict
            case F_GETLK, F_GETLK64 -> {
                memory().userWriteInt(argument, (memory().readInt(argument) & 0xffff_0000) | 2); // l_type = F_UNLCK
                yield 0;
            }
            case F_SETOWN -> 0;
            case F_GETOWN -> 0;
            case F_GETPIPE_SZ -> f instanceof Pipe.End ? Pipe.CAPACITY : -Errno.EBADF;
            default -> -Errno.EINVAL;
        };
    }

    private static boolean checkFd(long fd) { return fd >= 0 && fd < FdTable.MAX_FILES; }

    // ---- poll and select

    /** How often poll re-checks host descriptors, which cannot notify the JVM's monitors. */
    private static final long HOST_RECHECK_MILLIS = 10;

    /** Readiness of one descriptor for poll: revents for {@code events}. */
    private int readiness(int fd, int events) {
        GuestFile f = process.files.get(fd);
        if (f == null) {
            return Fcntl.POLLNVAL;
        }
        int ready;
        if (f instanceof Pipe.End p) {
            ready = p.poll();
        } else if (f instanceof HostFile h) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment pfd = arena.allocate(8, 4);
                pfd.set(ValueLayout.JAVA_INT, 0, h.fd());
                pfd.set(ValueLayout.JAVA_SHORT, 4, (short) events);
                long r = HostOs.syscall(HostOs.SYS_POLL, pfd.address(), 1, 0);
                ready = r > 0 ? pfd.get(ValueLayout.JAVA_SHORT, 6) & 0xffff : 0;
            }
        } else {
            ready = Fcntl.POLLIN | Fcntl.POLLOUT;
        }
        return ready & (events | Fcntl.POLLERR | Fcntl.POLLHUP | Fcntl.POLLNVAL);
    }

    /**
     * Waits until {@code check} finds something ready or the deadline passes: the count, 0 at the deadline,
     * -ERESTARTNOHAND for a signal. Pipes notify the poll monitor; host descriptors are re-checked every few ms.
     */
    private long waitReady(java.util.function.IntSupplier check, long deadlineNanos) {
        Object monitor = Kernel.pollMonitor();
        while (true) {
            long generation = Kernel.pollGeneration();
            int n = check.getAsInt(); // outside the monitor: pipes take their own lock, then notify it
            if (n != 0) {
                return n;
            }
            long left = deadlineNanos - System.nanoTime();
            if (left <= 0) {
                return 0;
            }
            synchronized (monitor) {
                if (generation != Kernel.pollGeneration()) {
                    continue; // something changed since the check
                }
                long millis = Math.min(HOST_RECHECK_MILLIS, Math.max(1, left / 1_000_000));
                if (GuestThread.await(monitor, millis) < 0) {
                    return -SignalDelivery.ERESTARTNOHAND;
                }
            }
        }
    }

    private static long deadline(long timeoutNanos) {
        return timeoutNanos < 0 ? Long.MAX_VALUE : System.nanoTime() + timeoutNanos;
    }

    /** poll(fds, nfds, timeout) and ppoll (timeout in ns, -1 for none). */
    long poll(long fds, long nfds, long timeoutNanos) {
        if (nfds > FdTable.MAX_FILES) {
            return -Errno.EINVAL;
        }
        int count = (int) nfds;
        int[] fd = new int[count];
        int[] events = new int[count];
        for (int i = 0; i < count; i++) {
            fd[i] = memory().readInt(fds + 8L * i);
            events[i] = memory().readInt(fds + 8L * i + 4) & 0xffff;
        }
        int[] revents = new int[count];
        long r = waitReady(() -> {
            int ready = 0;
            for (int i = 0; i < count; i++) {
                revents[i] = fd[i] < 0 ? 0 : readiness(fd[i], events[i]);
                ready += revents[i] != 0 ? 1 : 0;
            }
            return ready;
        }, deadline(timeoutNanos));
        if (r >= 0) {
            for (int i = 0; i < count; i++) {
                memory().writeByte(fds + 8L * i + 6, (byte) revents[i]);
                memory().writeByte(fds + 8L * i + 7, (byte) (revents[i] >> 8));
            }
        }
        return r;
    }

    /**
     * select over fd_sets of 32-bit words (the host's bit layout): read, write and except (POLLPRI: urgent
     * data on a host socket; descriptors in the JVM never have any).
     */
    long select(int nfds, long readSet, long writeSet, long exceptSet, long timeoutNanos) {
        if (nfds < 0 || nfds > FdTable.MAX_FILES) {
            return -Errno.EINVAL;
        }
        int words = (nfds + 31) / 32;
        int[] in = readSet(readSet, words), out = readSet(writeSet, words), ex = readSet(exceptSet, words);
        int[] rin = new int[words], rout = new int[words], rex = new int[words];
        for (int fd = 0; fd < nfds; fd++) {
            if (((in[fd >> 5] | out[fd >> 5] | ex[fd >> 5]) >>> (fd & 31) & 1) != 0 && process.files.get(fd) == null) {
                return -Errno.EBADF;
            }
        }
        long r = waitReady(() -> {
            int ready = 0;
            java.util.Arrays.fill(rin, 0);
            java.util.Arrays.fill(rout, 0);
            java.util.Arrays.fill(rex, 0);
            for (int fd = 0; fd < nfds; fd++) {
                int bit = 1 << (fd & 31);
                boolean wantIn = (in[fd >> 5] & bit) != 0, wantOut = (out[fd >> 5] & bit) != 0;
                boolean wantEx = (ex[fd >> 5] & bit) != 0;
                if (!wantIn && !wantOut && !wantEx) {
                    continue;
                }
                int rev = readiness(fd, (wantIn ? Fcntl.POLLIN : 0) | (wantOut ? Fcntl.POLLOUT : 0)
                        | (wantEx ? Fcntl.POLLPRI : 0));
                if (wantIn && (rev & (Fcntl.POLLIN | Fcntl.POLLHUP | Fcntl.POLLERR)) != 0) {
                    rin[fd >> 5] |= bit;
                    ready++;
                }
                if (wantOut && (rev & (Fcntl.POLLOUT | Fcntl.POLLERR)) != 0) {
                    rout[fd >> 5] |= bit;
                    ready++;
                }
                if (wantEx && (rev & Fcntl.POLLPRI) != 0) {
                    rex[fd >> 5] |= bit;
                    ready++;
                }
            }
            return ready;
        }, deadline(timeoutNanos));
        if (r >= 0) {
            writeSet(readSet, rin);
            writeSet(writeSet, rout);
            writeSet(exceptSet, rex);
        }
        return r;
    }

    private int[] readSet(long address, int words) {
        int[] set = new int[words];
        for (int i = 0; address != 0 && i < words; i++) {
            set[i] = memory().readInt(address + 4L * i);
        }
        return set;
    }

    private void writeSet(long address, int[] set) {
        for (int i = 0; address != 0 && i < set.length; i++) {
            memory().userWriteInt(address + 4L * i, set[i]);
        }
    }
}
