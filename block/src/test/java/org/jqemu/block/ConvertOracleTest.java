package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jqemu-img convert produces images that qemu-img check accepts and qemu-img compare finds identical. */
class ConvertOracleTest {
    @TempDir
    Path dir;
    private String src;

    private String path(String n) {
        return dir.resolve(n).toString();
    }

    @BeforeEach
    void source() {
        Oracle.require();
        src = path("src.qcow2");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", src, "6M");
        Oracle.qemuIo(dir, "qcow2", src, "write -P 0x31 0 1M", "write -P 0x32 2M 100k", "write -z 3M 1M",
                "write -P 0 4M 64k", "write -P 0x33 5M 10");
    }

    private void assertIdentical(String a, String b) {
        Oracle.Run r = Oracle.qemuImg(dir, "compare", a, b);
        assertEquals(0, r.status(), r.describe());
    }

    private void convert(String... args) {
        Oracle.Run r = Oracle.jqemuImg(args);
        assertEquals(0, r.status(), r.describe());
    }

    @Test
    void toQcow2AndRaw() {
        convert("convert", "-O", "qcow2", src, path("o.qcow2"));
        assertEquals(0, Oracle.qemuImg(dir, "check", path("o.qcow2")).status());
        assertIdentical(src, path("o.qcow2"));
        convert("convert", "-O", "raw", src, path("o.raw"));
        assertIdentical(src, path("o.raw"));
        convert("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=4096,refcount_bits=2", path("o.raw"),
                path("o2.qcow2"));
        assertEquals(0, Oracle.qemuImg(dir, "check", path("o2.qcow2")).status());
        assertIdentical(src, path("o2.qcow2"));
    }

    @Test
    void sparseDetectionSkipsZeroData() {
        convert("convert", "-O", "qcow2", src, path("sparse.qcow2"));
        Oracle.Run map = Oracle.qemuImg(dir, "map", "--output=json", path("sparse.qcow2"));
        // the explicit zeros written at 4M must not be allocated in the copy
        assertTrue(!map.out().contains("\"start\": 4194304, \"length\": 65536, \"depth\": 0, \"present\": true, "
                + "\"zero\": false, \"data\": true"), map.out());
        convert("convert", "-S", "0", "-O", "qcow2", src, path("full.qcow2"));
        Oracle.Run info = Oracle.qemuImg(dir, "check", path("full.qcow2"));
        assertTrue(info.out().startsWith("No errors were found on the image.\n96/96 = 100.00% allocated"), info.out());
        assertIdentical(src, path("full.qcow2"));
    }

    @Test
    void compressedOutput() {
        convert("convert", "-c", "-O", "qcow2", src, path("c.qcow2"));
        Oracle.Run check = Oracle.qemuImg(dir, "check", "--output=json", path("c.qcow2"));
        assertEquals(0, check.status(), check.describe());
        assertTrue(check.out().contains("\"compressed-clusters\""), check.out());
        assertIdentical(src, path("c.qcow2"));
    }

    /**
     * Text-like data (words drawn at random from a small vocabulary) compresses to some 25% with sizes
     * that vary from cluster to cluster, so compressed clusters run over host cluster boundaries, and
     * incompressible noise in places is stored as is. Compressed the same way as QEMU (zlib level 6,
     * 4 KiB window) and packed the same way, the image is qemu-img's own output, byte for byte.
     */
    @Test
    void compressedOutputIsQemuImgsByteForByte() throws Exception {
        String[] words = {"block ", "cluster ", "refcount ", "table ", "qcow2 ", "image ", "zero ", "data\n",
                "snapshot ", "backing ", "L2 ", "entry ", "offset ", "0x", "compressed ", "deflate "};
        java.util.Random random = new java.util.Random(7);
        StringBuilder text = new StringBuilder();
        while (text.length() < (4 << 20)) {
            text.append(words[random.nextInt(words.length)]);
            if (random.nextInt(8) == 0) {
                text.append(random.nextInt(1 << 20)); // digits: less regular, so sizes vary
            }
        }
        byte[] data = java.util.Arrays.copyOf(text.toString().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                4 << 20);
        byte[] noise = new byte[200_000];
        random.nextBytes(noise);
        System.arraycopy(noise, 0, data, 1 << 20, noise.length);
        java.util.Arrays.fill(data, 3 << 20, (3 << 20) + 200_000, (byte) 0);
        Path raw = dir.resolve("text.raw");
        Files.write(raw, data);
        convert("convert", "-c", "-f", "raw", "-O", "qcow2", raw.toString(), path("ours.qcow2"));
        Oracle.qemuImg(dir, "convert", "-c", "-f", "raw", "-O", "qcow2", raw.toString(), path("theirs.qcow2"));
        Oracle.Run check = Oracle.qemuImg(dir, "check", path("ours.qcow2"));
        assertEquals(0, check.status(), check.describe());
        assertIdentical(raw.toString(), path("ours.qcow2"));
        assertArrayEquals(Files.readAllBytes(Path.of(path("theirs.qcow2"))), Files.readAllBytes(Path.of(path("ours.qcow2"))));
    }

