package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.ref.Reference;
import org.jqemu.memory.HostSyscall;

/**
 * The host's kernel and C library through the FFM API: every host call of jqemu-i386 is here. The calls that act
 * on real host files (open, read, write, lseek, close, statx, ioctl, readlink) are system calls through memory's
 * {@link HostSyscall} (one downcall for all), with typed wrappers, as are the raw {@link #syscall}s; clock_gettime
 * (the vDSO's) and faccessat (libc's flags) and the calls behind sockets, xattrs, fadvise and sysinfo, not on a
 * hot path (socket data goes through {@link HostFile}'s read and write), are C functions linked at their first
 * call, the latter sharing one generic invoker, {@link #call}. Every call returns the Linux convention: a
 * non-negative result or {@code -errno}, ready to hand back to the guest.
 */
final class HostOs {
    private static final Linker LINKER = Linker.nativeLinker();

    private static final Function CLOCK_GETTIME = function("clock_gettime", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS), false);
    private static final Function FACCESSAT = function("faccessat", FunctionDescriptor.of(ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), false);


    private static final ValueLayout I = ValueLayout.JAVA_INT;
    private static final ValueLayout L = ValueLayout.JAVA_LONG;
    private static final ValueLayout P = ValueLayout.ADDRESS;

    // ---- for call(): sockets, xattrs, fadvise, sysinfo, the write-back of shared file mappings
    static final Function SOCKET = function("socket", FunctionDescriptor.of(I, I, I, I), false);
    static final Function SOCKETPAIR = function("socketpair", FunctionDescriptor.of(I, I, I, I, P), false);
    static final Function BIND = function("bind", FunctionDescriptor.of(I, I, P, I), false);
    static final Function CONNECT = function("connect", FunctionDescriptor.of(I, I, P, I), false);
    static final Function LISTEN = function("listen", FunctionDescriptor.of(I, I, I), false);
    static final Function ACCEPT4 = function("accept4", FunctionDescriptor.of(I, I, P, P, I), false);
    static final Function GETSOCKNAME = function("getsockname", FunctionDescriptor.of(I, I, P, P), false);
    static final Function GETPEERNAME = function("getpeername", FunctionDescriptor.of(I, I, P, P), false);
    static final Function SENDTO = function("sendto", FunctionDescriptor.of(L, I, P, L, I, P, I), false);
    static final Function RECVFROM = function("recvfrom", FunctionDescriptor.of(L, I, P, L, I, P, P), false);
    static final Function SENDMSG = function("sendmsg", FunctionDescriptor.of(L, I, P, I), false);
    static final Function RECVMSG = function("recvmsg", FunctionDescriptor.of(L, I, P, I), false);
    static final Function SHUTDOWN = function("shutdown", FunctionDescriptor.of(I, I, I), false);
    static final Function SETSOCKOPT = function("setsockopt", FunctionDescriptor.of(I, I, I, I, P, I), false);
    static final Function GETSOCKOPT = function("getsockopt", FunctionDescriptor.of(I, I, I, I, P, P), false);
    static final Function POSIX_FADVISE = function("posix_fadvise", FunctionDescriptor.of(I, I, L, L, I), false);
    static final Function GETXATTR = function("getxattr", FunctionDescriptor.of(L, P, P, P, L), false);
    static final Function LGETXATTR = function("lgetxattr", FunctionDescriptor.of(L, P, P, P, L), false);
    static final Function FGETXATTR = function("fgetxattr", FunctionDescriptor.of(L, I, P, P, L), false);
    static final Function LISTXATTR = function("listxattr", FunctionDescriptor.of(L, P, P, L), false);
    static final Function LLISTXATTR = function("llistxattr", FunctionDescriptor.of(L, P, P, L), false);
    static final Function FLISTXATTR = function("flistxattr", FunctionDescriptor.of(L, I, P, L), false);
    static final Function SYSINFO = function("sysinfo", FunctionDescriptor.of(I, P), false);
    static final Function DUP = function("dup", FunctionDescriptor.of(I, I), false);
    static final Function PWRITE = function("pwrite", FunctionDescriptor.of(L, I, P, L, L), false);
    static final Function FSYNC = function("fsync", FunctionDescriptor.of(I, I), false);
    /** signal(2) with SIG_DFL: the previous handler comes back as a number (SIG_ERR: -1). */
    static final Function SIGNAL = function("signal", FunctionDescriptor.of(L, I, P), false);


    /** x86_64 host system call numbers for {@link #syscall}. */
    static final int SYS_POLL = 7, SYS_PWRITE64 = 18, SYS_DUP = 32, SYS_FCNTL = 72, SYS_FLOCK = 73,
            SYS_FSYNC = 74, SYS_FDATASYNC = 75, SYS_TRUNCATE = 76, SYS_FTRUNCATE = 77, SYS_FCHMOD = 91,
            SYS_FCHOWN = 93, SYS_UMASK = 95, SYS_STATFS = 137, SYS_FSTATFS = 138, SYS_SYNC = 162,
            SYS_GETDENTS64 = 217, SYS_MKDIRAT = 258, SYS_MKNODAT = 259, SYS_FCHOWNAT = 260, SYS_UNLINKAT = 263,
            SYS_LINKAT = 265, SYS_SYMLINKAT = 266, SYS_FCHMODAT = 268, SYS_UTIMENSAT = 280,
            SYS_FALLOCATE = 285, SYS_RENAMEAT2 = 316;

    static final int AT_FDCWD = -100;
    static final int STATX_SIZE = 256;

    private HostOs() { }

    private static Function function(String name, FunctionDescriptor descriptor, boolean variadicTail) {
        return function(name, descriptor, variadicTail ? descriptor.argumentLayouts().size() - 1 : -1);
    }

    private static Function function(String name, FunctionDescriptor descriptor, int firstVariadic) {
        return new Function(name, descriptor, firstVariadic);
    }

    /**
     * A host C function, linked at its first call. Linking one makes a stub class and its lambda forms, about
     * 7 ms each at start-up, which no AOT cache keeps: linking all 40 when the class loaded took 0.2 s of every
     * run's start, most of them for calls a run never makes (accel-tcg/README-design.md, "Session 14 (hot)").
     * Two threads may both link one at its first call; either handle serves.
     */
    static final class Function {
        private final String name;
        private final FunctionDescriptor descriptor;
        private final int firstVariadic;
        private MethodHandle handle;

        private Function(String name, FunctionDescriptor descriptor, int firstVariadic) {
            this.name = name;
            this.descriptor = descriptor;
            this.firstVariadic = firstVariadic;
        }

        MethodHandle handle() {
            MethodHandle h = handle;
            return h != null ? h : (handle = link());
        }

        @SuppressWarnings("restricted") // calling the host C library is this class's purpose; launchers enable native access
        private MethodHandle link() {
            MemorySegment symbol = LINKER.defaultLookup().find(name)
                    .orElseThrow(() -> new IllegalStateException("host C library has no " + name));
            Linker.Option capture = Linker.Option.captureCallState("errno");
            return firstVariadic >= 0
                    ? LINKER.downcallHandle(symbol, descriptor, capture, Linker.Option.firstVariadicArg(firstVariadic))
                    : LINKER.downcallHandle(symbol, descriptor, capture);
        }
    }

    private static long result(long value, MemorySegment state) {
        return value >= 0 ? value : -HostSyscall.errno(state);
    }

    private static RuntimeException unexpected(Throwable t) {
        return new IllegalStateException("host call failed", t);
    }

    // The file calls go through the one system-call downcall (HostSyscall: a downcall shape of their own each cost
    // start-up 15-25 ms). Segments passed by address are kept reachable until the call returns.

    static int openat(int dirfd, String path, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) HostSyscall.call(HostSyscall.SYS_OPENAT, dirfd, arena.allocateFrom(path).address(), flags, mode);
        }
    }

    static long read(int fd, MemorySegment buffer) {
        long r = HostSyscall.call(HostSyscall.SYS_READ, fd, buffer.address(), buffer.byteSize());
        Reference.reachabilityFence(buffer);
        return r;
    }

    static long pread(int fd, MemorySegment buffer, long offset) {
        long r = HostSyscall.call(HostSyscall.SYS_PREAD64, fd, buffer.address(), buffer.byteSize(), offset);
        Reference.reachabilityFence(buffer);
        return r;
    }

    static long write(int fd, MemorySegment buffer) {
        long r = HostSyscall.call(HostSyscall.SYS_WRITE, fd, buffer.address(), buffer.byteSize());
        Reference.reachabilityFence(buffer);
        return r;
    }

    static long lseek(int fd, long offset, int whence) {
        return HostSyscall.call(HostSyscall.SYS_LSEEK, fd, offset, whence);
    }

    static int close(int fd) {
        return (int) HostSyscall.call(HostSyscall.SYS_CLOSE, fd);
    }

    /** statx(2): {@code out} receives the 256-byte struct statx, whose layout is the same on every architecture. */
    static int statx(int dirfd, String path, int flags, int mask, MemorySegment out) {
        try (Arena arena = Arena.ofConfined()) {
            int r = (int) HostSyscall.call(HostSyscall.SYS_STATX, dirfd, arena.allocateFrom(path).address(), flags, mask,
                    out.address());
            Reference.reachabilityFence(out);
            return r;
        }
    }

    /** ioctl(2) with a pointer argument. */
    static int ioctl(int fd, long request, MemorySegment argument) {
        int r = (int) HostSyscall.call(HostSyscall.SYS_IOCTL, fd, request, argument.address());
        Reference.reachabilityFence(argument);
        return r;
    }

    static long readlink(String path, MemorySegment out) {
        try (Arena arena = Arena.ofConfined()) {
            long r = HostSyscall.call(HostSyscall.SYS_READLINKAT, AT_FDCWD, arena.allocateFrom(path).address(), out.address(),
                    out.byteSize());
            Reference.reachabilityFence(out);
            return r;
        }
    }

    /** clock_gettime(2): {seconds, nanoseconds}, or null with {@code errno[0]} set. */
    static long[] clockGettime(int clock, int[] errno) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = HostSyscall.callState(arena);
            MemorySegment ts = arena.allocate(16, 8);
            int r = (int) CLOCK_GETTIME.handle().invokeExact(state, clock, ts);
            if (r < 0) {
                errno[0] = HostSyscall.errno(state);
                return null;
            }
            return new long[] {ts.get(ValueLayout.JAVA_LONG, 0), ts.get(ValueLayout.JAVA_LONG, 8)};
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    static int faccessat(int dirfd, String path, int mode, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = HostSyscall.callState(arena);
            return (int) result((int) FACCESSAT.handle().invokeExact(state, dirfd, arena.allocateFrom(path), mode, flags), state);
        } catch (Throwable t) {
            throw unexpected(t);
        }
    }

    /**
     * A raw host system call (x86_64 numbers, {@code SYS_*}) for the calls whose arguments are plain numbers,
     * descriptors and host pointers: the result, or -errno.
     */
    static long syscall(int nr, long... args) {
        return HostSyscall.call(nr, args);
    }

    /**
     * Calls {@code function} with {@code args} (ints, longs and segments as its descriptor says); C's -1 becomes
     * {@code -errno}. posix_fadvise returns its error number instead of setting errno, and is handled by the caller.
     */
    static long call(Function function, Object... args) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = HostSyscall.callState(arena);
            Object[] all = new Object[args.length + 1];
            all[0] = state;
            System.arraycopy(args, 0, all, 1, args.length);
            long value = ((Number) function.handle().invokeWithArguments(all)).longValue();
            return result(value, state);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("host call failed", t);
        }
    }
}
