package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/**
 * The host's C library through the FFM API, for the system calls that act on real host files
 * (open, read, write, lseek, close, statx, ioctl, readlink, clock_gettime). Every call returns the
 * Linux convention: a non-negative result or {@code -errno}, ready to hand back to the guest.
 */
final class HostOs {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout.OfLong SIZE_T = ValueLayout.JAVA_LONG;

    private static final MethodHandle OPENAT = function("openat", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), true);
    private static final MethodHandle READ = function("read", FunctionDescriptor.of(SIZE_T,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, SIZE_T), false);
    private static final MethodHandle WRITE = function("write", FunctionDescriptor.of(SIZE_T,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, SIZE_T), false);
    private static final MethodHandle PREAD = function("pread", FunctionDescriptor.of(SIZE_T,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, SIZE_T, ValueLayout.JAVA_LONG), false);
    private static final MethodHandle LSEEK = function("lseek", FunctionDescriptor.of(ValueLayout.JAVA_LONG,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT), false);
    private static final MethodHandle CLOSE = function("close", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT), false);
    private static final MethodHandle STATX = function("statx", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS), false);
    private static final MethodHandle IOCTL = function("ioctl", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), true);
    private static final MethodHandle READLINKAT = function("readlinkat", FunctionDescriptor.of(SIZE_T,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, SIZE_T), false);
    private static final MethodHandle CLOCK_GETTIME = function("clock_gettime", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS), false);
    private static final MethodHandle GETPID = function("getpid", FunctionDescriptor.of(ValueLayout.JAVA_INT), false);

    static final int AT_FDCWD = -100;
    static final int STATX_SIZE = 256;

    private HostOs() { }

    private static MethodHandle function(String name, FunctionDescriptor descriptor, boolean variadicTail) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("host C library has no " + name));
        Linker.Option capture = Linker.Option.captureCallState("errno");
        return variadicTail
                ? LINKER.downcallHandle(symbol, descriptor, capture, Linker.Option.firstVariadicArg(descriptor.argumentLayouts().size() - 1))
                : LINKER.downcallHandle(symbol, descriptor, capture);
    }

    private static long result(long value, MemorySegment state) {
        return value >= 0 ? value : -(int) ERRNO.get(state, 0L);
    }

    private static RuntimeException unexpected(Throwable t) {
        return new IllegalStateException("host call failed", t);
    }

    static int openat(int dirfd, String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return (int) result((int) OPENAT.invokeExact(state, dirfd, arena.allocateFrom(path), flags, mode), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long read(int fd, MemorySegment buffer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return result((long) READ.invokeExact(state, fd, buffer, buffer.byteSize()), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long pread(int fd, MemorySegment buffer, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return result((long) PREAD.invokeExact(state, fd, buffer, buffer.byteSize(), offset), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long write(int fd, MemorySegment buffer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return result((long) WRITE.invokeExact(state, fd, buffer, buffer.byteSize()), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long lseek(int fd, long offset, int whence) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return result((long) LSEEK.invokeExact(state, fd, offset, whence), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int close(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return (int) result((int) CLOSE.invokeExact(state, fd), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** statx(2): {@code out} receives the 256-byte struct statx, whose layout is the same on every architecture. */
    static int statx(int dirfd, String path, int flags, int mask, MemorySegment out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return (int) result((int) STATX.invokeExact(state, dirfd, arena.allocateFrom(path), flags, mask, out), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** ioctl(2) with a pointer argument. */
    static int ioctl(int fd, long request, MemorySegment argument) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return (int) result((int) IOCTL.invokeExact(state, fd, request, argument), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static long readlink(String path, MemorySegment out) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            return result((long) READLINKAT.invokeExact(state, AT_FDCWD, arena.allocateFrom(path), out, out.byteSize()), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /** clock_gettime(2): {seconds, nanoseconds}, or null with {@code errno[0]} set. */
    static long[] clockGettime(int clock, int[] errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment ts = arena.allocate(16, 8);
            int r = (int) CLOCK_GETTIME.invokeExact(state, clock, ts);
            if (r < 0) {
                errno[0] = (int) ERRNO.get(state, 0L);
                return null;
            }
            return new long[] {ts.get(ValueLayout.JAVA_LONG, 0), ts.get(ValueLayout.JAVA_LONG, 8)};
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int getpid() {
        try (Arena arena = Arena.ofConfined()) {
            return (int) GETPID.invokeExact(arena.allocate(CALL_STATE));
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }
}
