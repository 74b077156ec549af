package org.jqemu.block.qcow;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.BlockStatus;
import org.jqemu.block.CompressedWriter;
import org.jqemu.block.Deflate;
import org.jqemu.block.HostFile;
import org.jqemu.block.Requests;
import org.jqemu.block.qcow2.Qcow2Device;

/**
 * The original qcow format (version 1): a 48-byte header, one L1 table, L2 tables of 2^l2_bits
 * entries; an L2 entry is a host cluster offset, or (bit 63) a compressed cluster whose size sits in
 * the bits just below. No refcounts: new L2 tables and clusters are appended at the end of the file
 * (cluster-aligned, as QEMU places them), compressed clusters are packed after the last byte.
 *
 * <p>Crash consistency: a new cluster's data (with the rest of the cluster copied from what it
 * replaces) and a new, zeroed L2 table reach the file before the entry pointing to them, so an
 * interruption leaves at worst unreferenced space at the end of the file.
 * <p>Locking: reads hold the read lock, writes the write lock (the format is rarely used for
 * anything but conversion, so concurrent writes are not worth more).
 * <p>QEMU's legacy AES encryption (crypt_method 1) is refused on open and at creation.
 */
public final class QcowDevice implements CompressedWriter {
    private static final int HEADER = 48;
    private static final long COMPRESSED = 1L << 63;
    private static final long MAX_L1_BYTES = 32L << 20;
    private static final int VERSION = 1;
    private static final int MAX_BACKING_NAME = 1023;
    public static final String AES_REFUSED = "qcow's legacy AES encryption is not supported by jqemu "
            + "(it is insecure, and deprecated in QEMU); convert the image with qemu-img first";

    private final HostFile file;
    private final String filename;
    private final BlockDevice backing;
    private final String backingFile;
    private final boolean readOnly;
    private final long l1Offset;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
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

