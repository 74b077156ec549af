package org.jqemu.system;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.jqemu.accel.tcg.Tcg;
import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.chr.Serial16550;
import org.jqemu.system.monitor.MachineControl;
import org.jqemu.hw.i386.BzImage;
import org.jqemu.hw.i386.LinuxBoot;
import org.jqemu.hw.i386.PcMachine;
import org.jqemu.hw.timer.HostClock;
import org.jqemu.target.i386.InterruptSource;
import org.jqemu.target.i386.X86Cpu;
import org.jqemu.util.FrontEnd;
import org.jqemu.util.FrontEnd.UserError;

/**
 * Runs the {@code pc} machine: builds a {@link PcMachine} from the {@link MachineConfig}, puts an
 * {@link X86Cpu} on it, and drives the main loop on the calling thread: the CPU runs in slices of
 * {@link #SLICE} instructions, cut short when a timer falls due ({@link TimerKick}); between slices due
 * timers fire (the clock follows host time) and console input is delivered; a CPU halted with nothing to
 * do sleeps until the next timer deadline or input (an idle guest costs no host CPU). Resets (port 0x92, 8042, 0xcf9, triple fault) reset the machine, or
 * end the run with -no-reboot; ACPI power-off ends it with status 0 (with -no-shutdown the guest stays
 * stopped until Ctrl-A x); an emulator bug prints QEMU-style "fatal:" lines and a register dump, status 1.
 *
 * <p>The CPU runs under the dynamic translator ({@link Tcg}), which takes interrupts at block boundaries and
 * leaves a slice at the next one after a stop request; {@code -accel interp} or {@code -Djqemu.engine=interp}
 * runs the interpreter alone (the reference engine).
 */
final class PcSystem implements PcMachine.Host, MachineControl {
    static final long SLICE = 50_000;
    /**
     * Visits of an EIP before the translator compiles it. Higher than user mode's 16: a kernel boot runs
     * tens of thousands of distinct blocks a few thousand times each, and translating plus JIT-compiling
     * them all cost more than interpreting them (measured: README-design.md of accel-tcg).
     */
    private static final int HOT_THRESHOLD = Integer.getInteger("jqemu.tcg.threshold", 500);
    private static final String DEFAULT_BIOS = "bios-256k.bin";
    private static final List<String> BIOS_DIRS = List.of("/usr/share/seabios", "/usr/share/qemu");
    private static final int NO_EXIT = Integer.MIN_VALUE;
    private static final int EFLAGS_IF = 0x200;

    private final MachineConfig config;
    private final PrintStream err;
    private final Object wakeLock = new Object();
    private boolean wakeRequested;
    private volatile boolean quitRequested;
    private volatile int exitStatus = NO_EXIT;
    private boolean resetRequested;
    private boolean poweredOff;
    private PcMachine machine;
    private X86Cpu cpu;
    private Chardevs chardevs;
    private DebugLog log;
    /** QEMU's run states that matter here; only the machine thread changes it. */
    private enum RunState { RUNNING, PAUSED, PRELAUNCH, SHUTDOWN }
    private RunState runState = RunState.RUNNING;
    /** The translator, or null when the interpreter runs alone. */
    private Tcg tcg;
    /** Ends a slice when a timer falls due (null until the machine runs). */
    private TimerKick kick;

    PcSystem(MachineConfig config, PrintStream err) {
        this.config = config;
        this.err = err;
    }

    /** Builds and runs the machine; returns the exit status. */
    static int run(MachineConfig config, InputStream in, OutputStream out, PrintStream err) {
        return new PcSystem(config, err).start(in, out);
    }

