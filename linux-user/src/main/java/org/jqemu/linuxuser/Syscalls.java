package org.jqemu.linuxuser;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
            NANOSLEEP = 162, SIGRETURN = 119, RT_SIGRETURN = 173, SIGALTSTACK = 186, SCHED_YIELD = 158, CLOCK_NANOSLEEP = 267, CLOCK_NANOSLEEP_TIME64 = 407,
            FORK = 2, VFORK = 190, CLONE = 120, CLONE3 = 435, EXECVE = 11, WAITPID = 7, WAIT4 = 114, WAITID = 284,
            GETPGID = 132, SETPGID = 57, GETPGRP = 65, SETSID = 66, GETSID = 147, PIPE = 42, PIPE2 = 331, DUP = 41,
            DUP2 = 63, DUP3 = 330, FCNTL = 55, FUTEX = 240, FUTEX_TIME64 = 422, POLL = 168, PPOLL = 309,
            PPOLL_TIME64 = 414, SELECT = 82, NEWSELECT = 142, PSELECT6 = 308, PSELECT6_TIME64 = 413,
            RT_SIGSUSPEND = 179, CHDIR = 12, FCHDIR = 133, UMASK = 60, MKDIR = 39, MKDIRAT = 296, RMDIR = 40,
            UNLINK = 10, UNLINKAT = 301, RENAME = 38, RENAMEAT = 302, RENAMEAT2 = 353, LINK = 9, LINKAT = 303,
            SYMLINK = 83, SYMLINKAT = 304, CHMOD = 15, FCHMOD = 94, FCHMODAT = 306, CHOWN32 = 212, LCHOWN32 = 198,
            FCHOWN32 = 207, FCHOWNAT = 298, CHOWN = 182, LCHOWN = 16, FCHOWN = 95, UTIMENSAT = 320,
            UTIMENSAT_TIME64 = 412, GETDENTS64 = 220, TRUNCATE64 = 193, FTRUNCATE64 = 194, FTRUNCATE = 93,
            FSYNC = 118, FDATASYNC = 148, PREAD64 = 180, PWRITE64 = 181, STATFS64 = 268, FSTATFS64 = 269,
            MKNOD = 14, MKNODAT = 297, SYNC = 36, FLOCK = 143, FALLOCATE = 324, TIMES = 43, ALARM = 27,
            SETITIMER = 104, GETITIMER = 105, SIGSUSPEND = 72, SETUID32 = 213, SETGID32 = 214,
            GETGROUPS32 = 205, SYSINFO = 116, SCHED_GETAFFINITY = 242, GETRUSAGE = 77, RT_SIGPENDING = 176,
            NICE = 34, GETPRIORITY = 96, SETPRIORITY = 97,
            TIMER_CREATE = 259, TIMER_SETTIME = 260, TIMER_GETTIME = 261, TIMER_GETOVERRUN = 262,
            TIMER_DELETE = 263, TIMER_GETTIME64 = 408, TIMER_SETTIME64 = 409, UTIME = 30, UTIMES = 271, TRUNCATE = 92, PAUSE = 29, RT_SIGTIMEDWAIT = 177, RT_SIGTIMEDWAIT_TIME64 = 421;

    private static final int MAP_SHARED = 0x01, MAP_PRIVATE = 0x02, MAP_FIXED = 0x10, MAP_ANONYMOUS = 0x20,
            MAP_FIXED_NOREPLACE = 0x100000;
    /** TASK_UNMAPPED_BASE of a 32-bit task (QEMU uses it too); the interpreter is loaded from there as well. */
    static final long MMAP_BASE = ElfLoader.INTERPRETER_BASE;
    private static final int AT_EMPTY_PATH = 0x1000, AT_SYMLINK_NOFOLLOW = 0x100;
    private static final int STATX_BASIC_STATS = 0x7ff;
    private static final int TCGETS = 0x5401, TIOCGWINSZ = 0x5413, TERMIOS_SIZE = 36, WINSIZE_SIZE = 8;
    private static final int TLS_ENTRY_MIN = GuestThread.TLS_ENTRY_MIN, TLS_ENTRIES = GuestThread.TLS_ENTRIES;
    private static final int MAX_PATH = 4096, MAX_IO = 0x7fff_f000;
    private static final int RLIMIT_STACK = 3, RLIMIT_NOFILE = 7;
    private static final long RLIM_INFINITY = -1L;

    private final GuestThread thread;
    private final GuestProcess process;
    private final GuestMemory memory;
    private final X86Cpu cpu;
    private final Strace strace;
    private final int[][] tls;
    private final ProcessCalls processCalls;
    private final FileCalls fileCalls;
    final ExtendedSyscalls extended;

    /** The calls of one thread over its current address space and CPU (a new instance after execve). */
    Syscalls(GuestThread thread) {
        this.thread = thread;
        this.process = thread.process;
        this.memory = process.memory;
        this.cpu = thread.cpu;
        this.tls = thread.tls;
        this.strace = process.config.strace() ? new Strace(process.config.log(), thread.tid) : null;
        this.processCalls = new ProcessCalls(thread);
        this.fileCalls = new FileCalls(thread, this);
        this.extended = new ExtendedSyscalls(thread, this);
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
        if (process.exiting()) {
            return;
        }
        if (strace != null) {
            strace.exit(nr, result);
        }
        if (result == -SignalDelivery.ERESTARTSYS || result == -SignalDelivery.ERESTARTNOHAND) {
            thread.signals.interrupted(nr, (int) -result);
            return;
        }
        cpu.setReg(X86Cpu.EAX, result);
    }

    private long call(int nr, long[] a) {
        return switch (nr) {
            case EXIT -> processCalls.exit((int) a[0]);
            case EXIT_GROUP -> processCalls.exitGroup((int) a[0]);
            case FORK -> processCalls.fork();
            case VFORK -> processCalls.vfork();
            case CLONE -> processCalls.clone((int) a[0], a[1], a[2], a[3], a[4]);
            case CLONE3 -> -Errno.ENOSYS; // glibc falls back to clone
            case EXECVE -> processCalls.execve(a[0], a[1], a[2]);
            case WAITPID -> processCalls.wait4((int) a[0], a[1], (int) a[2], 0);
            case WAIT4 -> processCalls.wait4((int) a[0], a[1], (int) a[2], a[3]);
            case WAITID -> processCalls.waitid((int) a[0], (int) a[1], a[2], (int) a[3], a[4]);
            case GETPGID -> processCalls.getpgid((int) a[0]);
            case GETPGRP -> processCalls.getpgid(0);
            case SETPGID -> processCalls.setpgid((int) a[0], (int) a[1]);
            case SETSID -> processCalls.setsid();
            case GETSID -> processCalls.getsid((int) a[0]);
            case PIPE -> fileCalls.pipe(a[0], 0);
            case PIPE2 -> fileCalls.pipe(a[0], (int) a[1]);
            case DUP -> fileCalls.dup((int) a[0]);
            case DUP2 -> fileCalls.dup3((int) a[0], (int) a[1], 0, false);
            case DUP3 -> fileCalls.dup3((int) a[0], (int) a[1], (int) a[2], true);
            case FCNTL, FCNTL64 -> fileCalls.fcntl((int) a[0], (int) a[1], a[2]);
            case FUTEX -> futex(a, false);
            case FUTEX_TIME64 -> futex(a, true);
            case POLL -> fileCalls.poll(a[0], a[1], (int) a[2] < 0 ? -1 : (int) a[2] * 1_000_000L);
            case PPOLL -> withSigmask(a[3], a[4], () -> fileCalls.poll(a[0], a[1], timeoutNanos(a[2], false)));
            case PPOLL_TIME64 -> withSigmask(a[3], a[4], () -> fileCalls.poll(a[0], a[1], timeoutNanos(a[2], true)));
            case NEWSELECT -> select(a[0], a[1], a[2], a[3], a[4]);
            case SELECT -> oldSelect(a[0]);
            case PSELECT6 -> pselect(a, false);
            case PSELECT6_TIME64 -> pselect(a, true);
            case RT_SIGSUSPEND -> thread.signals.sigsuspend(a[0], a[1]);
            case PAUSE -> thread.signals.pause();
            case RT_SIGTIMEDWAIT -> thread.signals.sigtimedwait(a[0], a[1], timeoutNanos(a[2], false), a[3]);
            case RT_SIGTIMEDWAIT_TIME64 -> thread.signals.sigtimedwait(a[0], a[1], timeoutNanos(a[2], true), a[3]);
            case CHDIR -> fileCalls.chdir(a[0]);
            case FCHDIR -> fileCalls.fchdir((int) a[0]);
            case UMASK -> fileCalls.umask((int) a[0]);
            case MKDIR -> fileCalls.mkdir(HostOs.AT_FDCWD, a[0], (int) a[1]);
            case MKDIRAT -> fileCalls.mkdir((int) a[0], a[1], (int) a[2]);
            case MKNOD -> fileCalls.mknod(HostOs.AT_FDCWD, a[0], (int) a[1], a[2]);
            case MKNODAT -> fileCalls.mknod((int) a[0], a[1], (int) a[2], a[3]);
            case RMDIR -> fileCalls.rmdir(a[0]);
            case UNLINK -> fileCalls.unlink(HostOs.AT_FDCWD, a[0], 0);
            case UNLINKAT -> fileCalls.unlink((int) a[0], a[1], (int) a[2]);
            case RENAME -> fileCalls.rename(HostOs.AT_FDCWD, a[0], HostOs.AT_FDCWD, a[1], 0);
            case RENAMEAT -> fileCalls.rename((int) a[0], a[1], (int) a[2], a[3], 0);
            case RENAMEAT2 -> fileCalls.rename((int) a[0], a[1], (int) a[2], a[3], (int) a[4]);
            case LINK -> fileCalls.link(HostOs.AT_FDCWD, a[0], HostOs.AT_FDCWD, a[1], 0);
            case LINKAT -> fileCalls.link((int) a[0], a[1], (int) a[2], a[3], (int) a[4]);
            case SYMLINK -> fileCalls.symlink(a[0], HostOs.AT_FDCWD, a[1]);
            case SYMLINKAT -> fileCalls.symlink(a[0], (int) a[1], a[2]);
            case CHMOD -> fileCalls.chmod(HostOs.AT_FDCWD, a[0], (int) a[1]);
            case FCHMODAT -> fileCalls.chmod((int) a[0], a[1], (int) a[2]);
            case FCHMOD -> fileCalls.onHostFd(HostOs.SYS_FCHMOD, (int) a[0], a[1]);
            case CHOWN32, CHOWN -> fileCalls.chown(HostOs.AT_FDCWD, a[0], id(a[1], nr == CHOWN), id(a[2], nr == CHOWN), 0);
            case LCHOWN32, LCHOWN -> fileCalls.chown(HostOs.AT_FDCWD, a[0], id(a[1], nr == LCHOWN), id(a[2], nr == LCHOWN), AT_SYMLINK_NOFOLLOW);
            case FCHOWNAT -> fileCalls.chown((int) a[0], a[1], (int) a[2], (int) a[3], (int) a[4]);
            case FCHOWN32, FCHOWN -> fileCalls.onHostFd(HostOs.SYS_FCHOWN, (int) a[0], id(a[1], nr == FCHOWN), id(a[2], nr == FCHOWN));
            case UTIMENSAT -> fileCalls.utimensat((int) a[0], a[1], a[2], (int) a[3], false);
            case UTIMENSAT_TIME64 -> fileCalls.utimensat((int) a[0], a[1], a[2], (int) a[3], true);
            case GETDENTS64 -> fileCalls.getdents64((int) a[0], a[1], a[2]);
            case TRUNCATE64 -> fileCalls.truncate(a[0], a[1] | (a[2] << 32));
            case TRUNCATE -> fileCalls.truncate(a[0], (int) a[1]);
            case FTRUNCATE64 -> fileCalls.onHostFd(HostOs.SYS_FTRUNCATE, (int) a[0], a[1] | (a[2] << 32));
            case FTRUNCATE -> fileCalls.onHostFd(HostOs.SYS_FTRUNCATE, (int) a[0], a[1]);
            case FSYNC -> fileCalls.onHostFd(HostOs.SYS_FSYNC, (int) a[0]);
            case FDATASYNC -> fileCalls.onHostFd(HostOs.SYS_FDATASYNC, (int) a[0]);
            case FLOCK -> fileCalls.onHostFd(HostOs.SYS_FLOCK, (int) a[0], a[1]);
            case SYNC -> 0;
            case STATFS64 -> fileCalls.statfs64(a[0], a[1], a[2], -1);
            case FSTATFS64 -> fileCalls.statfs64(0, a[1], a[2], (int) a[0]);
            case PREAD64 -> pread((int) a[0], a[1], a[2], a[3] | (a[4] << 32));
            case PWRITE64 -> pwrite((int) a[0], a[1], a[2], a[3] | (a[4] << 32));
            case TIMES -> times(a[0]);
            case SETUID32, SETGID32 -> a[0] == (nr == SETUID32 ? HostCredentials.current().uid() : HostCredentials.current().gid()) ? 0 : -Errno.EPERM;
            case GETGROUPS32 -> 0;
            case SCHED_GETAFFINITY -> schedGetaffinity(a[1], a[2]);
            case GETRUSAGE -> {
                memory.userWrite(a[1], new byte[72]);
                yield 0;
            }
            case RT_SIGPENDING -> {
                memory.userWriteLong(a[0], 0);
                yield 0;
            }
            case NICE, SETPRIORITY -> 0;
            case ALARM -> alarm(a[0]);
            case SETITIMER -> setitimer((int) a[0], a[1], a[2]);
            case GETITIMER -> getitimer((int) a[0], a[1]);
            case TIMER_CREATE -> timerCreate((int) a[0], a[1], a[2]);
            case TIMER_SETTIME -> timerSettime((int) a[0], (int) a[1], a[2], a[3], false);
            case TIMER_SETTIME64 -> timerSettime((int) a[0], (int) a[1], a[2], a[3], true);
            case TIMER_GETTIME -> timerGettime((int) a[0], a[1], false);
            case TIMER_GETTIME64 -> timerGettime((int) a[0], a[1], true);
            case TIMER_GETOVERRUN -> process.timers.get((int) a[0]) == null ? -Errno.EINVAL : 0;
            case TIMER_DELETE -> process.timers.delete((int) a[0]) ? 0 : -Errno.EINVAL;
            case UTIME -> utime(a[0], a[1]);
            case UTIMES -> utimes(a[0], a[1]);
            case GETPRIORITY -> 20;
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
            case ModifyLdt.NR -> ModifyLdt.call(cpu, memory, (int) a[0], a[1], a[2]);
            case GET_THREAD_AREA -> getThreadArea(a[0]);
            case SET_TID_ADDRESS -> {
                thread.clearChildTid = a[0];
                yield thread.tid;
            }
            case GETPID -> process.pid;
            case GETTID -> thread.tid;
            case GETPPID -> processCalls.getppid();
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
            case RT_SIGACTION -> thread.signals.sigaction((int) a[0], a[1], a[2], a[3]);
            case RT_SIGPROCMASK -> thread.signals.sigprocmask((int) a[0], a[1], a[2], a[3]);
            case RT_SIGRETURN -> thread.signals.rtSigreturn();
            case SIGALTSTACK -> thread.signals.sigaltstack(a[0], a[1]);
            case SIGRETURN -> thread.signals.sigreturn();
            case KILL -> processCalls.kill((int) a[0], (int) a[1]);
            case TKILL -> processCalls.tgkill(-1, (int) a[0], (int) a[1]);
            case TGKILL -> processCalls.tgkill((int) a[0], (int) a[1], (int) a[2]);
            case PRLIMIT64 -> prlimit64((int) a[0], (int) a[1], a[2], a[3]);
            case UGETRLIMIT, GETRLIMIT -> getrlimit32((int) a[0], a[1]);
            case GETRANDOM -> getrandom(a[0], a[1]);
            case GETCWD -> fileCalls.getcwd(a[0], a[1]);
            case ACCESS -> access(HostOs.AT_FDCWD, a[0], (int) a[1]);
            case FACCESSAT -> access((int) a[0], a[1], (int) a[2]);
            case NANOSLEEP -> sleep(memory.readInt(a[0]), memory.readInt(a[0] + 4), a[1], false, false);
            case CLOCK_NANOSLEEP -> sleep(memory.readInt(a[2]), memory.readInt(a[2] + 4), a[3], false, (a[1] & 1) != 0);
            case CLOCK_NANOSLEEP_TIME64 -> sleep(memory.readLong(a[2]), memory.readLong(a[2] + 8), a[3], true, (a[1] & 1) != 0);
            case SCHED_YIELD -> 0;
            default -> extended.call(nr, a); // sockets, mremap, msync, xattrs, sysinfo...: ExtendedSyscalls
        };
    }

    long unimplemented(int nr) {
        boolean first;
        BitSet reported = process.kernel.reportedUnimplemented;
        synchronized (reported) {
            first = nr >= 0 && !reported.get(nr);
            if (first) {
                reported.set(nr);
            }
        }
        if (process.config.logUnimplemented() && first) {
            process.config.log().println("Unsupported syscall: " + nr);
        }
        return -Errno.ENOSYS;
    }

    // ---- files

    private GuestFile file(int fd) {
        return process.files.get(fd);
    }

    /** The host buffer a read or write between a file and guest memory goes through, at most. */
    private static final int BOUNCE = 64 * 1024;

    /**
     * Moves bytes between a file and a guest buffer: {@code io} reads into or writes from host memory, and the
     * guest pages are copied only when the bytes move (copy_to_user/copy_from_user, {@link
     * GuestMemory#copyToUser}), never captured before a call that may wait, so a page another thread unmaps
     * or remaps meanwhile is not written (-EFAULT, or the new mapping gets the bytes, as on Linux). A pipe copies
     * straight from its ring; other files go through a bounce buffer, chunk by chunk, while each chunk is filled
     * and (reading) more is ready at once. {@code io} null: the file's read or write; {@code mayWait} false: a
     * later piece of readv, which must not wait.
     */
    private long transfer(GuestFile f, long address, long length, boolean toGuest, boolean mayWait,
                          java.util.function.ToLongFunction<MemorySegment> io) {
        length = Math.min(length, MAX_IO);
        if (!memory.accessible(address, length, toGuest ? Page.WRITE : Page.READ)) {
            return -Errno.EFAULT;
        }
        if (length == 0) {
            return 0;
        }
        if (f instanceof Pipe.End pipe && io == null) { // read or write (pread and pwrite answer ESPIPE)
            Pipe.Buffer buffer = Pipe.Buffer.guest(memory, address, length);
            return toGuest ? pipe.read(buffer, mayWait) : pipe.write(buffer);
        }
        if (io == null) {
            io = toGuest ? f::read : f::write;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment bounce = arena.allocate(Math.min(length, BOUNCE));
            long done = 0;
            while (done < length) {
                MemorySegment chunk = bounce.asSlice(0, Math.min(length - done, BOUNCE));
                long n = toGuest ? bounceIn(address + done, chunk, io) : bounceOut(address + done, chunk, io);
                if (n < 0) {
                    return done > 0 ? done : n;
                }
                done += n;
                if (n < chunk.byteSize() || toGuest && !f.readableNow()) {
                    break; // a short transfer or a fault ends the call; a read does not wait for a second chunk
                }
            }
            return done;
        }
    }

    /** One chunk of a read: the file fills {@code chunk}, then the guest buffer as it is mapped now. */
    private long bounceIn(long address, MemorySegment chunk, java.util.function.ToLongFunction<MemorySegment> io) {
        long n = io.applyAsLong(chunk);
        if (n <= 0) {
            return n;
        }
        long copied = memory.copyToUser(address, chunk, 0, n);
        return copied > 0 ? copied : -Errno.EFAULT; // what was read past a vanished page is lost (Linux keeps it)
    }

    /** One chunk of a write: the guest buffer as it is mapped now goes to {@code chunk}, then to the file. */
    private long bounceOut(long address, MemorySegment chunk, java.util.function.ToLongFunction<MemorySegment> io) {
        long copied = memory.copyFromUser(address, chunk, 0, chunk.byteSize());
        return copied > 0 ? io.applyAsLong(chunk.asSlice(0, copied)) : -Errno.EFAULT;
    }

    private long read(int fd, long buffer, long count) {
        return read(fd, buffer, count, true);
    }

    private long read(int fd, long buffer, long count, boolean mayWait) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        if (f instanceof HostFile h && count > 0 && mayWait) {
            long ready = thread.waitHostReadable(h.fd());
            if (ready < 0) {
                return ready;
            }
        }
        if (!mayWait && !f.readableNow()) {
            return 0;
        }
        return transfer(f, buffer, count, true, mayWait, null);
    }

    private long write(int fd, long buffer, long count) {
        GuestFile f = file(fd);
        return f == null ? -Errno.EBADF : transfer(f, buffer, count, false, true, null);
    }

    /** readv/writev: the pieces in turn; a read returns what the first pieces got without waiting for more. */
    private long vectorIo(int fd, long iov, long count, boolean write) {
        if (count > 1024) {
            return -Errno.EINVAL;
        }
        long total = 0;
        for (int i = 0; i < count; i++) {
            long base = memory.readInt(iov + 8L * i) & 0xffff_ffffL;
            long length = memory.readInt(iov + 8L * i + 4) & 0xffff_ffffL;
            long n = write ? write(fd, base, length) : read(fd, base, length, total == 0);
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
    String hostPath(String path) {
        return process.image.paths.hostPath(path);
    }

    /** The host directory descriptor for a guest dirfd: the process's own cwd for AT_FDCWD; -1 when not a directory. */
    int hostDirFd(int dirfd) {
        if (dirfd == HostOs.AT_FDCWD) {
            return process.fs.cwd();
        }
        return file(dirfd) instanceof HostFile h ? h.fd() : -1;
    }

    private long open(int dirfd, long pathAddress, int flags, int mode) {
        String path = memory.readCString(pathAddress, MAX_PATH);
        int hostDir = hostDirFd(dirfd);
        if (hostDir == -1 && !path.startsWith("/")) {
            return -Errno.EBADF;
        }
        if ((flags & Fcntl.O_CREAT) != 0) {
            mode &= ~process.fs.umask();
        }
        GuestFile synthetic = extended.procFs.open(path); // /proc/self/maps and the other guest views
        if (synthetic != null) {
            return process.files.install(synthetic, 0, (flags & Fcntl.O_CLOEXEC) != 0);
        }
        int fd = HostOs.openat(hostDir, hostPath(path), flags | Fcntl.O_CLOEXEC, mode);
        if (fd < 0) {
            return fd;
        }
        HostFile file = new HostFile(fd, true);
        int slot = process.files.install(file, 0, (flags & Fcntl.O_CLOEXEC) != 0);
        if (slot < 0) {
            file.close();
        }
        return slot;
    }

    private long close(int fd) {
        return process.files.close(fd);
    }

    private long access(int dirfd, long pathAddress, int mode) {
        String path = memory.readCString(pathAddress, MAX_PATH);
        int hostDir = hostDirFd(dirfd);
        if (hostDir == -1 && !path.startsWith("/")) {
            return -Errno.EBADF;
        }
        return HostOs.faccessat(hostDir, hostPath(path), mode, 0);
    }

    /**
     * nanosleep and clock_nanosleep: relative, or absolute ({@code absolute}, TIMER_ABSTIME) on the realtime or
     * monotonic clock. An interrupted relative sleep writes the time left to {@code remaining}.
     */
    private long sleep(long seconds, long nanos, long remaining, boolean time64, boolean absolute) {
        if (seconds < 0 || nanos < 0 || nanos >= 1_000_000_000L) {
            return -Errno.EINVAL;
        }
        long requested = Math.multiplyHigh(seconds, 1_000_000_000L) != 0 ? Long.MAX_VALUE / 2
                : Math.min(Long.MAX_VALUE / 2, seconds * 1_000_000_000L + nanos);
        if (absolute) {
            long[] now = HostOs.clockGettime((int) cpu.reg(X86Cpu.EBX), new int[1]);
            long nowNanos = now == null ? 0 : now[0] * 1_000_000_000L + now[1];
            requested = Math.max(0, requested - nowNanos);
        }
        long deadline = System.nanoTime() + requested;
        long r = thread.sleepUntil(deadline);
        if (r < 0) {
            if (!absolute && remaining != 0) {
                long left = Math.max(0, deadline - System.nanoTime());
                writeTimespec(remaining, left / 1_000_000_000L, left % 1_000_000_000L, time64);
            }
            return -SignalDelivery.ERESTARTNOHAND;
        }
        return 0;
    }

    private long pread(int fd, long buffer, long count, long offset) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        long[] at = {offset};
        return transfer(f, buffer, count, true, true, chunk -> advance(at, f.pread(chunk, at[0])));
    }

    /** pwrite64 goes to the host descriptor directly (pipes answer ESPIPE). */
    private long pwrite(int fd, long buffer, long count, long offset) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        if (!(f instanceof HostFile h)) {
            return -Errno.ESPIPE;
        }
        long[] at = {offset};
        return transfer(f, buffer, count, false, true,
                chunk -> advance(at, HostOs.syscall(HostOs.SYS_PWRITE64, h.fd(), chunk.address(), chunk.byteSize(), at[0])));
    }

    /** pread/pwrite in chunks: the next chunk starts where this one's {@code n} bytes ended. */
    private static long advance(long[] offset, long n) {
        if (n > 0) {
            offset[0] += n;
        }
        return n;
    }

    /** Old-style chown ids are 16-bit (0xffff means "unchanged", -1 for the 32-bit call). */
    private static int id(long value, boolean sixteenBit) {
        return sixteenBit ? ((value & 0xffff) == 0xffff ? -1 : (int) (value & 0xffff)) : (int) value;
    }

    private long times(long buffer) {
        long ticks = System.nanoTime() / (1_000_000_000L / InitialStack.CLOCK_TICKS);
        if (buffer != 0) {
            memory.userWrite(buffer, new byte[16]);
        }
        return (int) ticks;
    }

    private long schedGetaffinity(long size, long mask) {
        if (size < 4) {
            return -Errno.EINVAL;
        }
        memory.userWriteInt(mask, 1); // one CPU, as the emulator gives each guest thread one at a time
        return 4;
    }

    // ---- timers

    private static final int ITIMER_REAL = 0;
    private static final long NANOS = 1_000_000_000L;

    private long alarm(long seconds) {
        long[] old = process.timers.setReal(seconds * NANOS, 0);
        return old[1] == 0 ? 0 : Math.max(1, (old[1] + NANOS / 2) / NANOS);
    }

    /** setitimer: ITIMER_REAL only (virtual and profiling time are not counted). */
    private long setitimer(int which, long newValue, long oldValue) {
        if (which != ITIMER_REAL) {
            return which >= 0 && which <= 2 ? unimplemented(SETITIMER) : -Errno.EINVAL;
        }
        long interval = 0, value = 0;
        if (newValue != 0) {
            interval = timevalAt(newValue);
            value = timevalAt(newValue + 8);
            if (interval < 0 || value < 0) {
                return -Errno.EINVAL;
            }
        }
        long[] old = process.timers.setReal(value, interval);
        if (oldValue != 0) {
            writeItimerval(oldValue, old);
        }
        return 0;
    }

    private long getitimer(int which, long address) {
        if (which != ITIMER_REAL) {
            return which >= 0 && which <= 2 ? unimplemented(GETITIMER) : -Errno.EINVAL;
        }
        writeItimerval(address, process.timers.getReal());
        return 0;
    }

    private long timevalAt(long address) {
        long seconds = memory.readInt(address), micros = memory.readInt(address + 4);
        return seconds < 0 || micros < 0 || micros >= 1_000_000 ? -1 : seconds * NANOS + micros * 1000;
    }

    private void writeItimerval(long address, long[] intervalAndValue) {
        for (int i = 0; i < 2; i++) {
            memory.userWriteInt(address + 8L * i, (int) (intervalAndValue[i] / NANOS));
            memory.userWriteInt(address + 8L * i + 4, (int) (intervalAndValue[i] % NANOS / 1000));
        }
    }

    /** timer_create(clock, struct sigevent*, timer_t*): sigev_value, sigev_signo, sigev_notify, sigev_tid. */
    private long timerCreate(int clock, long event, long idAddress) {
        if (clock < 0 || clock > 11) {
            return -Errno.EINVAL;
        }
        int notify = IntervalTimers.SIGEV_SIGNAL, signal = Signals.SIGALRM, value = -1, tid = 0;
        if (event != 0) {
            value = memory.readInt(event);
            signal = memory.readInt(event + 4);
            notify = memory.readInt(event + 8);
            tid = memory.readInt(event + 12);
        }
        int id = process.timers.create(clock, notify, signal, value, tid);
        if (id < 0) {
            return id;
        }
        if (event == 0) {
            process.timers.delete(id);
            id = process.timers.create(clock, notify, signal, id, tid); // sigev_value defaults to the id
        }
        memory.userWriteInt(idAddress, id);
        return 0;
    }

    private long timerSettime(int id, int flags, long newValue, long oldValue, boolean time64) {
        int clock = process.timers.clockOf(id);
        if (clock < 0) {
            return -Errno.EINVAL;
        }
        int size = time64 ? 16 : 8;
        long interval = timespecNanos(newValue, time64);
        long value = timespecNanos(newValue + size, time64);
        if (interval < 0 || value < 0) {
            return -Errno.EINVAL;
        }
        if ((flags & 1) != 0 && value > 0) { // TIMER_ABSTIME
            long[] now = HostOs.clockGettime(clock, new int[1]);
            value = Math.max(1, value - (now == null ? 0 : now[0] * NANOS + now[1]));
        }
        long[] old = process.timers.set(id, value, interval);
        if (oldValue != 0) {
            writeItimerspec(oldValue, old, time64);
        }
        return 0;
    }

    private long timerGettime(int id, long address, boolean time64) {
        long[] now = process.timers.get(id);
        if (now == null) {
            return -Errno.EINVAL;
        }
        writeItimerspec(address, now, time64);
        return 0;
    }

    private void writeItimerspec(long address, long[] intervalAndValue, boolean time64) {
        int size = time64 ? 16 : 8;
        for (int i = 0; i < 2; i++) {
            writeTimespec(address + (long) size * i, intervalAndValue[i] / NANOS, intervalAndValue[i] % NANOS, time64);
        }
    }

    /** utime(path, {actime, modtime}) and utimes(path, timeval[2]) through utimensat. */
    private long utime(long path, long times) {
        long[] v = times == 0 ? null : new long[] {memory.readInt(times), 0, memory.readInt(times + 4), 0};
        return fileCalls.utimensat(HostOs.AT_FDCWD, path, v, 0);
    }

    private long utimes(long path, long times) {
        long[] v = times == 0 ? null : new long[] {memory.readInt(times), memory.readInt(times + 4) * 1000L,
                memory.readInt(times + 8), memory.readInt(times + 12) * 1000L};
        return fileCalls.utimensat(HostOs.AT_FDCWD, path, v, 0);
    }

    // ---- futex, poll, select

    private static final int FUTEX_WAIT = 0, FUTEX_WAKE = 1, FUTEX_REQUEUE = 3, FUTEX_CMP_REQUEUE = 4,
            FUTEX_WAIT_BITSET = 9, FUTEX_WAKE_BITSET = 10, FUTEX_CMD_MASK = 0x7f, FUTEX_CLOCK_REALTIME = 256;

    /** futex(uaddr, op, val, timeout or val2, uaddr2, val3). */
    private long futex(long[] a, boolean time64) {
        int op = (int) a[1];
        int command = op & FUTEX_CMD_MASK;
        long address = a[0];
        int value = (int) a[2];
        return switch (command) {
            case FUTEX_WAIT, FUTEX_WAIT_BITSET -> {
                int bitset = command == FUTEX_WAIT ? -1 : (int) a[5];
                if (bitset == 0) {
                    yield -Errno.EINVAL;
                }
                long deadline = Long.MAX_VALUE;
                if (a[3] != 0) {
                    long timeout = timespecNanos(a[3], time64);
                    if (timeout < 0) {
                        yield -Errno.EINVAL;
                    }
                    if (command == FUTEX_WAIT_BITSET) { // absolute, on CLOCK_MONOTONIC or CLOCK_REALTIME
                        long[] now = HostOs.clockGettime((op & FUTEX_CLOCK_REALTIME) != 0 ? 0 : 1, new int[1]);
                        timeout -= now[0] * 1_000_000_000L + now[1];
                    }
                    deadline = System.nanoTime() + Math.max(0, timeout);
                }
                yield process.kernel.futexes.wait(process, address, value, bitset, deadline);
            }
            case FUTEX_WAKE -> process.kernel.futexes.wake(process, address, value, -1);
            case FUTEX_WAKE_BITSET -> a[5] == 0 ? -Errno.EINVAL : process.kernel.futexes.wake(process, address, value, (int) a[5]);
            case FUTEX_REQUEUE, FUTEX_CMP_REQUEUE -> process.kernel.futexes.requeue(process, address, value, (int) a[3],
                    a[4], command == FUTEX_CMP_REQUEUE, (int) a[5]);
            default -> unimplemented(FUTEX);
        };
    }

    /** A timespec (32- or 64-bit) in nanoseconds; -1 when invalid. */
    private long timespecNanos(long address, boolean time64) {
        long seconds = time64 ? memory.readLong(address) : memory.readInt(address);
        long nanos = time64 ? memory.readInt(address + 8) : memory.readInt(address + 4);
        if (seconds < 0 || nanos < 0 || nanos >= 1_000_000_000L) {
            return -1;
        }
        return seconds > Long.MAX_VALUE / 2_000_000_000L ? Long.MAX_VALUE / 4 : seconds * 1_000_000_000L + nanos;
    }

    /** A timeout argument: NULL is "forever" (-1). */
    private long timeoutNanos(long address, boolean time64) {
        if (address == 0) {
            return -1;
        }
        long t = timespecNanos(address, time64);
        return t < 0 ? 0 : t;
    }

    private long timevalNanos(long address) {
        if (address == 0) {
            return -1;
        }
        long seconds = memory.readInt(address), micros = memory.readInt(address + 4);
        return seconds < 0 || micros < 0 ? 0 : seconds * 1_000_000_000L + micros * 1000;
    }

    /** ppoll/pselect6: the signal mask given is in force while waiting (as rt_sigsuspend's is). */
    private long withSigmask(long maskAddress, long size, java.util.function.LongSupplier call) {
        if (maskAddress == 0) {
            return call.getAsLong();
        }
        long mask = memory.readLong(maskAddress);
        long old = thread.signals.setTemporaryMask(mask);
        long r = call.getAsLong();
        thread.signals.restoreMaskAfter(old, r);
        return r;
    }

    private long oldSelect(long args) {
        long[] v = new long[5];
        for (int i = 0; i < 5; i++) {
            v[i] = memory.readInt(args + 4L * i) & 0xffff_ffffL;
        }
        return select(v[0], v[1], v[2], v[3], v[4]);
    }

    /** select and _newselect: a struct timeval timeout, left holding the time not slept (as Linux does). */
    private long select(long nfds, long in, long out, long except, long timeval) {
        long timeout = timevalNanos(timeval);
        return leavingRemaining(timeval, 0, timeout, () -> fileCalls.select((int) nfds, in, out, except, timeout));
    }

    /**
     * Runs a select-style wait of {@code timeoutNanos} (-1: none) and writes the time not slept back to the
     * guest's timeout at {@code address}: a timeval (fieldBytes 0), or a timespec with 4- or 8-byte fields.
     */
    private long leavingRemaining(long address, int fieldBytes, long timeoutNanos, java.util.function.LongSupplier call) {
        long started = System.nanoTime();
        long r = call.getAsLong();
        if (address != 0 && timeoutNanos >= 0) {
            long left = Math.max(0, timeoutNanos - (System.nanoTime() - started));
            long seconds = left / 1_000_000_000L, nanos = left % 1_000_000_000L;
            if (fieldBytes == 8) {
                memory.userWriteLong(address, seconds);
                memory.userWriteLong(address + 8, nanos);
            } else {
                memory.userWriteInt(address, (int) seconds);
                memory.userWriteInt(address + 4, (int) (fieldBytes == 0 ? nanos / 1000 : nanos));
            }
        }
        return r;
    }

    /** pselect6(n, in, out, except, timespec*, {sigset*, size}*). */
    private long pselect(long[] a, boolean time64) {
        long maskAddress = 0;
        if (a[5] != 0) {
            maskAddress = memory.readInt(a[5]) & 0xffff_ffffL;
        }
        long timeout = timeoutNanos(a[4], time64);
        return withSigmask(maskAddress, 8, () -> leavingRemaining(a[4], time64 ? 8 : 4, timeout,
                () -> fileCalls.select((int) a[0], a[1], a[2], a[3], timeout)));
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

    private static final int TIOCGPGRP = 0x540f, TIOCSPGRP = 0x5410, FIONREAD = 0x541b;

    private long ioctl(int fd, int request, long argument) {
        GuestFile f = file(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        if (f instanceof Pipe.End p && request == FIONREAD) {
            memory.userWriteInt(argument, p.pipe.available());
            return 0;
        }
        if (request == TIOCGPGRP || request == TIOCSPGRP) {
            return terminalProcessGroup(f, request == TIOCSPGRP, argument);
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

    /**
     * tcgetpgrp/tcsetpgrp: the foreground group lives in the kernel model (guest pgids mean nothing to the host);
     * host SIGINT goes to it. Only terminals have one.
     */
    private long terminalProcessGroup(GuestFile f, boolean set, long argument) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment termios = arena.allocate(64, 8);
            if (f.ioctl(TCGETS, termios) < 0) {
                return -Errno.ENOTTY;
            }
        }
        if (set) {
            int group = memory.readInt(argument);
            if (group < 0) {
                return -Errno.EINVAL;
            }
            process.kernel.foregroundPgid = group;
            return 0;
        }
        memory.userWriteInt(argument, process.kernel.foregroundPgid);
        return 0;
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
        synchronized (memory) {
            return brkLocked(requested);
        }
    }

    private long brkLocked(long requested) {
        if (requested <= process.brkStart) {
            return process.brk;
        }
        long oldEnd = GuestMemory.pageCeil(process.brk);
        long newEnd = GuestMemory.pageCeil(requested);
        if (newEnd > oldEnd) {
            if (newEnd > ElfLoader.TASK_SIZE || !memory.isFree(oldEnd, newEnd - oldEnd)) {
                return process.brk;
            }
            memory.map(oldEnd, newEnd - oldEnd, Page.READ | Page.WRITE);
        } else if (newEnd < oldEnd) {
            memory.unmap(newEnd, oldEnd - newEnd);
        }
        process.brk = requested;
        return requested;
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

    /**
     * The calls that change the address space hold its lock for the whole change, as Linux's mmap lock: a free
     * range chosen by one thread must still be free when it is mapped, not handed to two threads at once.
     */
    private long mmap(long address, long length, int prot, int flags, int fd, long offset) {
        synchronized (memory) {
            return mmapLocked(address, length, prot, flags, fd, offset);
        }
    }

    private long mmapLocked(long address, long length, int prot, int flags, int fd, long offset) {
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
            if ((flags & MAP_FIXED_NOREPLACE) != 0 && !memory.isFree(address, size)) {
                return -Errno.EEXIST;
            }
            start = address;
        } else {
            start = address != 0 && address + size <= ElfLoader.TASK_SIZE && memory.isFree(address, size) ? address
                    : memory.findFree(MMAP_BASE, size, stackGuard());
            if (start < 0) {
                start = memory.findFree(Page.SIZE * 16L, size, stackGuard());
            }
            if (start < 0) {
                return -Errno.ENOMEM;
            }
        }
        if (source == null && (flags & MAP_SHARED) != 0) {
            MemorySegment block = sharedBlock(size);
            if (block == null) {
                return -Errno.ENOMEM;
            }
            memory.mapShared(start, block, protFlags(prot));
        } else {
            memory.map(start, size, protFlags(prot));
        }
        if (source != null) {
            fillFromFile(source, start, length, offset);
        }
        extended.mapped(start, size, source, offset, flags, prot);
        return start;
    }

    /**
     * The pages of a MAP_SHARED|MAP_ANONYMOUS mapping: host memory apart from the address space, so a forked
     * child maps the same pages (zeroed; freed by the GC when no space maps them). Null when the host has none.
     */
    private static MemorySegment sharedBlock(long size) {
        try {
            return Arena.ofAuto().allocate(size, Page.SIZE);
        } catch (OutOfMemoryError e) {
            return null;
        }
    }

    /** Below the stack region: mmap never hands out the stack's reserved range. */
    long stackGuard() {
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
        synchronized (memory) {
            extended.unmapping(address, GuestMemory.pageCeil(length));
            memory.unmap(address, GuestMemory.pageCeil(length));
        }
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
        for (int attempt = 0; attempt < 100; attempt++) {
            try {
                Thread.interrupted(); // a signal's wake-up must not close the channel: the signal stays pending
                return Files.readString(Path.of(file)).trim();
            } catch (java.nio.channels.ClosedByInterruptException e) {
                // retry
            } catch (IOException e) {
                return fallback;
            }
        }
        return fallback;
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
        if (pid != 0 && process.kernel.process(pid) == null) {
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
        HostRandom.fill(bytes);
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
        int[] d = {memory.readInt(descAddress), memory.readInt(descAddress + 4), memory.readInt(descAddress + 8),
                memory.readInt(descAddress + 12)};
        return setThreadArea(d, descAddress, cpu, thread);
    }

    /** set_thread_area for {@code target} (this thread, or a child of clone with CLONE_SETTLS) from a user_desc. */
    long setThreadArea(int[] desc, long descAddress, X86Cpu targetCpu, GuestThread target) {
        int entry = desc[0];
        int base = desc[1];
        int limit = desc[2];
        int flags = desc[3];
        int[][] tls = target.tls;
        if (entry == -1) {
            for (int i = 0; i < TLS_ENTRIES && entry == -1; i++) {
                if (tls[i] == null) {
                    entry = TLS_ENTRY_MIN + i;
                }
            }
            if (entry == -1) {
                return -Errno.ESRCH; // the kernel's answer when no slot is free
            }
            if (descAddress != 0) {
                memory.userWriteInt(descAddress, entry);
            }
        }
        if (entry < TLS_ENTRY_MIN || entry >= TLS_ENTRY_MIN + TLS_ENTRIES) {
            return -Errno.EINVAL;
        }
        tls[entry - TLS_ENTRY_MIN] = new int[] {base, limit, flags};
        boolean empty = installTlsDescriptor(targetCpu, entry, base, limit, flags);
        int selector = (entry << 3) | 3;
        for (int seg : new int[] {X86Cpu.FS, X86Cpu.GS}) {
            if ((targetCpu.segmentSelector(seg) & 0xfffc) == (selector & 0xfffc)) {
                targetCpu.loadSegmentRegister(seg, empty ? 0 : targetCpu.segmentSelector(seg));
            }
        }
        return 0;
    }

    /** Writes a user_desc into the CPU's GDT entry; true when it describes the empty descriptor. */
    static boolean installTlsDescriptor(X86Cpu cpu, int entry, int base, int limit, int flags) {
        boolean pages = (flags & 0x10) != 0;
        long byteLimit = pages ? ((limit & 0xfffffL) << 12) | 0xfff : limit & 0xfffffL;
        boolean empty = base == 0 && limit == 0 && (flags & 0x28) == 0x28; // read_exec_only + seg_not_present
        cpu.setUserGdtEntry(entry, base & 0xffff_ffffL, byteLimit, empty ? 0 : accessBits(flags));
        return empty;
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
}
