package org.jqemu.util.opts;

/** The user asked for a list ("help" or "?"): print {@code text} on stdout and exit with {@code status}. */
public final class HelpRequested extends RuntimeException {
    private final String text;
    private final int status;

    public HelpRequested(String text, int status) {
        super("help", null, false, false);
        this.text = text;
        this.status = status;
    }

    public String text() { return text; }

    public int status() { return status; }
}
