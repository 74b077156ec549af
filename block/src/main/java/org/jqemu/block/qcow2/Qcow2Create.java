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
                          String backingFile, String backingFormat, String preallocation) { }

    private Qcow2Create() { }

    public static void create(Path path, Options o) throws BlockException {
        long cs = 1L << o.clusterBits();
        Qcow2Header h = new Qcow2Header();
        h.version = o.version();
        h.clusterBits = o.clusterBits();
        h.refcountOrder = o.refcountOrder();
        h.compatible = o.lazyRefcounts() ? Qcow2Header.COMPAT_LAZY_REFCOUNTS : 0;
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
             Qcow2Device d = Qcow2Device.open(f, path.toString(), new OpenOptions(false, true, true), null)) {
            d.resize(o.size());
            switch (o.preallocation()) {
                case "off" -> { }
                case "metadata", "falloc", "full" -> {
                    long end = d.preallocateMetadata();
                    f.truncate(Math.max(f.length(), end));
                    if (!o.preallocation().equals("metadata")) {
                        fillData(f, d, o.preallocation().equals("full"));
                    }
                }
                default -> throw new BlockException("Unsupported preallocation mode '" + o.preallocation() + "'");
            }
            d.flush();
            f.flush();
        }
    }

    /** Fills the holes of the file: zeros for "full", fallocate for "falloc" (zeros if unsupported). */
    private static void fillData(HostFile f, Qcow2Device d, boolean writeZeros) throws BlockException {
        long len = f.length();
        if (!writeZeros && f.allocate(0, len)) {
            return;
        }
        byte[] zeros = new byte[1 << 20];
        long p = 0;
        while (p < len) {
            if (f.isData(p)) {
                long hole = f.nextChange(p, true);
                p = hole < 0 ? len : hole;
                continue;
            }
            long data = f.nextChange(p, false);
            long end = data < 0 ? len : data;
            for (long q = p; q < end; q += zeros.length) {
                f.write(q, zeros, 0, (int) Math.min(zeros.length, end - q));
            }
            p = end;
        }
    }
}
