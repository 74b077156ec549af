package org.jqemu.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Arrays;

/**
 * The host kernel's system calls (x86_64 Linux numbers) through one downcall handle of the C library's
 * {@code syscall(2)}. Why one: each downcall shape costs a run's start-up a stub class and its lambda forms, 15-25 ms
 * apiece, which no AOT cache keeps; guest RAM's mapping and jqemu-i386's file calls all share this one
 * (accel-tcg/README-design.md, "Session 14 (hot)"). Results follow the kernel's convention: non-negative, or
 * {@code -errno}. Pointer arguments are host addresses: the caller keeps their segments reachable during the call.
 */
public final class HostSyscall {
    public static final int SYS_READ = 0, SYS_WRITE = 1, SYS_CLOSE = 3, SYS_LSEEK = 8, SYS_MMAP = 9, SYS_MUNMAP = 11,
            SYS_IOCTL = 16, SYS_PREAD64 = 17, SYS_OPENAT = 257, SYS_READLINKAT = 267, SYS_STATX = 332;

    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    /** libc's {@code long syscall(long number, ...)}, all six arguments as longs; null off x86_64 Linux. */
    private static final MethodHandle SYSCALL = link();

    private HostSyscall() { }

    @SuppressWarnings("restricted") // calling the host kernel is this class's purpose; launchers enable native access
    private static MethodHandle link() {
        if (!System.getProperty("os.name", "").startsWith("Linux") || !"amd64".equals(System.getProperty("os.arch"))) {
            return null; // the numbers below are x86_64's
        }
        try {
            Linker linker = Linker.nativeLinker();
            return linker.defaultLookup().find("syscall").map(symbol -> linker.downcallHandle(symbol,
                    FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                            ValueLayout.JAVA_LONG),
                    Linker.Option.captureCallState("errno"), Linker.Option.firstVariadicArg(1))).orElse(null);
        } catch (RuntimeException e) {
            return null;
        }
    }

    /**
     * A segment for the call state of a downcall linked with {@code Linker.Option.captureCallState("errno")}: this
     * class's, and linux-user's C functions (HostOs) share its layout and {@link #errno}.
     */
    public static MemorySegment callState(Arena arena) { return arena.allocate(CALL_STATE); }

    /** The errno a downcall left in {@code state} (see {@link #callState}). */
    public static int errno(MemorySegment state) { return (int) ERRNO.get(state, 0L); }

    /** Whether system calls can be made (x86_64 Linux with the FFM linker). */
    public static boolean available() { return SYSCALL != null; }

    /**
     * System call {@code nr} with up to six arguments (missing ones are 0): its result, or {@code -errno}.
     *
     * @throws IllegalStateException when {@link #available} is false or the downcall fails
     */
    public static long call(int nr, long... args) {
        if (SYSCALL == null) {
            throw new IllegalStateException("no host system calls on " + System.getProperty("os.name") + " "
                    + System.getProperty("os.arch"));
        }
        long[] a = Arrays.copyOf(args, 6);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = callState(arena);
            long value = (long) SYSCALL.invokeExact(state, (long) nr, a[0], a[1], a[2], a[3], a[4], a[5]);
            return value != -1 ? value : -errno(state); // libc's syscall() returns -1 and sets errno
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("host system call " + nr + " failed", t);
        }
    }
}
