package org.jqemu.linuxuser;

import java.util.Map;

/**
 * -strace lines for the socket calls in QEMU 7.2's shape: socketcall's sub-calls print in capitals as QEMU
 * prints them (SOCKET(PF_INET,SOCK_STREAM,IPPROTO_IP), CONNECT(3,{sin_family=AF_INET,sin_port=htons(80),
 * sin_addr=inet_addr("127.0.0.1")}, 16,); shutdown in lower case as QEMU has it), the direct i386 calls under their own lower-case names with the
 * same arguments. Buffers the call fills are shown by address (QEMU shows their stale contents).
 */
final class SocketStrace {
    private static final int MAX_SHOWN = 40;
    private static final String[] SOCKETCALL_NAMES = {null, "SOCKET", "BIND", "CONNECT", "LISTEN", "ACCEPT",
            "GETSOCKNAME", "GETPEERNAME", "SOCKETPAIR", "SEND", "RECV", "SENDTO", "RECVFROM", "shutdown",
            "SETSOCKOPT", "GETSOCKOPT", "SENDMSG", "RECVMSG", "ACCEPT4"};
    private static final int[] SOCKETCALL_ARGS = {0, 3, 3, 3, 2, 3, 3, 3, 4, 4, 4, 6, 6, 2, 5, 5, 3, 3, 4};
    /** Direct system call number → the socketcall number whose arguments it takes. */
    private static final Map<Integer, Integer> DIRECT = Map.ofEntries(Map.entry(Sockets.SOCKET, 1),
            Map.entry(Sockets.BIND, 2), Map.entry(Sockets.CONNECT, 3), Map.entry(Sockets.LISTEN, 4),
            Map.entry(Sockets.GETSOCKNAME, 6), Map.entry(Sockets.GETPEERNAME, 7), Map.entry(Sockets.SOCKETPAIR, 8),
            Map.entry(Sockets.SENDTO, 11), Map.entry(Sockets.RECVFROM, 12), Map.entry(Sockets.SHUTDOWN, 13),
            Map.entry(Sockets.SETSOCKOPT, 14), Map.entry(Sockets.GETSOCKOPT, 15), Map.entry(Sockets.SENDMSG, 16),
            Map.entry(Sockets.RECVMSG, 17), Map.entry(Sockets.ACCEPT4, 18));
    private static final String[] SOCKET_OPTIONS = {null, "SO_DEBUG", "SO_REUSEADDR", "SO_TYPE", "SO_ERROR",
            "SO_DONTROUTE", "SO_BROADCAST", "SO_SNDBUF", "SO_RCVBUF", "SO_KEEPALIVE", "SO_OOBINLINE", "SO_NO_CHECK",
            "SO_PRIORITY", "SO_LINGER", "SO_BSDCOMPAT", "SO_REUSEPORT", "SO_PASSCRED", "SO_PEERCRED", "SO_RCVLOWAT",
            "SO_SNDLOWAT", "SO_RCVTIMEO", "SO_SNDTIMEO"};

    private SocketStrace() { }

    /** Whether this call number prints here. */
    static boolean handles(int nr) {
        return nr == Sockets.SOCKETCALL || DIRECT.containsKey(nr);
    }

    /** The line for a call being entered (without pid and result), or null when it is not a socket call. */
    static String enter(int nr, long[] args, GuestMemory memory) {
        try {
            if (nr == Sockets.SOCKETCALL) {
                int call = (int) args[0];
                if (call < 1 || call >= SOCKETCALL_NAMES.length) {
                    return "socketcall(" + call + ",0x" + Long.toHexString(args[1]) + ")";
                }
                long[] v = new long[6];
                for (int i = 0; i < SOCKETCALL_ARGS[call]; i++) {
                    v[i] = memory.readInt(args[1] + 4L * i) & 0xffff_ffffL;
                }
                return format(SOCKETCALL_NAMES[call], call, v, memory);
            }
            Integer call = DIRECT.get(nr);
            return call == null ? null : format(SOCKETCALL_NAMES[call].toLowerCase(java.util.Locale.ROOT), call, args, memory);
        } catch (GuestMemory.Fault f) {
            return "socketcall(" + args[0] + ",0x" + Long.toHexString(args[1]) + ")";
        }
    }

