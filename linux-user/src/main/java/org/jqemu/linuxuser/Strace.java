package org.jqemu.linuxuser;

import java.io.PrintStream;
import java.util.Map;

/**
 * -strace output in QEMU's shape: "PID name(arg,...) = result", strings quoted, failures as
 * "-1 errno=N (text)". Arguments are printed in hex except counts QEMU prints in decimal; the
 * aim is readable logs, not byte-identical ones.
 */
final class Strace {
    /** Name and argument count of each call we implement; the others print as "Unknown syscall N". */
    private static final Map<Integer, Object[]> CALLS = Map.ofEntries(
            Map.entry(Syscalls.EXIT, new Object[] {"exit", 1}), Map.entry(Syscalls.READ, new Object[] {"read", 3}),
            Map.entry(Syscalls.WRITE, new Object[] {"write", 3}), Map.entry(Syscalls.OPEN, new Object[] {"open", 3}),
            Map.entry(Syscalls.CLOSE, new Object[] {"close", 1}), Map.entry(Syscalls.TIME, new Object[] {"time", 1}),
            Map.entry(Syscalls.LSEEK, new Object[] {"lseek", 3}), Map.entry(Syscalls.GETPID, new Object[] {"getpid", 0}),
            Map.entry(Syscalls.GETUID, new Object[] {"getuid", 0}), Map.entry(Syscalls.KILL, new Object[] {"kill", 2}),
            Map.entry(Syscalls.BRK, new Object[] {"brk", 1}), Map.entry(Syscalls.GETGID, new Object[] {"getgid", 0}),
            Map.entry(Syscalls.GETEUID, new Object[] {"geteuid", 0}), Map.entry(Syscalls.GETEGID, new Object[] {"getegid", 0}),
            Map.entry(Syscalls.IOCTL, new Object[] {"ioctl", 3}), Map.entry(Syscalls.GETPPID, new Object[] {"getppid", 0}),
            Map.entry(Syscalls.GETRLIMIT, new Object[] {"getrlimit", 2}), Map.entry(Syscalls.GETTIMEOFDAY, new Object[] {"gettimeofday", 2}),
            Map.entry(Syscalls.READLINK, new Object[] {"readlink", 3}), Map.entry(Syscalls.MMAP, new Object[] {"mmap", 1}),
            Map.entry(Syscalls.MUNMAP, new Object[] {"munmap", 2}), Map.entry(Syscalls.UNAME, new Object[] {"uname", 1}),
            Map.entry(Syscalls.MPROTECT, new Object[] {"mprotect", 3}), Map.entry(Syscalls.LLSEEK, new Object[] {"_llseek", 5}),
            Map.entry(Syscalls.READV, new Object[] {"readv", 3}), Map.entry(Syscalls.WRITEV, new Object[] {"writev", 3}),
            Map.entry(Syscalls.RT_SIGACTION, new Object[] {"rt_sigaction", 4}), Map.entry(Syscalls.RT_SIGPROCMASK, new Object[] {"rt_sigprocmask", 4}),
            Map.entry(Syscalls.UGETRLIMIT, new Object[] {"ugetrlimit", 2}), Map.entry(Syscalls.MMAP2, new Object[] {"mmap2", 6}),
            Map.entry(Syscalls.STAT64, new Object[] {"stat64", 2}), Map.entry(Syscalls.LSTAT64, new Object[] {"lstat64", 2}),
            Map.entry(Syscalls.FSTAT64, new Object[] {"fstat64", 2}), Map.entry(Syscalls.GETUID32, new Object[] {"getuid32", 0}),
            Map.entry(Syscalls.GETGID32, new Object[] {"getgid32", 0}), Map.entry(Syscalls.GETEUID32, new Object[] {"geteuid32", 0}),
            Map.entry(Syscalls.GETEGID32, new Object[] {"getegid32", 0}), Map.entry(Syscalls.MADVISE, new Object[] {"madvise", 3}),
            Map.entry(Syscalls.FCNTL64, new Object[] {"fcntl64", 3}), Map.entry(Syscalls.GETTID, new Object[] {"gettid", 0}),
            Map.entry(Syscalls.TKILL, new Object[] {"tkill", 2}), Map.entry(Syscalls.SET_THREAD_AREA, new Object[] {"set_thread_area", 1}),
            Map.entry(Syscalls.GET_THREAD_AREA, new Object[] {"get_thread_area", 1}), Map.entry(Syscalls.EXIT_GROUP, new Object[] {"exit_group", 1}),
            Map.entry(Syscalls.SET_TID_ADDRESS, new Object[] {"set_tid_address", 1}), Map.entry(Syscalls.CLOCK_GETTIME, new Object[] {"clock_gettime", 2}),
            Map.entry(Syscalls.CLOCK_GETRES, new Object[] {"clock_getres", 2}), Map.entry(Syscalls.TGKILL, new Object[] {"tgkill", 3}),
            Map.entry(Syscalls.OPENAT, new Object[] {"openat", 4}), Map.entry(Syscalls.FSTATAT64, new Object[] {"fstatat64", 4}),
            Map.entry(Syscalls.READLINKAT, new Object[] {"readlinkat", 4}), Map.entry(Syscalls.SET_ROBUST_LIST, new Object[] {"set_robust_list", 2}),
            Map.entry(Syscalls.PRLIMIT64, new Object[] {"prlimit64", 4}), Map.entry(Syscalls.GETRANDOM, new Object[] {"getrandom", 3}),
            Map.entry(Syscalls.STATX, new Object[] {"statx", 5}), Map.entry(Syscalls.RSEQ, new Object[] {"rseq", 4}),
            Map.entry(Syscalls.CLOCK_GETTIME64, new Object[] {"clock_gettime64", 2}),
            Map.entry(Syscalls.SIGRETURN, new Object[] {"sigreturn", 0}), Map.entry(Syscalls.RT_SIGRETURN, new Object[] {"rt_sigreturn", 0}),
            Map.entry(Syscalls.SIGALTSTACK, new Object[] {"sigaltstack", 2}),
            Map.entry(Syscalls.GETCWD, new Object[] {"getcwd", 2}), Map.entry(Syscalls.ACCESS, new Object[] {"access", 2}),
            Map.entry(Syscalls.FACCESSAT, new Object[] {"faccessat", 3}), Map.entry(Syscalls.NANOSLEEP, new Object[] {"nanosleep", 2}),
            Map.entry(Syscalls.SCHED_YIELD, new Object[] {"sched_yield", 0}),
            Map.entry(Syscalls.CLOCK_NANOSLEEP, new Object[] {"clock_nanosleep", 4}),
            Map.entry(Syscalls.CLOCK_NANOSLEEP_TIME64, new Object[] {"clock_nanosleep_time64", 4}),
            Map.entry(Syscalls.CLOCK_GETRES_TIME64, new Object[] {"clock_getres_time64", 2}),
            Map.entry(Syscalls.FORK, new Object[] {"fork", 0}),
            Map.entry(Syscalls.VFORK, new Object[] {"vfork", 0}),
            Map.entry(Syscalls.CLONE, new Object[] {"clone", 5}),
            Map.entry(Syscalls.EXECVE, new Object[] {"execve", 3}),
            Map.entry(Syscalls.WAITPID, new Object[] {"waitpid", 3}),
            Map.entry(Syscalls.WAIT4, new Object[] {"wait4", 4}),
            Map.entry(Syscalls.WAITID, new Object[] {"waitid", 5}),
            Map.entry(Syscalls.GETPGID, new Object[] {"getpgid", 1}),
            Map.entry(Syscalls.SETPGID, new Object[] {"setpgid", 2}),
            Map.entry(Syscalls.GETPGRP, new Object[] {"getpgrp", 0}),
            Map.entry(Syscalls.SETSID, new Object[] {"setsid", 0}),
            Map.entry(Syscalls.GETSID, new Object[] {"getsid", 1}),
            Map.entry(Syscalls.PIPE, new Object[] {"pipe", 1}),
            Map.entry(Syscalls.PIPE2, new Object[] {"pipe2", 2}),
            Map.entry(Syscalls.DUP, new Object[] {"dup", 1}),
            Map.entry(Syscalls.DUP2, new Object[] {"dup2", 2}),
            Map.entry(Syscalls.DUP3, new Object[] {"dup3", 3}),
            Map.entry(Syscalls.FCNTL, new Object[] {"fcntl", 3}),
            Map.entry(Syscalls.FUTEX, new Object[] {"futex", 6}),
            Map.entry(Syscalls.FUTEX_TIME64, new Object[] {"futex_time64", 6}),
            Map.entry(Syscalls.POLL, new Object[] {"poll", 3}),
            Map.entry(Syscalls.PPOLL, new Object[] {"ppoll", 5}),
            Map.entry(Syscalls.NEWSELECT, new Object[] {"_newselect", 5}),
            Map.entry(Syscalls.PSELECT6, new Object[] {"pselect6", 6}),
            Map.entry(Syscalls.RT_SIGSUSPEND, new Object[] {"rt_sigsuspend", 2}),
            Map.entry(Syscalls.CHDIR, new Object[] {"chdir", 1}),
            Map.entry(Syscalls.FCHDIR, new Object[] {"fchdir", 1}),
            Map.entry(Syscalls.UMASK, new Object[] {"umask", 1}),
            Map.entry(Syscalls.MKDIR, new Object[] {"mkdir", 2}),
            Map.entry(Syscalls.RMDIR, new Object[] {"rmdir", 1}),
            Map.entry(Syscalls.UNLINK, new Object[] {"unlink", 1}),
            Map.entry(Syscalls.UNLINKAT, new Object[] {"unlinkat", 3}),
            Map.entry(Syscalls.RENAME, new Object[] {"rename", 2}),
            Map.entry(Syscalls.RENAMEAT2, new Object[] {"renameat2", 5}),
            Map.entry(Syscalls.LINK, new Object[] {"link", 2}),
            Map.entry(Syscalls.SYMLINK, new Object[] {"symlink", 2}),
            Map.entry(Syscalls.CHMOD, new Object[] {"chmod", 2}),
            Map.entry(Syscalls.FCHMOD, new Object[] {"fchmod", 2}),
            Map.entry(Syscalls.FCHMODAT, new Object[] {"fchmodat", 3}),
            Map.entry(Syscalls.FCHOWNAT, new Object[] {"fchownat", 5}),
            Map.entry(Syscalls.UTIMENSAT, new Object[] {"utimensat", 4}),
            Map.entry(Syscalls.UTIMENSAT_TIME64, new Object[] {"utimensat_time64", 4}),
            Map.entry(Syscalls.GETDENTS64, new Object[] {"getdents64", 3}),
            Map.entry(Syscalls.FTRUNCATE64, new Object[] {"ftruncate64", 3}),
            Map.entry(Syscalls.PREAD64, new Object[] {"pread64", 5}),
            Map.entry(Syscalls.PWRITE64, new Object[] {"pwrite64", 5}),
            Map.entry(Syscalls.ALARM, new Object[] {"alarm", 1}),
            Map.entry(Syscalls.SETITIMER, new Object[] {"setitimer", 3}),
            Map.entry(Syscalls.GETITIMER, new Object[] {"getitimer", 2}),
            Map.entry(Syscalls.TIMER_CREATE, new Object[] {"timer_create", 3}),
            Map.entry(Syscalls.TIMER_SETTIME, new Object[] {"timer_settime", 4}),
            Map.entry(Syscalls.TIMER_DELETE, new Object[] {"timer_delete", 1}),
            Map.entry(Syscalls.TRUNCATE, new Object[] {"truncate", 2}),
            Map.entry(Syscalls.TIMES, new Object[] {"times", 1}));
    /** Which argument of these calls is a path, printed as a quoted string. */
    private static final Map<Integer, Integer> PATH_ARGUMENT = Map.of(Syscalls.OPEN, 0, Syscalls.OPENAT, 1,
            Syscalls.READLINK, 0, Syscalls.READLINKAT, 1, Syscalls.STAT64, 0, Syscalls.LSTAT64, 0,
            Syscalls.FSTATAT64, 1, Syscalls.STATX, 1, Syscalls.ACCESS, 0, Syscalls.FACCESSAT, 1)
            .entrySet().stream().collect(java.util.stream.Collectors.collectingAndThen(java.util.stream.Collectors.toMap(
                    Map.Entry::getKey, Map.Entry::getValue, (x, y) -> x, java.util.HashMap::new), m -> {
                        m.put(Syscalls.EXECVE, 0);
                        m.put(Syscalls.CHDIR, 0);
                        m.put(Syscalls.MKDIR, 0);
                        m.put(Syscalls.RMDIR, 0);
                        m.put(Syscalls.UNLINK, 0);
                        m.put(Syscalls.UNLINKAT, 1);
                        m.put(Syscalls.CHMOD, 0);
                        return Map.copyOf(m);
                    }));

