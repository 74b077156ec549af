package org.jqemu.block.img;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.Zstd;
import org.jqemu.block.qcow.QcowDevice;
import org.jqemu.block.qcow2.Qcow2Create;
import org.jqemu.block.raw.RawDevice;

/** Image creation shared by create and convert: option validation, the "Formatting" line, the drivers. */
final class ImageCreator {
    private static final Set<String> RAW_KEYS = Set.of("size", "preallocation");
    private static final Set<String> QCOW_KEYS = Set.of("size", "backing_file", "backing_fmt", "encryption",
            "encrypt.format", "encrypt.key-secret", "preallocation");
    private static final Set<String> QCOW2_KEYS = Set.of("size", "compat", "backing_file", "backing_fmt",
            "cluster_size", "preallocation", "lazy_refcounts", "refcount_bits", "compression_type",
            "extended_l2", "encryption", "data_file", "data_file_raw");
    /** Order in which qemu-img 7.2 prints qcow2 creation options (and whether printed by default). */
    private static final String[][] QCOW2_PRINT = {
        {"cluster_size", "65536"}, {"extended_l2", "off"}, {"preallocation", null}, {"compression_type", "zlib"},
        {"size", null}, {"compat", null}, {"backing_file", null}, {"backing_fmt", null},
        {"lazy_refcounts", "off"}, {"refcount_bits", "16"},
    };
    static final String SIZE_HELP = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
            + "and exabytes, respectively.";

    private ImageCreator() { }

    static Set<String> keys(String fmt) {
        return switch (fmt) {
            case "qcow2" -> QCOW2_KEYS;
            case "qcow" -> QCOW_KEYS;
            default -> RAW_KEYS;
        };
    }

    /** Checks that every -o key exists for the format ("Invalid parameter 'x'"). */
    static void checkKeys(String filename, String fmt, Map<String, String> opts) throws UsageError {
        for (String k : opts.keySet()) {
            if (!keys(fmt).contains(k)) {
                throw new UsageError(filename + ": Invalid parameter '" + k + "'");
            }
        }
    }

    /**
     * Creates the image, durable on return (qemu-img create). size &lt; 0 takes the backing file's size.
     * skipBackingCheck is -u.
     */
    static void create(String filename, String fmt, Map<String, String> opts, long size,
                       boolean skipBackingCheck, boolean quiet, Main.Env env) throws UsageError, BlockException {
        create(filename, fmt, opts, size, skipBackingCheck, quiet, true, env);
    }

