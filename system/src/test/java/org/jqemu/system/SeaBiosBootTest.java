package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SeaBIOS (Debian's bios-256k.bin, an independent firmware) runs on the pc machine with no kernel and no
 * disk: its banner and its "No bootable device" message must appear on the serial console (-nographic), and
 * the banner on its debug port too (isa-debugcon at 0x402 into a -chardev file). The wait is a hang guard, not a speed assertion.
 */
@Tag("guest")
class SeaBiosBootTest {
    private static final Path SEABIOS_DIR = Path.of("/usr/share/seabios");
    private static final long HANG_GUARD_MINUTES = 5;
    private static final String BANNER = "SeaBIOS (version";
    private static final String NO_BOOT = "No bootable device";

    /** Serial output, searchable while the machine runs. */
    private static final class Console extends OutputStream {
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override public synchronized void write(int b) { bytes.write(b); }

        @Override public synchronized void write(byte[] b, int off, int len) { bytes.write(b, off, len); }

        synchronized String text() { return bytes.toString(StandardCharsets.ISO_8859_1); }
    }

    private static String read(Path file) throws Exception {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.ISO_8859_1) : "";
    }

    @Test
    void seaBiosFindsNoBootableDevice(@TempDir Path dir) throws Exception {
        boolean present = Files.isReadable(SEABIOS_DIR.resolve("bios-256k.bin"));
        String reason = "SeaBIOS not installed: no " + SEABIOS_DIR.resolve("bios-256k.bin");
        if (!present && "true".equals(System.getenv("CI"))) fail(reason);
        assumeTrue(present, reason);

        Path debugLog = dir.resolve("seabios-debug.log");
        String[] args = {"-m", "32", "-nographic", "-L", SEABIOS_DIR.toString(), "-bios", "bios-256k.bin",
                "-chardev", "file,id=seabios,path=" + debugLog, "-device", "isa-debugcon,iobase=0x402,chardev=seabios"};
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        PcSystem system = new PcSystem(Main.parse(args, errStream), errStream);
        Console console = new Console();
        ExecutorService executor = Executors.newSingleThreadExecutor();
        Future<Integer> result = executor.submit(() -> system.start(InputStream.nullInputStream(), console));
        long end = System.currentTimeMillis() + TimeUnit.MINUTES.toMillis(HANG_GUARD_MINUTES);
        try {
            while (System.currentTimeMillis() < end && !result.isDone()) {
                if (console.text().contains(NO_BOOT)) break;
                Thread.sleep(200);
            }
        } finally {
            system.quit();
            try {
                result.get(1, TimeUnit.MINUTES);
            } finally {
                executor.shutdownNow();
            }
        }
        String serial = console.text();
        String debug = read(debugLog);
        String shown = "serial:\n" + serial + "\ndebug port:\n" + (debug.length() > 3000 ? debug.substring(0, 3000) : debug)
                + "\nstderr:\n" + err;
        System.out.println("SeaBIOS: banner on serial " + serial.contains(BANNER) + ", on debug port "
                + debug.contains(BANNER) + "; 'No bootable device' on serial " + serial.contains(NO_BOOT)
                + ", on debug port " + debug.contains(NO_BOOT));
        assertTrue(serial.contains(BANNER), shown);
        assertTrue(serial.contains(NO_BOOT), shown);
        assertTrue(debug.contains(BANNER), "SeaBIOS's debug port (0x402) log lacks the banner\n" + shown);
    }
}
