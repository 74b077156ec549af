package org.jqemu.block;

/**
 * An open disk image as devices see it: a byte-addressed array of {@link #size()} bytes.
 *
 * <p>Offsets and lengths are in bytes and need no alignment; a request must lie within the size.
 * <p>Concurrency: every implementation is safe for concurrent requests from several threads. The
 * drivers serialise metadata changes internally (see each driver's class comment); a read that races
 * a write to the same bytes sees either the old or the new data for each cluster, never metadata
 * in an intermediate state.
 * <p>Errors are {@link BlockException}s whose message is ready for the user.
 */
public interface BlockDevice extends AutoCloseable {
    /** Format name as qemu-img prints it ("raw", "qcow2"). */
    String format();

    /** The file name the image was opened with. */
    String filename();

    long size();

    boolean readOnly();

    void read(long offset, byte[] buf, int off, int len) throws BlockException;

    void write(long offset, byte[] buf, int off, int len) throws BlockException;

    /**
     * Reads dst.remaining() bytes at offset into dst from its position; dst's position and limit are
     * left as they were. Drivers override it to read straight into a direct buffer (conversion keeps
     * its data off the Java heap); this default goes through a heap array.
     */
    default void read(long offset, java.nio.ByteBuffer dst) throws BlockException {
        if (dst.hasArray()) {
            read(offset, dst.array(), dst.arrayOffset() + dst.position(), dst.remaining());
            return;
        }
        byte[] tmp = new byte[dst.remaining()];
        read(offset, tmp, 0, tmp.length);
        dst.put(dst.position(), tmp);
    }

    /** Writes src.remaining() bytes from src's position at offset; src's position and limit are unchanged. */
    default void write(long offset, java.nio.ByteBuffer src) throws BlockException {
        if (src.hasArray()) {
            write(offset, src.array(), src.arrayOffset() + src.position(), src.remaining());
            return;
        }
        byte[] tmp = new byte[src.remaining()];
        src.get(src.position(), tmp);
        write(offset, tmp, 0, tmp.length);
    }

    /** Makes the range read as zeros; mayUnmap lets the driver free the space (BDRV_REQ_MAY_UNMAP). */
    void writeZeroes(long offset, long len, boolean mayUnmap) throws BlockException;

    /** Hint that the range is no longer needed; its contents become unspecified (zeros or backing data). */
    void discard(long offset, long len) throws BlockException;

    /** Makes everything written so far durable on the host. */
    void flush() throws BlockException;

    /** Where and how the bytes starting at offset are stored: one extent of at most len bytes. */
    BlockStatus status(long offset, long len) throws BlockException;

    /**
     * As status, for a reader that tests the data for zeros itself (conversion): a driver may answer
     * "data" at once (a shorter extent, so that the caller asks again) where status would first wait
     * for something slow to become available, the host file's hole seeking (native calls linked on a
     * background thread). Holes read as zeros, so the reader's result is the same, only later for them.
     */
    default BlockStatus statusWithoutWaiting(long offset, long len) throws BlockException {
        return status(offset, len);
    }

    /** The backing image, or null. */
    BlockDevice backing();

    /** Changes the virtual size; shrinking discards the tail. */
    void resize(long newSize) throws BlockException;

    /** Bytes the image occupies on the host ("disk size"). */
    long allocatedBytes() throws BlockException;

    /** Closes this image and its backing chain. */
    @Override
    void close() throws BlockException;
}
