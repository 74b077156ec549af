package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Character devices and run control with SeaBIOS (Debian's bios-256k.bin, nothing to boot) as the
 * independent guest, with -nographic so that it prints on COM1 (as under QEMU, where it prints on the
 * serial port only then): its banner must reach a TCP client, a Unix socket client and a file; a telnet
 * server must open with qemu-system-i386 7.2's negotiation (observed: IAC WILL ECHO, WILL SGA, WILL BINARY,
 * DO BINARY); -S must hold the guest until the monitor's "cont"; -nographic's mux must switch to the
 * monitor (Ctrl-A c) and quit with status 0 (Ctrl-A x); -d int -D must log SeaBIOS's timer interrupts
 * (QEMU's log of the same firmware shows "Servicing hardware INT=0x08"). Network on loopback only. The
 * waits are hang guards, not speed assertions.
 */
@Tag("guest")
class ChardevBootTest {
    private static final Path BIOS = Path.of("/usr/share/seabios/bios-256k.bin");
    private static final long GUARD_MS = TimeUnit.MINUTES.toMillis(3);
    private static final String BANNER = "SeaBIOS (version";
    private static final String NO_BOOT = "No bootable device";

    private final ExecutorService executor = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "test-machine");
        t.setDaemon(true);
        return t;
    });
    private final List<PcSystem> systems = new ArrayList<>();

    @AfterEach
    void stopMachines() {
        systems.forEach(PcSystem::quit);
        executor.shutdownNow();
    }

    private static void requireBios() {
        String reason = "SeaBIOS not installed: no " + BIOS;
        if (!Files.isReadable(BIOS) && "true".equals(System.getenv("CI"))) fail(reason);
        assumeTrue(Files.isReadable(BIOS), reason);
    }

    /** Text written to it, searchable while the machine runs. */
    static final class Capture extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override public synchronized void write(int b) { bytes.write(b); }

        @Override public synchronized void write(byte[] b, int off, int len) { bytes.write(b, off, len); }

        synchronized String text() { return bytes.toString(StandardCharsets.ISO_8859_1); }
    }

    /** A machine started on a test thread, with stdin a pipe the test writes to. */
    private final class Machine {
        final Capture stdout = new Capture();
        final Capture stderr = new Capture();
        final PipedOutputStream keys = new PipedOutputStream();
        final Future<Integer> status;

        Machine(String... options) throws IOException {
            List<String> args = new ArrayList<>(List.of("-m", "32", "-L", BIOS.getParent().toString(), "-nographic"));
            args.addAll(List.of(options));
            InputStream stdin = new PipedInputStream(keys, 4096);
            PrintStream err = new PrintStream(stderr, true, StandardCharsets.UTF_8);
            PcSystem system = new PcSystem(Main.parse(args.toArray(String[]::new), err), err);
            systems.add(system);
            status = executor.submit(() -> system.start(stdin, stdout));
            current = this;
        }

        void type(String text) throws IOException {
            keys.write(text.getBytes(StandardCharsets.ISO_8859_1));
            keys.flush();
        }

        int exitStatus() throws Exception { return status.get(GUARD_MS, TimeUnit.MILLISECONDS); }
    }

    private Machine current;

    private void await(String what, Supplier<String> text, String wanted) throws Exception {
        long end = System.currentTimeMillis() + GUARD_MS;
        while (!text.get().contains(wanted)) {
            if (current != null && current.status.isDone()) {
                fail(what + " never showed '" + wanted + "': the machine ended with " + describe(current) + "\n" + text.get());
            }
            if (System.currentTimeMillis() > end) fail(what + " never showed '" + wanted + "':\n" + text.get());
            Thread.sleep(50);
        }
    }

    private static String describe(Machine m) {
        try {
            return "status " + m.status.get() + ", stderr: " + m.stderr.text();
        } catch (Exception e) {
            java.io.StringWriter trace = new java.io.StringWriter();
            e.getCause().printStackTrace(new java.io.PrintWriter(trace));
            return trace + "\nstderr: " + m.stderr.text();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A client of a chardev socket that collects what it reads. */
    private static final class Client implements AutoCloseable {
        final SocketChannel channel;
        final Capture received = new Capture();

        Client(SocketChannel channel) {
            this.channel = channel;
            Thread t = new Thread(() -> {
                ByteBuffer b = ByteBuffer.allocate(4096);
                try {
                    while (channel.read(b.clear()) > 0) received.write(b.array(), 0, b.position());
                } catch (IOException e) {
                    // closed
                }
            }, "test-client");
            t.setDaemon(true);
            t.start();
        }

        static Client connect(java.net.SocketAddress where, StandardProtocolFamily family) throws Exception {
            long end = System.currentTimeMillis() + GUARD_MS;
            while (true) {
                SocketChannel c = SocketChannel.open(family);
                try {
                    c.connect(where);
                    return new Client(c);
                } catch (IOException notYet) {
                    c.close();
                    if (System.currentTimeMillis() > end) throw notYet;
                    Thread.sleep(50);
                }
            }
        }

        void send(String text) throws IOException { channel.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.ISO_8859_1))); }

        String text() { return received.text(); }

        @Override public void close() throws IOException { channel.close(); }
    }

    @Test
    void tcpSerialWithoutWaitAndMonitorStartPausedThenCont() throws Exception {
        requireBios();
        int serialPort = freePort();
        int monitorPort = freePort();
        Machine m = new Machine("-S", "-serial", "tcp:127.0.0.1:" + serialPort + ",server=on,wait=off",
                "-monitor", "tcp:127.0.0.1:" + monitorPort + ",server=on,wait=off");
        try (Client monitor = Client.connect(new InetSocketAddress("127.0.0.1", monitorPort), StandardProtocolFamily.INET)) {
            await("monitor", monitor::text, "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
            monitor.send("info status\n");
            await("monitor", monitor::text, "VM status: paused (prelaunch)\r\n");
            // A first serial client leaves before anything is printed: the guest is not affected.
            Client.connect(new InetSocketAddress("127.0.0.1", serialPort), StandardProtocolFamily.INET).close();
            try (Client serial = Client.connect(new InetSocketAddress("127.0.0.1", serialPort), StandardProtocolFamily.INET)) {
                // The client's connect returns once the host queued it; the acceptor attaches it a moment later.
                String connected = "serial0: filename=tcp:127.0.0.1:" + serialPort + ",server=on <-> ";
                long end = System.currentTimeMillis() + GUARD_MS;
                while (!monitor.text().contains(connected) && System.currentTimeMillis() < end) {
                    int before = monitor.text().length();
                    monitor.send("info chardev\n");
                    while (!monitor.text().substring(before).contains("(qemu) ") && System.currentTimeMillis() < end) Thread.sleep(20);
                }
                await("monitor", monitor::text, connected);
                monitor.send("cont\n");
                await("serial client", serial::text, NO_BOOT);
                assertTrue(serial.text().contains(BANNER), serial.text());
            }
            monitor.send("info status\n");
            await("monitor", monitor::text, "VM status: running\r\n");
            monitor.send("foo\n");
            await("monitor", monitor::text, "unknown command: 'foo'\r\n");
            monitor.send("quit\n");
            assertEquals(0, m.exitStatus());
        }
    }

    @Test
    void unixSocketSerialAndStdioMonitor() throws Exception {
        requireBios();
        Path dir = Files.createTempDirectory(Path.of("/tmp"), "jq");
        Path socket = dir.resolve("s");
        try {
            Machine m = new Machine("-S", "-serial", "unix:" + socket + ",server=on,wait=off", "-monitor", "stdio");
            try (Client serial = Client.connect(UnixDomainSocketAddress.of(socket), StandardProtocolFamily.UNIX)) {
                await("stdio monitor", m.stdout::text, "(qemu) ");
                m.type("cont\r");
                await("unix client", serial::text, NO_BOOT);
                assertTrue(serial.text().contains(BANNER), serial.text());
                m.type("q\r");
                assertEquals(0, m.exitStatus());
            }
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(dir);
        }
    }

    @Test
    void fileSerialAndInterruptLog(@TempDir Path dir) throws Exception {
        requireBios();
        Path serial = dir.resolve("serial.txt");
        Path log = dir.resolve("int.log");
        Machine m = new Machine("-serial", "file:" + serial, "-d", "int", "-D", log.toString(), "-monitor", "stdio");
        await("serial file", () -> read(serial), NO_BOOT);
        m.type("quit\n");
        assertEquals(0, m.exitStatus());
        assertTrue(read(serial).contains(BANNER), read(serial));
        String logged = read(log);
        String head = logged.length() > 3000 ? logged.substring(0, 3000) : logged;
        assertTrue(logged.contains("Servicing hardware INT=0x08\n"), head);
    }

    @Test
    void inAsmShowsTheResetVectorBlock(@TempDir Path dir) throws Exception {
        requireBios();
        Path log = dir.resolve("asm.log");
        Machine m = new Machine("-d", "in_asm", "-D", log.toString(), "-monitor", "stdio", "-serial", "null");
        // The reset vector of the x86 (SDM vol. 3, 9.1.4): CS base ffff0000, EIP fff0; SeaBIOS puts a far jump
        // to f000:e05b there (EA 5B E0 00 F0), the first block QEMU's in_asm log shows for this firmware.
        await("log", () -> read(log), "----------------\nIN: \n0xfffffff0:  ea 5b e0 00 f0");
        m.type("quit\n");
        assertEquals(0, m.exitStatus());
    }

    @Test
    void telnetServerNegotiates() throws Exception {
        requireBios();
        int port = freePort();
        Machine m = new Machine("-S", "-serial", "telnet:127.0.0.1:" + port + ",server=on,wait=off", "-monitor", "stdio");
        try (Client client = Client.connect(new InetSocketAddress("127.0.0.1", port), StandardProtocolFamily.INET)) {
            byte[] expected = {(byte) 0xff, (byte) 0xfb, 0x01, (byte) 0xff, (byte) 0xfb, 0x03, (byte) 0xff, (byte) 0xfb, 0x00,
                (byte) 0xff, (byte) 0xfd, 0x00};
            long end = System.currentTimeMillis() + GUARD_MS;
            while (client.text().length() < expected.length && System.currentTimeMillis() < end) Thread.sleep(20);
            assertArrayEquals(expected, client.text().substring(0, expected.length).getBytes(StandardCharsets.ISO_8859_1));
            m.type("cont\n");
            await("telnet client", client::text, BANNER);
            m.type("quit\n");
            assertEquals(0, m.exitStatus());
        }
    }

    @Test
    void nographicMuxSwitchesToTheMonitorAndQuits() throws Exception {
        requireBios();
        Machine m = new Machine();
        await("console", m.stdout::text, NO_BOOT);
        m.type("\u0001c");
        await("console", m.stdout::text, "QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ");
        m.type("info status\r");
        await("console", m.stdout::text, "VM status: running\r\n");
        m.type("stop\r");
        m.type("info status\r");
        await("console", m.stdout::text, "VM status: paused\r\n");
        m.type("\u0001x");
        assertEquals(0, m.exitStatus());
        assertTrue(m.stdout.text().endsWith("QEMU: Terminated\n\r"), m.stdout.text());
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
        } catch (IOException e) {
            return "";
        }
    }
}