    /** Calls whose first argument is a number (descriptor, status, resource, clock), printed in decimal. */
    private static final java.util.Set<Integer> DECIMAL_FIRST = java.util.Set.of(Syscalls.EXIT, Syscalls.EXIT_GROUP,
            Syscalls.READ, Syscalls.WRITE, Syscalls.CLOSE, Syscalls.LSEEK, Syscalls.LLSEEK, Syscalls.IOCTL, Syscalls.READV,
            Syscalls.WRITEV, Syscalls.FSTAT64, Syscalls.FCNTL64, Syscalls.OPENAT, Syscalls.FSTATAT64, Syscalls.READLINKAT,
            Syscalls.STATX, Syscalls.KILL, Syscalls.TKILL, Syscalls.TGKILL, Syscalls.GETRLIMIT, Syscalls.UGETRLIMIT,
            Syscalls.PRLIMIT64, Syscalls.CLOCK_GETTIME, Syscalls.CLOCK_GETTIME64, Syscalls.CLOCK_GETRES,
            Syscalls.CLOCK_GETRES_TIME64, Syscalls.RT_SIGACTION, Syscalls.RT_SIGPROCMASK);

    private final PrintStream out;
    private final int pid;

    Strace(PrintStream out, int pid) {
        this.out = out;
        this.pid = pid;
    }

