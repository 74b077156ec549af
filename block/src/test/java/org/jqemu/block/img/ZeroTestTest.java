package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** ConvertCommand.isZero at its boundaries: the first word, the 64 KiB comparison chunks, the last byte. */
class ZeroTestTest {
    private static boolean naive(byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    @Test
    void agreesWithAByteByByteScanAtEveryBoundary() {
        int size = 200 << 10;
        int[] lengths = {0, 1, 7, 8, 9, 4095, 4096, 65535, 65536, 65537, 131072 + 5, size - 3};
        int[] offsets = {0, 1, 3, 8, 4096};
        byte[] b = new byte[size + 8];
        ByteBuffer heap = ByteBuffer.wrap(b);
        ByteBuffer direct = ByteBuffer.allocateDirect(b.length);
        for (int off : offsets) {
            for (int len : lengths) {
                if (off + len > b.length) {
                    continue;
                }
                int[] marks = {off - 1, off, off + 7, off + 8, off + 65535, off + 65536, off + len - 1, off + len};
                assertEquals(true, ConvertCommand.isZero(heap, off, len), "all zero, " + off + "+" + len);
                for (int m : marks) {
                    if (m < 0 || m >= b.length) {
                        continue;
                    }
                    b[m] = 1;
                    direct.put(0, b);
                    boolean expected = naive(b, off, len);
                    assertEquals(expected, ConvertCommand.isZero(heap, off, len), "heap, mark " + m + " in " + off + "+" + len);
                    assertEquals(expected, ConvertCommand.isZero(direct, off, len), "direct, mark " + m + " in " + off + "+" + len);
                    b[m] = 0;
                }
            }
        }
    }
}
