package org.jqemu.block.qcow2;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import org.jqemu.block.BlockException;

/**
 * Consistency check of a qcow2 image (qemu-img check): recounts every reference from the header,
 * L1/L2 tables, snapshots and refcount structures, compares with the stored refcounts and the
 * COPIED flags, and optionally repairs leaks (-r leaks) or also errors (-r all).
 */
public final class Qcow2Check {
    public enum Repair { NONE, LEAKS, ALL }

    /** Counters as qemu-img check reports them. */
    public static final class Result {
        public int corruptions;
        public int leaks;
        public int checkErrors;
        public int corruptionsFixed;
        public int leaksFixed;
        public long imageEndOffset;
        public long totalClusters;
        public long allocatedClusters;
        public long fragmentedClusters;
        public long compressedClusters;
    }

    private final Qcow2Device d;
    private final PrintStream err;
    private final long clusterSize;
    private final int clusterBits;
    private final long fileClusters;
    private int[] refs;
    private final Result result = new Result();
    private long nextContiguous;

    private Qcow2Check(Qcow2Device d, PrintStream err) throws BlockException {
        this.d = d;
        this.err = err;
        this.clusterSize = d.clusterSize();
        this.clusterBits = d.clusterBits();
        this.fileClusters = (d.file().length() + clusterSize - 1) >>> clusterBits;
        this.refs = new int[(int) Math.min(Integer.MAX_VALUE - 8, Math.max(fileClusters, 1))];
    }

    /** Checks (and repairs) the image; messages about individual problems go to err (may be null). */
    public static Result run(Qcow2Device d, Repair repair, PrintStream err) throws BlockException {
        d.lockForMetadata();
        try {
            Qcow2Check c = new Qcow2Check(d, err);
            boolean rewriteSnapshots = c.checkSnapshotEntries(repair);
            c.countAll();
            c.compare(repair);
            if (rewriteSnapshots) {
                Qcow2Snapshots.rewriteTable(d);
            }
            return c.result;
        } finally {
            d.lock().writeLock().unlock();
        }
    }

    /**
     * Entries of the snapshot table that QEMU's check reports: extra data beyond the maximum (unless
     * repairing everything, the table cannot be read: {@link Qcow2Snapshots.TooMuchExtraData}), and in
     * version 3 images extra data too short to hold the 64-bit VM state size and the disk size. True if
     * the table is to be rewritten (-r all).
     */
    private boolean checkSnapshotEntries(Repair repair) throws BlockException {
        Qcow2Header h = d.header();
        boolean fix = repair == Repair.ALL;
        Qcow2Snapshots.list(d, fix);
        boolean rewrite = false;
        long pos = h.snapshotsOffset;
        for (int s = 0; s < h.nbSnapshots; s++) {
            ByteBuffer b = ByteBuffer.wrap(d.file().read(pos, 40));
            long extra = Integer.toUnsignedLong(b.getInt(36));
            pos += (40 + extra + (b.getShort(12) & 0xffff) + (b.getShort(14) & 0xffff) + 7) & ~7L;
            if (extra > Qcow2Snapshots.MAX_EXTRA) {
                say("Discarding too much extra metadata in snapshot table entry " + s + " (" + extra + " > "
                        + Qcow2Snapshots.MAX_EXTRA + ")");
            } else if (h.version >= 3 && extra < Qcow2Snapshots.MIN_EXTRA_V3) {
                say((fix ? "Repairing" : "ERROR") + " snapshot table entry " + s + " is incomplete");
            } else {
                continue;
            }
            if (fix) {
                result.corruptionsFixed++;
                rewrite = true;
            } else {
                result.corruptions++;
            }
        }
        return rewrite;
    }

    private void say(String s) {
        if (err != null) {
            err.println(s);
        }
    }

    /** Adds one reference to every cluster touched by [offset, offset+bytes). */
    private void reference(long offset, long bytes) {
        if (bytes <= 0) {
            return;
        }
        long first = offset >>> clusterBits;
        long last = (offset + bytes - 1) >>> clusterBits;
        if (last >= fileClusters) {
            say("ERROR: counting reference for region exceeding the end of the file by one cluster or more: offset 0x"
                    + Long.toHexString(offset) + " size 0x" + Long.toHexString(bytes));
            result.corruptions++;
            return;
        }
        for (long c = first; c <= last; c++) {
            refs[(int) c]++;
        }
    }

