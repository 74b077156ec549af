package org.jqemu.linuxuser;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.BitSet;

import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;

/**
 * The i386 Linux system calls a static glibc program and the oracle programs need, by i386 number
 * (arch/x86/entry/syscalls/syscall_32.tbl). Arguments come in EBX, ECX, EDX, ESI, EDI, EBP; the result
 * goes to EAX, negative errno on failure. Anything else answers -ENOSYS (reported once under -d unimp).
 */
final class Syscalls {
    static final int EXIT = 1, READ = 3, WRITE = 4, OPEN = 5, CLOSE = 6, TIME = 13, LSEEK = 19, GETPID = 20,
            GETUID = 24, KILL = 37, BRK = 45, GETGID = 47, GETEUID = 49, GETEGID = 50, IOCTL = 54, GETPPID = 64,
            GETRLIMIT = 76, GETTIMEOFDAY = 78, READLINK = 85, MMAP = 90, MUNMAP = 91, UNAME = 122,
            MPROTECT = 125, LLSEEK = 140, READV = 145, WRITEV = 146, RT_SIGACTION = 174, RT_SIGPROCMASK = 175,
            UGETRLIMIT = 191, MMAP2 = 192, STAT64 = 195, LSTAT64 = 196, FSTAT64 = 197, GETUID32 = 199,
            GETGID32 = 200, GETEUID32 = 201, GETEGID32 = 202, MADVISE = 219, FCNTL64 = 221, GETTID = 224,
            TKILL = 238, SET_THREAD_AREA = 243, GET_THREAD_AREA = 244, EXIT_GROUP = 252, SET_TID_ADDRESS = 258,
            CLOCK_GETTIME = 265, CLOCK_GETRES = 266, TGKILL = 270, OPENAT = 295, FSTATAT64 = 300,
            READLINKAT = 305, SET_ROBUST_LIST = 311, PRLIMIT64 = 340, GETRANDOM = 355, STATX = 383, RSEQ = 386,
            CLOCK_GETTIME64 = 403, CLOCK_GETRES_TIME64 = 406, ACCESS = 33, GETCWD = 183, FACCESSAT = 307,
            NANOSLEEP = 162, SIGRETURN = 119, RT_SIGRETURN = 173, SIGALTSTACK = 186, SCHED_YIELD = 158, CLOCK_NANOSLEEP = 267, CLOCK_NANOSLEEP_TIME64 = 407;

    private static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_FIXED_NOREPLACE = 0x100000;
    private static final long MMAP_BASE = 0x4000_0000L; // TASK_UNMAPPED_BASE of a 32-bit task (QEMU uses it too)
    private static final int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final int TCGETS = 0x5401, TIOCGWINSZ = 0x5413, TERMIOS_SIZE = 36, WINSIZE_SIZE = 8;
    private static final int TLS_ENTRY_MIN = 6, TLS_ENTRIES = 3; // GDT_ENTRY_TLS_MIN on i386
    private static final int MAX_PATH = 4096, MAX_IO = 0x7fff_f000;
    private static final int RLIMIT_STACK = 3, RLIMIT_NOFILE = 7;
    private static final long RLIM_INFINITY = -1L;

    private final GuestProcess process;
    private final GuestMemory memory;
    private final X86Cpu cpu;
    private final Strace strace;
    private final BitSet reportedUnimplemented = new BitSet();
    private final int[][] tls = new int[TLS_ENTRIES][];
    private final SecureRandom random = new SecureRandom();
    final ExtendedSyscalls extended;

    Syscalls(GuestProcess process) {
        this.process = process;
        this.memory = process.memory;
        this.cpu = process.cpu;
        this.strace = process.config.strace() ? new Strace(process.config.log(), process.pid) : null;
        this.extended = new ExtendedSyscalls(process, this);
    }

