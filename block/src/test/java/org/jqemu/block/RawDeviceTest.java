package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.jqemu.block.raw.RawDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The raw driver: byte-exact I/O, holes for zeroes and discards, range and read-only checks. */
class RawDeviceTest {
    @TempDir
    Path dir;

    @Test
    void readWriteZeroAndDiscard() throws Exception {
        Path p = dir.resolve("r.raw");
        RawDevice.create(p, 4 << 20, "off");
        assertEquals(4 << 20, Files.size(p));
        try (BlockDevice d = Images.open(p.toString(), null, OpenOptions.READ_WRITE)) {
            assertEquals("raw", d.format());
            byte[] data = new byte[3 << 20];
            java.util.Arrays.fill(data, (byte) 7);
            d.write(12345, data, 0, data.length);
            d.writeZeroes(1 << 20, 1 << 20, true);
            byte[] back = new byte[3 << 20];
            d.read(12345, back, 0, back.length);
            for (int i = 0; i < back.length; i++) {
                long pos = 12345L + i;
                byte expected = pos >= (1 << 20) && pos < (2 << 20) ? 0 : (byte) 7;
                if (back[i] != expected) {
                    throw new AssertionError("byte " + pos);
                }
            }
            BlockStatus s = d.status(1 << 20, 1 << 20);
            assertTrue(s.zero() && !s.data(), "punched hole reads as a zero extent: " + s);
            assertThrows(BlockException.class, () -> d.write((4 << 20) - 1, new byte[2], 0, 2));
            d.resize(8 << 20);
            assertEquals(8 << 20, d.size());
        }
        try (BlockDevice d = Images.open(p.toString(), "raw", OpenOptions.READ_ONLY)) {
            assertThrows(BlockException.class, () -> d.write(0, new byte[1], 0, 1));
            byte[] tail = new byte[100];
            d.read((8 << 20) - 100, tail, 0, 100);
            assertArrayEquals(new byte[100], tail);
        }
    }

    @Test
    void missingFileGivesQemuStyleError() {
        BlockException e = assertThrows(BlockException.class,
                () -> Images.open(dir.resolve("nope").toString(), null, OpenOptions.READ_ONLY));
        assertEquals("Could not open '" + dir.resolve("nope") + "': Could not open '" + dir.resolve("nope")
                + "': No such file or directory", e.getMessage());
    }
}
