package org.jqemu.block.qcow2;

import java.nio.ByteBuffer;
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
import org.jqemu.block.OpenOptions;
import org.jqemu.block.Requests;
import org.jqemu.block.Zstd;

/**
 * The qcow2 format driver (docs/interop/qcow2.txt), versions 2 and 3, standard L2 entries.
 *
 * <p><b>Locking.</b> One read-write lock per image. Reads, and writes that only overwrite clusters
 * already allocated with the COPIED flag, hold the read lock and run concurrently (positional host
 * I/O is thread-safe; the table caches synchronise internally). Anything that changes metadata —
 * allocating writes, zeroing, discard, resize, compressed writes — holds the write lock, so a reader
 * never sees a half-updated mapping and no cluster is freed while a reader may still use it.
 *
 * <p><b>Crash consistency.</b> All metadata is written through (the caches are read caches). For every
 * allocating write the order is: refcounts of the new clusters raised → guest data (with copy-on-write
 * of the rest of the cluster) written → barrier → L2 entries written → refcounts of the replaced clusters
 * lowered. A new L2 table is written in full before the L1 entry points to it; a new L1 table or
 * refcount table is complete before the header switches to it. So an interruption at any point leaves
 * an image whose worst defect is leaked clusters. The barrier is an fdatasync (power-loss safety)
 * unless the image is open with cache=unsafe or lazy refcounts (then the dirty bit marks the image
 * and the next read-write open repairs refcounts).
 */
public final class Qcow2Device implements CompressedWriter {
    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long ZERO_FLAG = 1;
    /** Extended L2 bitmaps: every subcluster allocated / every subcluster reads as zero. */
    static final long ALL_ALLOCATED = 0xffffffffL;
    static final long ALL_ZERO = 0xffffffffL << 32;
    private static final int L2_CACHE_BYTES = 32 << 20;
    private static final long MAX_CHUNK_BYTES = 2 << 20;

    /** Ordering point between dependent metadata writes. */
    @FunctionalInterface
    interface Barrier {
        void sync() throws BlockException;
    }

    enum Kind { UNALLOCATED, ZERO_PLAIN, ZERO_ALLOC, NORMAL, COMPRESSED }

    private final HostFile file;
    private final String filename;
    private final Qcow2Header header;
    private final boolean readOnly;
    private final boolean unsafe;
    private final BlockDevice backing;
    private final int clusterBits;
    private final long clusterSize;
    private final int l2Bits;
    private final int l2Entries;
    /** Extended L2 entries (128 bits: descriptor + subcluster bitmap); read-only support. */
    private final boolean extendedL2;
    private final int subclusterBits;
    private final Map<Long, long[]> bitmapCache;
    private final int compressedSectorShift;
    private final Refcounts refcounts;
    private final MetadataMap metadata;
    private final Map<Long, long[]> l2Cache;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    /**
     * Write-back of L2 entries for new allocations (nothing released): the table stays in memory (and is
     * what loadL2 returns) until flushPending writes the dirty entries after one barrier for them all.
     * Guarded by the write lock.
     */
    private final Map<Long, PendingTable> pendingL2 = new java.util.HashMap<>();
    private int pendingEntries;
    private static final int MAX_PENDING_ENTRIES = 16384;

    private record PendingTable(long[] table, java.util.BitSet dirty) { }
    private long[] l1;
    private volatile long size;
    private boolean dirtyMarked;
    private volatile Boolean metadataPreallocated;
    /** Last decompressed cluster: (L2 entry, data). */
    private long inflatedEntry = -1;
    private byte[] inflated;
    /** Compressed writes are packed byte-wise into the current cluster until it is full. */
    private long compressedTail;

