package org.jqemu.block.qcow2;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.jqemu.block.BlockException;

/**
 * Internal snapshots (qemu-img snapshot): the snapshot table, and create/apply/delete.
 *
 * <p>Reference model (as qemu-img check counts): every path from an L1 table counts, so a data
 * cluster reachable from the active L1 and from one snapshot through a shared L2 table has refcount 2.
 *
 * <p>Ordering: refcounts are raised before new references exist and lowered after the old ones are
 * gone; the header switches to a new snapshot table only when it is complete. An interruption leaves
 * leaks at worst.
 */
public final class Qcow2Snapshots {
    /** One snapshot table entry. */
    public record Snapshot(long l1Offset, int l1Size, String id, String name, long dateSec, long dateNsec,
                           long vmClockNsec, long vmStateSize, long diskSize, long icount) { }

    private static final int FIXED = 40;
    static final int MAX_EXTRA = 1024;
    /** Version 3 entries must hold at least the 64-bit VM state size and the disk size. */
    static final int MIN_EXTRA_V3 = 16;

    private Qcow2Snapshots() { }

    /** Too much extra data in a snapshot table entry: check -r all discards it. */
    public static final class TooMuchExtraData extends BlockException {
        TooMuchExtraData(int entry) {
            super("Too much extra metadata in snapshot table entry " + entry
                    + "\nYou can force-remove this extra metadata with jqemu-img check -r all");
        }
    }

    /** Reads and validates the snapshot table. */
    public static List<Snapshot> list(Qcow2Device d) throws BlockException {
        return list(d, false);
    }

    /**
     * Reads and validates the snapshot table; with discardExtra, an entry with more extra data than the
     * maximum is read (its known fields) instead of refused, as QEMU does when check repairs.
     */
    static List<Snapshot> list(Qcow2Device d, boolean discardExtra) throws BlockException {
        Qcow2Header h = d.header();
        List<Snapshot> out = new ArrayList<>();
        long pos = h.snapshotsOffset;
        long fileLength = d.file().length();
        for (int i = 0; i < h.nbSnapshots; i++) {
            if (pos + FIXED > fileLength) {
                throw corrupt("snapshot table extends beyond the end of the file");
            }
            ByteBuffer b = ByteBuffer.wrap(d.file().read(pos, FIXED));
            long l1Offset = b.getLong(0);
            int l1Size = b.getInt(8);
            int idLen = b.getShort(12) & 0xffff;
            int nameLen = b.getShort(14) & 0xffff;
            long extraLen = Integer.toUnsignedLong(b.getInt(36));
            boolean extraDiscarded = extraLen > MAX_EXTRA;
            if (extraDiscarded && !discardExtra) {
                throw new TooMuchExtraData(i);
            }
            if ((l1Offset & (d.clusterSize() - 1)) != 0 || Integer.toUnsignedLong(l1Size) * 8 > Qcow2Header.MAX_L1_BYTES) {
                throw corrupt("snapshot L1 table invalid");
            }
            long total = FIXED + extraLen + idLen + nameLen;
            if (pos + total > fileLength) {
                throw corrupt("snapshot table extends beyond the end of the file");
            }
            long usable = Math.min(extraLen, 24); // the fields we know
            ByteBuffer extra = ByteBuffer.wrap(Arrays.copyOf(d.file().read(pos + FIXED, (int) usable), 24));
            byte[] strings = d.file().read(pos + FIXED + extraLen, idLen + nameLen);
            long vmState = usable >= 8 ? extra.getLong(0) : Integer.toUnsignedLong(b.getInt(32));
            long diskSize = usable >= 16 ? extra.getLong(8) : d.size();
            long icount = usable >= 24 ? extra.getLong(16) : -1;
            out.add(new Snapshot(l1Offset, l1Size, new String(strings, 0, idLen, StandardCharsets.UTF_8),
                    new String(strings, idLen, nameLen, StandardCharsets.UTF_8),
                    Integer.toUnsignedLong(b.getInt(16)), Integer.toUnsignedLong(b.getInt(20)), b.getLong(24),
                    vmState, diskSize, icount));
            pos += (total + 7) & ~7L;
        }
        return out;
    }

    private static BlockException corrupt(String what) {
        return new BlockException.Corrupt("qcow2: Image is corrupt: " + what);
    }

    public static Snapshot find(List<Snapshot> all, String idOrName) {
        for (Snapshot s : all) {
            if (s.id().equals(idOrName)) {
                return s;
            }
        }
        for (Snapshot s : all) {
            if (s.name().equals(idOrName)) {
                return s;
            }
        }
        return null;
    }

