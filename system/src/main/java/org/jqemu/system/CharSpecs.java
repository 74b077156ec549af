package org.jqemu.system;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jqemu.util.FrontEnd.UserError;

/**
 * The short character-device specs of -serial, -parallel, -monitor, -qmp and -gdb ("stdio", "null",
 * "none", "file:PATH", "tcp:HOST:PORT[,...]", "mon:SPEC", ...), checked with QEMU's messages.
 */
final class CharSpecs {
    /** Back ends a short spec may name, exactly or as "name:rest". */
    private static final List<String> EXACT = List.of("none", "null", "stdio", "pty", "vc", "msmouse");
    private static final List<String> PREFIXED = List.of("file:", "pipe:", "tcp:", "telnet:", "unix:", "udp:", "chardev:");

    private CharSpecs() { }

    /** Checks {@code spec}; throws a UserError with QEMU's first message. */
    static void check(String spec) {
        if (spec.startsWith("mon:")) {
            check(spec.substring(4));
            return;
        }
        if (EXACT.contains(spec) || spec.startsWith("vc:") || spec.startsWith("/dev/")) return;
        if (spec.startsWith("file:")) {
            checkWritable(spec.substring(5));
            return;
        }
        for (String prefix : PREFIXED) {
            if (spec.startsWith(prefix)) return;
        }
        throw new UserError("'" + spec + "' is not a valid char driver");
    }

    /** A file back end is created on use: its folder must exist. */
    static void checkWritable(String path) {
        Path parent = Path.of(path).toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new UserError("Could not open '" + path + "': No such file or directory");
        }
    }
}
