package org.jqemu.linuxuser.oracle;

import java.io.IOException;
import java.io.PrintStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jqemu.linuxuser.CapturedOutput;
import org.jqemu.linuxuser.GuestProcess;
import org.jqemu.linuxuser.InitialStack;

/** Something that runs an oracle program and returns its stdout and exit status (128 + signal when killed). */
public interface Runner {
    /** One assembled program: its i386 file and, when every case is mode-neutral, its x86_64 twin. */
    record Program(List<OracleCase> cases, Path i386, Path x86_64) { }

    record Result(byte[] stdout, int status) { }

    String name();

    /** Whether this runner can run the program at all (e.g. a host without i386 support and an i386-only program). */
    boolean canRun(Program p);

    Result run(Program p) throws IOException, InterruptedException;

    /** The host CPU: the x86_64 twin when there is one, else the i386 file if the host kernel runs i386 programs. */
    final class Host implements Runner {
        private final boolean i386;

        public Host() { this.i386 = HostSupport.runsI386(); }

        @Override public String name() { return i386 ? "host (x86_64 + i386)" : "host (x86_64)"; }

        @Override public boolean canRun(Program p) { return p.x86_64() != null || i386; }

        @Override public Result run(Program p) throws IOException, InterruptedException {
            return exec(List.of((i386 || p.x86_64() == null ? p.i386() : p.x86_64()).toString()));
        }
    }

    /** qemu-i386 (Debian's QEMU 7.2): a good but imperfect oracle, used to validate the harness itself. */
    final class Qemu implements Runner {
        @Override public String name() { return "qemu-i386"; }

        @Override public boolean canRun(Program p) { return true; }

        @Override public Result run(Program p) throws IOException, InterruptedException {
            return exec(List.of("qemu-i386", p.i386().toString()));
        }
    }

    /** jqemu's linux-user runtime and X86Cpu, in this JVM. */
    final class Jqemu implements Runner {
        @Override public String name() { return "jqemu"; }

        @Override public boolean canRun(Program p) { return true; }

        @Override public Result run(Program p) throws IOException {
            PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
            GuestProcess.Config config = new GuestProcess.Config(p.i386(), List.of(p.i386().toString()), List.of(),
                    InitialStack.DEFAULT_SIZE, null, false, false, quiet, quiet);
            CapturedOutput out = new CapturedOutput();
            try {
                GuestProcess process = new GuestProcess(config, Files.readAllBytes(p.i386()), out, out, new CapturedOutput());
                try {
                    int status = process.run();
                    return new Result(out.toByteArray(), status);
                } finally {
                    process.close();
                }
            } catch (org.jqemu.linuxuser.ElfLoader.InvalidElfException e) {
                throw new IOException(e.getMessage());
            }
        }
    }

    static Result exec(List<String> command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        process.getOutputStream().close();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            throw new IOException(command + " did not finish");
        }
        return new Result(out, process.exitValue());
    }
}