    private static String format(String name, int call, long[] a, GuestMemory memory) {
        int fd = (int) a[0];
        String args = switch (call) {
            case 1 -> family((int) a[0]) + "," + type((int) a[1]) + "," + protocol((int) a[2]);
            case 2, 3 -> fd + "," + address(memory, a[1], a[2]) + ", " + a[2] + ",";
            case 4 -> fd + "," + (int) a[1];
            case 13 -> fd + "," + switch ((int) a[1]) { // QEMU prints this one in lower case, with the name of how
                case 0 -> "SHUT_RD";
                case 1 -> "SHUT_WR";
                case 2 -> "SHUT_RDWR";
                default -> Integer.toString((int) a[1]);
            };
            case 5, 18 -> fd + "," + hex(a[1]) + "," + hex(a[2]) + (call == 18 ? "," + (int) a[3] : "");
            case 6, 7 -> fd + "," + hex(a[1]) + ",, " + a[2] + ",";
            case 8 -> family((int) a[0]) + "," + type((int) a[1]) + "," + protocol((int) a[2]) + "," + hex(a[3]);
            case 9 -> fd + "," + data(memory, a[1], a[2]) + "," + a[2] + "," + (int) a[3];
            case 10 -> fd + "," + hex(a[1]) + "," + a[2] + "," + (int) a[3];
            case 11 -> fd + "," + data(memory, a[1], a[2]) + "," + a[2] + "," + (int) a[3] + "," + address(memory, a[4], a[5])
                    + ", " + a[5] + ",";
            case 12 -> fd + "," + hex(a[1]) + "," + a[2] + "," + (int) a[3] + "," + hex(a[4]) + ",, " + a[5] + ",";
            case 14 -> fd + "," + level((int) a[1]) + "," + option((int) a[1], (int) a[2]) + ","
                    + optionValue(memory, (int) a[1], (int) a[2], a[3], a[4]) + "," + a[4];
            case 15 -> fd + "," + level((int) a[1]) + "," + option((int) a[1], (int) a[2]) + "," + hex(a[3]) + "," + a[4];
            default -> fd + "," + hex(a[1]) + "," + (int) a[2]; // sendmsg, recvmsg
        };
        return name + "(" + args + ")";
    }

    private static String hex(long v) { return "0x" + Long.toHexString(v); }

    static String family(int f) {
        return switch (f) {
            case 1 -> "PF_UNIX";
            case 2 -> "PF_INET";
            case 10 -> "PF_INET6";
            case 16 -> "PF_NETLINK";
            default -> Integer.toString(f);
        };
    }

    static String type(int t) {
        String base = switch (t & 0xf) {
            case 1 -> "SOCK_STREAM";
            case 2 -> "SOCK_DGRAM";
            case 3 -> "SOCK_RAW";
            case 5 -> "SOCK_SEQPACKET";
            default -> Integer.toString(t & 0xf);
        };
        return base + ((t & 02000000) != 0 ? "|SOCK_CLOEXEC" : "") + ((t & 04000) != 0 ? "|SOCK_NONBLOCK" : "");
    }

    private static String protocol(int p) {
        return switch (p) {
            case 0 -> "IPPROTO_IP";
            case 6 -> "IPPROTO_TCP";
            case 17 -> "IPPROTO_UDP";
            default -> Integer.toString(p);
        };
    }

    private static String level(int level) {
        return switch (level) {
            case 1 -> "SOL_SOCKET";
            case 0 -> "SOL_IP";
            case 6 -> "SOL_TCP";
            case 17 -> "SOL_UDP";
            case 41 -> "SOL_IPV6";
            default -> Integer.toString(level);
        };
    }

    private static String option(int level, int option) {
        return level == 1 && option > 0 && option < SOCKET_OPTIONS.length ? SOCKET_OPTIONS[option] : Integer.toString(option);
    }

    private static String optionValue(GuestMemory memory, int level, int option, long value, long length) {
        if (level == 1 && (option == 20 || option == 21) && length >= 8) {
            return "{tv_sec = " + memory.readInt(value) + ",tv_usec = " + memory.readInt(value + 4) + "}";
        }
        if (level == 1 && length == 4) {
            return "[" + memory.readInt(value) + "]";
        }
        return hex(value);
    }

    /** A socket address as QEMU prints it. */
    static String address(GuestMemory memory, long address, long length) {
        if (address == 0) {
            return "NULL";
        }
        int family = memory.readByte(address) & 0xff | (memory.readByte(address + 1) & 0xff) << 8;
        if (family == 1) {
            return "{sun_family=AF_UNIX,sun_path=\"" + memory.readCString(address + 2, (int) Math.max(1, Math.min(108, length - 2)) + 1) + "\"}";
        }
        if (family == 2 && length >= 8) {
            int port = (memory.readByte(address + 2) & 0xff) << 8 | memory.readByte(address + 3) & 0xff;
            return "{sin_family=AF_INET,sin_port=htons(" + port + "),sin_addr=inet_addr(\"" + (memory.readByte(address + 4) & 0xff)
                    + "." + (memory.readByte(address + 5) & 0xff) + "." + (memory.readByte(address + 6) & 0xff) + "."
                    + (memory.readByte(address + 7) & 0xff) + "\")}";
        }
        return "{sa_family=" + family + "}";
    }

    /** Guest bytes as a C string literal the way QEMU prints them: octal escapes, at most 40 bytes then "...". */
    static String data(GuestMemory memory, long address, long length) {
        int n = (int) Math.min(length, MAX_SHOWN);
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < n; i++) {
            int c = memory.readByte(address + i) & 0xff;
            if (c == '"' || c == '\\') {
                b.append('\\').append((char) c);
            } else if (c >= 0x20 && c < 0x7f) {
                b.append((char) c);
            } else {
                b.append('\\').append(Integer.toOctalString(c));
            }
        }
        return b.append(length > MAX_SHOWN ? "\"..." : "\"").toString();
    }
}
