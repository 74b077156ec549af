package org.jqemu.util;

import java.io.PrintStream;

/** What every command-line front end (jqemu-system-i386, jqemu-i386, jqemu-img) shares: version text and QEMU-style errors. */
public final class FrontEnd {
    public static final String VERSION = "0.1.0";
    /** The QEMU release whose interface (options, formats, defaults) we match. */
    public static final String QEMU_COMPAT = "7.2.0";

    private FrontEnd() { }

    /** QEMU's `-version` text, with our name. */
    public static String versionText(String program) {
        return program + " version " + VERSION + " (jqemu, compatible with QEMU " + QEMU_COMPAT + ")\n"
                + "Copyright (c) 2026 the jqemu developers\n";
    }

    /** A user error: QEMU prints "program: message" on stderr and exits 1. */
    public static final class UserError extends RuntimeException {
        private final int status;

        public UserError(String message) { this(message, 1); }

        public UserError(String message, int status) {
            super(message, null, false, false);
            this.status = status;
        }

        public int status() { return status; }
    }

    /** Prints "program: message" the way QEMU's error_report does. */
    public static void report(PrintStream err, String program, String message) {
        err.println(program + ": " + message);
    }
}
