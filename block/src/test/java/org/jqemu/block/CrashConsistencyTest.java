package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer killed with SIGKILL at an arbitrary moment leaves an image that qemu-img check reports
 * clean (0) or with leaks only (3), never corrupt, and every write acknowledged by a flush before the
 * kill reads back intact (through qemu-img, the oracle).
 */
class CrashConsistencyTest {
    private static final long SIZE = 16 << 20;
    /** The child flushes after this many requests and then reports "F n" (n: last request flushed). */
    private static final int FLUSH_EVERY = 5;
    private static final int ROUNDS = 12;

    @TempDir
    Path dir;

    /** One request of the child, the same sequence for the child and for the test's model. */
    private record Op(int kind, long offset, int length, byte[] data) {
        static final int WRITE = 0;
        static final int ZERO = 1;
        static final int DISCARD = 2;

        static Op next(Random rnd) {
            int len = 1 + rnd.nextInt(40_000);
            long off = (long) (rnd.nextDouble() * (SIZE - len));
            int k = rnd.nextInt(8);
            int kind = k == 0 ? ZERO : k == 1 ? DISCARD : WRITE;
            byte[] data = null;
            if (kind == WRITE) {
                data = new byte[len];
                rnd.nextBytes(data);
            }
            return new Op(kind, off, len, data);
        }
    }

    /** Child process: requests and flushes forever until killed. */
    public static void main(String[] args) throws Exception {
        Random rnd = new Random(Long.parseLong(args[1]));
        try (BlockDevice d = Images.open(args[0], "qcow2", OpenOptions.READ_WRITE)) {
            System.out.println("ready");
            System.out.flush();
            for (long n = 0; ; n++) {
                Op op = Op.next(rnd);
                switch (op.kind()) {
                    case Op.ZERO -> d.writeZeroes(op.offset(), op.length(), true);
                    case Op.DISCARD -> d.discard(op.offset(), op.length());
                    default -> d.write(op.offset(), op.data(), 0, op.length());
                }
                if (n % FLUSH_EVERY == FLUSH_EVERY - 1) {
                    d.flush();
                    System.out.println("F " + n);
                    System.out.flush();
                }
            }
        }
    }

    @Test
    void killedWriterLeavesCleanOrLeakingImageWithFlushedWritesIntact() throws Exception {
        Oracle.require();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Random timing = new Random(11);
        int verifiedRequests = 0;
        for (int round = 0; round < ROUNDS; round++) {
            String img = dir.resolve("crash" + round + ".qcow2").toString();
            // Small clusters (odd rounds): refcount blocks, table growth and L2 allocation all the time.
            String opts = round % 2 == 1 ? "cluster_size=512,refcount_bits=8" : "cluster_size=65536";
            assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", opts, img, String.valueOf(SIZE))
                    .status());
            // The child reports to a file: what it wrote there before the kill survives it.
            Path log = dir.resolve("child" + round + ".log");
            Process p = new ProcessBuilder(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    CrashConsistencyTest.class.getName(), img, String.valueOf(round)))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            for (int wait = 0; !Files.readString(log).startsWith("ready\n"); wait++) {
                assertTrue(wait < 600 && p.isAlive(), "child did not start: " + Files.readString(log));
                Thread.sleep(50);
            }
            Thread.sleep(100 + timing.nextInt(900));
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            long lastFlushed = -1;
            for (String line : Files.readString(log).split("\n")) {
                if (line.startsWith("F ")) {
                    lastFlushed = Long.parseLong(line.substring(2));
                } else if (!line.isEmpty() && !line.equals("ready")) {
                    fail("child: " + line);
                }
            }
            Oracle.Run check = Oracle.qemuImg(dir, "check", img);
            assertTrue(check.status() == 0 || check.status() == 3, "round " + round + ": " + check.describe());
            verifyFlushedData(img, round, lastFlushed);
            verifiedRequests += (int) (lastFlushed + 1);
            if (check.status() == 3) {
                // our repair must bring it back to clean, as qemu-img check -r leaks would
                Oracle.Run repair = Oracle.jqemuImg("check", "-r", "leaks", img);
                assertEquals(0, repair.status(), repair.describe());
                assertEquals(0, Oracle.qemuImg(dir, "check", img).status());
            }
            Files.delete(Path.of(img));
        }
        assertTrue(verifiedRequests > 0, "no request was acknowledged in any round: nothing verified");
    }

    /**
     * Replays the child's requests: those up to lastFlushed define the expected bytes; the next
     * FLUSH_EVERY may have been in flight and make their ranges unknown, as discard does.
     */
    private void verifyFlushedData(String img, int seed, long lastFlushed) throws Exception {
        byte[] expected = new byte[(int) SIZE];
        BitSet unknown = new BitSet((int) SIZE);
        Random rnd = new Random(seed);
        for (long n = 0; n <= lastFlushed + FLUSH_EVERY; n++) {
            Op op = Op.next(rnd);
            int from = (int) op.offset();
            int to = from + op.length();
            if (n > lastFlushed || op.kind() == Op.DISCARD) {
                unknown.set(from, to);
            } else {
                unknown.clear(from, to);
                if (op.kind() == Op.ZERO) {
                    Arrays.fill(expected, from, to, (byte) 0);
                } else {
                    System.arraycopy(op.data(), 0, expected, from, op.length());
                }
            }
        }
        byte[] actual = Oracle.rawContents(dir, img);
        for (int i = unknown.nextClearBit(0); i < SIZE; i = unknown.nextClearBit(i + 1)) {
            int end = Math.min((int) SIZE, unknown.nextSetBit(i) < 0 ? (int) SIZE : unknown.nextSetBit(i));
            if (!Arrays.equals(expected, i, end, actual, i, end)) {
                fail("seed " + seed + ": flushed data lost in [" + i + ", " + end + ") (last flushed request "
                        + lastFlushed + ")");
            }
            i = end;
        }
    }
}
