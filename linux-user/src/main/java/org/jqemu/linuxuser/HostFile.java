package org.jqemu.linuxuser;

import java.lang.foreign.MemorySegment;

/** A real host file descriptor: what jqemu-i386 gives the guest for stdin/stdout/stderr and for open(2). */
record HostFile(int fd, boolean owned) implements GuestFile {
    private static final int AT_EMPTY_PATH = 0x1000;
    private static final int STATX_BASIC_STATS = 0x7ff;

    @Override public long read(MemorySegment buffer) { return HostOs.read(fd, buffer); }

    @Override public long write(MemorySegment buffer) { return HostOs.write(fd, buffer); }

    @Override public long pread(MemorySegment buffer, long offset) { return HostOs.pread(fd, buffer, offset); }

    @Override public long seek(long offset, int whence) { return HostOs.lseek(fd, offset, whence); }

    @Override public int statx(MemorySegment out) { return HostOs.statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, out); }

    @Override public int ioctl(long request, MemorySegment argument) { return HostOs.ioctl(fd, request, argument); }

    /** Descriptors 0-2 are the JVM's too: closing them for the guest must not close them for us. */
    @Override public int close() { return owned ? HostOs.close(fd) : 0; }
}
