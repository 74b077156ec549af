package org.jqemu.linuxuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A read-only file whose bytes jqemu made (the /proc/self files that describe the guest, not the JVM):
 * the content is fixed when the file is opened, as Linux's seq_file gives one consistent snapshot to a
 * reader. It stats as procfs does: a regular file of size 0.
 */
final class MemoryFile implements GuestFile {
    private static final int S_IFREG = 0100000;
    private static final int STX_MODE_OFFSET = 0x1c, STX_NLINK_OFFSET = 0x10;
    private static final int STX_BASIC_MASK = 0x7ff;
    private static final int SEEK_SET = 0, SEEK_CUR = 1, SEEK_END = 2;
    private final byte[] content;
    private long position;

    MemoryFile(byte[] content) {
        this.content = content;
    }

    @Override public synchronized long read(MemorySegment buffer) {
        long n = pread(buffer, position);
        position += n;
        return n;
    }

    @Override public long write(MemorySegment buffer) { return -Errno.EBADF; }

    @Override public long pread(MemorySegment buffer, long offset) {
        if (offset < 0) {
            return -Errno.EINVAL;
        }
        if (offset >= content.length) {
            return 0;
        }
        int n = (int) Math.min(buffer.byteSize(), content.length - offset);
        MemorySegment.copy(content, (int) offset, buffer, ValueLayout.JAVA_BYTE, 0, n);
        return n;
    }

    @Override public synchronized long seek(long offset, int whence) {
        long base = switch (whence) {
            case SEEK_SET -> 0;
            case SEEK_CUR -> position;
            case SEEK_END -> content.length;
            default -> -1;
        };
        if (base < 0 || base + offset < 0) {
            return -Errno.EINVAL;
        }
        position = base + offset;
        return position;
    }

    @Override public int statx(MemorySegment out) {
        out.fill((byte) 0);
        out.set(ValueLayout.JAVA_INT, 0, STX_BASIC_MASK);
        out.set(ValueLayout.JAVA_INT, STX_NLINK_OFFSET, 1);
        out.set(ValueLayout.JAVA_SHORT, STX_MODE_OFFSET, (short) (S_IFREG | 0444));
        out.set(ValueLayout.JAVA_INT, 4, 1024); // stx_blksize
        return 0;
    }
}
