package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
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
     * The guest prints its checksum as under qemu-i386 (Debian's qemu-user, the oracle: this kernel cannot run
     * i386 binaries), exits with 0, and the training run cleans up after itself.
     */
    @Test
    void theTrainingGuestRunsAsUnderQemu() throws Exception {
        Path program = dir.resolve("guest");
        Files.write(program, Training.guest());
        program.toFile().setExecutable(true);
        GuestRun.Outcome expected = GuestRun.qemu(null, List.of(program.toString()), List.of(), null);
        assertEquals(0, expected.status(), expected.stderr());
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        Path work = Files.createDirectory(dir.resolve("work"));
        assertEquals(0, Training.run(work, new PrintStream(out, true), new PrintStream(err, true)), err.toString());
        assertFalse(Files.list(work).findAny().isPresent(), "the guest file was deleted");
        GuestRun.Outcome actual = GuestRun.jqemu(null, List.of(program.toString()), List.of(), null);
        assertEquals(expected.stdout(), actual.stdout());
        assertEquals("jqemu-i386 training ok ", expected.stdout().substring(0, 23));
    }
}
