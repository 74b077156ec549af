package org.jqemu.linuxuser;

import java.io.ByteArrayOutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** A write-only pipe into memory: a guest run inside a test or harness writes its stdout here. */
public final class CapturedOutput implements GuestFile {
    private static final int S_IFIFO = 0010000;
    private static final int STX_MODE_OFFSET = 0x1c;
    private static final int STX_MASK_TYPE_MODE = 0x3;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    @Override public long read(MemorySegment buffer) { return -Errno.EBADF; }

    @Override public long write(MemorySegment buffer) {
        bytes.writeBytes(buffer.toArray(ValueLayout.JAVA_BYTE));
        return buffer.byteSize();
    }

    @Override public int statx(MemorySegment out) {
        out.fill((byte) 0);
        out.set(ValueLayout.JAVA_INT, 0, STX_MASK_TYPE_MODE);
        out.set(ValueLayout.JAVA_SHORT, STX_MODE_OFFSET, (short) (S_IFIFO | 0600));
        return 0;
    }

    public byte[] toByteArray() { return bytes.toByteArray(); }
}
