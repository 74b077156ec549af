package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.jqemu.hw.chr.CharFrontend;
import org.junit.jupiter.api.Test;

/** The Ctrl-A mux of -nographic / -serial stdio, per QEMU's documented escapes. */
class StdioConsoleTest {
    private static final class Device implements CharFrontend {
        final List<Integer> received = new ArrayList<>();
        int room = 16;

        @Override public int receiveRoom() { return room - received.size(); }

        @Override public void receive(int b) { received.add(b); }
    }

    @Test
    void escapesAreHandledAndOtherBytesReachTheDevice() throws Exception {
        CountDownLatch quit = new CountDownLatch(1);
        byte[] typed = {'a', 0x01, 0x01, 0x01, 'h', 'b', 0x01, 'x', 'c'};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StdioConsole console = new StdioConsole(new ByteArrayInputStream(typed), out, new StdioConsole.Events() {
            @Override public void inputAvailable() { }

            @Override public void quit() { quit.countDown(); }
        });
        Device device = new Device();
        console.attach(device);
        console.start(false);
        assertTrue(quit.await(10, TimeUnit.SECONDS), "Ctrl-A x quits");
        console.pump();
        assertEquals(List.of((int) 'a', 0x01, (int) 'b'), device.received, "Ctrl-A Ctrl-A sends one Ctrl-A; nothing after quit");
        String shown = out.toString(StandardCharsets.US_ASCII);
        assertTrue(shown.contains("C-a x    exit emulator"), shown);
        assertTrue(shown.contains("Terminated"), shown);
    }

    @Test
    void inputWaitsForRoomInTheDevice() throws Exception {
        CountDownLatch got = new CountDownLatch(3);
        StdioConsole console = new StdioConsole(new ByteArrayInputStream("xyz".getBytes(StandardCharsets.US_ASCII)),
                new ByteArrayOutputStream(), new StdioConsole.Events() {
                    @Override public void inputAvailable() { got.countDown(); }

                    @Override public void quit() { }
                });
        Device device = new Device();
        device.room = 1;
        console.attach(device);
        console.start(false);
        assertTrue(got.await(10, TimeUnit.SECONDS));
        console.pump();
        assertEquals(List.of((int) 'x'), device.received);
        device.room = 3;
        console.frontendReady();
        assertEquals(List.of((int) 'x', (int) 'y', (int) 'z'), device.received);
    }
}