    /**
     * As above; durable false for a target that its creator fills and flushes itself (convert, dd): no
     * fdatasync of the new image's metadata on the way.
     */
    static void create(String filename, String fmt, Map<String, String> opts, long size, boolean skipBackingCheck,
                       boolean quiet, boolean durable, Main.Env env) throws UsageError, BlockException {
        checkKeys(filename, fmt, opts);
        if (opts.containsKey("size")) {
            long s = sizeOption(filename, "size", opts.get("size"));
            if (size < 0) {
                size = s;
            }
        }
        String backing = opts.get("backing_file");
        String backingFmt = opts.get("backing_fmt");
        if (backing != null) {
            if (backingFmt == null) {
                String detected = "raw";
                try {
                    detected = Images.probe(Path.of(Images.resolveBacking(filename, backing)));
                } catch (BlockException e) {
                    // the hint below is just omitted
                }
                throw new UsageError(filename + ": Backing file specified without backing format\n"
                        + "Detected format of " + detected + ".");
            }
            if (!skipBackingCheck) {
                try (BlockDevice b = Images.open(Images.resolveBacking(filename, backing), backingFmt,
                        OpenOptions.READ_ONLY.withNoBacking())) {
                    if (size < 0) {
                        size = b.size();
                    }
                } catch (BlockException e) {
                    String msg = e.getMessage().replaceFirst("^Could not open '[^']*': (Could not open)", "$1");
                    throw new UsageError(filename + ": " + msg + "\nCould not open backing image.");
                }
            }
        }
        if (size < 0) {
            throw new UsageError(filename + ": Image creation needs a size parameter");
        }
        checkTypes(filename, opts);
        if (!quiet) {
            env.out.println("Formatting '" + filename + "', fmt=" + fmt + " " + describe(fmt, opts, size));
            env.out.flush();
        }
        try {
            if (fmt.equals("qcow2")) {
                Qcow2Create.create(Path.of(filename), qcow2Options(filename, opts, size), durable);
            } else if (fmt.equals("qcow")) {
                if (opts.containsKey("encryption") && bool(filename, "encryption", opts.get("encryption"))
                        || opts.containsKey("encrypt.format")) {
                    throw new UsageError(filename + ": " + QcowDevice.AES_REFUSED);
                }
                if (!opts.getOrDefault("preallocation", "off").equals("off")) {
                    throw new UsageError(filename + ": Parameter 'preallocation' does not accept value '"
                            + opts.get("preallocation") + "'");
                }
                QcowDevice.create(Path.of(filename), size, backing);
            } else {
                String prealloc = opts.getOrDefault("preallocation", "off");
                if (!List.of("off", "falloc", "full").contains(prealloc)) {
                    throw new UsageError(filename + ": Parameter 'preallocation' does not accept value '" + prealloc + "'");
                }
                RawDevice.create(Path.of(filename), size, prealloc);
            }
        } catch (BlockException e) {
            throw new UsageError(filename + ": " + e.getMessage());
        }
    }

    private static String describe(String fmt, Map<String, String> opts, long size) {
        StringBuilder sb = new StringBuilder();
        if (fmt.equals("qcow")) {
            sb.append("size=").append(size);
            for (String k : new String[] {"backing_file", "backing_fmt", "encryption", "encrypt.format",
                                          "encrypt.key-secret"}) {
                if (opts.containsKey(k)) {
                    sb.append(' ').append(k).append('=').append(opts.get(k));
                }
            }
            return sb.toString();
        }
        if (fmt.equals("raw")) {
            sb.append("size=").append(size);
            if (opts.containsKey("preallocation")) {
                sb.append(" preallocation=").append(opts.get("preallocation"));
            }
            return sb.toString();
        }
        for (String[] p : QCOW2_PRINT) {
            String v = p[0].equals("size") ? String.valueOf(size) : opts.getOrDefault(p[0], p[1]);
            if (p[0].equals("cluster_size") && opts.containsKey(p[0])) {
                long n = Sizes.parse(v, 'B');
                v = n >= 0 ? String.valueOf(n) : v;
            }
            if (v != null) {
                sb.append(sb.isEmpty() ? "" : " ").append(p[0]).append('=').append(v);
            }
        }
        return sb.toString();
    }

    static long sizeOption(String filename, String key, String value) throws UsageError {
        long n = Sizes.parse(value, 'B');
        if (n < 0) {
            throw new UsageError(filename + ": Parameter '" + key + "' expects a non-negative number below 2^64\n"
                    + SIZE_HELP);
        }
        return n;
    }

    /** Value syntax by option type (QemuOpts checks these before the driver sees anything). */
    private static void checkTypes(String filename, Map<String, String> opts) throws UsageError {
        for (Map.Entry<String, String> e : opts.entrySet()) {
            switch (e.getKey()) {
                case "cluster_size" -> sizeOption(filename, e.getKey(), e.getValue());
                case "lazy_refcounts", "extended_l2", "data_file_raw" -> bool(filename, e.getKey(), e.getValue());
                case "refcount_bits" -> {
                    if (!e.getValue().matches("[0-9]+")) {
                        throw new UsageError(filename + ": Parameter '" + e.getKey() + "' expects a number");
                    }
                }
                default -> { }
            }
        }
    }

