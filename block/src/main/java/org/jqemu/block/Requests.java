package org.jqemu.block;

/** Argument checks shared by every driver. */
public final class Requests {
    private Requests() { }

    public static void checkRange(long offset, long len, long size) throws BlockException {
        if (offset < 0 || len < 0 || offset + len > size || offset + len < 0) {
            throw new BlockException("Request out of range: offset " + offset + ", length " + len
                    + ", image size " + size);
        }
    }

    public static void checkWritable(boolean readOnly) throws BlockException {
        if (readOnly) {
            throw new BlockException("Block node is read-only");
        }
    }
}
