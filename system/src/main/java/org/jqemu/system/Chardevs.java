package org.jqemu.system;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.chr.CharFrontend;
import org.jqemu.system.chardev.Chardev;
import org.jqemu.system.chardev.ChardevException;
import org.jqemu.system.chardev.FileChardev;
import org.jqemu.system.chardev.MuxChardev;
import org.jqemu.system.chardev.NullChardev;
import org.jqemu.system.chardev.PtyChardev;
import org.jqemu.system.chardev.SocketChardev;
import org.jqemu.system.monitor.HmpMonitor;
import org.jqemu.system.monitor.MachineControl;
import org.jqemu.util.FrontEnd;
import org.jqemu.util.opts.Opts;

/**
 * The machine's chardevs, created from {@link MachineConfig#chardevs()} in order (host errors carry the
 * option that asked for the chardev, as QEMU reports them), the monitors attached to theirs, and what the
 * machine loop calls between slices: {@link #pump()} input into the frontends, {@link #flush()} output.
 */
final class Chardevs {
    private final Map<String, Chardev> byId = new LinkedHashMap<>();
    private final List<HmpMonitor> monitors = new ArrayList<>();
    private final List<StdioConsole> stdio = new ArrayList<>();
    private final Map<StdioConsole, Boolean> stdioSignals = new LinkedHashMap<>();

    /** Opens every chardev; on an error closes those already open and throws a LocatedError. */
    static Chardevs open(MachineConfig config, InputStream in, OutputStream out, PrintStream err, Runnable wake, Runnable quit) {
        Chardevs all = new Chardevs();
        try {
            for (MachineConfig.CharDevice d : config.chardevs()) {
                Chardev c = all.create(d, in, out, err, quit);
                c.onInput(wake);
                all.byId.put(d.id(), c);
            }
        } catch (RuntimeException e) {
            all.close();
            throw e;
        }
        return all;
    }

    private Chardev create(MachineConfig.CharDevice d, InputStream in, OutputStream out, PrintStream err, Runnable quit) {
        Opts o = d.opts();
        String backend = o.get("backend", "");
        boolean mux = o.bool("mux", false);
        Chardev c;
        try {
            c = switch (backend) {
                case "null", "vc", "msmouse", "braille" -> new NullChardev(d.id());
                case "stdio" -> {
                    StdioConsole s = new StdioConsole(d.id(), in, out);
                    stdio.add(s);
                    stdioSignals.put(s, o.bool("signal", !mux));
                    yield s;
                }
                case "file" -> FileChardev.open(d.id(), o.get("path", ""), o.bool("append", false));
                case "socket" -> SocketChardev.open(d.id(), address(o), o.bool("server", false), o.bool("wait", true),
                        o.bool("telnet", false), message -> FrontEnd.report(err, Main.PROGRAM, d.location() + ": " + message));
                case "pty" -> PtyChardev.open(d.id(), path -> err.println("char device redirected to " + path + " (label " + d.id() + ")"));
                default -> throw new ChardevException("'" + backend + "' is not a valid char driver name");
            };
        } catch (ChardevException e) {
            List<String> messages = new ArrayList<>(List.of(e.getMessage()));
            if (d.location().startsWith("-serial ")) {
                messages.add("could not connect serial device to character backend '" + d.location().substring(8) + "'");
            }
            throw new LocatedError(d.location(), messages);
        }
        return mux ? new MuxChardev(d.id(), c, quit) : c;
    }

    private static SocketChardev.Address address(Opts o) {
        String path = o.get("path", "");
        return path.isEmpty() ? new SocketChardev.Address(o.get("host", ""), o.get("port", ""), null)
                : new SocketChardev.Address(null, null, path);
    }

    /** Connects a frontend (null: output only) to chardev {@code id}; returns what it writes to. */
    CharBackend connect(String id, CharFrontend frontend) {
        Chardev c = byId.get(id);
        if (c == null) throw new FrontEnd.UserError("chardev '" + id + "' not found");
        return c.connect(frontend);
    }

    /** Creates the monitors of the configuration on their chardevs. */
    void attachMonitors(List<MachineConfig.Monitor> configured, MachineControl machine) {
        for (MachineConfig.Monitor m : configured) {
            if (!m.mode().equals("readline")) continue; // QMP is not implemented: its chardev stays silent
            HmpMonitor monitor = new HmpMonitor(machine);
            monitor.connect(connect(m.chardev(), monitor));
            monitors.add(monitor);
        }
    }

    /** Starts the stdin readers (after every frontend is connected, so that no early input is lost). */
    void start(boolean realStdin) {
        for (StdioConsole s : stdio) s.start(realStdin, stdioSignals.get(s));
    }

    void pump() {
        for (Chardev c : byId.values()) c.pump();
    }

    void flush() {
        for (Chardev c : byId.values()) c.flush();
    }

    void close() {
        for (Chardev c : byId.values()) {
            c.flush();
            c.close();
        }
    }

    /** "info chardev". */
    String describe() {
        StringBuilder s = new StringBuilder();
        byId.forEach((id, c) -> s.append(id).append(": filename=").append(c.filename()).append('\n'));
        return s.toString();
    }
}
