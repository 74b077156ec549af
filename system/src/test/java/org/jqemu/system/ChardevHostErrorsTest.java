package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * Errors that only show when a chardev meets the host (a port in use, nobody listening, a folder that does
 * not exist, a port that is not a number): stderr and status must be qemu-system-i386 7.2's, run side by
 * side on the same command line. Loopback only.
 */
class ChardevHostErrorsTest {
    private static final List<String> PREFIX = List.of("-S", "-display", "none", "-nodefaults");

    private record Outcome(int status, String err) { }

    private static Outcome qemu(List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of("qemu-system-i386"));
        command.addAll(PREFIX);
        command.addAll(args);
        Process p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        boolean exited = p.waitFor(30, TimeUnit.SECONDS);
        if (!exited) p.destroyForcibly().waitFor();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        return new Outcome(exited ? p.exitValue() : -1, err.replaceAll("(?m)^qemu-system-i386:", Main.PROGRAM + ":"));
    }

    private static Outcome ours(List<String> args) {
        List<String> all = new ArrayList<>(PREFIX);
        all.addAll(args);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        int status = Main.run(all.toArray(String[]::new), new PrintStream(OutputStream.nullOutputStream()), errStream,
                config -> PcSystem.run(config, InputStream.nullInputStream(), OutputStream.nullOutputStream(), errStream));
        return new Outcome(status, err.toString(StandardCharsets.UTF_8));
    }

    private static void same(String... args) throws Exception {
        assumeTrue(QemuCompatibilityTest.qemuInstalled() || "true".equals(System.getenv("CI")), "qemu-system-i386 is not installed");
        Outcome expected = qemu(List.of(args));
        assertEquals(expected, ours(List.of(args)), String.join(" ", args));
    }

    @Test
    void portInUse() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            int port = taken.getLocalPort();
            same("-serial", "tcp:127.0.0.1:" + port + ",server=on,wait=off");
            same("-chardev", "socket,id=c,host=127.0.0.1,port=" + port + ",server=on,wait=off");
        }
    }

    @Test
    void nobodyListening() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        same("-serial", "tcp:127.0.0.1:" + port);
    }

    @Test
    void unixSocketInAMissingFolderAndABadPort() throws Exception {
        same("-serial", "unix:/nonexistent-jqemu/d/sock,server=on,wait=off");
        same("-serial", "tcp:127.0.0.1:x,server=on,wait=off");
    }
}
