package org.jqemu.system.chardev;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.StandardSocketOptions;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * QEMU's "socket" backend over TCP or a Unix socket, as a server (one client at a time; further clients
 * wait in the listen backlog until the current one leaves) or as a client, optionally speaking telnet.
 *
 * <p>Threads: a daemon acceptor accepts and reads each client in turn; a daemon writer per connection
 * sends what the guest wrote. The machine thread only appends to a bounded buffer ({@link #write}) and
 * signals the writer ({@link #flush}); it never waits for the network. With no client connected output is
 * dropped (as QEMU does); with a client that stops reading, output beyond {@link #OUTPUT_LIMIT} pending
 * bytes is dropped, so a stuck client never stalls the guest. A client leaving does not stop the guest;
 * a server then accepts the next one.
 */
public final class SocketChardev extends Chardev {
    /** Pending output per connection before bytes are dropped. */
    static final int OUTPUT_LIMIT = 1 << 16;
    private static final int READ_CHUNK = 4096;

    /** Where to listen or connect: a TCP host and port, or a Unix socket path. */
    public record Address(String host, String port, String path) {
        boolean unix() { return path != null; }

        String describe() { return unix() ? "unix:" + path : "tcp:" + host + ":" + port; }
    }

    private final Address address;
    private final boolean server;
    private final boolean telnet;
    private final Telnet.Decoder telnetInput = new Telnet.Decoder();
    private ServerSocketChannel listener;
    private volatile Connection connection;
    private volatile boolean closed;

    private SocketChardev(String id, Address address, boolean server, boolean telnet) {
        super(id);
        this.address = address;
        this.server = server;
        this.telnet = telnet;
    }

    /**
     * Opens the socket as QEMU does at start: a server binds and listens (with wait=on it blocks until the
     * first client, after printing QEMU's "waiting for connection" line through {@code info}); a client
     * connects. Errors carry QEMU's messages.
     */
    public static SocketChardev open(String id, Address address, boolean server, boolean wait, boolean telnet,
            Consumer<String> info) throws ChardevException {
        SocketChardev chardev = new SocketChardev(id, address, server, telnet);
        if (server) {
            chardev.listen();
            SocketChannel first = null;
            if (wait) {
                info.accept("info: QEMU waiting for connection on: disconnected:" + address.describe() + ",server=on");
                first = chardev.acceptOne();
            }
            chardev.startAcceptor(first);
        } else {
            chardev.startReader(chardev.connectOnce());
        }
        return chardev;
    }

    private void listen() throws ChardevException {
        SocketAddress where = resolve();
        try {
            if (address.unix()) {
                Files.deleteIfExists(Path.of(address.path()));
                listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
            } else {
                listener = ServerSocketChannel.open();
                listener.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            }
            listener.bind(where, 1);
        } catch (IOException e) {
            closeQuietly(listener);
            if (address.unix()) {
                throw new ChardevException("Failed to bind socket to " + address.path() + ": " + errno(e));
            }
            throw new ChardevException("Failed to find an available port: " + errno(e));
        }
    }

    private SocketAddress resolve() throws ChardevException {
        if (address.unix()) return UnixDomainSocketAddress.of(address.path());
        int port;
        try {
            port = Integer.parseInt(address.port());
            if (port < 0 || port > 65535) throw new NumberFormatException();
        } catch (NumberFormatException e) {
            throw new ChardevException("address resolution failed for " + address.host() + ":" + address.port()
                    + ": Servname not supported for ai_socktype");
        }
        try {
            InetAddress host = address.host().isEmpty() ? (server ? InetAddress.getByName("0.0.0.0") : InetAddress.getLoopbackAddress())
                    : InetAddress.getByName(address.host());
            return new InetSocketAddress(host, port);
        } catch (UnknownHostException e) {
            throw new ChardevException("address resolution failed for " + address.host() + ":" + address.port()
                    + ": Name or service not known");
        }
    }

    private SocketChannel connectOnce() throws ChardevException {
        SocketAddress where = resolve();
        try {
            SocketChannel channel = address.unix() ? SocketChannel.open(StandardProtocolFamily.UNIX) : SocketChannel.open();
            try {
                channel.connect(where);
            } catch (IOException e) {
                closeQuietly(channel);
                throw e;
            }
            return channel;
        } catch (IOException e) {
            String shown = address.unix() ? address.path() : address.host() + ":" + address.port();
            throw new ChardevException("Failed to connect to '" + shown + "': " + errno(e));
        }
    }

    /** The C library's wording for the common socket errors. */
    private static String errno(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("in use")) return "Address already in use";
        if (m.contains("refused")) return "Connection refused";
        if (m.contains("No such file")) return "No such file or directory";
        if (m.contains("denied")) return "Permission denied";
        return m;
    }

    private SocketChannel acceptOne() throws ChardevException {
        try {
            return listener.accept();
        } catch (IOException e) {
            throw new ChardevException("Failed to accept a connection: " + errno(e));
        }
    }

    /** Serves clients in turn; a first client accepted at start (wait=on) is attached already, so no output is lost. */
    private void startAcceptor(SocketChannel first) {
        Connection attached = first == null ? null : attach(first);
        Thread t = new Thread(() -> acceptLoop(first, attached), "chardev-" + id());
        t.setDaemon(true);
        t.start();
    }

    private void acceptLoop(SocketChannel first, Connection attached) {
        if (first != null) readUntilGone(first, attached);
        while (!closed) {
            SocketChannel next;
            try {
                next = listener.accept();
            } catch (IOException e) {
                return; // the listener was closed
            }
            readUntilGone(next, attach(next));
        }
    }

    /** A client: attached before open returns, so the guest's first output reaches the server. */
    private void startReader(SocketChannel channel) {
        Connection attached = attach(channel);
        Thread t = new Thread(() -> readUntilGone(channel, attached), "chardev-" + id());
        t.setDaemon(true);
        t.start();
    }

    /** Makes {@code channel} the current connection: output goes through its writer from now on. */
    private Connection attach(SocketChannel channel) {
        Connection c = new Connection(channel);
        try {
            if (!address.unix()) channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
        } catch (IOException e) {
            // only a latency hint
        }
        telnetInput.reset();
        if (telnet) c.enqueue(Telnet.SERVER_NEGOTIATION);
        connection = c;
        c.startWriter();
        opened();
        return c;
    }

    /** Reads one client until it leaves. */
    private void readUntilGone(SocketChannel channel, Connection c) {
        ByteBuffer in = ByteBuffer.allocate(READ_CHUNK);
        byte[] decoded = new byte[READ_CHUNK];
        try {
            while (channel.read(in.clear()) >= 0) {
                int n = in.position();
                if (!telnet) {
                    received(in.array(), 0, n);
                    continue;
                }
                int kept = telnetInput.decode(in.array(), n, decoded, this::receivedBreak);
                if (kept > 0) received(decoded, 0, kept);
            }
        } catch (IOException e) {
            // the client went away
        } finally {
            connection = null;
            c.close();
        }
    }

    @Override
    public void write(int b) {
        Connection c = connection;
        if (c == null) return;
        if (telnet && (b & 0xff) == Telnet.IAC) {
            c.enqueue(Telnet.ESCAPED_IAC); // RFC 854: a data byte 255 is sent as IAC IAC (binary mode too, RFC 856)
        } else {
            c.append(b);
        }
    }

    @Override
    public void flush() {
        Connection c = connection;
        if (c != null) c.signal();
    }

    @Override
    public void close() {
        closed = true;
        closeQuietly(listener);
        Connection c = connection;
        if (c != null) c.close();
        if (server && address.unix()) {
            try {
                Files.deleteIfExists(Path.of(address.path()));
            } catch (IOException e) {
                // left behind, as QEMU may leave it
            }
        }
    }

    /** True while a client is connected. */
    public boolean connected() { return connection != null; }

    @Override
    public String filename() {
        Connection c = connection;
        String state = c == null ? "disconnected:" : "";
        return state + address.describe() + (server ? ",server=on" : "") + (c == null ? "" : " <-> " + c.peer());
    }

    private static void closeQuietly(java.io.Closeable c) {
        if (c == null) return;
        try {
            c.close();
        } catch (IOException e) {
            // already gone
        }
    }

    /** One client: a bounded output buffer and the thread that drains it. */
    private final class Connection {
        private final SocketChannel channel;
        private final ByteBuffer pending = ByteBuffer.allocate(OUTPUT_LIMIT);
        private boolean open = true;

        Connection(SocketChannel channel) { this.channel = channel; }

        synchronized void append(int b) {
            if (pending.hasRemaining()) pending.put((byte) b);
        }

        synchronized void enqueue(byte[] bytes) {
            if (pending.remaining() >= bytes.length) pending.put(bytes);
        }

        synchronized void signal() {
            if (pending.position() > 0) notifyAll();
        }

        void startWriter() {
            Thread t = new Thread(this::writeLoop, "chardev-" + id() + "-out");
            t.setDaemon(true);
            t.start();
        }

        private void writeLoop() {
            ByteBuffer chunk = ByteBuffer.allocate(OUTPUT_LIMIT);
            try {
                while (true) {
                    synchronized (this) {
                        while (open && pending.position() == 0) wait();
                        if (!open) return;
                        pending.flip();
                        chunk.clear().put(pending).flip();
                        pending.clear();
                    }
                    while (chunk.hasRemaining()) channel.write(chunk);
                }
            } catch (IOException | InterruptedException e) {
                close(); // a write failure means the client is gone; the reader sees it too
            }
        }

        String peer() {
            try {
                SocketAddress a = channel.getRemoteAddress();
                return a == null ? "" : a.toString();
            } catch (IOException e) {
                return "";
            }
        }

        void close() {
            synchronized (this) {
                open = false;
                notifyAll();
            }
            closeQuietly(channel);
        }
    }
}
