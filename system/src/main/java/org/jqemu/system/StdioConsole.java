package org.jqemu.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.chr.CharFrontend;

/**
 * The stdio character backend with QEMU's mux escape: bytes the guest writes go to stdout (buffered, the
 * machine loop calls {@link #flush()} between slices); a reader thread takes stdin, recognises Ctrl-A
 * commands (x quit, h help, c monitor, Ctrl-A Ctrl-A a literal Ctrl-A) and queues the rest, which the
 * machine thread hands to the frontend as it has room ({@link #pump()}). When stdin is a terminal it is
 * put in raw mode (stty) for the run and restored at exit.
 */
final class StdioConsole implements CharBackend {
    static final int ESCAPE = 0x01; // Ctrl-A

    /** What the reader thread tells the machine loop. */
    interface Events {
        void inputAvailable();

        void quit();
    }

    private final InputStream in;
    private final OutputStream out;
    private final Events events;
    private final ConcurrentLinkedQueue<Integer> input = new ConcurrentLinkedQueue<>();
    private final byte[] buffer = new byte[8192];
    private int buffered;
    private CharFrontend frontend;
    private boolean rawTerminal;

    StdioConsole(InputStream in, OutputStream out, Events events) {
        this.in = in;
        this.out = out;
        this.events = events;
    }

    void attach(CharFrontend device) { frontend = device; }

    /** Starts the stdin reader (a daemon thread); makes a terminal raw first. */
    void start(boolean makeRaw) {
        if (makeRaw && System.console() != null && System.console().isTerminal()) {
            rawTerminal = stty("raw", "-echo");
            if (rawTerminal) {
                Runtime.getRuntime().addShutdownHook(new Thread(() -> stty("sane")));
            }
        }
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
        boolean escaped = false;
        try {
            int b;
            while ((b = in.read()) >= 0) {
                if (escaped) {
                    escaped = false;
                    if (escapeCommand(b)) {
                        return;
                    }
                } else if (b == ESCAPE) {
                    escaped = true;
                } else {
                    queue(b);
                }
            }
        } catch (IOException e) {
            // stdin closed or unreadable: the guest simply gets no more input
        }
    }

    /** Handles the byte after Ctrl-A; true when the program should quit. */
    private boolean escapeCommand(int b) {
        switch (b) {
            case 'x', 'X' -> {
                message("QEMU: Terminated\r\n");
                events.quit();
                return true;
            }
            case 'h', 'H', '?' -> message("\r\nC-a h    print this help\r\nC-a x    exit emulator\r\n"
                    + "C-a c    switch between console and monitor\r\nC-a C-a  sends C-a\r\n");
            case 'c', 'C' -> message("\r\n(the monitor is not available yet)\r\n");
            case ESCAPE -> queue(ESCAPE);
            default -> { }
        }
        return false;
    }

    private void message(String text) {
        synchronized (this) {
            try {
                flushLocked();
                out.write(text.getBytes(StandardCharsets.US_ASCII));
                out.flush();
            } catch (IOException e) {
                // stdout gone: nothing to report it on
            }
        }
    }

    private void queue(int b) {
        input.add(b);
        events.inputAvailable();
    }

    /** Machine thread: hands queued input to the frontend while it has room. */
    void pump() {
        CharFrontend f = frontend;
        if (f == null) {
            input.clear();
            return;
        }
        while (!input.isEmpty() && f.receiveRoom() > 0) {
            f.receive(input.poll());
        }
    }

    boolean hasInput() { return !input.isEmpty(); }

    @Override
    public void frontendReady() { pump(); }

    @Override
    public synchronized void write(int b) {
        if (buffered == buffer.length) {
            flushLocked();
        }
        buffer[buffered++] = (byte) b;
    }

    synchronized void flush() { flushLocked(); }

    private void flushLocked() {
        if (buffered == 0) {
            return;
        }
        try {
            out.write(buffer, 0, buffered);
            out.flush();
        } catch (IOException e) {
            // stdout closed: drop the output as a disconnected terminal would
        }
        buffered = 0;
    }

    /** For the front end's messages. */
    PrintStream printStream() { return new PrintStream(out, true, StandardCharsets.UTF_8); }
}
