package org.jqemu.block.img;

import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;

/**
 * qemu-img commit: writes every range allocated in the image into its backing file, then (unless
 * -d) empties the image. Order: all data reaches the backing file and is flushed before the image
 * is emptied, so an interruption never loses data.
 */
final class CommitCommand {
    private static final int BUFFER = 1 << 20;

    private CommitCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hf:t:b:dpqr:", "object:object:1", "image-opts:image-opts:0", "help:h:0").parse(args);
        String fmt = null;
        String base = null;
        boolean drop = false;
        boolean quiet = false;
        boolean progress = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "b" -> base = o.arg();
                case "d" -> drop = true;
                case "q" -> quiet = true;
                case "p" -> progress = true;
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        String filename = g.operands.get(0);
        // The backing file is opened once, writable, as the target (not also read-only under top,
        // which would hold a lock against ourselves); only top's own clusters are copied.
        try (BlockDevice top = Images.open(filename, fmt, OpenOptions.READ_WRITE.withNoBacking())) {
            if (!(top instanceof Qcow2Device q) || q.backingFile() == null) {
                throw new UsageError("Image does not have a backing file");
            }
            String backingName = Images.resolveBacking(filename, q.backingFile());
            if (base != null && !base.equals(backingName) && !base.equals(q.backingFile())) {
                throw new UsageError("jqemu-img commit supports only the immediate backing file as base");
            }
            try (BlockDevice target = Images.open(backingName, q.backingFormat(), OpenOptions.READ_WRITE.withNoBacking())) {
                if (target.size() < top.size()) {
                    target.resize(top.size());
                }
                ConvertCommand.Progress bar = new ConvertCommand.Progress(env, progress && !quiet, top.size());
                byte[] buf = new byte[BUFFER];
                for (MapCommand.Extent e : MapCommand.extents(top, 0, top.size())) {
                    if (e.depth() != 0 || !e.present()) {
                        continue;
                    }
                    for (long pos = e.start(); pos < e.start() + e.length(); pos += BUFFER) {
                        int n = (int) Math.min(BUFFER, e.start() + e.length() - pos);
                        if (e.zero()) {
                            target.writeZeroes(pos, n, false);
                        } else {
                            top.read(pos, buf, 0, n);
                            target.write(pos, buf, 0, n);
                        }
                        bar.update(pos + n);
                    }
                }
                target.flush();
                bar.done();
            }
            if (!drop) {
                q.makeEmpty();
                top.flush();
            }
        }
        if (!quiet) {
            env.out.println("Image committed.");
        }
        return 0;
    }
}
