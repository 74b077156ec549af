package org.jqemu.block;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The few Linux calls the JDK does not offer for files: hole punching, SEEK_DATA/SEEK_HOLE and the
 * allocated size (st_blocks). Every method degrades gracefully (returns a "not supported" value) when
 * the native call is unavailable, so callers always have a portable fallback.
 */
final class Posix {
    private static final int O_RDONLY = 0;
    private static final int O_RDWR = 2;
    private static final int O_CLOEXEC = 0x80000;
    private static final int FALLOC_FL_KEEP_SIZE = 1;
    private static final int FALLOC_FL_PUNCH_HOLE = 2;
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;
    /** st_blocks in struct stat on x86-64 Linux. */
    private static final long STAT_BLOCKS_OFFSET = 64;
    private static final long STAT_SIZE = 144;

    private static final boolean SUPPORTED = "amd64".equals(System.getProperty("os.arch"))
            && System.getProperty("os.name").startsWith("Linux");
    /** x86-64 Linux system call numbers. */
    private static final long SYS_OPEN = 2;
    private static final long SYS_CLOSE = 3;
    private static final long SYS_FSTAT = 5;
    private static final long SYS_LSEEK = 8;
    private static final long SYS_FCNTL = 72;
    private static final long SYS_FTRUNCATE = 77;
    private static final long SYS_FALLOCATE = 285;

    /**
     * libc's syscall(2), the one downcall every method goes through: the first link of a native
     * function costs the JVM some 200 ms and each further one 20-60 ms (generated classes), which a
     * short jqemu-img command would otherwise spend linking seven functions. Linked on first use.
     */
    private static final class Syscall {
        static final MethodHandle HANDLE = link();

        static {
            linked = true;
        }

