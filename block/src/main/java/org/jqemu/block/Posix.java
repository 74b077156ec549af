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

    private static final MethodHandle OPEN;
    private static final MethodHandle CLOSE;
    private static final MethodHandle FALLOCATE;
    private static final MethodHandle LSEEK;
    private static final MethodHandle FSTAT;

    static {
        MethodHandle open = null, close = null, fallocate = null, lseek = null, fstat = null;
        try {
            if ("amd64".equals(System.getProperty("os.arch")) && System.getProperty("os.name").startsWith("Linux")) {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                open = linker.downcallHandle(libc.find("open").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
                close = linker.downcallHandle(libc.find("close").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
                fallocate = linker.downcallHandle(libc.find("fallocate").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_LONG));
                lseek = linker.downcallHandle(libc.find("lseek").orElseThrow(), FunctionDescriptor.of(
                        ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                fstat = linker.downcallHandle(libc.find("fstat").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            }
        } catch (RuntimeException | LinkageError e) {
            open = null; // native access unavailable: every caller falls back
        }
        OPEN = open;
        CLOSE = close;
        FALLOCATE = fallocate;
        LSEEK = lseek;
        FSTAT = fstat;
    }

    private Posix() { }

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
