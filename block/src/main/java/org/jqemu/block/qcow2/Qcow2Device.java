package org.jqemu.block.qcow2;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.BlockStatus;
import org.jqemu.block.HostFile;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.Requests;

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
public final class Qcow2Device implements BlockDevice {
    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long ZERO_FLAG = 1;
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
    private final int compressedSectorShift;
    private final Refcounts refcounts;
    private final MetadataMap metadata;
    private final Map<Long, long[]> l2Cache;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private long[] l1;
    private volatile long size;
    private boolean dirtyMarked;
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
        this.l2Bits = clusterBits - 3;
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
        byte[] head = file.read(0, (int) Math.min(length, 1L << Qcow2Header.MAX_CLUSTER_BITS));
        Qcow2Header h = Qcow2Header.parse(head, length);
        if (h.compressionType == Qcow2Header.COMPRESSION_ZSTD) {
            throw new BlockException("Could not open '" + filename
                    + "': zstd compression is not supported by jqemu (only zlib)");
        }
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
        ByteBuffer b = ByteBuffer.wrap(file.read(offset, entries * 8));
        long[] t = new long[entries];
        for (int i = 0; i < entries; i++) {
            t[i] = b.getLong(i * 8);
        }
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
    public long clusterSizeBytes() { return clusterSize; }

    // ---- mapping ----------------------------------------------------------------------------

    Kind kind(long entry) {
        if ((entry & COMPRESSED) != 0) {
            return Kind.COMPRESSED;
        }
        boolean zero = header.version >= 3 && (entry & ZERO_FLAG) != 0;
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
        synchronized (l2Cache) {
            long[] t = l2Cache.get(offset);
            if (t == null) {
                t = readTable(offset, l2Entries);
                l2Cache.put(offset, t);
            }
            return t;
        }
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
        Requests.checkRange(offset, len, size);
        lock.readLock().lock();
        try {
            readLocked(offset, buf, off, len);
        } finally {
            lock.readLock().unlock();
        }
    }