    /**
     * Switches a read-only image to the contents of a snapshot in memory only (qemu-img convert -l).
     * id and name may each be null; a given one must match.
     */
    public static void loadReadOnly(Qcow2Device d, String id, String name) throws BlockException {
        Snapshot found = null;
        for (Snapshot s : list(d)) {
            if ((id == null || s.id().equals(id)) && (name == null || s.name().equals(name))) {
                found = s;
                break;
            }
        }
        if (found == null) {
            throw new BlockException("Failed to load snapshot: Can't find snapshot");
        }
        d.viewSnapshot(readL1(d, found), found.diskSize());
    }

    public static void create(Qcow2Device d, String name) throws BlockException {
        d.lockForMetadata();
        try {
            List<Snapshot> all = list(d);
            if (find(all, name) != null) {
                throw new BlockException("Could not create snapshot '" + name + "': snapshot with the same name exists");
            }
            long nextId = 1;
            for (Snapshot s : all) {
                try {
                    nextId = Math.max(nextId, Long.parseLong(s.id()) + 1);
                } catch (NumberFormatException e) {
                    // non-numeric ids do not take part in numbering
                }
            }
            long[] active = d.l1().clone();
            adjustReferences(d, active, 1, true);
            long[] copy = active.clone();
            for (int i = 0; i < copy.length; i++) {
                copy[i] &= ~Qcow2Device.COPIED;
            }
            long l1Offset = writeTable(d, copy);
            long now = System.currentTimeMillis();
            all.add(new Snapshot(l1Offset, copy.length, String.valueOf(nextId), name, now / 1000,
                    (now % 1000) * 1_000_000, 0, 0, d.size(), 0));
            writeSnapshotTable(d, all);
        } finally {
            d.lock().writeLock().unlock();
        }
    }

    public static void delete(Qcow2Device d, String idOrName) throws BlockException {
        d.lockForMetadata();
        try {
            List<Snapshot> all = list(d);
            Snapshot s = find(all, idOrName);
            if (s == null) {
                throw new BlockException("Could not delete snapshot '" + idOrName + "': snapshot not found");
            }
            all.remove(s);
            writeSnapshotTable(d, all);
            long[] l1 = readL1(d, s);
            adjustReferences(d, l1, -1, false);
            if (s.l1Size() > 0) {
                d.refcounts().free(s.l1Offset(), s.l1Size() * 8L);
            }
            fixCopiedFlags(d);
        } finally {
            d.lock().writeLock().unlock();
        }
    }

    public static void apply(Qcow2Device d, String idOrName) throws BlockException {
        d.lockForMetadata();
        try {
            Snapshot s = find(list(d), idOrName);
            if (s == null) {
                throw new BlockException("Could not apply snapshot '" + idOrName
                        + "': Failed to load snapshot: No such file or directory");
            }
            long[] target = readL1(d, s);
            adjustReferences(d, target, 1, false);
            long[] old = d.l1().clone();
            d.setActiveL1(target, s.diskSize());
            adjustReferences(d, old, -1, false);
            fixCopiedFlags(d);
        } finally {
            d.lock().writeLock().unlock();
        }
    }

    private static long[] readL1(Qcow2Device d, Snapshot s) throws BlockException {
        return Qcow2Device.words(d.file().read(s.l1Offset(), s.l1Size() * 8));
    }

    /**
     * Adds delta to the refcount of every L2 table of the L1 table and of every cluster those tables
     * reference. With clearCopied, COPIED flags in the (active) tables are cleared as they become shared.
     */
    private static void adjustReferences(Qcow2Device d, long[] l1, int delta, boolean clearCopied)
            throws BlockException {
        long cs = d.clusterSize();
        for (int i = 0; i < l1.length; i++) {
            long l2Offset = l1[i] & Qcow2Header.OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            long[] l2 = d.loadL2(l1[i], i).clone();
            for (int j = 0; j < l2.length; j++) {
                switch (d.kind(l2[j])) {
                    case NORMAL, ZERO_ALLOC -> d.refcounts().updateBytes(l2[j] & Qcow2Header.OFFSET_MASK, cs, delta);
                    case COMPRESSED -> {
                        long[] r = d.compressedRange(l2[j]);
                        d.refcounts().updateBytes(r[0], r[1] - r[0], delta);
                    }
                    default -> { }
                }
                l2[j] &= clearCopied ? ~Qcow2Device.COPIED : -1L;
            }
            if (clearCopied) {
                d.writeL2Table(l2Offset, l2);
            }
            d.refcounts().updateBytes(l2Offset, cs, delta);
            if (clearCopied) {
                d.l1()[i] &= ~Qcow2Device.COPIED;
                d.file().write(d.header().l1TableOffset + i * 8L, Refcounts.longBytes(d.l1()[i]));
            }
        }
    }

