package org.jqemu.system;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;

import org.jqemu.util.FrontEnd.UserError;

/**
 * -d and -D in system mode. "int" writes QEMU's line for each hardware interrupt the CPU takes
 * ("Servicing hardware INT=0x08"); the other items are accepted and log nothing yet. The log goes to the
 * -D file (created at start, as QEMU does) or to stderr.
 */
final class DebugLog implements AutoCloseable {
    private final PrintStream out;
    private final boolean ownsOut;
    private final boolean interrupts;

    private DebugLog(PrintStream out, boolean ownsOut, List<String> items) {
        this.out = out;
        this.ownsOut = ownsOut;
        this.interrupts = items.contains("int");
    }

    static DebugLog open(MachineConfig.Debug debug, PrintStream err) {
        if (debug.logFile() == null) return new DebugLog(err, false, debug.logItems());
        try {
            PrintStream file = new PrintStream(new FileOutputStream(debug.logFile()), false, StandardCharsets.UTF_8);
            return new DebugLog(file, true, debug.logItems());
        } catch (IOException e) {
            throw new UserError("could not open log file '" + debug.logFile() + "': " + e.getMessage());
        }
    }

    boolean interrupts() { return interrupts; }

    /** The CPU took external interrupt {@code vector} from the interrupt controller. */
    void hardwareInterrupt(int vector) {
        out.printf(Locale.ROOT, "Servicing hardware INT=0x%02x%n", vector);
    }

    void flush() { out.flush(); }

    @Override
    public void close() {
        out.flush();
        if (ownsOut) out.close();
    }
}
