package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Sockets for the guest, through socketcall(2) and i386's direct socket system calls, onto host sockets
 * opened through the host C library (FFM): a guest socket is a {@link HostFile}, so read, write, poll and
 * close need nothing special, and errors are the host kernel's errno. Layouts: socket addresses
 * (AF_UNIX, AF_INET, AF_INET6, AF_NETLINK), option values and flags are the same on i386 and x86_64 and pass
 * through as bytes; what differs is converted: struct msghdr and iovec (32-bit pointers), control messages
 * (4-byte against 8-byte cmsg_len and alignment; SCM_RIGHTS carries guest descriptors), and the
 * struct timeval of SO_RCVTIMEO/SO_SNDTIMEO.
 */
final class Sockets {
    /** What {@link #call} answers for numbers that are not socket calls. */
    static final long NOT_A_SOCKET_CALL = Long.MIN_VALUE;
    static final int SOCKETCALL = 102, SOCKET = 359, SOCKETPAIR = 360, BIND = 361, CONNECT = 362, LISTEN = 363,
            ACCEPT4 = 364, GETSOCKOPT = 365, SETSOCKOPT = 366, GETSOCKNAME = 367, GETPEERNAME = 368, SENDTO = 369,
            SENDMSG = 370, RECVFROM = 371, RECVMSG = 372, SHUTDOWN = 373;
    static final int ENOTSOCK = 88, EOPNOTSUPP = 95, EAFNOSUPPORT = 97;
    /** socketcall's call numbers (linux/net.h) and how many argument words each reads from the guest. */
    private static final int SYS_SOCKET = 1, SYS_BIND = 2, SYS_CONNECT = 3, SYS_LISTEN = 4, SYS_ACCEPT = 5,
            SYS_GETSOCKNAME = 6, SYS_GETPEERNAME = 7, SYS_SOCKETPAIR = 8, SYS_SEND = 9, SYS_RECV = 10,
            SYS_SENDTO = 11, SYS_RECVFROM = 12, SYS_SHUTDOWN = 13, SYS_SETSOCKOPT = 14, SYS_GETSOCKOPT = 15,
            SYS_SENDMSG = 16, SYS_RECVMSG = 17, SYS_ACCEPT4 = 18;
    private static final int[] SOCKETCALL_ARGS = {0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4};
    private static final int AF_UNIX = 1, AF_INET = 2, AF_INET6 = 10, AF_NETLINK = 16;
    private static final int SOL_SOCKET = 1, SO_RCVTIMEO = 20, SO_SNDTIMEO = 21, SCM_RIGHTS = 1;
    private static final int MSG_DONTWAIT = 0x40;
    private static final int MAX_ADDRESS = 128; // sizeof(struct sockaddr_storage)
    private static final int MAX_OPTION = 4096;
    private static final int MAX_TRANSFER = 1 << 20;
    private static final int MAX_IOV = 1024;
    private static final int GUEST_MSGHDR = 28, HOST_MSGHDR = 56;
    private static final int GUEST_CMSG_HEADER = 12, HOST_CMSG_HEADER = 16;
    private static final int MAX_CONTROL = 4096;
    private static final int EPIPE = 32, MSG_NOSIGNAL = 0x4000;
    /** SOCK_CLOEXEC in socket's type and accept4's flags (O_CLOEXEC's value on i386 and x86_64). */
    private static final int SOCK_CLOEXEC = Fcntl.O_CLOEXEC;

    private final GuestProcess process;
    private final GuestMemory memory;
    private final GuestThread thread;

    Sockets(GuestThread thread) {
        this.thread = thread;
        this.process = thread.process;
        this.memory = process.memory;
    }

