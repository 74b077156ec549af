package org.jqemu.system.monitor;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.chr.CharFrontend;
import org.jqemu.util.FrontEnd;

/**
 * A minimal human monitor (QEMU's HMP): a chardev frontend that reads command lines (echo, backspace;
 * terminal escape sequences such as arrow keys are ignored) and runs help, info status|registers|version|chardev,
 * stop, cont, system_reset, system_powerdown and quit with QEMU 7.2's wording. The banner appears when the
 * line opens (a client connects, stdio starts) or, on a mux, the first time the monitor gets the focus.
 * Output turns "\n" into "\r\n" as QEMU's monitor does.
 */
public final class HmpMonitor implements CharFrontend {
    static final String PROMPT = "(qemu) ";
    static final String BANNER = "QEMU " + FrontEnd.QEMU_COMPAT + " monitor - type 'help' for more information\n";
    private static final int LINE_MAX = 1024;
    private static final int ESC = 0x1b, BACKSPACE = 0x08, DELETE = 0x7f;

    private record Command(String names, String args, String help, Consumer<String> action) { }

    private final MachineControl machine;
    private final Map<String, Command> commands = new LinkedHashMap<>();
    private final Map<String, Command> infos = new LinkedHashMap<>();
    private CharBackend out = CharBackend.none();
    private final StringBuilder line = new StringBuilder();
    private boolean bannerShown;
    private boolean focused;
    private boolean afterCr;
    private int escapeState;
    /** After "quit" no prompt follows: the program is ending, as QEMU's does. */
    private boolean quitting;

    public HmpMonitor(MachineControl machine) {
        this.machine = machine;
        // Sorted by name, as QEMU's help lists them.
        add(commands, "cont|c", "", "resume emulation", arg -> machine.cont());
        add(commands, "help|?", "[cmd]", "show the help", this::help);
        add(commands, "info", "[subcommand]", "show various information about the system state", this::info);
        add(commands, "quit|q", "", "quit the emulator", arg -> {
            quitting = true;
            machine.quit();
        });
        add(commands, "stop|s", "", "stop emulation", arg -> machine.stop());
        add(commands, "system_powerdown", "", "send system power down event", arg -> machine.systemPowerdown());
        add(commands, "system_reset", "", "reset the system", arg -> machine.systemReset());
        add(infos, "chardev", "", "show the character devices", arg -> print(machine.chardevs()));
        add(infos, "registers", "", "show the cpu registers", arg -> print("CPU#0\n" + machine.registers()));
        add(infos, "status", "", "show the current VM status (running|paused)", arg -> print("VM status: " + machine.status() + "\n"));
        add(infos, "version", "", "show the version of QEMU",
                arg -> print(FrontEnd.QEMU_COMPAT + " (jqemu " + FrontEnd.VERSION + ")\n"));
    }

    private static void add(Map<String, Command> into, String names, String args, String help, Consumer<String> action) {
        Command c = new Command(names, args, help, action);
        for (String name : names.split("\\|")) into.put(name, c);
    }

    /** Where the monitor writes (its chardev, or its port of a mux). */
    public void connect(CharBackend backend) { out = backend == null ? CharBackend.none() : backend; }

    @Override
    public void focusChanged(boolean gained) {
        focused = gained;
        if (!gained) return;
        if (!bannerShown) {
            bannerShown = true;
            print(BANNER);
            print(PROMPT);
        } else {
            print("\n" + PROMPT + line);
        }
    }

    @Override
    public int receiveRoom() { return LINE_MAX; }

    @Override
    public void receive(int b) {
        if (escapeState > 0) {
            skipEscape(b);
            return;
        }
        boolean lf = b == '\n';
        boolean crlf = lf && afterCr;
        afterCr = b == '\r';
        if (crlf) return;
        if (b == '\r' || lf) {
            print("\n");
            String command = line.toString();
            line.setLength(0);
            execute(command);
            if (!quitting) print(PROMPT);
        } else if (b == BACKSPACE || b == DELETE) {
            if (!line.isEmpty()) {
                line.setLength(line.length() - 1);
                print("\b \b");
            }
        } else if (b == ESC) {
            escapeState = 1;
        } else if (b >= 0x20 && b < DELETE && line.length() < LINE_MAX) {
            line.append((char) b);
            out.write(b);
        }
    }

    /** ESC [ parameters final-byte (CSI) or ESC O x: an arrow or function key, not part of the line. */
    private void skipEscape(int b) {
        if (escapeState == 1) {
            escapeState = b == '[' || b == 'O' ? 2 : 0;
        } else if (b >= 0x40 && b <= 0x7e) {
            escapeState = 0;
        }
    }

    /** Runs one command line; output goes to the monitor's chardev. */
    void execute(String text) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) return;
        String[] parts = trimmed.split("\\s+", 2);
        String arg = parts.length > 1 ? parts[1] : "";
        Command c = commands.get(parts[0]);
        if (c == null) {
            print("unknown command: '" + parts[0] + "'\n");
            return;
        }
        if (c.args().isEmpty() && !arg.isEmpty()) {
            print(c.names() + ": extraneous characters at the end of line\n");
            return;
        }
        c.action().accept(arg);
    }

    private void info(String arg) {
        if (arg.isEmpty()) {
            print(listing(infos, "info "));
            return;
        }
        String[] parts = arg.split("\\s+", 2);
        Command c = infos.get(parts[0]);
        if (c == null) {
            print("unknown command: 'info " + parts[0] + "'\n");
            return;
        }
        if (parts.length > 1) {
            print(parts[0] + ": extraneous characters at the end of line\nTry \"help info " + parts[0] + "\" for more information\n");
            return;
        }
        c.action().accept("");
    }

    private void help(String arg) {
        if (arg.isEmpty()) {
            print(listing(commands, ""));
            return;
        }
        String[] parts = arg.split("\\s+");
        if (parts[0].equals("info") && parts.length > 1) {
            Command c = infos.get(parts[1]);
            print(c == null ? "unknown command: 'info " + parts[1] + "'\n" : line(c, "info "));
            return;
        }
        Command c = commands.get(parts[0]);
        print(c == null ? "unknown command: '" + parts[0] + "'\n" : c.names().equals("info") ? listing(infos, "info ") : line(c, ""));
    }

    private static String listing(Map<String, Command> table, String prefix) {
        StringBuilder s = new StringBuilder();
        table.values().stream().distinct().sorted((a, b) -> a.names().compareTo(b.names()))
                .forEach(c -> s.append(line(c, prefix)));
        return s.toString();
    }

    private static String line(Command c, String prefix) { return prefix + c.names() + " " + c.args() + " -- " + c.help() + "\n"; }

    private void print(String text) {
        for (byte b : text.replace("\n", "\r\n").getBytes(StandardCharsets.UTF_8)) out.write(b & 0xff);
    }

    /** True while the monitor has its line's focus (always, once opened, when it is not on a mux). */
    public boolean focused() { return focused; }
}
