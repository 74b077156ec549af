package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import org.jqemu.memory.Page;

/**
 * The system calls a dynamically linked glibc and Debian's programs need beyond {@link Syscalls}' core:
 * sockets ({@link Sockets}), poll and select, mremap, msync, madvise, file-backed and shared mappings
 * (with their names for /proc/self/maps), getdents64, statfs64, fadvise, the xattr queries, sysinfo,
 * sched_getaffinity, and a single-threaded futex. {@code Syscalls} hands over every number it does not
 * know; anything unknown here too is -ENOSYS.
 *
 * <p>Stand-ins: getdents64, sysinfo, sched_getaffinity, futex, pipe/pipe2, fcntl's F_GETFL/F_SETFL/F_DUPFD and
 * poll/select are here because the dynamic programs need them while the process model (threads, pipes in
 * the JVM, the descriptor table) is built beside this work; once {@code Syscalls} implements a number
 * itself this fallback is never reached for it and its code here should go.
 */
final class ExtendedSyscalls {
    static final int SELECT = 82, STATFS = 99, FSTATFS = 100, SOCKETCALL = 102, SYSINFO = 116, FSYNC = 118,
            NEWSELECT = 142, MSYNC = 144, FDATASYNC = 148, MREMAP = 163, POLL = 168, MADVISE = 219, GETDENTS64 = 220,
            GETXATTR = 229, LGETXATTR = 230, FGETXATTR = 231, LISTXATTR = 232, LLISTXATTR = 233, FLISTXATTR = 234,
            FUTEX = 240, SCHED_GETAFFINITY = 242, FADVISE64 = 250, STATFS64 = 268, FSTATFS64 = 269,
            FADVISE64_64 = 272, PSELECT6 = 308, PPOLL = 309, PSELECT6_TIME64 = 413, PPOLL_TIME64 = 414,
            FUTEX_TIME64 = 422, PIPE2 = 331, PIPE = 42;
    private static final int F_DUPFD = 0, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030, O_RDWR = 2;
    private static final int MREMAP_MAYMOVE = 1, MREMAP_FIXED = 2, MREMAP_DONTUNMAP = 4;
    private static final int MADV_DONTNEED = 4, MADV_FREE = 8, MADV_REMOVE = 9;
    private static final int MS_ASYNC = 1, MS_INVALIDATE = 2, MS_SYNC = 4;
    private static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_CMD_MASK = 0x7f, FUTEX_WAIT_BITSET = 9,
            FUTEX_WAKE_BITSET = 10;
    private static final int STATFS64_SIZE = 84, HOST_STATFS_SIZE = 120;
    private static final int SYSINFO_SIZE = 64, HOST_SYSINFO_SIZE = 112;
    private static final int MAX_DENTS = 1 << 20, MAX_XATTR = 1 << 16, MAX_PATH = 4096;
    static final int MAP_SHARED = 0x01;
    private static final long MMAP_BASE = ElfLoader.INTERPRETER_BASE;

    private final GuestProcess process;
    private final GuestMemory memory;
    private final Syscalls syscalls;
    final Sockets sockets;
    final Polling polling;
    final ProcFs procFs;

    ExtendedSyscalls(GuestProcess process, Syscalls syscalls) {
        this.process = process;
        this.memory = process.memory;
        this.syscalls = syscalls;
        this.sockets = new Sockets(process, syscalls);
        this.polling = new Polling(process, syscalls);
        this.procFs = new ProcFs(process);
        process.image.paths.setProcess(process.pid, this::hostFd);
    }

