package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

import org.jqemu.memory.Page;

/**
 * System V shared memory (shmget, shmat, shmdt, shmctl; ipc/shm.c's semantics) for the guest processes of one
 * jqemu-i386 run. A segment's pages are host memory of its own, mapped into each attaching address space as
 * pages {@link GuestMemory} does not own, so every attacher (and a forked child, which inherits the
 * attachment) sees the others' writes. The registry is the IPC namespace: a segment outlives its creator
 * until IPC_RMID, and IPC_RMID frees it once the last attachment goes (it then loses its key, as Linux).
 * Permissions are not checked beyond the mode kept for IPC_STAT: every guest process has the host's ids.
 */
final class SysvShm {
    static final int IPC_PRIVATE = 0;
    static final int IPC_CREAT = 0x200, IPC_EXCL = 0x400;
    static final int IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2, IPC_INFO = 3, SHM_STAT = 13, SHM_INFO = 14,
            SHM_STAT_ANY = 15, SHM_LOCK = 11, SHM_UNLOCK = 12;
    /** shmctl's flag for the 64-bit structures (struct shmid64_ds); glibc always passes it. */
    static final int IPC_64 = 0x100;
    static final int SHM_RDONLY = 0x1000, SHM_RND = 0x2000, SHM_REMAP = 0x4000, SHM_EXEC = 0x8000;
    /** SHM_DEST in shm_perm.mode: removed, waiting for its last detach. */
    private static final int SHM_DEST = 0x200;
    /** The largest segment: what fits below the stack of a 32-bit process. */
    private static final long SHMMAX = ElfLoader.TASK_SIZE;
    /** struct shmid64_ds on i386: ipc64_perm (36 bytes), then size, three split 64-bit times, pids, nattch. */
    static final int SHMID64_DS_SIZE = 84;
    /** The old struct shmid_ds (without IPC_64): ipc_perm with 16-bit ids, 32-bit times. */
    static final int SHMID_DS_SIZE = 48;

    /** One segment; guarded by the registry's lock. */
    static final class Segment {
        final int id;
        int key;
        final long size;
        final MemorySegment pages;
        int mode;
        int uid, gid;
        final int cuid, cgid, cpid;
        int lpid;
        long atime, dtime, ctime;
        int attachments;
        boolean removed;

        Segment(int id, int key, long size, MemorySegment pages, int mode, int pid) {
            this.id = id;
            this.key = key;
            this.size = size;
            this.pages = pages;
            this.mode = mode;
            InitialStack.Credentials c = HostCredentials.current();
            this.uid = this.cuid = c.euid();
            this.gid = this.cgid = c.egid();
            this.cpid = pid;
            this.ctime = now();
        }
    }

    private final Map<Integer, Segment> segments = new HashMap<>();
    private int nextId;

    private static long now() { return System.currentTimeMillis() / 1000; }

    synchronized long shmget(int key, long size, int flags, int pid) {
        if (key != IPC_PRIVATE) {
            Segment found = byKey(key);
            if (found != null) {
                if ((flags & (IPC_CREAT | IPC_EXCL)) == (IPC_CREAT | IPC_EXCL)) {
                    return -Errno.EEXIST;
                }
                return size > found.size ? -Errno.EINVAL : found.id;
            }
            if ((flags & IPC_CREAT) == 0) {
                return -Errno.ENOENT;
            }
        }
        if (size < 1 || size > SHMMAX) {
            return -Errno.EINVAL;
        }
        MemorySegment pages;
        try {
            pages = Arena.ofAuto().allocate(GuestMemory.pageCeil(size), Page.SIZE); // zeroed, freed by the GC
        } catch (OutOfMemoryError e) {
            return -Errno.ENOMEM;
        }
        int id = nextId++;
        segments.put(id, new Segment(id, key, size, pages, flags & 0777, pid));
        return id;
    }

    private Segment byKey(int key) {
        for (Segment s : segments.values()) {
            if (s.key == key && !s.removed) {
                return s;
            }
        }
        return null;
    }

    /** Maps segment {@code id} into {@code memory}; the guest address, or a negative errno. */
    synchronized long shmat(GuestMemory memory, int id, long address, int flags, long limit, int pid) {
        synchronized (memory) { // the free range chosen stays free until mapped (see Syscalls.mmap); lock order: registry, then space
            return attach(memory, id, address, flags, limit, pid);
        }
    }

