package org.jqemu.linuxuser;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A pipe inside the JVM, shared by guest processes through their descriptor tables: a 64 KiB ring
 * (the Linux default capacity), with the kernel's semantics: a read of an empty pipe blocks while a
 * writer exists and returns 0 (EOF) after the last writer closes; a write with no reader left is
 * EPIPE plus SIGPIPE; writes of at most PIPE_BUF bytes are atomic; O_NONBLOCK gives EAGAIN.
 * The pipe's monitor guards its state; blocked guests wait on it and wake for signals (see
 * {@link GuestThread#await}).
 */
final class Pipe {
    static final int CAPACITY = 65536;
    static final int PIPE_BUF = 4096;
    private static final int S_IFIFO = 0010000;

    private final byte[] ring = new byte[CAPACITY];
    private int head, count;
    private int readers = 1, writers = 1;

    /** One end of the pipe: an open file description with its own O_NONBLOCK flag. */
    static final class End implements GuestFile {
        final Pipe pipe;
        final boolean reading;
        volatile int statusFlags;

        End(Pipe pipe, boolean reading, int statusFlags) {
            this.pipe = pipe;
            this.reading = reading;
            this.statusFlags = statusFlags;
        }

        boolean nonBlocking() { return (statusFlags & Fcntl.O_NONBLOCK) != 0; }

        @Override public long read(MemorySegment buffer) { return read(Buffer.of(buffer), true); }

        @Override public long write(MemorySegment buffer) { return write(Buffer.of(buffer)); }

        /** {@code mayWait} false: a later piece of one readv, which returns what came without waiting for more. */
        long read(Buffer buffer, boolean mayWait) {
            return reading ? pipe.read(buffer, nonBlocking() || !mayWait) : -Errno.EBADF;
        }

        long write(Buffer buffer) {
            return reading ? -Errno.EBADF : pipe.write(buffer, nonBlocking());
        }

        @Override public int statx(MemorySegment out) {
            out.fill((byte) 0);
            out.set(ValueLayout.JAVA_INT, 0, 0x3); // STATX_TYPE | STATX_MODE
            out.set(ValueLayout.JAVA_SHORT, 0x1c, (short) (S_IFIFO | 0600));
            out.set(ValueLayout.JAVA_INT, 0x10, 1); // stx_nlink
            return 0;
        }

        @Override public int close() {
            pipe.closeEnd(reading);
            return 0;
        }

        /** poll(2) readiness: POLLIN/POLLOUT/POLLHUP/POLLERR bits as the kernel's pipe_poll gives them. */
        int poll() { return pipe.poll(reading); }
    }

    /**
     * The other side of a transfer: a host buffer, or a guest buffer that is reached only when the bytes move
     * (Linux's copy_to_user in pipe_read), so a read that waited never writes a page unmapped meanwhile.
     */
    interface Buffer {
        long size();

        /**
         * Copies {@code n} bytes between {@code ring} at {@code at} and this buffer at {@code offset} ({@code
         * toBuffer}: a read); returns how many it could, fewer when a guest page is gone.
         */
        long copy(boolean toBuffer, byte[] ring, int at, long offset, int n);

        static Buffer of(MemorySegment segment) {
            return new Buffer() {
                @Override public long size() { return segment.byteSize(); }

                @Override public long copy(boolean toBuffer, byte[] ring, int at, long offset, int n) {
                    if (toBuffer) {
                        MemorySegment.copy(ring, at, segment, ValueLayout.JAVA_BYTE, offset, n);
                    } else {
                        MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, offset, ring, at, n);
                    }
                    return n;
                }
            };
        }

        static Buffer guest(GuestMemory memory, long address, long length) {
            return new Buffer() {
                @Override public long size() { return length; }

                @Override public long copy(boolean toBuffer, byte[] ring, int at, long offset, int n) {
                    MemorySegment bytes = MemorySegment.ofArray(ring);
                    return toBuffer ? memory.copyToUser(address + offset, bytes, at, n)
                            : memory.copyFromUser(address + offset, bytes, at, n);
                }
            };
        }
    }

    static End[] create(int statusFlags) {
        Pipe p = new Pipe();
        return new End[] {new End(p, true, statusFlags), new End(p, false, statusFlags)};
    }

    private long read(Buffer buffer, boolean nonBlocking) {
        int want = (int) Math.min(buffer.size(), CAPACITY);
        if (want == 0) {
            return 0;
        }
        long n;
        synchronized (this) {
            while (count == 0) {
                if (writers == 0) {
                    return 0;
                }
                if (nonBlocking) {
                    return -Errno.EAGAIN;
                }
                long r = GuestThread.await(this);
                if (r < 0) {
                    return r;
                }
            }
            n = copyRing(buffer, true, head, 0, Math.min(want, count));
            if (n == 0) {
                return -Errno.EFAULT; // the bytes stay in the pipe, as Linux leaves what it could not copy
            }
            head = (int) ((head + n) % CAPACITY);
            count -= (int) n;
            notifyAll();
        }
        Kernel.pollEvent();
        return n;
    }

    /** Copies {@code n} bytes between the ring at {@code at} (wrapping) and the buffer; returns how many went. */
    private long copyRing(Buffer buffer, boolean toBuffer, int at, long offset, int n) {
        int first = Math.min(n, CAPACITY - at);
        long done = buffer.copy(toBuffer, ring, at, offset, first);
        if (done == first && n > first) {
            done += buffer.copy(toBuffer, ring, 0, offset + first, n - first);
        }
        return done;
    }

    private long write(Buffer buffer, boolean nonBlocking) {
        long total = buffer.size();
        long done = 0;
        synchronized (this) {
            while (done < total || total == 0) {
                if (readers == 0) {
                    GuestThread writer = GuestThread.current();
                    if (writer != null) {
                        writer.raiseSigpipe();
                    }
                    return done > 0 ? done : -Errno.EPIPE;
                }
                int space = CAPACITY - count;
                long remaining = total - done;
                // writes of at most PIPE_BUF bytes go in whole or not at all
                if (space == 0 || (remaining <= PIPE_BUF && space < remaining)) {
                    if (nonBlocking) {
                        return done > 0 ? done : -Errno.EAGAIN;
                    }
                    long r = GuestThread.await(this);
                    if (r < 0) {
                        return done > 0 ? done : r;
                    }
                    continue;
                }
                if (total == 0) {
                    return 0;
                }
                int n = (int) Math.min(space, remaining);
                long copied = copyRing(buffer, false, (head + count) % CAPACITY, done, n);
                count += (int) copied;
                done += copied;
                notifyAll();
                if (copied < n) {
                    break; // a guest page went away under the write
                }
            }
        }
        Kernel.pollEvent();
        return done > 0 || total == 0 ? done : -Errno.EFAULT;
    }

    private void closeEnd(boolean reading) {
        synchronized (this) {
            if (reading) {
                readers--;
            } else {
                writers--;
            }
            notifyAll();
        }
        Kernel.pollEvent();
    }

    private synchronized int poll(boolean reading) {
        if (reading) {
            return (count > 0 ? Fcntl.POLLIN : 0) | (writers == 0 ? Fcntl.POLLHUP : 0);
        }
        return readers == 0 ? Fcntl.POLLERR : (CAPACITY - count >= PIPE_BUF ? Fcntl.POLLOUT : 0);
    }

    /** FIONREAD. */
    synchronized int available() { return count; }
}
