package org.jqemu.linuxuser.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * programs/processes.c, a static glibc program that prints what fork, wait4/waitid status encoding, SIGCHLD,
 * pipes (EOF, EPIPE with SIGPIPE, O_NONBLOCK, poll, select), close-on-exec across vfork + execve,
 * process groups and sessions, kill between processes, futex wait/wake/time-out and thread TLS do:
 * jqemu-i386's output must equal qemu-i386's (the binfmt oracle of {@link GuestRuns}, since the program
 * re-executes itself). programs/sharedmem.c does the same for shared memory across fork: MAP_SHARED and
 * MAP_PRIVATE anonymous pages, System V segments through the ipc multiplexer and the direct calls (IPC_STAT
 * fields, attach counts, keys, IPC_RMID while attached, read-only attachments); under qemu-i386 those are
 * the host kernel's own.
 */
class ProcessSemanticsTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"processes", "sharedmem"})
    void sameAsQemu(String name) throws Exception {
        assumeTrue(HostSupport.has("gcc"), "needs gcc-multilib");
        assumeTrue(GuestRuns.oracleAvailable(), "the qemu-i386 oracle needs unshare and binfmt_misc in a user namespace");
        Path source = dir.resolve(name + ".c");
        try (InputStream in = ProcessSemanticsTest.class.getResourceAsStream("/org/jqemu/linuxuser/programs/" + name + ".c")) {
            Files.write(source, in.readAllBytes());
        }
        Path program = dir.resolve(name);
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