    void enter(int nr, long[] args, GuestMemory memory) {
        String socketLine = ExtendedStrace.enter(nr, args, memory); // sockets, memory...: QEMU's own shapes
        if (socketLine != null) {
            out.print(pid + " " + socketLine);
            return;
        }
        Object[] call = CALLS.get(nr);
        if (call == null) {
            out.println(pid + " Unknown syscall " + nr);
            return;
        }
        StringBuilder line = new StringBuilder().append(pid).append(' ').append(call[0]).append('(');
        int count = (Integer) call[1];
        Integer pathIndex = PATH_ARGUMENT.get(nr);
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                line.append(',');
            }
            if (pathIndex != null && pathIndex == i) {
                line.append(quoted(memory, args[i]));
            } else {
                line.append(i == 0 && DECIMAL_FIRST.contains(nr) ? Long.toString((int) args[i]) : "0x" + Long.toHexString(args[i]));
            }
        }
        out.print(line.append(')'));
    }

    void exit(int nr, long result) {
        if (!CALLS.containsKey(nr) && !ExtendedStrace.handles(nr)) {
            return;
        }
        if (nr == Syscalls.EXIT || nr == Syscalls.EXIT_GROUP) {
            out.println();
            return;
        }
        if (result < 0 && result > -4096) {
            out.println(" = -1 errno=" + -result);
        } else {
            out.println(" = " + (nr == Syscalls.BRK || nr == Syscalls.MMAP2 || nr == Syscalls.MMAP ? "0x" + Long.toHexString(result) : result));
        }
    }

    private static String quoted(GuestMemory memory, long address) {
        try {
            return '"' + memory.readCString(address, 4096) + '"';
        } catch (GuestMemory.Fault f) {
            return "0x" + Long.toHexString(address);
        }
    }
}