    long call(int nr, long[] a) {
        return switch (nr) {
            case SOCKETCALL -> socketcall((int) a[0], a[1]);
            case SOCKET -> socket((int) a[0], (int) a[1], (int) a[2]);
            case SOCKETPAIR -> socketpair((int) a[0], (int) a[1], (int) a[2], a[3]);
            case BIND -> withAddress(HostOs.BIND, (int) a[0], a[1], a[2]);
            case CONNECT -> withAddress(HostOs.CONNECT, (int) a[0], a[1], a[2]);
            case LISTEN -> simple(HostOs.LISTEN, (int) a[0], (int) a[1]);
            case ACCEPT4 -> accept((int) a[0], a[1], a[2], (int) a[3]);
            case GETSOCKNAME -> name(HostOs.GETSOCKNAME, (int) a[0], a[1], a[2]);
            case GETPEERNAME -> name(HostOs.GETPEERNAME, (int) a[0], a[1], a[2]);
            case SENDTO -> sendto((int) a[0], a[1], a[2], (int) a[3], a[4], a[5]);
            case RECVFROM -> recvfrom((int) a[0], a[1], a[2], (int) a[3], a[4], a[5]);
            case SENDMSG -> sendmsg((int) a[0], a[1], (int) a[2]);
            case RECVMSG -> recvmsg((int) a[0], a[1], (int) a[2]);
            case SHUTDOWN -> simple(HostOs.SHUTDOWN, (int) a[0], (int) a[1]);
            case SETSOCKOPT -> setsockopt((int) a[0], (int) a[1], (int) a[2], a[3], a[4]);
            case GETSOCKOPT -> getsockopt((int) a[0], (int) a[1], (int) a[2], a[3], a[4]);
            default -> NOT_A_SOCKET_CALL;
        };
    }

    /** socketcall(call, args): the arguments are words in guest memory; each call goes to its direct form. */
    private long socketcall(int call, long args) {
        if (call < SYS_SOCKET || call > SYS_ACCEPT4) {
            return -Errno.EINVAL;
        }
        long[] v = new long[6];
        for (int i = 0; i < SOCKETCALL_ARGS[call]; i++) {
            v[i] = memory.readInt(args + 4L * i) & 0xffff_ffffL;
        }
        return switch (call) {
            case SYS_SOCKET -> call(SOCKET, v);
            case SYS_BIND -> call(BIND, v);
            case SYS_CONNECT -> call(CONNECT, v);
            case SYS_LISTEN -> call(LISTEN, v);
            case SYS_ACCEPT -> accept((int) v[0], v[1], v[2], 0);
            case SYS_GETSOCKNAME -> call(GETSOCKNAME, v);
            case SYS_GETPEERNAME -> call(GETPEERNAME, v);
            case SYS_SOCKETPAIR -> call(SOCKETPAIR, v);
            case SYS_SEND -> sendto((int) v[0], v[1], v[2], (int) v[3], 0, 0);
            case SYS_RECV -> recvfrom((int) v[0], v[1], v[2], (int) v[3], 0, 0);
            case SYS_SENDTO -> call(SENDTO, v);
            case SYS_RECVFROM -> call(RECVFROM, v);
            case SYS_SHUTDOWN -> call(SHUTDOWN, v);
            case SYS_SETSOCKOPT -> call(SETSOCKOPT, v);
            case SYS_GETSOCKOPT -> call(GETSOCKOPT, v);
            case SYS_SENDMSG -> call(SENDMSG, v);
            case SYS_RECVMSG -> call(RECVMSG, v);
            default -> call(ACCEPT4, v);
        };
    }

    /** The host descriptor of a guest socket, or -errno (a descriptor jqemu models in the JVM is no socket). */
    private int host(int fd) {
        GuestFile f = process.files.get(fd);
        if (f == null) {
            return -Errno.EBADF;
        }
        return f instanceof HostFile h ? h.fd() : -ENOTSOCK;
    }

    /**
     * Gives a new host descriptor a guest number in the process's {@link FdTable} (so fork shares it, dup copies
     * it and execve closes it when {@code cloexec}); closes it when the table is full.
     */
    private long install(long hostFd, boolean cloexec) {
        if (hostFd < 0) {
            return hostFd;
        }
        HostFile file = new HostFile((int) hostFd, true);
        int slot = process.files.install(file, 0, cloexec);
        if (slot < 0) {
            file.close();
        }
        return slot;
    }

    /** A descriptor received with SCM_RIGHTS: a file in the JVM when it is a placeholder, else the host descriptor itself. */
    private long receive(int hostFd) {
        GuestFile inJvm = InFlightFiles.claim(hostFd);
        if (inJvm == null) {
            return install(hostFd, false);
        }
        HostOs.close(hostFd);
        return process.files.installHeld(inJvm, false);
    }

