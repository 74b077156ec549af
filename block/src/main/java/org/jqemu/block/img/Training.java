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
 * (a JDK 25 cache records one run). Usage: {@code Training DIR}: in DIR, makes a small raw image (data,
 * zeros and a hole), converts it to qcow2, that to raw and to compressed qcow2, prints info, then deletes
 * what it made. Needs nothing but itself, so a launcher can train on first use.
 */
public final class Training {
    private static final int DATA = 4 << 20;
    private static final int SIZE = 8 << 20;

    private Training() { }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: Training DIR");
            System.exit(1);
        }
        HostFile.useRecordLocks(true); // as jqemu-img's main
        Path dir = Path.of(args[0]);
        Path raw = dir.resolve("training.raw");
        Path qcow2 = dir.resolve("training.qcow2");
        Path out = dir.resolve("training-output.img");
        int status = 0;
        try {
            writeSource(raw);
            String[][] commands = {
                {"convert", "-f", "raw", "-O", "qcow2", raw.toString(), qcow2.toString()},
                {"convert", "-f", "qcow2", "-O", "raw", qcow2.toString(), out.toString()},
                {"convert", "-f", "qcow2", "-c", "-O", "qcow2", qcow2.toString(), out.toString()},
                {"info", out.toString()},
            };
            Main.Env env = new Main.Env(System.out, System.err);
            for (String[] c : commands) {
                status |= Main.run(java.util.Arrays.asList(c), env); // as main passes them
            }
        } finally {
            Files.deleteIfExists(raw);
            Files.deleteIfExists(qcow2);
            Files.deleteIfExists(out);
        }
        System.exit(status);
    }

    /** Text-like data (it compresses as a disk's does), a zero cluster in it, then a hole to the end. */
    private static void writeSource(Path raw) throws IOException {
        StringBuilder text = new StringBuilder(DATA + 64);
        for (int line = 0; text.length() < DATA; line++) {
            text.append("line ").append(line).append(": jqemu-img training data ").append(line * 7919 % 1000).append('\n');
        }
        byte[] data = text.substring(0, DATA).getBytes(StandardCharsets.US_ASCII);
        java.util.Arrays.fill(data, 1 << 20, (1 << 20) + (64 << 10), (byte) 0);
        try (FileChannel f = FileChannel.open(raw, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            f.write(ByteBuffer.wrap(data), 0);
            f.write(ByteBuffer.wrap(new byte[1]), SIZE - 1); // the size, with a hole before it
        }
    }
}
