package org.jqemu.block.img;

/** A command-line error: printed as "jqemu-img: message" (plus the --help hint when asked), exit status given. */
final class UsageError extends Exception {
    final int status;
    final boolean hint;

    UsageError(String message) {
        this(message, 1, false);
    }

    UsageError(String message, int status, boolean hint) {
        super(message, null, false, false);
        this.status = status;
        this.hint = hint;
    }

    static UsageError withHint(String message) {
        return new UsageError(message, 1, true);
    }
}