    private void countAll() throws BlockException {
        Qcow2Header h = d.header();
        reference(0, clusterSize);
        result.totalClusters = (d.size() + clusterSize - 1) >>> clusterBits;
        countL1(d.l1(), h.l1TableOffset, true);
        countSnapshots(h);
        reference(h.refcountTableOffset, (long) h.refcountTableClusters << clusterBits);
        long[] table = d.refcounts().table();
        for (int i = 0; i < table.length; i++) {
            long off = table[i] & Qcow2Header.OFFSET_MASK;
            if (off == 0) {
                continue;
            }
            if ((off & (clusterSize - 1)) != 0 || (table[i] & 0x1ff) != 0) {
                say("ERROR refcount block " + i + " is not cluster aligned; refcount table entry corrupted");
                result.corruptions++;
                continue;
            }
            if ((off >>> clusterBits) >= fileClusters) {
                say("ERROR refcount block " + i + " is outside image");
                result.corruptions++;
                continue;
            }
            reference(off, clusterSize);
        }
    }

    private void countL1(long[] l1, long l1Offset, boolean active) throws BlockException {
        if (l1.length > 0) {
            reference(l1Offset, l1.length * 8L);
        }
        for (int i = 0; i < l1.length; i++) {
            long l2Offset = l1[i] & Qcow2Header.OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            if ((l2Offset & (clusterSize - 1)) != 0) {
                say("ERROR l2_offset=" + Long.toHexString(l2Offset)
                        + ": Table is not cluster aligned; L1 entry corrupted");
                result.corruptions++;
                continue;
            }
            reference(l2Offset, clusterSize);
            if ((l2Offset >>> clusterBits) >= fileClusters) {
                continue;
            }
            long[] l2 = d.readL2Descriptors(l2Offset);
            nextContiguous = 0; // fragmentation is counted within each L2 table
            for (int j = 0; j < l2.length; j++) {
                countL2Entry(l2[j], active);
            }
        }
    }

    private void countL2Entry(long e, boolean active) {
        switch (d.kind(e)) {
            case COMPRESSED -> {
                long[] r = d.compressedRange(e);
                reference(r[0], r[1] - r[0]);
                if (active) {
                    result.allocatedClusters++;
                    result.compressedClusters++;
                    result.fragmentedClusters++;
                }
            }
            case NORMAL, ZERO_ALLOC -> {
                long off = e & Qcow2Header.OFFSET_MASK;
                if ((off & (clusterSize - 1)) != 0) {
                    say("ERROR offset=" + Long.toHexString(off)
                            + ": Cluster is not properly aligned; L2 entry corrupted.");
                    result.corruptions++;
                    return;
                }
                if (active) {
                    result.allocatedClusters++;
                    if (nextContiguous != 0 && off != nextContiguous) {
                        result.fragmentedClusters++;
                    }
                    nextContiguous = off + clusterSize;
                }
                reference(off, clusterSize);
            }
            default -> { }
        }
    }

    private long[] readTable(long offset, int entries) throws BlockException {
        return Qcow2Device.words(d.file().read(offset, entries * 8));
    }

    private void countSnapshots(Qcow2Header h) throws BlockException {
        if (h.nbSnapshots == 0) {
            return;
        }
        long pos = h.snapshotsOffset;
        for (int s = 0; s < h.nbSnapshots; s++) {
            ByteBuffer b = ByteBuffer.wrap(d.file().read(pos, 40));
            long l1Offset = b.getLong(0);
            int l1Size = b.getInt(8);
            int idLen = b.getShort(12) & 0xffff;
            int nameLen = b.getShort(14) & 0xffff;
            long extra = Integer.toUnsignedLong(b.getInt(36));
            long len = 40 + extra + idLen + nameLen;
            pos += (len + 7) & ~7L;
            if ((l1Offset & (clusterSize - 1)) != 0 || Integer.toUnsignedLong(l1Size) * 8 > Qcow2Header.MAX_L1_BYTES) {
                say("ERROR snapshot " + s + " has an invalid L1 table");
                result.corruptions++;
                continue;
            }
            countL1(readTable(l1Offset, l1Size), l1Offset, false);
        }
        reference(h.snapshotsOffset, pos - h.snapshotsOffset);
    }

