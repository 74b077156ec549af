package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writing images with extended L2 entries (subclusters): random writes and zeroing, over a backing file
 * or not, then qemu-img check must find no error, and qemu-img must read what a plain byte-array model
 * of the same requests holds.
 */
class ExtendedL2WriteOracleTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "cluster {0}, backing {1}")
    @CsvSource({"65536,false", "65536,true", "2M,true", "16384,false"})
    void randomRequestsMatchTheModel(String clusterSize, boolean withBacking) throws Exception {
        Oracle.require();
        int size = 6 << 20;
        byte[] model = new byte[size];
        String img = dir.resolve("ext.qcow2").toString();
        if (withBacking) {
            new Random(1).nextBytes(model);
            Files.write(dir.resolve("base.raw"), model);
            assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size="
                    + clusterSize, "-b", "base.raw", "-F", "raw", img).status());
        } else {
            assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size="
                    + clusterSize, img, String.valueOf(size)).status());
        }
        Random rnd = new Random(clusterSize.hashCode() + (withBacking ? 1 : 0));
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            for (int i = 0; i < 400; i++) {
                int len = 1 + rnd.nextInt(i % 10 == 0 ? 300_000 : 9000);
                int off = rnd.nextInt(size - len);
                if (rnd.nextInt(5) == 0) {
                    d.writeZeroes(off, len, rnd.nextBoolean());
                    Arrays.fill(model, off, off + len, (byte) 0);
                } else {
                    byte[] b = new byte[len];
                    rnd.nextBytes(b);
                    d.write(off, b, 0, len);
                    System.arraycopy(b, 0, model, off, len);
                }
            }
        }
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        assertTrue(Oracle.qemuImg(dir, "info", img).out().contains("extended l2: true"));
        assertArrayEquals(model, Oracle.rawContents(dir, img));
        assertEquals(Oracle.qemuImg(dir, "map", "--output=json", img).out(),
                Oracle.jqemuImg("map", "--output=json", img).out());
    }
}
