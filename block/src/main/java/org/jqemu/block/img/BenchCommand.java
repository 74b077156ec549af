package org.jqemu.block.img;

import java.util.List;
import java.util.Locale;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;

/** qemu-img bench: count sequential requests of buffer_size bytes (reads, or writes with -w). */
final class BenchCommand {
    private BenchCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hc:d:f:ni:o:qs:S:t:wU", "flush-interval:flush:1", "no-drain:nodrain:0",
                "pattern:pattern:1", "image-opts:image-opts:0", "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        long count = 75000;
        long depth = 64;
        long offset = 0;
        long bufSize = 4096;
        long step = -1;
        long flushInterval = 0;
        int pattern = 0;
        boolean write = false;
        boolean quiet = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "c" -> count = positive(o.arg(), "request count");
                case "d" -> depth = positive(o.arg(), "queue depth");
                case "f" -> fmt = o.arg();
                case "o" -> offset = Sizes.parse(o.arg(), 'B');
                case "s" -> bufSize = positive(o.arg(), "buffer size");
                case "S" -> step = Sizes.parse(o.arg(), 'B');
                case "w" -> write = true;
                case "q" -> quiet = true;
                case "flush" -> flushInterval = positive(o.arg(), "flush interval");
                case "pattern" -> pattern = Integer.parseInt(o.arg()) & 0xff;
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        if (step < 0) {
            step = bufSize;
        }
        try (BlockDevice d = Images.open(g.operands.get(0), fmt, (write ? OpenOptions.READ_WRITE : OpenOptions.READ_ONLY).withForceShare(g.has("U")))) {
            if (!quiet) {
                env.out.printf(Locale.ROOT, "Sending %d %s requests, %d bytes each, %d in parallel "
                        + "(starting at offset %d, step size %d)%n", count, write ? "write" : "read", bufSize, depth,
                        offset, step);
                if (write && flushInterval > 0) {
                    env.out.printf(Locale.ROOT, "Sending flush every %d requests%n", flushInterval);
                }
            }
            byte[] buf = new byte[(int) bufSize];
            java.util.Arrays.fill(buf, (byte) pattern);
            long start = System.nanoTime();
            long pos = offset;
            for (long i = 0; i < count; i++) {
                if (pos + bufSize > d.size()) {
                    pos = 0;
                }
                if (write) {
                    d.write(pos, buf, 0, buf.length);
                    if (flushInterval > 0 && (i + 1) % flushInterval == 0) {
                        d.flush();
                    }
                } else {
                    d.read(pos, buf, 0, buf.length);
                }
                pos += step;
            }
            if (!quiet) {
                env.out.printf(Locale.ROOT, "Run completed in %.3f seconds.%n", (System.nanoTime() - start) / 1e9);
            }
        }
        return 0;
    }

    private static long positive(String s, String what) throws UsageError {
        long v = Sizes.parse(s, 'B');
        if (v <= 0) {
            throw new UsageError("Invalid " + what + " specified");
        }
        return v;
    }
}
