package org.jqemu.block.img;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.jqemu.block.HostFile;

/**
 * The training run of an AOT cache for jqemu-img (bin/jqemu-launch, bench/block-convert.sh): one JVM goes
 * through the paths a short command takes, so the cache holds the classes each of them loads and links
 * (a JDK 25 cache records one run). Usage: {@code Training DIR}: in DIR, makes a sparse raw image of the
 * benchmark's shape (bench/block-convert.sh: 2 GiB, data in runs spread over it, a zero cluster in the
 * data, holes between), converts it to qcow2 twice (with -m 1 while the native calls for hole seeking are
 * being linked in the background, as a conversion starts, and once they are ready, as it goes on: the
 * second takes the hole-seeking path), converts that to raw and to compressed qcow2, prints info, then deletes
 * what it made. Needs nothing but itself, so a launcher can train on first use.
 */
public final class Training {
    /** Data per run and runs: 4 MiB of data in all, which takes little time to convert and compress. */
    static final int RUN = 1 << 20;
    static final int RUNS = 4;
    /** The benchmark's virtual size; the runs start every RUN_SPACING bytes. */
    static final long SIZE = 2L << 30;
    static final long RUN_SPACING = SIZE / RUNS;
    /** How long training waits for the background link before converting without it. */
    private static final long LINK_WAIT_MS = 20_000;

    private Training() { }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: Training DIR");
            System.exit(1);
        }
        HostFile.useRecordLocks(true); // as jqemu-img's main
        HostFile.prefetchRecordLocks();
        System.exit(train(Path.of(args[0]), new Main.Env(System.out, System.err)));
    }

    /** The training commands, in dir, with env's output; their status or'ed together (0: all succeeded). */
    static int train(Path dir, Main.Env env) throws IOException {
        Path raw = dir.resolve("training.raw");
        Path qcow2 = dir.resolve("training.qcow2");
        Path out = dir.resolve("training-output.img");
        int status = 0;
        try {
            writeSource(raw);
            String[] toQcow2 = {"convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString()};
            String[][] commands = {
                {"convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), out.toString()},
                {"convert", "-f", "qcow2", "-c", "-O", "qcow2", qcow2.toString(), out.toString()},
                {"info", out.toString()},
            };
            // First with -m 1 (the writer reads, as on a busy machine), then as given (readers if a core is spare;
            // -c below has its threads anyway).
            String[] toQcow2OneRequest = {"convert", "-m", "1", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString()};
            status |= Main.run(java.util.Arrays.asList(toQcow2OneRequest), env); // as main passes them
            awaitNativeCalls();
            status |= Main.run(java.util.Arrays.asList(toQcow2), env);
            for (String[] c : commands) {
                status |= Main.run(java.util.Arrays.asList(c), env);
            }
            Main.ShutdownHooks.wanted(); // main's exit asks it: its class in the cache too
        } finally {
            Files.deleteIfExists(raw);
            Files.deleteIfExists(qcow2);
            Files.deleteIfExists(out);
        }
        return status;
    }

    /** Waits (a bounded time) until the background link of the native calls is done, if one was started. */
    private static void awaitNativeCalls() {
        long deadline = System.nanoTime() + LINK_WAIT_MS * 1_000_000;
        while (!HostFile.nativeCallsReady() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /**
     * RUNS runs of RUN bytes of text-like data (it compresses as a disk's does) spread over a sparse file of
     * SIZE bytes, holes between them; the first run holds a zero cluster.
     */
    static void writeSource(Path raw) throws IOException {
        StringBuilder text = new StringBuilder(RUN + 64);
        for (int line = 0; text.length() < RUN; line++) {
            text.append("line ").append(line).append(": jqemu-img training data ").append(line * 7919 % 1000).append('\n');
        }
        byte[] data = text.substring(0, RUN).getBytes(StandardCharsets.US_ASCII);
        byte[] withZeros = data.clone();
        java.util.Arrays.fill(withZeros, RUN / 2, RUN / 2 + (64 << 10), (byte) 0);
        try (FileChannel f = FileChannel.open(raw, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            for (int i = 0; i < RUNS; i++) {
                f.write(ByteBuffer.wrap(i == 0 ? withZeros : data), i * RUN_SPACING);
            }
            f.write(ByteBuffer.wrap(new byte[1]), SIZE - 1); // the size, with a hole before it
        }
    }
}
