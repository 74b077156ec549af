package org.jqemu.system;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;
import org.jqemu.util.FrontEnd.UserError;

/**
 * -d and -D in system mode, in the layout of QEMU's log where QEMU has one:
 * <ul>
 * <li>{@code int}: "Servicing hardware INT=0xNN" for each interrupt taken from the PIC, and in protected
 * mode QEMU's numbered line per interrupt or exception ("     0: v=08 e=0000 i=0 cpl=0 IP=0008:... pc=...
 * SP=0010:... env->regs[R_EAX]=..." or "CR2=" for a page fault) followed by the registers;</li>
 * <li>{@code cpu}: the registers before each instruction (jqemu runs instruction by instruction while
 * logging, so its "blocks" are single instructions);</li>
 * <li>{@code in_asm}: jqemu has no disassembler, so each straight-line run of instructions is shown once,
 * as QEMU shows a block when it translates it, as addresses and raw bytes ("IN:" then "0x...:  bytes");
 * the length of an instruction that jumps is unknown, so up to 15 bytes follow it, marked "...".</li>
 * </ul>
 * {@code guest_errors} and {@code unimp} are accepted and log nothing yet. The log goes to the -D file
 * (created at start, as QEMU does) or to stderr.
 */
final class DebugLog implements AutoCloseable {
    private static final int MAX_INSTRUCTION = 15;
    private static final long CR0_PE = 1, CR0_PG = 1L << 31, CR4_PSE = 1 << 4, CR4_PAE = 1 << 5;
    private static final int PAGE_FAULT = 0x0e;
    private static final int LOG_BUFFER = 1 << 16;

    private final PrintStream out;
    private final boolean ownsOut;
    private final boolean interrupts;
    private final boolean cpuState;
    private final boolean inAsm;
    private int eventCount;
    private final Set<Long> blocksShown = new HashSet<>();
    private long expectedNext = -1;
    private boolean showingBlock;

    private DebugLog(PrintStream out, boolean ownsOut, List<String> items) {
        this.out = out;
        this.ownsOut = ownsOut;
        this.interrupts = items.contains("int");
        this.cpuState = items.contains("cpu");
        this.inAsm = items.contains("in_asm");
    }

    static DebugLog open(MachineConfig.Debug debug, PrintStream err) {
        if (debug.logFile() == null) return new DebugLog(err, false, debug.logItems());
        try {
            PrintStream file = new PrintStream(new BufferedOutputStream(new FileOutputStream(debug.logFile()), LOG_BUFFER), false,
                    StandardCharsets.UTF_8);
            return new DebugLog(file, true, debug.logItems());
        } catch (IOException e) {
            throw new UserError("could not open log file '" + debug.logFile() + "': " + e.getMessage());
        }
    }

    boolean interrupts() { return interrupts; }

    /** True when the CPU must run one instruction at a time so that each can be logged. */
    boolean stepping() { return cpuState || inAsm; }

    /** The CPU took external interrupt {@code vector} from the interrupt controller. */
    void hardwareInterrupt(int vector) {
        out.printf(Locale.ROOT, "Servicing hardware INT=0x%02x%n", vector);
    }

    /** Any interrupt or exception about to be delivered; QEMU logs them in protected mode only. */
    void event(X86Cpu cpu, int vector, boolean software, int errorCode) {
        if ((cpu.cr(0) & CR0_PE) == 0) return;
        long cs = cpu.segmentSelector(X86Cpu.CS);
        String last = vector == PAGE_FAULT ? String.format(Locale.ROOT, " CR2=%08x", cpu.cr(2))
                : String.format(Locale.ROOT, " env->regs[R_EAX]=%08x", cpu.reg(X86Cpu.EAX));
        out.printf(Locale.ROOT, "%6d: v=%02x e=%04x i=%d cpl=%d IP=%04x:%08x pc=%08x SP=%04x:%08x%s%n", eventCount++, vector,
                errorCode & 0xffff, software ? 1 : 0, cpu.cpl(), cs, cpu.eip(), (cpu.segmentBase(X86Cpu.CS) + cpu.eip()) & 0xffffffffL,
                cpu.segmentSelector(X86Cpu.SS), cpu.reg(X86Cpu.ESP), last);
        out.print(PcSystem.registerDump(cpu));
    }

    /** Runs up to {@code budget} instructions one at a time, logging each as asked; returns run()'s exit code. */
    int runLogged(X86Cpu cpu, AddressSpace memory, long budget) {
        for (long i = 0; i < budget; i++) {
            long before = linearEip(cpu);
            if (cpuState) out.print(PcSystem.registerDump(cpu));
            int r = cpu.run(1);
            if (inAsm) showInstruction(cpu, memory, before, linearEip(cpu));
            if (r != X86Cpu.EXIT_BUDGET) return r;
        }
        return X86Cpu.EXIT_BUDGET;
    }

    private static long linearEip(X86Cpu cpu) { return (cpu.segmentBase(X86Cpu.CS) + cpu.eip()) & 0xffffffffL; }

    /** One executed instruction at {@code at}; {@code next} is where the CPU went after it. */
    private void showInstruction(X86Cpu cpu, AddressSpace memory, long at, long next) {
        if (at != expectedNext) {
            showingBlock = blocksShown.add(at);
            if (showingBlock) out.print("----------------\nIN: \n");
        }
        long length = next - at;
        boolean sequential = length > 0 && length <= MAX_INSTRUCTION;
        expectedNext = sequential ? next : -1;
        if (!showingBlock) return;
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "0x%08x:  ", at));
        int shown = sequential ? (int) length : MAX_INSTRUCTION;
        for (int i = 0; i < shown; i++) {
            int b = readLinear(cpu, memory, at + i);
            if (b < 0) break;
            line.append(String.format(Locale.ROOT, "%02x ", b));
        }
        if (!sequential) line.append("...");
        out.println(line.toString().stripTrailing());
        if (!sequential) out.println();
    }

    /** A byte of guest code through the page tables (non-PAE, with 4 MiB pages), or -1 where unreadable. */
    private static int readLinear(X86Cpu cpu, AddressSpace memory, long linear) {
        long physical = linear & 0xffffffffL;
        if ((cpu.cr(0) & CR0_PG) != 0) {
            if ((cpu.cr(4) & CR4_PAE) != 0) return -1;
            long pde = readPhysical32(memory, (cpu.cr(3) & ~0xfffL) + ((linear >>> 22) & 0x3ff) * 4);
            if (pde < 0 || (pde & 1) == 0) return -1;
            if ((pde & 0x80) != 0 && (cpu.cr(4) & CR4_PSE) != 0) {
                physical = (pde & 0xffc00000L) | (linear & 0x3fffff);
            } else {
                long pte = readPhysical32(memory, (pde & ~0xfffL) + ((linear >>> 12) & 0x3ff) * 4);
                if (pte < 0 || (pte & 1) == 0) return -1;
                physical = (pte & ~0xfffL) | (linear & 0xfff);
            }
        }
        return readPhysical(memory, physical);
    }

    private static long readPhysical32(AddressSpace memory, long address) {
        long value = 0;
        for (int i = 3; i >= 0; i--) {
            int b = readPhysical(memory, address + i);
            if (b < 0) return -1;
            value = (value << 8) | b;
        }
        return value;
    }

    private static int readPhysical(AddressSpace memory, long address) {
        Page page = memory.page(address & ~Page.OFFSET_MASK);
        if (page == null || page.ram() == null) return -1;
        return page.ram().get(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK) & 0xff;
    }

    void flush() { out.flush(); }

    @Override
    public void close() {
        out.flush();
        if (ownsOut) out.close();
    }
}
