package org.jqemu.linuxuser.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Signals at the edge of the emulator, compared with qemu-i386: SIGINT from the host (what Ctrl-C makes the
 * terminal send) ends a guest sleep with the shell's 130, and a guest NULL dereference ends with 139 and
 * QEMU's one-line report, never a Java stack trace.
 */
class HostSignalTest {
    @TempDir
    Path dir;

    /** Starts {@code command}, waits for "ready" on its stdout, sends SIGINT, returns the exit status. */
    private static int interruptAfterReady(List<String> command, Path dir) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        try {
            InputStream out = p.getInputStream();
            StringBuilder seen = new StringBuilder();
            int c;
            while (!seen.toString().contains("ready") && (c = out.read()) >= 0) {
                seen.append((char) c);
            }
            // the guest prints "ready" just before exec'ing sleep: give it a moment to be asleep
            Thread.sleep(500);
            new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).start().waitFor();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), "still running 30 s after SIGINT");
            return p.exitValue();
        } finally {
            p.destroyForcibly();
        }
    }

    /**
     * A guest sleep, and cat blocked reading a host pipe that never delivers (a native read, yet Ctrl-C must
     * still end it).
     */
    @ParameterizedTest
    @ValueSource(strings = {"exec sleep 20", "exec cat"})
    void ctrlCInterrupts(String blocked) throws Exception {
        Path busybox = GuestRuns.busybox();
        GuestRuns.require(busybox != null, "no busybox-static:i386 (tools/fetch-guests failed)");
        GuestRuns.require(HostSupport.has("qemu-i386"), "needs qemu-user");
        List<String> guest = List.of(busybox.toString(), "sh", "-c", "echo ready; " + blocked);
        List<String> qemu = new ArrayList<>(List.of("qemu-i386"));
        qemu.addAll(guest);
        int expected = interruptAfterReady(qemu, dir);
        assertEquals(130, expected, "qemu-i386's status (the oracle) should be 128 + SIGINT");
        assertEquals(expected, interruptAfterReady(GuestRuns.jqemuCommand(guest), dir));
    }

    /**
     * As above, with SIGINT ignored by the emulator's parent (a shell's background job without job control, as a CI
     * runner may start the tests): qemu-i386 still delivers it to the guest.
     */
    @Test
    void ctrlCInterruptsWhenTheParentIgnoredIt() throws Exception {
        Path busybox = GuestRuns.busybox();
        GuestRuns.require(busybox != null, "no busybox-static:i386 (tools/fetch-guests failed)");
        GuestRuns.require(HostSupport.has("qemu-i386"), "needs qemu-user");
        List<String> guest = List.of(busybox.toString(), "sh", "-c", "echo ready; exec sleep 20");
        List<String> qemu = new ArrayList<>(List.of("qemu-i386"));
        qemu.addAll(guest);
        int expected = interruptAfterReady(ignoringSigint(qemu), dir);
        assertEquals(130, expected, "qemu-i386's status (the oracle) should be 128 + SIGINT");
        assertEquals(expected, interruptAfterReady(ignoringSigint(GuestRuns.jqemuCommand(guest)), dir));
    }

    /** {@code command} exec'd by a shell that ignores SIGINT (the disposition its exec keeps). */
    private static List<String> ignoringSigint(List<String> command) {
        List<String> c = new ArrayList<>(List.of("sh", "-c", "trap '' INT; exec \"$@\"", "sh"));
        c.addAll(command);
        return c;
    }

    @Test
    void nullDereferenceDiesWithSigsegv() throws Exception {
        GuestRuns.require(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
        Path source = dir.resolve("null.c");
        Files.writeString(source, "int main(void) { *(volatile int *)0 = 1; return 0; }\n");
        Path program = dir.resolve("null");
        Process gcc = new ProcessBuilder("gcc", "-m32", "-static", "-O2", "-o", program.toString(), source.toString())
                .redirectErrorStream(true).start();
        gcc.getInputStream().readAllBytes();
        assertEquals(0, gcc.waitFor(), "gcc");
        java.util.Map<String, String> env = java.util.Map.of("PATH", "/usr/bin:/bin");
        GuestRuns.Outcome q = GuestRuns.plain(List.of("qemu-i386", program.toString()), dir, env, 60);
        GuestRuns.Outcome j = GuestRuns.jqemu(List.of(program.toString()), dir, env, 60);
        assertEquals(139, q.status(), "oracle status");
        assertEquals(q.status(), j.status(), "exit status");
        assertEquals(q.stderr().replace("qemu: uncaught", "jqemu: uncaught"), j.stderr(), "stderr: one line, no stack trace");
        assertFalse(j.stderr().contains("at org.jqemu"), "a Java stack trace escaped");
    }
}
