package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one guest program two ways with the same argv, environment (in the same order) and stdin: under
 * qemu-i386, the oracle (this machine's kernel cannot run i386 programs itself), and under jqemu inside this
 * JVM. The outcome is stdout, stderr (QEMU's "qemu:" prefix read as "jqemu:") and the exit status.
 */
final class GuestRun {
    /** What a run produced; bytes are kept as ISO-8859-1 text so that binary output compares exactly. */
    record Outcome(String stdout, String stderr, int status) { }

    private GuestRun() { }

    /** Builds {@code programs/NAME.c} from the test resources with gcc -m32 -static. */
    static Path compile(String name, Path dir) throws IOException, InterruptedException {
        Path source = dir.resolve(name + ".c");
        try (InputStream in = GuestRun.class.getResourceAsStream("programs/" + name + ".c")) {
            Files.write(source, in.readAllBytes());
        }
        Path out = dir.resolve(name);
        Process p = new ProcessBuilder("gcc", "-m32", "-O2", "-static", "-o", out.toString(), source.toString())
                .redirectErrorStream(true).start();
        String messages = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "gcc: " + messages);
        return out;
    }

    /**
     * qemu-i386 [-L sysroot] argv... with exactly {@code env}. qemu-i386 hands the environment to the guest in
     * reverse order (its list is built by prepending), where a native execve, and jqemu, keep it: the oracle is
     * given the list reversed so that its guest sees the native order.
     */
    static Outcome qemu(String sysroot, List<String> argv, List<String> env, Path stdin) throws IOException, InterruptedException {
        return qemuWith(sysroot == null ? List.of() : List.of("-L", sysroot), argv, env, stdin);
    }

    /** qemu-i386 with options before the program (-L, -strace...). */
    static Outcome qemuWith(List<String> options, List<String> argv, List<String> env, Path stdin) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("env", "-i"));
        command.addAll(env.reversed());
        command.add("qemu-i386");
        command.addAll(options);
        command.addAll(argv);
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.redirectInput(stdin == null ? ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())
                : ProcessBuilder.Redirect.from(stdin.toFile()));
        Process p = pb.start();
        byte[][] streams = new byte[2][];
        Thread errReader = Thread.ofVirtual().start(() -> streams[1] = readAll(p.getErrorStream()));
        streams[0] = readAll(p.getInputStream());
        errReader.join();
        p.waitFor(10, TimeUnit.MINUTES);
        String err = new String(streams[1], StandardCharsets.ISO_8859_1).replace("qemu: uncaught", "jqemu: uncaught");
        return new Outcome(new String(streams[0], StandardCharsets.ISO_8859_1), err, p.exitValue());
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** The same run under jqemu in this JVM; stdin is a host file (or /dev/null). */
    static Outcome jqemu(String sysroot, List<String> argv, List<String> env, Path stdin) throws Exception {
        return jqemu(sysroot, false, argv, env, stdin);
    }

    /** With {@code strace}, the -strace lines go to stderr after the guest's own. */
    static Outcome jqemu(String sysroot, boolean strace, List<String> argv, List<String> env, Path stdin) throws Exception {
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(messages, true);
        Path program = Path.of(argv.getFirst());
        GuestProcess.Config config = new GuestProcess.Config(program, argv, env, InitialStack.DEFAULT_SIZE, sysroot,
                strace, false, err, err);
        int in = HostOs.openat(HostOs.AT_FDCWD, stdin == null ? "/dev/null" : stdin.toString(), 0, 0);
        CapturedOutput out = new CapturedOutput();
        CapturedOutput errors = new CapturedOutput();
        GuestProcess process = new GuestProcess(config, Files.readAllBytes(program), new HostFile(in, true), out, errors);
        try {
            int status = process.run();
            String stderr = new String(errors.toByteArray(), StandardCharsets.ISO_8859_1) + messages.toString(StandardCharsets.ISO_8859_1);
            return new Outcome(new String(out.toByteArray(), StandardCharsets.ISO_8859_1), stderr, status);
        } finally {
            process.close();
            HostOs.close(in);
        }
    }
}