    private void readLocked(long offset, byte[] buf, int off, int len) throws BlockException {
        long pos = offset;
        long end = offset + len;
        while (pos < end) {
            long cluster = pos >>> clusterBits;
            long entry = l2Entry(cluster);
            Kind kind = kind(entry);
            int inCluster = (int) (pos & (clusterSize - 1));
            long runEnd = Math.min(end, (cluster + 1) << clusterBits);
            if (kind == Kind.NORMAL) {
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

    /** Reads part of one guest cluster whose L2 entry is given. */
    private void readClusterPart(long entry, Kind kind, long pos, byte[] buf, int off, int len)
            throws BlockException {
        int inCluster = (int) (pos & (clusterSize - 1));
        switch (kind) {
            case NORMAL -> file.read((entry & Qcow2Header.OFFSET_MASK) + inCluster, buf, off, len);
            case ZERO_PLAIN, ZERO_ALLOC -> Arrays.fill(buf, off, off + len, (byte) 0);
            case UNALLOCATED -> readBacking(pos, buf, off, len);
            case COMPRESSED -> System.arraycopy(inflate(entry), inCluster, buf, off, len);
        }
    }

    private void readBacking(long pos, byte[] buf, int off, int len) throws BlockException {
        long available = backing == null ? 0 : Math.max(0, Math.min(len, backing.size() - pos));
        if (available > 0) {
            backing.read(pos, buf, off, (int) available);
        }
        Arrays.fill(buf, off + (int) available, off + len, (byte) 0);
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
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(in);
            int n = 0;
            while (n < out.length) {
                int k = inflater.inflate(out, n, out.length - n);
                if (k == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                n += k;
            }
            if (n < out.length) {
                throw new BlockException("qcow2: Could not read compressed cluster at host offset 0x"
                        + Long.toHexString(range[0]) + ": truncated data");
            }
        } catch (DataFormatException e) {
            throw new BlockException("qcow2: Could not read compressed cluster at host offset 0x"
                    + Long.toHexString(range[0]) + ": " + e.getMessage());
        } finally {
            inflater.end();
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
    private boolean writeInPlace(long offset, byte[] buf, int off, int len) throws BlockException {
        long end = offset + len;
        for (long c = offset >>> clusterBits; c <= (end - 1) >>> clusterBits && len > 0; c++) {
            long e = l2Entry(c);
            if (kind(e) != Kind.NORMAL || (e & COPIED) == 0) {
                return false;
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
    private void writeChunk(long offset, byte[] buf, int off, int len) throws BlockException {
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
        long newStart = toAllocate > 0 ? refcounts.allocate(toAllocate) : 0;
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
                readClusterPart(old[i], kind(old[i]), cStart, data, dst, (int) clusterSize);
            }
            System.arraycopy(buf, srcOff, data, dst + (int) (from - cStart), (int) (to - from));
            newEntries[i] = (newStart + slot * clusterSize) | COPIED;
            slot++;
        }
        if (toAllocate == 0) {
            return;
        }
        metadata.checkFree(newStart, data.length);
        file.write(newStart, data, 0, data.length);
        barrier();
        commitL2((int) (firstCluster >>> l2Bits), table, base, newEntries);
        for (int i = 0; i < count; i++) {
            if (newEntries[i] != old[i]) {
                release(old[i]);
            }
        }
    }

    /** Updates entries [base, base+n) of a writable L2 table in memory and on disk. */
    private void commitL2(int l1Index, long[] table, int base, long[] entries) throws BlockException {
        System.arraycopy(entries, 0, table, base, entries.length);
        ByteBuffer b = ByteBuffer.allocate(entries.length * 8);
        for (long e : entries) {
            b.putLong(e);
        }
        long tableOffset = l1[l1Index] & Qcow2Header.OFFSET_MASK;
        file.write(tableOffset + base * 8L, b.array());
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
        long[] table;
        if (oldOffset != 0) {
            // Shared with a snapshot: the copy takes its own reference to every cluster.
            table = loadL2(l1e, l1Index).clone();
            for (int i = 0; i < table.length; i++) {
                Kind k = kind(table[i]);
                if (k == Kind.NORMAL || k == Kind.ZERO_ALLOC) {
                    refcounts.updateBytes(table[i] & Qcow2Header.OFFSET_MASK, clusterSize, 1);
                } else if (k == Kind.COMPRESSED) {
                    long[] r = compressedRange(table[i]);
                    refcounts.updateBytes(r[0], r[1] - r[0], 1);
                }
                table[i] &= ~COPIED;
            }
        } else {
            table = new long[l2Entries];
        }
        long newOffset = refcounts.allocate(1);
        ByteBuffer b = ByteBuffer.allocate((int) clusterSize);
        for (long e : table) {
            b.putLong(e);
        }
        metadata.checkFree(newOffset, clusterSize);
        metadata.add(newOffset, clusterSize);
        file.write(newOffset, b.array());
        synchronized (l2Cache) {
            l2Cache.put(newOffset, table);
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

    private void zeroPartial(long from, long to) throws BlockException {
        if (from >= to) {
            return;
        }
        long entry;
        lock.readLock().lock();
        try {
            entry = l2Entry(from >>> clusterBits);
        } finally {
            lock.readLock().unlock();
        }
        Kind k = kind(entry);
        if (k == Kind.ZERO_PLAIN || k == Kind.ZERO_ALLOC || (k == Kind.UNALLOCATED && backing == null)) {
            return;
        }
        write(from, new byte[(int) (to - from)], 0, (int) (to - from));
    }

    /** Zeroes count whole clusters inside one L2 table. Write lock held. */
    private void zeroClusters(long first, int count, boolean mayUnmap, boolean discard) throws BlockException {
        boolean v3 = header.version >= 3;
        int l1Index = (int) (first >>> l2Bits);
        if (!v3 && backing != null && !discard) {
            // No zero flag in version 2: zeros must be written out.
            byte[] zeros = new byte[(int) clusterSize];
            for (int i = 0; i < count; i++) {
                long pos = (first + i) << clusterBits;
                int n = (int) Math.min(clusterSize, size - pos);
                writeChunk(pos, zeros, 0, n);
            }
            return;
        }
        if ((l1[l1Index] & Qcow2Header.OFFSET_MASK) == 0 && (!v3 || (discard && backing == null))) {
            return; // nothing allocated, and unallocated already reads as zeros
        }
        long[] table = l2ForWrite(l1Index);
        int base = (int) (first & (l2Entries - 1));
        long[] old = Arrays.copyOfRange(table, base, base + count);
        long[] updated = new long[count];
        for (int i = 0; i < count; i++) {
            Kind k = kind(old[i]);
            if (discard) {
                updated[i] = v3 && backing != null ? ZERO_FLAG : 0;
            } else if (!v3) {
                updated[i] = 0; // no backing: unallocated reads as zeros
            } else if (!mayUnmap && (k == Kind.NORMAL || k == Kind.ZERO_ALLOC) && (old[i] & COPIED) != 0) {
                updated[i] = old[i] | ZERO_FLAG; // keep the allocation
            } else {
                updated[i] = ZERO_FLAG;
            }
        }
        commitL2(l1Index, table, base, updated);
        for (int i = 0; i < count; i++) {
            if ((updated[i] & Qcow2Header.OFFSET_MASK) != (old[i] & Qcow2Header.OFFSET_MASK)
                    || (old[i] & COMPRESSED) != 0) {
                release(old[i]);
            }
        }
    }

    /**
     * Writes one whole guest cluster compressed (zlib raw deflate), as qemu-img convert -c does. Data
     * that does not compress is written normally. The cluster must be aligned; the last cluster of the
     * image may be short.
     */
    public void writeCompressed(long offset, byte[] buf, int off, int len) throws BlockException {
        Requests.checkWritable(readOnly);
        Requests.checkRange(offset, len, size);
        if ((offset & (clusterSize - 1)) != 0 || (len != clusterSize && offset + len != size)) {
            throw new BlockException("Compressed writes must cover whole clusters");
        }
        byte[] cluster = Arrays.copyOfRange(buf, off, off + (int) clusterSize);
        if (len < clusterSize) {
            Arrays.fill(cluster, len, cluster.length, (byte) 0);
        }
        byte[] packed = deflate(cluster);
        if (packed == null) {
            write(offset, buf, off, len);
            return;
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
            barrier();
            long extraSectors = ((host + packed.length - 1) >>> 9) - (host >>> 9);
            long entry = COMPRESSED | (extraSectors << compressedSectorShift) | host;
            commitL2((int) (guestCluster >>> l2Bits), table, index, new long[] {entry});
            release(old);
        } finally {
            lock.writeLock().unlock();
        }
    }

    /** Raw deflate of a cluster; null if it does not get smaller than the cluster minus a sector. */
    private byte[] deflate(byte[] cluster) {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        try {
            deflater.setInput(cluster);
            deflater.finish();
            byte[] out = new byte[cluster.length];
            int n = 0;
            while (!deflater.finished() && n < out.length) {
                n += deflater.deflate(out, n, out.length - n);
            }
            if (!deflater.finished() || n >= cluster.length - 512) {
                return null;
            }
            return Arrays.copyOf(out, n);
        } finally {
            deflater.end();
        }
    }

    /** Host offset for len compressed bytes: packed after the previous ones, refcounts raised. */
    private long placeCompressed(int len) throws BlockException {
        long tail = compressedTail;
        boolean fits = tail != 0 && (tail & (clusterSize - 1)) != 0
                && (tail & (clusterSize - 1)) + len <= clusterSize;
        if (!fits) {
            long clusters = (len + clusterSize - 1) >>> clusterBits;
            tail = refcounts.allocate(clusters);
            if (clusters > 1) {
                // The compressed cluster's range covers these clusters once each, already counted.
                compressedTail = tail + len;
                return tail;
            }
            compressedTail = tail + len;
            return tail;
        }
        refcounts.updateBytes(tail, len, 1);
        compressedTail = tail + len;
        return tail;
    }

    @Override
    public void flush() throws BlockException {
        if (!readOnly && !unsafe) {
            file.flush();
        }
    }

    // ---- status -----------------------------------------------------------------------------

    @Override
    public BlockStatus status(long offset, long len) throws BlockException {
        lock.readLock().lock();
        try {
            long end = Math.min(offset + len, size);
            long entry = l2Entry(offset >>> clusterBits);
            Kind kind = kind(entry);
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
            return new BlockStatus(pos - offset, kind != Kind.UNALLOCATED,
                    kind == Kind.ZERO_PLAIN || kind == Kind.ZERO_ALLOC,
                    kind == Kind.NORMAL || kind == Kind.COMPRESSED,
                    hasOffset ? host + (offset & (clusterSize - 1)) : -1);
        } finally {
            lock.readLock().unlock();
        }
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

    /** Allocates L2 tables and data clusters for the whole image (preallocation=metadata). */
    long preallocateMetadata() throws BlockException {
        lock.writeLock().lock();
        try {
            long end = 0;
            long clusters = (size + clusterSize - 1) >>> clusterBits;
            for (long c = 0; c < clusters; ) {
                int l1Index = (int) (c >>> l2Bits);
                long tableEnd = Math.min(clusters, ((long) l1Index + 1) << l2Bits);
                long[] table = l2ForWrite(l1Index);
                int count = (int) (tableEnd - c);
                long start = refcounts.allocate(count);
                long[] entries = new long[count];
                for (int i = 0; i < count; i++) {
                    entries[i] = (start + i * clusterSize) | COPIED;
                }
                        commitL2(l1Index, table, (int) (c & (l2Entries - 1)), entries);
                end = Math.max(end, start + count * clusterSize);
                c = tableEnd;
            }
            return end;
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
            byte[] h = header.toBytes();
            long firstTable = Math.min(header.refcountTableOffset, header.l1TableOffset);
            if (h.length > clusterSize || h.length > firstTable) {
                throw new BlockException("Header does not fit");
            }
            file.write(0, h);
            barrier();
        } finally {
            lock.writeLock().unlock();
        }
    }

    ReentrantReadWriteLock lock() {
        return lock;
    }

    @Override
    public void close() throws BlockException {
        try {
            if (!readOnly) {
                file.flush();
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