        @SuppressWarnings("restricted")
        private static MethodHandle link() {
            if (!SUPPORTED) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                return linker.defaultLookup().find("syscall").map(f -> linker.downcallHandle(f,
                        FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
                        Linker.Option.firstVariadicArg(1))).orElse(null);
            } catch (RuntimeException | LinkageError e) {
                return null;
            }
        }
    }

    /** Set once linking is over (done or failed): a call would not wait. */
    private static volatile boolean linked;

    /** Set once a background link (linkInBackground) has also made its first calls. */
    private static volatile boolean warmedUp;

    /**
     * True if native calls can be made without waiting for the link (or are known to be unavailable), and
     * a background link is done with its first calls, so that the caller's own first call (opening a
     * descriptor) generates no code of its own either.
     */
    static boolean ready() {
        return !SUPPORTED || linked && (warmedUp || !LINK_STARTED.get());
    }

    /** Set when a background link has been started: one is enough. */
    private static final AtomicBoolean LINK_STARTED = new AtomicBoolean();

    /**
     * Starts linking syscall(2) on a daemon thread and makes the calls a hole-seeking caller's first ones
     * will be, on a directory instead of its file: the first call, the first native allocation and the
     * first path copied to native memory generate code too (a type switch and var handles, some 10 ms on
     * the thread that would otherwise make them: a converting writer). A thread that needs the handle
     * meanwhile waits for the class initialisation to finish, as the JVM guarantees, and never links twice.
     */
    static void linkInBackground() {
        if (SUPPORTED && !linked && LINK_STARTED.compareAndSet(false, true)) {
            Thread.ofPlatform().daemon().name("posix-link").start(new BackgroundLink());
        }
    }

    /** linkInBackground's work: a class, not a lambda, whose call site the caller's thread would link. */
    private static final class BackgroundLink implements Runnable {
        @Override
        public void run() {
            try {
                close(open(Path.of("/"), false));
                try (Arena arena = Arena.ofConfined()) {
                    arena.allocate(FLOCK_SIZE, 8);
                }
            } finally {
                warmedUp = true;
            }
        }
    }

    /** Runs a system call; -1 on any error (errno is not needed by the callers) or when unavailable. */
    private static long syscall(long number, long a, long b, long c, long d) {
        MethodHandle h = Syscall.HANDLE;
        if (h == null) {
            return -1;
        }
        try {
            long r = (long) h.invokeExact(number, a, b, c, d);
            return r < 0 ? -1 : r;
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Sets the file length without allocating anything (a sparse extension); false if unavailable. */
    static boolean truncate(int fd, long length) {
        return fd >= 0 && syscall(SYS_FTRUNCATE, fd, length, 0, 0) == 0;
    }

    private Posix() { }

    /** Open-file-description locks (Linux): owned by the descriptor, released when it closes. */
    private static final int F_OFD_GETLK = 36;
    private static final int F_OFD_SETLK = 37;
    static final short F_RDLCK = 0;
    static final short F_WRLCK = 1;
    static final short F_UNLCK = 2;
    /** struct flock on x86-64: l_type, l_whence (shorts), l_start, l_len (off_t), l_pid. */
    private static final long FLOCK_SIZE = 32;

    /** Result of a lock call: done, refused because another descriptor holds a conflicting lock, unsupported. */
    enum LockResult { OK, CONFLICT, UNSUPPORTED }

    /**
     * With set: takes (or with F_UNLCK drops) a lock of the given type on one byte. Without: tests
     * whether a lock of that type could be taken (CONFLICT if another descriptor prevents it).
     */
    static LockResult lockByte(int fd, long offset, short type, boolean set) {
        if (fd < 0 || Syscall.HANDLE == null) {
            return LockResult.UNSUPPORTED;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fl = arena.allocate(FLOCK_SIZE, 8);
            fl.set(ValueLayout.JAVA_SHORT, 0, type);
            fl.set(ValueLayout.JAVA_SHORT, 2, (short) 0); // SEEK_SET
            fl.set(ValueLayout.JAVA_LONG, 8, offset);
            fl.set(ValueLayout.JAVA_LONG, 16, 1);
            long r = syscall(SYS_FCNTL, fd, set ? F_OFD_SETLK : F_OFD_GETLK, fl.address(), 0);
            if (r != 0) {
                return set ? LockResult.CONFLICT : LockResult.UNSUPPORTED;
            }
            return set || fl.get(ValueLayout.JAVA_SHORT, 0) == F_UNLCK ? LockResult.OK : LockResult.CONFLICT;
        }
    }

    static boolean available() {
        return Syscall.HANDLE != null;
    }

    /** Opens a native descriptor on the file, or returns -1. */
    static int open(Path path, boolean writable) {
        if (!SUPPORTED) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            return (int) syscall(SYS_OPEN, arena.allocateFrom(path.toString()).address(),
                    (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0, 0);
        }
    }

    /** Failure to close an auxiliary descriptor leaves nothing useful to do. */
    static void close(int fd) {
        if (fd >= 0) {
            syscall(SYS_CLOSE, fd, 0, 0, 0);
        }
    }

    /** Deallocates the byte range, keeping the file size; false if the file system cannot. */
    static boolean punchHole(int fd, long offset, long length) {
        return fd >= 0 && syscall(SYS_FALLOCATE, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0;
    }

    /** Allocates the range (preallocation=falloc); false if the file system cannot. */
    static boolean allocate(int fd, long offset, long length) {
        return fd >= 0 && syscall(SYS_FALLOCATE, fd, 0, offset, length) == 0;
    }

    /** lseek with SEEK_DATA/SEEK_HOLE; -1 when unsupported or past the end. */
    static long seek(int fd, long offset, int whence) {
        return fd < 0 ? -1 : syscall(SYS_LSEEK, fd, offset, whence, 0);
    }

    /** Bytes the file occupies on disk, or -1. */
    static long allocatedBytes(int fd) {
        if (fd < 0) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(STAT_SIZE, 8);
            if (syscall(SYS_FSTAT, fd, st.address(), 0, 0) != 0) {
                return -1;
            }
            return st.get(ValueLayout.JAVA_LONG, STAT_BLOCKS_OFFSET) * 512;
        }
    }
}