    /** Performs the call in EAX; {@code sysenter} reads the sixth argument from the user stack at [EBP]. */
    void dispatch(boolean sysenter) {
        int nr = (int) cpu.reg(X86Cpu.EAX);
        long[] a = {cpu.reg(X86Cpu.EBX), cpu.reg(X86Cpu.ECX), cpu.reg(X86Cpu.EDX), cpu.reg(X86Cpu.ESI),
                cpu.reg(X86Cpu.EDI), cpu.reg(X86Cpu.EBP)};
        if (strace != null) {
            strace.enter(nr, a, memory);
        }
        long result;
        try {
            if (sysenter) {
                a[5] = memory.readInt(a[5]) & 0xffff_ffffL;
            }
            result = call(nr, a);
        } catch (GuestMemory.Fault f) {
            result = -Errno.EFAULT;
        }
        if (process.exited()) {
            if (strace != null) {
                strace.exit(nr, 0);
            }
            return;
        }
        if (strace != null) {
            strace.exit(nr, result);
        }
        cpu.setReg(X86Cpu.EAX, result);
    }

    private long call(int nr, long[] a) {
        return switch (nr) {
            case EXIT, EXIT_GROUP -> {
                process.exit((int) a[0]);
                yield 0;
            }
            case READ -> read((int) a[0], a[1], a[2]);
            case WRITE -> write((int) a[0], a[1], a[2]);
            case READV -> vectorIo((int) a[0], a[1], a[2], false);
            case WRITEV -> vectorIo((int) a[0], a[1], a[2], true);
            case OPEN -> open(HostOs.AT_FDCWD, a[0], (int) a[1], (int) a[2]);
            case OPENAT -> open((int) a[0], a[1], (int) a[2], (int) a[3]);
            case CLOSE -> close((int) a[0]);
            case LSEEK -> lseek32((int) a[0], (int) a[1], (int) a[2]);
            case LLSEEK -> llseek((int) a[0], a[1], a[2], a[3], (int) a[4]);
            case BRK -> brk(a[0]);
            case MMAP2 -> mmap(a[0], a[1], (int) a[2], (int) a[3], (int) a[4], a[5] << Page.SHIFT);
            case MMAP -> oldMmap(a[0]);
            case MUNMAP -> munmap(a[0], a[1]);
            case MPROTECT -> mprotect(a[0], a[1], (int) a[2]);
            case MADVISE -> extended.call(nr, a);
            case UNAME -> uname(a[0]);
            case SET_THREAD_AREA -> setThreadArea(a[0]);
            case GET_THREAD_AREA -> getThreadArea(a[0]);
            case SET_TID_ADDRESS, GETPID, GETTID -> process.pid;
            case GETPPID -> ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(1L);
            case SET_ROBUST_LIST -> a[1] == 12 ? 0 : -Errno.EINVAL; // recorded nowhere: no threads yet
            case RSEQ -> -Errno.ENOSYS;
            case GETUID, GETUID32 -> HostCredentials.current().uid();
            case GETEUID, GETEUID32 -> HostCredentials.current().euid();
            case GETGID, GETGID32 -> HostCredentials.current().gid();
            case GETEGID, GETEGID32 -> HostCredentials.current().egid();
            case CLOCK_GETTIME -> clockGettime((int) a[0], a[1], false);
            case CLOCK_GETTIME64 -> clockGettime((int) a[0], a[1], true);
            case CLOCK_GETRES -> clockGetres(a[1], false);
            case CLOCK_GETRES_TIME64 -> clockGetres(a[1], true);
            case GETTIMEOFDAY -> gettimeofday(a[0]);
            case TIME -> time(a[0]);
            case IOCTL -> ioctl((int) a[0], (int) a[1], a[2]);
            case READLINK -> readlink(HostOs.AT_FDCWD, a[0], a[1], a[2]);
            case READLINKAT -> readlink((int) a[0], a[1], a[2], a[3]);
            case FSTAT64 -> stat64(fileStatx((int) a[0]), a[1]);
            case STAT64 -> stat64(pathStatx(HostOs.AT_FDCWD, a[0], 0), a[1]);
            case LSTAT64 -> stat64(pathStatx(HostOs.AT_FDCWD, a[0], AT_SYMLINK_NOFOLLOW), a[1]);
            case FSTATAT64 -> stat64(pathStatx((int) a[0], a[1], (int) a[3]), a[2]);
            case STATX -> statx((int) a[0], a[1], (int) a[2], a[4]);
            case FCNTL64 -> fcntl((int) a[0], (int) a[1], a[2]);
            case RT_SIGACTION -> process.signals.sigaction((int) a[0], a[1], a[2], a[3]);
            case RT_SIGPROCMASK -> process.signals.sigprocmask((int) a[0], a[1], a[2], a[3]);
            case RT_SIGRETURN -> process.signals.rtSigreturn();
            case SIGALTSTACK -> process.signals.sigaltstack(a[0], a[1]);
            case SIGRETURN -> process.signals.sigreturn();
            case KILL -> a[0] == process.pid || a[0] == 0 ? raise((int) a[1], SignalDelivery.Info.SI_USER) : -Errno.EPERM;
            case TKILL -> a[0] == process.pid ? raise((int) a[1], SignalDelivery.Info.SI_TKILL) : -Errno.ESRCH;
            case TGKILL -> a[1] == process.pid ? raise((int) a[2], SignalDelivery.Info.SI_TKILL) : -Errno.ESRCH;
            case PRLIMIT64 -> prlimit64((int) a[0], (int) a[1], a[2], a[3]);
            case UGETRLIMIT, GETRLIMIT -> getrlimit32((int) a[0], a[1]);
            case GETRANDOM -> getrandom(a[0], a[1]);
            case GETCWD -> getcwd(a[0], a[1]);
            case ACCESS -> access(HostOs.AT_FDCWD, a[0], (int) a[1]);
            case FACCESSAT -> access((int) a[0], a[1], (int) a[2]);
            case NANOSLEEP -> sleep(memory.readInt(a[0]) & 0xffff_ffffL, memory.readInt(a[0] + 4));
            case CLOCK_NANOSLEEP -> a[1] != 0 ? unimplemented(nr) : sleep(memory.readInt(a[2]), memory.readInt(a[2] + 4));
            case CLOCK_NANOSLEEP_TIME64 -> a[1] != 0 ? unimplemented(nr) : sleep(memory.readLong(a[2]), memory.readLong(a[2] + 8));
            case SCHED_YIELD -> 0;
            default -> extended.call(nr, a); // sockets, polling, /proc, mremap...: ExtendedSyscalls
        };
    }