    private static boolean bool(String filename, String key, String value) throws UsageError {
        return switch (value) {
            case "on", "yes", "true", "y" -> true;
            case "off", "no", "false", "n" -> false;
            default -> throw new UsageError(filename + ": Parameter '" + key + "' expects 'on' or 'off'");
        };
    }

    private static Qcow2Create.Options qcow2Options(String f, Map<String, String> o, long size) throws UsageError {
        String compat = o.getOrDefault("compat", "1.1");
        int version = switch (compat) {
            case "0.10", "v2" -> 2;
            case "1.1", "v3" -> 3;
            default -> throw new UsageError(f + ": Parameter 'version' does not accept value '" + compat + "'");
        };
        long cs = o.containsKey("cluster_size") ? sizeOption(f, "cluster_size", o.get("cluster_size")) : 65536;
        if (cs < 512 || cs > (2 << 20) || Long.bitCount(cs) != 1) {
            throw new UsageError(f + ": Cluster size must be a power of two between 512 and 2048k");
        }
        String prealloc = o.getOrDefault("preallocation", "off");
        if (!List.of("off", "metadata", "falloc", "full").contains(prealloc)) {
            throw new UsageError(f + ": Parameter 'preallocation' does not accept value '" + prealloc + "'");
        }
        boolean lazy = bool(f, "lazy_refcounts", o.getOrDefault("lazy_refcounts", "off"));
        if (lazy && version < 3) {
            throw new UsageError(f + ": Lazy refcounts only supported with compatibility level 1.1 and above "
                    + "(use version=v3 or greater)");
        }
        long bits = o.containsKey("refcount_bits") ? Sizes.parse(o.get("refcount_bits"), 'B') : 16;
        if (bits < 1 || bits > 64 || Long.bitCount(bits) != 1) {
            throw new UsageError(f + ": Refcount width must be a power of two and may not exceed 64 bits");
        }
        if (version < 3 && bits != 16) {
            throw new UsageError(f + ": Different refcount widths than 16 bits require compatibility level 1.1 "
                    + "or above (use version=v3 or greater)");
        }
        String compression = o.getOrDefault("compression_type", "zlib");
        if (!compression.equals("zlib") && !compression.equals("zstd")) {
            throw new UsageError(f + ": Parameter 'compression-type' does not accept value '" + compression + "'");
        }
        if (compression.equals("zstd") && version < 3) {
            throw new UsageError(f + ": Non-zlib compression type is only supported with compatibility level 1.1 "
                    + "and above (use version=v3 or greater)");
        }
        if (compression.equals("zstd") && !Zstd.available()) {
            throw new UsageError(f + ": zstd compression needs the host library libzstd.so.1 (Debian package "
                    + "libzstd1), which could not be loaded");
        }
        boolean extendedL2 = bool(f, "extended_l2", o.getOrDefault("extended_l2", "off"));
        if (extendedL2 && version < 3) {
            throw new UsageError(f + ": Extended L2 entries are only supported with compatibility level 1.1 "
                    + "and above (use version=v3 or greater)");
        }
        if (extendedL2 && cs < 16384) {
            throw new UsageError(f + ": Extended L2 entries are only supported with cluster sizes of at least "
                    + "16384 bytes");
        }
        if (o.containsKey("data_file") || o.containsKey("encryption")) {
            throw new UsageError(f + ": External data files and encryption are not supported by jqemu");
        }
        if (o.containsKey("backing_file") && !prealloc.equals("off") && !extendedL2) {
            throw new UsageError(f + ": Backing file and preallocation can only be used at the same time if "
                    + "extended_l2 is on");
        }
        return new Qcow2Create.Options(size, version, Long.numberOfTrailingZeros(cs),
                Long.numberOfTrailingZeros(bits), lazy, o.get("backing_file"), o.get("backing_fmt"), prealloc,
                compression.equals("zstd") ? 1 : 0, extendedL2);
    }
}
