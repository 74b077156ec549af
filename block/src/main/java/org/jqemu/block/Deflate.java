package org.jqemu.block;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Raw deflate (no zlib header), as qcow and qcow2 store compressed clusters. */
public final class Deflate {
    /**
     * QEMU's level (zlib's default, 6). QEMU uses a 4 KiB window; the JDK's Deflater has 32 KiB, which
     * finds more matches: smaller output (2-5% on bench/block-convert.sh's data and on text), and in a
     * measurement on that data no slower than the host's zlib with QEMU's window through FFM. Lower
     * levels are much faster but lose that margin on some data (level 4: 9% larger on text).
     */
    private static final int LEVEL = Deflater.DEFAULT_COMPRESSION;
    /** One deflater per thread (compressed conversion runs on several), reset between clusters. */
    private static final ThreadLocal<Deflater> DEFLATERS = ThreadLocal.withInitial(() -> new Deflater(LEVEL, true));

    private Deflate() { }

    /**
     * Raw deflate of src's remaining bytes (heap or direct; its position is unchanged); null if the
     * result is not shorter than maxLen bytes.
     */
    public static byte[] compress(ByteBuffer src, int maxLen) {
        Deflater deflater = DEFLATERS.get();
        deflater.reset();
        deflater.setInput(src.duplicate());
        deflater.finish();
        byte[] out = new byte[maxLen];
        int n = 0;
        while (!deflater.finished() && n < out.length) {
            n += deflater.deflate(out, n, out.length - n);
        }
        return deflater.finished() && n < maxLen ? Arrays.copyOf(out, n) : null;
    }

    /** Inflates exactly out.length bytes; the input may carry trailing padding. */
    public static void inflate(byte[] in, byte[] out, String where) throws BlockException {
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(in);
            int n = 0;
            while (n < out.length) {
                int k = inflater.inflate(out, n, out.length - n);
                if (k == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                n += k;
            }
            if (n < out.length) {
                throw new BlockException("Could not read compressed cluster at " + where + ": truncated data");
            }
        } catch (DataFormatException e) {
            throw new BlockException("Could not read compressed cluster at " + where + ": " + e.getMessage());
        } finally {
            inflater.end();
        }
    }
}
