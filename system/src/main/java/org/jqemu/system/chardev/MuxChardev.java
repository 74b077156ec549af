package org.jqemu.system.chardev;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.chr.CharFrontend;

/**
 * QEMU's mux (mux=on, "mon:", -nographic): several frontends (a serial port, the monitor) share one
 * chardev. All of them write to it; input goes to the one with the focus, after the escape commands of
 * QEMU's documentation: Ctrl-A h help, x quit, c next frontend, b break, Ctrl-A Ctrl-A a literal Ctrl-A
 * (s and t are accepted and do nothing: no -snapshot commit, no timestamps). Each frontend has a
 * {@link #BUFFER}-byte queue, so escapes are seen even while the guest is not reading. Everything runs on
 * the machine thread (the underlying chardev pumps its input into the mux there).
 */
public final class MuxChardev extends Chardev implements CharFrontend {
    static final int ESCAPE = 0x01; // Ctrl-A
    /** Bytes queued per frontend before the mux stops taking input (QEMU's mux buffer size). */
    static final int BUFFER = 32;
    static final String HELP = "\n\rC-a h    print this help\n\rC-a x    exit emulator\n\r"
            + "C-a s    save disk data back to file (if -snapshot)\n\rC-a t    toggle console timestamps\n\r"
            + "C-a b    send break (magic sysrq)\n\rC-a c    switch between console and monitor\n\rC-a C-a  sends C-a\n\r";
    static final String TERMINATED = "QEMU: Terminated\n\r";

    private final Chardev under;
    private final Runnable quit;
    private final List<Port> ports = new ArrayList<>();
    private int focus;
    private boolean escaped;

    public MuxChardev(String id, Chardev under, Runnable quit) {
        super(id);
        this.under = under;
        this.quit = quit;
        under.connect(this);
    }

    /** A frontend of the mux: its own input queue, output straight to the shared chardev. */
    private final class Port implements CharBackend {
        final CharFrontend frontend;
        final int[] queue = new int[BUFFER];
        int head, count;

        Port(CharFrontend frontend) { this.frontend = frontend; }

        @Override public void write(int b) { under.write(b); }

        @Override public void frontendReady() {
            drain();
            under.pump();
        }

        @Override public void modemControl(boolean dtr, boolean rts) { }

        void add(int b) {
            queue[(head + count) % BUFFER] = b;
            count++;
            drain();
        }

        void drain() {
            while (count > 0 && frontend.receiveRoom() > 0) {
                int b = queue[head];
                head = (head + 1) % BUFFER;
                count--;
                frontend.receive(b);
            }
        }
    }

    @Override
    public CharBackend connect(CharFrontend frontend) {
        if (frontend == null) return under;
        Port port = new Port(frontend);
        ports.add(port);
        return port;
    }

    /** Which frontend has the focus (the order of connection: 0 is the first). */
    public int focus() { return focus; }

    @Override
    public void write(int b) { under.write(b); }

    @Override
    public void pump() {
        for (Port p : ports) p.drain();
        under.pump();
    }

    @Override
    public boolean hasInput() { return under.hasInput(); }

    /** Input arrives at the shared chardev: that is what must wake the machine loop. */
    @Override
    public void onInput(Runnable listener) { under.onInput(listener); }

    @Override
    public void flush() { under.flush(); }

    @Override
    public void close() { under.close(); }

    @Override
    public String filename() { return under.filename(); }

    // ---- as the underlying chardev's frontend ----

    @Override
    public int receiveRoom() {
        if (ports.isEmpty()) return 1; // nothing listens: escapes still work, other bytes vanish
        Port p = ports.get(focus);
        return BUFFER - p.count;
    }

    @Override
    public void receive(int b) {
        if (escaped) {
            escaped = false;
            escapeCommand(b);
        } else if (b == ESCAPE) {
            escaped = true;
        } else {
            deliver(b);
        }
    }

    private void deliver(int b) {
        if (!ports.isEmpty()) ports.get(focus).add(b);
    }

    private void escapeCommand(int b) {
        switch (b) {
            case 'x', 'X' -> {
                message(TERMINATED);
                quit.run();
            }
            case 'h', 'H', '?' -> message(HELP);
            case 'c', 'C' -> switchFocus();
            case 'b', 'B' -> {
                if (!ports.isEmpty()) ports.get(focus).frontend.receiveBreak();
            }
            case ESCAPE -> deliver(ESCAPE);
            default -> { } // s (commit) and t (timestamps) are not implemented; anything else is ignored
        }
    }

    private void switchFocus() {
        if (ports.size() < 2) return;
        ports.get(focus).frontend.focusChanged(false);
        focus = (focus + 1) % ports.size();
        ports.get(focus).frontend.focusChanged(true);
    }

    private void message(String text) {
        for (byte c : text.getBytes(StandardCharsets.US_ASCII)) under.write(c & 0xff);
        under.flush();
    }
}
