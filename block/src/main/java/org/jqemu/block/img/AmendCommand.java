package org.jqemu.block.img;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;

/** qemu-img amend: changes qcow2 options in place (compat upgrade, lazy_refcounts, backing file, size). */
final class AmendCommand {
    private static final Set<String> CREATE_ONLY = Set.of("cluster_size", "preallocation", "compression_type",
            "extended_l2", "encryption", "data_file", "data_file_raw");

    private AmendCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("ho:f:t:pq", "object:object:1", "image-opts:image-opts:0", "force:force:0",
                "help:h:0").parse(args);
        String fmt = null;
        Map<String, String> opts = new LinkedHashMap<>();
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "o" -> opts.putAll(OptionList.parse(o.arg()));
                default -> { }
            }
        }
        if (opts.isEmpty()) {
            throw UsageError.withHint("Must specify options (-o)");
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        String filename = g.operands.get(0);
        try (BlockDevice d = Images.open(filename, fmt, OpenOptions.READ_WRITE.withNoBacking())) {
            if (!(d instanceof Qcow2Device q)) {
                throw new UsageError("Format driver '" + d.format() + "' does not support option amendment");
            }
            ImageCreator.checkKeys(filename, "qcow2", opts);
            for (String k : opts.keySet()) {
                if (CREATE_ONLY.contains(k)) {
                    throw new UsageError("Invalid parameter '" + k + "'\nThis option is only supported for image creation");
                }
            }
            amend(q, opts);
        }
        return 0;
    }

    private static void amend(Qcow2Device q, Map<String, String> opts) throws UsageError, BlockException {
        String compat = opts.get("compat");
        if (compat != null) {
            switch (compat) {
                case "1.1", "v3" -> q.upgradeToV3();
                case "0.10", "v2" -> {
                    if (opts.containsKey("lazy_refcounts") && !opts.get("lazy_refcounts").equals("off")) {
                        throw new UsageError("Lazy refcounts only supported with compatibility level 1.1 and above "
                                + "(use compat=1.1 or greater)");
                    }
                    q.downgradeToV2();
                }
                default -> throw new UsageError("Invalid compatibility level: '" + compat + "'");
            }
        }
        String lazy = opts.get("lazy_refcounts");
        if (lazy != null && q.version() >= 3) {
            q.setLazyRefcounts(switch (lazy) {
                case "on", "yes", "true" -> true;
                case "off", "no", "false" -> false;
                default -> throw new UsageError("Parameter 'lazy_refcounts' expects 'on' or 'off'");
            });
        }
        if (opts.containsKey("refcount_bits") && Integer.parseInt(opts.get("refcount_bits")) != q.refcountBits()) {
            throw new UsageError("Changing the refcount width is not supported by jqemu yet");
        }
        if (opts.containsKey("backing_file") || opts.containsKey("backing_fmt")) {
            q.setBacking(opts.getOrDefault("backing_file", q.backingFile()),
                    opts.getOrDefault("backing_fmt", q.backingFormat()));
        }
        if (opts.containsKey("size")) {
            long size = ImageCreator.sizeOption(q.filename(), "size", opts.get("size"));
            if (size < q.size()) {
                throw new UsageError("Shrinking images with amend is not supported; use resize --shrink");
            }
            q.resize(size);
        }
    }
}
