package org.jqemu.block.img;

import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;

/** qemu-img resize: absolute or relative (+/-) size; shrinking needs --shrink. */
final class ResizeCommand {
    private ResizeCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        if (args.isEmpty()) {
            throw UsageError.withHint("Expecting image file name and size");
        }
        // The size is always last and may start with '-': keep it away from option parsing.
        String sizeArg = args.get(args.size() - 1);
        Getopt g = new Getopt("f:hq", "object:object:1", "image-opts:image-opts:0",
                "preallocation:prealloc:1", "shrink:shrink:0", "help:h:0").parse(args.subList(0, args.size() - 1));
        String fmt = null;
        boolean quiet = false;
        boolean shrink = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "q" -> quiet = true;
                case "shrink" -> shrink = true;
                case "prealloc" -> {
                    if (!o.arg().equals("off")) {
                        throw new UsageError("Preallocation mode '" + o.arg() + "' is not supported by jqemu resize");
                    }
                }
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting image file name and size");
        }
        int sign = sizeArg.startsWith("+") ? 1 : sizeArg.startsWith("-") ? -1 : 0;
        long amount = Sizes.parse(sign != 0 ? sizeArg.substring(1) : sizeArg, 'B');
        if (amount < 0) {
            throw new UsageError("Invalid size specified. You may use k, M, G, T, P or E suffixes for\n"
                    + "kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        }
        try (BlockDevice d = Images.open(g.operands.get(0), fmt, OpenOptions.READ_WRITE)) {
            long newSize = sign == 0 ? amount : d.size() + sign * amount;
            if (newSize < 0) {
                throw new UsageError("New image size must be positive");
            }
            if (newSize < d.size() && !shrink) {
                env.error("Use the --shrink option to perform a shrink operation.");
                env.error("warning: Shrinking an image will delete all data beyond the shrunken image's end. "
                        + "Before performing such an operation, make sure there is no important data there.");
                return 1;
            }
            d.resize(newSize);
            d.flush();
        }
        if (!quiet) {
            env.out.println("Image resized.");
        }
        return 0;
    }
}
