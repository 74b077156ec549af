package org.jqemu.block.raw;

import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.BlockStatus;
import org.jqemu.block.HostFile;
import org.jqemu.block.Requests;

/**
 * The raw format: the virtual disk is the host file, byte for byte. Zeroing and discard punch holes
 * so images stay sparse. No metadata, hence no lock: positional host I/O is thread-safe; the size is
 * volatile so a resize is seen by every thread.
 */
public final class RawDevice implements BlockDevice {
    private final HostFile file;
    private final String filename;
    private final boolean readOnly;
    /** cache=unsafe: flushes are no-ops (qemu-img convert's target, a new image). */
    private final boolean unsafe;
    private volatile long size;
    /**
     * The last data or hole extent found, reused while the file cannot change (read-only): each lookup
     * costs two system calls, and conversion asks about every 2 MiB piece.
     */
    private volatile Extent lastExtent;

    private record Extent(long start, long end, boolean data) { }

    public RawDevice(HostFile file, String filename, boolean readOnly) throws BlockException {
        this(file, filename, readOnly, false);
    }

    public RawDevice(HostFile file, String filename, boolean readOnly, boolean unsafe) throws BlockException {
        this.file = file;
        this.filename = filename;
        this.readOnly = readOnly;
        this.unsafe = unsafe;
        this.size = file.length();
        if (readOnly) {
            // A raw image read is asked for its holes soon (conversion, map, compare): link the calls now,
            // in the background, rather than at the first question.
            HostFile.linkNativeCallsInBackground();
        }
    }

    /** Creates a raw image of the given size (sparse unless preallocated), writing its first block like QEMU. */
    public static void create(java.nio.file.Path path, long size, String preallocation) throws BlockException {
        try (HostFile f = HostFile.create(path)) {
            f.truncate(size);
            switch (preallocation) {
                case "off" -> { }
                case "falloc" -> {
                    if (!f.allocate(0, size)) {
                        fillZeros(f, size);
                    }
                }
                case "full" -> fillZeros(f, size);
                default -> throw new BlockException("Unsupported preallocation mode '" + preallocation + "'");
            }
            // QEMU allocates the first block so the host alignment can be probed later; do the same
            // so "disk size" and map match.
            int first = (int) Math.min(size, 4096);
            if (first > 0 && "off".equals(preallocation)) {
                f.write(0, new byte[first]);
            }
        }
    }

    private static void fillZeros(HostFile f, long size) throws BlockException {
        byte[] zeros = new byte[1 << 20];
        for (long p = 0; p < size; p += zeros.length) {
            f.write(p, zeros, 0, (int) Math.min(zeros.length, size - p));
        }
    }

    @Override public String format() { return "raw"; }
    @Override public String filename() { return filename; }
    @Override public long size() { return size; }
    @Override public boolean readOnly() { return readOnly; }
    @Override public BlockDevice backing() { return null; }

    @Override
    public void read(long offset, byte[] buf, int off, int len) throws BlockException {
        checkRange(offset, len);
        file.read(offset, buf, off, len);
    }

    @Override
    public void write(long offset, byte[] buf, int off, int len) throws BlockException {
        checkWritable();
        checkRange(offset, len);
        file.write(offset, buf, off, len);
    }

    @Override
    public void read(long offset, java.nio.ByteBuffer dst) throws BlockException {
        checkRange(offset, dst.remaining());
        file.read(offset, dst);
    }

    @Override
    public void write(long offset, java.nio.ByteBuffer src) throws BlockException {
        checkWritable();
        checkRange(offset, src.remaining());
        file.write(offset, src);
    }

    @Override
    public void writeZeroes(long offset, long len, boolean mayUnmap) throws BlockException {
        checkWritable();
        checkRange(offset, len);
        file.zero(offset, len);
    }

    @Override
    public void discard(long offset, long len) throws BlockException {
        checkWritable();
        checkRange(offset, len);
        file.discard(offset, len);
    }

    @Override
    public void flush() throws BlockException {
        if (!readOnly && !unsafe) {
            file.flush();
        }
    }

    @Override
    public BlockStatus status(long offset, long len) throws BlockException {
        long end = Math.min(offset + len, size);
        if (!file.canSeekHoles()) {
            return new BlockStatus(end - offset, true, false, true, offset);
        }
        Extent e = lastExtent;
        if (e == null || offset < e.start() || offset >= e.end()) {
            boolean data = file.isData(offset);
            long change = file.nextChange(offset, data);
            e = new Extent(offset, change <= offset ? size : Math.min(change, size), data);
            if (readOnly) {
                lastExtent = e;
            }
        }
        return new BlockStatus(Math.min(e.end(), end) - offset, true, !e.data(), e.data(), offset);
    }

    /** While hole seeking is being linked (in the background): data, one extent of at most this long. */
    private static final long UNKNOWN_EXTENT = 2 << 20;

    @Override
    public BlockStatus statusWithoutWaiting(long offset, long len) throws BlockException {
        if (!file.holeSeekingReady()) {
            HostFile.linkNativeCallsInBackground(); // if not yet started: for the extents that follow
            return new BlockStatus(Math.min(Math.min(len, size - offset), UNKNOWN_EXTENT), true, false, true, offset);
        }
        return status(offset, len);
    }

    @Override
    public void resize(long newSize) throws BlockException {
        checkWritable();
        file.truncate(newSize);
        size = newSize;
    }

    @Override
    public long allocatedBytes() throws BlockException {
        return file.allocatedBytes();
    }

    @Override
    public void close() throws BlockException {
        file.close();
    }

    private void checkWritable() throws BlockException {
        Requests.checkWritable(readOnly);
    }

    private void checkRange(long offset, long len) throws BlockException {
        Requests.checkRange(offset, len, size);
    }
}
