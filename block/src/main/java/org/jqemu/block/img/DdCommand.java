package org.jqemu.block.img;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;

/** qemu-img dd: copies count blocks of bs bytes, skipping skip blocks of the input, into a new image. */
final class DdCommand {
    private DdCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hf:O:U", "image-opts:image-opts:0", "force-share:U:0", "help:h:0",
                "object:object:1").parse(args);
        String fmt = null;
        String outFmt = "raw";
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "O" -> outFmt = o.arg();
                default -> { }
            }
        }
        String in = null;
        String out = null;
        long bs = 512;
        long count = -1;
        long skip = 0;
        for (String op : g.operands) {
            int eq = op.indexOf('=');
            if (eq < 0) {
                throw new UsageError("unrecognized operand " + op);
            }
            String key = op.substring(0, eq);
            String value = op.substring(eq + 1);
            switch (key) {
                case "if" -> in = value;
                case "of" -> out = value;
                case "bs" -> {
                    bs = Sizes.parse(value, 'B');
                    if (bs <= 0 || bs > Integer.MAX_VALUE) {
                        throw new UsageError("invalid number: '" + value + "'");
                    }
                }
                case "count" -> count = number(value);
                case "skip" -> skip = number(value);
                default -> throw new UsageError("unrecognized operand " + op);
            }
        }
        if (in == null) {
            throw new UsageError("Must specify both input and output files");
        }
        if (out == null) {
            throw new UsageError("Must specify both input and output files");
        }
        try (BlockDevice src = Images.open(in, fmt, (OpenOptions.READ_ONLY).withForceShare(g.has("U")))) {
            long start = skip * bs;
            if (start > src.size()) {
                throw new UsageError("Cannot skip to offset " + start + " beyond the end of the input");
            }
            // As qemu-img: the output holds min(count * bs, input size) minus the skipped part.
            long size = (count < 0 ? src.size() : Math.min(count * bs, src.size())) - start;
            if (size < 0) {
                size = 0;
            }
            ImageCreator.create(out, outFmt, new LinkedHashMap<>(), size, false, true, env);
            try (BlockDevice dst = Images.open(out, outFmt, OpenOptions.READ_WRITE.withUnsafe())) {
                byte[] buf = new byte[(int) bs];
                for (long pos = 0; pos < size; pos += bs) {
                    int n = (int) Math.min(bs, size - pos);
                    src.read(start + pos, buf, 0, n);
                    if (!ConvertCommand.isZero(ByteBuffer.wrap(buf), 0, n)) {
                        dst.write(pos, buf, 0, n);
                    }
                }
                dst.flush();
            }
        }
        return 0;
    }

    private static long number(String v) throws UsageError {
        long n = Sizes.parse(v, 'B');
        if (n < 0) {
            throw new UsageError("invalid number: '" + v + "'");
        }
        return n;
    }
}