    /** Zero detection works per target cluster as qemu-img's does: the same clusters end up allocated. */
    @Test
    void rawToQcow2AllocatesTheClustersQemuImgDoes() {
        Oracle.qemuImg(dir, "convert", "-O", "raw", src, path("s.raw"));
        // Zeros inside a cluster that has data (5M+10 onwards) and a zero cluster between data (4M).
        convert("convert", "-f", "raw", "-O", "qcow2", path("s.raw"), path("ours.qcow2"));
        Oracle.qemuImg(dir, "convert", "-f", "raw", "-O", "qcow2", path("s.raw"), path("theirs.qcow2"));
        assertEquals(Oracle.qemuImg(dir, "map", "--output=json", path("theirs.qcow2")).out(),
                Oracle.qemuImg(dir, "map", "--output=json", path("ours.qcow2")).out());
        assertIdentical(path("s.raw"), path("ours.qcow2"));
    }

    @Test
    void concatenationExistingTargetAndBackingFile() throws Exception {
        String two = path("two.raw");
        convert("convert", "-O", "raw", src, src, two);
        assertEquals(12L << 20, Files.size(Path.of(two)));
        Oracle.Run r = Oracle.qemuIo(dir, "raw", two, "read -P 0x31 6M 1M", "read -P 0x33 11M 10");
        assertTrue(r.status() == 0 && !r.out().contains("fail"), r.describe());

        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", path("existing.qcow2"), "6M");
        Oracle.qemuIo(dir, "qcow2", path("existing.qcow2"), "write -P 0x77 0 6M");
        convert("convert", "-n", "-O", "qcow2", src, path("existing.qcow2"));
        assertIdentical(src, path("existing.qcow2"));

        convert("convert", "-B", src, "-F", "qcow2", "-O", "qcow2", src, path("overlay.qcow2"));
        Oracle.Run info = Oracle.qemuImg(dir, "info", path("overlay.qcow2"));
        assertTrue(info.out().contains("backing file: " + src), info.out());
        assertIdentical(src, path("overlay.qcow2"));
        Oracle.Run map = Oracle.qemuImg(dir, "map", "--output=json", path("overlay.qcow2"));
        assertTrue(!map.out().contains("\"depth\": 0, \"present\": true"), "nothing copied: " + map.out());
    }

    @Test
    void readsQemuCompressedAndRawWithOurDriver() throws Exception {
        Oracle.qemuImg(dir, "convert", "-c", "-O", "qcow2", src, path("qc.qcow2"));
        convert("convert", "-O", "raw", path("qc.qcow2"), path("back.raw"));
        assertArrayEquals(Oracle.rawContents(dir, src), Files.readAllBytes(Path.of(path("back.raw"))));
    }

    @Test
    void progressOutput() {
        Oracle.Run r = Oracle.jqemuImg("convert", "-p", "-O", "raw", src, path("p.raw"));
        assertEquals(0, r.status());
        assertTrue(r.out().endsWith("    (100.00/100%)\r\n"), r.out());
        Oracle.Run q = Oracle.qemuImg(dir, "convert", "-p", "-O", "raw", src, path("q.raw"));
        assertTrue(q.out().endsWith("    (100.00/100%)\r\n"), "oracle: " + q.out());
    }
}
