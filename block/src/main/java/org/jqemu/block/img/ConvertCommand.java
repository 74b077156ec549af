package org.jqemu.block.img;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.CompressedWriter;
import org.jqemu.block.HostFile;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;
import org.jqemu.block.qcow2.Qcow2Snapshots;

/**
 * qemu-img convert: copies one or more images (concatenated) into a new or existing (-n) target,
 * skipping zero ranges of at least the -S size unless the target would not read as zero there.
 */
final class ConvertCommand {
    /**
     * A piece: small enough that the pieces of a plain copy in flight (two with one reading thread) stay
     * in the processor's caches between the read, the zero test and the write, which copy them; with 2 MiB
     * pieces and eight in flight every copy went to and from memory, and the kernel's share of a copy rose
     * by a third or more (block/README.md).
     */
    private static final int PIECE = 512 << 10;
    /** The piece of a copy whose zero-test unit (-S, cluster) does not divide PIECE. */
    private static final int LARGE_PIECE = 2 << 20;
    /** Pieces queued per compressing thread (see copy). */
    private static final int COMPRESS_AHEAD = 4;
    private static final int PAGE = 4096;
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
        /** -t: the target's cache mode; qemu-img's default for convert is unsafe (no flushes). */
        String cache = "unsafe";
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
                case "t" -> s.cache = o.arg();
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
        OpenOptions targetOptions = OpenOptions.READ_WRITE.withCache(s.cache); // checked before anything is created
        String target = g.operands.get(g.operands.size() - 1);
        if ((s.snapshotId != null || s.snapshotName != null) && g.operands.size() > 2) {
            throw new UsageError("No support for concatenating multiple snapshot");
        }
        if ("raw".equals(s.fmt)) {
            // A raw source is asked for its holes from the first piece on: hole seeking is linked now, in the
            // background, rather than once the source is open (after the lock table's read, which waits for the
            // kernel: see RecordLocks.prefetch), so that fewer holes are read as data meanwhile.
            HostFile.linkNativeCallsInBackground();
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
                            : Images.probe(Path.of(Images.resolveBacking(target, s.base))));
                }
                // Not durable: the copy's flush at the end covers the new image's metadata too (none
                // with the default cache=unsafe, as qemu-img's convert writes its target).
                ImageCreator.create(target, s.outFmt, s.opts, total, false, true, false, env);
            }
            try (BlockDevice out = Images.open(target, s.noCreate ? null : s.outFmt,
                    targetOptions)) {
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
     * Buffers go back here once written and are reused: as many exist as pieces can be in flight. They
     * are direct, so data goes from the kernel to the kernel without passing through the Java heap (a
     * heap buffer costs the JDK a copy into a native one on every read and every write).
     */
    private static final ConcurrentLinkedQueue<ByteBuffer> BUFFERS =
            new ConcurrentLinkedQueue<>();

    /** One buffer's worth of work: where it comes from, where it goes. */
    private record Piece(BlockDevice src, long srcPos, long outPos, int n) { }

    /**
     * A piece made ready by a worker: null data if it reads as zero and the target needs nothing;
     * otherwise the ranges of data to write and to zero (start, end pairs of indexes into data) and,
     * for -c, each cluster compressed (null: written as is).
     */
    private record Ready(Piece piece, ByteBuffer data, Runs writes, Runs zeroes, byte[][] packed) { }

    /**
     * The result of a piece that needed no worker, as a Future already done (CompletableFuture would do,
     * but its class initialisation sets up the common fork-join pool, which a short command pays for).
     */
    private record Done(Ready ready) implements Future<Ready> {
        @Override public boolean cancel(boolean mayInterrupt) { return false; }
        @Override public boolean isCancelled() { return false; }
        @Override public boolean isDone() { return true; }
        @Override public Ready get() { return ready; }
        @Override public Ready get(long timeout, TimeUnit unit) { return ready; }
    }

    /** Ranges of a buffer as start, end pairs; adjacent ranges merge, so they go out as one request. */
    private static final class Runs {
        private int[] bounds = new int[8];
        private int count;

        void add(int start, int end) {
            if (count > 0 && bounds[count - 1] == start) {
                bounds[count - 1] = end;
                return;
            }
            if (count == bounds.length) {
                bounds = java.util.Arrays.copyOf(bounds, count * 2);
            }
            bounds[count++] = start;
            bounds[count++] = end;
        }

        int size() {
            return count / 2;
        }

        int start(int i) {
            return bounds[2 * i];
        }

        int end(int i) {
            return bounds[2 * i + 1];
        }
    }

    /**
     * Copies every source into out. Workers (see workerThreads) read pieces, find what to write (zero
     * detection, comparison with the target's backing file) and compress in parallel; this thread only
     * writes them, in order, so the target's metadata is touched by one thread and its layout is the
     * same whatever the timing.
     */
    private static void copy(List<BlockDevice> sources, BlockDevice out, Settings s, Main.Env env, long total)
            throws BlockException {
        boolean targetZero = !s.noCreate || s.targetIsZero;
        if (s.compress && !(out instanceof CompressedWriter)) {
            throw new BlockException("Compression not supported for this file format"); // -n onto raw
        }
        CompressedWriter compressTarget = s.compress ? (CompressedWriter) out : null;
        int bufSize = pieceSize(out instanceof CompressedWriter c ? c.clusterSizeBytes() : 1, s.sparse, s.compress);
        int threads = workerThreads(s.parallel, compressTarget != null, Runtime.getRuntime().availableProcessors(),
                compressTarget != null ? 0 : loadAverage());
        // Pieces handed out before the oldest is written. Compressing, the workers are the slow side: with
        // only one piece each, those done before the oldest one's waited for the writer (half the time,
        // sampled), so each has COMPRESS_AHEAD. A plain copy is bound by the writer: one piece read ahead per
        // worker keeps it busy.
        int ahead = compressTarget != null ? COMPRESS_AHEAD * s.parallel : threads;
        Progress progress = new Progress(env, s.progress && !s.quiet, total);
        boolean skipZeroPieces = targetZero && out.backing() == null && s.sparse > 0;
        ZeroRuns zeroRuns = new ZeroRuns();
        ArrayDeque<Future<Ready>> inFlight = new ArrayDeque<>();
        // Without a worker (-m 1, or no spare core) this thread reads each piece itself, just before writing it.
        ExecutorService workers = threads == 0 ? null : Executors.newFixedThreadPool(
                threads, r -> {
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
                    // A piece that reads as zero needs nothing: decided here, from block status alone, it
                    // costs no hand-over to a worker (most pieces of a sparse disk are such).
                    inFlight.add(skipZeroPieces && zeroRuns.readsAsZero(src, pos, n)
                            ? new Done(new Ready(piece, null, null, null, null))
                            : workers == null ? new Done(prepare(piece, out, s, targetZero, compressTarget, bufSize))
                            : workers.submit(() -> prepare(piece, out, s, targetZero, compressTarget, bufSize)));
                    if (inFlight.size() > ahead) {
                        progress.update(finish(inFlight.poll(), out));
                    }
                    pos += n;
                    outPos += n;
                }
            }
            while (!inFlight.isEmpty()) {
                progress.update(finish(inFlight.poll(), out));
            }
        } finally {
            if (workers != null) {
                workers.shutdownNow();
            }
        }
        if (compressTarget != null && out.backing() == null) {
            compressTarget.alignEndOfFile();
        }
        progress.done();
    }

    /**
     * Bytes per piece: PIECE if it holds a whole number of units (see prepare: for -c a cluster, otherwise
     * the -S size but at least a target cluster), else LARGE_PIECE, as every piece was before (a unit larger
     * still is cut at the piece's end; a compressed one is a whole cluster).
     */
    static int pieceSize(long clusterSize, long sparse, boolean compress) {
        long unit = compress ? clusterSize : Math.max(sparse, clusterSize);
        if (unit <= PIECE && PIECE % unit == 0) {
            return PIECE;
        }
        return compress ? (int) Math.max(clusterSize, LARGE_PIECE - LARGE_PIECE % clusterSize) : LARGE_PIECE;
    }

    /**
     * Threads that read (and compress) pieces. Compressing: -m of them, as qemu-img's coroutines (the
     * writer has little to do; on a machine shared with other work, more runnable threads may also get
     * more of the cores: 2 threads on 2 cores had less CPU time than 8 at a load of 7). A plain copy
     * is bound by the writer's kernel copy, so the readers are the spare cores (those the writer and the
     * machine's other work, its load average rounded down, leave), fewer than -m (with -m 1 one request at a
     * time, as qemu-img's one coroutine): more threads than cores only cost switches and buffers that fall
     * out of the caches. None: the writer reads each piece itself, which on a busy machine costs the
     * hand-overs nothing (raw -> qcow2 at load 6: 70 ms less user CPU of 370, same wall time).
     */
    static int workerThreads(int parallel, boolean compress, int cores, double load) {
        if (compress) {
            return parallel;
        }
        int spare = Math.max(0, cores - 1 - (int) load);
        return Math.min(parallel - 1, spare);
    }

    /** The load average over the last minute (Linux), 0 if unknown: what other work keeps cores busy. */
    static double loadAverage() {
        try {
            return parseLoadAverage(Files.readString(LOADAVG));
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    private static final Path LOADAVG = Path.of("/proc/loadavg");

    /** The first field of /proc/loadavg's text ("0.52 0.58 0.59 1/467 12345"); 0 if it is not a number. */
    static double parseLoadAverage(String text) {
        int end = text.indexOf(' ');
        try {
            double load = Double.parseDouble(end < 0 ? text.strip() : text.substring(0, end));
            return load >= 0 && load < Integer.MAX_VALUE ? load : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /**
     * Worker side: reads a piece and decides, unit by unit, what the target needs. A unit is a cluster
     * for -c; otherwise the -S size, but at least a cluster of the target: zeros inside a cluster that
     * also holds data are written with it (the cluster is allocated anyway), so every write to a qcow2
     * target covers whole clusters and goes from the buffer to the file without being assembled in a copy.
     */
    private static Ready prepare(Piece p, BlockDevice out, Settings s, boolean targetZero, CompressedWriter compressTarget,
                                 int bufSize) throws BlockException {
        BlockDevice backing = out.backing();
        ByteBuffer buf = BUFFERS.poll();
        if (buf == null || buf.capacity() != bufSize) {
            buf = ByteBuffer.allocateDirect(bufSize + PAGE).alignedSlice(PAGE); // page-aligned for the kernel copy
        }
        int n = p.n();
        buf.clear().limit(n);
        p.src().read(p.srcPos(), buf);
        ByteBuffer other = null;
        if (backing != null) {
            other = ByteBuffer.allocate(n);
            long avail = Math.max(0, Math.min(n, backing.size() - p.outPos()));
            if (avail > 0) {
                backing.read(p.outPos(), other.slice(0, (int) avail));
            }
        }
        long granule = out instanceof CompressedWriter c ? c.clusterSizeBytes() : 1;
        int unit = compressTarget != null ? (int) granule : s.sparse > 0 ? (int) Math.max(s.sparse, granule) : n;
        Runs writes = new Runs();
        Runs zeroes = new Runs();
        byte[][] packed = compressTarget != null ? new byte[(n + unit - 1) / unit][] : null;
        for (int i = 0; i < n; i += unit) {
            int len = Math.min(unit, n - i);
            if (other != null ? compressTarget == null && buf.slice(i, len).equals(other.slice(i, len))
                    : (compressTarget != null || s.sparse > 0) && isZero(buf, i, len)) {
                if (other == null && compressTarget == null && !targetZero) {
                    zeroes.add(i, i + len);
                }
                continue;
            }
            writes.add(i, i + len);
            if (packed != null) {
                packed[i / unit] = compressTarget.compressCluster(buf.slice(i, len));
            }
        }
        return new Ready(p, buf, writes, zeroes, packed);
    }

    /** Writer side: waits for the oldest piece and writes it; returns the output position reached. */
    private static long finish(Future<Ready> f, BlockDevice out) throws BlockException {
        Ready r;
        try {
            r = f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BlockException("Conversion interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof BlockException b) {
                throw b;
            }
            throw new BlockException("Conversion failed: " + e.getCause());
        }
        Piece p = r.piece();
        if (r.data() != null) {
            write(out, p.outPos(), r);
            BUFFERS.add(r.data());
        }
        return p.outPos() + p.n();
    }

    /** Writes what a worker found the target needs: data (compressed cluster by cluster for -c) and zeros. */
    private static void write(BlockDevice out, long outPos, Ready r) throws BlockException {
        ByteBuffer buf = r.data();
        for (int k = 0; k < r.zeroes().size(); k++) {
            out.writeZeroes(outPos + r.zeroes().start(k), r.zeroes().end(k) - r.zeroes().start(k), true);
        }
        for (int k = 0; k < r.writes().size(); k++) {
            int start = r.writes().start(k);
            int end = r.writes().end(k);
            if (r.packed() == null) {
                out.write(outPos + start, buf.slice(start, end - start));
                continue;
            }
            CompressedWriter q = (CompressedWriter) out;
            int cs = (int) q.clusterSizeBytes();
            for (int i = start; i < end; i += cs) {
                q.writeCompressed(outPos + i, buf.slice(i, Math.min(cs, end - i)), r.packed()[i / cs]);
            }
        }
    }

    /**
     * Where the sources read as zero, from block status: asked once per extent rather than once per piece
     * (an extent of a sparse disk spans many pieces).
     */
    private static final class ZeroRuns {
        private BlockDevice device;
        private long start;
        private long end;
        private boolean zero;

        boolean readsAsZero(BlockDevice d, long pos, long len) throws BlockException {
            long stop = pos + len;
            while (true) {
                if (d != device || pos < start || pos >= end) {
                    MapCommand.Extent e = MapCommand.resolve(d, pos, d.size() - pos, false);
                    device = d;
                    start = pos;
                    end = pos + e.length();
                    zero = e.zero() && e.length() > 0; // an empty extent (never expected) is read, not looped on
                }
                if (!zero) {
                    return false;
                }
                if (stop <= end) {
                    return true;
                }
                pos = end;
            }
        }
    }

    /**
     * Zeros that data is compared with, a chunk at a time (a heap buffer: no native memory to set up; a
     * ByteBuffer rather than a MemorySegment, whose API's first use spins method handles, some 10 ms).
     */
    private static final int ZERO_CHUNK = 64 << 10;
    private static final ByteBuffer ZEROS = ByteBuffer.wrap(new byte[ZERO_CHUNK]);

    /**
     * True if the len bytes of b at index off are all zero (b's position and limit are not used, but
     * off + len must be within the limit). Compared a chunk at a time with zeros (a vectorised comparison
     * that stops at the first difference); data usually differs from zero in its first word, which is
     * tested first and allocates nothing: this runs once per unit of every piece.
     */
    static boolean isZero(ByteBuffer b, int off, int len) {
        if (len >= Long.BYTES && b.getLong(off) != 0) {
            return false;
        }
        for (int p = off, end = off + len; p < end; p += ZERO_CHUNK) {
            int n = Math.min(ZERO_CHUNK, end - p);
            if (b.slice(p, n).mismatch(ZEROS.slice(0, n)) >= 0) {
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
