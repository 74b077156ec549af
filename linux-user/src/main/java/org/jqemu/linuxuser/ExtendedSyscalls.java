package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import org.jqemu.memory.Page;

/**
 * The system calls a dynamically linked glibc and Debian's programs need beyond {@link Syscalls}' core and
 * the process model's {@link FileCalls}/{@link ProcessCalls}: sockets ({@link Sockets}), mremap, msync,
 * madvise, file-backed and shared mappings (with their names for /proc/self/maps, kept in the process's
 * {@link ProcessImage}), fadvise, the xattr queries and sysinfo. {@code Syscalls} hands over every number
 * it does not know; anything unknown here too is -ENOSYS. Descriptors are the process's {@link FdTable}'s.
 */
final class ExtendedSyscalls {
    static final int SOCKETCALL = 102, SYSINFO = 116, MSYNC = 144, MREMAP = 163, MADVISE = 219,
            GETXATTR = 229, LGETXATTR = 230, FGETXATTR = 231, LISTXATTR = 232, LLISTXATTR = 233, FLISTXATTR = 234,
            FADVISE64 = 250, FADVISE64_64 = 272, IPC = 117, SEMGET = 393, SEMCTL = 394, SHMGET = 395, SHMCTL = 396,
            SHMAT = 397, SHMDT = 398, MSGGET = 399, MSGSND = 400, MSGRCV = 401, MSGCTL = 402, SEMTIMEDOP = 420;
    /** The ipc(2) multiplexer's call numbers (the low 16 bits of its first argument). */
    private static final int IPC_SEMOP = 1, IPC_SEMGET = 2, IPC_SEMCTL = 3, IPC_SEMTIMEDOP = 4, IPC_MSGSND = 11,
            IPC_MSGRCV = 12, IPC_MSGGET = 13, IPC_MSGCTL = 14, IPC_SHMAT = 21, IPC_SHMDT = 22, IPC_SHMGET = 23,
            IPC_SHMCTL = 24;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
    private static final int MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9;
    private static final int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;
    private static final int SYSINFO_SIZE = 64, HOST_SYSINFO_SIZE = 112;
    private static final int MAX_XATTR = 1 << 16, MAX_PATH = 4096;
    static final int MAP_SHARED = 0x01;

    private final GuestProcess process;
    private final GuestMemory memory;
    private final Syscalls syscalls;
    final Sockets sockets;
    final ProcFs procFs;

    /** The calls of one thread (a new instance after execve, as its {@link Syscalls}). */
    ExtendedSyscalls(GuestThread thread, Syscalls syscalls) {
        this.process = thread.process;
        this.memory = process.memory;
        this.syscalls = syscalls;
        this.sockets = new Sockets(thread);
        this.procFs = new ProcFs(process);
    }

    long call(int nr, long[] a) {
        long socket = sockets.call(nr, a);
        if (socket != Sockets.NOT_A_SOCKET_CALL) {
            return socket;
        }
        return switch (nr) {
            case MREMAP -> {
                synchronized (memory) { // one address-space change at a time (see Syscalls.mmap)
                    yield mremap(a[0], a[1], a[2], (int) a[3], a[4]);
                }
            }
            case MSYNC -> msync(a[0], a[1], (int) a[2]);
            case MADVISE -> {
                synchronized (memory) {
                    yield madvise(a[0], a[1], (int) a[2]);
                }
            }
            case FADVISE64 -> fadvise((int) a[0], a[1] | (a[2] << 32), a[3], (int) a[4]);
            case FADVISE64_64 -> fadvise((int) a[0], a[1] | (a[2] << 32), a[3] | (a[4] << 32), (int) a[5]);
            case GETXATTR, LGETXATTR -> getxattr(nr == GETXATTR ? HostOs.GETXATTR : HostOs.LGETXATTR, a[0], a[1], a[2], a[3]);
            case FGETXATTR -> fgetxattr((int) a[0], a[1], a[2], a[3]);
            case LISTXATTR, LLISTXATTR -> listxattr(nr == LISTXATTR ? HostOs.LISTXATTR : HostOs.LLISTXATTR, a[0], a[1], a[2]);
            case FLISTXATTR -> flistxattr((int) a[0], a[1], a[2]);
            case SYSINFO -> sysinfo(a[0]);
            case IPC -> ipc(a);
            case SHMGET -> shm().shmget((int) a[0], a[1], (int) a[2], process.pid);
            case SHMAT -> shmat((int) a[0], a[1], (int) a[2]);
            case SHMDT -> shm().shmdt(memory, a[0], process.pid);
            case SHMCTL -> shm().shmctl(memory, (int) a[0], (int) a[1], a[2]);
            case SEMGET, SEMCTL, SEMTIMEDOP, MSGGET, MSGSND, MSGRCV, MSGCTL -> syscalls.unimplemented(nr);
            default -> syscalls.unimplemented(nr);
        };
    }

