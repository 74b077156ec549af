package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.nio.ByteBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Compressed clusters: raw deflate from heap and direct buffers gives the same bytes, which the JDK's
 * own zlib (java.util.zip.Inflater, the oracle) inflates back to the data; noise does not compress.
 * (That the bytes are QEMU's is ConvertOracleTest's business.)
 */
class DeflateTest {
    private static byte[] textLike(int n, long seed) {
        String[] words = {"alpha ", "beta ", "gamma\n", "delta ", "0x", "cluster ", "table "};
        Random r = new Random(seed);
        StringBuilder b = new StringBuilder();
        while (b.length() < n) {
            b.append(words[r.nextInt(words.length)]).append(r.nextInt(4) == 0 ? r.nextInt(99999) : "");
        }
        return b.substring(0, n).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    @Test
    void heapAndDirectBuffersGiveTheSameBytesWhichInflateBack() throws Exception {
        for (int size : new int[] {512, 65536, 2 << 20}) {
            byte[] data = textLike(size, size);
            byte[] expected = Deflate.compress(ByteBuffer.wrap(data), size);
            ByteBuffer direct = ByteBuffer.allocateDirect(size + 10).position(10);
            direct.put(data).position(10);
            for (ByteBuffer src : new ByteBuffer[] {ByteBuffer.wrap(data), direct}) {
                byte[] packed = Deflate.compress(src, size);
                assertNotNull(packed, "text compresses");
                assertArrayEquals(expected, packed, "size " + size + (src.isDirect() ? " direct" : " heap"));
                byte[] back = new byte[size];
                Deflate.inflate(packed, back, "test");
                assertArrayEquals(data, back);
            }
        }
    }

    @Test
    void incompressibleDataGivesNull() {
        byte[] noise = new byte[65536];
        new Random(3).nextBytes(noise);
        assertNull(Deflate.compress(ByteBuffer.wrap(noise), 65536 - 512));
        assertNull(Deflate.compress(ByteBuffer.allocateDirect(65536).put(noise).flip(), 65536 - 512));
    }
}