    private long socket(int domain, int type, int protocol) {
        if (domain != AF_UNIX && domain != AF_INET && domain != AF_INET6 && domain != AF_NETLINK) {
            return -EAFNOSUPPORT;
        }
        // the host descriptor is always close-on-exec (the JVM's own children must not get it); the guest's flag is the table's
        return install(HostOs.call(HostOs.SOCKET, domain, type | SOCK_CLOEXEC, protocol), (type & SOCK_CLOEXEC) != 0);
    }

    private long socketpair(int domain, int type, int protocol, long pair) {
        if (domain != AF_UNIX) {
            return -EOPNOTSUPP;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(8, 4);
            long r = HostOs.call(HostOs.SOCKETPAIR, domain, type | SOCK_CLOEXEC, protocol, fds);
            if (r < 0) {
                return r;
            }
            boolean cloexec = (type & SOCK_CLOEXEC) != 0;
            long first = install(fds.get(ValueLayout.JAVA_INT, 0), cloexec);
            long second = first < 0 ? first : install(fds.get(ValueLayout.JAVA_INT, 4), cloexec);
            if (first < 0 || second < 0) {
                if (first < 0) {
                    HostOs.close(fds.get(ValueLayout.JAVA_INT, 4));
                } else {
                    process.files.close((int) first);
                }
                return -Errno.EMFILE;
            }
            memory.userWriteInt(pair, (int) first);
            memory.userWriteInt(pair + 4, (int) second);
            return 0;
        }
    }

    private long simple(HostOs.Function function, int fd, int argument) {
        int h = host(fd);
        return h < 0 ? h : HostOs.call(function, h, argument);
    }

