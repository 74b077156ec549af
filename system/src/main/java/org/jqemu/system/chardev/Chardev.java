package org.jqemu.system.chardev;

import java.util.concurrent.ConcurrentLinkedQueue;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.chr.CharFrontend;

/**
 * A host-side character device (QEMU's Chardev): where a serial port's or a monitor's bytes go and come
 * from. Output is written on the machine thread and must never block it: each backend buffers or drops
 * (see the subclasses). Input arrives on the backend's own I/O thread, waits in a queue, and is handed
 * to the frontend on the machine thread by {@link #pump()} while the frontend has room, so no byte is lost
 * and a device never sees two threads.
 */
public abstract class Chardev implements CharBackend {
    /** Mark a break condition and a newly opened line (a client connected) in the input queue. */
    private static final int BREAK = -1, OPENED = -2;

    private final String id;
    private final ConcurrentLinkedQueue<Integer> input = new ConcurrentLinkedQueue<>();
    private volatile Runnable inputListener = () -> { };
    private CharFrontend frontend;

    protected Chardev(String id) { this.id = id; }

    public String id() { return id; }

    /** Called (on any thread) whenever input arrives: the machine loop wakes up and pumps. */
    public void onInput(Runnable listener) { inputListener = listener; }

    /**
     * Connects a frontend (null: an output-only user such as isa-debugcon) and returns the backend it
     * writes to: this device, or for a mux a port of its own.
     */
    public CharBackend connect(CharFrontend newFrontend) {
        if (newFrontend != null) frontend = newFrontend;
        return this;
    }

    /** I/O thread: host bytes for the frontend. */
    protected final void received(byte[] data, int offset, int length) {
        for (int i = 0; i < length; i++) input.add(data[offset + i] & 0xff);
        inputListener.run();
    }

    /** I/O thread: a break on the line (telnet's IAC BREAK). */
    protected final void receivedBreak() {
        input.add(BREAK);
        inputListener.run();
    }

    /** I/O thread: the line opened (a client connected); the frontend hears it in order with the input. */
    protected final void opened() {
        input.add(OPENED);
        inputListener.run();
    }

    /** Machine thread: hands queued input to the frontend while it has room. */
    public void pump() {
        CharFrontend f = frontend;
        if (f == null) {
            input.clear();
            return;
        }
        while (!input.isEmpty() && f.receiveRoom() > 0) {
            int b = input.poll();
            if (b == BREAK) f.receiveBreak();
            else if (b == OPENED) f.focusChanged(true);
            else f.receive(b);
        }
    }

    public boolean hasInput() { return !input.isEmpty(); }

    @Override
    public void frontendReady() { pump(); }

    /** Machine thread, between slices: push buffered output towards the host. Never blocks for long. */
    public void flush() { }

    /** Releases host resources (sockets, files, threads); idempotent. */
    public void close() { }

    /** What QEMU's "info chardev" shows after the id (e.g. "stdio", "file", "disconnected:tcp:..."). */
    public abstract String filename();
}
