package org.jqemu.block.img;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;

/** qemu-img create. */
final class CreateCommand {
    private CreateCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("F:b:f:ho:qu", "object:object:1", "help:h:0").parse(args);
        String fmt = "raw";
        Map<String, String> opts = new LinkedHashMap<>();
        boolean quiet = false;
        boolean unsafe = false;
        String backing = null;
        String backingFmt = null;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "o" -> opts.putAll(OptionList.parse(o.arg()));
                case "b" -> backing = o.arg();
                case "F" -> backingFmt = o.arg();
                case "q" -> quiet = true;
                case "u" -> unsafe = true;
                default -> { }
            }
        }
        if (g.operands.isEmpty()) {
            throw UsageError.withHint("Expecting image file name");
        }
        if (g.operands.size() > 2) {
            throw UsageError.withHint("Unexpected argument: " + g.operands.get(2));
        }
        String filename = g.operands.get(0);
        long size = -1;
        if (g.operands.size() == 2) {
            size = Sizes.parse(g.operands.get(1), 'B');
            if (size == -2) {
                throw new UsageError("Image size must be less than 8 EiB!");
            }
            if (size < 0) {
                env.error("Invalid image size specified. You may use k, M, G, T, P or E suffixes for");
                env.error("kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
                return 1;
            }
        }
        if (!Images.isKnownFormat(fmt)) {
            throw new UsageError(filename + ": Unknown file format '" + fmt + "'");
        }
        if (backing != null) {
            opts.put("backing_file", backing);
        }
        if (backingFmt != null) {
            opts.put("backing_fmt", backingFmt);
        }
        ImageCreator.create(filename, fmt, opts, size, unsafe, quiet, env);
        return 0;
    }
}
