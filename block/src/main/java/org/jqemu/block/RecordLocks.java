package org.jqemu.block;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringTokenizer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * The byte-range locks other processes hold on one file, from Linux's /proc/locks: the test half of
 * image locking without a native call (HostFile's record-lock mode). A lock held by anyone but this
 * process counts, whether QEMU's open-file-description locks (OFDLCK) or POSIX record locks (POSIX), as
 * F_GETLK would count them; this process's own record locks do not, as they never conflict with its
 * own requests. flock(2) locks are a separate kind and do not count. A snapshot: read once per open, or
 * once per jqemu-img command (prefetch: reading /proc/locks waits for an RCU grace period of the kernel).
 * The bytes this process's other opens of the same file hold, which the kernel cannot tell from ours,
 * are kept here (take, release) and count as others', as QEMU's OFD locks of another descriptor would.
 */
final class RecordLocks {
    private static final Path PROC_LOCKS = Path.of("/proc/locks");
    private static final long[] NONE = {};

    /** This process's record-locked opens, by file id (guarded by itself). */
    private static final Map<String, List<RecordLocks>> OWN = new HashMap<>();

    /** Start and end (inclusive) of each range held by others, in pairs. */
    private final long[] ranges;
    /** The file's id as in /proc/locks; null if unknown. */
    private final String fileId;
    /** Bytes this open has taken (guarded by OWN). */
    private long[] taken = NONE;

    private RecordLocks(long[] ranges, String fileId) {
        this.ranges = ranges;
        this.fileId = fileId;
    }

    /**
     * The ranges others hold on the file at path. Unknown (no /proc/locks, no device and inode): none, as
     * on a file system without locks.
     */
    static RecordLocks of(Path path) {
        try {
            long dev = (long) Files.getAttribute(path, "unix:dev");
            long ino = (long) Files.getAttribute(path, "unix:ino");
            return parse(procLocks(), id(dev, ino), ownPid());
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException | ClassCastException e) {
            return new RecordLocks(NONE, null);
        }
    }

    /**
     * How long a prefetched /proc/locks serves opens (from the start of its read): a command opens its images
     * in its first few milliseconds; a later open (a long command's) reads the table anew.
     */
    static final long PREFETCH_LIFETIME_NANOS = 1_000_000_000L;

    /** PREFETCH_LIFETIME_NANOS, which a test makes unlimited (its opens must not depend on how fast they run). */
    static volatile long prefetchLifetimeNanos = PREFETCH_LIFETIME_NANOS;

    /** A read of /proc/locks started by prefetch, and when it started; null if none. */
    private record Prefetch(FutureTask<String> text, long started) { }

    private static volatile Prefetch prefetched;

    /** Reads of /proc/locks made (prefetched or not), for tests. */
    static final java.util.concurrent.atomic.AtomicInteger READS = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * Starts reading /proc/locks on a background thread, for the opens of the next PREFETCH_LIFETIME_NANOS
     * (jqemu-img's start: one command, in its own process). A read of /proc/locks takes Linux's file-lock
     * rw-semaphore for writing, which waits for an RCU grace period: 8-55 ms on the 2-core virtual machine
     * measured, most of a short command's time after the JVM's start, twice for a conversion (its source and
     * its target), where QEMU's F_OFD_GETLK costs nothing. Prefetched, one wait serves both opens and runs
     * beside the option parsing and image probing that come first (block/README.md, session 11).
     */
    static void prefetch() {
        FutureTask<String> read = new FutureTask<>(new ReadProcLocks());
        prefetched = new Prefetch(read, System.nanoTime());
        Thread.ofPlatform().daemon().name("proc-locks").start(read);
    }

    /**
     * This process's id, from /proc/self (a link named after it), where ProcessHandle.current() would first
     * initialise ProcessHandleImpl (its process reaper's thread pool: some 1.5 ms of a short command).
     */
    static long ownPid() {
        try {
            return Long.parseLong(Files.readSymbolicLink(PROC_SELF).toString());
        } catch (IOException | UnsupportedOperationException | NumberFormatException e) {
            return ProcessHandle.current().pid();
        }
    }

    private static final Path PROC_SELF = Path.of("/proc/self");

    /** Drops the prefetched read (tests: the opens that follow read the table themselves, as before any prefetch). */
    static void forgetPrefetch() {
        prefetched = null;
    }

    /** prefetch's work: a class, not a lambda, whose call site the caller's thread would link. */
    private static final class ReadProcLocks implements java.util.concurrent.Callable<String> {
        @Override
        public String call() throws IOException {
            return readProcLocks();
        }
    }

    /** /proc/locks' text: the prefetched read if one is recent enough (waiting for it to end), else read now. */
    static String procLocks() throws IOException {
        Prefetch p = prefetched;
        if (p != null && System.nanoTime() - p.started() < prefetchLifetimeNanos) {
            try {
                return p.text().get();
            } catch (ExecutionException e) {
                if (e.getCause() instanceof IOException io) {
                    throw io;
                }
                // anything else: read it here, as without a prefetch
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return readProcLocks();
    }

    private static String readProcLocks() throws IOException {
        READS.incrementAndGet();
        return Files.readString(PROC_LOCKS);
    }

    /** The file's identity as /proc/locks prints it: "major:minor:inode", major and minor in hex. */
    static String id(long dev, long ino) {
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        return hex2(major) + ":" + hex2(minor) + ":" + ino;
    }

    private static String hex2(long v) {
        String h = Long.toHexString(v);
        return h.length() < 2 ? "0" + h : h;
    }

    /**
     * Lines look like "3: OFDLCK ADVISORY READ -1 fd:01:1234 100 100", or "3: -> POSIX ..." for a
     * request still waiting (not held); the end is "EOF" for a lock to the end of the file.
     */
    static RecordLocks parse(String procLocks, String fileId, long ownPid) {
        long[] found = new long[8];
        int n = 0;
        for (String line : procLocks.split("\n")) {
            String[] f = fields(line);
            if (f.length < 8 || !f[5].equals(fileId)) {
                continue;
            }
            boolean posix = f[1].equals("POSIX");
            if (!posix && !f[1].equals("OFDLCK") || posix && f[4].equals(Long.toString(ownPid))) {
                continue;
            }
            try {
                long start = Long.parseLong(f[6]);
                long end = f[7].equals("EOF") ? Long.MAX_VALUE : Long.parseLong(f[7]);
                if (n == found.length) {
                    found = Arrays.copyOf(found, n * 2);
                }
                found[n++] = start;
                found[n++] = end;
            } catch (NumberFormatException e) {
                // a line of a format we do not know: not a lock we can place
            }
        }
        return new RecordLocks(Arrays.copyOf(found, n), fileId);
    }

    private static String[] fields(String line) {
        StringTokenizer t = new StringTokenizer(line);
        String[] f = new String[t.countTokens()];
        for (int i = 0; i < f.length; i++) {
            f[i] = t.nextToken();
        }
        return f;
    }

    /** True if another process, or another open of the file in this one, holds a lock on the byte at offset. */
    boolean heldByOthers(long offset) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (ranges[i] <= offset && offset <= ranges[i + 1]) {
                return true;
            }
        }
        synchronized (OWN) {
            for (RecordLocks other : OWN.getOrDefault(fileId, List.of())) {
                if (other != this && holds(other.taken, offset)) {
                    return true;
                }
            }
        }
        return false;
    }

    private static boolean holds(long[] bytes, long offset) {
        for (long b : bytes) {
            if (b == offset) {
                return true;
            }
        }
        return false;
    }

    /** Records that this open holds the byte at offset (its record lock taken). */
    void took(long offset) {
        if (fileId == null) {
            return;
        }
        synchronized (OWN) {
            taken = Arrays.copyOf(taken, taken.length + 1);
            taken[taken.length - 1] = offset;
            List<RecordLocks> opens = OWN.computeIfAbsent(fileId, k -> new ArrayList<>(2));
            if (!opens.contains(this)) {
                opens.add(this);
            }
        }
    }

    /** This open is closed: its bytes no longer count. */
    void release() {
        synchronized (OWN) {
            List<RecordLocks> opens = OWN.get(fileId);
            if (opens != null && opens.remove(this) && opens.isEmpty()) {
                OWN.remove(fileId);
            }
        }
    }
}
