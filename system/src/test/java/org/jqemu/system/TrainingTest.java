package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jqemu.target.i386.Nasm;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jqemu-system-i386's AOT training run (bin/jqemu-launch): its embedded guest, and the guest's boot. */
class TrainingTest {
    private static final String PREFIX = "jqemu-system training: ";
    private static final long TIMEOUT_MINUTES = 3;

    @TempDir
    Path dir;

    /** The embedded bytes are what nasm makes of the source kept beside them (the oracle: the assembler). */
    @Test
    void theEmbeddedGuestIsItsAssembledSource() throws Exception {
        byte[] assembled = Nasm.assemble(Files.readString(Path.of("src/main/asm/aot-training.asm")));
        assertArrayEquals(assembled, Training.kernel());
    }

    /**
     * The training run, as bin/jqemu-launch starts it (its own JVM: the machine reads the process's stdin and
     * writes its stdout): the guest prints on the serial console what it prints under qemu-system-i386 7.2 (the
     * oracle: the same kernel, initrd and options; QEMU enters the guest's real-mode setup code after SeaBIOS,
     * jqemu its 32-bit entry; every line after that is the guest's own checksums of what the machine did), the
     * guest got to its last line, the run exits with status 0 and leaves nothing behind.
     */
    @Test
    void theTrainingBootPrintsWhatQemuPrints() throws Exception {
        Path kernel = dir.resolve("kernel");
        Path initrd = dir.resolve("initrd");
        Files.write(kernel, Training.kernel());
        Files.write(initrd, Training.initrd());
        List<String> qemu = new ArrayList<>(List.of("qemu-system-i386", "-accel", "tcg"));
        qemu.addAll(List.of(Training.arguments(kernel, initrd)));
        List<String> expected = guestLines(run(qemu, "qemu-system-i386"));
        assertEquals(PREFIX + "start", expected.getFirst(), String.join("\n", expected));
        assertEquals(PREFIX + "ok", expected.getLast(), String.join("\n", expected));
        assertTrue(expected.contains(PREFIX + "command line " + Training.APPEND), String.join("\n", expected));

        Path work = Files.createDirectory(dir.resolve("work"));
        List<String> jqemu = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djqemu.tcg.region=4000",
                "-cp", System.getProperty("java.class.path"), Training.class.getName(), work.toString());
        assertEquals(expected, guestLines(run(jqemu, null)));
        try (Stream<Path> left = Files.list(work)) {
            assertFalse(left.findAny().isPresent(), "the guest's files were deleted");
        }
    }

    /**
     * Runs {@code command} with stdin from /dev/null and stdout to a file (a guest that hangs fails the test
     * instead of blocking it); returns its stdout after checking that it exited with 0.
     */
    private String run(List<String> command, String skipIfMissing) throws Exception {
        Path stdout = Files.createTempFile(dir, "stdout", ".txt");
        Process p;
        try {
            p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .redirectOutput(stdout.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        } catch (IOException e) {
            if (skipIfMissing == null || "true".equals(System.getenv("CI"))) {
                throw e;
            }
            Assumptions.abort(skipIfMissing + " not installed");
            return null;
        }
        boolean ended = p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES);
        if (!ended) {
            p.destroyForcibly().waitFor();
        }
        String out = new String(Files.readAllBytes(stdout), StandardCharsets.ISO_8859_1);
        assertTrue(ended, command.getFirst() + " ended within " + TIMEOUT_MINUTES + " minutes; output:\n" + out);
        assertEquals(0, p.exitValue(), command.getFirst() + "'s status; output:\n" + out);
        return out;
    }

    /** The guest's own lines (the firmware's and the terminal's bytes around them left out). */
    private static List<String> guestLines(String out) {
        return out.replace("\r", "").lines().filter(line -> line.startsWith(PREFIX)).toList();
    }
}
