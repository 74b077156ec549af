package org.jqemu.block.img;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.CompressedWriter;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;
import org.jqemu.block.qcow2.Qcow2Snapshots;

/**
 * qemu-img convert: copies one or more images (concatenated) into a new or existing (-n) target,
 * skipping zero ranges of at least the -S size unless the target would not read as zero there.
 */
final class ConvertCommand {
    private static final int BUFFER = 2 << 20;
    private static final long DEFAULT_SPARSE = 4096;
    /** qemu-img's default number of coroutines. */
    private static final int DEFAULT_PARALLEL = 8;

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
        /** -m: requests in flight (worker threads reading, and compressing for -c). */
        int parallel = DEFAULT_PARALLEL;
        /** -l: snapshot id and/or name to read from (qcow2 source). */
        String snapshotId;
        String snapshotName;
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
                case "l" -> parseSnapshot(s, o.arg());
                // -W (out-of-order writes) is allowed, not required: we always write in order.
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
                        s.parallel = m;
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
        if (s.compress && !s.outFmt.equals("qcow2") && !s.outFmt.equals("qcow")) {
            throw new UsageError("Compression not supported for this file format");
        }
        if (s.base != null && s.noCreate) {
            throw new UsageError("Use of -B and -n is not supported");
        }
        String target = g.operands.get(g.operands.size() - 1);
        if ((s.snapshotId != null || s.snapshotName != null) && g.operands.size() > 2) {
            throw new UsageError("No support for concatenating multiple snapshot");
        }
        List<BlockDevice> sources = new ArrayList<>();
        try {
            long total = 0;
            for (String name : g.operands.subList(0, g.operands.size() - 1)) {
                BlockDevice d = Images.open(name, s.fmt, (OpenOptions.READ_ONLY).withForceShare(g.has("U")));
                sources.add(d);
                if (s.snapshotId != null || s.snapshotName != null) {
                    if (!(d instanceof Qcow2Device q)) {
                        throw new UsageError("Failed to load snapshot: Block format '" + d.format()
                                + "' used by device '' does not support temporarily loading internal snapshots");
                    }
                    Qcow2Snapshots.loadReadOnly(q, s.snapshotId, s.snapshotName);
                }
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

    /** -l: "snapshot.id=ID,snapshot.name=NAME" (either key), or a bare id-or-name taken as the name. */
    private static void parseSnapshot(Settings s, String arg) throws UsageError {
        if (!arg.startsWith("snapshot.")) {
            s.snapshotName = arg;
            return;
        }
        for (Map.Entry<String, String> e : OptionList.parse(arg).entrySet()) {
            switch (e.getKey()) {
                case "snapshot.id" -> s.snapshotId = e.getValue();
                case "snapshot.name" -> s.snapshotName = e.getValue();
                default -> s.snapshotName = arg;
            }
        }
    }

    /**
     * Buffers go back here once written and are reused: as many exist as pieces can be in flight, and
     * allocating (and zeroing) a fresh large array per piece would cost more than the copy itself.
     */
    private static final java.util.concurrent.ConcurrentLinkedQueue<byte[]> BUFFERS =
            new java.util.concurrent.ConcurrentLinkedQueue<>();

    /** One buffer's worth of work: where it comes from, where it goes. */
    private record Piece(BlockDevice src, long srcPos, long outPos, int n) { }

    /** A piece made ready by a worker: skipped, or read (and compressed, for -c). */
    private record Ready(Piece piece, byte[] data, byte[] backingData, byte[][] packed) { }

    /**
     * Copies every source into out. Workers (-m of them) read pieces, test them for zeros and compress
     * them in parallel; this thread writes them in order, so the target's metadata is touched by one
     * thread and its layout is the same whatever the timing.
     */
    private static void copy(List<BlockDevice> sources, BlockDevice out, Settings s, Main.Env env, long total)
            throws BlockException {
        boolean targetZero = !s.noCreate || s.targetIsZero;
        if (s.compress && !(out instanceof CompressedWriter)) {
            throw new BlockException("Compression not supported for this file format"); // -n onto raw
        }
        CompressedWriter compressTarget = s.compress ? (CompressedWriter) out : null;
        long unit = compressTarget != null ? compressTarget.clusterSizeBytes() : BUFFER;
        int bufSize = (int) Math.max(unit, BUFFER - BUFFER % unit);
        Progress progress = new Progress(env, s.progress && !s.quiet, total);
        java.util.ArrayDeque<java.util.concurrent.Future<Ready>> inFlight = new java.util.ArrayDeque<>();
        java.util.concurrent.ExecutorService workers = java.util.concurrent.Executors.newFixedThreadPool(
                s.parallel, r -> {
                    Thread t = new Thread(r, "convert-worker");
                    t.setDaemon(true);
                    return t;
                });
        try {
            long outPos = 0;
            for (BlockDevice src : sources) {
                for (long pos = 0; pos < src.size(); ) {
                    int n = (int) Math.min(bufSize - (outPos % bufSize), src.size() - pos);
                    Piece piece = new Piece(src, pos, outPos, n);
                    inFlight.add(workers.submit(() -> prepare(piece, out, s, targetZero, compressTarget, bufSize)));
                    if (inFlight.size() > s.parallel) {
                        progress.update(finish(inFlight.poll(), out, s, targetZero));
                    }
                    pos += n;
                    outPos += n;
                }
            }
            while (!inFlight.isEmpty()) {
                progress.update(finish(inFlight.poll(), out, s, targetZero));
            }
        } finally {
            workers.shutdownNow();
        }
        progress.done();
    }

    /** Worker side: null data means the piece reads as zero and the target needs nothing written. */
    private static Ready prepare(Piece p, BlockDevice out, Settings s, boolean targetZero, CompressedWriter compressTarget,
                                 int bufSize) throws BlockException {
        if (targetZero && out.backing() == null && s.sparse > 0 && readsAsZero(p.src(), p.srcPos(), p.n())) {
            return new Ready(p, null, null, null);
        }
        byte[] buf = BUFFERS.poll();
        if (buf == null || buf.length != bufSize) {
            buf = new byte[bufSize];
        }
        p.src().read(p.srcPos(), buf, 0, p.n());
        byte[] other = null;
        if (out.backing() != null) {
            other = new byte[p.n()];
            long avail = Math.max(0, Math.min(p.n(), out.backing().size() - p.outPos()));
            if (avail > 0) {
                out.backing().read(p.outPos(), other, 0, (int) avail);
            }
        }
        byte[][] packed = null;
        if (compressTarget != null) {
            int cs = (int) compressTarget.clusterSizeBytes();
            packed = new byte[(p.n() + cs - 1) / cs][];
            for (int i = 0; i < p.n(); i += cs) {
                int len = Math.min(cs, p.n() - i);
                if (!isZero(buf, i, len) || other != null) {
                    packed[i / cs] = compressTarget.compressCluster(buf, i, len);
                }
            }
        }
        return new Ready(p, buf, other, packed);
    }

    /** Writer side: waits for the oldest piece and writes it; returns the output position reached. */
    private static long finish(java.util.concurrent.Future<Ready> f, BlockDevice out, Settings s, boolean targetZero)
            throws BlockException {
        Ready r;
        try {
            r = f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlockException("Conversion interrupted");
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof BlockException b) {
                throw b;
            }
            throw new BlockException("Conversion failed: " + e.getCause());
        }
        Piece p = r.piece();
        if (r.data() != null) {
            writeChunk(out, p.outPos(), r.data(), p.n(), s, targetZero, r.backingData(), r.packed());
            BUFFERS.add(r.data());
        }
        return p.outPos() + p.n();
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
                                   boolean targetZero, byte[] backingData, byte[][] packed) throws BlockException {
        if (packed != null) {
            CompressedWriter q = (CompressedWriter) out;
            int cs = (int) q.clusterSizeBytes();
            for (int i = 0; i < n; i += cs) {
                int len = Math.min(cs, n - i);
                if (!isZero(buf, i, len) || backingData != null) {
                    q.writeCompressed(outPos + i, buf, i, len, packed[i / cs]);
                }
            }
            return;
        }
        // Consecutive pieces that must be written go out as one request.
        int piece = (int) (s.sparse > 0 ? s.sparse : n);
        int runStart = -1;
        for (int i = 0; ; i = Math.min(n, i + piece)) {
            int len = Math.min(piece, n - i);
            boolean skip = i == n;
            if (!skip && backingData != null) {
                skip = java.util.Arrays.equals(buf, i, i + len, backingData, i, i + len);
            } else if (!skip && s.sparse > 0 && isZero(buf, i, len)) {
                skip = true;
                if (!targetZero) {
                    out.writeZeroes(outPos + i, len, true);
                }
            }
            if (skip && runStart >= 0) {
                out.write(outPos + runStart, buf, runStart, i - runStart);
                runStart = -1;
            } else if (!skip && runStart < 0) {
                runStart = i;
            }
            if (i == n) {
                break;
            }
        }
    }

    private static final byte[] ZEROS = new byte[BUFFER];

    static boolean isZero(byte[] b, int off, int len) {
        for (int done = 0; done < len; done += ZEROS.length) {
            int n = Math.min(ZEROS.length, len - done);
            if (!java.util.Arrays.equals(b, off + done, off + done + n, ZEROS, 0, n)) {
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