    private void compare(Repair repair) throws BlockException {
        Refcounts rc = d.refcounts();
        if (repair != Repair.NONE) {
            rc.reserve(c -> c < refs.length && refs[(int) c] > 0);
        }
        try {
            if (repair == Repair.ALL && createMissingBlocks(rc)) {
                // The new refcount blocks are metadata too: count everything again.
                refs = new int[refs.length];
                int corruptions = result.corruptions;
                result.allocatedClusters = 0;
                result.fragmentedClusters = 0;
                result.compressedClusters = 0;
                countAll();
                result.corruptions = corruptions;
                rc.reserve(c -> c < refs.length && refs[(int) c] > 0);
            }
            compareRefcounts(repair, rc);
        } finally {
            rc.reserve(c -> false);
        }
    }

    /** Gives every referenced cluster a refcount block (allocating only clusters nobody references). */
    private boolean createMissingBlocks(Refcounts rc) throws BlockException {
        boolean created = false;
        long step = 1L << rc.blockBits();
        for (long first = 0; first < fileClusters; first += step) {
            for (long c = first; c < Math.min(fileClusters, first + step); c++) {
                if (refs[(int) c] > 0) {
                    created |= rc.ensureBlock(c);
                    break;
                }
            }
        }
        return created;
    }

    private void compareRefcounts(Repair repair, Refcounts rc) throws BlockException {
        long highest = -1;
        long limit = fileClusters;
        for (long i = 0; i < limit; i++) {
            long computed = refs[(int) i];
            if (computed > 0) {
                highest = i;
            }
            long stored = rc.get(i);
            if (stored == computed) {
                continue;
            }
            boolean leak = stored > computed;
            boolean fix = repair == Repair.ALL || (repair == Repair.LEAKS && leak);
            String what = fix ? "Repairing" : leak ? "Leaked" : "ERROR";
            say(what + " cluster " + i + " refcount=" + stored + " reference=" + computed);
            if (fix && Long.compareUnsigned(computed, rc.maxRefcount()) <= 0) {
                rc.set(i, computed);
                if (leak) {
                    result.leaksFixed++;
                } else {
                    result.corruptionsFixed++;
                }
            } else if (leak) {
                result.leaks++;
            } else {
                result.corruptions++;
            }
        }
        result.imageEndOffset = (highest + 1) << clusterBits;
        checkCopiedFlags(repair);
    }

    /** The COPIED flag must be set exactly when the refcount is 1 (active L1/L2 only). */
    private void checkCopiedFlags(Repair repair) throws BlockException {
        Refcounts rc = d.refcounts();
        long[] l1 = d.l1();
        for (int i = 0; i < l1.length; i++) {
            long l2Offset = l1[i] & Qcow2Header.OFFSET_MASK;
            if (l2Offset == 0 || (l2Offset & (clusterSize - 1)) != 0 || (l2Offset >>> clusterBits) >= fileClusters) {
                continue;
            }
            boolean fix = repair == Repair.ALL;
            long refcount = rc.get(l2Offset >>> clusterBits);
            if (((l1[i] & Qcow2Device.COPIED) != 0) != (refcount == 1)) {
                say((fix ? "Repairing" : "ERROR") + " OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry="
                        + Long.toHexString(l1[i]) + " refcount=" + refcount);
                if (fix) {
                    l1[i] ^= Qcow2Device.COPIED;
                    d.file().write(d.header().l1TableOffset + i * 8L, Refcounts.longBytes(l1[i]));
                    result.corruptionsFixed++;
                } else {
                    result.corruptions++;
                }
            }
            long[] l2 = d.readL2Descriptors(l2Offset).clone();
            boolean l2Changed = false;
            for (int j = 0; j < l2.length; j++) {
                long e = l2[j];
                Qcow2Device.Kind k = d.kind(e);
                if (k != Qcow2Device.Kind.NORMAL && k != Qcow2Device.Kind.ZERO_ALLOC) {
                    continue;
                }
                long off = e & Qcow2Header.OFFSET_MASK;
                if ((off & (clusterSize - 1)) != 0 || (off >>> clusterBits) >= fileClusters) {
                    continue;
                }
                long r = rc.get(off >>> clusterBits);
                if (((e & Qcow2Device.COPIED) != 0) != (r == 1)) {
                    say((fix ? "Repairing" : "ERROR") + " OFLAG_COPIED data cluster: l2_entry=" + Long.toHexString(e)
                            + " refcount=" + r);
                    if (fix) {
                        l2[j] ^= Qcow2Device.COPIED;
                        l2Changed = true;
                        result.corruptionsFixed++;
                    } else {
                        result.corruptions++;
                    }
                }
            }
            if (l2Changed) {
                d.writeL2Table(l2Offset, l2);
            }
        }
    }
}
