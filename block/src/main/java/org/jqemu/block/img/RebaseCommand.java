package org.jqemu.block.img;

import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;

/**
 * qemu-img rebase: changes the backing file. Safe mode copies into the image every unallocated range
 * where the old and new backing files differ (so the guest-visible content is unchanged) before the
 * header switches; -u only rewrites the header.
 */
final class RebaseCommand {
    private static final int BUFFER = 1 << 20;

    private RebaseCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hf:F:b:upt:T:qU", "object:object:1", "image-opts:image-opts:0",
                "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        String backing = null;
        String backingFmt = null;
        boolean unsafe = false;
        boolean quiet = false;
        boolean progress = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "b" -> backing = o.arg();
                case "F" -> backingFmt = o.arg();
                case "u" -> unsafe = true;
                case "q" -> quiet = true;
                case "p" -> progress = true;
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        if (backing == null) {
            throw UsageError.withHint("Must specify backing file (-b) or use unsafe mode (-u)");
        }
        String filename = g.operands.get(0);
        OpenOptions oo = unsafe ? OpenOptions.READ_WRITE.withNoBacking() : OpenOptions.READ_WRITE;
        try (BlockDevice d = Images.open(filename, fmt, oo)) {
            if (!(d instanceof Qcow2Device q)) {
                throw new UsageError("Could not change the backing file to '" + backing
                        + "': Operation not supported");
            }
            if (!backing.isEmpty() && backingFmt == null) {
                backingFmt = Images.probe(java.nio.file.Path.of(Images.resolveBacking(filename, backing)));
            }
            if (!unsafe) {
                BlockDevice newBacking = backing.isEmpty() ? null
                        : Images.open(Images.resolveBacking(filename, backing), backingFmt, OpenOptions.READ_ONLY);
                try {
                    copyDifferences(d, newBacking, new ConvertCommand.Progress(env, progress && !quiet, d.size()));
                } finally {
                    if (newBacking != null) {
                        newBacking.close();
                    }
                }
                d.flush();
            }
            q.setBacking(backing, backingFmt);
        }
        return 0;
    }

    private static void copyDifferences(BlockDevice d, BlockDevice newBacking, ConvertCommand.Progress bar)
            throws BlockException {
        BlockDevice oldBacking = d.backing();
        byte[] oldData = new byte[BUFFER];
        byte[] newData = new byte[BUFFER];
        for (MapCommand.Extent e : MapCommand.extents(d, 0, d.size())) {
            if (e.depth() == 0 && e.present()) {
                continue;
            }
            for (long pos = e.start(); pos < e.start() + e.length(); pos += BUFFER) {
                int n = (int) Math.min(BUFFER, e.start() + e.length() - pos);
                read(oldBacking, pos, oldData, n);
                read(newBacking, pos, newData, n);
                int from = 0;
                while (from < n) {
                    int diff = java.util.Arrays.mismatch(oldData, from, n, newData, from, n);
                    if (diff < 0) {
                        break;
                    }
                    int start = from + diff & -512;
                    int end = Math.min(n, start + 65536);
                    d.write(pos + start, oldData, start, end - start);
                    from = end;
                }
                bar.update(pos + n);
            }
        }
        bar.done();
    }

    /** Reads from a backing file; zeros where it is absent or too short. */
    private static void read(BlockDevice b, long pos, byte[] buf, int n) throws BlockException {
        java.util.Arrays.fill(buf, 0, n, (byte) 0);
        if (b != null && pos < b.size()) {
            b.read(pos, buf, 0, (int) Math.min(n, b.size() - pos));
        }
    }
}