    /** Sets COPIED exactly where the refcount is 1, in the active L1 and L2 tables. */
    private static void fixCopiedFlags(Qcow2Device d) throws BlockException {
        long[] l1 = d.l1();
        int bits = d.clusterBits();
        for (int i = 0; i < l1.length; i++) {
            long l2Offset = l1[i] & Qcow2Header.OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            long[] l2 = d.loadL2(l1[i], i).clone();
            boolean changed = false;
            for (int j = 0; j < l2.length; j++) {
                Qcow2Device.Kind k = d.kind(l2[j]);
                if (k != Qcow2Device.Kind.NORMAL && k != Qcow2Device.Kind.ZERO_ALLOC) {
                    continue;
                }
                boolean exclusive = d.refcounts().get((l2[j] & Qcow2Header.OFFSET_MASK) >>> bits) == 1;
                long fixed = exclusive ? l2[j] | Qcow2Device.COPIED : l2[j] & ~Qcow2Device.COPIED;
                changed |= fixed != l2[j];
                l2[j] = fixed;
            }
            if (changed) {
                d.writeL2Table(l2Offset, l2);
            }
            boolean exclusive = d.refcounts().get(l2Offset >>> bits) == 1;
            long fixed = exclusive ? l1[i] | Qcow2Device.COPIED : l1[i] & ~Qcow2Device.COPIED;
            if (fixed != l1[i]) {
                l1[i] = fixed;
                d.file().write(d.header().l1TableOffset + i * 8L, Refcounts.longBytes(fixed));
            }
        }
    }

    /** Writes a copy of an L1 table to newly allocated clusters and returns its offset. */
    private static long writeTable(Qcow2Device d, long[] table) throws BlockException {
        if (table.length == 0) {
            return 0;
        }
        long bytes = table.length * 8L;
        long offset = d.refcounts().allocate((bytes + d.clusterSize() - 1) >>> d.clusterBits());
        d.metadata().checkFree(offset, bytes);
        ByteBuffer b = ByteBuffer.allocate((int) bytes);
        for (long e : table) {
            b.putLong(e);
        }
        d.file().write(offset, b.array());
        return offset;
    }

    /**
     * Rewrites the snapshot table with complete extra data, dropping extra data beyond the maximum
     * (check -r all). Write lock held.
     */
    static void rewriteTable(Qcow2Device d) throws BlockException {
        writeSnapshotTable(d, list(d, true));
    }

    /** Writes a new snapshot table, switches the header to it, then frees the old one. */
    private static void writeSnapshotTable(Qcow2Device d, List<Snapshot> all) throws BlockException {
        Qcow2Header h = d.header();
        ByteBuffer b = ByteBuffer.allocate(all.size() * (FIXED + 24 + 2 * 65536 + 8));
        for (Snapshot s : all) {
            byte[] id = s.id().getBytes(StandardCharsets.UTF_8);
            byte[] name = s.name().getBytes(StandardCharsets.UTF_8);
            int start = b.position();
            b.putLong(s.l1Offset()).putInt(s.l1Size()).putShort((short) id.length).putShort((short) name.length)
                    .putInt((int) s.dateSec()).putInt((int) s.dateNsec()).putLong(s.vmClockNsec())
                    .putInt((int) Math.min(s.vmStateSize(), 0xffffffffL)).putInt(24)
                    .putLong(s.vmStateSize()).putLong(s.diskSize()).putLong(s.icount())
                    .put(id).put(name);
            int len = b.position() - start;
            b.put(new byte[((len + 7) & ~7) - len]);
        }
        int length = b.position();
        long offset = 0;
        if (length > 0) {
            offset = d.refcounts().allocate((length + d.clusterSize() - 1) >>> d.clusterBits());
            d.metadata().checkFree(offset, length);
            d.file().write(offset, Arrays.copyOf(b.array(), length));
        }
        d.barrier();
        long oldOffset = h.snapshotsOffset;
        long oldLength = tableLength(d);
        d.file().write(60, ByteBuffer.allocate(12).putInt(all.size()).putLong(offset).array());
        d.barrier();
        h.nbSnapshots = all.size();
        h.snapshotsOffset = offset;
        if (oldLength > 0) {
            d.refcounts().free(oldOffset, oldLength);
        }
    }

    /** Bytes of the current snapshot table. */
    private static long tableLength(Qcow2Device d) throws BlockException {
        Qcow2Header h = d.header();
        long pos = h.snapshotsOffset;
        for (int i = 0; i < h.nbSnapshots; i++) {
            ByteBuffer b = ByteBuffer.wrap(d.file().read(pos, FIXED));
            long total = FIXED + Integer.toUnsignedLong(b.getInt(36)) + (b.getShort(12) & 0xffff) + (b.getShort(14) & 0xffff);
            pos += (total + 7) & ~7L;
        }
        return pos - h.snapshotsOffset;
    }
}
