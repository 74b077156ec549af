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
import org.jqemu.system.chardev.MuxChardev;
import org.junit.jupiter.api.Test;

/** The stdio chardev and QEMU's documented Ctrl-A escapes of the mux that -nographic puts on it. */
class StdioConsoleTest {
    static final class Device implements CharFrontend {
        final List<Integer> received = new ArrayList<>();
        int room = 16;
        int breaks;
        final List<Boolean> focus = new ArrayList<>();

        @Override public int receiveRoom() { return room - received.size(); }

        @Override public void receive(int b) { received.add(b); }

        @Override public void receiveBreak() { breaks++; }

        @Override public void focusChanged(boolean focused) { focus.add(focused); }
    }

    /** A stdio chardev on {@code typed}; {@link #waitForInput} waits until its reader has queued all of it. */
    private static StdioConsole console(byte[] typed, ByteArrayOutputStream out) {
        StdioConsole console = new StdioConsole("s", new ByteArrayInputStream(typed), out);
        CountDownLatch events = new CountDownLatch(2); // the line opening, then the one chunk of input
        LATCHES.put(console, events);
        console.onInput(events::countDown);
        return console;
    }

    private static final java.util.Map<StdioConsole, CountDownLatch> LATCHES = new java.util.concurrent.ConcurrentHashMap<>();

    private static void waitForInput(StdioConsole console) throws InterruptedException {
        assertTrue(LATCHES.get(console).await(10, TimeUnit.SECONDS), "stdin was read");
    }

    @Test
    void escapesAreHandledAndOtherBytesReachTheFocusedDevice() throws Exception {
        byte[] typed = {'a', 0x01, 0x01, 0x01, 'h', 'b', 0x01, 'b', 0x01, 'x', 'c'};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StdioConsole stdio = console(typed, out);
        int[] quits = {0};
        MuxChardev mux = new MuxChardev("m", stdio, () -> quits[0]++);
        Device device = new Device();
        mux.connect(device);
        stdio.start(false, false);
        waitForInput(stdio);
        mux.pump();
        stdio.flush();
        assertEquals(1, quits[0], "Ctrl-A x quits");
        assertEquals(List.of((int) 'a', 0x01, (int) 'b', (int) 'c'), device.received, "Ctrl-A Ctrl-A sends one Ctrl-A");
        assertEquals(1, device.breaks, "Ctrl-A b sends a break");
        String shown = out.toString(StandardCharsets.US_ASCII);
        // Texts as qemu-system-i386 7.2 prints them (observed with -nographic).
        assertTrue(shown.contains("\n\rC-a h    print this help\n\rC-a x    exit emulator\n\r"), shown);
        assertTrue(shown.contains("C-a c    switch between console and monitor\n\rC-a C-a  sends C-a\n\r"), shown);
        assertTrue(shown.endsWith("QEMU: Terminated\n\r"), shown);
    }

    @Test
    void ctrlACSwitchesTheFocusBetweenFrontends() throws Exception {
        byte[] typed = {'1', 0x01, 'c', '2', 0x01, 'c', '3'};
        StdioConsole stdio = console(typed, new ByteArrayOutputStream());
        MuxChardev mux = new MuxChardev("m", stdio, () -> { });
        Device serial = new Device();
        Device monitor = new Device();
        mux.connect(serial);
        mux.connect(monitor);
        stdio.start(false, false);
        waitForInput(stdio);
        mux.pump();
        assertEquals(List.of((int) '1', (int) '3'), serial.received);
        assertEquals(List.of((int) '2'), monitor.received);
        assertEquals(List.of(true, false), monitor.focus);
        assertEquals(0, mux.focus());
    }

    @Test
    void inputWaitsForRoomInTheDevice() throws Exception {
        StdioConsole console = console("xyz".getBytes(StandardCharsets.US_ASCII), new ByteArrayOutputStream());
        Device device = new Device();
        device.room = 1;
        console.connect(device);
        console.start(false, true);
        waitForInput(console);
        console.pump();
        assertEquals(List.of((int) 'x'), device.received);
        device.room = 3;
        console.frontendReady();
        assertEquals(List.of((int) 'x', (int) 'y', (int) 'z'), device.received);
    }

    @Test
    void muxKeepsTakingEscapesWhileTheGuestDoesNotRead() throws Exception {
        byte[] typed = new byte[20];
        java.util.Arrays.fill(typed, (byte) 'z');
        typed[18] = 0x01;
        typed[19] = 'x';
        StdioConsole stdio = console(typed, new ByteArrayOutputStream());
        int[] quits = {0};
        MuxChardev mux = new MuxChardev("m", stdio, () -> quits[0]++);
        Device stuck = new Device();
        stuck.room = 0;
        mux.connect(stuck);
        stdio.start(false, false);
        waitForInput(stdio);
        mux.pump();
        assertEquals(1, quits[0], "18 unread bytes fit in the mux's own buffer, so Ctrl-A x still arrives");
    }
}
