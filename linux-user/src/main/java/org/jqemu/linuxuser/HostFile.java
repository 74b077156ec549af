package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A real host file descriptor: what jqemu-i386 gives the guest for stdin/stdout/stderr and for open(2). */
record HostFile(int fd, boolean owned) implements GuestFile {
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int STATX_BASIC_STATS = 0x7ff;

    @Override public long read(MemorySegment buffer) { return HostOs.read(fd, buffer); }

    @Override public long write(MemorySegment buffer) { return HostOs.write(fd, buffer); }

    /** A host pipe or socket may have nothing more: a second chunk of one read must not wait for it. */
    @Override public boolean readableNow() {
        try (Arena arena = Arena.ofConfined()) {
            return pollIn(arena.allocate(8, 4), fd, 0) != 0;
        }
    }

    /** poll(2) for POLLIN through {@code pfd} (a struct pollfd): above 0 readable, at end or in error; 0 after {@code millis}. */
    static long pollIn(MemorySegment pfd, int fd, int millis) {
        pfd.set(ValueLayout.JAVA_INT, 0, fd);
        pfd.set(ValueLayout.JAVA_SHORT, 4, (short) Fcntl.POLLIN);
        return HostOs.syscall(HostOs.SYS_POLL, pfd.address(), 1, millis);
    }

    @Override public long pread(MemorySegment buffer, long offset) { return HostOs.pread(fd, buffer, offset); }

    @Override public long seek(long offset, int whence) { return HostOs.lseek(fd, offset, whence); }

    @Override public int statx(MemorySegment out) { return HostOs.statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, out); }

    @Override public int ioctl(long request, MemorySegment argument) { return HostOs.ioctl(fd, request, argument); }

    /** Descriptors 0-2 are the JVM's too: closing them for the guest must not close them for us. */
    @Override public int close() { return owned ? HostOs.close(fd) : 0; }
}
