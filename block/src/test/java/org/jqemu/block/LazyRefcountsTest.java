package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import org.jqemu.block.qcow2.Qcow2Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Lazy refcounts: the dirty bit marks an image in use; a read-write open of a dirty image repairs it. */
class LazyRefcountsTest {
    @TempDir
    Path dir;

    @Test
    void dirtyImageIsRepairedOnOpen() throws Exception {
        Oracle.require();
        String img = dir.resolve("lazy.qcow2").toString();
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", img, "1M").status());
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            d.write(0, new byte[65536], 0, 65536);
            d.write(65536, new byte[] {1}, 0, 1);
            assertTrue(((Qcow2Device) d).dirty(), "dirty while in use");
            Oracle.Run info = Oracle.qemuImg(dir, "info", "--output=json", "-U", img);
            assertTrue(info.out().contains("\"dirty-flag\": true"), info.out());
        }
        assertEquals(0, Oracle.qemuImg(dir, "check", img).status(), "clean after close");
        // Simulate a crash that lost a refcount update: dirty bit set, data cluster refcount 0.
        try (RandomAccessFile f = new RandomAccessFile(img, "rw")) {
            f.seek(72);
            f.writeLong(1);
            f.seek(0x20000 + 2 * 4);
            f.writeShort(0);
        }
        assertEquals(2, Oracle.qemuImg(dir, "check", img).status());
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            assertTrue(!((Qcow2Device) d).dirty(), "repaired on open");
        }
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        Oracle.Run io = Oracle.qemuIo(dir, "qcow2", img, "read -P 1 65536 1");
        assertTrue(!io.out().contains("fail"), io.describe());
    }
}
