package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

/**
 * A process's working directory and umask (the kernel's fs_struct): copied by fork, shared by CLONE_FS.
 * The working directory is an O_PATH descriptor of the host directory, passed as dirfd to the host's
 * *at calls, so each guest process has its own cwd although the JVM has one.
 */
final class FsContext {
    private static final int O_PATH_DIRECTORY = Fcntl.O_PATH | Fcntl.O_DIRECTORY | Fcntl.O_CLOEXEC;
    private int cwdFd;
    private int umask;
    private int users = 1;

    private FsContext(int cwdFd, int umask) {
        this.cwdFd = cwdFd;
        this.umask = umask;
    }

    /** The JVM's working directory and the host umask (read once; guests keep their own from then on). */
    static FsContext initial() {
        int fd = HostOs.openat(HostOs.AT_FDCWD, ".", O_PATH_DIRECTORY, 0);
        int mask = (int) HostOs.syscall(HostOs.SYS_UMASK, 022);
        HostOs.syscall(HostOs.SYS_UMASK, mask);
        return new FsContext(fd, mask);
    }

    /**
     * jqemu-i386 applies each guest process's umask itself (open, mkdir, mknod), so the host's own umask must
     * not mask again: it becomes 0 for the rest of the run. Called once by Main, never inside tests' JVMs.
     */
    static void takeOverHostUmask() {
        HostOs.syscall(HostOs.SYS_UMASK, 0);
    }

    synchronized FsContext copy() {
        return new FsContext(HostOs.openat(cwdFd, ".", O_PATH_DIRECTORY, 0), umask);
    }

    synchronized FsContext share() {
        users++;
        return this;
    }

    synchronized void leave() {
        if (--users == 0 && cwdFd >= 0) {
            HostOs.close(cwdFd);
            cwdFd = -1;
        }
    }

    synchronized int cwd() { return cwdFd; }

    synchronized int umask() { return umask; }

    synchronized int setUmask(int mask) {
        int old = umask;
        umask = mask & 0777;
        return old;
    }

    /** chdir/fchdir: {@code dirfd} + {@code path} must name a directory. */
    synchronized long chdir(int dirfd, String path) {
        int fd = HostOs.openat(dirfd == HostOs.AT_FDCWD ? cwdFd : dirfd, path, O_PATH_DIRECTORY, 0);
        if (fd < 0) {
            return fd;
        }
        HostOs.close(cwdFd);
        cwdFd = fd;
        return 0;
    }

    /** The working directory's absolute path, as getcwd(2) returns it. */
    synchronized String path() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(4096);
            long n = HostOs.readlink("/proc/self/fd/" + cwdFd, out);
            return n < 0 ? "/" : new String(out.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
    }
}