    long unimplemented(int nr) {
        if (process.config.logUnimplemented() && nr >= 0 && !reportedUnimplemented.get(nr)) {
            reportedUnimplemented.set(nr);
            process.config.log().println("Unsupported syscall: " + nr);
        }
        return -Errno.ENOSYS;
    }

    // ---- files

    GuestFile file(int fd) {
        return fd >= 0 && fd < process.files.length ? process.files[fd] : null;
    }

    /** Calls {@code io} on each page-sized piece of the guest buffer; stops at the first short transfer. */
    private long transfer(long address, long length, int prot, java.util.function.ToLongFunction<MemorySegment> io) {
        if (length > MAX_IO) {
            length = MAX_IO;
        }
        if (!memory.accessible(address, length, prot)) {
            return -Errno.EFAULT;
        }
        long done = 0;
        while (done < length) {
            long at = address + done;
            int inPage = (int) Math.min(length - done, Page.SIZE - (at & Page.OFFSET_MASK));
            MemorySegment slice = memory.page(at).ram().asSlice(at & Page.OFFSET_MASK, inPage);
            long n = io.applyAsLong(slice);
            if (n < 0) {
                return done > 0 ? done : n;
            }
            done += n;
            if (n < inPage) {
                break;
            }
        }
        return done;
    }

    private long read(int fd, long buffer, long count) {
        GuestFile f = file(fd);
        return f == null ? -Errno.EBADF : transfer(buffer, count, Page.WRITE, f::read);
    }

    private long write(int fd, long buffer, long count) {
        GuestFile f = file(fd);
        return f == null ? -Errno.EBADF : transfer(buffer, count, Page.READ, f::write);
    }

