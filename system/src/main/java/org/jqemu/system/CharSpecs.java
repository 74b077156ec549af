package org.jqemu.system;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.Opts;

/**
 * The short character-device specs of -serial, -parallel, -monitor, -qmp and -gdb ("stdio", "null",
 * "file:PATH", "tcp:HOST:PORT[,opt=value...]", "telnet:...", "unix:PATH[,...]", "pty", ...), turned into the
 * chardev options -chardev would take, as QEMU's compatibility parser does, with QEMU's messages. The
 * prefixes "mon:", "chardev:" and the word "none" belong to the option using the spec.
 */
final class CharSpecs {
    /** Back ends a short spec names exactly. */
    private static final List<String> EXACT = List.of("null", "stdio", "pty", "vc", "msmouse", "braille");

    /** Thrown without a message when QEMU prints only the option's own "could not connect" line. */
    static final String NO_DETAIL = "";

    private CharSpecs() { }

    /** Checks {@code spec}, including "mon:" and "none"; throws a UserError with QEMU's first message (maybe {@link #NO_DETAIL}). */
    static void check(String spec) {
        String s = spec.startsWith("mon:") ? spec.substring(4) : spec;
        if (s.equals("none") || s.startsWith("chardev:")) return;
        toChardev(s, ignored -> { });
    }

    /** The chardev options (backend=..., -chardev's names) a short spec stands for. */
    static Opts toChardev(String spec, Consumer<String> warnings) {
        if (EXACT.contains(spec)) return backend(spec);
        if (spec.startsWith("vc:")) return backend("vc");
        if (spec.startsWith("file:")) {
            String path = spec.substring(5);
            checkWritable(path);
            return with(backend("file"), "path", path);
        }
        if (spec.startsWith("pipe:")) return with(backend("pipe"), "path", spec.substring(5));
        if (spec.startsWith("udp:")) return backend("udp");
        if (spec.startsWith("/dev/")) return with(backend("serial"), "path", spec);
        boolean telnet = spec.startsWith("telnet:");
        if (spec.startsWith("tcp:") || telnet) return tcp(spec.substring(spec.indexOf(':') + 1), telnet, warnings);
        if (spec.startsWith("unix:")) {
            String rest = spec.substring(5);
            int comma = rest.indexOf(',');
            String path = comma < 0 ? rest : rest.substring(0, comma);
            Opts opts = comma < 0 ? Opts.of(List.of()) : Options.CHARDEV.parse(rest.substring(comma + 1), warnings);
            List<Opts.Entry> entries = new ArrayList<>(List.of(new Opts.Entry("backend", "socket"), new Opts.Entry("path", path)));
            entries.addAll(withoutBackend(opts));
            return Opts.of(entries);
        }
        throw new UserError("'" + spec + "' is not a valid char driver");
    }

    /** "HOST:PORT[,opts]" or ":PORT[,opts]". */
    private static Opts tcp(String rest, boolean telnet, Consumer<String> warnings) {
        int comma = rest.indexOf(',');
        String address = comma < 0 ? rest : rest.substring(0, comma);
        int colon = address.indexOf(':');
        if (colon < 0 || colon == address.length() - 1) throw new UserError(NO_DETAIL);
        List<Opts.Entry> entries = new ArrayList<>(List.of(new Opts.Entry("backend", "socket"),
                new Opts.Entry("host", address.substring(0, colon)), new Opts.Entry("port", address.substring(colon + 1))));
        if (comma >= 0) entries.addAll(withoutBackend(Options.CHARDEV.parse(rest.substring(comma + 1), warnings)));
        if (telnet) entries.add(new Opts.Entry("telnet", "on"));
        return Opts.of(entries);
    }

    /** Options after the address: a bare first word is a boolean flag there ("server"), not a backend. */
    private static List<Opts.Entry> withoutBackend(Opts opts) {
        List<Opts.Entry> out = new ArrayList<>();
        for (Opts.Entry e : opts.entries()) {
            out.add(e.key().equals("backend") ? new Opts.Entry(e.value(), "on") : e);
        }
        return out;
    }

    private static Opts backend(String name) { return Opts.of(List.of(new Opts.Entry("backend", name))); }

    private static Opts with(Opts opts, String key, String value) {
        List<Opts.Entry> entries = new ArrayList<>(opts.entries());
        entries.add(new Opts.Entry(key, value));
        return Opts.of(entries);
    }

    /** A file back end is created on use: its folder must exist. */
    static void checkWritable(String path) {
        Path parent = Path.of(path).toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new UserError("Could not open '" + path + "': No such file or directory");
        }
    }
}
