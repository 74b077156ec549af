package org.jqemu.linuxuser.corpus;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jqemu.target.i386.oracle.HostSupport;

/**
 * Runs an i386 program two ways: under jqemu-i386 (a separate JVM with this test's class path, so exit
 * status, stdout and stderr are the real process's), and under the oracle, qemu-i386. This machine's
 * kernel cannot run i386 programs, so the oracle runs in a private user and mount namespace where
 * binfmt_misc hands every i386 ELF to qemu-i386 (flags P and F: argv[0] preserved, interpreter opened
 * at registration) — the setup of a Debian host with qemu-user-binfmt, which lets guest programs exec
 * other guest programs as they must for shells.
 */
public final class GuestRuns {
    private static final String BINFMT_I386 = ":i386:M::"
            + "\\x7fELF\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00:"
            + "\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:";
    private static Boolean oracleWorks;

    /** What a run produced. */
    public record Outcome(String stdout, String stderr, int status) { }

    private GuestRuns() { }

    /**
     * Skips the test when {@code available} is false, except under CI (CI=true), where a missing fixture or
     * tool is a failure: the proof must not pass by being skipped.
     */
    public static void require(boolean available, String reason) {
        if (!available && "true".equals(System.getenv("CI"))) {
            org.junit.jupiter.api.Assertions.fail(reason);
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(available, reason);
    }

    /** The repository's tools folder (the tests run in the module's folder). */
    static Path tools() {
        return Path.of(System.getProperty("user.dir")).getParent().resolve("tools");
    }

    /** What a tools/ script printed on stdout (trimmed), or null when it failed. */
    static String tool(String name) {
        try {
            Process p = new ProcessBuilder(tools().resolve(name).toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes()).strip();
            return p.waitFor() == 0 && !out.isEmpty() ? out : null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /**
     * Debian's busybox-static:i386: tools/fetch-guests fetches it into its cache (on first use), and it is
     * taken out of the initramfs there once, as tools/main-job --user does. Null when it cannot be had.
     */
    public static synchronized Path busybox() {
        Path cached = cachedBusybox();
        if (cached != null) {
            return cached;
        }
        String guests = tool("fetch-guests");
        if (guests == null) {
            return null;
        }
        String initramfs = guests.lines().filter(l -> l.startsWith("initramfs=")).map(l -> l.substring(10)).findFirst().orElse(null);
        if (initramfs == null) {
            return null;
        }
        try {
            Path work = Files.createTempDirectory("jqemu-busybox");
            Process p = new ProcessBuilder("sh", "-c", "gzip -dc \"$1\" | cpio -id --quiet bin/busybox", "extract", initramfs)
                    .directory(work.toFile()).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            Path extracted = work.resolve("bin/busybox");
            if (p.waitFor() == 0 && Files.isRegularFile(extracted)) {
                Files.move(extracted, Path.of(initramfs).getParent().resolve("busybox"),
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
        return cachedBusybox();
    }

    private static Path cachedBusybox() {
        Path cache = Path.of(System.getenv().getOrDefault("XDG_CACHE_HOME", System.getProperty("user.home") + "/.cache"),
                "jqemu", "guests");
        if (!Files.isDirectory(cache)) {
            return null;
        }
        try (Stream<Path> dirs = Files.list(cache)) {
            return dirs.map(d -> d.resolve("busybox")).filter(Files::isRegularFile).sorted(Comparator.reverseOrder())
                    .findFirst().orElse(null);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the binfmt_misc oracle can be set up here (unshare, qemu-i386, a kernel with namespaced binfmt_misc). */
    public static synchronized boolean oracleAvailable() {
        if (oracleWorks == null) {
            oracleWorks = false;
            if (HostSupport.has("qemu-i386") && HostSupport.has("unshare")) {
                try {
                    Outcome o = run(oracleCommand(List.of("/bin/true")), Path.of("."), Map.of(), 30);
                    oracleWorks = o.status() == 0;
                } catch (IOException | InterruptedException e) {
                    oracleWorks = false;
                }
            }
        }
        return oracleWorks;
    }

    private static String qemuPath() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, "qemu-i386");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        return "/usr/bin/qemu-i386";
    }

    private static List<String> oracleCommand(List<String> command) {
        String script = "mount -t binfmt_misc none /proc/sys/fs/binfmt_misc || exit 120\n"
                + "printf '" + BINFMT_I386 + qemuPath() + ":PF' > /proc/sys/fs/binfmt_misc/register || exit 121\n"
                + "exec \"$@\"";
        List<String> c = new ArrayList<>(List.of("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "oracle"));
        c.addAll(command);
        return c;
    }

    /** The oracle: {@code command} (an i386 program first) with i386 execs going to qemu-i386. */
    public static Outcome oracle(List<String> command, Path dir, Map<String, String> env, int timeoutSeconds)
            throws IOException, InterruptedException {
        List<String> c = new ArrayList<>(List.of("env", "-i"));
        env.forEach((k, v) -> c.add(k + "=" + v));
        c.addAll(command);
        Outcome o = run(oracleCommand(c), dir, Map.of(), timeoutSeconds);
        // QEMU names itself in its fatal-signal line; jqemu says "jqemu:" (the only rewrite, and a visible one)
        return new Outcome(o.stdout(), o.stderr().replace("qemu: uncaught target signal", "jqemu: uncaught target signal"), o.status());
    }

    /** jqemu-i386 in a fresh JVM with exactly the environment {@code env}. */
    public static Outcome jqemu(List<String> command, Path dir, Map<String, String> env, int timeoutSeconds)
            throws IOException, InterruptedException {
        return run(jqemuCommand(command), dir, env, timeoutSeconds);
    }

    /** The host command that runs {@code command} under jqemu-i386 in a fresh JVM with this test's class path. */
    public static List<String> jqemuCommand(List<String> command) {
        List<String> c = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                "-cp", System.getProperty("java.class.path"), "org.jqemu.linuxuser.Main"));
        c.addAll(command);
        return c;
    }

    /** A host command (qemu-i386 itself, or a native build) with exactly the environment {@code env}. */
    public static Outcome plain(List<String> command, Path dir, Map<String, String> env, int timeoutSeconds)
            throws IOException, InterruptedException {
        return run(command, dir, env, timeoutSeconds);
    }

    private static Outcome run(List<String> command, Path dir, Map<String, String> env, int timeoutSeconds)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        if (!env.isEmpty()) {
            pb.environment().clear();
            pb.environment().putAll(env);
        }
        Path out = Files.createTempFile("jqemu-run", ".out");
        Path err = Files.createTempFile("jqemu-run", ".err");
        try {
            pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor();
                return new Outcome(Files.readString(out), Files.readString(err) + "\n[timed out after " + timeoutSeconds + " s]", -1);
            }
            return new Outcome(Files.readString(out), Files.readString(err), p.exitValue());
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** Same stderr and exit status, and the same stdout once {@code normalise} (named by {@code what}) is applied. */
    public static void assertSame(Outcome expected, Outcome actual, java.util.function.UnaryOperator<String> normalise,
                                  String what) {
        org.junit.jupiter.api.Assertions.assertAll(
                () -> org.junit.jupiter.api.Assertions.assertEquals(normalise.apply(expected.stdout()), normalise.apply(actual.stdout()), what),
                () -> org.junit.jupiter.api.Assertions.assertEquals(expected.stderr(), actual.stderr(), "stderr"),
                () -> org.junit.jupiter.api.Assertions.assertEquals(expected.status(), actual.status(), "exit status"));
    }

    public static void assertSame(Outcome expected, Outcome actual) {
        assertSame(expected, actual, java.util.function.UnaryOperator.identity(), "stdout");
    }

    /** gcc -O2 -pthread: a static i386 program ({@code -m32 -static}) or one for the host (x86_64). */
    public static Path compile(Path source, Path out, boolean i386) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("gcc", "-O2", "-pthread", "-o", out.toString(), source.toString()));
        if (i386) {
            command.addAll(1, List.of("-m32", "-static"));
        }
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String messages = new String(p.getInputStream().readAllBytes());
        org.junit.jupiter.api.Assertions.assertEquals(0, p.waitFor(), "gcc " + source + ": " + messages);
        return out;
    }
}
