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
 * The host C library calls behind sockets, polling, directories and the other calls of
 * {@link ExtendedSyscalls}: real host descriptors and the host's errno, so the guest sees what the host
 * kernel says. These calls are not on a hot path (socket data goes through {@link HostFile}'s read and
 * write), so one generic invoker serves them all. Results follow the kernel: a value, or {@code -errno}.
 */
final class HostLibc {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    private static final ValueLayout I = ValueLayout.JAVA_INT;
    private static final ValueLayout L = ValueLayout.JAVA_LONG;
    private static final ValueLayout P = ValueLayout.ADDRESS;

    static final MethodHandle SOCKET = function("socket", FunctionDescriptor.of(I, I, I, I));
    static final MethodHandle SOCKETPAIR = function("socketpair", FunctionDescriptor.of(I, I, I, I, P));
    static final MethodHandle BIND = function("bind", FunctionDescriptor.of(I, I, P, I));
    static final MethodHandle CONNECT = function("connect", FunctionDescriptor.of(I, I, P, I));
    static final MethodHandle LISTEN = function("listen", FunctionDescriptor.of(I, I, I));
    static final MethodHandle ACCEPT4 = function("accept4", FunctionDescriptor.of(I, I, P, P, I));
    static final MethodHandle GETSOCKNAME = function("getsockname", FunctionDescriptor.of(I, I, P, P));
    static final MethodHandle GETPEERNAME = function("getpeername", FunctionDescriptor.of(I, I, P, P));
    static final MethodHandle SENDTO = function("sendto", FunctionDescriptor.of(L, I, P, L, I, P, I));
    static final MethodHandle RECVFROM = function("recvfrom", FunctionDescriptor.of(L, I, P, L, I, P, P));
    static final MethodHandle SENDMSG = function("sendmsg", FunctionDescriptor.of(L, I, P, I));
    static final MethodHandle RECVMSG = function("recvmsg", FunctionDescriptor.of(L, I, P, I));
    static final MethodHandle SHUTDOWN = function("shutdown", FunctionDescriptor.of(I, I, I));
    static final MethodHandle SETSOCKOPT = function("setsockopt", FunctionDescriptor.of(I, I, I, I, P, I));
    static final MethodHandle GETSOCKOPT = function("getsockopt", FunctionDescriptor.of(I, I, I, I, P, P));
    static final MethodHandle POSIX_FADVISE = function("posix_fadvise", FunctionDescriptor.of(I, I, L, L, I));
    static final MethodHandle GETXATTR = function("getxattr", FunctionDescriptor.of(L, P, P, P, L));
    static final MethodHandle LGETXATTR = function("lgetxattr", FunctionDescriptor.of(L, P, P, P, L));
    static final MethodHandle FGETXATTR = function("fgetxattr", FunctionDescriptor.of(L, I, P, P, L));
    static final MethodHandle LISTXATTR = function("listxattr", FunctionDescriptor.of(L, P, P, L));
    static final MethodHandle LLISTXATTR = function("llistxattr", FunctionDescriptor.of(L, P, P, L));
    static final MethodHandle FLISTXATTR = function("flistxattr", FunctionDescriptor.of(L, I, P, L));
    static final MethodHandle SYSINFO = function("sysinfo", FunctionDescriptor.of(I, P));
    static final MethodHandle DUP = function("dup", FunctionDescriptor.of(I, I));
    static final MethodHandle PWRITE = function("pwrite", FunctionDescriptor.of(L, I, P, L, L));
    static final MethodHandle FSYNC = function("fsync", FunctionDescriptor.of(I, I));

    private HostLibc() { }

    @SuppressWarnings("restricted") // calling the host C library is this class's purpose; launchers enable native access
    private static MethodHandle function(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("host C library has no " + name));
        return LINKER.downcallHandle(symbol, descriptor, Linker.Option.captureCallState("errno"));
    }

    /**
     * Calls {@code function} with {@code args} (ints, longs and segments as its descriptor says); C's -1 becomes
     * {@code -errno}. posix_fadvise returns its error number instead of setting errno, and is handled by the caller.
     */
    static long call(MethodHandle function, Object... args) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            Object[] all = new Object[args.length + 1];
            all[0] = state;
            System.arraycopy(args, 0, all, 1, args.length);
            long value = ((Number) function.invokeWithArguments(all)).longValue();
            return value >= 0 ? value : -(int) ERRNO.get(state, 0L);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("host call failed", t);
        }
    }
}
