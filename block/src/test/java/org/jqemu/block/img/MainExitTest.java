package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.block.Oracle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jqemu-img ends its process without System.exit's logging of the call (which bootstraps the JDK's logging
 * back end, opening every jar of the class path: Main.exit), and still leaves its output and status whole;
 * shutdown hooks still run when a flight recording was asked for. A separate JVM, as bin/jqemu-launch starts it
 * (jdk.internal.misc exported), with java.util.logging configured to print the JDK's "java.lang.Runtime"
 * logger, which System.exit writes to at DEBUG level.
 */
class MainExitTest {
    @TempDir
    Path dir;

    @Test
    void exitSkipsTheRuntimeExitLoggerAndKeepsOutputAndStatus() throws Exception {
        Path config = dir.resolve("logging.properties");
        Files.writeString(config, "handlers=java.util.logging.ConsoleHandler\n.level=ALL\n"
                + "java.util.logging.ConsoleHandler.level=ALL\n");
        Oracle.Run version = jqemuImg(config, "--version");
        assertEquals(0, version.status(), version.describe());
        assertTrue(version.out().startsWith("jqemu-img version "), version.describe());
        assertFalse(version.err().contains("Runtime.exit"), "System.exit's logger was used: " + version.describe());

        Oracle.Run failed = jqemuImg(config, "info", dir.resolve("missing.img").toString());
        assertEquals(1, failed.status(), failed.describe());
        assertTrue(failed.err().startsWith("jqemu-img: Could not open "), failed.describe());
        assertFalse(failed.err().contains("Runtime.exit"), failed.describe());
    }

    @Test
    void withoutTheJvmsArgumentsInSightHooksRunAsBefore() throws Exception {
        Path config = dir.resolve("logging.properties");
        Files.writeString(config, "handlers=java.util.logging.ConsoleHandler\n.level=ALL\n"
                + "java.util.logging.ConsoleHandler.level=ALL\n");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Djava.util.logging.config.file=" + config, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "--version"); // no --add-exports: jdk.internal.misc.VM out of reach
        Oracle.Run r = Oracle.exec(dir, cmd);
        assertEquals(0, r.status(), r.describe());
        assertTrue(r.out().startsWith("jqemu-img version "), r.describe());
        assertTrue(r.err().contains("Runtime.exit"), "System.exit, as before: " + r.describe());
    }

    @Test
    void hooksRunWhenAFlightRecordingWasAskedFor() {
        assertTrue(Main.ShutdownHooks.wanted(new String[] {"-Xss8m", "-XX:StartFlightRecording=filename=x.jfr"}));
        assertTrue(Main.ShutdownHooks.wanted(new String[] {"-XX:+FlightRecorder"}));
        assertFalse(Main.ShutdownHooks.wanted(new String[] {"-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"}));
    }

    @Test
    void onlyCommandsThatOpenImagesReadTheLockTableAhead() {
        assertTrue(Main.opensImages("convert"));
        assertTrue(Main.opensImages("info"));
        assertFalse(Main.opensImages("--version"), "its exit would wait for the read");
        assertFalse(Main.opensImages("create"), "locks nothing");
        assertFalse(Main.opensImages("nonsense"));
    }

    private Oracle.Run jqemuImg(Path loggingConfig, String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-Djava.util.logging.config.file=" + loggingConfig, "-cp", System.getProperty("java.class.path"),
                Main.class.getName()));
        cmd.addAll(List.of(args));
        return Oracle.exec(dir, cmd);
    }
}
