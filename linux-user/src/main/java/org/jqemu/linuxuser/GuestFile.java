package org.jqemu.linuxuser;

import java.lang.foreign.MemorySegment;

/**
 * An open file as the guest's file descriptor table holds it. Buffers are host memory (a bounce buffer the
 * system call copies to or from guest memory when the bytes move, see {@code Syscalls.transfer}). Results
 * follow the kernel's convention: a count, or {@code -errno}.
 */
interface GuestFile {
    long read(MemorySegment buffer);

    long write(MemorySegment buffer);

    /** Whether a read would return at once (a read that got a chunk goes on only then, as it must not wait). */
    default boolean readableNow() { return true; }

    /** pread(2); files without positions answer -ESPIPE. */
    default long pread(MemorySegment buffer, long offset) { return -Errno.ESPIPE; }

    default long seek(long offset, int whence) { return -Errno.ESPIPE; }

    /** Fills the 256-byte struct statx. */
    int statx(MemorySegment out);

    /** ioctl with a pointer argument; files that are not terminals answer -ENOTTY. */
    default int ioctl(long request, MemorySegment argument) { return -Errno.ENOTTY; }

    /** Called when the last descriptor for it closes. */
    default int close() { return 0; }
}
