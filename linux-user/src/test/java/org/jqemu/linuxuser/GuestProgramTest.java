package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Static glibc programs (built with gcc -m32 -static) run under jqemu in this JVM and under qemu-i386,
 * the oracle: standard output, exit status and the "uncaught target signal" line must agree.
 */
class GuestProgramTest {
    @TempDir
    static Path dir;
    private static Path basics, signals, handlers;

    @BeforeAll
    static void build() throws Exception {
        assumeTrue(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
        basics = compile("basics");
        signals = compile("signals");
        handlers = compile("handlers");
    }

    private static Path compile(String name) throws IOException, InterruptedException {
        Path source = dir.resolve(name + ".c");
        try (InputStream in = GuestProgramTest.class.getResourceAsStream("programs/" + name + ".c")) {
            Files.write(source, in.readAllBytes());
        }
        Path out = dir.resolve(name);
        Process p = new ProcessBuilder("gcc", "-m32", "-O2", "-static", "-o", out.toString(), source.toString())
                .redirectErrorStream(true).start();
        String messages = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "gcc: " + messages);
        return out;
    }

    private record Outcome(String stdout, int status, String signalLine) { }

    private static Outcome qemu(Path program, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("qemu-i386", program.toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("JQEMU_TEST_VAR", "from the test");
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes());
        String err = new String(p.getErrorStream().readAllBytes());
        p.waitFor(60, TimeUnit.SECONDS);
        return new Outcome(out, p.exitValue(), err.replace("qemu: uncaught", "jqemu: uncaught"));
    }

    private static Outcome jqemu(Path program, String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of(program.toString()));
        argv.addAll(List.of(args));
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(messages, true);
        GuestProcess.Config config = new GuestProcess.Config(program, argv, List.of("JQEMU_TEST_VAR=from the test"),
                InitialStack.DEFAULT_SIZE, null, false, false, err, err);
        CapturedOutput out = new CapturedOutput();
        GuestProcess process = new GuestProcess(config, Files.readAllBytes(program), new CapturedOutput(), out, new CapturedOutput());
        try {
            int status = process.run();
            return new Outcome(new String(out.toByteArray()), status, messages.toString());
        } finally {
            process.close();
        }
    }

    @Test
    void startupHeapFilesAndTimeMatchQemu() throws Exception {
        Path file = dir.resolve("data.txt");
        Outcome expected = qemu(basics, file.toString());
        Files.deleteIfExists(file);
        assertEquals(expected, jqemu(basics, file.toString()));
        assertEquals(7, expected.status(), "the oracle itself ran the program");
    }

    @Test
    void signalHandlersMatchQemu() throws Exception {
        Outcome expected = qemu(handlers);
        assertEquals(128 + 12, expected.status(), "the oracle ends with SIGUSR2 after SA_RESETHAND");
        assertEquals(expected, jqemu(handlers));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abort", "fpe", "segv", "ill", "term", "ignored", "exit"})
    void signalsAndExitsMatchQemu(String how) throws Exception {
        assertEquals(qemu(signals, how), jqemu(signals, how));
    }
}
