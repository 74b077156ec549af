package org.jqemu.block.img;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Check;
import org.jqemu.block.qcow2.Qcow2Device;
import org.jqemu.block.qcow2.Qcow2Snapshots;

/** qemu-img check: exit 0 clean, 1 check failed, 2 corruption, 3 leaks only, 63 format cannot be checked. */
final class CheckCommand {
    static final int EXIT_UNSUPPORTED = 63;

    private CheckCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hf:r:T:qU", "output:output:1", "repair:r:1", "object:object:1",
                "image-opts:image-opts:0", "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        String output = "human";
        Qcow2Check.Repair repair = Qcow2Check.Repair.NONE;
        boolean quiet = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "output" -> output = o.arg();
                case "q" -> quiet = true;
                case "r" -> repair = switch (o.arg()) {
                    case "leaks" -> Qcow2Check.Repair.LEAKS;
                    case "all" -> Qcow2Check.Repair.ALL;
                    default -> throw UsageError.withHint("Invalid option for -r: '" + o.arg() + "'");
                };
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        if (!output.equals("human") && !output.equals("json")) {
            throw new UsageError("--output must be used with human or json as argument.");
        }
        String filename = g.operands.get(0);
        OpenOptions oo = repair == Qcow2Check.Repair.NONE ? OpenOptions.READ_ONLY : OpenOptions.READ_WRITE;
        BlockDevice d;
        try {
            d = Images.open(filename, fmt, oo.withNoBacking().withForCheck().withForceShare(g.has("U")));
        } catch (BlockException e) {
            env.error(e.getMessage());
            return 1;
        }
        try (d) {
            if (!(d instanceof Qcow2Device q)) {
                if (!quiet) {
                    env.error("This image format does not support checks");
                }
                return EXIT_UNSUPPORTED;
            }
            Qcow2Check.Result r;
            try {
                r = Qcow2Check.run(q, repair, quiet ? null : env.err);
                if (r.leaksFixed + r.corruptionsFixed > 0) {
                    Qcow2Check.Result again = Qcow2Check.run(q, Qcow2Check.Repair.NONE, quiet ? null : env.err);
                    again.leaksFixed = r.leaksFixed;
                    again.corruptionsFixed = r.corruptionsFixed;
                    r = again;
                }
            } catch (Qcow2Snapshots.TooMuchExtraData e) {
                env.error("ERROR failed to read the snapshot table: " + e.getMessage());
                env.error("Check failed: File too large");
                return 1;
            } catch (BlockException e) {
                env.error("Check failed: " + e.getMessage());
                return 1;
            }
            if (!quiet) {
                if (output.equals("json")) {
                    env.out.println(QJson.pretty(json(filename, r)));
                } else {
                    env.out.print(human(r));
                }
            }
            return r.checkErrors > 0 ? 1 : r.corruptions > 0 ? 2 : r.leaks > 0 ? 3 : 0;
        }
    }

    private static Map<String, Object> json(String filename, Qcow2Check.Result r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("filename", filename);
        m.put("format", "qcow2");
        m.put("check-errors", r.checkErrors);
        putNonZero(m, "image-end-offset", r.imageEndOffset);
        putNonZero(m, "corruptions", r.corruptions);
        putNonZero(m, "leaks", r.leaks);
        putNonZero(m, "corruptions-fixed", r.corruptionsFixed);
        putNonZero(m, "leaks-fixed", r.leaksFixed);
        putNonZero(m, "total-clusters", r.totalClusters);
        putNonZero(m, "allocated-clusters", r.allocatedClusters);
        putNonZero(m, "fragmented-clusters", r.fragmentedClusters);
        putNonZero(m, "compressed-clusters", r.compressedClusters);
        return m;
    }

    private static void putNonZero(Map<String, Object> m, String key, long v) {
        if (v != 0) {
            m.put(key, v);
        }
    }

    /** printf("%0.2f") of 100*a/b as glibc prints it: the exact binary value, ties to even. */
    static String percent(long a, long b) {
        return new java.math.BigDecimal(100.0 * a / b).setScale(2, java.math.RoundingMode.HALF_EVEN).toPlainString();
    }

    static String human(Qcow2Check.Result r) {
        StringBuilder sb = new StringBuilder();
        if (r.corruptionsFixed + r.leaksFixed > 0) {
            sb.append("The following inconsistencies were found and repaired:\n\n")
                    .append("    ").append(r.leaksFixed).append(" leaked clusters\n")
                    .append("    ").append(r.corruptionsFixed).append(" corruptions\n\n")
                    .append("Double checking the fixed image now...\n");
        }
        if (r.corruptions == 0 && r.leaks == 0 && r.checkErrors == 0) {
            sb.append("No errors were found on the image.\n");
        } else {
            if (r.corruptions > 0) {
                sb.append('\n').append(r.corruptions).append(" errors were found on the image.\n")
                        .append("Data may be corrupted, or further writes to the image may corrupt it.\n");
            }
            if (r.leaks > 0) {
                sb.append('\n').append(r.leaks).append(" leaked clusters were found on the image.\n")
                        .append("This means waste of disk space, but no harm to data.\n");
            }
            if (r.checkErrors > 0) {
                sb.append('\n').append(r.checkErrors).append(" internal errors have occurred during the check.\n");
            }
        }
        if (r.totalClusters != 0 && r.allocatedClusters != 0) {
            sb.append(r.allocatedClusters).append('/').append(r.totalClusters).append(" = ")
                    .append(percent(r.allocatedClusters, r.totalClusters)).append("% allocated, ")
                    .append(percent(r.fragmentedClusters, r.allocatedClusters)).append("% fragmented, ")
                    .append(percent(r.compressedClusters, r.allocatedClusters)).append("% compressed clusters\n");
        }
        if (r.imageEndOffset != 0) {
            sb.append("Image end offset: ").append(r.imageEndOffset).append('\n');
        }
        return sb.toString();
    }
}