    private SysvShm shm() { return process.kernel.shm; }

    private long shmat(int id, long address, int flags) {
        return shm().shmat(memory, id, address, flags, syscalls.stackGuard(), process.pid);
    }

    /**
     * ipc(call, first, second, third, ptr, fifth): the one System V IPC entry of older i386 ABIs, which glibc
     * still uses. Shared memory is modelled; semaphores and message queues answer ENOSYS (reported as ipc).
     */
    private long ipc(long[] a) {
        int call = (int) a[0] & 0xffff;
        int version = (int) a[0] >>> 16;
        return switch (call) {
            case IPC_SHMGET -> shm().shmget((int) a[1], a[2], (int) a[3], process.pid);
            case IPC_SHMAT -> {
                if (version == 1) {
                    yield -Errno.EINVAL; // the iBCS2 variant, never used by i386 Linux programs
                }
                long address = shmat((int) a[1], a[4], (int) a[2]);
                if (address >= 0) {
                    memory.userWriteInt(a[3], (int) address); // *third = the attach address, return 0
                    yield 0;
                }
                yield address;
            }
            case IPC_SHMDT -> shm().shmdt(memory, a[4], process.pid);
            case IPC_SHMCTL -> shm().shmctl(memory, (int) a[1], (int) a[2], a[4]);
            case IPC_SEMOP, IPC_SEMGET, IPC_SEMCTL, IPC_SEMTIMEDOP, IPC_MSGSND, IPC_MSGRCV, IPC_MSGGET, IPC_MSGCTL ->
                    syscalls.unimplemented(IPC);
            default -> -Errno.EINVAL;
        };
    }

    private int hostFd(int fd) {
        return process.hostFd(fd);
    }

    // ---- mappings: names, shared write-back, mremap, msync, madvise

    /**
     * Called by mmap once [start, start+size) is mapped: names a file mapping for /proc/self/maps and, for a
     * writable MAP_SHARED one of a host file, keeps a duplicate of its descriptor to write the pages back
     * (msync, munmap, mremap, exit). Shared mappings are a documented approximation: the pages are a copy made
     * at mmap time, written back to the file then; two mappings of one file do not see each other's writes.
     */
    void mapped(long start, long size, GuestFile source, long offset, int flags, int prot) {
        closeOrphans(process.image.forget(start, start + size)); // MAP_FIXED replaced them (their pages are gone)
        if (source == null) {
            return;
        }
        String path = source instanceof HostFile h ? hostFdPath(h.fd()) : null;
        int writeBack = (flags & MAP_SHARED) != 0 ? ProcessImage.SHARED_READ_ONLY : ProcessImage.PRIVATE;
        if ((flags & MAP_SHARED) != 0 && (prot & Page.WRITE) != 0 && source instanceof HostFile h) {
            long copy = HostOs.call(HostOs.DUP, h.fd()); // no descriptor left: nothing can be written back
            writeBack = copy < 0 ? ProcessImage.SHARED_READ_ONLY : (int) copy;
        }
        if (path == null && writeBack < 0) {
            return;
        }
        process.image.name(start, start + size, path == null ? "" : path, offset, writeBack);
    }