    int start(InputStream in, OutputStream out) {
        String name = config.machine().name();
        if (!name.startsWith("pc")) {
            throw new UserError("the " + name + " machine is not available yet (only pc)");
        }
        MachineConfig.Firmware fw = config.firmware();
        BzImage kernel = fw.kernel() == null ? null : loadKernel(fw.kernel());
        byte[] initrd = fw.initrd() == null ? null : readFile(fw.initrd(), "could not load initial ram disk '" + fw.initrd() + "'");
        byte[] bios = kernel != null ? null : loadBios(fw);
        log = DebugLog.open(config.debug(), err);
        try {
            chardevs = Chardevs.open(config, in, out, err, this::wake, this::quit);
        } catch (RuntimeException e) {
            log.close();
            throw e;
        }
        try {
            buildMachine(kernel, initrd, bios);
        } catch (RuntimeException e) {
            chardevs.close();
            throw e;
        }
        cpu = new X86Cpu(machine.memory(), machine.ioPorts());
        machine.memory().onMapChange(cpu::flushTlb);
        cpu.setInterruptSource(new InterruptSource() {
            @Override public boolean interruptPending() { return machine.pic().hasInterrupt(); }
            @Override public int acknowledgeInterrupt() {
                int vector = machine.pic().acknowledge();
                if (log.interrupts()) {
                    log.hardwareInterrupt(vector & 0xff);
                }
                return vector;
            }
        });
        cpu.setFerrLine(machine.pic().irq(13));
        if (log.interrupts()) {
            cpu.setEventObserver((vector, software, hasError, error) -> log.event(cpu, vector, software, error));
        }
        tcg = interpreterOnly(config.accelerator()) ? null : newTranslator(cpu, config.accelerator());
        if (tcg != null) {
            machine.memory().onDmaWrite(tcg::invalidate);
        }
        // Guest clocks follow host time: the TSC is a 1 GHz counter of the machine clock, so Linux finds
        // it consistent with the PIT and PM timer (an instruction-count TSC stops while the CPU halts).
        HostClock tscClock = machine.clock();
        cpu.setTimeStampCounter(tscClock::nowNanos);
        chardevs.attachMonitors(config.monitors(), this);
        chardevs.start(in == System.in);
        if (config.run().startPaused()) {
            runState = RunState.PRELAUNCH;
        }
        powerOn();
        kick = new TimerKick(tscClock, cpu);
        try {
            return loop();
        } finally {
            kick.close();
            chardevs.close();
            log.close();
        }
    }

    /** {@code -accel interp} or {@code -Djqemu.engine=interp}: no translator. */
    private static boolean interpreterOnly(MachineConfig.Accelerator accel) {
        return Tcg.interpreterRequested() || (accel != null && accel.interpreter());
    }

    /** The translator as {@code -accel tcg,tb-size=N,one-insn-per-tb=on} configure it. */
    private static Tcg newTranslator(X86Cpu cpu, MachineConfig.Accelerator accel) {
        Long tbSize = accel == null ? null : accel.tbSizeMiB();
        int limit = tbSize == null ? Tcg.defaultCacheLimit() : Tcg.cacheLimitForTbSize(tbSize);
        Tcg tcg = new Tcg(cpu, limit, HOT_THRESHOLD);
        // The flat page table (-6% wall per boot, session 8), its misses leaving to the interpreter (session 13:
        // the kernel's decompressor runs with fewer register spills; accel-tcg/README-design.md)
        tcg.preferRawMemoryAccessLeavingOnMisses();
        tcg.setBackgroundTranslation(true); // blocks compiled beside the guest's thread (accel-tcg/README-design.md, session 9)
        if (accel != null && accel.oneInsnPerTb()) {
            tcg.setMaxBlockInstructions(1);
        }
        return tcg;
    }

