package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Internal snapshots made by either tool work with the other; refcounts stay exact throughout. */
class SnapshotOracleTest {
    @TempDir
    Path dir;

    private void clean(String img) {
        Oracle.Run r = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, r.status(), r.describe());
    }

    @Test
    void createWriteApplyDelete() throws Exception {
        Oracle.require();
        String img = dir.resolve("s.qcow2").toString();
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", img, "4M");
        Oracle.qemuIo(dir, "qcow2", img, "write -P 0x10 0 1M", "write -c -P 0x11 2M 4k");
        byte[] first = Oracle.rawContents(dir, img);
        assertEquals(0, Oracle.jqemuImg("snapshot", "-c", "one", img).status());
        clean(img);
        byte[] random = new byte[300_000];
        new Random(5).nextBytes(random);
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            d.write(5000, random, 0, random.length);
            d.writeZeroes(2 << 20, 4096, true);
        }
        clean(img);
        byte[] second = Oracle.rawContents(dir, img);
        Oracle.qemuImg(dir, "snapshot", "-c", "two", img);
        Oracle.Run q = Oracle.qemuImg(dir, "snapshot", "-l", img);
        Oracle.Run j = Oracle.jqemuImg("snapshot", "-l", img);
        assertEquals(q.out(), j.out());
        assertEquals(Oracle.qemuImg(dir, "info", "--output=json", img).out(), Oracle.jqemuImg("info", "--output=json", img).out());
        assertEquals(0, Oracle.jqemuImg("snapshot", "-a", "one", img).status());
        clean(img);
        assertArrayEquals(first, Oracle.rawContents(dir, img));
        assertEquals(0, Oracle.jqemuImg("snapshot", "-a", "2", img).status());
        assertArrayEquals(second, Oracle.rawContents(dir, img));
        assertEquals(0, Oracle.jqemuImg("snapshot", "-d", "one", img).status());
        clean(img);
        assertEquals(0, Oracle.jqemuImg("snapshot", "-d", "two", img).status());
        clean(img);
        assertTrue(Oracle.qemuImg(dir, "snapshot", "-l", img).out().isEmpty());
        assertArrayEquals(second, Oracle.rawContents(dir, img));
        Oracle.Run missing = Oracle.jqemuImg("snapshot", "-d", "nosuch", img);
        assertEquals(Oracle.qemuImg(dir, "snapshot", "-d", "nosuch", img).err(), Oracle.asQemu(missing.err()));
    }

    /**
     * Rewrites the one snapshot table entry of img in place with extra data of the given length: cut
     * short, or padded with zeros (then the table goes to a new cluster at the end of the file, whose
     * refcount is left 0, as a hostile image would have it).
     */
    private static void setExtraData(Path img, int length) throws Exception {
        try (java.nio.channels.FileChannel f = java.nio.channels.FileChannel.open(img,
                java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.ByteBuffer h = java.nio.ByteBuffer.allocate(72);
            f.read(h, 0);
            long table = h.getLong(64);
            java.nio.ByteBuffer e = java.nio.ByteBuffer.allocate(4096);
            f.read(e, table);
            int idLen = e.getShort(12) & 0xffff;
            int nameLen = e.getShort(14) & 0xffff;
            int extraLen = e.getInt(36);
            byte[] fixed = java.util.Arrays.copyOf(e.array(), 40);
            byte[] extra = java.util.Arrays.copyOfRange(e.array(), 40, 40 + Math.min(extraLen, length));
            byte[] strings = java.util.Arrays.copyOfRange(e.array(), 40 + extraLen, 40 + extraLen + idLen + nameLen);
            java.nio.ByteBuffer entry = java.nio.ByteBuffer.allocate(65536);
            entry.put(fixed).putInt(36, length).put(java.util.Arrays.copyOf(extra, length)).put(strings);
            entry.clear();
            long at = table;
            if (length > extraLen) {
                at = (f.size() + 65535) & ~65535L;
                f.write(java.nio.ByteBuffer.allocate(8).putLong(0, at), 64);
            }
            f.write(entry, at);
        }
    }

    /**
     * check on snapshot entries as QEMU's: a version 3 entry whose extra data lacks the disk size is an
     * error that -r all repairs (the table is rewritten complete); too much extra data makes the table
     * unreadable (exit 1) unless -r all, which drops the excess. qemu-img check is the oracle for the
     * exit status before, and for consistency after the repair.
     */
    @Test
    void checkRepairsSnapshotExtraData() throws Exception {
        Oracle.require();
        Path img = dir.resolve("x.qcow2");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", img.toString(), "4M");
        Oracle.qemuIo(dir, "qcow2", img.toString(), "write -P 7 0 64k");
        Oracle.qemuImg(dir, "snapshot", "-c", "s1", img.toString());
        java.nio.file.Files.copy(img, dir.resolve("big.qcow2"));
        setExtraData(img, 8);
        Oracle.Run ours = Oracle.jqemuImg("check", img.toString());
        assertEquals(Oracle.qemuImg(dir, "check", img.toString()).status(), ours.status(), ours.describe());
        assertTrue(ours.err().contains("ERROR snapshot table entry 0 is incomplete"), ours.describe());
        Oracle.Run repaired = Oracle.jqemuImg("check", "-r", "all", img.toString());
        assertEquals(0, repaired.status(), repaired.describe());
        assertTrue(repaired.out().contains("    1 corruptions"), repaired.describe());
        clean(img.toString());
        assertTrue(Oracle.qemuImg(dir, "snapshot", "-l", img.toString()).out().contains(" s1 "));

        Path big = dir.resolve("big.qcow2");
        setExtraData(big, 1100);
        ours = Oracle.jqemuImg("check", big.toString());
        Oracle.Run theirs = Oracle.qemuImg(dir, "check", big.toString());
        assertEquals(theirs.status(), ours.status(), ours.describe());
        assertEquals(theirs.err(), Oracle.asQemu(ours.err()));
        repaired = Oracle.jqemuImg("check", "-r", "all", big.toString());
        assertEquals(0, repaired.status(), repaired.describe());
        assertTrue(repaired.err().contains("Discarding too much extra metadata in snapshot table entry 0 (1100 > 1024)"),
                repaired.describe());
        clean(big.toString());
        assertEquals(0, Oracle.qemuImg(dir, "snapshot", "-a", "s1", big.toString()).status());
        Oracle.Run read = Oracle.qemuIo(dir, "qcow2", big.toString(), "read -P 7 0 64k");
        assertTrue(read.status() == 0 && !read.out().contains("fail"), read.describe());
    }
}
