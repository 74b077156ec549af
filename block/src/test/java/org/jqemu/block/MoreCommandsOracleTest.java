package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** measure, commit, rebase, amend, dd and bench against qemu-img. */
class MoreCommandsOracleTest {
    @TempDir
    Path dir;

    private String path(String n) {
        return dir.resolve(n).toString();
    }

    private String image() {
        String a = path("a.qcow2");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", a, "64M");
        Oracle.qemuIo(dir, "qcow2", a, "write -P 0xab 0 100k", "write -z 1M 64k", "write -P 5 2M 4k");
        return a;
    }

    private static void ok(Oracle.Run r) {
        assertEquals(0, r.status(), r.describe());
    }

    @Test
    void measureMatchesQemu() {
        Oracle.require();
        String a = image();
        String[][] cases = {
            {"measure", "-O", "qcow2", "--size", "1G"},
            {"measure", "-O", "qcow2", a},
            {"measure", "--output=json", "-O", "qcow2", a},
            {"measure", "-O", "raw", a},
            {"measure", "-O", "qcow2", "-o", "cluster_size=4096", a},
            {"measure", "-O", "qcow2", "-o", "cluster_size=512,refcount_bits=1", "--size", "3G"},
            {"measure", "-O", "qcow2", "-o", "cluster_size=2M,refcount_bits=64", "--size", "100G"},
        };
        for (String[] c : cases) {
            Oracle.Run q = Oracle.qemuImg(dir, c);
            Oracle.Run j = Oracle.jqemuImg(c);
            assertEquals(q.out(), j.out(), String.join(" ", c));
            assertEquals(q.status(), j.status());
        }
    }