    private long attach(GuestMemory memory, int id, long address, int flags, long limit, int pid) {
        Segment s = segments.get(id);
        if (s == null) {
            return -Errno.EINVAL;
        }
        long length = GuestMemory.pageCeil(s.size);
        if (address == 0) {
            address = memory.findFree(Syscalls.MMAP_BASE, length, limit);
            if (address < 0) {
                address = memory.findFree(Page.SIZE * 16L, length, limit);
            }
            if (address < 0) {
                return -Errno.ENOMEM;
            }
        } else {
            if ((address & Page.OFFSET_MASK) != 0) {
                if ((flags & SHM_RND) == 0) {
                    return -Errno.EINVAL;
                }
                address = GuestMemory.pageFloor(address); // SHMLBA is one page on i386
            }
            if (address + length > limit) {
                return -Errno.EINVAL;
            }
            if ((flags & SHM_REMAP) == 0 && !memory.isFree(address, length)) {
                return -Errno.EINVAL;
            }
        }
        int prot = Page.READ | ((flags & SHM_RDONLY) == 0 ? Page.WRITE : 0) | ((flags & SHM_EXEC) != 0 ? Page.EXEC : 0);
        memory.mapShared(address, s.pages.asSlice(0, length), prot);
        memory.attached(this);
        memory.shmAttachments.put(address, s);
        s.attachments++;
        s.atime = now();
        s.lpid = pid;
        return address;
    }

    /** Unmaps the attachment that starts at {@code address}. */
    synchronized long shmdt(GuestMemory memory, long address, int pid) {
        Segment s = memory.shmAttachments.remove(address);
        if (s == null) {
            return -Errno.EINVAL;
        }
        memory.unmap(address, GuestMemory.pageCeil(s.size));
        s.lpid = pid;
        detached(s);
        return 0;
    }

    /** An address space that held {@code s} went away (exit, execve) or detached it. */
    synchronized void detached(Segment s) {
        s.attachments--;
        s.dtime = now();
        if (s.removed && s.attachments == 0) {
            segments.remove(s.id);
        }
    }

    /** fork: the child's copy of an address space holds the parent's attachments too. */
    synchronized void inherited(Segment s) {
        s.attachments++;
    }

    synchronized long shmctl(GuestMemory memory, int id, int command, long buffer) {
        boolean wide = (command & IPC_64) != 0;
        command &= ~IPC_64;
        switch (command) {
            case IPC_INFO, SHM_INFO -> {
                return -Errno.EINVAL; // limits and usage summaries: not modelled
            }
            case SHM_LOCK, SHM_UNLOCK -> {
                return segments.containsKey(id) ? 0 : -Errno.EINVAL;
            }
            default -> { }
        }
        Segment s = segments.get(id);
        if (s == null) {
            return -Errno.EINVAL;
        }
        switch (command) {
            case IPC_RMID -> {
                s.removed = true;
                s.key = IPC_PRIVATE;
                s.ctime = now();
                if (s.attachments == 0) {
                    segments.remove(id);
                }
                return 0;
            }
            case IPC_STAT, SHM_STAT, SHM_STAT_ANY -> {
                byte[] out = wide ? stat64(s) : statOld(s);
                memory.userWrite(buffer, out);
                return command == IPC_STAT ? 0 : id;
            }
            case IPC_SET -> {
                if (wide) {
                    s.uid = memory.readInt(buffer + 4);
                    s.gid = memory.readInt(buffer + 8);
                    s.mode = (s.mode & ~0777) | (memory.readShort(buffer + 20) & 0777);
                } else {
                    s.uid = memory.readShort(buffer + 4) & 0xffff;
                    s.gid = memory.readShort(buffer + 6) & 0xffff;
                    s.mode = (s.mode & ~0777) | (memory.readShort(buffer + 12) & 0777);
                }
                s.ctime = now();
                return 0;
            }
            default -> {
                return -Errno.EINVAL;
            }
        }
    }

    private static int mode(Segment s) { return s.mode | (s.removed ? SHM_DEST : 0); }

    /** struct shmid64_ds (asm-generic/shmbuf.h for a 32-bit long) with struct ipc64_perm. */
    private static byte[] stat64(Segment s) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(SHMID64_DS_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, s.key).putInt(4, s.uid).putInt(8, s.gid).putInt(12, s.cuid).putInt(16, s.cgid)
                .putShort(20, (short) mode(s)).putShort(24, (short) 0);
        b.putInt(36, (int) s.size);
        b.putInt(40, (int) s.atime).putInt(44, (int) (s.atime >>> 32));
        b.putInt(48, (int) s.dtime).putInt(52, (int) (s.dtime >>> 32));
        b.putInt(56, (int) s.ctime).putInt(60, (int) (s.ctime >>> 32));
        b.putInt(64, s.cpid).putInt(68, s.lpid).putInt(72, s.attachments);
        return b.array();
    }

    /** The old struct shmid_ds (linux/shm.h) with struct ipc_perm (linux/ipc.h, 16-bit ids on i386). */
    private static byte[] statOld(Segment s) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(SHMID_DS_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, s.key).putShort(4, (short) s.uid).putShort(6, (short) s.gid).putShort(8, (short) s.cuid)
                .putShort(10, (short) s.cgid).putShort(12, (short) mode(s)).putShort(14, (short) 0);
        b.putInt(16, (int) s.size).putInt(20, (int) s.atime).putInt(24, (int) s.dtime).putInt(28, (int) s.ctime);
        b.putShort(32, (short) s.cpid).putShort(34, (short) s.lpid).putShort(36, (short) s.attachments);
        return b.array();
    }
}
