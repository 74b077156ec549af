package org.jqemu.block.qcow2;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.jqemu.block.BlockException;
import org.jqemu.block.HostFile;
import org.jqemu.block.OpenOptions;

/**
 * Creates qcow2 images the way qemu-img create lays them out: header in cluster 0, refcount table in
 * cluster 1, its first refcount block in cluster 2, then the L1 table (grown by the normal allocator).
 */
public final class Qcow2Create {
    /** Validated creation parameters. */
    public record Options(long size, int version, int clusterBits, int refcountOrder, boolean lazyRefcounts,
                          String backingFile, String backingFormat, String preallocation,
                          int compressionType, boolean extendedL2) { }

    private Qcow2Create() { }

    /** A qcow2 image with qemu-img create's defaults (version 3, 64 KiB clusters) over a backing file. */
    public static void createOverlay(Path path, String backingFile, String backingFormat, long size)
            throws BlockException {
        create(path, new Options(size, 3, 16, 4, false, backingFile, backingFormat, "off",
                Qcow2Header.COMPRESSION_ZLIB, false));
    }

    /** Creates the image and makes it durable (fdatasync) before returning, as qemu-img create does. */
    public static void create(Path path, Options o) throws BlockException {
        create(path, o, true);
    }

    /**
     * Creates the image; durable: flushed to the disk before returning. A caller that fills the image and
     * flushes it at the end anyway (convert; or not at all, with its default cache=unsafe) passes false and
     * saves the wait for the file system's journal (block/README.md, session 7).
     */
    public static void create(Path path, Options o, boolean durable) throws BlockException {
        long cs = 1L << o.clusterBits();
        Qcow2Header h = new Qcow2Header();
        h.version = o.version();
        h.clusterBits = o.clusterBits();
        h.refcountOrder = o.refcountOrder();
        h.compatible = o.lazyRefcounts() ? Qcow2Header.COMPAT_LAZY_REFCOUNTS : 0;
        h.compressionType = o.compressionType();
        h.incompatible = (o.compressionType() != Qcow2Header.COMPRESSION_ZLIB ? Qcow2Header.INCOMPAT_COMPRESSION : 0)
                | (o.extendedL2() ? Qcow2Header.INCOMPAT_EXTL2 : 0);
        h.refcountTableOffset = cs;
        h.refcountTableClusters = 1;
        h.backingFile = o.backingFile();
        h.backingFormat = o.backingFile() != null ? o.backingFormat() : null;
        h.headerLength = o.version() >= 3 ? Qcow2Header.V3_LENGTH : Qcow2Header.V2_LENGTH;
        byte[] headerBytes = h.toBytes();
        try (HostFile f = HostFile.create(path)) {
            // Whole clusters for header and refcount table, as qemu-img writes them (same disk usage).
            f.write(0, java.util.Arrays.copyOf(headerBytes, (int) cs));
            f.write(cs, ByteBuffer.allocate((int) cs).putLong(0, 2 * cs).array());
            byte[] block = new byte[(int) cs];
            Refcounts.setInitial(block, o.refcountOrder(), 3);
            f.write(2 * cs, block);
            f.truncate(3 * cs);
        }
        try (HostFile f = HostFile.open(path, true);
             Qcow2Device d = Qcow2Device.open(f, path.toString(), new OpenOptions(false, true, true, false, false, false), null)) {
            d.resize(o.size());
            switch (o.preallocation()) {
                case "off" -> { }
                case "metadata", "falloc", "full" -> {
                    long[] data = d.preallocateMetadata(!o.preallocation().equals("metadata"));
                    f.truncate(Math.max(f.length(), data[1]));
                    if (!o.preallocation().equals("metadata")) {
                        fillData(f, data[0], data[1], o.preallocation().equals("full"));
                    }
                }
                default -> throw new BlockException("Unsupported preallocation mode '" + o.preallocation() + "'");
            }
            d.flush();
            if (durable) {
                f.flush();
            }
        }
    }

    /** Fills the holes of [start, end): zeros for "full", fallocate for "falloc" (zeros if unsupported). */
    private static void fillData(HostFile f, long start, long end, boolean writeZeros) throws BlockException {
        if (!writeZeros && f.allocate(start, end - start)) {
            return;
        }
        byte[] zeros = new byte[1 << 20];
        long p = start;
        while (p < end) {
            if (f.isData(p)) {
                long hole = f.nextChange(p, true);
                p = hole < 0 ? end : hole;
                continue;
            }
            long data = f.nextChange(p, false);
            long holeEnd = data < 0 || data > end ? end : data;
            for (long q = p; q < holeEnd; q += zeros.length) {
                f.write(q, zeros, 0, (int) Math.min(zeros.length, holeEnd - q));
            }
            p = holeEnd;
        }
    }
}