    /** bind and connect: the socket address is copied as bytes (its layout is the host's). */
    private long withAddress(HostOs.Function function, int fd, long address, long length) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        if (length > MAX_ADDRESS || (int) length < 0) {
            return -Errno.EINVAL;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocateFrom(ValueLayout.JAVA_BYTE, memory.read(address, (int) length));
            return HostOs.call(function, h, length == 0 ? MemorySegment.NULL : sa, (int) length);
        }
    }

    /** A native sockaddr buffer and its socklen for a call that returns an address (null guest pointer: none). */
    private record AddressOut(MemorySegment buffer, MemorySegment length, int guestLength) { }

    private AddressOut addressOut(Arena arena, long address, long lengthAddress) {
        if (address == 0) {
            return new AddressOut(MemorySegment.NULL, MemorySegment.NULL, 0);
        }
        int guestLength = memory.readInt(lengthAddress);
        if (guestLength < 0) {
            return null;
        }
        MemorySegment length = arena.allocate(4, 4);
        length.set(ValueLayout.JAVA_INT, 0, MAX_ADDRESS);
        return new AddressOut(arena.allocate(MAX_ADDRESS, 8), length, guestLength);
    }

    /** Copies a returned address to the guest, truncated to its buffer, and stores the full length as the kernel does. */
    private void addressBack(AddressOut out, long address, long lengthAddress) {
        if (address == 0) {
            return;
        }
        int actual = out.length.get(ValueLayout.JAVA_INT, 0);
        int n = Math.min(actual, out.guestLength);
        memory.userWrite(address, out.buffer.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE));
        memory.userWriteInt(lengthAddress, actual);
    }

    private long accept(int fd, long address, long lengthAddress, int flags) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        try (Arena arena = Arena.ofConfined()) {
            AddressOut out = addressOut(arena, address, lengthAddress);
            if (out == null) {
                return -Errno.EINVAL;
            }
            long ready = blockUntilReadable(h, 0);
            if (ready < 0) {
                return ready;
            }
            long r = HostOs.call(HostOs.ACCEPT4, h, out.buffer, out.length, flags | SOCK_CLOEXEC);
            if (r < 0) {
                return r;
            }
            long slot = install(r, (flags & SOCK_CLOEXEC) != 0);
            if (slot >= 0) {
                addressBack(out, address, lengthAddress);
            }
            return slot;
        }
    }

    private long name(HostOs.Function function, int fd, long address, long lengthAddress) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        try (Arena arena = Arena.ofConfined()) {
            AddressOut out = addressOut(arena, address, lengthAddress);
            if (out == null || address == 0) {
                return address == 0 ? -Errno.EFAULT : -Errno.EINVAL;
            }
            long r = HostOs.call(function, h, out.buffer, out.length);
            if (r >= 0) {
                addressBack(out, address, lengthAddress);
            }
            return r;
        }
    }

    private long sendto(int fd, long buffer, long length, int flags, long address, long addressLength) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        if (addressLength > MAX_ADDRESS || (int) addressLength < 0) {
            return -Errno.EINVAL;
        }
        int n = (int) Math.min(length, MAX_TRANSFER);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocateFrom(ValueLayout.JAVA_BYTE, memory.read(buffer, n));
            MemorySegment sa = address == 0 ? MemorySegment.NULL
                    : arena.allocateFrom(ValueLayout.JAVA_BYTE, memory.read(address, (int) addressLength));
            return brokenPipe(HostOs.call(HostOs.SENDTO, h, data, (long) n, flags, sa, address == 0 ? 0 : (int) addressLength), flags);
        }
    }

    private long recvfrom(int fd, long buffer, long length, int flags, long address, long lengthAddress) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        int n = (int) Math.min(length, MAX_TRANSFER);
        if (!memory.accessible(buffer, n, org.jqemu.memory.Page.WRITE)) {
            return -Errno.EFAULT;
        }
        try (Arena arena = Arena.ofConfined()) {
            AddressOut out = addressOut(arena, address, lengthAddress);
            if (out == null) {
                return -Errno.EINVAL;
            }
            long ready = blockUntilReadable(h, flags);
            if (ready < 0) {
                return ready;
            }
            MemorySegment data = arena.allocate(Math.max(n, 1));
            long r = HostOs.call(HostOs.RECVFROM, h, data, (long) n, flags, out.buffer, out.length);
            if (r >= 0) {
                memory.userWrite(buffer, data.asSlice(0, Math.min(r, n)).toArray(ValueLayout.JAVA_BYTE));
                addressBack(out, address, lengthAddress);
            }
            return r;
        }
    }

    /** The guest's iovec array: {base, length} pairs, 32-bit each. */
    private long[][] iovecs(long iov, long count) {
        if (count > MAX_IOV) {
            return null;
        }
        long[][] v = new long[(int) count][];
        for (int i = 0; i < count; i++) {
            v[i] = new long[] {memory.readInt(iov + 8L * i) & 0xffff_ffffL, memory.readInt(iov + 8L * i + 4) & 0xffff_ffffL};
        }
        return v;
    }

    private static long total(long[][] iov) {
        long sum = 0;
        for (long[] v : iov) {
            sum += v[1];
        }
        return Math.min(sum, MAX_TRANSFER);
    }

    /** sendmsg: the guest's data is gathered into one host buffer (one call keeps datagram boundaries). */
    private long sendmsg(int fd, long message, int flags) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        MsgHeader m = MsgHeader.read(memory, message);
        long[][] iov = iovecs(m.iov(), m.iovLength());
        if (iov == null || m.nameLength() < 0 || m.nameLength() > MAX_ADDRESS || m.controlLength() < 0
                || m.controlLength() > MAX_CONTROL) {
            return -Errno.EINVAL;
        }
        try (Arena arena = Arena.ofConfined()) {
            long size = total(iov);
            MemorySegment data = arena.allocate(Math.max(size, 1));
            long at = 0;
            for (long[] v : iov) {
                int n = (int) Math.min(v[1], size - at);
                MemorySegment.copy(memory.read(v[0], n), 0, data, ValueLayout.JAVA_BYTE, at, n);
                at += n;
            }
            java.util.List<InFlightFiles.Placeholder> placeholders = new java.util.ArrayList<>();
            MemorySegment hostControl = m.control() == 0 || m.controlLength() == 0 ? MemorySegment.NULL
                    : controlToHost(arena, memory.read(m.control(), m.controlLength()), placeholders);
            long r = -Errno.EBADF;
            if (hostControl != null) {
                MemorySegment msg = hostMessage(arena, m.name() == 0 ? MemorySegment.NULL
                        : arena.allocateFrom(ValueLayout.JAVA_BYTE, memory.read(m.name(), m.nameLength())),
                        m.name() == 0 ? 0 : m.nameLength(), data, size, hostControl);
                r = brokenPipe(HostOs.call(HostOs.SENDMSG, h, msg, flags), flags);
            }
            for (InFlightFiles.Placeholder p : placeholders) {
                HostOs.close(p.hostFd()); // the message holds its own reference to the memfd
                if (r < 0) {
                    InFlightFiles.cancel(p, process.files);
                }
            }
            return r;
        }
    }

    /**
     * EPIPE from a send also raises SIGPIPE in the sender unless MSG_NOSIGNAL, as Linux does: the host's
     * SIGPIPE went to the JVM (which ignores it), so the guest's is raised here.
     */
    private long brokenPipe(long result, int flags) {
        if (result == -EPIPE && (flags & MSG_NOSIGNAL) == 0) {
            thread.raiseSigpipe();
        }
        return result;
    }

    /** recvmsg: received into one host buffer, then scattered into the guest's iovecs. */
    private long recvmsg(int fd, long message, int flags) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        MsgHeader m = MsgHeader.read(memory, message);
        long[][] iov = iovecs(m.iov(), m.iovLength());
        if (iov == null || m.nameLength() < 0 || m.controlLength() < 0) {
            return -Errno.EINVAL;
        }
        for (long[] v : iov) {
            if (!memory.accessible(v[0], v[1], org.jqemu.memory.Page.WRITE)) {
                return -Errno.EFAULT;
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            long size = total(iov);
            MemorySegment data = arena.allocate(Math.max(size, 1));
            MemorySegment sa = arena.allocate(MAX_ADDRESS, 8);
            int hostControlSize = m.control() == 0 ? 0 : Math.min(MAX_CONTROL, m.controlLength() * 2);
            MemorySegment hostControl = hostControlSize == 0 ? MemorySegment.NULL : arena.allocate(hostControlSize, 8);
            MemorySegment msg = hostMessage(arena, m.name() == 0 ? MemorySegment.NULL : sa, m.name() == 0 ? 0 : MAX_ADDRESS,
                    data, size, hostControl);
            long ready = blockUntilReadable(h, flags);
            if (ready < 0) {
                return ready;
            }
            long r = HostOs.call(HostOs.RECVMSG, h, msg, flags);
            if (r < 0) {
                return r;
            }
            long at = 0;
            for (long[] v : iov) {
                if (at >= r) {
                    break;
                }
                int n = (int) Math.min(v[1], r - at);
                memory.userWrite(v[0], data.asSlice(at, n).toArray(ValueLayout.JAVA_BYTE));
                at += n;
            }
            if (m.name() != 0) {
                int actual = msg.get(ValueLayout.JAVA_INT, 8);
                memory.userWrite(m.name(), sa.asSlice(0, Math.min(actual, m.nameLength())).toArray(ValueLayout.JAVA_BYTE));
                memory.userWriteInt(message + 4, actual);
            }
            int hostControlLength = (int) msg.get(ValueLayout.JAVA_LONG, 40);
            byte[] guestControl = m.control() == 0 ? new byte[0]
                    : controlToGuest(hostControl.asSlice(0, hostControlLength).toArray(ValueLayout.JAVA_BYTE), m.controlLength());
            if (m.control() != 0) {
                memory.userWrite(m.control(), guestControl);
            }
            memory.userWriteInt(message + 20, guestControl.length);
            int hostFlags = msg.get(ValueLayout.JAVA_INT, 48);
            memory.userWriteInt(message + 24, guestControl.length < hostControlLength / 2 ? hostFlags | 0x8 : hostFlags); // MSG_CTRUNC
            return r;
        }
    }

    /**
     * Before a blocking accept or receive: waits in the thread's interruptible host poll, so a signal ends the
     * wait (-ERESTARTSYS: restarted under SA_RESTART, else EINTR, as Linux). Not for MSG_DONTWAIT, and not
     * when the socket has a receive time-out, which the host call keeps itself.
     */
    private long blockUntilReadable(int hostFd, int flags) {
        if ((flags & MSG_DONTWAIT) != 0 || hasReceiveTimeout(hostFd)) {
            return 0;
        }
        return thread.waitHostReadable(hostFd);
    }

    private static boolean hasReceiveTimeout(int hostFd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment timeval = arena.allocate(16, 8);
            MemorySegment length = arena.allocateFrom(ValueLayout.JAVA_INT, 16);
            long r = HostOs.call(HostOs.GETSOCKOPT, hostFd, SOL_SOCKET, SO_RCVTIMEO, timeval, length);
            return r == 0 && (timeval.get(ValueLayout.JAVA_LONG, 0) | timeval.get(ValueLayout.JAVA_LONG, 8)) != 0;
        }
    }

    /** The guest's struct msghdr (i386: 32-bit pointers and lengths), decoded once for sendmsg and recvmsg. */
    record MsgHeader(long name, int nameLength, long iov, long iovLength, long control, int controlLength) {
        static MsgHeader read(GuestMemory memory, long address) {
            return new MsgHeader(memory.readInt(address) & 0xffff_ffffL, memory.readInt(address + 4),
                    memory.readInt(address + 8) & 0xffff_ffffL, memory.readInt(address + 12) & 0xffff_ffffL,
                    memory.readInt(address + 16) & 0xffff_ffffL, memory.readInt(address + 20));
        }
    }

    /** struct msghdr (x86_64): name, namelen, iov (one iovec), iovlen, control, controllen, flags. */
    private static MemorySegment hostMessage(Arena arena, MemorySegment name, int nameLength, MemorySegment data, long size,
                                             MemorySegment control) {
        MemorySegment iov = arena.allocate(16, 8);
        iov.set(ValueLayout.ADDRESS, 0, data);
        iov.set(ValueLayout.JAVA_LONG, 8, size);
        MemorySegment msg = arena.allocate(HOST_MSGHDR, 8);
        msg.set(ValueLayout.ADDRESS, 0, name);
        msg.set(ValueLayout.JAVA_INT, 8, nameLength);
        msg.set(ValueLayout.ADDRESS, 16, iov);
        msg.set(ValueLayout.JAVA_LONG, 24, 1);
        msg.set(ValueLayout.ADDRESS, 32, control);
        msg.set(ValueLayout.JAVA_LONG, 40, control.byteSize());
        return msg;
    }

    private static int align(int n, int to) { return (n + to - 1) & -to; }

    /**
     * The host descriptor that carries guest descriptor {@code fd} in SCM_RIGHTS: its own for a host file, a
     * placeholder ({@link InFlightFiles}) for a file in the JVM; -1 for a closed descriptor.
     */
    private int passable(int fd, java.util.List<InFlightFiles.Placeholder> placeholders) {
        GuestFile f = process.files.get(fd);
        if (f instanceof HostFile h) {
            return h.fd();
        }
        InFlightFiles.Placeholder p = f == null ? null : InFlightFiles.send(f, process.files);
        if (p == null) {
            return -1;
        }
        placeholders.add(p);
        return p.hostFd();
    }

    /** Guest control messages (4-byte aligned, 12-byte headers) as the host's; SCM_RIGHTS numbers become host descriptors. */
    private MemorySegment controlToHost(Arena arena, byte[] guest, java.util.List<InFlightFiles.Placeholder> placeholders) {
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(guest).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int at = 0;
        while (at + GUEST_CMSG_HEADER <= guest.length) {
            int length = in.getInt(at);
            if (length < GUEST_CMSG_HEADER || at + length > guest.length) {
                break;
            }
            int level = in.getInt(at + 4), type = in.getInt(at + 8);
            byte[] payload = java.util.Arrays.copyOfRange(guest, at + GUEST_CMSG_HEADER, at + length);
            if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                java.nio.ByteBuffer fds = java.nio.ByteBuffer.wrap(payload).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i + 4 <= payload.length; i += 4) {
                    int h = passable(fds.getInt(i), placeholders);
                    if (h < 0) {
                        return null;
                    }
                    fds.putInt(i, h);
                }
            }
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(HOST_CMSG_HEADER).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            header.putLong(0, HOST_CMSG_HEADER + payload.length).putInt(8, level).putInt(12, type);
            out.writeBytes(header.array());
            out.writeBytes(payload);
            out.writeBytes(new byte[align(payload.length, 8) - payload.length]);
            at += align(length, 4);
        }
        return arena.allocateFrom(ValueLayout.JAVA_BYTE, out.toByteArray());
    }

    /** Host control messages in the guest's layout, at most {@code room} bytes; received descriptors get guest numbers. */
    private byte[] controlToGuest(byte[] host, int room) {
        java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(host).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        int at = 0;
        while (at + HOST_CMSG_HEADER <= host.length) {
            int length = (int) in.getLong(at);
            if (length < HOST_CMSG_HEADER || at + length > host.length) {
                break;
            }
            int level = in.getInt(at + 8), type = in.getInt(at + 12);
            byte[] payload = java.util.Arrays.copyOfRange(host, at + HOST_CMSG_HEADER, at + length);
            if (level == SOL_SOCKET && type == SCM_RIGHTS) {
                java.nio.ByteBuffer fds = java.nio.ByteBuffer.wrap(payload).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                for (int i = 0; i + 4 <= payload.length; i += 4) {
                    fds.putInt(i, (int) receive(fds.getInt(i)));
                }
            }
            int guestLength = GUEST_CMSG_HEADER + payload.length;
            if (out.size() + guestLength > room) {
                break;
            }
            java.nio.ByteBuffer header = java.nio.ByteBuffer.allocate(GUEST_CMSG_HEADER).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            header.putInt(0, guestLength).putInt(4, level).putInt(8, type);
            out.writeBytes(header.array());
            out.writeBytes(payload);
            out.writeBytes(new byte[Math.min(align(guestLength, 4) - guestLength, room - out.size())]);
            at += align(length, 8);
        }
        return out.toByteArray();
    }

    private static boolean isTimeval(int level, int name) {
        return level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO);
    }

    private long setsockopt(int fd, int level, int name, long value, long length) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        if ((int) length < 0 || length > MAX_OPTION) {
            return -Errno.EINVAL;
        }
        try (Arena arena = Arena.ofConfined()) {
            if (isTimeval(level, name)) {
                if (length < 8) {
                    return -Errno.EINVAL;
                }
                MemorySegment tv = arena.allocate(16, 8);
                tv.set(ValueLayout.JAVA_LONG, 0, memory.readInt(value));
                tv.set(ValueLayout.JAVA_LONG, 8, memory.readInt(value + 4));
                return HostOs.call(HostOs.SETSOCKOPT, h, level, name, tv, 16);
            }
            MemorySegment v = length == 0 ? MemorySegment.NULL
                    : arena.allocateFrom(ValueLayout.JAVA_BYTE, memory.read(value, (int) length));
            return HostOs.call(HostOs.SETSOCKOPT, h, level, name, v, (int) length);
        }
    }

    private long getsockopt(int fd, int level, int name, long value, long lengthAddress) {
        int h = host(fd);
        if (h < 0) {
            return h;
        }
        int guestLength = memory.readInt(lengthAddress);
        if (guestLength < 0) {
            return -Errno.EINVAL;
        }
        boolean timeval = isTimeval(level, name);
        int hostLength = timeval ? 16 : Math.min(guestLength, MAX_OPTION);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(Math.max(hostLength, 1), 8);
            MemorySegment length = arena.allocate(4, 4);
            length.set(ValueLayout.JAVA_INT, 0, hostLength);
            long r = HostOs.call(HostOs.GETSOCKOPT, h, level, name, v, length);
            if (r < 0) {
                return r;
            }
            byte[] out;
            if (timeval) {
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                b.putInt(0, (int) v.get(ValueLayout.JAVA_LONG, 0)).putInt(4, (int) v.get(ValueLayout.JAVA_LONG, 8));
                out = java.util.Arrays.copyOf(b.array(), Math.min(8, guestLength));
            } else {
                out = v.asSlice(0, Math.min(length.get(ValueLayout.JAVA_INT, 0), hostLength)).toArray(ValueLayout.JAVA_BYTE);
            }
            memory.userWrite(value, out);
            memory.userWriteInt(lengthAddress, timeval ? out.length : length.get(ValueLayout.JAVA_INT, 0));
            return r;
        }
    }
}
