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

    /** The body of a request, run with a driver's lock held. */
    @FunctionalInterface
    public interface Body {
        void run() throws BlockException;
    }

    /** Checks that [offset, offset+len) lies within size, then runs body holding lock. */
    public static void locked(long offset, long len, long size, java.util.concurrent.locks.Lock lock, Body body)
            throws BlockException {
        checkRange(offset, len, size);
        lock.lock();
        try {
            body.run();
        } finally {
            lock.unlock();
        }
    }

    public static void checkWritable(boolean readOnly) throws BlockException {
        if (readOnly) {
            throw new BlockException("Block node is read-only");
        }
    }
}
