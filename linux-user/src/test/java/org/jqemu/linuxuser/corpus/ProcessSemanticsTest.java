package org.jqemu.linuxuser.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * programs/processes.c, a static glibc program that prints what fork, wait4/waitid status encoding, SIGCHLD,
 * pipes (EOF, EPIPE with SIGPIPE, O_NONBLOCK, poll, select), close-on-exec across vfork + execve,
 * process groups and sessions, kill between processes, futex wait/wake/time-out and thread TLS do:
 * jqemu-i386's output must equal qemu-i386's (the binfmt oracle of {@link GuestRuns}, since the program
 * re-executes itself).
 */
class ProcessSemanticsTest {
    @TempDir
    Path dir;

    @Test
    void sameAsQemu() throws Exception {
        assumeTrue(HostSupport.has("gcc"), "needs gcc-multilib");
        assumeTrue(GuestRuns.oracleAvailable(), "the qemu-i386 oracle needs unshare and binfmt_misc in a user namespace");
        Path source = dir.resolve("processes.c");
        try (InputStream in = ProcessSemanticsTest.class.getResourceAsStream("/org/jqemu/linuxuser/programs/processes.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path program = dir.resolve("processes");
        Process gcc = new ProcessBuilder("gcc", "-m32", "-static", "-O2", "-pthread", "-o", program.toString(), source.toString())
                .redirectErrorStream(true).start();
        String messages = new String(gcc.getInputStream().readAllBytes());
        assertEquals(0, gcc.waitFor(), "gcc: " + messages);
        Map<String, String> env = Map.of("PATH", "/usr/bin:/bin", "LC_ALL", "C");
        GuestRuns.Outcome q = GuestRuns.oracle(List.of(program.toString()), dir, env, 60);
        GuestRuns.Outcome j = GuestRuns.jqemu(List.of(program.toString()), dir, env, 60);
        assertEquals(q.stdout(), j.stdout(), "stdout");
        assertEquals(q.stderr(), j.stderr(), "stderr");
        assertEquals(q.status(), j.status(), "exit status");
    }
}
