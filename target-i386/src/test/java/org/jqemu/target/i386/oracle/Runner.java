package org.jqemu.target.i386.oracle;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jqemu.memory.IoPorts;
import org.jqemu.target.i386.X86Cpu;

/** Something that runs an oracle program and returns its stdout and exit status (128 + signal when killed). */
public interface Runner {
    /** One assembled program: its i386 file and, when every case is mode-neutral, its x86_64 twin. */
    record Program(List<OracleCase> cases, Path i386, Path x86_64) { }

    /** {@code note} is set when the subject stopped for a reason of its own (an emulator bug), with what it said. */
    record Result(byte[] stdout, int status, String note) {
        public Result(byte[] stdout, int status) { this(stdout, status, null); }
    }

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

    /**
     * jqemu's X86Cpu alone, in this JVM, as the minimal Linux user-mode loop the oracle programs need: their two
     * ELF segments in a sparse memory, INT 0x80 write and exit answered here, an exception ending the program with
     * the signal Linux sends for it. (linux-user's runner runs the same programs through the whole process model.)
     */
    final class Cpu implements Runner {
        private static final long BUDGET = 200_000_000L, SLICE = 1_000_000L;

        @Override public String name() { return "jqemu"; }

        @Override public boolean canRun(Program p) { return true; }

        @Override public Result run(Program p) throws IOException {
            byte[] elf = Files.readAllBytes(p.i386());
            UserImage image = UserImage.load(elf);
            X86Cpu cpu = new X86Cpu(image, IoPorts.NONE);
            cpu.enterUserMode32();
            cpu.setEip(image.entry());
            cpu.setReg(X86Cpu.ESP, UserImage.STACK_TOP);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (long done = 0; done < BUDGET; done += SLICE) {
                int exit = cpu.run(SLICE);
                switch (exit) {
                    case X86Cpu.EXIT_BUDGET -> { }
                    case X86Cpu.EXIT_INTERRUPT -> {
                        if (cpu.exitVector() != 0x80) {
                            return new Result(out.toByteArray(), 128 + SIGSEGV); // INT n through a DPL-0 gate: #GP
                        }
                        int nr = (int) cpu.reg(X86Cpu.EAX);
                        if (nr == SYS_EXIT) {
                            return new Result(out.toByteArray(), (int) cpu.reg(X86Cpu.EBX) & 0xff);
                        }
                        if (nr != SYS_WRITE) {
                            return new Result(out.toByteArray(), -1, "system call " + nr + " in an oracle program");
                        }
                        int length = (int) cpu.reg(X86Cpu.EDX);
                        out.writeBytes(image.read(cpu.reg(X86Cpu.ECX), length));
                        cpu.setReg(X86Cpu.EAX, length);
                    }
                    case X86Cpu.EXIT_EXCEPTION -> { return new Result(out.toByteArray(), 128 + signal(cpu.exitVector())); }
                    case X86Cpu.EXIT_INTERNAL_ERROR -> { return new Result(out.toByteArray(), -1, cpu.internalError()); }
                    default -> { return new Result(out.toByteArray(), -1, "unexpected exit " + exit); }
                }
            }
            return new Result(out.toByteArray(), -1, "did not finish in " + BUDGET + " instructions");
        }

        private static final int SYS_EXIT = 1, SYS_WRITE = 4;
        private static final int SIGILL = 4, SIGTRAP = 5, SIGBUS = 7, SIGFPE = 8, SIGSEGV = 11;

        /** The signal the i386 kernel sends for an exception vector (arch/x86 traps: do_trap's table). */
        static int signal(int vector) {
            return switch (vector) {
                case 0, 16, 19 -> SIGFPE;   // #DE, #MF, #XM
                case 1, 3 -> SIGTRAP;       // #DB, #BP
                case 6 -> SIGILL;           // #UD
                case 11, 12, 17 -> SIGBUS;  // #NP, #SS, #AC
                default -> SIGSEGV;         // #OF, #BR, #GP, #PF, #TS
            };
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
