package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guest sockets against peers run by this test on 127.0.0.1 (loopback only): the guest as TCP client, as
 * TCP server, as UDP client of an echo server, and AF_UNIX within the guest. Each scenario runs under
 * qemu-i386 (the oracle) and under jqemu; the guest's output and what the test's peer received must agree.
 */
class SocketTest {
    private static final List<String> ENV = List.of("LC_ALL=C");
    @TempDir
    static Path dir;
    private static Path program;
    private static final ExecutorService PEERS = Executors.newCachedThreadPool();

    @BeforeAll
    static void build() throws Exception {
        assumeTrue(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
        program = GuestRun.compile("sockets", dir);
    }

    @AfterAll
    static void stop() {
        PEERS.shutdownNow();
    }

    /** What the guest printed and what the test's peer saw. */
    private record Exchange(GuestRun.Outcome guest, String peer) { }

    private interface Guest {
        GuestRun.Outcome run(List<String> argv) throws Exception;
    }

    private static final Guest QEMU = argv -> GuestRun.qemu(null, argv, ENV, null);
    private static final Guest JQEMU = argv -> GuestRun.jqemu(null, argv, ENV, null);

    private static Exchange guestClient(Guest guest) throws Exception {
        return guestClient(guest, "client", InetAddress.getLoopbackAddress());
    }

    private static Exchange guestClient(Guest guest, String mode, InetAddress loopback) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, loopback)) {
            Future<String> peer = PEERS.submit(() -> {
                try (Socket s = server.accept()) {
                    String got = readLine(s.getInputStream());
                    s.getOutputStream().write(("reply: " + got.toUpperCase(Locale.ROOT) + "\n").getBytes(StandardCharsets.UTF_8));
                    return got;
                }
            });
            GuestRun.Outcome out = guest.run(List.of(program.toString(), mode, Integer.toString(server.getLocalPort())));
            return new Exchange(out, peer.get());
        }
    }

    private static Exchange guestServer(Guest guest) throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort(); // a free port for the guest to listen on
        }
        Callable<String> client = () -> {
            while (true) {
                try (Socket s = new Socket()) {
                    s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                    OutputStream out = s.getOutputStream();
                    out.write("hello guest server\n".getBytes(StandardCharsets.UTF_8));
                    return readLine(s.getInputStream());
                } catch (java.net.ConnectException notYetListening) {
                    Thread.sleep(50); // the guest has not reached listen() yet
                }
            }
        };
        Future<String> peer = PEERS.submit(client);
        GuestRun.Outcome out = guest.run(List.of(program.toString(), "server", Integer.toString(port)));
        return new Exchange(out, peer.get());
    }

    private static Exchange guestUdp(Guest guest) throws Exception {
        try (DatagramSocket echo = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            Future<String> peer = PEERS.submit(() -> {
                StringBuilder seen = new StringBuilder();
                for (int i = 0; i < 2; i++) {
                    DatagramPacket p = new DatagramPacket(new byte[512], 512);
                    echo.receive(p);
                    String text = new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
                    seen.append(text).append('|');
                    byte[] reply = text.toUpperCase(Locale.ROOT).getBytes(StandardCharsets.UTF_8);
                    echo.send(new DatagramPacket(reply, reply.length, p.getSocketAddress()));
                }
                return seen.toString();
            });
            GuestRun.Outcome out = guest.run(List.of(program.toString(), "udp", Integer.toString(echo.getLocalPort())));
            return new Exchange(out, peer.get());
        }
    }

    private static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            b.append((char) c);
        }
        return b.toString();
    }

    @Test
    void guestConnectsToTheTestsTcpServer() throws Exception {
        Exchange expected = guestClient(QEMU);
        assertEquals("hello from the guest", expected.peer(), "the oracle's guest reached the server");
        assertEquals(expected, guestClient(JQEMU));
    }

    @Test
    void guestConnectsOverIpv6Loopback() throws Exception {
        InetAddress v6;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("::1"))) {
            v6 = probe.getInetAddress();
        } catch (IOException noIpv6) {
            v6 = null;
        }
        assumeTrue(v6 != null, "the host has no IPv6 loopback");
        Exchange expected = guestClient(QEMU, "client6", v6);
        assertEquals("hello over ipv6", expected.peer(), "the oracle's guest reached the server");
        assertEquals(expected, guestClient(JQEMU, "client6", v6));
    }

    @Test
    void guestServerAcceptsTheTestsConnection() throws Exception {
        Exchange expected = guestServer(QEMU);
        assertEquals("HELLO GUEST SERVER", expected.peer());
        assertEquals(expected, guestServer(JQEMU));
    }

    /**
     * -strace of the socket calls against qemu-i386 -strace: the lines for the calls whose arguments are all
     * inputs (QEMU prints the stale contents of output buffers, jqemu their addresses), pid and port aside.
     */
    @Test
    void straceLinesMatchQemu() throws Exception {
        Guest qemuStrace = argv -> GuestRun.qemuWith(List.of("-strace"), argv, ENV, null);
        Guest jqemuStrace = argv -> GuestRun.jqemu(null, true, argv, ENV, null);
        assertEquals(socketLines(guestClient(qemuStrace).guest().stderr()), socketLines(guestClient(jqemuStrace).guest().stderr()));
    }

    private static List<String> socketLines(String strace) {
        List<String> lines = strace.lines()
                .map(l -> l.replaceFirst("^\\d+ ", "").replaceAll("htons\\(\\d+\\)", "htons(PORT)"))
                .filter(l -> l.matches("(SOCKET|CONNECT|SEND|shutdown)\\(.*") || l.matches("SETSOCKOPT\\(3,SOL_SOCKET,.*"))
                .toList();
        assertTrue(lines.size() >= 5, strace);
        return lines;
    }

    @Test
    void udpEcho() throws Exception {
        Exchange expected = guestUdp(QEMU);
        assertEquals("ping over udp|second datagram|", expected.peer());
        assertEquals(expected, guestUdp(JQEMU));
    }

    /** The guest program in one mode, under qemu-i386 and jqemu: {@code check} says the oracle's run did its part. */
    private static void sameAsQemu(String mode, String argument, java.util.function.Consumer<GuestRun.Outcome> check)
            throws Exception {
        List<String> argv = List.of(program.toString(), mode, argument);
        GuestRun.Outcome expected = QEMU.run(argv);
        check.accept(expected);
        assertEquals(expected, JQEMU.run(argv));
    }

    private static void exitedZero(GuestRun.Outcome o) {
        assertEquals(0, o.status(), o.stdout());
    }

    @Test
    void unixStreamsSocketpairAndDescriptorPassing() throws Exception {
        sameAsQemu("unix", dir.resolve("guest.sock").toString(), SocketTest::exitedZero);
    }

    @Test
    void sendToAClosedPeerRaisesSigpipe() throws Exception {
        sameAsQemu("sigpipe", "-", o -> assertEquals(128 + 13, o.status(), "the oracle's guest died of SIGPIPE"));
    }

    @Test
    void socketsAreOrdinaryDescriptorsAcrossForkAndDup() throws Exception {
        sameAsQemu("descriptors", "-", SocketTest::exitedZero);
    }

    @Test
    void blockingCallsEndWithEintrOrRestartAsTheHandlerSays() throws Exception {
        sameAsQemu("interrupted", "-", o -> assertTrue(o.stdout().contains("recv with SA_RESTART: 4 late"),
                "the oracle ran: " + o.stdout()));
    }
}
