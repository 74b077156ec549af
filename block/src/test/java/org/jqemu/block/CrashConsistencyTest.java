package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer killed with SIGKILL at an arbitrary moment leaves an image that qemu-img check reports
 * clean (0) or with leaks only (3), never corrupt.
 */
class CrashConsistencyTest {
    @TempDir
    Path dir;

    /** Child process: writes, zeroes and discards forever until killed. */
    public static void main(String[] args) throws Exception {
        Random rnd = new Random(Long.parseLong(args[1]));
        try (BlockDevice d = Images.open(args[0], "qcow2", OpenOptions.READ_WRITE)) {
            System.out.println("ready");
            System.out.flush();
            long size = d.size();
            while (true) {
                int len = 1 + rnd.nextInt(40_000);
                long off = (long) (rnd.nextDouble() * (size - len));
                switch (rnd.nextInt(8)) {
                    case 0 -> d.writeZeroes(off, len, true);
                    case 1 -> d.discard(off, len);
                    default -> {
                        byte[] b = new byte[len];
                        rnd.nextBytes(b);
                        d.write(off, b, 0, len);
                    }
                }
            }
        }
    }

    @Test
    void killedWriterLeavesCleanOrLeakingImage() throws Exception {
        Oracle.require();
        String img = dir.resolve("crash.qcow2").toString();
        // small clusters: refcount blocks, table growth and L2 allocation happen all the time
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=512,refcount_bits=8",
                img, "32M").status());
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Random rnd = new Random(11);
        for (int round = 0; round < 4; round++) {
            Process p = new ProcessBuilder(List.of(java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                    CrashConsistencyTest.class.getName(), img, String.valueOf(round)))
                    .redirectErrorStream(true).start();
            byte[] ready = p.getInputStream().readNBytes(6);
            assertEquals("ready\n", new String(ready), "child did not start");
            Thread.sleep(200 + rnd.nextInt(800));
            p.destroyForcibly();
            assertTrue(p.waitFor(10, TimeUnit.SECONDS));
            Oracle.Run check = Oracle.qemuImg(dir, "check", img);
            assertTrue(check.status() == 0 || check.status() == 3, "round " + round + ": " + check.describe());
            if (check.status() == 3) {
                // our repair must bring it back to clean, as qemu-img check -r leaks would
                Oracle.Run repair = Oracle.jqemuImg("check", "-r", "leaks", img);
                assertEquals(0, repair.status(), repair.describe());
                assertEquals(0, Oracle.qemuImg(dir, "check", img).status());
            }
        }
    }
}