    long call(int nr, long[] a) {
        long socket = sockets.call(nr, a);
        if (socket != Sockets.NOT_A_SOCKET_CALL) {
            return socket;
        }
        return switch (nr) {
            case POLL -> polling.poll(a[0], a[1], (int) a[2]);
            case PPOLL -> polling.ppoll(a[0], a[1], a[2], false);
            case PPOLL_TIME64 -> polling.ppoll(a[0], a[1], a[2], true);
            case NEWSELECT -> polling.select((int) a[0], a[1], a[2], a[3], a[4], Polling.Timeout.TIMEVAL);
            case SELECT -> polling.oldSelect(a[0]);
            case PSELECT6 -> polling.select((int) a[0], a[1], a[2], a[3], a[4], Polling.Timeout.TIMESPEC32);
            case PSELECT6_TIME64 -> polling.select((int) a[0], a[1], a[2], a[3], a[4], Polling.Timeout.TIMESPEC64);
            case MREMAP -> mremap(a[0], a[1], a[2], (int) a[3], a[4]);
            case MSYNC -> msync(a[0], a[1], (int) a[2]);
            case MADVISE -> madvise(a[0], a[1], (int) a[2]);
            case GETDENTS64 -> getdents64((int) a[0], a[1], a[2]);
            case STATFS64 -> statfs64(a[0], -1, a[1], a[2]);
            case FSTATFS64 -> statfs64(0, (int) a[0], a[1], a[2]);
            case FADVISE64 -> fadvise((int) a[0], a[1] | (a[2] << 32), a[3], (int) a[4]);
            case FADVISE64_64 -> fadvise((int) a[0], a[1] | (a[2] << 32), a[3] | (a[4] << 32), (int) a[5]);
            case GETXATTR, LGETXATTR -> getxattr(nr == GETXATTR ? HostLibc.GETXATTR : HostLibc.LGETXATTR, a[0], a[1], a[2], a[3]);
            case FGETXATTR -> fgetxattr((int) a[0], a[1], a[2], a[3]);
            case LISTXATTR, LLISTXATTR -> listxattr(nr == LISTXATTR ? HostLibc.LISTXATTR : HostLibc.LLISTXATTR, a[0], a[1], a[2]);
            case FLISTXATTR -> flistxattr((int) a[0], a[1], a[2]);
            case SYSINFO -> sysinfo(a[0]);
            case SCHED_GETAFFINITY -> schedGetaffinity((int) a[0], a[1], a[2]);
            case FSYNC, FDATASYNC -> fsync((int) a[0]);
            case PIPE -> pipe(a[0], 0);
            case PIPE2 -> pipe(a[0], (int) a[1]);
            case FUTEX, FUTEX_TIME64 -> futex(a[0], (int) a[1], (int) a[2]);
            default -> syscalls.unimplemented(nr);
        };
    }

    /** The host descriptor behind a guest descriptor, -EBADF when there is none, -1 for a file with no host descriptor. */
    int hostFd(int fd) {
        GuestFile f = syscalls.file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        return f instanceof HostFile h ? h.fd() : -1;
    }

    /** fcntl beyond F_GETFD/F_SETFD: the status flags and F_DUPFD of host descriptors. */
    long fcntl(int fd, int command, long argument) {
        int host = hostFd(fd);
        if (host < -1) {
            return host;
        }
        return switch (command) {
            case F_GETFL -> host == -1 ? O_RDWR : HostLibc.call(HostLibc.FCNTL, host, F_GETFL, 0);
            case F_SETFL -> host == -1 ? 0 : HostLibc.call(HostLibc.FCNTL, host, F_SETFL, (int) argument);
            case F_DUPFD, F_DUPFD_CLOEXEC -> host == -1 ? -Errno.EINVAL : dupFrom(host, (int) argument);
            default -> syscalls.unimplemented(Syscalls.FCNTL64);
        };
    }

    private long dupFrom(int host, int lowest) {
        if (lowest < 0 || lowest >= GuestProcess.MAX_FILES) {
            return -Errno.EINVAL;
        }
        for (int fd = lowest; fd < GuestProcess.MAX_FILES; fd++) {
            if (process.files[fd] == null) {
                long copy = HostLibc.call(HostLibc.DUP, host);
                if (copy >= 0) {
                    process.files[fd] = new HostFile((int) copy, true);
                    return fd;
                }
                return copy;
            }
        }
        return -Errno.EMFILE;
    }