    private long vectorIo(int fd, long iov, long count, boolean write) {
        if (count > 1024) {
            return -Errno.EINVAL;
        }
        long total = 0;
        for (int i = 0; i < count; i++) {
            long base = memory.readInt(iov + 8L * i) & 0xffff_ffffL;
            long length = memory.readInt(iov + 8L * i + 4) & 0xffff_ffffL;
            long n = write ? write(fd, base, length) : read(fd, base, length);
            if (n < 0) {
                return total > 0 ? total : n;
            }
            total += n;
            if (n < length) {
                break;
            }
        }
        return total;
    }

    /** A guest path as the host should open it: the sysroot first, /proc/self/exe is the program (PathResolver). */
    private String hostPath(String path) {
        return process.image.paths.hostPath(path);
    }

    private int hostDirFd(int dirfd) {
        if (dirfd == HostOs.AT_FDCWD) {
            return dirfd;
        }
        return file(dirfd) instanceof HostFile h ? h.fd() : -1;
    }

    private long open(int dirfd, long pathAddress, int flags, int mode) {
        String path = memory.readCString(pathAddress, MAX_PATH);
        int hostDir = hostDirFd(dirfd);
        if (hostDir == -1 && !path.startsWith("/")) {
            return -Errno.EBADF;
        }
        int slot = freeSlot();
        if (slot < 0) {
            return -Errno.EMFILE;
        }
        GuestFile synthetic = extended.procFs.open(path); // /proc/self/maps and the other guest views
        if (synthetic != null) {
            process.files[slot] = synthetic;
            return slot;
        }
        int fd = HostOs.openat(hostDir, hostPath(path), flags, mode);
        if (fd < 0) {
            return fd;
        }
        process.files[slot] = new HostFile(fd, true);
        return slot;
    }

    int freeSlot() {
        for (int fd = 0; fd < process.files.length; fd++) {
            if (process.files[fd] == null) {
                return fd;
            }
        }
        return -1;
    }

