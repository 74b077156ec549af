package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * zstd-compressed qcow2, qcow (version 1) writing, and convert's -l, -m and -W, each checked against
 * qemu-img and qemu-io.
 */
class FormatsOracleTest {
    @TempDir
    Path dir;
    /** 3 MiB of mixed data: compressible text, random bytes, zeros. */
    private Path raw;
    private byte[] content;

    private String path(String n) {
        return dir.resolve(n).toString();
    }

    private static void ok(Oracle.Run r) {
        assertEquals(0, r.status(), r.describe());
    }

    @BeforeEach
    void source() throws Exception {
        Oracle.require();
        content = new byte[3 << 20];
        Random rnd = new Random(7);
        for (int i = 0; i < (1 << 20); i++) {
            content[i] = (byte) "the quick brown fox jumps over the lazy dog ".charAt(i % 44);
        }
        byte[] noise = new byte[700_000];
        rnd.nextBytes(noise);
        System.arraycopy(noise, 0, content, (1 << 20) + 4096, noise.length);
        content[content.length - 1] = 1;
        raw = dir.resolve("src.raw");
        Files.write(raw, content);
    }

    @Test
    void zstdWrittenByJqemuPassesQemuChecks() throws Exception {
        ok(Oracle.jqemuImg("convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", raw.toString(), path("z.qcow2")));
        ok(Oracle.qemuImg(dir, "check", path("z.qcow2")));
        assertTrue(Oracle.qemuImg(dir, "info", path("z.qcow2")).out().contains("compression type: zstd"));
        assertArrayEquals(content, Oracle.rawContents(dir, path("z.qcow2")));
        readsPattern("qcow2", path("z.qcow2"));
    }

