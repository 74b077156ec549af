package org.jqemu.block.img;

import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;

/** qemu-img compare: exit 0 identical, 1 different, 2 open error, 3 allocation-check error, 4 read error. */
final class CompareCommand {
    private static final int CHUNK = 1 << 20;
    private static final int SECTOR = 512;

    private CompareCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError {
        Getopt g = new Getopt("hf:F:T:pqsU", "object:object:1", "image-opts:image-opts:0",
                "force-share:U:0", "help:h:0").parse(args);
        String fmt1 = null;
        String fmt2 = null;
        boolean quiet = false;
        boolean strict = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt1 = o.arg();
                case "F" -> fmt2 = o.arg();
                case "q" -> quiet = true;
                case "s" -> strict = true;
                default -> { }
            }
        }
        if (g.operands.size() != 2) {
            throw UsageError.withHint("Expecting two image file names");
        }
        BlockDevice a = null;
        BlockDevice b = null;
        try {
            try {
                a = Images.open(g.operands.get(0), fmt1, (OpenOptions.READ_ONLY).withForceShare(g.has("U")));
                b = Images.open(g.operands.get(1), fmt2, (OpenOptions.READ_ONLY).withForceShare(g.has("U")));
            } catch (BlockException e) {
                env.error(e.getMessage());
                return 2;
            }
            return compare(a, b, strict, quiet, env);
        } finally {
            closeQuietly(a);
            closeQuietly(b);
        }
    }

    private static void closeQuietly(BlockDevice d) {
        if (d != null) {
            try {
                d.close();
            } catch (BlockException e) {
                // read-only: nothing was written, nothing to lose
            }
        }
    }

    private static int compare(BlockDevice a, BlockDevice b, boolean strict, boolean quiet, Main.Env env) {
        if (a.size() != b.size()) {
            if (strict) {
                say(env, quiet, "Strict mode: Image size mismatch!");
                return 1;
            }
        }
        long common = Math.min(a.size(), b.size());
        byte[] x = new byte[CHUNK];
        byte[] y = new byte[CHUNK];
        for (long pos = 0; pos < common; ) {
            int n = (int) Math.min(CHUNK, common - pos);
            if (strict) {
                try {
                    MapCommand.Extent ea = MapCommand.resolve(a, pos, n, true);
                    MapCommand.Extent eb = MapCommand.resolve(b, pos, n, true);
                    if (ea.present() != eb.present() || ea.zero() != eb.zero() || ea.data() != eb.data()
                            || (ea.offset() < 0) != (eb.offset() < 0)) {
                        say(env, quiet, "Strict mode: Offset " + pos + " block status mismatch!");
                        return 1;
                    }
                    n = (int) Math.min(ea.length(), eb.length());
                } catch (BlockException e) {
                    env.error("Error while reading block status: " + e.getMessage());
                    return 3;
                }
            }
            try {
                a.read(pos, x, 0, n);
            } catch (BlockException e) {
                env.error("Error while reading offset " + pos + " of " + a.filename() + ": " + e.getMessage());
                return 4;
            }
            try {
                b.read(pos, y, 0, n);
            } catch (BlockException e) {
                env.error("Error while reading offset " + pos + " of " + b.filename() + ": " + e.getMessage());
                return 4;
            }
            int diff = java.util.Arrays.mismatch(x, 0, n, y, 0, n);
            if (diff >= 0) {
                say(env, quiet, "Content mismatch at offset " + (pos + (diff & -SECTOR)) + "!");
                return 1;
            }
            pos += n;
        }
        if (a.size() != b.size()) {
            say(env, quiet, "Warning: Image size mismatch!");
        }
        BlockDevice longer = a.size() > b.size() ? a : b;
        for (long pos = common; pos < longer.size(); pos += CHUNK) {
            int n = (int) Math.min(CHUNK, longer.size() - pos);
            try {
                longer.read(pos, x, 0, n);
            } catch (BlockException e) {
                env.error("Error while reading offset " + pos + " of " + longer.filename() + ": " + e.getMessage());
                return 4;
            }
            for (int i = 0; i < n; i++) {
                if (x[i] != 0) {
                    say(env, quiet, "Content mismatch at offset " + (pos + (i & -SECTOR)) + "!");
                    return 1;
                }
            }
        }
        say(env, quiet, "Images are identical.");
        return 0;
    }

    private static void say(Main.Env env, boolean quiet, String s) {
        if (!quiet) {
            env.out.println(s);
        }
    }
}
