package org.jqemu.block.img;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;

/**
 * qemu-img measure: the file size a new image would need. For qcow2: the data clusters (allocated
 * extents of the source, rounded to the cluster size) plus metadata for the whole virtual size:
 * header, L2 tables, L1 table, and refcount blocks/table sized for a fully allocated image.
 */
final class MeasureCommand {
    private MeasureCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hf:O:o:l:U", "output:output:1", "size:size:1", "object:object:1",
                "image-opts:image-opts:0", "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        String outFmt = "raw";
        String output = "human";
        long size = -1;
        Map<String, String> opts = new LinkedHashMap<>();
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "O" -> outFmt = o.arg();
                case "o" -> opts.putAll(OptionList.parse(o.arg()));
                case "output" -> output = o.arg();
                case "size" -> {
                    size = Sizes.parse(o.arg(), 'B');
                    if (size < 0) {
                        throw new UsageError("Invalid image size specified. You may use k, M, G, T, P or E suffixes for\n"
                                + "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                    }
                }
                default -> { }
            }
        }
        if (!output.equals("human") && !output.equals("json")) {
            throw new UsageError("--output must be used with human or json as argument.");
        }
        if (size >= 0 && !g.operands.isEmpty()) {
            throw new UsageError("--size N cannot be used together with a filename.");
        }
        if (size < 0 && g.operands.size() != 1) {
            throw new UsageError("Either --size N or one filename must be specified.");
        }
        if (!Images.isKnownFormat(outFmt)) {
            throw new UsageError("Unknown file format '" + outFmt + "'");
        }
        ImageCreator.checkKeys("measure", outFmt, opts);
        long clusterSize = opts.containsKey("cluster_size")
                ? ImageCreator.sizeOption("measure", "cluster_size", opts.get("cluster_size")) : 65536;
        int refcountBits = opts.containsKey("refcount_bits") ? Integer.parseInt(opts.get("refcount_bits")) : 16;
        long dataBytes;
        boolean bitmaps = false;
        if (size < 0) {
            try (BlockDevice d = Images.open(g.operands.get(0), fmt, (OpenOptions.READ_ONLY).withForceShare(g.has("U")))) {
                bitmaps = d.format().equals("qcow2") && outFmt.equals("qcow2"); // sources that can hold bitmaps
                size = d.size();
                dataBytes = allocatedData(d, clusterSize);
            }
        } else {
            dataBytes = 0;
        }
        long required;
        long full;
        if (outFmt.equals("raw")) {
            required = size;
            full = size;
        } else {
            long meta = qcow2Metadata(size, clusterSize, refcountBits);
            long aligned = (size + clusterSize - 1) / clusterSize * clusterSize;
            required = meta + dataBytes;
            full = meta + aligned;
        }
        if (output.equals("json")) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("required", required);
            m.put("fully-allocated", full);
            if (bitmaps) {
                m.put("bitmaps", 0);
            }
            env.out.println(QJson.pretty(m));
        } else {
            env.out.println("required size: " + required);
            env.out.println("fully allocated size: " + full);
            if (bitmaps) {
                env.out.println("bitmaps size: 0");
            }
        }
        return 0;
    }

    /**
     * Bytes of data the source really has: the target clusters that extents with data touch, each counted
     * once (two extents may share a cluster).
     */
    private static long allocatedData(BlockDevice d, long clusterSize) throws BlockException {
        long total = 0;
        long counted = 0; // end of the clusters already counted
        for (MapCommand.Extent e : MapCommand.extents(d, 0, d.size())) {
            if (e.data()) {
                long start = Math.max(counted, e.start() / clusterSize * clusterSize);
                long end = (e.start() + e.length() + clusterSize - 1) / clusterSize * clusterSize;
                total += Math.max(0, end - start);
                counted = Math.max(counted, end);
            }
        }
        return total;
    }

    /** Metadata bytes of a fully allocated qcow2 image of the given virtual size. */
    static long qcow2Metadata(long size, long clusterSize, int refcountBits) {
        long entriesPerCluster = clusterSize / 8;
        long dataClusters = (size + clusterSize - 1) / clusterSize;
        long l2Entries = roundUp(dataClusters, entriesPerCluster);
        long l1Entries = roundUp(l2Entries / entriesPerCluster, entriesPerCluster);
        long meta = clusterSize + l2Entries * 8 + l1Entries * 8;
        long clusters = (meta + dataClusters * clusterSize) / clusterSize;
        long refcountsPerBlock = clusterSize * 8 / refcountBits;
        // Refcount blocks must also count themselves and the table: iterate to the fixed point.
        long blocks = 0;
        long table = 0;
        while (true) {
            long newBlocks = ceil(clusters + blocks + table, refcountsPerBlock);
            long newTable = ceil(newBlocks, entriesPerCluster);
            if (newBlocks == blocks && newTable == table) {
                break;
            }
            blocks = newBlocks;
            table = newTable;
        }
        return meta + (blocks + table) * clusterSize;
    }

    private static long ceil(long a, long b) {
        return (a + b - 1) / b;
    }

    private static long roundUp(long a, long b) {
        return ceil(a, b) * b;
    }
}