    /** Called by munmap before the pages go: shared pages are written back, names forgotten. */
    void unmapping(long start, long size) {
        List<ProcessImage.Region> removed = process.image.forget(start, start + size);
        for (ProcessImage.Region r : removed) {
            if (r.writeBack() >= 0) {
                process.image.writeBack(r, memory);
            }
        }
        closeOrphans(removed);
    }

    /** Closes the write-back descriptors of removed shared regions that no remaining region uses. */
    private void closeOrphans(List<ProcessImage.Region> removed) {
        java.util.Set<Integer> closed = new java.util.HashSet<>();
        for (ProcessImage.Region r : removed) {
            if (r.writeBack() >= 0 && !closed.contains(r.writeBack())
                    && process.image.regionsIn(0, ElfLoader.TASK_SIZE).stream().noneMatch(x -> x.writeBack() == r.writeBack())) {
                closed.add(r.writeBack());
                HostOs.close(r.writeBack());
            }
        }
    }

    /** The host's name for a host descriptor (/proc/self/fd/N), or null. */
    private static String hostFdPath(int fd) {
        try {
            return java.nio.file.Files.readSymbolicLink(java.nio.file.Path.of("/proc/self/fd/" + fd)).toString();
        } catch (java.io.IOException | RuntimeException e) {
            return null;
        }
    }

