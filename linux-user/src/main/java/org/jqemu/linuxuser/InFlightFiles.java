package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Files jqemu models in the JVM (pipes, /proc views) passed with SCM_RIGHTS. The host kernel carries only
 * host descriptors, so each such file travels as a placeholder: a fresh memfd, whose inode number (unique
 * while it lives) names the file here; the receiver finds the file by the inode of the descriptor it got.
 * All guest processes live in this JVM, so both ends see this table. While in flight the file holds a
 * reference in the sender's {@link FdTable} family, so closing the sender's descriptor does not close it.
 */
final class InFlightFiles {
    private static final int SYS_MEMFD_CREATE = 319, MFD_CLOEXEC = 1;
    private static final int AT_EMPTY_PATH = 0x1000, STATX_INO = 0x100, STATX_INO_OFFSET = 32, STATX_SIZE = 256;
    private static final Map<Long, GuestFile> FILES = new ConcurrentHashMap<>();

    /** One placeholder made for a message being sent: its host descriptor, its key and the file it stands for. */
    record Placeholder(int hostFd, long inode, GuestFile file) { }

    private InFlightFiles() { }

    /** A placeholder for {@code file}, registered until claimed or cancelled; null when the host refuses a memfd. */
    static Placeholder send(GuestFile file, FdTable holder) {
        long fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = HostOs.syscall(SYS_MEMFD_CREATE, arena.allocateFrom("jqemu-in-flight").address(), MFD_CLOEXEC);
        }
        if (fd < 0) {
            return null;
        }
        long inode = inode((int) fd);
        if (inode < 0) {
            HostOs.close((int) fd);
            return null;
        }
        holder.hold(file);
        FILES.put(inode, file);
        return new Placeholder((int) fd, inode, file);
    }

    /** The message was not sent: the placeholder is forgotten and the file's reference dropped. */
    static void cancel(Placeholder p, FdTable holder) {
        if (FILES.remove(p.inode()) != null) {
            holder.dropHold(p.file());
        }
    }

    /** The file a received host descriptor stands for (the caller then closes that descriptor), or null. */
    static GuestFile claim(int hostFd) {
        if (FILES.isEmpty()) {
            return null;
        }
        long inode = inode(hostFd);
        return inode < 0 ? null : FILES.remove(inode);
    }

    private static long inode(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(STATX_SIZE, 8);
            int r = HostOs.statx(fd, "", AT_EMPTY_PATH, STATX_INO, out);
            return r < 0 ? r : out.get(ValueLayout.JAVA_LONG, STATX_INO_OFFSET);
        }
    }
}
