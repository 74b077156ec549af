package org.jqemu.block.qcow2;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jqemu.block.BlockException;
import org.jqemu.block.HostFile;

/**
 * The refcount table and refcount blocks of a qcow2 image, and the cluster allocator built on them.
 *
 * <p>Write-through: every change reaches the host file immediately; the block cache only saves reads.
 * Except one: a data cluster's allocation (allocateDeferred) may hold its raised refcounts in memory,
 * because nothing points to the cluster before the driver's queued L2 entries are written, and the driver
 * writes these refcounts first (writeDeferred, before its barrier). Any other write here writes them
 * first too, so the order on disk is the order of the changes.
 * Ordering (crash consistency): a cluster's refcount is raised before anything points to it and lowered
 * only after nothing points to it any more, so an interrupted update leaves at worst a leaked cluster.
 * A new refcount block is written (with its own refcount) before the table entry that links it, and a
 * grown table is complete on disk before the header switches to it.
 *
 * <p>Not thread-safe by itself: every method is called with the driver's lock held (reads under the
 * read lock use {@link #get} only, which synchronises on the cache).
 */
final class Refcounts {
    private static final int CACHE_BYTES = 4 << 20;

    private final HostFile file;
    private final int clusterBits;
    private final long clusterSize;
    private final int order;
    private final int bits;
    private final long maxRefcount;
    /** log2 of refcount entries per block. */
    private final int blockBits;
    private final Qcow2Device.Barrier barrier;
    private final Qcow2Header header;
    private final MetadataMap metadata;
    private final Map<Long, byte[]> cache;
    /**
     * Refcount blocks with raised refcounts not yet written (allocateDeferred), by offset: the block and
     * the byte range to write. The block is kept here too, so that the cache dropping it loses nothing.
     */
    private final Map<Long, Deferred> deferred = new LinkedHashMap<>();
    private long[] table;
    private long freeHint;
    /** Clusters the allocator must not hand out even if their refcount says free (used by repair). */
    private java.util.function.LongPredicate reserved = c -> false;

