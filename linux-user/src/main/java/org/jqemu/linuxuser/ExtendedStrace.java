package org.jqemu.linuxuser;

import java.util.Map;

/**
 * -strace lines, in QEMU 7.2's shapes, for the calls of this work: socket calls ({@link SocketStrace}), the
 * memory calls QEMU decodes (mmap2 with PROT_ and MAP_ names, mprotect, munmap, madvise), and the calls QEMU
 * prints raw, "name(a1,a2,a3,a4,a5,a6)" with the six argument registers as signed numbers (msync, mremap,
 * poll, getdents64...). {@link Strace} asks here first.
 */
final class ExtendedStrace {
    private static final int MMAP2 = 192, MPROTECT = 125, MUNMAP = 91;
    /** Calls QEMU prints with its generic formatter (the ones {@link Strace} formats itself are not here). */
    private static final Map<Integer, String> RAW = Map.ofEntries(
            Map.entry(Syscalls.SELECT, "select"), Map.entry(Syscalls.PPOLL_TIME64, "ppoll_time64"),
            Map.entry(Syscalls.PSELECT6_TIME64, "pselect6_time64"), Map.entry(ExtendedSyscalls.MREMAP, "mremap"),
            Map.entry(ExtendedSyscalls.MSYNC, "msync"),
            Map.entry(Syscalls.STATFS64, "statfs64"), Map.entry(Syscalls.FSTATFS64, "fstatfs64"),
            Map.entry(ExtendedSyscalls.FADVISE64, "fadvise64"), Map.entry(ExtendedSyscalls.FADVISE64_64, "fadvise64_64"),
            Map.entry(ExtendedSyscalls.GETXATTR, "getxattr"), Map.entry(ExtendedSyscalls.LGETXATTR, "lgetxattr"),
            Map.entry(ExtendedSyscalls.FGETXATTR, "fgetxattr"), Map.entry(ExtendedSyscalls.LISTXATTR, "listxattr"),
            Map.entry(ExtendedSyscalls.LLISTXATTR, "llistxattr"), Map.entry(ExtendedSyscalls.FLISTXATTR, "flistxattr"),
            Map.entry(ExtendedSyscalls.SYSINFO, "sysinfo"), Map.entry(Syscalls.SCHED_GETAFFINITY, "sched_getaffinity"),
            Map.entry(Syscalls.FSYNC, "fsync"), Map.entry(Syscalls.FDATASYNC, "fdatasync"));
    private static final String[][] PROT_NAMES = {{"4", "PROT_EXEC"}, {"1", "PROT_READ"}, {"2", "PROT_WRITE"},
            {"8", "PROT_SEM"}, {"16777216", "PROT_GROWSDOWN"}, {"33554432", "PROT_GROWSUP"}};
    private static final String[][] MAP_NAMES = {{"1", "MAP_SHARED"}, {"2", "MAP_PRIVATE"}, {"32", "MAP_ANONYMOUS"},
            {"2048", "MAP_DENYWRITE"}, {"16", "MAP_FIXED"}, {"256", "MAP_GROWSDOWN"}, {"4096", "MAP_EXECUTABLE"},
            {"8192", "MAP_LOCKED"}, {"65536", "MAP_NONBLOCK"}, {"16384", "MAP_NORESERVE"}, {"32768", "MAP_POPULATE"},
            {"131072", "MAP_STACK"}};
    private static final String[] MADVICE = {"MADV_NORMAL", "MADV_RANDOM", "MADV_SEQUENTIAL", "MADV_WILLNEED",
            "MADV_DONTNEED", null, null, null, "MADV_FREE", "MADV_REMOVE", "MADV_DONTFORK", "MADV_DOFORK"};

    private ExtendedStrace() { }

    static boolean handles(int nr) {
        return SocketStrace.handles(nr) || RAW.containsKey(nr) || nr == MMAP2 || nr == MPROTECT || nr == MUNMAP
                || nr == ExtendedSyscalls.MADVISE;
    }

    /** The line for a call being entered (without pid and result), or null when {@link Strace} prints it itself. */
    static String enter(int nr, long[] a, GuestMemory memory) {
        if (SocketStrace.handles(nr)) {
            return SocketStrace.enter(nr, a, memory);
        }
        String raw = RAW.get(nr);
        if (raw != null) {
            StringBuilder b = new StringBuilder(raw).append('(');
            for (int i = 0; i < 6; i++) {
                b.append(i == 0 ? "" : ",").append((int) a[i]);
            }
            return b.append(')').toString();
        }
        return switch (nr) {
            case MMAP2 -> "mmap2(" + pointer(a[0]) + "," + a[1] + "," + flags((int) a[2], PROT_NAMES, "PROT_NONE") + ","
                    + flags((int) a[3], MAP_NAMES, "0") + "," + (int) a[4] + "," + (a[5] == 0 ? "0" : "0x" + Long.toHexString(a[5])) + ")";
            case MPROTECT -> "mprotect(" + address(a[0]) + "," + a[1] + "," + flags((int) a[2], PROT_NAMES, "PROT_NONE") + ")";
            case MUNMAP -> "munmap(" + address(a[0]) + "," + a[1] + ")";
            case ExtendedSyscalls.MADVISE -> "madvise(" + address(a[0]) + "," + a[1] + ","
                    + (a[2] >= 0 && a[2] < MADVICE.length && MADVICE[(int) a[2]] != null ? MADVICE[(int) a[2]] : Long.toString(a[2])) + ")";
            default -> null;
        };
    }

    private static String address(long value) { return String.format("0x%08x", value); }

    private static String pointer(long value) { return value == 0 ? "NULL" : address(value); }

    /** Named bits in QEMU's table order, then what is left in hex; {@code none} when no bit is set. */
    static String flags(int value, String[][] names, String none) {
        StringBuilder b = new StringBuilder();
        int left = value;
        for (String[] n : names) {
            int bit = Integer.parseInt(n[0]);
            if ((value & bit) != 0) {
                b.append(b.isEmpty() ? "" : "|").append(n[1]);
                left &= ~bit;
            }
        }
        if (left != 0) {
            b.append(b.isEmpty() ? "" : "|").append("0x").append(Integer.toHexString(left));
        }
        return b.isEmpty() ? none : b.toString();
    }
}
