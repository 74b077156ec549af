package org.jqemu.linuxuser;

/** Flag and command values of open(2), fcntl(2) and poll(2), the same on i386 and the x86_64 host. */
final class Fcntl {
    static final int O_ACCMODE = 3, O_CREAT = 0100, O_APPEND = 02000, O_NONBLOCK = 04000, O_DIRECTORY = 0200000,
            O_CLOEXEC = 02000000, O_PATH = 010000000, O_LARGEFILE = 0100000;
    static final int F_DUPFD = 0, F_GETFD = 1, F_SETFD = 2, F_GETFL = 3, F_SETFL = 4, F_DUPFD_CLOEXEC = 1030;
    static final int FD_CLOEXEC = 1;
    static final int POLLIN = 1, POLLPRI = 2, POLLOUT = 4, POLLERR = 8, POLLHUP = 16, POLLNVAL = 32;

    private Fcntl() { }
}
