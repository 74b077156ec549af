package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.block.qcow2.Qcow2Device;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** Images created and written by our driver must satisfy qemu-img check and read back identically in QEMU. */
class Qcow2WriteOracleTest {
    @TempDir
    Path dir;

    /** Writes random requests (data, zeroes, discards) to our image and to a byte-array model. */
    private static void randomWrites(BlockDevice d, byte[] model, long seed, int requests) throws BlockException {
        Random rnd = new Random(seed);
        for (int i = 0; i < requests; i++) {
            int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 4096 : 300_000);
            long off = (long) (rnd.nextDouble() * (model.length - len));
            int op = rnd.nextInt(10);
            if (op < 7) {
                byte[] data = new byte[len];
                rnd.nextBytes(data);
                d.write(off, data, 0, len);
                System.arraycopy(data, 0, model, (int) off, len);
            } else if (op < 9) {
                d.writeZeroes(off, len, rnd.nextBoolean());
                java.util.Arrays.fill(model, (int) off, (int) off + len, (byte) 0);
            } else {
                // discard leaves contents unspecified; without backing file ours reads zeros where it acts
                byte[] before = new byte[len];
                d.read(off, before, 0, len);
                d.discard(off, len);
                byte[] after = new byte[len];
                d.read(off, after, 0, len);
                for (int k = 0; k < len; k++) {
                    assertTrue(after[k] == 0 || after[k] == before[k], "discard produced foreign data");
                }
                System.arraycopy(after, 0, model, (int) off, len);
            }
        }
    }

    @ParameterizedTest(name = "cluster {0}, refcount_bits {1}, compat {2}")
    @CsvSource({"512,1,1.1", "4096,2,1.1", "65536,16,0.10", "65536,4,1.1", "65536,64,1.1",
                "2097152,8,1.1", "1024,32,1.1", "65536,16,1.1"})
    void ourWritesPassQemuCheckAndReadBack(int clusterSize, int refcountBits, String compat) throws Exception {
        Oracle.require();
        String img = dir.resolve("w.qcow2").toString();
        long size = 8L << 20;
        Oracle.Run c = Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=" + clusterSize
                + ",refcount_bits=" + refcountBits + ",compat=" + compat, img, String.valueOf(size));
        assertEquals(0, c.status(), c.describe());
        byte[] model = new byte[(int) size];
        try (BlockDevice d = Images.open(img, "qcow2", OpenOptions.READ_WRITE)) {
            randomWrites(d, model, clusterSize * 31L + refcountBits, 60);
            byte[] back = new byte[model.length];
            d.read(0, back, 0, back.length);
            assertArrayEquals(model, back, "our own read-back");
        }
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        assertArrayEquals(model, Oracle.rawContents(dir, img), "qemu-img convert -O raw of our image");
        // qemu-io's pattern read of one region we wrote
        try (BlockDevice d = Images.open(img, "qcow2", OpenOptions.READ_WRITE)) {
            byte[] pattern = new byte[70000];
            java.util.Arrays.fill(pattern, (byte) 0x5a);
            d.write(12345, pattern, 0, pattern.length);
        }
        Oracle.Run io = Oracle.qemuIo(dir, "qcow2", img, "read -P 0x5a 12345 70000");
        assertTrue(io.out().contains("read 70000/70000 bytes"), io.describe());
        assertEquals(0, Oracle.qemuImg(dir, "check", img).status());
    }

    @Test
    void growingRefcountTableStaysConsistent() throws Exception {
        Oracle.require();
        // 512-byte clusters and 64-bit refcounts: 64 clusters per refcount block, 64 blocks per table
        // cluster, so 1.5 MiB of data forces several refcount-table growths.
        String img = dir.resolve("g.qcow2").toString();
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=512,refcount_bits=64",
                img, "4M").status());
        byte[] model = new byte[4 << 20];
        new Random(7).nextBytes(model);
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            for (int off = 0; off < (3 << 20); off += 65536) {
                d.write(off, model, off, 65536);
            }
        }
        java.util.Arrays.fill(model, 3 << 20, model.length, (byte) 0);
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        assertArrayEquals(model, Oracle.rawContents(dir, img));
    }

    @Test
    void concurrentWritersOnDisjointRanges() throws Exception {
        Oracle.require();
        String img = dir.resolve("c.qcow2").toString();
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", img, "16M").status());
        byte[] model = new byte[16 << 20];
        new Random(3).nextBytes(model);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE.withUnsafe())) {
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                final int thread = t;
                fs.add(pool.submit(() -> {
                    // interleaved 3000-byte pieces: neighbouring threads share clusters
                    for (int off = thread * 3000; off < model.length; off += 4 * 3000) {
                        int len = Math.min(3000, model.length - off);
                        d.write(off, model, off, len);
                        byte[] back = new byte[len];
                        d.read(off, back, 0, len);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get();
            }
        } finally {
            pool.shutdown();
        }
        assertEquals(0, Oracle.qemuImg(dir, "check", img).status());
        assertArrayEquals(model, Oracle.rawContents(dir, img));
    }

    @Test
    void compressedWritesAreReadableByQemu() throws Exception {
        Oracle.require();
        String img = dir.resolve("z.qcow2").toString();
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", img, "1M").status());
        byte[] model = new byte[1 << 20];
        for (int i = 0; i < model.length; i++) {
            model[i] = (byte) (i / 1000);
        }
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            Qcow2Device q = (Qcow2Device) d;
            for (int off = 0; off < model.length; off += 65536) {
                q.writeCompressed(off, model, off, 65536);
            }
            // overwrite part of a compressed cluster: copy-on-write decompresses
            byte[] p = new byte[100];
            java.util.Arrays.fill(p, (byte) 9);
            d.write(70000, p, 0, 100);
            System.arraycopy(p, 0, model, 70000, 100);
        }
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        assertTrue(check.out().contains("compressed clusters"), check.out());
        assertArrayEquals(model, Oracle.rawContents(dir, img));
    }

    @Test
    void backingChainWritesCopyOnWrite() throws Exception {
        Oracle.require();
        String base = dir.resolve("base.qcow2").toString();
        String top = dir.resolve("top.qcow2").toString();
        Oracle.qemuImg(dir, "create", "-f", "qcow2", base, "2M");
        Oracle.qemuIo(dir, "qcow2", base, "write -P 0x11 0 2M");
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top).status());
        byte[] model = new byte[2 << 20];
        java.util.Arrays.fill(model, (byte) 0x11);
        try (BlockDevice d = Images.open(top, null, OpenOptions.READ_WRITE)) {
            byte[] p = new byte[10];
            java.util.Arrays.fill(p, (byte) 0x22);
            d.write(100_000, p, 0, 10);
            System.arraycopy(p, 0, model, 100_000, 10);
            d.writeZeroes(65536 * 5, 65536, false);
            java.util.Arrays.fill(model, 65536 * 5, 65536 * 6, (byte) 0);
        }
        assertEquals(0, Oracle.qemuImg(dir, "check", top).status());
        assertArrayEquals(model, Oracle.rawContents(dir, top));
        Oracle.Run io = Oracle.qemuIo(dir, "qcow2", top, "read -P 0x11 0 100000", "read -P 0x22 100000 10",
                "read -P 0 327680 65536");
        assertTrue(!io.out().contains("Pattern verification failed") && io.status() == 0, io.describe());
    }

    @Test
    void resizeGrowAndShrink() throws Exception {
        Oracle.require();
        String img = dir.resolve("r.qcow2").toString();
        Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=512", img, "1M");
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            d.write(1000, new byte[] {1, 2, 3}, 0, 3);
            d.resize(64L << 20); // needs a bigger L1 table with 512-byte clusters
            d.write((64L << 20) - 3, new byte[] {4, 5, 6}, 0, 3);
            d.resize(2048);
        }
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        byte[] raw = Oracle.rawContents(dir, img);
        assertEquals(2048, raw.length);
        assertEquals(3, raw[1002]);
    }
}