    /** The machine with COM1-COM4 on their chardevs (a port set to "none" is left out). */
    private void buildMachine(BzImage kernel, byte[] initrd, byte[] bios) {
        List<CharBackend> serialBackends = new ArrayList<>();
        for (String id : config.serialChardevs()) {
            serialBackends.add(id.isEmpty() ? null : CharBackend.none());
        }
        MachineConfig.Firmware fw = config.firmware();
        PcMachine.Config mc = new PcMachine.Config(config.memory().ramBytes(), kernel, initrd, fw.append(), bios,
                serialBackends, config.devices(), id -> chardevs.connect(id, null), config.display().nographic(),
                config.hpet());
        try {
            machine = new PcMachine(mc, this);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        List<Serial16550> ports = machine.serialPorts();
        for (int i = 0; i < config.serialChardevs().size() && i < ports.size(); i++) {
            if (ports.get(i) != null) {
                ports.get(i).attach(chardevs.connect(config.serialChardevs().get(i), ports.get(i)));
            }
        }
    }

    private static BzImage loadKernel(String path) {
        byte[] image = readFile(path, "could not open kernel file '" + path + "'");
        try {
            return BzImage.parse(image);
        } catch (BzImage.InvalidKernelException e) {
            throw new UserError("invalid kernel header in '" + path + "': " + e.getMessage());
        }
    }

    private static byte[] loadBios(MachineConfig.Firmware fw) {
        String name = fw.bios() == null ? DEFAULT_BIOS : fw.bios();
        List<String> dirs = new ArrayList<>(fw.dataDirs() == null ? List.of() : fw.dataDirs());
        dirs.addAll(BIOS_DIRS);
        Path found = Path.of(name);
        if (!Files.isRegularFile(found)) {
            for (String dir : dirs) {
                Path candidate = Path.of(dir, name);
                if (Files.isRegularFile(candidate)) {
                    found = candidate;
                    break;
                }
            }
        }
        byte[] bios = readFile(found.toString(), "could not load PC BIOS '" + name + "'");
        if (bios.length == 0 || bios.length % 65536 != 0 || bios.length > 16 << 20) {
            throw new UserError("could not load PC BIOS '" + name + "': size " + bios.length + " is not a multiple of 64 KiB");
        }
        return bios;
    }

    private static byte[] readFile(String path, String what) {
        try {
            return Files.readAllBytes(Path.of(path));
        } catch (NoSuchFileException e) {
            throw new UserError(what + ": No such file or directory");
        } catch (IOException | OutOfMemoryError e) {
            throw new UserError(what + ": " + e.getMessage());
        }
    }

    // ---- power-on and reset ----

    private void powerOn() {
        cpu.reset();
        try {
            machine.reset();
            if (tcg != null) {
                tcg.invalidateAll(); // the reset reloaded firmware and kernel into RAM without the CPU seeing it
            }
        } catch (LinuxBoot.BootException e) {
            throw new UserError(e.getMessage());
        }
        if (machine.directBoot()) {
            cpu.setSegment(X86Cpu.CS, 0, 0, 0xffff, 0x9b);
            cpu.setEip(machine.bootEntryEip());
        }
    }

    @Override
    public void setA20(boolean enabled) {
        if (cpu != null) {
            cpu.setA20(enabled);
        }
    }

    @Override
    public void requestReset() {
        resetRequested = true;
        if (cpu != null) {
            cpu.requestStop();
        }
    }

    @Override
    public void powerOff() {
        poweredOff = true;
        if (cpu != null) {
            cpu.requestStop();
        }
    }

    @Override
    public void exit(int status) {
        exitStatus = status;
        if (cpu != null) {
            cpu.requestStop();
        }
    }

    @Override
    public void quit() {
        quitRequested = true;
        if (cpu != null) {
            cpu.requestStop();
        }
        wake();
    }

    private void wake() {
        synchronized (wakeLock) {
            wakeRequested = true;
            wakeLock.notifyAll();
        }
    }

    // ---- the main loop ----

    private int loop() {
        HostClock clock = machine.clock();
        try {
            while (true) {
                chardevs.pump();
                if (runState != RunState.RUNNING) {
                    Integer status = whileStopped(clock);
                    if (status != null) {
                        return status;
                    }
                    continue;
                }
                int r = poweredOff ? X86Cpu.EXIT_HALT : runCpu();
                clock.runExpired();
                flushOutput();
                progress(clock);
                if (quitRequested || instructions() >= STOP_AFTER) {
                    return 0;
                }
                if (exitStatus != NO_EXIT) {
                    return exitStatus;
                }
                if (poweredOff && !config.run().noShutdown()) {
                    return 0;
                }
                if (poweredOff) {
                    runState = RunState.SHUTDOWN;
                }
                if (r == X86Cpu.EXIT_SHUTDOWN) {
                    resetRequested = true;
                }
                if (r == X86Cpu.EXIT_INTERNAL_ERROR) {
                    reportFatal(cpu.internalError());
                    return 1;
                }
                if (resetRequested) {
                    resetRequested = false;
                    if (config.run().noReboot()) {
                        return 0;
                    }
                    powerOn();
                    continue;
                }
                if (r == X86Cpu.EXIT_HALT) {
                    idle(clock);
                }
            }
        } finally {
            flushOutput();
        }
    }

    /** Stopped (-S, "stop", -no-shutdown): the CPU does not run; the monitor may quit, reset or continue. */
    private Integer whileStopped(HostClock clock) {
        flushOutput();
        if (quitRequested) {
            return 0;
        }
        if (resetRequested) {
            resetRequested = false;
            if (config.run().noReboot()) {
                return 0;
            }
            powerOn();
            return null;
        }
        idle(clock);
        return null;
    }

    /**
     * One slice of guest instructions: through the translator, or the interpreter when it runs alone or
     * when {@code -d cpu/in_asm} logs each instruction (the log steps through the interpreter).
     */
    private int runCpu() {
        kick.sliceStarting();
        try {
            if (log.stepping()) {
                return log.runLogged(cpu, machine.memory(), SLICE);
            }
            return tcg != null ? tcg.run(SLICE) : cpu.run(SLICE);
        } finally {
            kick.sliceEnded();
        }
    }

    private static final boolean PROGRESS = System.getenv("JQEMU_PROGRESS") != null;
    /** With JQEMU_STOP_AFTER=N, the run ends (status 0) after N guest instructions: a fixed workload for engine comparisons. */
    private static final long STOP_AFTER = stopAfter();

    private static long stopAfter() {
        try {
            String v = System.getenv("JQEMU_STOP_AFTER");
            return v == null ? Long.MAX_VALUE : Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }
    private long nextProgress;
    /** Host time spent halted in {@link #idle} (JQEMU_PROGRESS shows it). */
    private long idleNanos;

    /** With JQEMU_PROGRESS set, one line a second on stderr: instructions retired, CS:EIP, halted (debugging aid). */
    private void progress(HostClock clock) {
        if (PROGRESS && clock.nowNanos() >= nextProgress) {
            nextProgress = clock.nowNanos() + 1_000_000_000L;
            var io = machine.ioPorts();
            io.out(0x20, 1, 0x0b);
            int isr = io.in(0x20, 1);
            io.out(0x20, 1, 0x0a);
            int irr = io.in(0x20, 1);
            err.printf(Locale.ROOT, "progress: %d insns, CS:EIP=%04x:%08x, halted=%b, IF=%b, CR0=%x, PIC imr=%02x isr=%02x irr=%02x"
                    + " slave imr=%02x, intr=%b, next timer in %d us, idle %d ms%n", cpu.instructionCount(),
                    cpu.segmentSelector(X86Cpu.CS), cpu.eip(), cpu.halted(), (cpu.eflags() & EFLAGS_IF) != 0, cpu.cr(0),
                    io.in(0x21, 1), isr, irr, io.in(0xa1, 1), machine.intr(), (clock.nextDeadline() - clock.nowNanos()) / 1000, idleNanos / 1_000_000);
            if (tcg != null) {
                err.println("progress: tcg " + tcg.stats());
            }
        }
    }

    /** The CPU is halted: sleep until the next timer deadline or until input or a quit arrives. */
    private void idle(HostClock clock) {
        if (runState == RunState.RUNNING && !poweredOff && machine.pic().hasInterrupt() && (cpu.eflags() & EFLAGS_IF) != 0) {
            return;
        }
        long deadline = poweredOff || runState != RunState.RUNNING ? Long.MAX_VALUE : clock.nextDeadline();
        if (PROGRESS && deadline == Long.MAX_VALUE && runState == RunState.RUNNING && !poweredOff) {
            // How issue #6's hang looked: a guest waiting for a timer interrupt that no device will raise.
            err.print("progress: halted with no timer armed; only input or the monitor can wake the guest\n" + registerDump(cpu));
        }
        long idleStart = clock.nowNanos();
        synchronized (wakeLock) {
            while (!wakeRequested && !quitRequested) {
                long now = clock.nowNanos();
                if (deadline != Long.MAX_VALUE && now >= deadline) {
                    break;
                }
                try {
                    if (deadline == Long.MAX_VALUE) {
                        wakeLock.wait();
                    } else {
                        long wait = deadline - now;
                        wakeLock.wait(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    quitRequested = true;
                }
            }
            wakeRequested = false;
        }
        idleNanos += clock.nowNanos() - idleStart;
    }

    private void flushOutput() {
        chardevs.flush();
        log.flush();
    }

    // ---- the monitor's requests (machine thread) ----

    @Override
    public String status() {
        return switch (runState) {
            case RUNNING -> "running";
            case PAUSED -> "paused";
            case PRELAUNCH -> "paused (prelaunch)";
            case SHUTDOWN -> "paused (shutdown)";
        };
    }

    @Override
    public void stop() {
        if (runState == RunState.RUNNING) {
            runState = RunState.PAUSED;
        }
    }

    @Override
    public void cont() {
        if (runState == RunState.SHUTDOWN) {
            // QEMU resets a machine stopped by -no-shutdown before it runs again
            poweredOff = false;
            resetRequested = true;
        }
        runState = RunState.RUNNING;
        wake();
    }

    @Override
    public void systemReset() {
        requestReset();
        wake();
    }

    @Override
    public void systemPowerdown() {
        machine.pm().pressPowerButton();
        wake();
    }

    @Override
    public String registers() { return registerDump(cpu); }

    @Override
    public String chardevs() { return chardevs.describe(); }

    private void reportFatal(String message) {
        FrontEnd.report(err, Main.PROGRAM, "fatal: " + message);
        err.print(registerDump(cpu));
        err.flush();
    }

    /** The CPU state in the layout of QEMU's "info registers" (32-bit). */
    static String registerDump(X86Cpu cpu) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x%n", cpu.reg(X86Cpu.EAX), cpu.reg(X86Cpu.EBX),
                cpu.reg(X86Cpu.ECX), cpu.reg(X86Cpu.EDX)));
        s.append(String.format(Locale.ROOT, "ESI=%08x EDI=%08x EBP=%08x ESP=%08x%n", cpu.reg(X86Cpu.ESI), cpu.reg(X86Cpu.EDI),
                cpu.reg(X86Cpu.EBP), cpu.reg(X86Cpu.ESP)));
        s.append(String.format(Locale.ROOT, "EIP=%08x EFL=%08x CPL=%d HLT=%d%n", cpu.eip(), cpu.eflags(), cpu.cpl(),
                cpu.halted() ? 1 : 0));
        String[] names = {"ES", "CS", "SS", "DS", "FS", "GS"};
        for (int seg = X86Cpu.ES; seg <= X86Cpu.GS; seg++) {
            s.append(String.format(Locale.ROOT, "%s =%04x %08x %08x%n", names[seg], cpu.segmentSelector(seg),
                    cpu.segmentBase(seg), cpu.segmentLimit(seg)));
        }
        s.append(String.format(Locale.ROOT, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x%n", cpu.cr(0), cpu.cr(2), cpu.cr(3), cpu.cr(4)));
        return s.toString();
    }

    /** Instructions the CPU retired (for the boot figures). */
    long instructions() { return cpu.instructionCount(); }
}
