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
}
