package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Static glibc programs (built with gcc -m32 -static) run under jqemu in this JVM and under qemu-i386,
 * the oracle, with the same argv and environment: standard output, standard error (with the "uncaught
 * target signal" line) and exit status must agree.
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
        return GuestRun.compile(name, dir);
    }

    private static final List<String> ENV = List.of("JQEMU_TEST_VAR=from the test");

    private static GuestRun.Outcome qemu(Path program, String... args) throws IOException, InterruptedException {
        return GuestRun.qemu(null, argv(program, args), ENV, null);
    }

    private static GuestRun.Outcome jqemu(Path program, String... args) throws Exception {
        return GuestRun.jqemu(null, argv(program, args), ENV, null);
    }

    private static List<String> argv(Path program, String... args) {
        List<String> argv = new ArrayList<>(List.of(program.toString()));
        argv.addAll(List.of(args));
        return argv;
    }

    @Test
    void startupHeapFilesAndTimeMatchQemu() throws Exception {
        Path file = dir.resolve("data.txt");
        GuestRun.Outcome expected = qemu(basics, file.toString());
        Files.deleteIfExists(file);
        assertEquals(expected, jqemu(basics, file.toString()));
        assertEquals(7, expected.status(), "the oracle itself ran the program");
    }

    @Test
    void signalHandlersMatchQemu() throws Exception {
        GuestRun.Outcome expected = qemu(handlers);
        assertEquals(128 + 12, expected.status(), "the oracle ends with SIGUSR2 after SA_RESETHAND");
        assertEquals(expected, jqemu(handlers));
    }

    @ParameterizedTest
    @ValueSource(strings = {"abort", "fpe", "segv", "ill", "term", "ignored", "exit"})
    void signalsAndExitsMatchQemu(String how) throws Exception {
        assertEquals(qemu(signals, how), jqemu(signals, how));
    }
}
