package org.jqemu.linuxuser;

/** Linux errno values (the same on i386 and the host), returned negated by system calls. */
final class Errno {
    static final int EPERM = 1, ENOENT = 2, ESRCH = 3, EINTR = 4, EIO = 5, EBADF = 9, ECHILD = 10, EAGAIN = 11,
            ENOMEM = 12, E2BIG = 7, ENOEXEC = 8, EPIPE = 32, EACCES = 13, EFAULT = 14, EEXIST = 17, ENODEV = 19, ENOTDIR = 20, EISDIR = 21,
            EINVAL = 22, EMFILE = 24, ENOTTY = 25, ESPIPE = 29, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38;

    private Errno() { }
}