    @Test
    void zstdWrittenByQemuReadsIdentically() throws Exception {
        for (String cs : new String[] {"512", "65536", "2M"}) {
            String img = path("q" + cs + ".qcow2");
            ok(Oracle.qemuImg(dir, "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd,cluster_size=" + cs,
                    raw.toString(), img));
            ok(Oracle.jqemuImg("convert", "-O", "raw", img, path("back.raw")));
            assertArrayEquals(content, Files.readAllBytes(dir.resolve("back.raw")), cs);
            assertEquals(Oracle.qemuImg(dir, "map", "--output=json", img).out(),
                    Oracle.jqemuImg("map", "--output=json", img).out(), cs);
            // a partial overwrite of a compressed cluster (decompress, merge, reallocate)
            try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
                d.write(10, new byte[] {9, 9, 9}, 0, 3);
            }
            byte[] expected = content.clone();
            expected[10] = expected[11] = expected[12] = 9;
            assertArrayEquals(expected, Oracle.rawContents(dir, img), cs);
            ok(Oracle.qemuImg(dir, "check", img));
        }
    }

    @Test
    void parallelConversionIsDeterministic() throws Exception {
        ok(Oracle.jqemuImg("convert", "-c", "-m", "1", "-O", "qcow2", raw.toString(), path("m1.qcow2")));
        ok(Oracle.jqemuImg("convert", "-c", "-m", "16", "-O", "qcow2", raw.toString(), path("m16.qcow2")));
        ok(Oracle.jqemuImg("convert", "-W", "-m", "4", "-O", "qcow2", raw.toString(), path("w.qcow2")));
        assertArrayEquals(Files.readAllBytes(dir.resolve("m1.qcow2")), Files.readAllBytes(dir.resolve("m16.qcow2")),
                "writes go out in order whatever the number of workers");
        ok(Oracle.qemuImg(dir, "compare", raw.toString(), path("m16.qcow2")));
        ok(Oracle.qemuImg(dir, "compare", raw.toString(), path("w.qcow2")));
        Oracle.Run bad = Oracle.jqemuImg("convert", "-m", "17", "-O", "qcow2", raw.toString(), path("x.qcow2"));
        assertEquals(Oracle.qemuImg(dir, "convert", "-m", "17", "-O", "qcow2", raw.toString(), path("x.qcow2")).err(),
                Oracle.asQemu(bad.err()));
    }

    @Test
    void convertFromSnapshot() throws Exception {
        String img = path("snap.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", img, "1M"));
        ok(Oracle.qemuIo(dir, "qcow2", img, "write -P 1 0 64k"));
        ok(Oracle.qemuImg(dir, "snapshot", "-c", "first", img));
        ok(Oracle.qemuIo(dir, "qcow2", img, "write -P 2 0 64k"));
        for (String l : new String[] {"first", "snapshot.name=first", "snapshot.id=1"}) {
            ok(Oracle.jqemuImg("convert", "-l", l, "-O", "raw", img, path("j.raw")));
            ok(Oracle.qemuImg(dir, "convert", "-l", l, "-O", "raw", img, path("q.raw")));
            assertArrayEquals(Files.readAllBytes(dir.resolve("q.raw")), Files.readAllBytes(dir.resolve("j.raw")), l);
        }
        for (String[] args : new String[][] {{"convert", "-l", "none", "-O", "raw", img, path("e.raw")},
                {"convert", "-l", "first", "-O", "raw", raw.toString(), path("e.raw")},
                {"convert", "-l", "first", "-O", "raw", img, img, path("e.raw")}}) {
            Oracle.Run j = Oracle.jqemuImg(args);
            Oracle.Run q = Oracle.qemuImg(dir, args);
            assertEquals(q.status(), j.status(), String.join(" ", args));
            assertEquals(q.err(), Oracle.asQemu(j.err()), String.join(" ", args));
        }
    }

    @Test
    void qcowVersion1CreatedAsQemuDoes() throws Exception {
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "raw", path("base.raw"), "3M"));
        String[][] variants = {{"5M"}, {"-b", "base.raw", "-F", "raw"}};
        for (String[] v : variants) {
            String[] q = concat(new String[] {"create", "-q", "-f", "qcow", path("q.qcow")}, v);
            String[] j = concat(new String[] {"create", "-q", "-f", "qcow", path("j.qcow")}, v);
            if (v.length > 1) { // backing: the image size comes from the backing file, named as given
                q = new String[] {"create", "-q", "-f", "qcow", "-b", "base.raw", "-F", "raw", path("q.qcow")};
                j = new String[] {"create", "-q", "-f", "qcow", "-b", "base.raw", "-F", "raw", path("j.qcow")};
            }
            ok(Oracle.qemuImg(dir, q));
            ok(Oracle.jqemuImg(j));
            assertArrayEquals(Files.readAllBytes(dir.resolve("q.qcow")), Files.readAllBytes(dir.resolve("j.qcow")),
                    String.join(" ", v));
        }
        Oracle.Run aes = Oracle.jqemuImg("create", "-q", "-f", "qcow", "-o", "encryption=on", path("aes.qcow"), "1M");
        assertEquals(1, aes.status());
        assertTrue(aes.err().contains("legacy AES encryption is not supported"), aes.err());
    }

    /** qemu-io reads the first byte ('t') of the text part back. */
    private void readsPattern(String format, String img) {
        Oracle.Run r = Oracle.qemuIo(dir, format, img, "read -P 0x74 0 1");
        assertTrue(r.out().contains("read 1/1 bytes") && !r.out().contains("verification failed"), r.describe());
    }

    private static String[] concat(String[] a, String[] b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    @Test
    void qcowVersion1WrittenByJqemuReadsBackInQemu() throws Exception {
        ok(Oracle.jqemuImg("convert", "-O", "qcow", raw.toString(), path("v1.qcow")));
        ok(Oracle.qemuImg(dir, "compare", raw.toString(), path("v1.qcow")));
        ok(Oracle.jqemuImg("convert", "-c", "-O", "qcow", raw.toString(), path("v1c.qcow")));
        ok(Oracle.qemuImg(dir, "compare", raw.toString(), path("v1c.qcow")));
        assertTrue(Files.size(dir.resolve("v1c.qcow")) < content.length / 2, "clusters were compressed");
        // Partial writes over a backing file and over compressed clusters, through the block API.
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow", "-b", "v1c.qcow", "-F", "qcow", path("top.qcow")));
        byte[] expected = content.clone();
        byte[] patch = new byte[70_000];
        new Random(3).nextBytes(patch);
        try (BlockDevice top = Images.open(path("top.qcow"), null, OpenOptions.READ_WRITE)) {
            top.write(1000, patch, 0, patch.length);
            top.writeZeroes(2 << 20, 5000, true);
        }
        System.arraycopy(patch, 0, expected, 1000, patch.length);
        java.util.Arrays.fill(expected, 2 << 20, (2 << 20) + 5000, (byte) 0);
        assertArrayEquals(expected, Oracle.rawContents(dir, path("top.qcow")));
        try (BlockDevice comp = Images.open(path("v1c.qcow"), null, OpenOptions.READ_WRITE)) {
            comp.write(100, patch, 0, 3000);
        }
        byte[] expected2 = content.clone();
        System.arraycopy(patch, 0, expected2, 100, 3000);
        assertArrayEquals(expected2, Oracle.rawContents(dir, path("v1c.qcow")));
        readsPattern("qcow", path("v1c.qcow"));
    }
}
