package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * tools/fetch-guests builds the Linux guest fixture (Debian's i386 kernel, a busybox initramfs, SeaBIOS);
 * the real qemu-system-i386 boots it and runs a command through the initramfs's jqemu.run= switch.
 * Needs apt-get and root (or a filled cache) and qemu-system-i386; skipped without them, except under CI.
 */
class GuestFixtureTest {
    private static final Path SCRIPT = Path.of("").toAbsolutePath().getParent().resolve("tools/fetch-guests");

    private static boolean onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, program))) return true;
        }
        return false;
    }

    private static boolean isRoot() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("id", "-u").start();
        String uid = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        p.waitFor();
        return uid.equals("0");
    }

    private record Result(int status, String output) { }

    private static Result run(List<String> command, long timeoutSeconds) throws Exception {
        Path log = Files.createTempFile("guest-fixture", ".log");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
                throw new AssertionError(command.get(0) + " did not finish in " + timeoutSeconds + " s:\n" + Files.readString(log));
            }
            return new Result(p.exitValue(), Files.readString(log));
        } finally {
            Files.delete(log);
        }
    }

    @Test
    void initramfsBootsUnderQemuAndRunsTheCommand() throws Exception {
        if (!"true".equals(System.getenv("CI"))) {
            assumeTrue(onPath("apt-get"), "apt-get is unavailable: cannot fetch the Debian guest packages");
            assumeTrue(isRoot(), "not root: cannot enable i386 packages or update apt lists");
            assumeTrue(onPath("qemu-system-i386"), "qemu-system-i386 is not installed (package qemu-system-x86)");
        }
        Result fetch = run(List.of("bash", SCRIPT.toString()), 900);
        assertEquals(0, fetch.status(), fetch.output());
        Map<String, String> paths = new HashMap<>();
        for (String line : fetch.output().lines().toList()) {
            int eq = line.indexOf('=');
            if (eq > 0 && !line.startsWith("fetch-guests:")) paths.put(line.substring(0, eq), line.substring(eq + 1));
        }
        for (String key : List.of("vmlinuz", "initramfs", "bios")) {
            assertTrue(paths.containsKey(key) && Files.exists(Path.of(paths.get(key))), key + " missing in:\n" + fetch.output());
        }
        assertTrue(Files.isRegularFile(Path.of(paths.get("bios"), "bios-256k.bin")));

        Result boot = run(List.of("qemu-system-i386", "-nographic", "-no-reboot", "-L", paths.get("bios"),
                "-kernel", paths.get("vmlinuz"), "-initrd", paths.get("initramfs"),
                "-append", "console=ttyS0 quiet jqemu.run=uname -a; (exit 7)"), 300);
        String out = boot.output();
        assertEquals(0, boot.status(), out);
        assertTrue(out.contains("Linux jqemu " + paths.get("kernel-release") + " "), out);
        assertTrue(out.contains(" i686 GNU/Linux"), out);
        assertTrue(out.contains("jqemu.run: exit status 7"), out);
        assertTrue(out.contains("reboot: Power down"), out);
    }
}
