package org.jqemu.block;

import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Raw deflate (no zlib header), as qcow and qcow2 store compressed clusters. */
public final class Deflate {
    /** One deflater per thread (compressed conversion runs on several), reset between clusters. */
    private static final ThreadLocal<Deflater> DEFLATERS =
            ThreadLocal.withInitial(() -> new Deflater(Deflater.DEFAULT_COMPRESSION, true));

    private Deflate() { }

    /** Raw deflate of src; null if the result is not shorter than maxLen bytes. */
    public static byte[] compress(byte[] src, int maxLen) {
        Deflater deflater = DEFLATERS.get();
        deflater.reset();
        deflater.setInput(src);
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