    private Qcow2Device(HostFile file, String filename, Qcow2Header header, OpenOptions options,
                        BlockDevice backing) throws BlockException {
        this.file = file;
        this.filename = filename;
        this.header = header;
        this.readOnly = options.readOnly();
        this.unsafe = options.unsafe();
        this.backing = backing;
        this.clusterBits = header.clusterBits;
        this.clusterSize = 1L << clusterBits;
        this.extendedL2 = (header.incompatible & Qcow2Header.INCOMPAT_EXTL2) != 0;
        this.l2Bits = clusterBits - 3 - (extendedL2 ? 1 : 0);
        this.subclusterBits = clusterBits - 5;
        this.l2Entries = 1 << l2Bits;
        this.compressedSectorShift = 62 - (clusterBits - 8);
        this.size = header.size;
        this.metadata = new MetadataMap(clusterBits);
        this.refcounts = new Refcounts(file, header, this::barrier, metadata);
        int capacity = (int) Math.max(4, L2_CACHE_BYTES / clusterSize);
        this.l2Cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
                return size() > capacity;
            }
        };
        this.bitmapCache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, long[]> eldest) {
                return size() > capacity;
            }
        };
        this.l1 = readTable(header.l1TableOffset, header.l1Size);
        metadata.add(0, clusterSize);
        if (l1.length > 0) {
            metadata.add(header.l1TableOffset, l1.length * 8L);
        }
        for (long e : l1) {
            if ((e & Qcow2Header.OFFSET_MASK) != 0) {
                metadata.add(e & Qcow2Header.OFFSET_MASK, clusterSize);
            }
        }
    }

    /** Opens the image in file; backingOpener is used for the backing file (may be null to skip it). */
    public static Qcow2Device open(HostFile file, String filename, OpenOptions options,
                                   BackingOpener backingOpener) throws BlockException {
        long length = file.length();
        byte[] head = readHeaderCluster(file, length);
        Qcow2Header h = Qcow2Header.parse(head, length);
        if (!options.readOnly() && (h.incompatible & Qcow2Header.INCOMPAT_CORRUPT) != 0) {
            throw new BlockException("qcow2: Image is corrupt; cannot be opened read/write");
        }
        if (h.backingFileOffset != 0) {
            h.backingFile = new String(head, (int) h.backingFileOffset, h.backingFileSize,
                    java.nio.charset.StandardCharsets.UTF_8);
        }
        BlockDevice backing = null;
        if (h.backingFile != null && backingOpener != null && !options.noBacking()) {
            backing = backingOpener.open(h.backingFile, h.backingFormat);
        }
        try {
            Qcow2Device d = new Qcow2Device(file, filename, h, options, backing);
            if (h.nbSnapshots > 0) {
                Qcow2Snapshots.list(d, options.forCheck()); // validated on open, as QEMU reads the table then
            }
            if (!options.readOnly()) {
                d.prepareWritable();
            }
            return d;
        } catch (BlockException | RuntimeException e) {
            if (backing != null) {
                backing.close();
            }
            throw e;
        }
    }

    /** Bytes read first: the header, and most images' extensions and backing file name. */
    private static final int HEADER_PROBE = 4096;

    /**
     * The image's first cluster (what the header, its extensions and the backing file name may occupy), or
     * as much of it as the file holds. Read in two steps, the cluster size being in the header, so that an
     * image with big clusters costs a big read only when it has them (up to 2 MiB).
     */
    private static byte[] readHeaderCluster(HostFile file, long length) throws BlockException {
        byte[] head = file.read(0, (int) Math.min(length, HEADER_PROBE));
        int clusterBits = head.length >= 24 ? ByteBuffer.wrap(head).getInt(20) : 0;
        if (clusterBits > 12 && clusterBits <= Qcow2Header.MAX_CLUSTER_BITS && length > head.length) {
            head = file.read(0, (int) Math.min(length, 1L << clusterBits));
        }
        return head;
    }

    /** Opens a backing file named in an image header. */
    @FunctionalInterface
    public interface BackingOpener {
        BlockDevice open(String name, String format) throws BlockException;
    }

    private void prepareWritable() throws BlockException {
        if (header.autoclear != 0) {
            // We do not maintain what the autoclear features describe (bitmaps): clear them.
            header.autoclear = 0;
            file.write(88, Refcounts.longBytes(0));
        }
        if ((header.incompatible & Qcow2Header.INCOMPAT_DIRTY) != 0) {
            Qcow2Check.run(this, Qcow2Check.Repair.ALL, null);
            setIncompatibleBit(Qcow2Header.INCOMPAT_DIRTY, false);
        }
    }

    private long[] readTable(long offset, int entries) throws BlockException {
        if (entries == 0) {
            return new long[0];
        }
        return words(file.read(offset, entries * 8));
    }

    /**
     * The big-endian 64-bit words of a table as stored, in one bulk copy: a getLong per entry ran in the
     * interpreter for the first tables a command reads (8192 entries: 1.9 ms against 0.4, block/README.md).
     */
    static long[] words(byte[] bytes) {
        long[] t = new long[bytes.length / 8];
        ByteBuffer.wrap(bytes).asLongBuffer().get(t);
        return t;
    }

    void barrier() throws BlockException {
        if (!unsafe && (header.compatible & Qcow2Header.COMPAT_LAZY_REFCOUNTS) == 0) {
            file.flush();
        }
    }

    // ---- accessors used by info/check/map -------------------------------------------------

    @Override public String format() { return "qcow2"; }
    @Override public String filename() { return filename; }
    @Override public long size() { return size; }
    @Override public boolean readOnly() { return readOnly; }
    @Override public BlockDevice backing() { return backing; }

    HostFile file() { return file; }
    Qcow2Header header() { return header; }
    Refcounts refcounts() { return refcounts; }
    long[] l1() { return l1; }
    long clusterSize() { return clusterSize; }
    int clusterBits() { return clusterBits; }
    int l2Entries() { return l2Entries; }

    public int version() { return header.version; }
    public String backingFile() { return header.backingFile; }
    public String backingFormat() { return header.backingFormat; }
    public boolean lazyRefcounts() { return (header.compatible & Qcow2Header.COMPAT_LAZY_REFCOUNTS) != 0; }
    public boolean corrupt() { return (header.incompatible & Qcow2Header.INCOMPAT_CORRUPT) != 0; }
    public boolean dirty() { return (header.incompatible & Qcow2Header.INCOMPAT_DIRTY) != 0; }
    public int refcountBits() { return refcounts.bits(); }
    public String compressionType() { return header.compressionType == 0 ? "zlib" : "zstd"; }
    public int snapshotCount() { return header.nbSnapshots; }
    @Override public long clusterSizeBytes() { return clusterSize; }

    // ---- mapping ----------------------------------------------------------------------------

    Kind kind(long entry) {
        if ((entry & COMPRESSED) != 0) {
            return Kind.COMPRESSED;
        }
        boolean zero = header.version >= 3 && !extendedL2 && (entry & ZERO_FLAG) != 0;
        if ((entry & Qcow2Header.OFFSET_MASK) == 0) {
            return zero ? Kind.ZERO_PLAIN : Kind.UNALLOCATED;
        }
        return zero ? Kind.ZERO_ALLOC : Kind.NORMAL;
    }

    long[] loadL2(long l1Entry, long l1Index) throws BlockException {
        long offset = l1Entry & Qcow2Header.OFFSET_MASK;
        if ((offset & (clusterSize - 1)) != 0) {
            throw new BlockException.Corrupt("qcow2: Image is corrupt: L2 table offset 0x" + Long.toHexString(offset)
                    + " unaligned (L1 index: 0x" + Long.toHexString(l1Index) + ")");
        }
        PendingTable pending = pendingL2.get(offset);
        if (pending != null) {
            return pending.table();
        }
        synchronized (l2Cache) {
            long[] t = l2Cache.get(offset);
            if (t == null) {
                t = readL2Descriptors(offset);
                l2Cache.put(offset, t);
            }
            return t;
        }
    }

    /** The standard descriptors of an L2 table (every other word when entries are extended). */
    long[] readL2Descriptors(long offset) throws BlockException {
        long[] words = readTable(offset, extendedL2 ? 2 * l2Entries : l2Entries);
        if (!extendedL2) {
            return words;
        }
        long[] desc = new long[l2Entries];
        long[] bitmaps = new long[l2Entries];
        for (int i = 0; i < l2Entries; i++) {
            desc[i] = words[2 * i];
            bitmaps[i] = words[2 * i + 1];
        }
        synchronized (bitmapCache) {
            bitmapCache.put(offset, bitmaps);
        }
        return desc;
    }

    /** Subcluster bitmap of a guest cluster (extended L2 only): bits 0-31 allocated, 32-63 zero. */
    private long l2Bitmap(long guestCluster) throws BlockException {
        long offset = l1[(int) (guestCluster >>> l2Bits)] & Qcow2Header.OFFSET_MASK;
        return offset == 0 ? 0 : tableBitmaps(offset)[(int) (guestCluster & (l2Entries - 1))];
    }

    /** The (cached) subcluster bitmaps of the extended L2 table at offset. */
    private long[] tableBitmaps(long offset) throws BlockException {
        long[] b;
        synchronized (bitmapCache) {
            b = bitmapCache.get(offset);
        }
        while (b == null) {
            readL2Descriptors(offset);
            synchronized (bitmapCache) {
                b = bitmapCache.get(offset);
            }
        }
        return b;
    }

    public boolean extendedL2() {
        return extendedL2;
    }

    /** The L2 entry for a guest cluster (0 when its L2 table is not allocated). */
    long l2Entry(long guestCluster) throws BlockException {
        int l1Index = (int) (guestCluster >>> l2Bits);
        long l1e = l1[l1Index];
        if ((l1e & Qcow2Header.OFFSET_MASK) == 0) {
            return 0;
        }
        long e = loadL2(l1e, l1Index)[(int) (guestCluster & (l2Entries - 1))];
        if ((e & COMPRESSED) == 0 && (e & Qcow2Header.OFFSET_MASK & (clusterSize - 1)) != 0) {
            throw new BlockException.Corrupt("qcow2: Image is corrupt: Cluster allocation offset 0x"
                    + Long.toHexString(e & Qcow2Header.OFFSET_MASK) + " unaligned (L2 offset: 0x"
                    + Long.toHexString(l1e & Qcow2Header.OFFSET_MASK) + ", L2 index: 0x"
                    + Long.toHexString(guestCluster & (l2Entries - 1)) + ")");
        }
        return e;
    }

    /** Host byte range [start, end) of a compressed cluster's data. */
    long[] compressedRange(long entry) {
        long offset = entry & ((1L << compressedSectorShift) - 1);
        long sectors = ((entry & ~COMPRESSED & ~COPIED) >>> compressedSectorShift) + 1;
        return new long[] {offset, ((offset >>> 9) + sectors) << 9};
    }

    // ---- reads ------------------------------------------------------------------------------

    @Override
    public void read(long offset, byte[] buf, int off, int len) throws BlockException {
        read(offset, ByteBuffer.wrap(buf, off, len));
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws BlockException {
        ByteBuffer b = dst.slice();
        Requests.locked(offset, b.remaining(), size, lock.readLock(), () -> readLocked(offset, b, 0, b.remaining()));
    }

    /** Reads len bytes at offset into buf at index off (a heap or direct buffer). Read or write lock held. */
    private void readLocked(long offset, ByteBuffer buf, int off, int len) throws BlockException {
        long pos = offset;
        long end = offset + len;
        while (pos < end) {
            long cluster = pos >>> clusterBits;
            long entry = l2Entry(cluster);
            Kind kind = kind(entry);
            int inCluster = (int) (pos & (clusterSize - 1));
            long runEnd = Math.min(end, (cluster + 1) << clusterBits);
            if (extendedL2 && kind != Kind.COMPRESSED) {
                readSubclusters(entry, l2Bitmap(cluster), pos, buf, off + (int) (pos - offset), (int) (runEnd - pos));
            } else if (kind == Kind.NORMAL) {
                // Merge physically contiguous clusters into one host read.
                long host = entry & Qcow2Header.OFFSET_MASK;
                while (runEnd < end) {
                    long next = l2Entry(runEnd >>> clusterBits);
                    if (kind(next) != Kind.NORMAL
                            || (next & Qcow2Header.OFFSET_MASK) != host + (runEnd - (cluster << clusterBits))) {
                        break;
                    }
                    runEnd = Math.min(end, runEnd + clusterSize);
                }
                file.read(host + inCluster, buf, off + (int) (pos - offset), (int) (runEnd - pos));
            } else {
                readClusterPart(entry, kind, pos, buf, off + (int) (pos - offset), (int) (runEnd - pos));
            }
            pos = runEnd;
        }
    }

    /** Reads part of one guest cluster with extended L2: each subcluster is data, zero or backing. */
    private void readSubclusters(long entry, long bitmap, long pos, ByteBuffer buf, int off, int len)
            throws BlockException {
        long host = entry & Qcow2Header.OFFSET_MASK;
        long end = pos + len;
        while (pos < end) {
            int sub = (int) ((pos & (clusterSize - 1)) >>> subclusterBits);
            long subEnd = Math.min(end, ((pos >>> subclusterBits) + 1) << subclusterBits);
            int n = (int) (subEnd - pos);
            boolean allocated = (bitmap & (1L << sub)) != 0;
            boolean zero = (bitmap & (1L << (32 + sub))) != 0;
            if (allocated && (zero || host == 0)) {
                throw new BlockException.Corrupt("qcow2: Image is corrupt: invalid subcluster bitmap 0x"
                        + Long.toHexString(bitmap));
            }
            if (allocated) {
                file.read(host + (pos & (clusterSize - 1)), buf, off, n);
            } else if (zero) {
                HostFile.zeroFill(buf.slice(off, n));
            } else {
                readBacking(pos, buf, off, n);
            }
            off += n;
            pos = subEnd;
        }
    }

    /** Reads part of one guest cluster whose L2 entry is given. */
    private void readClusterPart(long entry, Kind kind, long pos, ByteBuffer buf, int off, int len)
            throws BlockException {
        int inCluster = (int) (pos & (clusterSize - 1));
        switch (kind) {
            case NORMAL -> file.read((entry & Qcow2Header.OFFSET_MASK) + inCluster, buf, off, len);
            case ZERO_PLAIN, ZERO_ALLOC -> HostFile.zeroFill(buf.slice(off, len));
            case UNALLOCATED -> readBacking(pos, buf, off, len);
            case COMPRESSED -> buf.put(off, inflate(entry), inCluster, len);
        }
    }

    /** The image names a backing file (even when opened without it): unallocated is not zero. */
    private boolean hasBackingFile() {
        return header.backingFile != null;
    }

    private void readBacking(long pos, ByteBuffer buf, int off, int len) throws BlockException {
        int available = (int) (backing == null ? 0 : Math.max(0, Math.min(len, backing.size() - pos)));
        if (available > 0) {
            backing.read(pos, buf.slice(off, available));
        }
        HostFile.zeroFill(buf.slice(off + available, len - available));
    }

    private byte[] inflate(long entry) throws BlockException {
        synchronized (this) {
            if (entry == inflatedEntry) {
                return inflated;
            }
        }
        long[] range = compressedRange(entry);
        byte[] in = file.read(range[0], (int) (range[1] - range[0]));
        byte[] out = new byte[(int) clusterSize];
        String where = "host offset 0x" + Long.toHexString(range[0]);
        if (header.compressionType == Qcow2Header.COMPRESSION_ZSTD) {
            Zstd.decompress(in, out, where);
        } else {
            Deflate.inflate(in, out, where);
        }
        synchronized (this) {
            inflatedEntry = entry;
            inflated = out;
        }
        return out;
    }

    // ---- writes -----------------------------------------------------------------------------

    @Override
    public void write(long offset, byte[] buf, int off, int len) throws BlockException {
        write(offset, ByteBuffer.wrap(buf, off, len));
    }

    /**
     * Writes src's remaining bytes. Whole new clusters go from src to the file without a copy (a direct
     * buffer straight to the kernel); partly written new clusters are assembled in a heap array.
     */
    @Override
    public void write(long offset, ByteBuffer src) throws BlockException {
        ByteBuffer buf = src.slice();
        int off = 0;
        int len = buf.remaining();
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        lock.readLock().lock();
        try {
            if (writeInPlace(offset, buf, off, len)) {
                return;
            }
        } finally {
            lock.readLock().unlock();
        }
        lock.writeLock().lock();
        try {
            markDirty();
            for (long pos = offset; pos < offset + len; ) {
                long chunkEnd = chunkEnd(pos, offset + len);
                writeChunk(pos, buf, off + (int) (pos - offset), (int) (chunkEnd - pos));
                pos = chunkEnd;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Overwrites in place if every cluster is allocated and exclusively ours; false otherwise. */
    private boolean writeInPlace(long offset, ByteBuffer buf, int off, int len) throws BlockException {
        long end = offset + len;
        for (long c = offset >>> clusterBits; c <= (end - 1) >>> clusterBits && len > 0; c++) {
            long e = l2Entry(c);
            if (kind(e) != Kind.NORMAL || (e & COPIED) == 0) {
                return false;
            }
            if (extendedL2) {
                long touched = touchedSubclusters(c, Math.max(offset, c << clusterBits),
                        Math.min(end, (c + 1) << clusterBits));
                if ((l2Bitmap(c) & touched) != touched) {
                    return false;
                }
            }
        }
        for (long pos = offset; pos < end; ) {
            long runEnd = Math.min(end, ((pos >>> clusterBits) + 1) << clusterBits);
            long host = (l2Entry(pos >>> clusterBits) & Qcow2Header.OFFSET_MASK) + (pos & (clusterSize - 1));
            metadata.checkFree(host, runEnd - pos);
            file.write(host, buf, off + (int) (pos - offset), (int) (runEnd - pos));
            pos = runEnd;
        }
        return true;
    }

    /** End of the chunk starting at pos: within one L2 table and at most MAX_CHUNK_BYTES (one cluster at least). */
    private long chunkEnd(long pos, long end) {
        long l2Span = (long) l2Entries << clusterBits;
        long tableEnd = (pos / l2Span + 1) * l2Span;
        long limit = ((pos >>> clusterBits) << clusterBits) + Math.max(clusterSize, MAX_CHUNK_BYTES);
        return Math.min(end, Math.min(tableEnd, limit));
    }

    /** Writes a range that lies in one L2 table, allocating clusters as needed. Write lock held. */
    private void writeChunk(long offset, ByteBuffer buf, int off, int len) throws BlockException {
        if (extendedL2) {
            for (long pos = offset; pos < offset + len; ) {
                long clusterEnd = Math.min(offset + len, ((pos >>> clusterBits) + 1) << clusterBits);
                writeExtendedCluster(pos, buf, off + (int) (pos - offset), (int) (clusterEnd - pos));
                pos = clusterEnd;
            }
            return;
        }
        long firstCluster = offset >>> clusterBits;
        long lastCluster = (offset + len - 1) >>> clusterBits;
        int count = (int) (lastCluster - firstCluster + 1);
        long[] table = l2ForWrite((int) (firstCluster >>> l2Bits));
        int base = (int) (firstCluster & (l2Entries - 1));
        long[] old = Arrays.copyOfRange(table, base, base + count);
        int toAllocate = 0;
        for (long e : old) {
            if (kind(e) != Kind.NORMAL || (e & COPIED) == 0) {
                toAllocate++;
            }
        }
        // Refcounts written with the L2 entries (flushPending, or commitAllocation's own flushPending).
        long newStart = toAllocate > 0 ? refcounts.allocateDeferred(toAllocate) : 0;
        if (toAllocate == count && ((offset | len) & (clusterSize - 1)) == 0) {
            // Whole new clusters (the conversion case): straight from the caller's buffer, no copy.
            long[] newEntries = new long[count];
            for (int i = 0; i < count; i++) {
                newEntries[i] = (newStart + i * clusterSize) | COPIED;
            }
            metadata.checkFree(newStart, len);
            file.write(newStart, buf, off, len);
            commitAllocation(firstCluster, table, base, old, newEntries);
            return;
        }
        byte[] data = new byte[(int) (toAllocate * clusterSize)];
        int slot = 0;
        long[] newEntries = old.clone();
        for (int i = 0; i < count; i++) {
            long cluster = firstCluster + i;
            long cStart = cluster << clusterBits;
            long from = Math.max(offset, cStart);
            long to = Math.min(offset + len, cStart + clusterSize);
            int srcOff = off + (int) (from - offset);
            if (kind(old[i]) == Kind.NORMAL && (old[i] & COPIED) != 0) {
                long host = (old[i] & Qcow2Header.OFFSET_MASK) + (from - cStart);
                metadata.checkFree(host, to - from);
                file.write(host, buf, srcOff, (int) (to - from));
                continue;
            }
            int dst = (int) (slot * clusterSize);
            if (to - from < clusterSize) {
                readClusterPart(old[i], kind(old[i]), cStart, ByteBuffer.wrap(data), dst, (int) clusterSize);
            }
            buf.get(srcOff, data, dst + (int) (from - cStart), (int) (to - from));
            newEntries[i] = (newStart + slot * clusterSize) | COPIED;
            slot++;
        }
        if (toAllocate == 0) {
            return;
        }
        metadata.checkFree(newStart, data.length);
        file.write(newStart, data, 0, data.length);
        commitAllocation(firstCluster, table, base, old, newEntries);
    }

    /**
     * After the data of new clusters is written: barrier, L2 entries, then the old clusters released.
     * When nothing is released the L2 entries are queued instead, so that many allocations share one
     * barrier (see flushPending).
     */
    private void commitAllocation(long firstCluster, long[] table, int base, long[] old, long[] newEntries)
            throws BlockException {
        if (releasesNothing(old, newEntries)) {
            System.arraycopy(newEntries, 0, table, base, newEntries.length);
            long tableOffset = l1[(int) (firstCluster >>> l2Bits)] & Qcow2Header.OFFSET_MASK;
            pendingL2.computeIfAbsent(tableOffset, o -> new PendingTable(table, new java.util.BitSet()))
                    .dirty().set(base, base + newEntries.length);
            pendingEntries += newEntries.length;
            if (pendingEntries >= MAX_PENDING_ENTRIES) {
                flushPending();
            }
            return;
        }
        flushPending();
        barrier();
        commitL2((int) (firstCluster >>> l2Bits), table, base, newEntries);
        for (int i = 0; i < old.length; i++) {
            if (newEntries[i] != old[i]) {
                release(old[i]);
            }
        }
    }

    /**
     * Updates entries [base, base+n) of a writable L2 table in memory and on disk. With extended L2
     * entries, bitmaps gives the new subcluster bitmaps (null: all subclusters allocated when the entry
     * has a host cluster, none otherwise, as for a compressed or zeroed-out entry).
     */
    private void commitL2(int l1Index, long[] table, int base, long[] entries) throws BlockException {
        commitL2(l1Index, table, base, entries, null);
    }

    private void commitL2(int l1Index, long[] table, int base, long[] entries, long[] bitmaps) throws BlockException {
        System.arraycopy(entries, 0, table, base, entries.length);
        long tableOffset = l1[l1Index] & Qcow2Header.OFFSET_MASK;
        if (!extendedL2) {
            ByteBuffer b = ByteBuffer.allocate(entries.length * 8);
            for (long e : entries) {
                b.putLong(e);
            }
            file.write(tableOffset + base * 8L, b.array());
            return;
        }
        long[] cached = tableBitmaps(tableOffset);
        ByteBuffer b = ByteBuffer.allocate(entries.length * 16);
        for (int i = 0; i < entries.length; i++) {
            long bitmap = bitmaps != null ? bitmaps[i]
                    : kind(entries[i]) == Kind.NORMAL ? ALL_ALLOCATED : 0;
            cached[base + i] = bitmap;
            b.putLong(entries[i]).putLong(bitmap);
        }
        file.write(tableOffset + base * 16L, b.array());
    }

    /** Bits (0-31) of the subclusters of guest cluster c that [from, to) touches. */
    private long touchedSubclusters(long c, long from, long to) {
        long base = c << clusterBits;
        int first = (int) ((from - base) >>> subclusterBits);
        int last = (int) ((to - 1 - base) >>> subclusterBits);
        return (last == 31 ? ALL_ALLOCATED : (1L << (last + 1)) - 1) & ~((1L << first) - 1);
    }

    /**
     * Writes within one guest cluster of an extended-L2 image. Only the touched subclusters become
     * allocated; a partially written subcluster that was not allocated gets the rest of its bytes from
     * what it read as before (zeros or the backing file). A compressed or shared cluster is copied whole
     * to a new cluster. Write lock held.
     */
    private void writeExtendedCluster(long pos, ByteBuffer buf, int off, int len) throws BlockException {
        long c = pos >>> clusterBits;
        long cStart = c << clusterBits;
        int l1Index = (int) (c >>> l2Bits);
        long[] table = l2ForWrite(l1Index);
        int index = (int) (c & (l2Entries - 1));
        long old = table[index];
        long oldBitmap = tableBitmaps(l1[l1Index] & Qcow2Header.OFFSET_MASK)[index];
        Kind kind = kind(old);
        long subSize = 1L << subclusterBits;
        long from = pos & -subSize;
        long to = Math.min(cStart + clusterSize, (pos + len + subSize - 1) & -subSize);
        byte[] data;
        long bitmap;
        boolean fresh = kind != Kind.NORMAL || (old & COPIED) == 0;
        if (fresh && (kind == Kind.COMPRESSED || kind == Kind.NORMAL)) {
            // Copy the whole cluster as it reads now, then the new bytes over it.
            data = new byte[(int) clusterSize];
            readLocked(cStart, ByteBuffer.wrap(data), 0, (int) Math.min(clusterSize, size - cStart));
            buf.get(off, data, (int) (pos - cStart), len);
            from = cStart;
            bitmap = ALL_ALLOCATED;
        } else {
            data = new byte[(int) (to - from)];
            if (from < pos || to > pos + len) {
                readLocked(from, ByteBuffer.wrap(data), 0, (int) (Math.min(to, size) - from));
            }
            buf.get(off, data, (int) (pos - from), len);
            long touched = touchedSubclusters(c, from, to);
            bitmap = (oldBitmap | touched) & ~(touched << 32);
        }
        long host = fresh ? refcounts.allocate(1) : old & Qcow2Header.OFFSET_MASK;
        metadata.checkFree(host + (from - cStart), data.length);
        file.write(host + (from - cStart), data);
        long entry = host | COPIED;
        if (entry == old && bitmap == oldBitmap) {
            return;
        }
        if (fresh) {
            barrier();
        }
        commitL2(l1Index, table, index, new long[] {entry}, new long[] {bitmap});
        if (fresh) {
            release(old);
        }
    }

    /** An L2 table as stored: descriptors, interleaved with their bitmaps for extended entries. */
    private static byte[] tableBytes(long[] table, long[] bitmaps) {
        ByteBuffer b = ByteBuffer.allocate(table.length * (bitmaps != null ? 16 : 8));
        if (bitmaps == null) {
            b.asLongBuffer().put(table); // in bulk, as words() reads
            return b.array();
        }
        for (int i = 0; i < table.length; i++) {
            b.putLong(table[i]);
            b.putLong(bitmaps[i]);
        }
        return b.array();
    }

    private boolean releasesNothing(long[] old, long[] newEntries) {
        for (int i = 0; i < old.length; i++) {
            if (newEntries[i] != old[i] && (old[i] & (Qcow2Header.OFFSET_MASK | COMPRESSED)) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Writes the queued L2 entries: their clusters' refcounts (if held back, see
     * Refcounts.allocateDeferred), then one barrier (their clusters' data and refcounts are then on
     * disk), then the entries. A crash before this leaves the new clusters leaked, never referenced
     * without a refcount. Write lock held (or the image is being closed).
     */
    void flushPending() throws BlockException {
        refcounts.writeDeferred(); // the new clusters' refcounts, before the barrier and the entries
        if (pendingL2.isEmpty()) {
            return;
        }
        barrier();
        for (Map.Entry<Long, PendingTable> e : pendingL2.entrySet()) {
            long[] table = e.getValue().table();
            java.util.BitSet dirty = e.getValue().dirty();
            for (int i = dirty.nextSetBit(0); i >= 0; ) {
                int end = dirty.nextClearBit(i);
                ByteBuffer b = ByteBuffer.allocate((end - i) * 8);
                for (int k = i; k < end; k++) {
                    b.putLong(table[k]);
                }
                file.write(e.getKey() + i * 8L, b.array());
                i = dirty.nextSetBit(end);
            }
            synchronized (l2Cache) {
                l2Cache.put(e.getKey(), table);
            }
        }
        pendingL2.clear();
        pendingEntries = 0;
    }

    /** Takes the write lock for metadata-wide work (check, snapshots) with every queued entry on disk. */
    void lockForMetadata() throws BlockException {
        lock.writeLock().lock();
        try {
            flushPending();
        } catch (BlockException | RuntimeException e) {
            lock.writeLock().unlock();
            throw e;
        }
    }

    /** Drops one reference held by an L2 entry (data cluster or compressed bytes). */
    private void release(long entry) throws BlockException {
        switch (kind(entry)) {
            case NORMAL, ZERO_ALLOC -> refcounts.free(entry & Qcow2Header.OFFSET_MASK, clusterSize);
            case COMPRESSED -> {
                long[] r = compressedRange(entry);
                refcounts.free(r[0], r[1] - r[0]);
            }
            default -> { }
        }
    }

    /** The L2 table for l1Index, allocated or copied so that we may modify it. Write lock held. */
    private long[] l2ForWrite(int l1Index) throws BlockException {
        long l1e = l1[l1Index];
        long oldOffset = l1e & Qcow2Header.OFFSET_MASK;
        if (oldOffset != 0 && (l1e & COPIED) != 0) {
            return loadL2(l1e, l1Index);
        }
        flushPending();
        long[] table;
        if (oldOffset != 0) {
            // Shared with a snapshot. References are counted per path from an L1 table, so moving
            // the active path from the shared table to the copy leaves data refcounts unchanged;
            // the data clusters stay shared, hence without COPIED.
            table = loadL2(l1e, l1Index).clone();
            for (int i = 0; i < table.length; i++) {
                table[i] &= ~COPIED;
            }
        } else {
            table = new long[l2Entries];
        }
        long[] bitmaps = extendedL2 ? (oldOffset != 0 ? tableBitmaps(oldOffset).clone() : new long[l2Entries]) : null;
        long newOffset = refcounts.allocate(1);
        metadata.checkFree(newOffset, clusterSize);
        metadata.add(newOffset, clusterSize);
        file.write(newOffset, tableBytes(table, bitmaps));
        synchronized (l2Cache) {
            l2Cache.put(newOffset, table);
        }
        if (bitmaps != null) {
            synchronized (bitmapCache) {
                bitmapCache.put(newOffset, bitmaps);
            }
        }
        barrier();
        l1[l1Index] = newOffset | COPIED;
        file.write(header.l1TableOffset + l1Index * 8L, Refcounts.longBytes(l1[l1Index]));
        if (oldOffset != 0) {
            metadata.remove(oldOffset, clusterSize);
            refcounts.free(oldOffset, clusterSize);
        }
        return table;
    }

    private void markDirty() throws BlockException {
        if (!dirtyMarked && lazyRefcounts()) {
            setIncompatibleBit(Qcow2Header.INCOMPAT_DIRTY, true);
            dirtyMarked = true;
        }
    }

    private void setIncompatibleBit(long bit, boolean on) throws BlockException {
        header.incompatible = on ? header.incompatible | bit : header.incompatible & ~bit;
        file.write(72, Refcounts.longBytes(header.incompatible));
        file.flush();
    }

    @Override
    public void writeZeroes(long offset, long len, boolean mayUnmap) throws BlockException {
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        zeroRange(offset, len, mayUnmap, false);
    }

    @Override
    public void discard(long offset, long len) throws BlockException {
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        zeroRange(offset, len, true, true);
    }

    /**
     * Zeroes (or discards) a range: whole clusters by their L2 entries, partial ones by writing zeros
     * (skipped for discard, whose effect on partial clusters is allowed to be nothing).
     */
    private void zeroRange(long offset, long len, boolean mayUnmap, boolean discard) throws BlockException {
        long end = offset + len;
        long firstFull = (offset + clusterSize - 1) >>> clusterBits;
        long endFull = end == size ? (end + clusterSize - 1) >>> clusterBits : end >>> clusterBits;
        if (firstFull >= endFull) {
            if (!discard) {
                zeroPartial(offset, end);
            }
            return;
        }
        if (!discard) {
            zeroPartial(offset, Math.min(end, firstFull << clusterBits));
            zeroPartial(Math.max(offset, endFull << clusterBits), end);
        }
        lock.writeLock().lock();
        try {
            markDirty();
            long c = firstFull;
            while (c < endFull) {
                int l1Index = (int) (c >>> l2Bits);
                long tableEnd = Math.min(endFull, ((long) l1Index + 1) << l2Bits);
                zeroClusters(c, (int) (tableEnd - c), mayUnmap, discard);
                c = tableEnd;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Zeroes [from, to) by writing zeros, cluster by cluster, skipping clusters that read as zero. */
    private void zeroPartial(long from, long to) throws BlockException {
        while (from < to) {
            long clusterEnd = Math.min(to, ((from >>> clusterBits) + 1) << clusterBits);
            zeroInCluster(from, clusterEnd);
            from = clusterEnd;
        }
    }

    private void zeroInCluster(long from, long to) throws BlockException {
        long entry;
        lock.readLock().lock();
        try {
            entry = l2Entry(from >>> clusterBits);
        } finally {
            lock.readLock().unlock();
        }
        Kind k = kind(entry);
        if (k == Kind.ZERO_PLAIN || k == Kind.ZERO_ALLOC || (k == Kind.UNALLOCATED && !hasBackingFile())) {
            return;
        }
        write(from, new byte[(int) (to - from)], 0, (int) (to - from));
    }

    /** Zeroes count whole clusters inside one L2 table. Write lock held. */
    private void zeroClusters(long first, int count, boolean mayUnmap, boolean discard) throws BlockException {
        zeroClusters(first, count, mayUnmap, discard, false);
    }

    private void zeroClusters(long first, int count, boolean mayUnmap, boolean discard, boolean exposeBacking)
            throws BlockException {
        flushPending();
        boolean v3 = header.version >= 3;
        int l1Index = (int) (first >>> l2Bits);
        if (!v3 && hasBackingFile() && !discard && !exposeBacking) {
            // No zero flag in version 2: zeros must be written out.
            byte[] zeros = new byte[(int) clusterSize];
            for (int i = 0; i < count; i++) {
                long pos = (first + i) << clusterBits;
                int n = (int) Math.min(clusterSize, size - pos);
                writeChunk(pos, ByteBuffer.wrap(zeros), 0, n);
            }
            return;
        }
        if ((l1[l1Index] & Qcow2Header.OFFSET_MASK) == 0 && (exposeBacking || !v3 || (discard && !hasBackingFile()))) {
            return; // nothing allocated, and unallocated already reads as zeros
        }
        long[] table = l2ForWrite(l1Index);
        int base = (int) (first & (l2Entries - 1));
        long[] old = Arrays.copyOfRange(table, base, base + count);
        long[] updated = new long[count];
        long[] bitmaps = extendedL2 ? new long[count] : null;
        for (int i = 0; i < count; i++) {
            Kind k = kind(old[i]);
            if (extendedL2) {
                // Zero bits instead of a zero flag; an allocation is kept only for zeroing without unmap.
                boolean keep = !mayUnmap && !discard && !exposeBacking && k == Kind.NORMAL && (old[i] & COPIED) != 0;
                updated[i] = keep ? old[i] : 0;
                bitmaps[i] = exposeBacking || (discard && !hasBackingFile()) ? 0 : ALL_ZERO;
            } else if (exposeBacking) {
                updated[i] = 0;
            } else if (discard) {
                updated[i] = v3 && hasBackingFile() ? ZERO_FLAG : 0;
            } else if (!v3) {
                updated[i] = 0; // no backing: unallocated reads as zeros
            } else if (!mayUnmap && (k == Kind.NORMAL || k == Kind.ZERO_ALLOC) && (old[i] & COPIED) != 0) {
                updated[i] = old[i] | ZERO_FLAG; // keep the allocation
            } else {
                updated[i] = ZERO_FLAG;
            }
        }
        commitL2(l1Index, table, base, updated, bitmaps);
        for (int i = 0; i < count; i++) {
            if ((updated[i] & Qcow2Header.OFFSET_MASK) != (old[i] & Qcow2Header.OFFSET_MASK)
                    || (old[i] & COMPRESSED) != 0) {
                release(old[i]);
            }
        }
    }

    /**
     * Writes one whole guest cluster compressed, as qemu-img convert -c does. Data that does not
     * compress is written normally. The cluster must be aligned; the last cluster of the image may be
     * short.
     */
    public void writeCompressed(long offset, byte[] buf, int off, int len) throws BlockException {
        ByteBuffer data = ByteBuffer.wrap(buf, off, len);
        writeCompressed(offset, data, compressCluster(data));
    }

    /**
     * Compresses one guest cluster with the image's compression type; null if it does not shrink
     * enough to be worth it. Thread-safe and lock-free, so that conversion can compress on several
     * threads and then write in order.
     */
    @Override
    public byte[] compressCluster(ByteBuffer data) throws BlockException {
        ByteBuffer cluster = CompressedWriter.padToCluster(data, clusterSize);
        int maxLen = (int) clusterSize - 1; // as QEMU: stored compressed whenever it is shorter than a cluster
        if (header.compressionType == Qcow2Header.COMPRESSION_ZSTD) {
            byte[] bytes = new byte[(int) clusterSize];
            cluster.get(cluster.position(), bytes);
            return Zstd.compress(bytes, maxLen);
        }
        return Deflate.compress(cluster, maxLen);
    }

    @Override
    public void alignEndOfFile() throws BlockException {
        Requests.checkWritable(readOnly);
        file.alignLengthToSector();
    }

    /** Writes a cluster compressed by {@link #compressCluster} (packed), or normally if packed is null. */
    @Override
    public void writeCompressed(long offset, ByteBuffer data, byte[] packed) throws BlockException {
        int len = data.remaining();
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        if ((offset & (clusterSize - 1)) != 0 || (len != clusterSize && offset + len != size)) {
            throw new BlockException("Compressed writes must cover whole clusters");
        }
        if (packed == null) {
            write(offset, data);
            return;
        }
        if (packed.length >= clusterSize) {
            throw new BlockException("Compressed cluster data too large");
        }
        lock.writeLock().lock();
        try {
            markDirty();
            long guestCluster = offset >>> clusterBits;
            long[] table = l2ForWrite((int) (guestCluster >>> l2Bits));
            int index = (int) (guestCluster & (l2Entries - 1));
            long old = table[index];
            long host = placeCompressed(packed.length);
            metadata.checkFree(host, packed.length);
            file.write(host, packed, 0, packed.length);
            long extraSectors = ((host + packed.length - 1) >>> 9) - (host >>> 9);
            long entry = COMPRESSED | (extraSectors << compressedSectorShift) | host;
            if (extendedL2) {
                barrier();
                commitL2((int) (guestCluster >>> l2Bits), table, index, new long[] {entry});
                release(old);
            } else {
                // Queued with the other new entries when nothing is replaced (convert -c), as data writes are.
                commitAllocation(guestCluster, table, index, new long[] {old}, new long[] {entry});
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /**
     * Host offset for len compressed bytes (less than a cluster), refcounts raised. They are packed
     * right after the previous ones, as QEMU packs them: within the current cluster, or running over
     * into the next one when that is the cluster allocated next (each cluster touched holds one
     * reference per compressed cluster in it); otherwise they start a new cluster.
     */
    private long placeCompressed(int len) throws BlockException {
        long used = compressedTail & (clusterSize - 1);
        long host;
        if (compressedTail != 0 && used != 0 && used + len <= clusterSize) {
            refcounts.updateBytes(compressedTail, len, 1);
            host = compressedTail;
        } else {
            long next = refcounts.allocate(1);
            if (compressedTail != 0 && used != 0 && next == compressedTail - used + clusterSize) {
                refcounts.updateBytes(compressedTail, clusterSize - used, 1);
                host = compressedTail;
            } else {
                host = next;
            }
        }
        compressedTail = host + len;
        return host;
    }

    @Override
    public void flush() throws BlockException {
        if (readOnly) {
            return;
        }
        lock.writeLock().lock();
        try {
            flushPending();
        } finally {
            lock.writeLock().unlock();
        }
        if (!unsafe) {
            file.flush();
        }
    }

    // ---- status -----------------------------------------------------------------------------

    @Override
    public BlockStatus status(long offset, long len) throws BlockException {
        return status(offset, len, true);
    }

    @Override
    public BlockStatus statusWithoutWaiting(long offset, long len) throws BlockException {
        return status(offset, len, file.holeSeekingReady()); // a qcow2 image rarely needs them: not linked here
    }

    /** wait: refine data clusters with the host file's holes if needed, even if that means linking first. */
    private BlockStatus status(long offset, long len, boolean wait) throws BlockException {
        lock.readLock().lock();
        try {
            long end = Math.min(offset + len, size);
            long entry = l2Entry(offset >>> clusterBits);
            Kind kind = kind(entry);
            if (extendedL2 && kind != Kind.COMPRESSED) {
                return subclusterStatus(entry, l2Bitmap(offset >>> clusterBits), offset, end);
            }
            long host = entry & Qcow2Header.OFFSET_MASK;
            long pos = Math.min(end, ((offset >>> clusterBits) + 1) << clusterBits);
            while (pos < end) {
                long next = l2Entry(pos >>> clusterBits);
                if (kind(next) != kind || (kind == Kind.COMPRESSED)
                        || ((kind == Kind.NORMAL || kind == Kind.ZERO_ALLOC)
                            && (next & Qcow2Header.OFFSET_MASK) != host + (pos - (offset & -clusterSize)))) {
                    break;
                }
                pos = Math.min(end, pos + clusterSize);
            }
            boolean hasOffset = kind == Kind.NORMAL || kind == Kind.ZERO_ALLOC;
            boolean zero = kind == Kind.ZERO_PLAIN || kind == Kind.ZERO_ALLOC;
            long hostStart = host + (offset & (clusterSize - 1));
            if (kind == Kind.NORMAL && wait && file.canSeekHoles() && looksMetadataPreallocated()) {
                // As QEMU does for such images, ask the file layer: holes in the host file read as zero.
                boolean inData = file.isData(hostStart);
                long change = file.nextChange(hostStart, inData);
                long hostEnd = hostStart + (pos - offset);
                if (change > hostStart && change < hostEnd) {
                    pos = offset + (change - hostStart);
                }
                zero = !inData;
            }
            return new BlockStatus(pos - offset, kind != Kind.UNALLOCATED, zero,
                    kind == Kind.NORMAL || kind == Kind.COMPRESSED, hasOffset ? hostStart : -1);
        } finally {
            lock.readLock().unlock();
        }
    }

    private BlockStatus subclusterStatus(long entry, long bitmap, long offset, long end) {
        long clusterEnd = Math.min(end, ((offset >>> clusterBits) + 1) << clusterBits);
        int first = (int) ((offset & (clusterSize - 1)) >>> subclusterBits);
        long state = (bitmap >>> first & 1) | (bitmap >>> (32 + first) & 1) << 1;
        long pos = Math.min(clusterEnd, ((offset >>> subclusterBits) + 1) << subclusterBits);
        while (pos < clusterEnd) {
            int sub = (int) ((pos & (clusterSize - 1)) >>> subclusterBits);
            if (((bitmap >>> sub & 1) | (bitmap >>> (32 + sub) & 1) << 1) != state) {
                break;
            }
            pos = Math.min(clusterEnd, pos + (1L << subclusterBits));
        }
        boolean allocated = (state & 1) != 0;
        boolean zero = (state & 2) != 0;
        long host = entry & Qcow2Header.OFFSET_MASK;
        // As QEMU: the host offset is reported whenever the cluster has one, whatever the subcluster's state.
        return new BlockStatus(pos - offset, allocated || zero, zero, allocated,
                host != 0 ? host + (offset & (clusterSize - 1)) : -1);
    }

    /**
     * QEMU's heuristic for preallocation=metadata images: noticeably more clusters are in use according to
     * the refcounts than the host file has allocated, at least max(allocated * 10 / 9, allocated + 2)
     * (whole clusters). Computed once; the count stops at that threshold.
     */
    private boolean looksMetadataPreallocated() throws BlockException {
        Boolean known = metadataPreallocated;
        if (known == null) {
            long fileClusters = (file.length() + clusterSize - 1) >>> clusterBits;
            long realClusters = file.allocatedBytes() >>> clusterBits;
            long threshold = Math.max(realClusters * 10 / 9, realClusters + 2);
            known = refcounts.countReferenced(fileClusters, threshold) >= threshold;
            metadataPreallocated = known;
        }
        return known;
    }

    // ---- resize -----------------------------------------------------------------------------

    @Override
    public void resize(long newSize) throws BlockException {
        Requests.checkWritable(readOnly);
        if (newSize < 0) {
            throw new BlockException("Invalid size");
        }
        lock.writeLock().lock();
        try {
            long l2Span = (long) l2Entries << clusterBits;
            long neededL1 = (newSize + l2Span - 1) / l2Span;
            if (neededL1 * 8 > Qcow2Header.MAX_L1_BYTES) {
                throw new BlockException("Image size too large for the L1 table");
            }
            if (newSize < size) {
                shrink(newSize);
            } else if (neededL1 > l1.length) {
                growL1((int) neededL1);
            }
            file.write(24, Refcounts.longBytes(newSize));
            header.size = newSize;
            size = newSize;
            barrier();
        } finally {
            lock.writeLock().unlock();
        }
    }

    private void shrink(long newSize) throws BlockException {
        long firstFree = (newSize + clusterSize - 1) >>> clusterBits;
        long endCluster = (size + clusterSize - 1) >>> clusterBits;
        for (long c = firstFree; c < endCluster; ) {
            int l1Index = (int) (c >>> l2Bits);
            long tableEnd = Math.min(endCluster, ((long) l1Index + 1) << l2Bits);
            if ((l1[l1Index] & Qcow2Header.OFFSET_MASK) != 0) {
                zeroClusters(c, (int) (tableEnd - c), true, true);
                if ((c & (l2Entries - 1)) == 0) {
                    long old = l1[l1Index];
                    l1[l1Index] = 0;
                    file.write(header.l1TableOffset + l1Index * 8L, Refcounts.longBytes(0));
                    metadata.remove(old & Qcow2Header.OFFSET_MASK, clusterSize);
                    refcounts.free(old & Qcow2Header.OFFSET_MASK, clusterSize);
                }
            }
            c = tableEnd;
        }
    }

    /** Replaces the L1 table by a larger one; the header switches once the copy is on disk. */
    void growL1(int entries) throws BlockException {
        flushPending();
        long bytes = entries * 8L;
        long clusters = (bytes + clusterSize - 1) >>> clusterBits;
        long newOffset = refcounts.allocate(clusters);
        ByteBuffer b = ByteBuffer.allocate((int) bytes);
        for (long e : l1) {
            b.putLong(e);
        }
        metadata.checkFree(newOffset, bytes);
        metadata.add(newOffset, bytes);
        file.write(newOffset, b.array());
        barrier();
        long oldOffset = header.l1TableOffset;
        int oldSize = header.l1Size;
        file.write(36, ByteBuffer.allocate(12).putInt(entries).putLong(newOffset).array());
        barrier();
        header.l1Size = entries;
        header.l1TableOffset = newOffset;
        l1 = Arrays.copyOf(l1, entries);
        if (oldSize > 0) {
            metadata.remove(oldOffset, oldSize * 8L);
            refcounts.free(oldOffset, oldSize * 8L);
        }
    }

    /**
     * Allocates L2 tables and data clusters for the whole image (preallocation=metadata/falloc/full).
     * Returns {first data byte, end of the last cluster} on the host.
     */
    long[] preallocateMetadata(boolean contiguousData) throws BlockException {
        lock.writeLock().lock();
        try {
            long end = 0;
            long clusters = (size + clusterSize - 1) >>> clusterBits;
            // falloc/full: the first L2 table, one contiguous data run, the other L2 tables (qemu-img's
            // layout);
            // metadata: each L2 table followed by its data.
            long run = -1;
            if (contiguousData && clusters > 0) {
                l2ForWrite(0);
                run = refcounts.allocate(clusters);
            }
            for (long c = 0; c < clusters; ) {
                int l1Index = (int) (c >>> l2Bits);
                long tableEnd = Math.min(clusters, ((long) l1Index + 1) << l2Bits);
                long[] table = l2ForWrite(l1Index);
                int count = (int) (tableEnd - c);
                long start = run >= 0 ? run + (c << clusterBits) : refcounts.allocate(count);
                long[] entries = new long[count];
                long[] bitmaps = extendedL2 ? new long[count] : null;
                for (int i = 0; i < count; i++) {
                    entries[i] = (start + i * clusterSize) | COPIED;
                    if (bitmaps != null) {
                        // Over a backing file the subclusters stay unallocated, so it still shows through.
                        bitmaps[i] = hasBackingFile() ? 0 : ALL_ALLOCATED;
                    }
                }
                commitL2(l1Index, table, (int) (c & (l2Entries - 1)), entries, bitmaps);
                end = Math.max(end, start + count * clusterSize);
                c = tableEnd;
            }
            return new long[] {run >= 0 ? run : 0, end};
        } finally {
            lock.writeLock().unlock();
        }
    }


    @Override
    public long allocatedBytes() throws BlockException {
        return file.allocatedBytes();
    }

    /** Rewrites the header cluster (amend, rebase): everything but the tables. Write lock taken. */
    void rewriteHeader() throws BlockException {
        lock.writeLock().lock();
        try {
            flushPending();
            byte[] h = header.toBytes();
            // toBytes() guarantees the header fits in cluster 0, which holds nothing else.
            file.write(0, java.util.Arrays.copyOf(h, (int) Math.min(clusterSize, 4096L * ((h.length + 4095) / 4096))));
            barrier();
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Makes every cluster unallocated again (commit's "make empty"): the backing file shows through. */
    public void makeEmpty() throws BlockException {
        Requests.checkWritable(readOnly);
        lock.writeLock().lock();
        try {
            long clusters = (size + clusterSize - 1) >>> clusterBits;
            for (long c = 0; c < clusters; ) {
                int l1Index = (int) (c >>> l2Bits);
                long tableEnd = Math.min(clusters, ((long) l1Index + 1) << l2Bits);
                zeroClusters(c, (int) (tableEnd - c), true, true, true);
                c = tableEnd;
            }
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Changes the backing file name and format recorded in the header (rebase, amend). */
    public void setBacking(String file, String format) throws BlockException {
        Requests.checkWritable(readOnly);
        header.backingFile = file == null || file.isEmpty() ? null : file;
        header.backingFormat = header.backingFile == null ? null : format;
        rewriteHeader();
    }

    /** Sets or clears the lazy refcounts feature (version 3 only). */
    public void setLazyRefcounts(boolean on) throws BlockException {
        Requests.checkWritable(readOnly);
        if (on && header.version < 3) {
            throw new BlockException("Lazy refcounts only supported with compatibility level 1.1 and above "
                    + "(use compat=1.1 or greater)");
        }
        header.compatible = on ? header.compatible | Qcow2Header.COMPAT_LAZY_REFCOUNTS
                : header.compatible & ~Qcow2Header.COMPAT_LAZY_REFCOUNTS;
        rewriteHeader();
    }

    /** Upgrades a version 2 image to version 3 (compat=1.1): only the header changes. */
    public void upgradeToV3() throws BlockException {
        Requests.checkWritable(readOnly);
        if (header.version < 3) {
            header.version = 3;
            header.headerLength = Qcow2Header.V3_LENGTH;
            rewriteHeader();
        }
    }

    /** Reads through a snapshot's L1 table from now on (read-only images only; nothing is written). */
    void viewSnapshot(long[] snapshotL1, long snapshotSize) throws BlockException {
        if (!readOnly) {
            throw new BlockException("Temporarily loading a snapshot needs a read-only image");
        }
        long l2Span = (long) l2Entries << clusterBits;
        if (snapshotSize < 0 || (snapshotSize + l2Span - 1) / l2Span > snapshotL1.length) {
            throw new BlockException.Corrupt("qcow2: Image is corrupt: snapshot L1 table too small for its disk size");
        }
        lock.writeLock().lock();
        try {
            l1 = snapshotL1;
            size = snapshotSize;
        } finally {
            lock.writeLock().unlock();
        }
    }

    MetadataMap metadata() {
        return metadata;
    }

    /** Writes a whole L2 table (and keeps the cache coherent). Write lock held. */
    void writeL2Table(long offset, long[] table) throws BlockException {
        flushPending();
        file.write(offset, tableBytes(table, extendedL2 ? tableBitmaps(offset) : null));
        synchronized (l2Cache) {
            l2Cache.put(offset, table);
        }
    }

    /** Replaces the active L1 entries in place (same table, same or larger size). Write lock held. */
    void setActiveL1(long[] entries, long newSize) throws BlockException {
        flushPending();
        long l2Span = (long) l2Entries << clusterBits;
        int needed = (int) Math.max(entries.length, (newSize + l2Span - 1) / l2Span);
        if (needed > l1.length) {
            growL1(needed);
        }
        long[] updated = Arrays.copyOf(entries, l1.length);
        ByteBuffer b = ByteBuffer.allocate(updated.length * 8);
        for (long e : updated) {
            b.putLong(e);
        }
        for (long e : l1) {
            if ((e & Qcow2Header.OFFSET_MASK) != 0) {
                metadata.remove(e & Qcow2Header.OFFSET_MASK, clusterSize);
            }
        }
        for (long e : updated) {
            if ((e & Qcow2Header.OFFSET_MASK) != 0) {
                metadata.add(e & Qcow2Header.OFFSET_MASK, clusterSize);
            }
        }
        file.write(header.l1TableOffset, b.array());
        l1 = updated;
        if (newSize != size) {
            file.write(24, Refcounts.longBytes(newSize));
            header.size = newSize;
            size = newSize;
        }
        synchronized (l2Cache) {
            l2Cache.clear();
        }
    }

    /**
     * Downgrades to version 2 (compat=0.10): zero clusters become unallocated (no backing file) or
     * explicit zeros, then the header is rewritten without the version 3 fields.
     */
    public void downgradeToV2() throws BlockException {
        Requests.checkWritable(readOnly);
        if (header.version < 3) {
            return;
        }
        if (extendedL2) {
            throw new BlockException("Cannot downgrade an image with extended L2 entries");
        }
        if (refcounts.bits() != 16) {
            throw new BlockException("compat=0.10 requires refcount_bits=16");
        }
        if (header.nbSnapshots > 0) {
            throw new BlockException("Downgrading an image with internal snapshots is not supported by jqemu");
        }
        long clusters = (size + clusterSize - 1) >>> clusterBits;
        byte[] zeros = new byte[(int) clusterSize];
        for (long c = 0; c < clusters; c++) {
            Kind k;
            lock.readLock().lock();
            try {
                k = kind(l2Entry(c));
            } finally {
                lock.readLock().unlock();
            }
            if (k == Kind.ZERO_ALLOC || (k == Kind.ZERO_PLAIN && hasBackingFile())) {
                long pos = c << clusterBits;
                write(pos, zeros, 0, (int) Math.min(clusterSize, size - pos));
            } else if (k == Kind.ZERO_PLAIN) {
                lock.writeLock().lock();
                try {
                    zeroClusters(c, 1, true, true, true);
                } finally {
                    lock.writeLock().unlock();
                }
            }
        }
        flush();
        header.version = 2;
        header.incompatible = 0;
        header.compatible = 0;
        header.autoclear = 0;
        header.headerLength = Qcow2Header.V2_LENGTH;
        dirtyMarked = false;
        rewriteHeader();
    }

    ReentrantReadWriteLock lock() {
        return lock;
    }

    @Override
    public void close() throws BlockException {
        try {
            if (!readOnly) {
                flush();
                if (dirtyMarked) {
                    setIncompatibleBit(Qcow2Header.INCOMPAT_DIRTY, false);
                }
            }
        } finally {
            try {
                file.close();
            } finally {
                if (backing != null) {
                    backing.close();
                }
            }
        }
    }
}
