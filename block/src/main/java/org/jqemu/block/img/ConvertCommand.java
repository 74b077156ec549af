package org.jqemu.block.img;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;

/**
 * qemu-img convert: copies one or more images (concatenated) into a new or existing (-n) target,
 * skipping zero ranges of at least the -S size unless the target would not read as zero there.
 */
final class ConvertCommand {
    private static final int BUFFER = 2 << 20;
    private static final long DEFAULT_SPARSE = 4096;

    private ConvertCommand() { }

    private static final class Settings {
        String fmt;
        String outFmt = "raw";
        Map<String, String> opts = new LinkedHashMap<>();
        boolean compress;
        boolean progress;
        boolean quiet;
        boolean noCreate;
        boolean targetIsZero;
        String base;
        String baseFmt;
        long sparse = DEFAULT_SPARSE;
    }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("hf:O:B:CcF:o:l:S:pt:T:qnm:WUr:", "target-is-zero:tz:0", "object:object:1",
                "image-opts:image-opts:0", "target-image-opts:tio:0", "salvage:salvage:0", "bitmaps:bitmaps:0",
                "force-share:U:0", "help:h:0").parse(args);
        Settings s = new Settings();
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> s.fmt = o.arg();
                case "O" -> s.outFmt = o.arg();
                case "B" -> s.base = o.arg();
                case "F" -> s.baseFmt = o.arg();
                case "c" -> s.compress = true;
                case "o" -> s.opts.putAll(OptionList.parse(o.arg()));
                case "p" -> s.progress = true;
                case "q" -> s.quiet = true;
                case "n" -> s.noCreate = true;
                case "tz" -> s.targetIsZero = true;
                case "S" -> {
                    s.sparse = Sizes.parse(o.arg(), 'B');
                    if (s.sparse < 0 || s.sparse % 512 != 0 || s.sparse > (16L << 20)) {
                        throw new UsageError("Invalid buffer size for sparse output specified. "
                                + "Valid sizes are multiples of 512 up to 16MiB");
                    }
                }
                case "m" -> {
                    try {
                        int m = Integer.parseInt(o.arg());
                        if (m < 1 || m > 16) {
                            throw new NumberFormatException();
                        }
                    } catch (NumberFormatException e) {
                        throw new UsageError("Invalid number of coroutines. Allowed number of coroutines is "
                                + "between 1 and 16");
                    }
                }
                default -> { }
            }
        }
        if (g.operands.size() < 2) {
            throw UsageError.withHint("Must specify image file name");
        }
        if (s.targetIsZero && !s.noCreate) {
            throw new UsageError("--target-is-zero requires use of -n flag");
        }
        if (!Images.isKnownFormat(s.outFmt)) {
            throw new UsageError("Unknown file format '" + s.outFmt + "'");
        }
        if (s.compress && !s.outFmt.equals("qcow2")) {
            throw new UsageError("Compression not supported for this file format");
        }
        if (s.base != null && s.noCreate) {
            throw new UsageError("Use of -B and -n is not supported");
        }
        String target = g.operands.get(g.operands.size() - 1);
        List<BlockDevice> sources = new ArrayList<>();
        try {
            long total = 0;
            for (String name : g.operands.subList(0, g.operands.size() - 1)) {
                BlockDevice d = Images.open(name, s.fmt, OpenOptions.READ_ONLY);
                sources.add(d);
                total += d.size();
            }
            if (!s.noCreate) {
                ImageCreator.checkKeys(target, s.outFmt, s.opts);
                if (s.base != null) {
                    s.opts.put("backing_file", s.base);
                    s.opts.put("backing_fmt", s.baseFmt != null ? s.baseFmt
                            : Images.probe(java.nio.file.Path.of(Images.resolveBacking(target, s.base))));
                }
                ImageCreator.create(target, s.outFmt, s.opts, total, false, true, env);
            }
            try (BlockDevice out = Images.open(target, s.noCreate ? null : s.outFmt,
                    OpenOptions.READ_WRITE.withUnsafe())) {
                copy(sources, out, s, env, total);
                out.flush();
            }
        } finally {
            for (BlockDevice d : sources) {
                d.close();
            }
        }
        return 0;
    }

    private static void copy(List<BlockDevice> sources, BlockDevice out, Settings s, Main.Env env, long total)
            throws BlockException {
        boolean targetZero = !s.noCreate || s.targetIsZero;
        long unit = s.compress && out instanceof Qcow2Device q ? q.clusterSizeBytes() : BUFFER;
        int bufSize = (int) Math.max(unit, BUFFER - BUFFER % unit);
        byte[] buf = new byte[bufSize];
        byte[] other = out.backing() != null ? new byte[bufSize] : null;
        long outPos = 0;
        Progress progress = new Progress(env, s.progress && !s.quiet, total);
        for (BlockDevice src : sources) {
            for (long pos = 0; pos < src.size(); ) {
                int n = (int) Math.min(bufSize - (outPos % bufSize), src.size() - pos);
                if (readsAsZero(src, pos, n) && targetZero && out.backing() == null && s.sparse > 0) {
                    pos += n;
                    outPos += n;
                    progress.update(outPos);
                    continue;
                }
                src.read(pos, buf, 0, n);
                if (other != null) {
                    long avail = Math.max(0, Math.min(n, out.backing().size() - outPos));
                    java.util.Arrays.fill(other, 0, n, (byte) 0);
                    if (avail > 0) {
                        out.backing().read(outPos, other, 0, (int) avail);
                    }
                }
                writeChunk(out, outPos, buf, n, s, targetZero, other);
                pos += n;
                outPos += n;
                progress.update(outPos);
            }
        }
        progress.done();
    }

    private static boolean readsAsZero(BlockDevice d, long pos, long len) throws BlockException {
        for (MapCommand.Extent e : MapCommand.extents(d, pos, pos + len)) {
            if (!e.zero()) {
                return false;
            }
        }
        return true;
    }

    /** Writes one buffer: compressed clusters, or sparse-size pieces skipping zeros the target already has. */
    private static void writeChunk(BlockDevice out, long outPos, byte[] buf, int n, Settings s,
                                   boolean targetZero, byte[] backingData) throws BlockException {
        if (s.compress) {
            Qcow2Device q = (Qcow2Device) out;
            int cs = (int) q.clusterSizeBytes();
            for (int i = 0; i < n; i += cs) {
                int len = Math.min(cs, n - i);
                if (!isZero(buf, i, len) || backingData != null) {
                    q.writeCompressed(outPos + i, buf, i, len);
                }
            }
            return;
        }
        int piece = (int) (s.sparse > 0 ? s.sparse : n);
        for (int i = 0; i < n; i += piece) {
            int len = Math.min(piece, n - i);
            if (backingData != null) {
                if (java.util.Arrays.equals(buf, i, i + len, backingData, i, i + len)) {
                    continue;
                }
            } else if (s.sparse > 0 && isZero(buf, i, len)) {
                if (!targetZero) {
                    out.writeZeroes(outPos + i, len, true);
                }
                continue;
            }
            out.write(outPos + i, buf, i, len);
        }
    }

    static boolean isZero(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    /** qemu-img's progress line: "    (xx.xx/100%)" rewritten in place. */
    static final class Progress {
        private final Main.Env env;
        private final boolean enabled;
        private final long total;
        private double last = -1;

        Progress(Main.Env env, boolean enabled, long total) {
            this.env = env;
            this.enabled = enabled;
            this.total = total;
            update(0);
        }

        void update(long done) {
            if (!enabled) {
                return;
            }
            double pct = total == 0 ? 100 : 100.0 * done / total;
            if (pct - last >= 1 || last < 0) {
                last = pct;
                env.out.printf(java.util.Locale.ROOT, "    (%.2f/100%%)\r", pct);
                env.out.flush();
            }
        }

        void done() {
            if (enabled) {
                env.out.printf(java.util.Locale.ROOT, "    (%.2f/100%%)\r%n", 100.0);
            }
        }
    }
}
