package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * poll, ppoll, select, _newselect and pselect6 over the guest's descriptors. Descriptors backed by host
 * descriptors (files, sockets, terminals) are polled by the host's poll(2); descriptors jqemu models in
 * the JVM (captured output, /proc files) are always ready, as regular files are. select's fd_sets have the
 * same bit layout on i386 and the host (little-endian words), so they are read as bit strings and turned
 * into one poll.
 */
final class Polling {
    private static final short POLLIN = 0x1, POLLPRI = 0x2, POLLOUT = 0x4, POLLERR = 0x8, POLLHUP = 0x10, POLLNVAL = 0x20,
            POLLRDNORM = 0x40, POLLWRNORM = 0x100;
    private static final int POLLFD_SIZE = 8;
    private static final int MAX_FDS = GuestProcess.MAX_FILES;

    /** How a select variant gives its timeout: struct timeval (i386 longs), timespec with 32-bit or 64-bit fields. */
    enum Timeout { TIMEVAL, TIMESPEC32, TIMESPEC64 }

    private final GuestMemory memory;
    private final Syscalls syscalls;

    Polling(GuestProcess process, Syscalls syscalls) {
        this.memory = process.memory;
        this.syscalls = syscalls;
    }

    long poll(long fds, long count, int timeoutMs) {
        if (count > MAX_FDS) {
            return -Errno.EINVAL;
        }
        int n = (int) count;
        int[] fd = new int[n];
        short[] events = new short[n];
        for (int i = 0; i < n; i++) {
            fd[i] = memory.readInt(fds + (long) POLLFD_SIZE * i);
            events[i] = (short) (memory.readInt(fds + (long) POLLFD_SIZE * i + 4) & 0xffff);
        }
        short[] revents = new short[n];
        long r = pollAll(fd, events, revents, timeoutMs);
        if (r < 0) {
            return r;
        }
        for (int i = 0; i < n; i++) {
            memory.userWrite(fds + (long) POLLFD_SIZE * i + 6, new byte[] {(byte) revents[i], (byte) (revents[i] >> 8)});
        }
        return r;
    }

    long ppoll(long fds, long count, long timeoutAddress, boolean time64) {
        int ms = timeoutAddress == 0 ? -1 : timeoutMillis(readTime(timeoutAddress, time64 ? Timeout.TIMESPEC64 : Timeout.TIMESPEC32));
        if (ms == Integer.MIN_VALUE) {
            return -Errno.EINVAL;
        }
        return poll(fds, count, ms);
    }