    private long msync(long start, long length, int flags) {
        if ((start & Page.OFFSET_MASK) != 0 || (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC)) != 0
                || (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC)) {
            return -Errno.EINVAL;
        }
        long end = GuestMemory.pageCeil(start + length);
        if (!memory.isMapped(start, end - start)) {
            return -Errno.ENOMEM;
        }
        for (ProcessImage.Region r : process.image.regionsIn(start, end)) {
            if (r.writeBack() >= 0) {
                process.image.writeBack(r, memory);
                if ((flags & MS_SYNC) != 0) {
                    HostOs.call(HostOs.FSYNC, r.writeBack());
                }
            }
        }
        return 0;
    }

    /** MADV_DONTNEED and friends drop private anonymous pages: the next touch sees zeros, as on Linux. */
    private long madvise(long start, long length, int advice) {
        if ((start & Page.OFFSET_MASK) != 0 || start + length > ElfLoader.TASK_SIZE) {
            return -Errno.EINVAL;
        }
        if (advice != MADV_DONTNEED && advice != MADV_FREE && advice != MADV_REMOVE) {
            return 0;
        }
        long end = GuestMemory.pageCeil(start + length);
        for (long a = start; a < end; a += Page.SIZE) {
            int prot = memory.protection(a);
            if (prot < 0) {
                return -Errno.ENOMEM;
            }
            ProcessImage.Region r = process.image.regionAt(a);
            if (memory.isShared(a)) {
                continue; // shared memory keeps its contents for the other processes mapping it
            }
            if (r == null) {
                memory.map(a, Page.SIZE, prot); // a fresh zero page, backed again when touched
            } else if (r.writeBack() < 0) {
                memory.map(a, Page.SIZE, prot); // a private file page goes back to the file's bytes
                refill(r, a);
            }
        }
        return 0;
    }

    private void refill(ProcessImage.Region r, long page) {
        int hostFd = HostOs.openat(HostOs.AT_FDCWD, r.path(), 0, 0);
        if (hostFd >= 0) {
            HostOs.pread(hostFd, memory.page(page).ram(), r.offset() + (page - r.start()));
            HostOs.close(hostFd);
        }
    }

    private long mremap(long oldAddress, long oldSize, long newSize, int flags, long newAddress) {
        if ((oldAddress & Page.OFFSET_MASK) != 0 || (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP)) != 0
                || ((flags & MREMAP_FIXED) != 0 && (flags & MREMAP_MAYMOVE) == 0) || newSize == 0) {
            return -Errno.EINVAL;
        }
        if ((flags & MREMAP_DONTUNMAP) != 0) {
            return -Errno.EINVAL; // only for private anonymous mappings with MAYMOVE; not modelled
        }
        long oldLength = GuestMemory.pageCeil(oldSize);
        long newLength = GuestMemory.pageCeil(newSize);
        if (oldLength == 0 || oldAddress + oldLength > ElfLoader.TASK_SIZE || !memory.isMapped(oldAddress, oldLength)) {
            return -Errno.EFAULT;
        }
        if ((flags & MREMAP_FIXED) == 0) {
            if (newLength <= oldLength) {
                unmapping(oldAddress + newLength, oldLength - newLength);
                memory.unmap(oldAddress + newLength, oldLength - newLength);
                return oldAddress;
            }
            long tail = oldAddress + oldLength;
            if (tail + (newLength - oldLength) <= ElfLoader.TASK_SIZE && memory.isFree(tail, newLength - oldLength)) {
                memory.map(tail, newLength - oldLength, memory.protection(tail - Page.SIZE));
                extendName(oldAddress, tail, newLength - oldLength);
                return oldAddress;
            }
            if ((flags & MREMAP_MAYMOVE) == 0) {
                return -Errno.ENOMEM;
            }
        }
        long target;
        if ((flags & MREMAP_FIXED) != 0) {
            if ((newAddress & Page.OFFSET_MASK) != 0 || newAddress + newLength > ElfLoader.TASK_SIZE
                    || (newAddress < oldAddress + oldLength && oldAddress < newAddress + newLength)) {
                return -Errno.EINVAL;
            }
            unmapping(newAddress, newLength);
            memory.unmap(newAddress, newLength);
            target = newAddress;
        } else {
            target = memory.findFree(Syscalls.MMAP_BASE, newLength, syscalls.stackGuard());
            if (target < 0) {
                return -Errno.ENOMEM;
            }
        }
        move(oldAddress, oldLength, target, newLength);
        return target;
    }

    /** Moves pages (their protections and contents) to a new place, grows or shrinks there, unmaps the old range. */
    private void move(long from, long oldLength, long to, long newLength) {
        long copied = Math.min(oldLength, newLength);
        for (long off = 0; off < newLength; off += Page.SIZE) {
            int prot = memory.protection(from + Math.min(off, oldLength - Page.SIZE));
            memory.map(to + off, Page.SIZE, prot);
            if (off < copied) {
                Page source = memory.page(from + off);
                if (source != null && source.ram() != null) {
                    memory.page(to + off).ram().copyFrom(source.ram());
                }
            }
        }
        List<ProcessImage.Region> names = process.image.forget(from, from + oldLength);
        for (ProcessImage.Region r : names) {
            long start = to + (r.start() - from);
            if (start < to + newLength) {
                process.image.name(start, Math.min(to + newLength, to + (r.end() - from)), r.path(), r.offset(), r.writeBack());
            }
        }
        memory.unmap(from, oldLength);
    }

    private void extendName(long start, long oldEnd, long growth) {
        ProcessImage.Region last = process.image.regionAt(oldEnd - Page.SIZE);
        if (last != null) {
            process.image.name(last.start(), oldEnd + growth, last.path(), last.offset(), last.writeBack());
        }
    }

    // ---- files

    private long fadvise(int fd, long offset, long length, int advice) {
        int host = hostFd(fd);
        if (host == -1) {
            return -Errno.ESPIPE;
        }
        if (host < 0) {
            return host;
        }
        long error = HostOs.call(HostOs.POSIX_FADVISE, host, offset, length, advice);
        return error > 0 ? -error : error; // posix_fadvise returns the error number itself
    }

    private long getxattr(HostOs.Function function, long pathAddress, long nameAddress, long value, long size) {
        String path = hostPath(pathAddress);
        String name = memory.readCString(nameAddress, 256);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            long n = HostOs.call(function, arena.allocateFrom(path), arena.allocateFrom(name), out, Math.min(size, MAX_XATTR));
            return copyOut(n, out, value, size);
        }
    }

    private long fgetxattr(int fd, long nameAddress, long value, long size) {
        int host = hostFd(fd);
        if (host < 0) {
            return host == -1 ? -Sockets.EOPNOTSUPP : host;
        }
        String name = memory.readCString(nameAddress, 256);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            return copyOut(HostOs.call(HostOs.FGETXATTR, host, arena.allocateFrom(name), out, Math.min(size, MAX_XATTR)),
                    out, value, size);
        }
    }

    private long listxattr(HostOs.Function function, long pathAddress, long list, long size) {
        String path = hostPath(pathAddress);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            return copyOut(HostOs.call(function, arena.allocateFrom(path), out, Math.min(size, MAX_XATTR)), out, list, size);
        }
    }

    private long flistxattr(int fd, long list, long size) {
        int host = hostFd(fd);
        if (host < 0) {
            return host == -1 ? -Sockets.EOPNOTSUPP : host;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            return copyOut(HostOs.call(HostOs.FLISTXATTR, host, out, Math.min(size, MAX_XATTR)), out, list, size);
        }
    }

    /** A guest path as a host path, a relative one against the process's working directory. */
    private String hostPath(long pathAddress) {
        String path = process.image.paths.hostPath(memory.readCString(pathAddress, MAX_PATH));
        return path.startsWith("/") ? path : process.fs.path() + "/" + path;
    }

    /** A size query (size 0) only returns the length; otherwise the bytes go to the guest. */
    private long copyOut(long n, MemorySegment out, long guest, long size) {
        if (n > 0 && size > 0) {
            memory.userWrite(guest, out.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
        }
        return n;
    }

    // ---- system information

    /** sysinfo: the host's figures in i386's 64-byte struct, memory counts scaled by mem_unit to fit 32 bits. */
    private long sysinfo(long buffer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(HOST_SYSINFO_SIZE, 8);
            long r = HostOs.call(HostOs.SYSINFO, h);
            if (r < 0) {
                return r;
            }
            long unit = Math.max(1, h.get(ValueLayout.JAVA_INT, 104));
            long[] sizes = new long[8];
            for (int i = 0; i < 6; i++) {
                sizes[i] = h.get(ValueLayout.JAVA_LONG, 32 + 8 * i) * unit; // totalram .. freeswap in bytes
            }
            sizes[6] = h.get(ValueLayout.JAVA_LONG, 88) * unit;           // totalhigh
            sizes[7] = h.get(ValueLayout.JAVA_LONG, 96) * unit;           // freehigh
            long newUnit = 1;
            for (long s : sizes) {
                while (s / newUnit > 0xffff_ffffL) {
                    newUnit <<= 1;
                }
            }
            java.nio.ByteBuffer o = java.nio.ByteBuffer.allocate(SYSINFO_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            o.putInt(0, (int) h.get(ValueLayout.JAVA_LONG, 0));
            for (int i = 0; i < 3; i++) {
                o.putInt(4 + 4 * i, (int) h.get(ValueLayout.JAVA_LONG, 8 + 8 * i));
            }
            for (int i = 0; i < 6; i++) {
                o.putInt(16 + 4 * i, (int) (sizes[i] / newUnit));
            }
            o.putShort(40, h.get(ValueLayout.JAVA_SHORT, 80));
            o.putInt(44, (int) (sizes[6] / newUnit));
            o.putInt(48, (int) (sizes[7] / newUnit));
            o.putInt(52, (int) newUnit);
            memory.userWrite(buffer, o.array());
            return 0;
        }
    }
}
