package org.jqemu.block;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

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
    private static final MethodHandle OPEN = link("open", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle CLOSE = link("close", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT));
    private static final MethodHandle FALLOCATE = link("fallocate", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG));
    private static final MethodHandle LSEEK = link("lseek", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
    private static final MethodHandle FSTAT = link("fstat", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    private static final MethodHandle FCNTL_LOCK = link("fcntl", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle FTRUNCATE = link("ftruncate", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));

    /** A libc function, or null where native access is unavailable (callers then fall back). */
    @SuppressWarnings("restricted")
    private static MethodHandle link(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        if (!SUPPORTED) {
            return null;
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            return libc.find(name).map(f -> linker.downcallHandle(f, descriptor, options)).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            return null;
        }
    }

    /** Sets the file length without allocating anything (a sparse extension); false if unavailable. */
    static boolean truncate(int fd, long length) {
        if (fd < 0 || FTRUNCATE == null) {
            return false;
        }
        try {
            return (int) FTRUNCATE.invokeExact(fd, length) == 0;
        } catch (Throwable t) {
            return false;
        }
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
        if (fd < 0 || FCNTL_LOCK == null) {
            return LockResult.UNSUPPORTED;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fl = arena.allocate(FLOCK_SIZE, 8);
            fl.set(ValueLayout.JAVA_SHORT, 0, type);
            fl.set(ValueLayout.JAVA_SHORT, 2, (short) 0); // SEEK_SET
            fl.set(ValueLayout.JAVA_LONG, 8, offset);
            fl.set(ValueLayout.JAVA_LONG, 16, 1);
            int r = (int) FCNTL_LOCK.invokeExact(fd, set ? F_OFD_SETLK : F_OFD_GETLK, fl);
            if (r != 0) {
                return set ? LockResult.CONFLICT : LockResult.UNSUPPORTED;
            }
            return set || fl.get(ValueLayout.JAVA_SHORT, 0) == F_UNLCK ? LockResult.OK : LockResult.CONFLICT;
        } catch (Throwable t) {
            return LockResult.UNSUPPORTED;
        }
    }

    static boolean available() {
        return OPEN != null;
    }

    /** Opens a native descriptor on the file, or returns -1. */
    static int open(Path path, boolean writable) {
        if (OPEN == null) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            return (int) OPEN.invokeExact(arena.allocateFrom(path.toString()), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        } catch (Throwable t) {
            return -1;
        }
    }

    static void close(int fd) {
        if (fd >= 0 && CLOSE != null) {
            try {
                int ignored = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                // nothing useful to do on close failure of an auxiliary descriptor
            }
        }
    }

    /** Deallocates the byte range, keeping the file size; false if the file system cannot. */
    static boolean punchHole(int fd, long offset, long length) {
        if (fd < 0 || FALLOCATE == null) {
            return false;
        }
        try {
            return (int) FALLOCATE.invokeExact(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, length) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Allocates the range (preallocation=falloc); false if the file system cannot. */
    static boolean allocate(int fd, long offset, long length) {
        if (fd < 0 || FALLOCATE == null) {
            return false;
        }
        try {
            return (int) FALLOCATE.invokeExact(fd, 0, offset, length) == 0;
        } catch (Throwable t) {
            return false;
        }
    }

    /** lseek with SEEK_DATA/SEEK_HOLE; -1 when unsupported or past the end. */
    static long seek(int fd, long offset, int whence) {
        if (fd < 0 || LSEEK == null) {
            return -1;
        }
        try {
            return (long) LSEEK.invokeExact(fd, offset, whence);
        } catch (Throwable t) {
            return -1;
        }
    }

    /** Bytes the file occupies on disk, or -1. */
    static long allocatedBytes(int fd) {
        if (fd < 0 || FSTAT == null) {
            return -1;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment st = arena.allocate(STAT_SIZE, 8);
            if ((int) FSTAT.invokeExact(fd, st) != 0) {
                return -1;
            }
            return st.get(ValueLayout.JAVA_LONG, STAT_BLOCKS_OFFSET) * 512;
        } catch (Throwable t) {
            return -1;
        }
    }
}
