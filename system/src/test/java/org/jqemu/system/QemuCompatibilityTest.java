package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The oracle is the real qemu-system-i386 (Debian's 7.2): for each bad command line of
 * qemu-error-cases.txt both programs run, and their stdout, stderr and exit status must agree once
 * QEMU's program name is replaced by ours. Skipped where qemu-system-i386 is not installed, except under CI.
 */
class QemuCompatibilityTest {
    private static final String QEMU = "qemu-system-i386";
    private static final List<String> PREFIX = List.of("-S", "-display", "none", "-nodefaults");

    record Outcome(int status, String out, String err) { }

    static Stream<String> cases() throws IOException {
        try (InputStream in = QemuCompatibilityTest.class.getResourceAsStream("/qemu-error-cases.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(l -> !l.isBlank() && !l.startsWith("#")).toList().stream();
        }
    }

    static boolean qemuInstalled() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, QEMU))) return true;
        }
        return false;
    }

    @ParameterizedTest
    @MethodSource("cases")
    void sameOutputAsQemu(String line) throws Exception {
        boolean ci = "true".equals(System.getenv("CI"));
        assumeTrue(ci || qemuInstalled(), QEMU + " is not installed (package qemu-system-x86)");
        List<String> args = new ArrayList<>(PREFIX);
        args.addAll(Arrays.asList(line.split(" ")));
        Outcome qemu = runQemu(args);
        Outcome ours = runOurs(args);
        assertEquals(qemu.err(), ours.err(), "stderr of " + line);
        assertEquals(qemu.out(), ours.out(), "stdout of " + line);
        assertEquals(qemu.status(), ours.status(), "exit status of " + line);
    }

    private static Outcome runOurs(List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Outcome runQemu(List<String> args) throws Exception {
        Path dir = Files.createTempDirectory("qemu-compat");
        try {
            List<String> command = new ArrayList<>(List.of(QEMU));
            command.addAll(args);
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            boolean exited = p.waitFor(30, TimeUnit.SECONDS);
            if (!exited) p.destroyForcibly().waitFor();
            assertTrue(exited, QEMU + " accepted " + args + ": not an error case");
            return new Outcome(p.exitValue(), Files.readString(out), ours(Files.readString(err)));
        } finally {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(dir);
        }
    }

    /** QEMU's messages with our program name; its few "qemu: " messages get the usual prefix. */
    private static String ours(String qemuText) {
        return qemuText.replaceAll("(?m)^" + QEMU + ":", Main.PROGRAM + ":").replaceAll("(?m)^qemu: ", Main.PROGRAM + ": ");
    }
}
