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

        @Override public long read(MemorySegment buffer) {
            return reading ? pipe.read(buffer, nonBlocking()) : -Errno.EBADF;
        }

        @Override public long write(MemorySegment buffer) {
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

    static End[] create(int statusFlags) {
        Pipe p = new Pipe();
        return new End[] {new End(p, true, statusFlags), new End(p, false, statusFlags)};
    }

    private long read(MemorySegment buffer, boolean nonBlocking) {
        int want = (int) buffer.byteSize();
        if (want == 0) {
            return 0;
        }
        int n;
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
            n = Math.min(want, count);
            int first = Math.min(n, CAPACITY - head);
            MemorySegment.copy(ring, head, buffer, ValueLayout.JAVA_BYTE, 0, first);
            if (n > first) {
                MemorySegment.copy(ring, 0, buffer, ValueLayout.JAVA_BYTE, first, n - first);
            }
            head = (head + n) % CAPACITY;
            count -= n;
            notifyAll();
        }
        Kernel.pollEvent();
        return n;
    }

    private long write(MemorySegment buffer, boolean nonBlocking) {
        int total = (int) buffer.byteSize();
        int done = 0;
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
                int remaining = total - done;
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
                int n = Math.min(space, remaining);
                int tail = (head + count) % CAPACITY;
                int first = Math.min(n, CAPACITY - tail);
                MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, done, ring, tail, first);
                if (n > first) {
                    MemorySegment.copy(buffer, ValueLayout.JAVA_BYTE, done + first, ring, 0, n - first);
                }
                count += n;
                done += n;
                notifyAll();
            }
        }
        Kernel.pollEvent();
        return done;
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
