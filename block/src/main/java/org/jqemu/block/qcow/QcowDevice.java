package org.jqemu.block.qcow;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.BlockStatus;
import org.jqemu.block.Deflate;
import org.jqemu.block.HostFile;
import org.jqemu.block.Requests;
import org.jqemu.block.qcow2.Qcow2Device;

/**
 * The original qcow format (version 1), read-only: a 48-byte header, one L1 table, L2 tables of
 * 2^l2_bits entries; an L2 entry is a host cluster offset, or (bit 63) a compressed cluster whose size
 * sits in the bits just below. No refcounts. Immutable after open, so no lock is needed; the caches
 * synchronise on themselves.
 */
public final class QcowDevice implements BlockDevice {
    private static final int HEADER = 48;
    private static final long COMPRESSED = 1L << 63;
    private static final long MAX_L1_BYTES = 32L << 20;

    private final HostFile file;
    private final String filename;
    private final BlockDevice backing;
    private final String backingFile;
    private final long size;
    private final int clusterBits;
    private final int l2Bits;
    private final long[] l1;
    private final Map<Long, long[]> l2Cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
            return size() > 64;
        }
    };

    private QcowDevice(HostFile file, String filename, ByteBuffer h, BlockDevice backing, String backingFile)
            throws BlockException {
        this.file = file;
        this.filename = filename;
        this.backing = backing;
        this.backingFile = backingFile;
        this.size = h.getLong(24);
        this.clusterBits = h.get(32) & 0xff;
        this.l2Bits = h.get(33) & 0xff;
        long l1Offset = h.getLong(40);
        long span = 1L << (clusterBits + l2Bits);
        long l1Size = (size + span - 1) / span;
        if (l1Size * 8 > MAX_L1_BYTES) {
            throw new BlockException("Image too large");
        }
        if (l1Offset < HEADER || l1Offset + l1Size * 8 > file.length()) {
            throw new BlockException("Invalid L1 table offset");
        }
        ByteBuffer t = ByteBuffer.wrap(file.read(l1Offset, (int) (l1Size * 8)));
        this.l1 = new long[(int) l1Size];
        for (int i = 0; i < l1.length; i++) {
            l1[i] = t.getLong(i * 8);
        }
    }

    /** Opens (read-only) and validates a qcow v1 image. */
    public static QcowDevice open(HostFile file, String filename, boolean readOnly, boolean noBacking,
                                  Qcow2Device.BackingOpener opener) throws BlockException {
        if (!readOnly) {
            throw new BlockException("Could not open '" + filename + "': qcow (version 1) images are supported "
                    + "read-only by jqemu");
        }
        if (file.length() < HEADER) {
            throw new BlockException("Image is not in qcow format");
        }
        ByteBuffer h = ByteBuffer.wrap(file.read(0, HEADER));
        if (h.getInt(4) != 1) {
            throw new BlockException("Unsupported qcow version " + h.getInt(4));
        }
        int clusterBits = h.get(32) & 0xff;
        int l2Bits = h.get(33) & 0xff;
        if (clusterBits < 9 || clusterBits > 16) {
            throw new BlockException("Cluster size must be between 512 and 64k");
        }
        if (l2Bits < 6 || l2Bits > 16) {
            throw new BlockException("L2 table size must be between 512 and 64k");
        }
        if (h.getInt(36) != 0) {
            throw new BlockException("Encrypted images are not supported by jqemu");
        }
        if (h.getLong(24) < 0) {
            throw new BlockException("Image too large");
        }
        long nameOffset = h.getLong(8);
        long nameLength = Integer.toUnsignedLong(h.getInt(16));
        String backingFile = null;
        if (nameOffset != 0) {
            if (nameLength > 1023 || nameOffset < HEADER || nameOffset + nameLength > file.length()) {
                throw new BlockException("Backing file name too long");
            }
            backingFile = new String(file.read(nameOffset, (int) nameLength), StandardCharsets.UTF_8);
        }
        BlockDevice backing = backingFile != null && !noBacking && opener != null
                ? opener.open(backingFile, null) : null;
        try {
            return new QcowDevice(file, filename, h, backing, backingFile);
        } catch (BlockException | RuntimeException e) {
            if (backing != null) {
                backing.close();
            }
            throw e;
        }
    }

    public String backingFile() { return backingFile; }
    public long clusterSizeBytes() { return 1L << clusterBits; }

    @Override public String format() { return "qcow"; }
    @Override public String filename() { return filename; }
    @Override public long size() { return size; }
    @Override public boolean readOnly() { return true; }
    @Override public BlockDevice backing() { return backing; }

    private long entry(long cluster) throws BlockException {
        long l2Offset = l1[(int) (cluster >>> l2Bits)];
        if (l2Offset == 0) {
            return 0;
        }
        long[] table;
        synchronized (l2Cache) {
            table = l2Cache.get(l2Offset);
        }
        if (table == null) {
            int n = 1 << l2Bits;
            ByteBuffer b = ByteBuffer.wrap(file.read(l2Offset, n * 8));
            table = new long[n];
            for (int i = 0; i < n; i++) {
                table[i] = b.getLong(i * 8);
            }
            synchronized (l2Cache) {
                l2Cache.put(l2Offset, table);
            }
        }
        return table[(int) (cluster & ((1L << l2Bits) - 1))];
    }

    @Override
    public void read(long offset, byte[] buf, int off, int len) throws BlockException {
        Requests.checkRange(offset, len, size);
        long cs = 1L << clusterBits;
        for (long pos = offset; pos < offset + len; ) {
            long cluster = pos >>> clusterBits;
            int in = (int) (pos & (cs - 1));
            int n = (int) Math.min(offset + len - pos, cs - in);
            int dst = off + (int) (pos - offset);
            long e = entry(cluster);
            if (e == 0) {
                long avail = backing == null ? 0 : Math.max(0, Math.min(n, backing.size() - pos));
                if (avail > 0) {
                    backing.read(pos, buf, dst, (int) avail);
                }
                Arrays.fill(buf, dst + (int) avail, dst + n, (byte) 0);
            } else if ((e & COMPRESSED) != 0) {
                int shift = 63 - clusterBits;
                long hostOffset = e & ((1L << shift) - 1);
                int csize = (int) ((e >>> shift) & (cs - 1));
                byte[] out = new byte[(int) cs];
                Deflate.inflate(file.read(hostOffset, csize), out, "host offset 0x" + Long.toHexString(hostOffset));
                System.arraycopy(out, in, buf, dst, n);
            } else {
                file.read(e + in, buf, dst, n);
            }
            pos += n;
        }
    }

    @Override
    public BlockStatus status(long offset, long len) throws BlockException {
        long cs = 1L << clusterBits;
        long end = Math.min(size, offset + len);
        long e = entry(offset >>> clusterBits);
        long pos = Math.min(end, ((offset >>> clusterBits) + 1) << clusterBits);
        while (pos < end) {
            long next = entry(pos >>> clusterBits);
            boolean sameKind = (next == 0) == (e == 0) && (e == 0 || ((e & COMPRESSED) == 0
                    && (next & COMPRESSED) == 0 && next == e + (pos - (offset & -cs))));
            if (!sameKind) {
                break;
            }
            pos = Math.min(end, pos + cs);
        }
        if (e == 0) {
            return new BlockStatus(pos - offset, false, false, false, -1);
        }
        boolean compressed = (e & COMPRESSED) != 0;
        return new BlockStatus(pos - offset, true, false, true, compressed ? -1 : e + (offset & (cs - 1)));
    }

    @Override
    public void write(long offset, byte[] buf, int off, int len) throws BlockException {
        Requests.checkWritable(true);
    }

    @Override
    public void writeZeroes(long offset, long len, boolean mayUnmap) throws BlockException {
        Requests.checkWritable(true);
    }

    @Override
    public void discard(long offset, long len) throws BlockException {
        Requests.checkWritable(true);
    }

    @Override
    public void flush() { }

    @Override
    public void resize(long newSize) throws BlockException {
        Requests.checkWritable(true);
    }

    @Override
    public long allocatedBytes() throws BlockException {
        return file.allocatedBytes();
    }

    @Override
    public void close() throws BlockException {
        try {
            file.close();
        } finally {
            if (backing != null) {
                backing.close();
            }
        }
    }
}
