package org.jqemu.system.chardev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.hw.chr.CharFrontend;
import org.junit.jupiter.api.Test;

/**
 * A wait=off TCP server chardev on loopback, driven the way the machine thread drives it: output reaches
 * the connected client, is dropped while none is connected, never blocks on a client that does not read;
 * a client leaving lets the next one in; input reaches the frontend when pumped.
 */
class SocketChardevTest {
    private static final long GUARD_MS = 60_000;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void send(SocketChardev c, String text) {
        for (byte b : text.getBytes(StandardCharsets.US_ASCII)) c.write(b);
        c.flush();
    }

    private static String readExactly(InputStream in, int n) throws IOException {
        byte[] b = in.readNBytes(n);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static void awaitConnected(SocketChardev c, boolean wanted) throws InterruptedException {
        long end = System.currentTimeMillis() + GUARD_MS;
        while (c.connected() != wanted && System.currentTimeMillis() < end) Thread.sleep(10);
        assertEquals(wanted, c.connected());
    }

    @Test
    void clientsComeAndGoWithoutStallingTheWriter() throws Exception {
        int port = freePort();
        SocketChardev chardev = SocketChardev.open("s", new SocketChardev.Address("127.0.0.1", "" + port, null), true, false,
                false, message -> { });
        List<Integer> received = new ArrayList<>();
        chardev.connect(new CharFrontend() {
            @Override public int receiveRoom() { return 16; }

            @Override public void receive(int b) { received.add(b); }
        });
        try {
            send(chardev, "lost"); // nobody connected: dropped, as QEMU drops it
            try (Socket a = new Socket(InetAddress.getLoopbackAddress(), port)) {
                awaitConnected(chardev, true);
                send(chardev, "abc");
                assertEquals("abc", readExactly(a.getInputStream(), 3));
                a.getOutputStream().write("hi".getBytes(StandardCharsets.US_ASCII));
                long end = System.currentTimeMillis() + GUARD_MS;
                while (received.size() < 2 && System.currentTimeMillis() < end) {
                    Thread.sleep(10);
                    chardev.pump();
                }
                assertEquals(List.of((int) 'h', (int) 'i'), received);
            }
            awaitConnected(chardev, false);
            try (Socket stuck = new Socket(InetAddress.getLoopbackAddress(), port)) {
                awaitConnected(chardev, true);
                // Far more than the socket buffers and the chardev's own buffer hold: writing must still return.
                byte[] chunk = new byte[64 * 1024];
                for (int i = 0; i < 256; i++) {
                    for (byte b : chunk) chardev.write(b);
                    chardev.flush();
                }
            }
            awaitConnected(chardev, false);
            try (Socket b = new Socket(InetAddress.getLoopbackAddress(), port)) {
                awaitConnected(chardev, true);
                send(chardev, "xyz");
                assertEquals("xyz", readExactly(b.getInputStream(), 3), "the next client gets only new output");
                assertTrue(chardev.filename().startsWith("tcp:127.0.0.1:" + port + ",server=on <-> "), chardev.filename());
            }
        } finally {
            chardev.close();
        }
    }

    @Test
    void waitOnBlocksUntilTheFirstClientWithQemusMessage() throws Exception {
        int port = freePort();
        List<String> said = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.CompletableFuture<SocketChardev> opened = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return SocketChardev.open("s", new SocketChardev.Address("127.0.0.1", "" + port, null), true, true, false, said::add);
            } catch (ChardevException e) {
                throw new IllegalStateException(e);
            }
        });
        long end = System.currentTimeMillis() + GUARD_MS;
        while (said.isEmpty() && System.currentTimeMillis() < end) Thread.sleep(10);
        // qemu-system-i386 7.2 prints this (after "-serial SPEC: ") and waits.
        assertEquals(List.of("info: QEMU waiting for connection on: disconnected:tcp:127.0.0.1:" + port + ",server=on"), said);
        assertTrue(!opened.isDone(), "start-up waits for a client");
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            client.setSoTimeout((int) GUARD_MS); // a lost write fails the test instead of hanging it
            SocketChardev chardev = opened.get(GUARD_MS, java.util.concurrent.TimeUnit.MILLISECONDS);
            try {
                send(chardev, "ok");
                assertEquals("ok", readExactly(client.getInputStream(), 2));
            } finally {
                chardev.close();
            }
        }
    }

    /**
     * RFC 854 (and RFC 856 for binary mode): a data byte 255 travels as IAC IAC both ways. The guest's
     * 0xff reaches the telnet client doubled; the client's IAC IAC reaches the guest as one 0xff.
     */
    @Test
    void telnetDoublesIacOnOutputAndUndoublesItOnInput() throws Exception {
        int port = freePort();
        SocketChardev chardev = SocketChardev.open("t", new SocketChardev.Address("127.0.0.1", "" + port, null), true, false,
                true, message -> { });
        List<Integer> received = new java.util.concurrent.CopyOnWriteArrayList<>();
        chardev.connect(new CharFrontend() {
            @Override public int receiveRoom() { return 16; }

            @Override public void receive(int b) { received.add(b); }
        });
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            client.setSoTimeout((int) GUARD_MS);
            awaitConnected(chardev, true);
            InputStream in = client.getInputStream();
            in.readNBytes(Telnet.SERVER_NEGOTIATION.length); // the server's offers come first
            for (int b : new int[] {'a', 0xff, 'b'}) chardev.write(b);
            chardev.flush();
            byte[] wire = in.readNBytes(4);
            assertEquals(List.of((int) 'a', 0xff, 0xff, (int) 'b'), unsigned(wire));
            client.getOutputStream().write(new byte[] {'x', (byte) 0xff, (byte) 0xff, 'y'});
            long end = System.currentTimeMillis() + GUARD_MS;
            while (received.size() < 3 && System.currentTimeMillis() < end) {
                Thread.sleep(10);
                chardev.pump();
            }
            assertEquals(List.of((int) 'x', 0xff, (int) 'y'), received);
        } finally {
            chardev.close();
        }
    }

    private static List<Integer> unsigned(byte[] bytes) {
        List<Integer> list = new ArrayList<>();
        for (byte b : bytes) list.add(b & 0xff);
        return list;
    }
}