    /** The core: host descriptors through the host's poll, the others ready at once; returns how many have events. */
    private long pollAll(int[] fd, short[] events, short[] revents, int timeoutMs) {
        int n = fd.length;
        int hostCount = 0;
        int[] host = new int[n];
        int readyNow = 0;
        for (int i = 0; i < n; i++) {
            host[i] = -1;
            if (fd[i] < 0) {
                continue;
            }
            GuestFile f = syscalls.file(fd[i]);
            if (f == null) {
                revents[i] = POLLNVAL;
            } else if (f instanceof HostFile h) {
                host[i] = h.fd();
                hostCount++;
            } else {
                revents[i] = (short) (events[i] & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM));
            }
            if (revents[i] != 0) {
                readyNow++;
            }
        }
        if (hostCount > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment table = arena.allocate((long) POLLFD_SIZE * hostCount, 4);
                int k = 0;
                for (int i = 0; i < n; i++) {
                    if (host[i] >= 0) {
                        table.set(ValueLayout.JAVA_INT, (long) POLLFD_SIZE * k, host[i]);
                        table.set(ValueLayout.JAVA_SHORT, (long) POLLFD_SIZE * k + 4, events[i]);
                        k++;
                    }
                }
                long r = HostLibc.call(HostLibc.POLL, table, (long) hostCount, readyNow > 0 ? 0 : timeoutMs);
                if (r < 0) {
                    return r;
                }
                k = 0;
                for (int i = 0; i < n; i++) {
                    if (host[i] >= 0) {
                        revents[i] = table.get(ValueLayout.JAVA_SHORT, (long) POLLFD_SIZE * k + 6);
                        k++;
                    }
                }
            }
        } else if (readyNow == 0 && timeoutMs != 0) {
            sleep(timeoutMs);
        }
        int ready = 0;
        for (short e : revents) {
            if (e != 0) {
                ready++;
            }
        }
        return ready;
    }

    /** A poll on nothing: sleeps for the timeout (forever: until interrupted). */
    private static void sleep(int timeoutMs) {
        try {
            Thread.sleep(timeoutMs < 0 ? Long.MAX_VALUE : timeoutMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** sys_old_select: the five arguments in a block of guest memory. */
    long oldSelect(long args) {
        long[] v = new long[5];
        for (int i = 0; i < 5; i++) {
            v[i] = memory.readInt(args + 4L * i) & 0xffff_ffffL;
        }
        return select((int) v[0], v[1], v[2], v[3], v[4], Timeout.TIMEVAL);
    }

    long select(int nfds, long readSet, long writeSet, long exceptSet, long timeoutAddress, Timeout kind) {
        if (nfds < 0 || nfds > MAX_FDS) {
            return -Errno.EINVAL;
        }
        long[] timeout = timeoutAddress == 0 ? null : readTime(timeoutAddress, kind);
        int ms = timeout == null ? -1 : timeoutMillis(timeout);
        if (ms == Integer.MIN_VALUE) {
            return -Errno.EINVAL;
        }
        int words = (nfds + 31) / 32;
        int[][] sets = {readBits(readSet, words), readBits(writeSet, words), readBits(exceptSet, words)};
        short[] wanted = {POLLIN, POLLOUT, POLLPRI};
        int[] fd = new int[nfds];
        short[] events = new short[nfds];
        int count = 0;
        for (int d = 0; d < nfds; d++) {
            short e = 0;
            for (int s = 0; s < 3; s++) {
                if (sets[s] != null && (sets[s][d / 32] & (1 << (d % 32))) != 0) {
                    e |= wanted[s];
                }
            }
            if (e != 0) {
                if (syscalls.file(d) == null) {
                    return -Errno.EBADF;
                }
                fd[count] = d;
                events[count++] = e;
            }
        }
        int[] used = java.util.Arrays.copyOf(fd, count);
        short[] revents = new short[count];
        long started = System.nanoTime();
        long r = pollAll(used, java.util.Arrays.copyOf(events, count), revents, ms);
        if (r < 0) {
            return r;
        }
        int[][] out = {new int[words], new int[words], new int[words]};
        short[] means = {(short) (POLLIN | POLLHUP | POLLERR), (short) (POLLOUT | POLLERR), POLLPRI};
        int ready = 0;
        for (int i = 0; i < count; i++) {
            for (int s = 0; s < 3; s++) {
                if ((events[i] & wanted[s]) != 0 && (revents[i] & means[s]) != 0) {
                    out[s][used[i] / 32] |= 1 << (used[i] % 32);
                    ready++;
                }
            }
        }
        long[] addresses = {readSet, writeSet, exceptSet};
        for (int s = 0; s < 3; s++) {
            if (addresses[s] != 0) {
                for (int w = 0; w < words; w++) {
                    memory.userWriteInt(addresses[s] + 4L * w, out[s][w]);
                }
            }
        }
        if (timeout != null) {
            writeRemaining(timeoutAddress, kind, timeout, System.nanoTime() - started);
        }
        return ready;
    }

    private int[] readBits(long address, int words) {
        if (address == 0) {
            return null;
        }
        int[] bits = new int[Math.max(words, 1)];
        for (int w = 0; w < words; w++) {
            bits[w] = memory.readInt(address + 4L * w);
        }
        return bits;
    }

    /** {seconds, nanoseconds} from the guest's timeval or timespec. */
    private long[] readTime(long address, Timeout kind) {
        return switch (kind) {
            case TIMEVAL -> new long[] {memory.readInt(address), memory.readInt(address + 4) * 1000L};
            case TIMESPEC32 -> new long[] {memory.readInt(address), memory.readInt(address + 4)};
            case TIMESPEC64 -> new long[] {memory.readLong(address), memory.readLong(address + 8)};
        };
    }

    /** Milliseconds for the host's poll, rounded up; Integer.MIN_VALUE for an invalid time. */
    private static int timeoutMillis(long[] t) {
        if (t[0] < 0 || t[1] < 0 || t[1] >= 1_000_000_000L) {
            return Integer.MIN_VALUE;
        }
        long ms = t[0] * 1000 + (t[1] + 999_999) / 1_000_000;
        return (int) Math.min(ms, Integer.MAX_VALUE);
    }

    /** select and pselect6 leave the time not slept in the guest's timeout, as Linux does. */
    private void writeRemaining(long address, Timeout kind, long[] timeout, long elapsedNanos) {
        long left = Math.max(0, timeout[0] * 1_000_000_000L + timeout[1] - elapsedNanos);
        switch (kind) {
            case TIMEVAL -> {
                memory.userWriteInt(address, (int) (left / 1_000_000_000L));
                memory.userWriteInt(address + 4, (int) (left % 1_000_000_000L / 1000));
            }
            case TIMESPEC32 -> {
                memory.userWriteInt(address, (int) (left / 1_000_000_000L));
                memory.userWriteInt(address + 4, (int) (left % 1_000_000_000L));
            }
            case TIMESPEC64 -> {
                memory.userWriteLong(address, left / 1_000_000_000L);
                memory.userWriteLong(address + 8, left % 1_000_000_000L);
            }
        }
    }
}
