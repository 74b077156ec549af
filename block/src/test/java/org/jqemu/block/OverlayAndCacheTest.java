package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** -snapshot overlays and cache modes, with qemu-img and qemu-io as the oracles. */
class OverlayAndCacheTest {
    @TempDir
    Path dir;

    @Test
    void temporaryOverlayTakesEveryWriteAndLeavesTheImageAlone() throws Exception {
        Oracle.require();
        String base = dir.resolve("base.qcow2").toString();
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", base, "4M");
        Oracle.qemuIo(dir, "qcow2", base, "write -P 0x5a 0 1M");
        byte[] before = Files.readAllBytes(Path.of(base));
        byte[] data = new byte[70000];
        java.util.Arrays.fill(data, (byte) 0xc3);
        try (BlockDevice d = Images.openWithTemporaryOverlay(base, null)) {
            assertEquals(4 << 20, d.size());
            assertFalse(Files.exists(Path.of(d.filename())), "the overlay is unlinked while open");
            d.write(100_000, data, 0, data.length);
            byte[] back = new byte[1 << 20];
            d.read(0, back, 0, back.length);
            for (int i = 0; i < back.length; i++) {
                byte expected = i >= 100_000 && i < 170_000 ? (byte) 0xc3 : (byte) 0x5a;
                assertEquals(expected, back[i], "byte " + i);
            }
            // The image is open read-only and shared for reading only, as QEMU's -snapshot leaves it.
            Oracle.Run writer = Oracle.qemuIo(dir, "qcow2", base, "write -P 1 0 512");
            assertTrue(writer.err().contains("Failed to get \"write\" lock"), writer.describe());
        }
        assertArrayEquals(before, Files.readAllBytes(Path.of(base)));
        assertEquals(0, Oracle.qemuImg(dir, "check", base).status());
    }

    @Test
    void convertTargetCacheModes() {
        Oracle.require();
        String src = dir.resolve("s.qcow2").toString();
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", src, "2M");
        Oracle.qemuIo(dir, "qcow2", src, "write -P 0x11 64k 300k");
        for (String mode : new String[] {"writeback", "writethrough", "unsafe"}) {
            String out = dir.resolve(mode + ".qcow2").toString();
            Oracle.Run r = Oracle.jqemuImg("convert", "-t", mode, "-O", "qcow2", src, out);
            assertEquals(0, r.status(), r.describe());
            assertEquals(0, Oracle.qemuImg(dir, "compare", src, out).status(), mode);
        }
        String bad = dir.resolve("bad.raw").toString();
        Oracle.Run ours = Oracle.jqemuImg("convert", "-t", "sometimes", "-O", "raw", src, bad);
        Oracle.Run theirs = Oracle.qemuImg(dir, "convert", "-t", "sometimes", "-O", "raw", src, bad);
        assertEquals(theirs.status(), ours.status());
        assertEquals(theirs.err(), Oracle.asQemu(ours.err()));
        Oracle.Run direct = Oracle.jqemuImg("convert", "-t", "none", "-O", "raw", src, bad);
        assertNotEquals(0, direct.status());
        assertTrue(direct.err().contains("cache=none (O_DIRECT) is not supported"), direct.describe());
    }
}
