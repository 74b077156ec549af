package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
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
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
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

    static Stream<String> cases() throws IOException { return lines("/qemu-error-cases.txt"); }

    static Stream<String> acceptedCases() throws IOException { return lines("/qemu-accepted-cases.txt"); }

    private static Stream<String> lines(String resource) throws IOException {
        try (InputStream in = QemuCompatibilityTest.class.getResourceAsStream(resource)) {
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
        Outcome qemu = qemuOutcome(args, "");
        Outcome ours = runOurs(args);
        assertEquals(qemu.err(), ours.err(), "stderr of " + line);
        assertEquals(qemu.out(), ours.out(), "stdout of " + line);
        assertEquals(qemu.status(), ours.status(), "exit status of " + line);
    }

    /** QEMU accepts these; so must we, with the same warnings (the machine itself is not started). */
    @ParameterizedTest
    @MethodSource("acceptedCases")
    void acceptedLikeQemu(String line) throws Exception {
        boolean ci = "true".equals(System.getenv("CI"));
        assumeTrue(ci || qemuInstalled(), QEMU + " is not installed (package qemu-system-x86)");
        List<String> args = new ArrayList<>(PREFIX);
        args.addAll(List.of("-qmp", "stdio"));
        args.addAll(Arrays.asList(line.split(" ")));
        Outcome qemu = qemuOutcome(args, QMP_QUIT);
        assertEquals(0, qemu.status(), "qemu-system-i386 refused " + line + ":\n" + qemu.err());
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            Main.parse(args.toArray(String[]::new), new PrintStream(err, true, StandardCharsets.UTF_8));
        } catch (RuntimeException refused) {
            fail("we refused " + line + ": " + refused.getMessage() + "\n" + err.toString(StandardCharsets.UTF_8));
        }
        assertEquals(qemu.err(), err.toString(StandardCharsets.UTF_8), "stderr of " + line);
    }

    private static final String QMP_QUIT = "{\"execute\":\"qmp_capabilities\"}\n{\"execute\":\"quit\"}\n";

    private static Outcome runOurs(List<String> args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args.toArray(String[]::new), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), config -> fail("accepted " + args + ": QEMU refuses it"));
        return new Outcome(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /**
     * QEMU takes most of the time, mostly waiting: its runs start together on first use, a few at a
     * time, and each test waits for its own.
     */
    private static final Map<String, Future<Outcome>> QEMU_RUNS = new ConcurrentHashMap<>();

    private static synchronized void startQemuRuns() throws IOException {
        if (!QEMU_RUNS.isEmpty()) return;
        ExecutorService pool = Executors.newFixedThreadPool(6, r -> {
            Thread t = new Thread(r, "qemu-oracle");
            t.setDaemon(true);
            return t;
        });
        for (String line : cases().toList()) submit(pool, line, "");
        for (String line : acceptedCases().toList()) {
            List<String> args = new ArrayList<>(List.of("-qmp", "stdio"));
            args.addAll(Arrays.asList(line.split(" ")));
            submit(pool, String.join(" ", args), QMP_QUIT);
        }
        pool.shutdown();
    }

    private static void submit(ExecutorService pool, String line, String input) {
        // Lines that open an image run on their own, when their test comes: QEMU locks images.
        if (line.contains("/dev/null")) return;
        List<String> args = new ArrayList<>(PREFIX);
        args.addAll(Arrays.asList(line.split(" ")));
        QEMU_RUNS.put(String.join(" ", args), pool.submit(() -> runQemu(args, input)));
    }

    private static Outcome qemuOutcome(List<String> args, String input) throws Exception {
        startQemuRuns();
        Future<Outcome> run = QEMU_RUNS.get(String.join(" ", args));
        return run != null ? run.get() : runQemu(args, input);
    }

    private static Outcome runQemu(List<String> args, String input) throws Exception {
        Path dir = Files.createTempDirectory("qemu-compat");
        try {
            Path in = Files.writeString(dir.resolve("in"), input);
            List<String> command = new ArrayList<>(List.of(QEMU));
            command.addAll(args);
            Path out = dir.resolve("out");
            Path err = dir.resolve("err");
            Process p = new ProcessBuilder(command).redirectInput(in.toFile())
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
