package org.jqemu.block;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Raw deflate (no zlib header), as qcow and qcow2 store compressed clusters. */
public final class Deflate {
    /**
     * QEMU's level (zlib's default). The host's zlib does the work when it can be loaded ({@link
     * HostZlib}, with QEMU's 4 KiB window and memLevel 9: the clusters qemu-img writes, byte for byte);
     * otherwise java.util.zip.Deflater, whose window is 32 KiB (QEMU reads it: it inflates a whole
     * cluster in one call), giving slightly smaller output for some 20% more CPU.
     */
    static final int LEVEL = 6;
    /** One deflater per thread (compressed conversion runs on several), reset between clusters. */
    private static final ThreadLocal<Deflater> DEFLATERS = ThreadLocal.withInitial(() -> new Deflater(LEVEL, true));

    private Deflate() { }

    /**
     * Raw deflate of src's remaining bytes (heap or direct; its position is unchanged); null if the
     * result is not shorter than maxLen bytes.
     */
    public static byte[] compress(ByteBuffer src, int maxLen) {
        if (HostZlib.available()) {
            return HostZlib.compress(src, maxLen);
        }
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