    @Test
    void commitWritesIntoBackingAndEmptiesTheTop() throws Exception {
        Oracle.require();
        String a = image();
        String top = path("top.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-b", a, "-F", "qcow2", top));
        ok(Oracle.qemuIo(dir, "qcow2", top, "write -P 0x99 50k 100k", "write -z 2M 4k"));
        byte[] expected = Oracle.rawContents(dir, top);
        Oracle.Run r = Oracle.jqemuImg("commit", top);
        ok(r);
        assertEquals("Image committed.\n", r.out());
        assertArrayEquals(expected, Oracle.rawContents(dir, a));
        assertArrayEquals(expected, Oracle.rawContents(dir, top));
        ok(Oracle.qemuImg(dir, "check", a));
        ok(Oracle.qemuImg(dir, "check", top));
        Oracle.Run map = Oracle.qemuImg(dir, "map", "--output=json", top);
        assertTrue(!map.out().contains("\"depth\": 0"), "top must be empty: " + map.out());
    }

    @Test
    void rebaseSafeAndUnsafe() throws Exception {
        Oracle.require();
        String a = image();
        String b = path("b.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", b, "64M"));
        ok(Oracle.qemuIo(dir, "qcow2", b, "write -P 0x11 0 64k", "write -P 0x12 3M 64k"));
        String top = path("top.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-b", a, "-F", "qcow2", top));
        ok(Oracle.qemuIo(dir, "qcow2", top, "write -P 0x77 10k 1k"));
        byte[] before = Oracle.rawContents(dir, top);
        ok(Oracle.jqemuImg("rebase", "-b", b, "-F", "qcow2", top));
        assertArrayEquals(before, Oracle.rawContents(dir, top), "safe rebase keeps the content");
        assertTrue(Oracle.qemuImg(dir, "info", top).out().contains("backing file: " + b));
        ok(Oracle.qemuImg(dir, "check", top));
        ok(Oracle.jqemuImg("rebase", "-u", "-b", a, "-F", "qcow2", top));
        Oracle.Run info = Oracle.qemuImg(dir, "info", "--output=json", top);
        assertTrue(info.out().contains("\"backing-filename\": \"" + a + "\""), info.out());
        byte[] withA = Oracle.rawContents(dir, top);
        ok(Oracle.jqemuImg("rebase", "-b", "", top));
        assertArrayEquals(withA, Oracle.rawContents(dir, top), "removing the backing file keeps the content");
        assertTrue(!Oracle.qemuImg(dir, "info", top).out().contains("backing file"));
    }

    @Test
    void amendChangesHeaderOptions() {
        Oracle.require();
        String v2 = path("v2.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "compat=0.10", v2, "8M"));
        ok(Oracle.qemuIo(dir, "qcow2", v2, "write -P 3 0 1M"));
        ok(Oracle.jqemuImg("amend", "-o", "compat=1.1,lazy_refcounts=on", v2));
        Oracle.Run info = Oracle.qemuImg(dir, "info", v2);
        assertTrue(info.out().contains("compat: 1.1") && info.out().contains("lazy refcounts: true"), info.out());
        ok(Oracle.qemuImg(dir, "check", v2));
        Oracle.Run io = Oracle.qemuIo(dir, "qcow2", v2, "read -P 3 0 1M");
        assertTrue(!io.out().contains("fail"), io.describe());
        Oracle.Run q = Oracle.qemuImg(dir, "amend", "-o", "cluster_size=4096", v2);
        Oracle.Run j = Oracle.jqemuImg("amend", "-o", "cluster_size=4096", v2);
        assertEquals(q.status(), j.status());
        assertEquals(q.err(), Oracle.asQemu(j.err()));
    }

    @Test
    void amendDowngradeKeepsContent() throws Exception {
        Oracle.require();
        String base = image();
        String top = path("dg.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-b", base, "-F", "qcow2", top));
        ok(Oracle.qemuIo(dir, "qcow2", top, "write -z 0 64k", "write -P 2 1M 64k", "write -z 1M 64k",
                "write -P 3 2M 100"));
        byte[] before = Oracle.rawContents(dir, top);
        ok(Oracle.jqemuImg("amend", "-o", "compat=0.10", top));
        assertTrue(Oracle.qemuImg(dir, "info", top).out().contains("compat: 0.10"));
        ok(Oracle.qemuImg(dir, "check", top));
        assertArrayEquals(before, Oracle.rawContents(dir, top));
        String plain = path("dgp.qcow2");
        ok(Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", plain, "2M"));
        ok(Oracle.qemuIo(dir, "qcow2", plain, "write -P 5 0 2M", "write -z 64k 1M"));
        byte[] plainBefore = Oracle.rawContents(dir, plain);
        ok(Oracle.jqemuImg("amend", "-o", "compat=0.10", plain));
        ok(Oracle.qemuImg(dir, "check", plain));
        assertArrayEquals(plainBefore, Oracle.rawContents(dir, plain));
    }

    @Test
    void unknownHeaderExtensionsSurviveHeaderRewrites() throws Exception {
        Oracle.require();
        String img = image();
        // qemu-img's fresh v3 header: 112 bytes, feature table extension (8 + 384 bytes), end marker.
        long endMarker = 112 + 8 + 384;
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(img, "rw")) {
            f.seek(endMarker);
            f.writeInt(0x12345678);
            f.writeInt(5);
            f.write("hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            f.write(new byte[3 + 8]);
        }
        ok(Oracle.qemuImg(dir, "check", img));
        ok(Oracle.jqemuImg("amend", "-o", "lazy_refcounts=on", img));
        ok(Oracle.jqemuImg("rebase", "-u", "-b", path("other.qcow2"), "-F", "qcow2", img));
        byte[] head = java.util.Arrays.copyOf(Files.readAllBytes(Path.of(img)), 4096);
        String text = new String(head, java.nio.charset.StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("\u0012\u0034\u0056\u0078\u0000\u0000\u0000\u0005hello"), "extension kept");
        Oracle.Run info = Oracle.qemuImg(dir, "info", "-U", img);
        assertTrue(info.out().contains("lazy refcounts: true") && info.out().contains("backing file: " + path("other.qcow2")),
                info.out());
    }

    @Test
    void ddCopiesBlocks() throws Exception {
        Oracle.require();
        String a = image();
        ok(Oracle.jqemuImg("dd", "if=" + a, "of=" + path("j.raw"), "-O", "raw", "bs=64k", "count=3", "skip=1"));
        ok(Oracle.qemuImg(dir, "dd", "if=" + a, "of=" + path("q.raw"), "-O", "raw", "bs=64k", "count=3", "skip=1"));
        assertTrue(Arrays.equals(Files.readAllBytes(Path.of(path("q.raw"))), Files.readAllBytes(Path.of(path("j.raw")))));
    }

    @Test
    void benchPrintsQemuHeader() {
        Oracle.require();
        String a = image();
        Oracle.Run q = Oracle.qemuImg(dir, "bench", "-c", "10", a);
        Oracle.Run j = Oracle.jqemuImg("bench", "-c", "10", a);
        ok(j);
        assertEquals(q.out().lines().findFirst(), j.out().lines().findFirst());
        assertTrue(j.out().lines().skip(1).findFirst().orElse("").matches("Run completed in [0-9]+\\.[0-9]{3} seconds\\."));
    }
}