    /** pipe and pipe2 as a host pipe: two host descriptors, so read, write and poll need nothing special. */
    private long pipe(long fds, int flags) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pair = arena.allocate(8, 4);
            long r = HostLibc.call(HostLibc.PIPE2, pair, flags);
            if (r < 0) {
                return r;
            }
            int read = syscalls.freeSlot();
            if (read >= 0) {
                process.files[read] = new HostFile(pair.get(ValueLayout.JAVA_INT, 0), true);
            }
            int write = read < 0 ? -1 : syscalls.freeSlot();
            if (write < 0) {
                if (read >= 0) {
                    process.files[read] = null;
                }
                HostOs.close(pair.get(ValueLayout.JAVA_INT, 0));
                HostOs.close(pair.get(ValueLayout.JAVA_INT, 4));
                return -Errno.EMFILE;
            }
            process.files[write] = new HostFile(pair.get(ValueLayout.JAVA_INT, 4), true);
            memory.userWriteInt(fds, read);
            memory.userWriteInt(fds + 4, write);
            return 0;
        }
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
            long copy = HostLibc.call(HostLibc.DUP, h.fd()); // no descriptor left: nothing can be written back
            writeBack = copy < 0 ? ProcessImage.SHARED_READ_ONLY : (int) copy;
        }
        if (path == null && writeBack < 0) {
            return;
        }
        process.image.name(start, start + size, path == null ? "" : path, offset, writeBack);
    }

    /**
     * Called once the guest has exited or died: shared file mappings still mapped are written back (their
     * data would be in the page cache on Linux) and their descriptors closed.
     */
    void release() {
        java.util.Set<Integer> closed = new java.util.HashSet<>();
        for (ProcessImage.Region r : process.image.regionsIn(0, ElfLoader.TASK_SIZE)) {
            if (r.writeBack() >= 0) {
                writeBack(r);
                if (closed.add(r.writeBack())) {
                    HostOs.close(r.writeBack());
                }
            }
        }
        process.image.forget(0, ElfLoader.TASK_SIZE);
    }

    /** Called by munmap before the pages go: shared pages are written back, names forgotten. */
    void unmapping(long start, long size) {
        List<ProcessImage.Region> removed = process.image.forget(start, start + size);
        for (ProcessImage.Region r : removed) {
            if (r.writeBack() >= 0) {
                writeBack(r);
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

    /** Writes a shared region's pages to its file, never past the file's current end (the kernel does not extend it). */
    private void writeBack(ProcessImage.Region r) {
        long fileSize = HostOs.lseek(r.writeBack(), 0, 2);
        for (long a = r.start(); a < r.end(); a += Page.SIZE) {
            long fileOffset = r.offset() + (a - r.start());
            if (fileOffset >= fileSize) {
                break;
            }
            Page page = memory.page(a);
            if (page == null || page.ram() == null) {
                continue;
            }
            long n = Math.min(Page.SIZE, fileSize - fileOffset);
            HostLibc.call(HostLibc.PWRITE, r.writeBack(), page.ram().asSlice(0, n), n, fileOffset);
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
                writeBack(r);
                if ((flags & MS_SYNC) != 0) {
                    HostLibc.call(HostLibc.FSYNC, r.writeBack());
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
            if (tail + (newLength - oldLength) <= ElfLoader.TASK_SIZE && isFree(tail, newLength - oldLength)) {
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
            target = memory.findFree(MMAP_BASE, newLength, ElfLoader.TASK_SIZE - GuestMemory.pageCeil(process.config.stackSize()));
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

    private boolean isFree(long start, long length) {
        for (long a = start; a < start + length; a += Page.SIZE) {
            if (memory.protection(a) >= 0) {
                return false;
            }
        }
        return true;
    }

    // ---- files

    /** getdents64: struct linux_dirent64 has the same layout on i386 and x86_64, so the host's records pass through. */
    private long getdents64(int fd, long buffer, long count) {
        int host = hostFd(fd);
        if (host < 0) {
            return host == -1 ? -Errno.ENOTDIR : host;
        }
        int size = (int) Math.min(count, MAX_DENTS);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(size, 1), 8);
            long n = HostLibc.call(HostLibc.GETDENTS64, host, out, (long) size);
            if (n > 0) {
                memory.userWrite(buffer, out.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
            }
            return n;
        }
    }

    /** statfs64 and fstatfs64: the host's struct statfs (x86_64) narrowed to i386's 84-byte struct statfs64. */
    private long statfs64(long pathAddress, int fd, long size, long buffer) {
        if (size != STATFS64_SIZE) {
            return -Errno.EINVAL;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(HOST_STATFS_SIZE, 8);
            long r;
            if (fd >= 0 || pathAddress == 0) {
                int h = hostFd(fd);
                if (h < 0) {
                    return h == -1 ? -Errno.ENOSYS : h;
                }
                r = HostLibc.call(HostLibc.FSTATFS, h, host);
            } else {
                String path = process.image.paths.hostPath(memory.readCString(pathAddress, MAX_PATH));
                r = HostLibc.call(HostLibc.STATFS, arena.allocateFrom(path), host);
            }
            if (r < 0) {
                return r;
            }
            java.nio.ByteBuffer o = java.nio.ByteBuffer.allocate(STATFS64_SIZE).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            o.putInt(0, (int) host.get(ValueLayout.JAVA_LONG, 0));     // f_type
            o.putInt(4, (int) host.get(ValueLayout.JAVA_LONG, 8));     // f_bsize
            for (int i = 0; i < 5; i++) {                              // blocks, bfree, bavail, files, ffree
                o.putLong(8 + 8 * i, host.get(ValueLayout.JAVA_LONG, 16 + 8 * i));
            }
            o.putInt(48, host.get(ValueLayout.JAVA_INT, 56));          // f_fsid
            o.putInt(52, host.get(ValueLayout.JAVA_INT, 60));
            o.putInt(56, (int) host.get(ValueLayout.JAVA_LONG, 64));   // f_namelen
            o.putInt(60, (int) host.get(ValueLayout.JAVA_LONG, 72));   // f_frsize
            o.putInt(64, (int) host.get(ValueLayout.JAVA_LONG, 80));   // f_flags
            memory.userWrite(buffer, o.array());
            return 0;
        }
    }

    private long fadvise(int fd, long offset, long length, int advice) {
        int host = hostFd(fd);
        if (host == -1) {
            return -Errno.ESPIPE;
        }
        if (host < 0) {
            return host;
        }
        long error = HostLibc.call(HostLibc.POSIX_FADVISE, host, offset, length, advice);
        return error > 0 ? -error : error; // posix_fadvise returns the error number itself
    }

    private long getxattr(java.lang.invoke.MethodHandle function, long pathAddress, long nameAddress, long value, long size) {
        String path = process.image.paths.hostPath(memory.readCString(pathAddress, MAX_PATH));
        String name = memory.readCString(nameAddress, 256);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            long n = HostLibc.call(function, arena.allocateFrom(path), arena.allocateFrom(name), out, Math.min(size, MAX_XATTR));
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
            return copyOut(HostLibc.call(HostLibc.FGETXATTR, host, arena.allocateFrom(name), out, Math.min(size, MAX_XATTR)),
                    out, value, size);
        }
    }

    private long listxattr(java.lang.invoke.MethodHandle function, long pathAddress, long list, long size) {
        String path = process.image.paths.hostPath(memory.readCString(pathAddress, MAX_PATH));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            return copyOut(HostLibc.call(function, arena.allocateFrom(path), out, Math.min(size, MAX_XATTR)), out, list, size);
        }
    }

    private long flistxattr(int fd, long list, long size) {
        int host = hostFd(fd);
        if (host < 0) {
            return host == -1 ? -Sockets.EOPNOTSUPP : host;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(Math.max(1, Math.min(size, MAX_XATTR)));
            return copyOut(HostLibc.call(HostLibc.FLISTXATTR, host, out, Math.min(size, MAX_XATTR)), out, list, size);
        }
    }

    /** A size query (size 0) only returns the length; otherwise the bytes go to the guest. */
    private long copyOut(long n, MemorySegment out, long guest, long size) {
        if (n > 0 && size > 0) {
            memory.userWrite(guest, out.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
        }
        return n;
    }

    private long fsync(int fd) {
        int host = hostFd(fd);
        if (host == -1) {
            return -Errno.EINVAL;
        }
        return host < 0 ? host : HostLibc.call(HostLibc.FSYNC, host);
    }

    // ---- system information

    /** sysinfo: the host's figures in i386's 64-byte struct, memory counts scaled by mem_unit to fit 32 bits. */
    private long sysinfo(long buffer) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(HOST_SYSINFO_SIZE, 8);
            long r = HostLibc.call(HostLibc.SYSINFO, h);
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

    /** The host's CPU count as the first bits of the mask; the return value is the kernel's mask size in bytes. */
    private long schedGetaffinity(int pid, long length, long mask) {
        if (pid != 0 && pid != process.pid) {
            return -Errno.ESRCH;
        }
        int cpus = Runtime.getRuntime().availableProcessors();
        int bytes = ((cpus + 31) / 32) * 4;
        if (length < bytes || (length & 3) != 0) {
            return -Errno.EINVAL;
        }
        byte[] out = new byte[bytes];
        for (int i = 0; i < cpus; i++) {
            out[i / 8] |= (byte) (1 << (i % 8));
        }
        memory.userWrite(mask, out);
        return bytes;
    }

    /**
     * futex for a single-threaded guest: a wait on a changed word is EAGAIN, a wait nobody could end is
     * EAGAIN too (the caller retries its lock), and a wake wakes nobody. Threads replace this.
     */
    private long futex(long address, int op, int value) {
        int command = op & FUTEX_CMD_MASK;
        if ((address & 3) != 0) {
            return -Errno.EINVAL;
        }
        return switch (command) {
            case FUTEX_WAIT, FUTEX_WAIT_BITSET -> {
                memory.readInt(address); // an unmapped word is EFAULT
                yield -Errno.EAGAIN;
            }
            case FUTEX_WAKE, FUTEX_WAKE_BITSET -> 0;
            default -> syscalls.unimplemented(FUTEX);
        };
    }
}