    private QcowDevice(HostFile file, String filename, ByteBuffer h, BlockDevice backing, String backingFile,
                       boolean readOnly) throws BlockException {
        this.file = file;
        this.readOnly = readOnly;
        this.filename = filename;
        this.backing = backing;
        this.backingFile = backingFile;
        this.size = h.getLong(24);
        this.clusterBits = h.get(32) & 0xff;
        this.l2Bits = h.get(33) & 0xff;
        this.l1Offset = h.getLong(40);
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

    /** Opens and validates a qcow v1 image. */
    public static QcowDevice open(HostFile file, String filename, boolean readOnly, boolean noBacking,
                                  Qcow2Device.BackingOpener opener) throws BlockException {
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
        if (h.getInt(36) == 1) {
            throw new BlockException(AES_REFUSED);
        }
        if (h.getInt(36) != 0) {
            throw new BlockException("invalid encryption method in qcow header");
        }
        if (h.getLong(24) < 0) {
            throw new BlockException("Image too large");
        }
        long nameOffset = h.getLong(8);
        long nameLength = Integer.toUnsignedLong(h.getInt(16));
        String backingFile = null;
        if (nameOffset != 0) {
            if (nameLength > MAX_BACKING_NAME || nameOffset < HEADER || nameOffset + nameLength > file.length()) {
                throw new BlockException("Backing file name too long");
            }
            backingFile = new String(file.read(nameOffset, (int) nameLength), StandardCharsets.UTF_8);
        }
        BlockDevice backing = backingFile != null && !noBacking && opener != null
                ? opener.open(backingFile, null) : null;
        try {
            return new QcowDevice(file, filename, h, backing, backingFile, readOnly);
        } catch (BlockException | RuntimeException e) {
            if (backing != null) {
                backing.close();
            }
            throw e;
        }
    }

    public String backingFile() { return backingFile; }
    @Override public long clusterSizeBytes() { return 1L << clusterBits; }

    @Override public String format() { return "qcow"; }
    @Override public String filename() { return filename; }
    @Override public long size() { return size; }
    @Override public boolean readOnly() { return readOnly; }
    @Override public BlockDevice backing() { return backing; }

    private long entry(long cluster) throws BlockException {
        long l2Offset = l1[(int) (cluster >>> l2Bits)];
        if (l2Offset == 0) {
            return 0;
        }
        long[] table = l2Table(l2Offset);
        return table[(int) (cluster & ((1L << l2Bits) - 1))];
    }

    @Override
    public void read(long offset, byte[] buf, int off, int len) throws BlockException {
        Requests.locked(offset, len, size, lock.readLock(), () -> readLocked(offset, buf, off, len));
    }

    private void readLocked(long offset, byte[] buf, int off, int len) throws BlockException {
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
                System.arraycopy(inflate(e), in, buf, dst, n);
            } else {
                file.read(e + in, buf, dst, n);
            }
            pos += n;
        }
    }

    @Override
    public BlockStatus status(long offset, long len) throws BlockException {
        lock.readLock().lock();
        try {
            return statusLocked(offset, len);
        } finally {
            lock.readLock().unlock();
        }
    }

    private BlockStatus statusLocked(long offset, long len) throws BlockException {
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

    private byte[] inflate(long entry) throws BlockException {
        long cs = 1L << clusterBits;
        int shift = 63 - clusterBits;
        long hostOffset = entry & ((1L << shift) - 1);
        int csize = (int) ((entry >>> shift) & (cs - 1));
        byte[] out = new byte[(int) cs];
        Deflate.inflate(file.read(hostOffset, csize), out, "host offset 0x" + Long.toHexString(hostOffset));
        return out;
    }

    @Override
    public void write(long offset, byte[] buf, int off, int len) throws BlockException {
        Requests.checkWritable(readOnly);
        Requests.locked(offset, len, size, lock.writeLock(), () -> writeLocked(offset, buf, off, len));
    }

    private void writeLocked(long offset, byte[] buf, int off, int len) throws BlockException {
        long cs = 1L << clusterBits;
        for (long pos = offset; pos < offset + len; ) {
            long clusterStart = pos & -cs;
            int in = (int) (pos - clusterStart);
            int n = (int) Math.min(offset + len - pos, cs - in);
            writeCluster(clusterStart, in, buf, off + (int) (pos - offset), n);
            pos += n;
        }
    }

    /** Writes n bytes at offset in of one guest cluster, allocating it if needed. Write lock held. */
    private void writeCluster(long clusterStart, int in, byte[] buf, int off, int n) throws BlockException {
        long cs = 1L << clusterBits;
        long e = entry(clusterStart >>> clusterBits);
        if (e != 0 && (e & COMPRESSED) == 0) {
            file.write(e + in, buf, off, n);
            return;
        }
        byte[] cluster;
        if (n == cs) {
            cluster = Arrays.copyOfRange(buf, off, off + n);
        } else {
            // Copy-on-write of the rest of the cluster (QEMU leaves it zero over a backing file; we keep
            // the backing data, which is what a reader expects).
            cluster = new byte[(int) cs];
            int valid = (int) Math.min(cs, size - clusterStart);
            readLocked(clusterStart, cluster, 0, valid);
            System.arraycopy(buf, off, cluster, in, n);
        }
        long host = appendAligned(cs);
        file.write(host, cluster);
        setEntry(clusterStart >>> clusterBits, host);
    }

    /** A cluster-aligned offset at the end of the file, the file extended over len bytes. */
    private long appendAligned(long len) throws BlockException {
        long cs = 1L << clusterBits;
        long at = (file.length() + cs - 1) & -cs;
        file.truncate(at + len);
        return at;
    }

    /** Points a guest cluster's L2 entry at value, creating its L2 table first if needed. */
    private void setEntry(long cluster, long value) throws BlockException {
        int l1Index = (int) (cluster >>> l2Bits);
        int n = 1 << l2Bits;
        if (l1[l1Index] == 0) {
            long table = appendAligned(n * 8L);
            file.write(table, new byte[n * 8]);
            l1[l1Index] = table;
            file.write(l1Offset + l1Index * 8L, longBytes(table));
        }
        long[] t = l2Table(l1[l1Index]);
        int index = (int) (cluster & (n - 1));
        t[index] = value;
        file.write(l1[l1Index] + index * 8L, longBytes(value));
    }

    private long[] l2Table(long l2Offset) throws BlockException {
        long[] t;
        synchronized (l2Cache) {
            t = l2Cache.get(l2Offset);
        }
        if (t == null) {
            int n = 1 << l2Bits;
            ByteBuffer b = ByteBuffer.wrap(file.read(l2Offset, n * 8));
            t = new long[n];
            for (int i = 0; i < n; i++) {
                t[i] = b.getLong(i * 8);
            }
            synchronized (l2Cache) {
                l2Cache.put(l2Offset, t);
            }
        }
        return t;
    }

    private static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    /** qcow has no zero flag: unallocated clusters without a backing file already read as zero. */
    @Override
    public void writeZeroes(long offset, long len, boolean mayUnmap) throws BlockException {
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        byte[] zeros = new byte[(int) Math.min(len, 1 << 20)];
        for (long pos = offset; pos < offset + len; ) {
            int n = (int) Math.min(zeros.length, offset + len - pos);
            BlockStatus st = status(pos, n);
            int run = (int) Math.min(n, st.length());
            if (st.allocated() || backing != null) {
                write(pos, zeros, 0, run);
            }
            pos += run;
        }
    }

    /** Allowed to do nothing (discarded contents are unspecified), and qcow cannot free space. */
    @Override
    public void discard(long offset, long len) throws BlockException {
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
    }

    @Override
    public void flush() throws BlockException {
        if (!readOnly) {
            file.flush();
        }
    }

    @Override
    public byte[] compressCluster(ByteBuffer data) throws BlockException {
        long cs = 1L << clusterBits;
        return Deflate.compress(CompressedWriter.padToCluster(data, cs), (int) cs - 1);
    }

    /** QEMU's qcow driver leaves the file as it is (compressed data ends where it ends). */
    @Override
    public void alignEndOfFile() {
    }

    @Override
    public void writeCompressed(long offset, ByteBuffer data, byte[] packed) throws BlockException {
        int len = data.remaining();
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        long cs = 1L << clusterBits;
        if ((offset & (cs - 1)) != 0 || (len != cs && offset + len != size)) {
            throw new BlockException("Compressed writes must cover whole clusters");
        }
        if (packed == null) {
            write(offset, data);
            return;
        }
        lock.writeLock().lock();
        try {
            long host = file.length();
            file.write(host, packed);
            setEntry(offset >>> clusterBits, COMPRESSED | ((long) packed.length << (63 - clusterBits)) | host);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Creates an image as qemu-img create -f qcow lays it out (512-byte clusters over a backing file). */
    public static void create(java.nio.file.Path path, long size, String backingFile) throws BlockException {
        byte[] name = backingFile == null ? new byte[0] : backingFile.getBytes(StandardCharsets.UTF_8);
        if (name.length > MAX_BACKING_NAME) {
            throw new BlockException("Backing file name too long");
        }
        // 512-byte clusters with a backing file, so that partial writes copy little; 4 KiB otherwise.
        int clusterBits = backingFile != null ? 9 : 12;
        int l2Bits = backingFile != null ? 12 : 9;
        long span = 1L << (clusterBits + l2Bits);
        long l1Size = (size + span - 1) / span;
        if (size < 0 || l1Size * 8 > MAX_L1_BYTES) {
            throw new BlockException("Image too large");
        }
        long l1Offset = (HEADER + name.length + 7) & -8L;
        ByteBuffer h = ByteBuffer.allocate((int) l1Offset);
        h.putInt(0, 0x514649fb).putInt(4, VERSION).putLong(24, size).put(32, (byte) clusterBits)
                .put(33, (byte) l2Bits).putLong(40, l1Offset);
        if (backingFile != null) {
            h.putLong(8, HEADER).putInt(16, name.length).put(HEADER, name);
        }
        try (HostFile f = HostFile.create(path)) {
            f.write(0, h.array());
            long l1Bytes = (l1Size * 8 + 511) & -512L;
            f.write(l1Offset, new byte[(int) l1Bytes]);
        }
    }

    @Override
    public void resize(long newSize) throws BlockException {
        Requests.checkWritable(readOnly);
        throw new BlockException("Image format driver does not support resize");
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
