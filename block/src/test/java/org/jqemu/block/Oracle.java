package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Runs Debian's qemu-img / qemu-io (the oracle) and our jqemu-img in-process. Without qemu-img the
 * calling test is skipped with a one-line reason, except under CI=true where it fails.
 */
public final class Oracle {
    /** Exit status and output of one run. */
    public record Run(int status, String out, String err) {
        public String describe() {
            return "status " + status + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private static final boolean PRESENT = findQemuImg();

    private Oracle() { }

    private static boolean findQemuImg() {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (Files.isExecutable(Path.of(dir, "qemu-img")) && Files.isExecutable(Path.of(dir, "qemu-io"))) {
                return true;
            }
        }
        return false;
    }

    /** Call first in every oracle test. */
    public static void require() {
        if (!PRESENT) {
            if ("true".equals(System.getenv("CI"))) {
                fail("qemu-img/qemu-io (Debian qemu-utils) are required under CI=true");
            }
            Assumptions.abort("qemu-img not installed (Debian package qemu-utils): oracle test skipped");
        }
    }

    public static Run qemuImg(Path dir, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("qemu-img");
        cmd.addAll(Arrays.asList(args));
        return exec(dir, cmd);
    }

    /** qemu-io on an image with the given commands (each after -c). */
    public static Run qemuIo(Path dir, String format, String image, String... commands) {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", format));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(image);
        return exec(dir, cmd);
    }

    public static Run exec(Path dir, List<String> cmd) {
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
            Path out = Files.createTempFile(dir, "out", ".txt");
            Path err = Files.createTempFile(dir, "err", ".txt");
            pb.redirectOutput(out.toFile()).redirectError(err.toFile());
            Process p = pb.start();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("timeout: " + cmd);
            }
            Run r = new Run(p.exitValue(), Files.readString(out), Files.readString(err));
            Files.delete(out);
            Files.delete(err);
            return r;
        } catch (IOException e) {
            throw new AssertionError("cannot run " + cmd + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs our jqemu-img in this JVM with the working directory's relative names resolved against dir. */
    public static Run jqemuImg(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = org.jqemu.block.img.Main.run(Arrays.asList(args), new org.jqemu.block.img.Main.Env(o, e));
        }
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Our error text with "jqemu-img:" in place of "qemu-img:" for comparison with the oracle. */
    public static String asQemu(String text) {
        return text.replace("jqemu-img", "qemu-img");
    }

    public static byte[] rawContents(Path dir, String image) throws IOException {
        Path raw = dir.resolve(image + ".oracle.raw");
        Run r = qemuImg(dir, "convert", "-O", "raw", image, raw.toString());
        if (r.status() != 0) {
            fail("qemu-img convert failed: " + r.describe());
        }
        byte[] b = Files.readAllBytes(raw);
        Files.delete(raw);
        return b;
    }
}
