package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.jqemu.target.i386.Nasm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jqemu-i386's AOT training run (bin/jqemu-launch): its embedded guest, and the guest's run. */
class TrainingTest {
    @TempDir
    Path dir;

    /** The embedded bytes are what nasm makes of the source kept beside them (the oracle: the assembler). */
    @Test
    void theEmbeddedGuestIsItsAssembledSource() throws Exception {
        byte[] assembled = Nasm.assemble(Files.readString(Path.of("src/main/asm/aot-training.asm")));
        assertArrayEquals(assembled, Training.guest());
    }

    /**
     * The training run, as bin/jqemu-launch starts it (its own JVM: Main installs host signal handlers, which a
     * test JVM must not keep): the guest prints its checksum as under qemu-i386 (Debian's qemu-user, the oracle:
     * this kernel cannot run i386 binaries), the run exits with 0 and leaves nothing behind.
     */
    @Test
    void theTrainingRunPrintsWhatQemuPrints() throws Exception {
        Path program = dir.resolve("guest");
        Files.write(program, Training.guest());
        program.toFile().setExecutable(true);
        GuestRun.Outcome expected = GuestRun.qemu(null, List.of(program.toString()), List.of(), null);
        assertEquals(0, expected.status(), expected.stderr());
        assertTrue(expected.stdout().startsWith("jqemu-i386 training ok "), expected.stdout());
        Path work = Files.createDirectory(dir.resolve("work"));
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), Training.class.getName(), work.toString())
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "the training run ended");
        assertEquals(0, p.exitValue());
        assertEquals(expected.stdout(), out);
        try (Stream<Path> left = Files.list(work)) {
            assertFalse(left.findAny().isPresent(), "the guest file was deleted");
        }
    }
}
