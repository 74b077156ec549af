package org.jqemu.linuxuser;

import java.io.PrintStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;

import org.jqemu.memory.IoPorts;
import org.jqemu.target.i386.X86Cpu;

/**
 * One emulated i386 Linux process: its address space, its CPU, its file descriptors, and the loop that
 * runs the CPU and plays the kernel whenever the CPU stops (system call, software interrupt, exception).
 */
public final class GuestProcess {
    /** Instructions per {@link X86Cpu#run} call: large enough to amortise the call, small enough to stay responsive. */
    private static final long BUDGET = 1 << 20;
    private static final int SYSCALL_VECTOR = 0x80;
    private static final int INITIAL_EFLAGS = 0x202; // IF set, as the kernel starts every process
    static final int MAX_FILES = 1024;

    /** How the process was started: what Main's options and environment amount to. */
    public record Config(Path executable, List<String> argv, List<String> envp, long stackSize, String ldPrefix,
                         boolean strace, boolean logUnimplemented, PrintStream log, PrintStream err) {
        public Config {
            argv = List.copyOf(argv);
            envp = List.copyOf(envp);
        }
    }

    final Config config;
    final GuestMemory memory = new GuestMemory();
    final X86Cpu cpu;
    /** The flat user data selector the CPU's user mode starts with (what signal delivery reloads into DS/ES/SS). */
    final int userDataSelector;
    final SignalDelivery signals;
    final GuestFile[] files = new GuestFile[MAX_FILES];
    final String executablePath;
    /** The sysroot, the named regions and the auxiliary vector (ElfLoader, mmap, /proc/self). */
    final ProcessImage image;
    final int pid;
    long brkStart;
    long brk;
    private Integer exitStatus;
    private Integer killedBy;

    /**
     * Loads the executable and builds the initial stack. {@code stdout} is the file behind descriptor 1
     * (a {@link HostFile} for jqemu-i386, a {@link CapturedOutput} for tests).
     */
    public GuestProcess(Config config, byte[] executableBytes, GuestFile stdin, GuestFile stdout, GuestFile stderr)
            throws ElfLoader.InvalidElfException {
        this.config = config;
        this.executablePath = config.executable().toAbsolutePath().normalize().toString();
        this.pid = (int) ProcessHandle.current().pid();
        files[0] = stdin;
        files[1] = stdout;
        files[2] = stderr;
        this.image = new ProcessImage(new PathResolver(config.ldPrefix(), executablePath));
        ElfLoader.Image image = ElfLoader.load(executableBytes, memory, this.image);
        brkStart = image.brkStart();
        brk = brkStart;
        byte[] random = new byte[16];
        new SecureRandom().nextBytes(random);
        long sp = InitialStack.build(memory, image, config.argv(), config.envp(), config.executable().toString(),
                config.stackSize(), random, HostCredentials.current());
        this.image.setInitialStack(memory, sp);
        this.image.setCmdline(config.argv());
        cpu = new X86Cpu(memory, IoPorts.NONE);
        memory.addInvalidationListener(cpu::flushTlb);
        cpu.enterUserMode32();
        userDataSelector = cpu.segmentSelector(X86Cpu.DS);
        for (int r = X86Cpu.EAX; r <= X86Cpu.EDI; r++) {
            cpu.setReg(r, 0);
        }
        cpu.setReg(X86Cpu.ESP, sp);
        cpu.setEip(image.entry());
        cpu.setEflags(INITIAL_EFLAGS);
        signals = new SignalDelivery(this);
    }

    public X86Cpu cpu() { return cpu; }

    public GuestMemory memory() { return memory; }

    /**
     * Runs until the guest exits or dies; returns the status a shell would see: the exit code, or
     * 128 + signal when a signal killed it (jqemu-i386 exits with that status, as QEMU's process does).
     */
    public int run() {
        Syscalls syscalls = new Syscalls(this);
        while (exitStatus == null) {
            int reason = cpu.run(BUDGET);
            switch (reason) {
                case X86Cpu.EXIT_BUDGET -> { }
                case X86Cpu.EXIT_INTERRUPT -> softwareInterrupt(syscalls);
                // SYSENTER: without a vDSO there is no return trampoline; we resume after the instruction.
                case X86Cpu.EXIT_SYSCALL -> {
                    syscalls.dispatch(true);
                    signals.deliverPending();
                }
                case X86Cpu.EXIT_EXCEPTION -> signals.fault(Signals.exceptionInfo(cpu.exitVector(), cpu.exitErrorCode(),
                        cpu.faultAddress(), cpu.eip()));
                case X86Cpu.EXIT_HALT -> signals.fault(Signals.privilegedInfo()); // HLT is privileged: #GP at CPL 3
                case X86Cpu.EXIT_INTERNAL_ERROR -> throw new EmulatorBug(cpu.internalError());
                default -> throw new IllegalStateException("CPU stopped with unknown reason " + reason);
            }
        }
        syscalls.extended.release(); // shared file mappings reach their files
        return exitStatus;
    }

    private void softwareInterrupt(Syscalls syscalls) {
        int vector = cpu.exitVector();
        if (vector == SYSCALL_VECTOR) {
            syscalls.dispatch(false);
            signals.deliverPending();
            return;
        }
        if (vector != 3 && vector != 4) {
            cpu.setEip(cpu.eip() - 2); // INT n faults (#GP): the context points at the CD nn instruction
        }
        signals.fault(Signals.softwareInterruptInfo(vector));
    }

    /** The CPU met a case it cannot handle (a jqemu bug, never the guest's fault): the run stops. */
    public static final class EmulatorBug extends RuntimeException {
        public EmulatorBug(String message) { super(message, null, false, false); }
    }

    /** The signal that killed the guest, or null if it exited (or is still running). */
    public Integer killedBy() { return killedBy; }

    void exit(int status) {
        exitStatus = status & 0xff;
    }

    /** The default action of a terminating signal: QEMU's message for core-dumping ones, status 128 + signal. */
    void terminate(int signal) {
        String message = Signals.uncaughtMessage(signal);
        if (message != null) {
            config.err().println(message);
        }
        killedBy = signal;
        exitStatus = 128 + signal;
    }

    boolean exited() { return exitStatus != null; }

    /** Frees the guest's memory; the process must not run again. */
    public void close() {
        for (int fd = 3; fd < files.length; fd++) {
            if (files[fd] != null) {
                files[fd].close();
                files[fd] = null;
            }
        }
        memory.close();
    }
}