    Refcounts(HostFile file, Qcow2Header header, Qcow2Device.Barrier barrier, MetadataMap metadata)
            throws BlockException {
        this.metadata = metadata;
        this.file = file;
        this.header = header;
        this.barrier = barrier;
        this.clusterBits = header.clusterBits;
        this.clusterSize = 1L << clusterBits;
        this.order = header.refcountOrder;
        this.bits = 1 << order;
        this.maxRefcount = bits == 64 ? Long.MAX_VALUE : (1L << bits) - 1;
        this.blockBits = clusterBits + 3 - order;
        int capacity = (int) Math.max(4, CACHE_BYTES / clusterSize);
        this.cache = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
                return size() > capacity;
            }
        };
        this.table = readTable(header.refcountTableOffset, header.refcountTableClusters);
        metadata.add(header.refcountTableOffset, (long) header.refcountTableClusters << clusterBits);
        for (long e : table) {
            if ((e & Qcow2Header.OFFSET_MASK) != 0) {
                metadata.add(e & Qcow2Header.OFFSET_MASK, clusterSize);
            }
        }
    }

    private long[] readTable(long offset, int clusters) throws BlockException {
        int n = (int) (clusters * clusterSize / 8);
        return Qcow2Device.words(file.read(offset, n * 8));
    }

    int bits() {
        return bits;
    }

    long maxRefcount() {
        return maxRefcount;
    }

    long[] table() {
        return table;
    }

    int blockBits() {
        return blockBits;
    }

    /** Number of clusters the current refcount table can describe. */
    long coveredClusters() {
        return (long) table.length << blockBits;
    }

    /** The refcount of a host cluster (0 if no block describes it). */
    long get(long cluster) throws BlockException {
        long ti = cluster >>> blockBits;
        if (ti >= table.length || table[(int) ti] == 0) {
            return 0;
        }
        byte[] block = block(table[(int) ti], ti);
        return entry(block, (int) (cluster & ((1L << blockBits) - 1)));
    }

    /**
     * How many of the host clusters [0, clusters) have a non-zero refcount, counting no further than limit:
     * one pass per refcount block.
     */
    long countReferenced(long clusters, long limit) throws BlockException {
        long perBlock = 1L << blockBits;
        long count = 0;
        for (long first = 0; first < clusters && count < limit && (first >>> blockBits) < table.length;
                first += perBlock) {
            int ti = (int) (first >>> blockBits);
            if (table[ti] == 0) {
                continue;
            }
            byte[] block = block(table[ti], ti);
            int n = (int) Math.min(perBlock, clusters - first);
            for (int i = 0; i < n; i++) {
                if (entry(block, i) != 0) {
                    count++;
                }
            }
        }
        return count;
    }

    private byte[] block(long tableEntry, long ti) throws BlockException {
        long offset = tableEntry & Qcow2Header.OFFSET_MASK;
        if ((tableEntry & 0x1ff) != 0 || (offset & (clusterSize - 1)) != 0 || offset == 0) {
            throw new BlockException.Corrupt("qcow2: Image is corrupt: Refblock offset 0x"
                    + Long.toHexString(offset) + " unaligned (reftable index: 0x" + Long.toHexString(ti) + ")");
        }
        synchronized (cache) {
            byte[] b = cache.get(offset);
            if (b == null) {
                Deferred d = deferred.get(offset);
                b = d != null ? d.block : file.read(offset, (int) clusterSize);
                cache.put(offset, b);
            }
            return b;
        }
    }

    long entry(byte[] block, int i) {
        return switch (order) {
            case 0, 1, 2 -> {
                int bit = i << order;
                yield (block[bit >>> 3] >>> (bit & 7)) & ((1 << bits) - 1);
            }
            case 3 -> block[i] & 0xffL;
            case 4 -> (block[i * 2] & 0xffL) << 8 | (block[i * 2 + 1] & 0xffL); // the default width: no wrapper
            case 5 -> ByteBuffer.wrap(block).getInt(i * 4) & 0xffffffffL;
            default -> ByteBuffer.wrap(block).getLong(i * 8);
        };
    }

    void setEntry(byte[] block, int i, long v) {
        switch (order) {
            case 0, 1, 2 -> {
                int bit = i << order;
                int mask = ((1 << bits) - 1) << (bit & 7);
                block[bit >>> 3] = (byte) ((block[bit >>> 3] & ~mask) | ((int) v << (bit & 7)));
            }
            case 3 -> block[i] = (byte) v;
            case 4 -> { // the default width, written once per cluster allocated: no wrapper
                block[i * 2] = (byte) (v >>> 8);
                block[i * 2 + 1] = (byte) v;
            }
            case 5 -> ByteBuffer.wrap(block).putInt(i * 4, (int) v);
            default -> ByteBuffer.wrap(block).putLong(i * 8, v);
        }
    }

    /** First index of a run of n clusters with refcount 0, at or after the hint. */
    private long findFree(long n) throws BlockException {
        long start = freeHint;
        long i = start;
        boolean hintMoved = false;
        while (i - start < n) {
            if (get(i) != 0 || reserved.test(i)) {
                start = ++i;
            } else {
                if (!hintMoved) {
                    freeHint = i;
                    hintMoved = true;
                }
                i++;
            }
            if ((i << clusterBits) >= (1L << 56)) {
                throw new BlockException("qcow2: image too large, no free cluster below 2^56");
            }
        }
        return start;
    }

    private boolean blockExists(long ti) {
        return ti < table.length && table[(int) ti] != 0;
    }

    /**
     * Allocates n contiguous clusters with refcount 1 and returns the byte offset of the first.
     * Refcount blocks the run needs are created first (possibly moving the run).
     */
    long allocate(long n) throws BlockException {
        return allocate(n, false);
    }

    /**
     * As allocate, but the raised refcounts may stay in memory until writeDeferred: for data clusters only,
     * whose L2 entries the caller writes after writeDeferred (Qcow2Device.flushPending), so that a
     * conversion writes each refcount block once per batch instead of once per request.
     */
    long allocateDeferred(long n) throws BlockException {
        return allocate(n, true);
    }

    private long allocate(long n, boolean defer) throws BlockException {
        while (true) {
            long start = findFree(n);
            boolean changed = false;
            for (long ti = start >>> blockBits; ti <= (start + n - 1) >>> blockBits; ti++) {
                if (!blockExists(ti)) {
                    createBlock(ti);
                    changed = true;
                }
            }
            if (!changed) {
                update(start, n, 1, defer);
                if (freeHint == start) {
                    freeHint = start + n;
                }
                return start << clusterBits;
            }
        }
    }

    /** Adds delta to the refcount of every cluster touched by [offset, offset+bytes). */
    void updateBytes(long offset, long bytes, int delta) throws BlockException {
        long first = offset >>> clusterBits;
        long last = (offset + bytes - 1) >>> clusterBits;
        if (delta > 0) {
            for (long ti = first >>> blockBits; ti <= last >>> blockBits; ti++) {
                while (!blockExists(ti)) {
                    createBlock(ti);
                }
            }
        }
        update(first, last - first + 1, delta, false);
    }

    /** Releases the clusters of [offset, offset+bytes) (refcount - 1). */
    void free(long offset, long bytes) throws BlockException {
        updateBytes(offset, bytes, -1);
    }

    /** While repairing, clusters known to be in use must never be allocated, whatever their refcount. */
    void reserve(java.util.function.LongPredicate inUse) {
        reserved = inUse;
        freeHint = 0;
    }

    /** Creates the refcount block describing the cluster if there is none; true if one was created. */
    boolean ensureBlock(long cluster) throws BlockException {
        long ti = cluster >>> blockBits;
        boolean created = false;
        while (!blockExists(ti)) {
            createBlock(ti);
            created = true;
        }
        return created;
    }

    /** Sets one refcount to an exact value (repair); the block must exist or is created. */
    void set(long cluster, long value) throws BlockException {
        long ti = cluster >>> blockBits;
        while (!blockExists(ti)) {
            createBlock(ti);
        }
        long current = get(cluster);
        if (current != value) {
            modify(cluster, 1, value - current, false);
        }
    }

    private void update(long first, long n, long delta, boolean defer) throws BlockException {
        long i = first;
        while (i < first + n) {
            long ti = i >>> blockBits;
            long blockEnd = (ti + 1) << blockBits;
            long count = Math.min(first + n, blockEnd) - i;
            if (!blockExists(ti)) {
                throw new BlockException.Corrupt("qcow2: Image is corrupt: refcount of cluster 0x"
                        + Long.toHexString(i) + " is already 0");
            }
            modify(i, count, delta, defer);
            i += count;
        }
    }

    /** Changes count refcounts inside one block and writes the changed bytes back (or, deferring, records them). */
    private void modify(long first, long count, long delta, boolean defer) throws BlockException {
        long ti = first >>> blockBits;
        byte[] block = block(table[(int) ti], ti);
        int firstIndex = (int) (first & ((1L << blockBits) - 1));
        synchronized (cache) {
            for (int k = 0; k < count; k++) {
                long v = entry(block, firstIndex + k) + delta;
                if (v < 0) {
                    throw new BlockException.Corrupt("qcow2: Image is corrupt: refcount of cluster 0x"
                            + Long.toHexString(first + k) + " would become negative");
                }
                if (Long.compareUnsigned(v, maxRefcount) > 0) {
                    throw new BlockException("qcow2: refcount overflow (maximum " + maxRefcount + ")");
                }
                setEntry(block, firstIndex + k, v);
                if (v == 0 && first + k < freeHint) {
                    freeHint = first + k;
                }
            }
        }
        int from = (int) (((long) firstIndex << order) >>> 3);
        int to = (int) ((((firstIndex + count) << order) + 7) >>> 3);
        long offset = table[(int) ti] & Qcow2Header.OFFSET_MASK;
        if (defer) {
            Deferred d = deferred.get(offset);
            if (d == null) {
                deferred.put(offset, new Deferred(block, from, to));
            } else {
                d.from = Math.min(d.from, from);
                d.to = Math.max(d.to, to);
            }
            return;
        }
        writeDeferred();
        file.write(offset + from, block, from, to - from);
    }

    /** A refcount block's bytes [from, to) changed in memory only (the bytes between are unchanged or changed too). */
    private static final class Deferred {
        final byte[] block;
        int from;
        int to;

        Deferred(byte[] block, int from, int to) {
            this.block = block;
            this.from = from;
            this.to = to;
        }
    }

    /** Writes the refcounts allocateDeferred held in memory, one write per block. */
    void writeDeferred() throws BlockException {
        for (Map.Entry<Long, Deferred> e : deferred.entrySet()) {
            Deferred d = e.getValue();
            file.write(e.getKey() + d.from, d.block, d.from, d.to - d.from);
        }
        deferred.clear();
    }

    /** Creates the refcount block for table index ti, placing it in a free cluster. */
    private void createBlock(long ti) throws BlockException {
        writeDeferred(); // what this writes must not reach the disk before them
        if (ti >= table.length) {
            growTable(ti);
            if (blockExists(ti)) {
                return;
            }
        }
        long c = findFree(1);
        long cti = c >>> blockBits;
        if (cti != ti && !blockExists(cti)) {
            createBlock(cti);
            return; // the caller loops and retries with the new layout
        }
        byte[] block = new byte[(int) clusterSize];
        long offset = c << clusterBits;
        metadata.checkFree(offset, clusterSize);
        metadata.add(offset, clusterSize);
        if (cti == ti) {
            setEntry(block, (int) (c & ((1L << blockBits) - 1)), 1);
            file.write(offset, block);
        } else {
            file.write(offset, block);
            update(c, 1, 1, false);
        }
        synchronized (cache) {
            cache.put(offset, block);
        }
        barrier.sync();
        table[(int) ti] = offset;
        file.write(header.refcountTableOffset + ti * 8, longBytes(offset));
    }

    /**
     * Replaces the refcount table by a larger copy that can hold index ti. The new table and the
     * refcount blocks describing it go to a free run; the header switches only once they are on disk.
     */
    private void growTable(long ti) throws BlockException {
        writeDeferred();
        long entriesPerCluster = clusterSize / 8;
        long wanted = Math.max(ti + 1, table.length + (table.length >> 1));
        long tableClusters = (wanted + entriesPerCluster - 1) / entriesPerCluster;
        if (tableClusters * clusterSize > Qcow2Header.MAX_REFTABLE_BYTES) {
            throw new BlockException("qcow2: refcount table would exceed the maximum size");
        }
        long extra = 0;
        long start;
        while (true) {
            start = findFree(tableClusters + extra);
            long end = start + tableClusters + extra;
            long missing = 0;
            for (long t = start >>> blockBits; t <= (end - 1) >>> blockBits; t++) {
                if (!blockExists(t)) {
                    missing++;
                }
            }
            long needEntries = ((end - 1) >>> blockBits) + 1;
            long needClusters = Math.max(tableClusters, (needEntries + entriesPerCluster - 1) / entriesPerCluster);
            if (missing == extra && needClusters == tableClusters) {
                break;
            }
            extra = missing;
            tableClusters = needClusters;
        }
        long end = start + tableClusters + extra;
        long[] newTable = java.util.Arrays.copyOf(table, (int) (tableClusters * entriesPerCluster));
        Map<Long, byte[]> newBlocks = new LinkedHashMap<>();
        long nextBlock = start + tableClusters;
        for (long t = start >>> blockBits; t <= (end - 1) >>> blockBits; t++) {
            if (!blockExists(t)) {
                newTable[(int) t] = nextBlock << clusterBits;
                newBlocks.put(t, new byte[(int) clusterSize]);
                nextBlock++;
            }
        }
        for (long c = start; c < end; c++) {
            byte[] nb = newBlocks.get(c >>> blockBits);
            if (nb != null) {
                setEntry(nb, (int) (c & ((1L << blockBits) - 1)), 1);
            } else {
                update(c, 1, 1, false);
            }
        }
        for (Map.Entry<Long, byte[]> e : newBlocks.entrySet()) {
            long off = newTable[(int) (long) e.getKey()];
            metadata.checkFree(off, clusterSize);
            metadata.add(off, clusterSize);
            file.write(off, e.getValue());
            synchronized (cache) {
                cache.put(off, e.getValue());
            }
        }
        ByteBuffer tb = ByteBuffer.allocate(newTable.length * 8);
        for (long v : newTable) {
            tb.putLong(v);
        }
        long tableOffset = start << clusterBits;
        metadata.checkFree(tableOffset, tb.capacity());
        metadata.add(tableOffset, tb.capacity());
        file.write(tableOffset, tb.array());
        barrier.sync();
        long oldOffset = header.refcountTableOffset;
        int oldClusters = header.refcountTableClusters;
        ByteBuffer hb = ByteBuffer.allocate(12).putLong(tableOffset).putInt((int) tableClusters);
        file.write(48, hb.array());
        barrier.sync();
        header.refcountTableOffset = tableOffset;
        header.refcountTableClusters = (int) tableClusters;
        table = newTable;
        metadata.remove(oldOffset, (long) oldClusters << clusterBits);
        free(oldOffset, (long) oldClusters << clusterBits);
    }

    /** Sets refcount 1 for the first n clusters in a fresh refcount block (image creation). */
    static void setInitial(byte[] block, int order, int n) {
        int bits = 1 << order;
        for (int i = 0; i < n; i++) {
            long bit = (long) i * bits;
            int lastByte = (int) ((bit + bits - 1) >>> 3);
            if (bits >= 8) {
                block[lastByte] = 1; // big-endian: the value 1 sits in the entry's last byte
            } else {
                block[(int) (bit >>> 3)] |= (byte) (1 << (bit & 7));
            }
        }
    }

    static byte[] longBytes(long v) {
        return ByteBuffer.allocate(8).putLong(v).array();
    }
}
