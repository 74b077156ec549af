package org.jqemu.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

import org.jqemu.system.chardev.Chardev;

/**
 * QEMU's "stdio" chardev: bytes the guest writes go to stdout (buffered; the machine loop flushes between
 * slices); a daemon reader thread takes stdin and queues it for the frontend. When stdin is a terminal it
 * is put in raw mode for the run (keeping Ctrl-C as a signal unless {@code signal=off}, which the mux of
 * -nographic uses so that Ctrl-C reaches the guest) and restored at exit. The Ctrl-A escapes belong to
 * {@link org.jqemu.system.chardev.MuxChardev}.
 */
final class StdioConsole extends Chardev {
    private final InputStream in;
    private final OutputStream out;
    private final byte[] buffer = new byte[8192];
    private int buffered;

    StdioConsole(String id, InputStream in, OutputStream out) {
        super(id);
        this.in = in;
        this.out = out;
    }

    /** Starts the stdin reader (a daemon thread); makes a terminal raw first when asked. */
    void start(boolean makeRaw, boolean signals) {
        if (makeRaw && System.console() != null && System.console().isTerminal()) {
            if (stty("raw", "-echo", signals ? "isig" : "-isig")) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> stty("sane")));
            }
        }
        opened();
        Thread reader = new Thread(this::readLoop, "stdin");
        reader.setDaemon(true);
        reader.start();
    }

    private static boolean stty(String... args) {
        String[] command = new String[args.length + 1];
        command[0] = "stty";
        System.arraycopy(args, 0, command, 1, args.length);
        try {
            Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.INHERIT)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            return p.waitFor() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void readLoop() {
        byte[] chunk = new byte[1024];
        try {
            int n;
            while ((n = in.read(chunk)) >= 0) {
                if (n > 0) received(chunk, 0, n);
            }
        } catch (IOException e) {
            // stdin closed or unreadable: the guest simply gets no more input
        }
    }

    @Override
    public synchronized void write(int b) {
        if (buffered == buffer.length) flushLocked();
        buffer[buffered++] = (byte) b;
    }

    @Override
    public synchronized void flush() { flushLocked(); }

    private void flushLocked() {
        if (buffered == 0) return;
        try {
            out.write(buffer, 0, buffered);
            out.flush();
        } catch (IOException e) {
            // stdout closed: drop the output as a disconnected terminal would
        }
        buffered = 0;
    }

    @Override
    public String filename() { return "stdio"; }
}
