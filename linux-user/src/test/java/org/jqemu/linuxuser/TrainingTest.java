package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.jqemu.linuxuser.corpus.GuestRuns;
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

    /**
     * A cache made by the training run (as bin/jqemu-launch makes it) holds every lambda that a real program's start
     * creates: busybox {@code true} run with it spins no lambda class ({@code -Xlog:class+load} names each class's
     * source). One that the cache cannot keep (its interface has static fields, as the class-file API's CodeTransform
     * has; the JDK's inside Comparator.comparingLong) or whose code the training guest does not reach is spun at every
     * start instead, a few milliseconds each (accel-tcg/README-design.md, "Session 20").
     */
    @Test
    void aTrainedCacheHoldsTheLambdasOfAProgramsStart() throws Exception {
        Path busybox = GuestRuns.busybox();
        GuestRuns.require(busybox != null, "no busybox-static:i386 (tools/fetch-guests failed)");
        // An AOT cache takes classes from jars only: this module's classes go into one.
        List<String> classPath = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            Path path = Path.of(entry);
            if (!Files.isDirectory(path)) {
                classPath.add(entry);
            } else if (path.endsWith("classes")) {
                classPath.add(jar(path, dir.resolve("linux-user.jar")).toString());
            }
        }
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> jvm = List.of(java, "--enable-native-access=ALL-UNNAMED", "--add-exports",
                "java.base/jdk.internal.misc=ALL-UNNAMED", "-XX:+UseSerialGC", "-cp", String.join(File.pathSeparator, classPath));
        Path cache = dir.resolve("training.aot");
        Path work = Files.createDirectory(dir.resolve("work"));
        assertEquals(0, run(jvm, "-XX:AOTCacheOutput=" + cache, Training.class.getName(), work.toString()), "training");
        Path log = dir.resolve("classes.log");
        assertEquals(0, run(jvm, "-XX:AOTCache=" + cache, "-Xlog:class+load:file=" + log, Main.class.getName(),
                busybox.toString(), "true"), "busybox true");
        List<String> loaded = Files.readAllLines(log);
        assertTrue(loaded.stream().anyMatch(l -> l.contains(" org.jqemu.linuxuser.Main ") && l.contains("shared objects file")),
                "the run used the cache");
        List<String> spun = loaded.stream()
                .filter(l -> l.contains("$$Lambda") && !l.contains("shared objects file")).toList();
        assertEquals(List.of(), spun, "lambda classes spun at run time");
    }

    /** Runs a JVM ({@code jvm} and then {@code args}) with no input; returns its exit status. */
    private static int run(List<String> jvm, String... args) throws Exception {
        List<String> command = new ArrayList<>(jvm);
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        assertTrue(p.waitFor(5, TimeUnit.MINUTES), "ended: " + command);
        return p.exitValue();
    }

    /** The files under {@code classes} in a new jar at {@code jar}. */
    private static Path jar(Path classes, Path jar) throws IOException {
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar)); Stream<Path> files = Files.walk(classes)) {
            for (Path file : files.filter(Files::isRegularFile).toList()) {
                out.putNextEntry(new JarEntry(classes.relativize(file).toString().replace(File.separatorChar, '/')));
                Files.copy(file, (OutputStream) out);
                out.closeEntry();
            }
        }
        return jar;
    }
}
