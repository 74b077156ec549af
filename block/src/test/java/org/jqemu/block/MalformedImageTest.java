package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Malformed images give clear errors (as QEMU's), never exception traces, and are never damaged. */
class MalformedImageTest {
    @TempDir
    Path dir;

    /** A small qcow2 image with some data, made by our own tool (no oracle needed). */
    private Path image(String name) throws Exception {
        Path p = dir.resolve(name);
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", p.toString(), "4M").status());
        try (BlockDevice d = Images.open(p.toString(), null, OpenOptions.READ_WRITE)) {
            byte[] data = new byte[200_000];
            new Random(1).nextBytes(data);
            d.write(1000, data, 0, data.length);
        }
        return p;
    }

    private static void poke(Path p, long offset, long value, int bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(offset);
            for (int i = bytes - 1; i >= 0; i--) {
                f.write((int) (value >>> (8 * i)));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "huge L1 size,36,4,2147483647,Active L1 table too large",
        "misaligned L1,40,8,196609,Active L1 table offset invalid",
        "L1 beyond the file,40,8,1099511627776,Active L1 table offset invalid",
        "refcount_order 7,96,4,7,Reference count entry width too large; may not exceed 64 bits",
        "unknown incompatible bit,72,8,1099511627776,Unsupported qcow2 feature(s): Unknown incompatible feature: 10000000000",
        "misaligned refcount table,48,8,65544,Reference count table offset invalid",
        "cluster_bits 30,20,4,30,Unsupported cluster size: 2^30",
        "header length 50,100,4,50,qcow2 header too short",
        "version 5,4,4,5,Unsupported qcow2 version 5",
        "zero refcount table clusters,56,4,0,Image does not contain a reference count table",
    })
    void headerFieldsAreValidated(String what, long offset, int bytes, long value, String message) throws Exception {
        Path p = image("m.qcow2");
        poke(p, offset, value, bytes);
        byte[] before = Files.readAllBytes(p);
        for (String cmd : new String[] {"info", "check", "map"}) {
            Oracle.Run r = Oracle.jqemuImg(cmd, p.toString());
            assertEquals(1, r.status(), what + ": " + r.describe());
            assertEquals("jqemu-img: Could not open '" + p + "': " + message + "\n", r.err(), what);
        }
        assertThrows(BlockException.class, () -> Images.open(p.toString(), null, OpenOptions.READ_WRITE));
        assertArrayEquals(before, Files.readAllBytes(p), "the image must not change");
    }

    @Test
    void sameMessagesAsQemu() throws Exception {
        Oracle.require();
        long[][] cases = {{36, 4, 0x7fffffffL}, {40, 8, 0x30001}, {96, 4, 7}, {72, 8, 1L << 40}, {48, 8, 0x10008},
                          {20, 4, 30}, {100, 4, 50}, {4, 4, 5}};
        for (long[] c : cases) {
            Path p = image("s.qcow2");
            poke(p, c[0], c[2], (int) c[1]);
            Oracle.Run q = Oracle.qemuImg(dir, "info", p.toString());
            Oracle.Run j = Oracle.jqemuImg("info", p.toString());
            assertEquals(q.status(), j.status());
            assertEquals(q.err(), Oracle.asQemu(j.err()), "field at " + c[0]);
        }
        Path t = image("t.qcow2");
        try (RandomAccessFile f = new RandomAccessFile(t.toFile(), "rw")) {
            f.setLength(50);
        }
        assertEquals(Oracle.qemuImg(dir, "info", t.toString()).err(), Oracle.asQemu(Oracle.jqemuImg("info", t.toString()).err()));
    }

    @Test
    void l2EntryPointingAtMetadataIsRefusedNotWritten() throws Exception {
        Path p = image("l2.qcow2");
        // Find the first L2 table through the L1 table and point its first entry at the L1 table itself.
        long l1Offset;
        long l2Offset;
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            f.seek(40);
            l1Offset = f.readLong();
            f.seek(l1Offset);
            l2Offset = f.readLong() & 0x00fffffffffffe00L;
        }
        poke(p, l2Offset, (1L << 63) | l1Offset, 8);
        byte[] before = Files.readAllBytes(p);
        try (BlockDevice d = Images.open(p.toString(), null, OpenOptions.READ_WRITE)) {
            BlockException e = assertThrows(BlockException.class, () -> d.write(0, new byte[512], 0, 512));
            assertTrue(e.getMessage().contains("Preventing invalid write on metadata"), e.getMessage());
        }
        assertArrayEquals(before, Files.readAllBytes(p));
    }

    @Test
    void randomCorruptionNeverEscapesAsAnException() throws Exception {
        Path clean = image("clean.qcow2");
        byte[] original = Files.readAllBytes(clean);
        Random rnd = new Random(42);
        Path p = dir.resolve("fuzz.qcow2");
        for (int round = 0; round < 150; round++) {
            byte[] b = original.clone();
            int mutations = 1 + rnd.nextInt(4);
            for (int m = 0; m < mutations; m++) {
                // header, refcount table/block, L1 and L2 tables live in the first 5 clusters
                int at = rnd.nextInt(round % 2 == 0 ? 128 : Math.min(b.length, 5 * 65536));
                b[at] = (byte) (rnd.nextBoolean() ? rnd.nextInt(256) : b[at] ^ (1 << rnd.nextInt(8)));
            }
            Files.write(p, b);
            for (String[] cmd : new String[][] {{"info", p.toString()}, {"check", p.toString()},
                    {"map", "--output=json", p.toString()}, {"check", "-r", "all", p.toString()},
                    {"convert", "-O", "raw", p.toString(), dir.resolve("out.raw").toString()}}) {
                Oracle.Run r = Oracle.jqemuImg(cmd);
                assertFalse(r.err().contains("internal error") || r.err().contains("Exception"),
                        "round " + round + " " + String.join(" ", cmd) + ": " + r.err());
            }
            try (BlockDevice d = Images.open(p.toString(), null, OpenOptions.READ_WRITE)) {
                d.write(rnd.nextInt(1 << 20), new byte[70000], 0, 70000);
                d.read(0, new byte[300000], 0, 300000);
            } catch (BlockException expected) {
                // a clear error is the right outcome for a damaged image
            }
        }
    }
}
