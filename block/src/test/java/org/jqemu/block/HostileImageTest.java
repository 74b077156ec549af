package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Hostile images in the spirit of QEMU's iotest 080: each gives a clear one-line error and a non-zero
 * exit status (the same text as qemu-img where qemu-img has one), never a hang, an out-of-memory or a
 * stack trace. The images are made by qemu-img/qemu-io and then damaged field by field.
 */
@Timeout(120) // guards against a hang only
class HostileImageTest {
    @TempDir
    Path dir;

    private Path image(String name, boolean snapshot) {
        Oracle.require();
        Path p = dir.resolve(name);
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", p.toString(), "4M").status());
        Oracle.qemuIo(dir, "qcow2", p.toString(), "write -P 5 0 200k");
        if (snapshot) {
            assertEquals(0, Oracle.qemuImg(dir, "snapshot", "-c", "s", p.toString()).status());
        }
        return p;
    }

    private static long readLong(Path p, long offset) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "r")) {
            f.seek(offset);
            return f.readLong();
        }
    }

    private static void poke(Path p, long offset, long value, int bytes) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(p.toFile(), "rw")) {
            f.seek(offset);
            for (int i = bytes - 1; i >= 0; i--) {
                f.write((int) (value >>> (8 * i)));
            }
        }
    }

    /** Same failure as qemu-img for info and convert, a plain message, no Java exception text. */
    private void assertRefusedLikeQemu(Path p, String what) {
        for (String[] args : new String[][] {{"info", p.toString()},
                {"convert", "-O", "raw", p.toString(), dir.resolve("out.raw").toString()}}) {
            Oracle.Run j = Oracle.jqemuImg(args);
            Oracle.Run q = Oracle.qemuImg(dir, args);
            assertNotEquals(0, j.status(), what + ": " + j.describe());
            assertTrue(j.err().startsWith("jqemu-img: ") && !j.err().contains("Exception")
                    && !j.err().contains("\tat "), what + ": " + j.err());
            assertEquals(q.err(), Oracle.asQemu(j.err()), what + " " + args[0]);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "huge header_length,100,4,4294967040,false",
        "huge refcount table,56,4,2147483647,false",
        "misaligned refcount table,48,8,65552,false",
        "L1 size overflow,36,4,536870912,false",
        "L1 size negative,36,4,4294967295,false",
        "huge snapshot count,60,4,2147483647,true",
        "misaligned snapshot table,64,8,74565,true",
        "backing file name too long,16,4,2000,false",
        "backing file name beyond the cluster,8,8,65530,false",
    })
    void headerDamage(String what, long offset, int bytes, long value, boolean snapshot) throws Exception {
        Path p = image("h.qcow2", snapshot);
        poke(p, offset, value, bytes);
        if (what.startsWith("backing")) {
            poke(p, 16, 2000, 4);
            poke(p, 8, offset == 8 ? value : 4096, 8);
        }
        assertRefusedLikeQemu(p, what);
    }

    @Test
    void nonsenseSnapshotEntry() throws Exception {
        Path p = image("s.qcow2", true);
        long table = readLong(p, 64);
        poke(p, table + 36, 0xffffffffL, 4); // extra data size
        Oracle.Run j = Oracle.jqemuImg("info", p.toString());
        assertEquals(1, j.status());
        // Both lines: the error and the hint that check -r all can drop the extra data.
        assertEquals(Oracle.qemuImg(dir, "info", p.toString()).err(), Oracle.asQemu(j.err()));
        Path q = image("s2.qcow2", true);
        poke(q, readLong(q, 64), 0x30001, 8); // snapshot L1 table misaligned
        Oracle.Run k = Oracle.jqemuImg("snapshot", "-a", "s", q.toString());
        assertNotEquals(0, k.status());
        assertFalse(k.err().contains("Exception"), k.err());
    }

    @Test
    void l2EntryBeyondTheEndOfTheFile() throws Exception {
        Path p = image("l2.qcow2", false);
        long l2 = readLong(p, readLong(p, 40)) & 0x00fffffffffffe00L;
        poke(p, l2 + 8, (1L << 63) | (1L << 40), 8);
        // Reading gives zeros for QEMU as for us; check reports the damage with the same exit status.
        byte[] expected = Oracle.rawContents(dir, p.toString());
        Oracle.Run conv = Oracle.jqemuImg("convert", "-O", "raw", p.toString(), dir.resolve("j.raw").toString());
        assertEquals(0, conv.status(), conv.describe());
        assertEquals(java.util.Arrays.hashCode(expected),
                java.util.Arrays.hashCode(java.nio.file.Files.readAllBytes(dir.resolve("j.raw"))));
        assertEquals(Oracle.qemuImg(dir, "check", p.toString()).status(), Oracle.jqemuImg("check", p.toString()).status());
    }

    @Test
    void backingLoop() throws Exception {
        Oracle.require();
        String a = dir.resolve("a.qcow2").toString();
        String b = dir.resolve("b.qcow2").toString();
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-u", "-b", "b.qcow2", "-F", "qcow2", a, "1M").status());
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-u", "-b", "a.qcow2", "-F", "qcow2", b, "1M").status());
        // qemu-img convert itself never returns on such a chain; we refuse it.
        Oracle.Run j = Oracle.jqemuImg("convert", "-O", "raw", a, dir.resolve("o.raw").toString());
        assertEquals(1, j.status());
        assertTrue(j.err().endsWith("Backing file '" + a + "' creates an infinite loop.\n"), j.err());
        Oracle.Run chain = Oracle.jqemuImg("info", "--backing-chain", a);
        Oracle.Run qemuChain = Oracle.qemuImg(dir, "info", "--backing-chain", a);
        assertEquals(qemuChain.status(), chain.status());
        assertEquals(qemuChain.err(), Oracle.asQemu(chain.err()));
    }
}