    private long close(int fd) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        process.files[fd] = null;
        return f.close();
    }

    private long getcwd(long buffer, long size) {
        byte[] cwd = (Path.of("").toAbsolutePath().toString() + "\0").getBytes(StandardCharsets.UTF_8);
        if (size < cwd.length) {
            return -Errno.ERANGE;
        }
        memory.userWrite(buffer, cwd);
        return cwd.length;
    }

    private long access(int dirfd, long pathAddress, int mode) {
        String path = memory.readCString(pathAddress, MAX_PATH);
        int hostDir = hostDirFd(dirfd);
        if (hostDir == -1 && !path.startsWith("/")) {
            return -Errno.EBADF;
        }
        return HostOs.faccessat(hostDir, hostPath(path), mode, 0);
    }

    private static long sleep(long seconds, long nanos) {
        if (seconds < 0 || nanos < 0 || nanos >= 1_000_000_000L) {
            return -Errno.EINVAL;
        }
        try {
            Thread.sleep(java.time.Duration.ofSeconds(seconds, nanos));
            return 0;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -Errno.EINTR;
        }
    }

    private long lseek32(int fd, int offset, int whence) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        long r = f.seek(offset, whence);
        return r > Integer.MAX_VALUE ? -75 /* EOVERFLOW */ : r;
    }

    private long llseek(int fd, long high, long low, long resultAddress, int whence) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        long r = f.seek((high << 32) | low, whence);
        if (r < 0) {
            return r;
        }
        memory.userWriteLong(resultAddress, r);
        return 0;
    }

    private long fcntl(int fd, int command, long argument) {
        if (file(fd) == null) {
            return -Errno.EBADF;
        }
        return command == 1 || command == 2 ? 0 : extended.fcntl(fd, command, argument); // F_GETFD, F_SETFD: no exec yet
    }

    private long ioctl(int fd, int request, long argument) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        int size = switch (request) {
            case TCGETS -> TERMIOS_SIZE;
            case TIOCGWINSZ -> WINSIZE_SIZE;
            default -> 0;
        };
        if (size == 0) {
            return unimplemented(IOCTL);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(64, 8);
            int r = f.ioctl(request, out);
            if (r >= 0) {
                memory.userWrite(argument, out.asSlice(0, size).toArray(ValueLayout.JAVA_BYTE));
            }
            return r;
        }
    }

    private long readlink(int dirfd, long pathAddress, long buffer, long size) {
        String path = memory.readCString(pathAddress, MAX_PATH);
        if ((int) size <= 0) {
            return -Errno.EINVAL;
        }
        byte[] target;
        if (process.image.paths.isSelfExe(path)) {
            target = process.executablePath.getBytes(StandardCharsets.UTF_8);
        } else {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(MAX_PATH);
                String resolved = dirfd == HostOs.AT_FDCWD || path.startsWith("/") ? hostPath(path) : null;
                if (resolved == null) {
                    return -Errno.ENOSYS;
                }
                long n = HostOs.readlink(resolved, out);
                if (n < 0) {
                    return n;
                }
                target = out.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
            }
        }
        int n = (int) Math.min(target.length, size);
        memory.userWrite(buffer, target, 0, n);
        return n;
    }

    // ---- stat

    /** A statx(2) answer: the result (0 or -errno) and the 256-byte struct statx. */
    private record Statx(int result, byte[] bytes) { }

    private Statx fileStatx(int fd) {
        GuestFile f = file(fd);
        if (f == null) {
            return new Statx(-Errno.EBADF, null);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(HostOs.STATX_SIZE, 8);
            int r = f.statx(out);
            return new Statx(r, out.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    private Statx pathStatx(int dirfd, long pathAddress, int flags) {
        String path = memory.readCString(pathAddress, MAX_PATH);
        if (path.isEmpty() && (flags & AT_EMPTY_PATH) != 0) {
            return fileStatx(dirfd);
        }
        int hostDir = hostDirFd(dirfd);
        if (hostDir == -1 && !path.startsWith("/")) {
            return new Statx(-Errno.EBADF, null);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(HostOs.STATX_SIZE, 8);
            String host = (flags & AT_SYMLINK_NOFOLLOW) != 0 ? process.image.paths.hostLinkPath(path) : hostPath(path);
            int r = HostOs.statx(hostDir, host, flags, STATX_BASIC_STATS, out);
            return new Statx(r, out.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    private long statx(int dirfd, long pathAddress, int flags, long buffer) {
        Statx s = pathStatx(dirfd, pathAddress, flags);
        if (s.result < 0) {
            return s.result;
        }
        memory.userWrite(buffer, s.bytes);
        return 0;
    }

    /** Converts struct statx to the i386 kernel's 96-byte struct stat64. */
    private long stat64(Statx s, long buffer) {
        if (s.result < 0) {
            return s.result;
        }
        java.nio.ByteBuffer x = java.nio.ByteBuffer.wrap(s.bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.nio.ByteBuffer o = java.nio.ByteBuffer.allocate(96).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        long ino = x.getLong(32);
        o.putLong(0, encodeDevice(x.getInt(136), x.getInt(140)));
        o.putInt(12, (int) ino);
        o.putInt(16, x.getShort(28) & 0xffff);
        o.putInt(20, x.getInt(16));
        o.putInt(24, x.getInt(20));
        o.putInt(28, x.getInt(24));
        o.putLong(32, encodeDevice(x.getInt(128), x.getInt(132)));
        o.putLong(44, x.getLong(40));
        o.putInt(52, x.getInt(4));
        o.putLong(56, x.getLong(48));
        o.putInt(64, (int) x.getLong(64));   // atime
        o.putInt(68, x.getInt(72));
        o.putInt(72, (int) x.getLong(112));  // mtime
        o.putInt(76, x.getInt(120));
        o.putInt(80, (int) x.getLong(96));   // ctime
        o.putInt(84, x.getInt(104));
        o.putLong(88, ino);
        memory.userWrite(buffer, o.array());
        return 0;
    }

    /** The kernel's new_encode_dev, as stat64 carries device numbers. */
    private static long encodeDevice(int major, int minor) {
        return (minor & 0xffL) | ((major & 0xfffL) << 8) | ((minor & ~0xffL & 0xffff_ffffL) << 12);
    }

    // ---- memory

    private long brk(long requested) {
        if (requested <= process.brkStart) {
            return process.brk;
        }
        long oldEnd = GuestMemory.pageCeil(process.brk);
        long newEnd = GuestMemory.pageCeil(requested);
        if (newEnd > oldEnd) {
            if (newEnd > ElfLoader.TASK_SIZE || !isFree(oldEnd, newEnd - oldEnd)) {
                return process.brk;
            }
            memory.map(oldEnd, newEnd - oldEnd, Page.READ | Page.WRITE);
        } else if (newEnd < oldEnd) {
            memory.unmap(newEnd, oldEnd - newEnd);
        }
        process.brk = requested;
        return requested;
    }

    private boolean isFree(long start, long length) {
        for (long a = start; a < start + length; a += Page.SIZE) {
            if (memory.protection(a) >= 0) {
                return false;
            }
        }
        return true;
    }

    private static int protFlags(int prot) {
        return prot & (Page.READ | Page.WRITE | Page.EXEC); // PROT_READ=1, PROT_WRITE=2, PROT_EXEC=4 as in Page
    }

    private long oldMmap(long argsAddress) {
        long[] v = new long[6];
        for (int i = 0; i < 6; i++) {
            v[i] = memory.readInt(argsAddress + 4L * i) & 0xffff_ffffL;
        }
        if ((v[5] & Page.OFFSET_MASK) != 0) {
            return -Errno.EINVAL;
        }
        return mmap(v[0], v[1], (int) v[2], (int) v[3], (int) v[4], v[5]);
    }

    private long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        if (length == 0 || (address & Page.OFFSET_MASK) != 0 || ((flags & MAP_SHARED) == 0) == ((flags & MAP_PRIVATE) == 0)) {
            return -Errno.EINVAL;
        }
        long size = GuestMemory.pageCeil(length);
        if (size > ElfLoader.TASK_SIZE) {
            return -Errno.ENOMEM;
        }
        GuestFile source = null;
        if ((flags & MAP_ANONYMOUS) == 0) {
            source = file(fd);
            if (source == null) {
                return -Errno.EBADF;
            }
        }
        long start;
        if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) != 0) {
            if (address + size > ElfLoader.TASK_SIZE) {
                return -Errno.ENOMEM;
            }
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !isFree(address, size)) {
                return -Errno.EEXIST;
            }
            start = address;
        } else {
            start = address != 0 && address + size <= ElfLoader.TASK_SIZE && isFree(address, size) ? address
                    : memory.findFree(MMAP_BASE, size, stackGuard());
            if (start < 0) {
                start = memory.findFree(Page.SIZE * 16L, size, stackGuard());
            }
            if (start < 0) {
                return -Errno.ENOMEM;
            }
        }
        memory.map(start, size, protFlags(prot));
        if (source != null) {
            fillFromFile(source, start, length, offset);
        }
        extended.mapped(start, size, source, offset, flags, prot);
        return start;
    }

    /** Below the stack region: mmap never hands out the stack's reserved range. */
    private long stackGuard() {
        return ElfLoader.TASK_SIZE - GuestMemory.pageCeil(process.config.stackSize());
    }

    /** A private file mapping is a copy of the file's bytes (and zeros past its end). */
    private void fillFromFile(GuestFile source, long start, long length, long offset) {
        long done = 0;
        while (done < length) {
            long at = start + done;
            int inPage = (int) Math.min(length - done, Page.SIZE);
            long n = source.pread(memory.page(at).ram().asSlice(0, inPage), offset + done);
            if (n <= 0) {
                break;
            }
            done += n;
        }
    }

    private long munmap(long address, long length) {
        if ((address & Page.OFFSET_MASK) != 0 || length == 0 || address + length > ElfLoader.TASK_SIZE) {
            return -Errno.EINVAL;
        }
        extended.unmapping(address, GuestMemory.pageCeil(length));
        memory.unmap(address, GuestMemory.pageCeil(length));
        return 0;
    }

    private long mprotect(long address, long length, int prot) {
        if ((address & Page.OFFSET_MASK) != 0 || address + length > ElfLoader.TASK_SIZE) {
            return -Errno.EINVAL;
        }
        return memory.protect(address, GuestMemory.pageCeil(length), protFlags(prot)) ? 0 : -Errno.ENOMEM;
    }

    // ---- identity, time, limits, randomness

    private long uname(long buffer) {
        String[] fields = {"Linux", hostText("/proc/sys/kernel/hostname", "localhost"),
                hostText("/proc/sys/kernel/osrelease", "6.1.0"), hostText("/proc/sys/kernel/version", "#1"),
                InitialStack.PLATFORM, hostText("/proc/sys/kernel/domainname", "(none)")};
        byte[] out = new byte[6 * 65];
        for (int i = 0; i < fields.length; i++) {
            byte[] f = fields[i].getBytes(StandardCharsets.UTF_8);
            System.arraycopy(f, 0, out, 65 * i, Math.min(f.length, 64));
        }
        memory.userWrite(buffer, out);
        return 0;
    }

    private static String hostText(String file, String fallback) {
        try {
            return Files.readString(Path.of(file)).trim();
        } catch (IOException e) {
            return fallback;
        }
    }

    private long clockGettime(int clock, long buffer, boolean time64) {
        int[] errno = new int[1];
        long[] ts = HostOs.clockGettime(clock, errno);
        if (ts == null) {
            return -errno[0];
        }
        writeTimespec(buffer, ts[0], ts[1], time64);
        return 0;
    }

    private long clockGetres(long buffer, boolean time64) {
        if (buffer != 0) {
            writeTimespec(buffer, 0, 1, time64);
        }
        return 0;
    }

    private void writeTimespec(long buffer, long seconds, long fraction, boolean time64) {
        if (time64) {
            memory.userWriteLong(buffer, seconds);
            memory.userWriteLong(buffer + 8, fraction);
        } else {
            memory.userWriteInt(buffer, (int) seconds);
            memory.userWriteInt(buffer + 4, (int) fraction);
        }
    }

    private long gettimeofday(long buffer) {
        if (buffer != 0) {
            long[] ts = HostOs.clockGettime(0, new int[1]);
            writeTimespec(buffer, ts[0], ts[1] / 1000, false);
        }
        return 0;
    }

    private long time(long buffer) {
        long seconds = HostOs.clockGettime(0, new int[1])[0];
        if (buffer != 0) {
            memory.userWriteInt(buffer, (int) seconds);
        }
        return (int) seconds;
    }

    private long[] rlimit(int resource) {
        return switch (resource) {
            case RLIMIT_STACK -> new long[] {process.config.stackSize(), RLIM_INFINITY};
            case RLIMIT_NOFILE -> new long[] {GuestProcess.MAX_FILES, GuestProcess.MAX_FILES};
            default -> new long[] {RLIM_INFINITY, RLIM_INFINITY};
        };
    }

    /** New limits are accepted and ignored: the emulator enforces none of them. */
    private long prlimit64(int pid, int resource, long newLimit, long oldLimit) {
        if (pid != 0 && pid != process.pid) {
            return -Errno.ESRCH;
        }
        if (resource < 0 || resource > 15) {
            return -Errno.EINVAL;
        }
        if (oldLimit != 0) {
            long[] l = rlimit(resource);
            memory.userWriteLong(oldLimit, l[0]);
            memory.userWriteLong(oldLimit + 8, l[1]);
        }
        return 0;
    }

    private long getrlimit32(int resource, long buffer) {
        if (resource < 0 || resource > 15) {
            return -Errno.EINVAL;
        }
        long[] l = rlimit(resource);
        memory.userWriteInt(buffer, clamp32(l[0]));
        memory.userWriteInt(buffer + 4, clamp32(l[1]));
        return 0;
    }

    private static int clamp32(long limit) {
        return limit < 0 || limit > 0xffff_ffffL ? -1 : (int) limit;
    }

    private long getrandom(long buffer, long length) {
        int n = (int) Math.min(length, 1 << 20);
        byte[] bytes = new byte[n];
        random.nextBytes(bytes);
        memory.userWrite(buffer, bytes);
        return n;
    }

    // ---- TLS

    /**
     * set_thread_area(struct user_desc *): installs a TLS descriptor in GDT entries 6-8 (the i386 kernel's
     * GDT_ENTRY_TLS_MIN..MAX; the CPU keeps user mode's GDT) and refreshes FS/GS when they hold that selector,
     * as the i386 kernel does on return to user mode; the guest then loads the selector itself (glibc: MOV GS).
     */
    private long setThreadArea(long descAddress) {
        int entry = memory.readInt(descAddress);
        int base = memory.readInt(descAddress + 4);
        int limit = memory.readInt(descAddress + 8);
        int flags = memory.readInt(descAddress + 12);
        if (entry == -1) {
            for (int i = 0; i < TLS_ENTRIES && entry == -1; i++) {
                if (tls[i] == null) {
                    entry = TLS_ENTRY_MIN + i;
                }
            }
            if (entry == -1) {
                return -Errno.ESRCH; // the kernel's answer when no slot is free
            }
            memory.userWriteInt(descAddress, entry);
        }
        if (entry < TLS_ENTRY_MIN || entry >= TLS_ENTRY_MIN + TLS_ENTRIES) {
            return -Errno.EINVAL;
        }
        tls[entry - TLS_ENTRY_MIN] = new int[] {base, limit, flags};
        boolean pages = (flags & 0x10) != 0;
        long byteLimit = pages ? ((limit & 0xfffffL) << 12) | 0xfff : limit & 0xfffffL;
        boolean empty = base == 0 && limit == 0 && (flags & 0x28) == 0x28; // read_exec_only + seg_not_present
        cpu.setUserGdtEntry(entry, base & 0xffff_ffffL, byteLimit, empty ? 0 : accessBits(flags));
        int selector = (entry << 3) | 3;
        for (int seg : new int[] {X86Cpu.FS, X86Cpu.GS}) {
            if ((cpu.segmentSelector(seg) & 0xfffc) == (selector & 0xfffc)) {
                cpu.loadSegmentRegister(seg, empty ? 0 : cpu.segmentSelector(seg));
            }
        }
        return 0;
    }

    /** The descriptor's bits 40-55 from user_desc flags, as the kernel's fill_ldt builds them. */
    static int accessBits(int flags) {
        boolean seg32 = (flags & 1) != 0;
        int contents = (flags >> 1) & 3;
        boolean readExecOnly = (flags & 8) != 0;
        boolean pages = (flags & 0x10) != 0;
        boolean notPresent = (flags & 0x20) != 0;
        boolean useable = (flags & 0x40) != 0;
        int type = 1 | (readExecOnly ? 0 : 2) | (contents << 2);
        return type | 0x10 | 0x60 | (notPresent ? 0 : 0x80) | (useable ? 0x1000 : 0) | (seg32 ? 0x4000 : 0) | (pages ? 0x8000 : 0);
    }

    private long getThreadArea(long descAddress) {
        int entry = memory.readInt(descAddress);
        if (entry < TLS_ENTRY_MIN || entry >= TLS_ENTRY_MIN + TLS_ENTRIES) {
            return -Errno.EINVAL;
        }
        int[] d = tls[entry - TLS_ENTRY_MIN];
        int[] v = d == null ? new int[] {0, 0, 0x28} : d; // empty: seg_not_present | read_exec_only
        memory.userWriteInt(descAddress + 4, v[0]);
        memory.userWriteInt(descAddress + 8, v[1]);
        memory.userWriteInt(descAddress + 12, v[2]);
        return 0;
    }

    /** kill/tkill/tgkill to ourselves: queued, delivered when the system call returns. */
    private long raise(int signal, int code) {
        if (signal == 0) {
            return 0;
        }
        if (signal < 0 || signal > Signals.MAX) {
            return -Errno.EINVAL;
        }
        process.signals.send(SignalDelivery.Info.sent(signal, code, process.pid, HostCredentials.current().uid()));
        return 0;
    }
}
