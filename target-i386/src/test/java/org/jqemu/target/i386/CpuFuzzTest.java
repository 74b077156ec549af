package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * Random byte sequences executed as code in five settings: real mode, 32-bit protected mode at CPL 3, virtual-8086
 * mode, and CPL 3 with paging (some pages absent, some read-only). The CPU runs one {@code run(1)} at a time until
 * an exception reaches its handler, the code halts, or 100 steps pass. Checked, for every case:
 * <ul>
 * <li>no Java exception escapes and the CPU never reports {@code EXIT_INTERNAL_ERROR} (an emulator bug);</li>
 * <li>at CPL 3 (protected, v86, paged), where the random code cannot reach the system tables and every gate has DPL 0, an
 *     exception is a precise fault (SDM Vol. 3A §6.5): the frame on the ring-0 stack holds the CS, EIP, EFLAGS,
 *     SS, ESP (and in v86 the data segments) the step started with, the general registers are untouched, and
 *     the frame has an error code exactly for vectors 8, 10-14 and 17;</li>
 * <li>a #PF reports in CR2 an address whose page, in the tables this test built, is absent or forbids the
 *     access the error code names, and the error code's P bit says which;</li>
 * <li>vectors 3 and 4 never arrive (INT3/INTO meet a DPL-0 gate: #GP), nor do 2, 9, 15 and 19 and up.</li>
 * </ul>
 * Real mode may reprogram anything (CPL 0, no protection), and a shutdown is a legitimate end there; an exception the
 * CPU raised (not INT n) must still leave IP, CS, FLAGS of the faulting instruction on the stack and the registers
 * untouched. A fifth setting runs the code at CPL 0 with paging (it may load CR0/CR3/CR4, the GDT and IDT, switch
 * tasks...): there only the first rule applies. Seeded (-Djqemu.fuzz.seed), deterministic.
 */
class CpuFuzzTest {
    private static final int CASES_PER_MODE = 3000;
    private static final int MAX_STEPS = 100;
    private static final int CODE_BYTES = 48;

    // Memory layout: the user area is what real and v86 code can reach (up to FFFF:FFFF = 0x10ffef) and what the
    // ring-3 segments cover; the system area above it is out of the random code's reach.
    private static final int USER_LIMIT = 0x10_ffff;
    private static final int CODE = 0x1_0000, USER_STACK = 0x2_0000;
    private static final int GDT = 0x11_0000, TSS = 0x11_1000, IDT = 0x11_2000, HANDLERS = 0x11_3000,
            RING0_STACK = 0x11_5000, PAGE_DIR = 0x11_6000, PAGE_TABLES = 0x11_7000, RAM_SIZE = 0x12_0000;
    /** Real mode: the IVT out of reach (IDTR base), handlers at FFFF:0010 + vector = 0x100000 + vector. */
    private static final int REAL_IVT = 0x11_0000, REAL_HANDLER_CS = 0xffff, REAL_HANDLER_IP = 0x10;
    private static final int ABSENT_FROM = 0x8_0000, ABSENT_TO = 0x9_0000, READ_ONLY_TO = 0xa_0000;
    private static final int RING0_CS = 0x08, RING0_DS = 0x10, RING3_CS = 0x1b, RING3_DS = 0x23, TSS_SEL = 0x28;
    private static final int HLT = 0xf4;

    enum Mode {
        REAL, PROTECTED, V86, PAGED, SUPERVISOR;

        /** CPL 0 code can reprogram the machine: only the absence of emulator errors is checked. */
        boolean unprotected() { return this == REAL || this == SUPERVISOR; }
    }

    private static final IoPorts NO_PORTS = new IoPorts() {
        @Override public int in(int port, int size) { return -1; }
        @Override public void out(int port, int size, int value) { }
    };

    /** The state a step starts from, as the exception frame must record it. */
    private record Snapshot(long eip, int cs, long csBase, int eflags, long[] regs, int ss, int[] dataSegs) {
        static Snapshot of(X86Cpu cpu) {
            long[] r = new long[8];
            for (int i = 0; i < 8; i++) {
                r[i] = cpu.reg(i);
            }
            int[] segs = {cpu.segmentSelector(X86Cpu.ES), cpu.segmentSelector(X86Cpu.DS),
                    cpu.segmentSelector(X86Cpu.FS), cpu.segmentSelector(X86Cpu.GS)};
            // EFLAGS without folding the lazy flags, so that the next instruction still meets them lazy
            int eflags = (cpu.flags & ~X86Cpu.ARITH_FLAGS) | cpu.arithFlags();
            return new Snapshot(cpu.eip(), cpu.segmentSelector(X86Cpu.CS), cpu.segmentBase(X86Cpu.CS), eflags, r,
                    cpu.segmentSelector(X86Cpu.SS), segs);
        }
    }

    @Test
    void randomCodeRunsOrRaisesAPreciseGuestException() {
        long seed = Long.getLong("jqemu.fuzz.seed", 0x5eed_c0deL);
        SplittableRandom random = new SplittableRandom(seed);
        List<String> failures = new ArrayList<>();
        StringBuilder report = new StringBuilder("CPU fuzz, seed " + Long.toHexString(seed) + ":\n");
        int total = 0;
        TestRam ram = new TestRam(RAM_SIZE, Page.RWX);
        for (Mode mode : Mode.values()) {
            Map<String, Integer> outcomes = new TreeMap<>();
            for (int i = 0; i < CASES_PER_MODE; i++) {
                byte[] code = randomCode(random);
                long[] regs = randomRegisters(random);
                String outcome;
                try {
                    outcome = runCase(ram, mode, code, regs, failures);
                } catch (Throwable t) {
                    outcome = "java exception";
                    failures.add(describe(mode, code) + ": " + t);
                }
                outcomes.merge(outcome, 1, Integer::sum);
                total++;
            }
            report.append("  ").append(mode).append(": ").append(CASES_PER_MODE).append(" cases, ").append(outcomes).append('\n');
        }
        report.append("  ").append(total).append(" cases, ").append(failures.size()).append(" failures\n");
        System.out.print(report);
        assertTrue(total >= Mode.values().length * CASES_PER_MODE);
        assertEquals(List.of(), failures.subList(0, Math.min(20, failures.size())), report.toString());
    }

    /** Random bytes, biased towards the 0F map and prefixes so that those decoders are reached often. */
    private static byte[] randomCode(SplittableRandom random) {
        byte[] code = new byte[CODE_BYTES];
        for (int i = 0; i < code.length; i++) {
            code[i] = (byte) random.nextInt(256);
        }
        int r = random.nextInt(10);
        if (r < 3) {
            code[0] = 0x0f;
        } else if (r < 5) {
            byte[] prefixes = {0x66, 0x67, (byte) 0xf0, (byte) 0xf2, (byte) 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65};
            code[0] = prefixes[random.nextInt(prefixes.length)];
        }
        return code;
    }

    /** Mostly small values, so that memory operands land in mapped memory, sometimes anything. */
    private static long[] randomRegisters(SplittableRandom random) {
        long[] regs = new long[8];
        for (int i = 0; i < 8; i++) {
            regs[i] = random.nextInt(4) == 0 ? random.nextInt() & 0xffff_ffffL : random.nextInt(0x10_0000);
        }
        return regs;
    }

    private static String describe(Mode mode, byte[] code) { return mode + " " + HexFormat.of().formatHex(code); }

    /** Runs one case; returns its outcome for the report, adding to {@code failures} what is wrong. */
    private static String runCase(TestRam ram, Mode mode, byte[] code, long[] regs, List<String> failures) {
        ram.ram.fill((byte) 0);
        X86Cpu cpu = new X86Cpu(ram, NO_PORTS);
        if (mode == Mode.REAL) {
            setUpReal(cpu, ram, code);
        } else {
            setUpProtected(cpu, ram, code, mode);
        }
        for (int r = 0; r < 8; r++) {
            if (r != X86Cpu.ESP) {
                cpu.setReg(r, regs[r]);
            }
        }
        for (int step = 0; step < MAX_STEPS; step++) {
            Snapshot before = Snapshot.of(cpu);
            int exit = cpu.run(1);
            if (exit == X86Cpu.EXIT_INTERNAL_ERROR) {
                failures.add(describe(mode, code) + ": " + cpu.internalError());
                return "internal error";
            }
            int vector = handlerVector(cpu, mode);
            if (vector >= 0) {
                if (mode == Mode.REAL) {
                    checkRealModeFault(cpu, ram, vector, before, failures, code);
                } else if (mode != Mode.SUPERVISOR) {
                    checkException(cpu, ram, mode, vector, before, failures, code);
                }
                return "#" + vector;
            }
            if (exit == X86Cpu.EXIT_SHUTDOWN) {
                if (!mode.unprotected()) {
                    failures.add(describe(mode, code) + ": shutdown although the system tables are out of the code's reach");
                }
                return "shutdown";
            }
            if (exit == X86Cpu.EXIT_HALT) {
                if (!mode.unprotected()) {
                    failures.add(describe(mode, code) + ": halted outside a handler at CPL 3");
                }
                return "hlt";
            }
        }
        return "ran";
    }

    /** The vector whose handler the CPU just entered, or -1. */
    private static int handlerVector(X86Cpu cpu, Mode mode) {
        if (mode == Mode.REAL) {
            if (cpu.protectedMode() || cpu.segmentSelector(X86Cpu.CS) != REAL_HANDLER_CS) {
                return -1;
            }
            long v = cpu.eip() - REAL_HANDLER_IP;
            return v >= 0 && v < 256 ? (int) v : -1;
        }
        if (cpu.segmentSelector(X86Cpu.CS) != RING0_CS) {
            return -1;
        }
        long v = cpu.eip() - HANDLERS;
        return v >= 0 && v < 256 ? (int) v : -1;
    }

    /**
     * Real mode: an exception the CPU raised (not INT n, INT3, INTO or ICEBP, which are traps, nor a #DB) pushed
     * FLAGS, CS and the IP of the faulting instruction on the code's own stack, with the registers untouched.
     */
    private static void checkRealModeFault(X86Cpu cpu, TestRam ram, int vector, Snapshot before, List<String> failures,
                                           byte[] code) {
        long linear = before.csBase() + before.eip();
        if (vector == CpuFault.DB || vector == CpuFault.DF || softwareInterruptAt(ram, linear)) {
            return;
        }
        String what = describe(Mode.REAL, code) + ": #" + vector + " at " + Long.toHexString(before.eip()) + " ("
                + HexFormat.of().formatHex(bytesAt(ram, linear, 15)) + "): ";
        boolean possible = vector == CpuFault.DE || vector == CpuFault.BR || vector == CpuFault.UD || vector == CpuFault.NM
                || vector == CpuFault.SS || vector == CpuFault.GP || vector == CpuFault.MF;
        if (!possible) {
            failures.add(what + "not an exception the CPU raises in real mode");
            return;
        }
        boolean repString = repStringAt(ram, linear);
        long ssBase = cpu.segmentBase(X86Cpu.SS);
        int sp = (int) cpu.reg(X86Cpu.ESP) & 0xffff;
        int ip = word(ram, ssBase + sp), cs = word(ram, ssBase + ((sp + 2) & 0xffff)), fl = word(ram, ssBase + ((sp + 4) & 0xffff));
        int comparedFlags = repString ? 0xffff & ~0x8d5 : 0xffff;
        int spBefore = (int) before.regs()[X86Cpu.ESP] & 0xffff;
        if (ip != (before.eip() & 0xffff) || cs != before.cs() || (fl & comparedFlags) != (before.eflags() & comparedFlags)
                || sp != ((spBefore - 6) & 0xffff)) {
            failures.add(what + String.format("frame %x:%x fl %x sp %x, state before %x:%x fl %x sp %x",
                    cs, ip, fl, sp, before.cs(), before.eip(), before.eflags(), spBefore));
        }
        checkRegisters(cpu, before, repString, what, failures);
    }

    private static int word(TestRam ram, long address) { return ram.byteAt(address) | ram.byteAt(address + 1) << 8; }

    /** The general registers but ESP are as the faulting instruction found them (save REP string progress). */
    private static void checkRegisters(X86Cpu cpu, Snapshot before, boolean repString, String what, List<String> failures) {
        for (int r = 0; r < 8; r++) {
            boolean stringRegister = r == X86Cpu.ECX || r == X86Cpu.ESI || r == X86Cpu.EDI || r == X86Cpu.EAX;
            if (r != X86Cpu.ESP && !(repString && stringRegister) && cpu.reg(r) != before.regs()[r]) {
                failures.add(what + "register " + r + " changed by a faulting instruction");
            }
        }
    }

    /** INT n, INT3, INTO or ICEBP after any prefixes. */
    private static boolean softwareInterruptAt(TestRam ram, long linear) {
        for (byte b : bytesAt(ram, linear, 15)) {
            int op = b & 0xff;
            switch (op) {
                case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3 -> { }
                default -> {
                    return op == 0xcc || op == 0xcd || op == 0xce || op == 0xf1;
                }
            }
        }
        return false;
    }

    private static void checkException(X86Cpu cpu, TestRam ram, Mode mode, int vector, Snapshot before,
                                       List<String> failures, byte[] code) {
        long linear = before.csBase() + before.eip();
        String what = describe(mode, code) + ": #" + vector + " at " + Long.toHexString(before.eip()) + " ("
                + HexFormat.of().formatHex(bytesAt(ram, linear, 15)) + "): ";
        // A fault inside a REP string instruction leaves the registers and flags of the iterations already done (SDM
        // Vol. 2B REP): those are not compared, EIP still is.
        boolean repString = repStringAt(ram, linear);
        int comparedFlags = repString ? ~(0x1_0000 | 0x8d5) : ~0x1_0000;
        boolean possible = vector <= 1 || (vector >= 5 && vector <= 8) || (vector >= 10 && vector <= 14)
                || (vector >= 16 && vector <= 18);
        if (!possible) {
            failures.add(what + "a vector the code cannot raise at CPL 3 through DPL-0 gates");
            return;
        }
        boolean errorCode = vector == 8 || (vector >= 10 && vector <= 14) || vector == 17;
        long sp = cpu.reg(X86Cpu.ESP);
        int frameWords = (errorCode ? 1 : 0) + 5 + (mode == Mode.V86 ? 4 : 0);
        if (sp != RING0_STACK - 4L * frameWords) {
            failures.add(what + "ring-0 ESP " + Long.toHexString(sp) + ", want a frame of " + frameWords + " words");
            return;
        }
        int at = (int) sp + (errorCode ? 4 : 0);
        if (vector == CpuFault.DB) {
            return; // a trap (single step, ICEBP): the frame holds the state after the instruction
        }
        long eip = ram.u32(at) & 0xffff_ffffL;
        int cs = ram.u32(at + 4) & 0xffff;
        int eflags = ram.u32(at + 8);
        long esp = ram.u32(at + 12) & 0xffff_ffffL;
        int ss = ram.u32(at + 16) & 0xffff;
        // (RF in the image, bit 16, is the CPU's choice for faults: SDM Vol. 3A §18.3.1.1)
        if (eip != before.eip() || cs != before.cs() || (eflags & comparedFlags) != (before.eflags() & comparedFlags)
                || esp != before.regs()[X86Cpu.ESP] || ss != before.ss()) {
            failures.add(what + String.format("frame %x:%x fl %x ss:esp %x:%x, state before %x:%x fl %x ss:esp %x:%x",
                    cs, eip, eflags, ss, esp, before.cs(), before.eip(), before.eflags(), before.ss(), before.regs()[X86Cpu.ESP]));
        }
        checkRegisters(cpu, before, repString, what, failures);
        if (mode == Mode.V86) {
            for (int s = 0; s < 4; s++) {
                if ((ram.u32(at + 20 + 4 * s) & 0xffff) != before.dataSegs()[s]) {
                    failures.add(what + "v86 data segment " + s + " in the frame differs");
                }
            }
        }
        if (vector == CpuFault.PF) {
            checkPageFault(cpu, ram.u32((int) sp), mode, what, failures);
        }
    }

    private static byte[] bytesAt(TestRam ram, long linear, int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (linear + i < RAM_SIZE ? ram.byteAt(linear + i) : 0);
        }
        return b;
    }

    /** Whether the instruction at {@code linear} is a string instruction with a REP/REPE/REPNE prefix. */
    private static boolean repStringAt(TestRam ram, long linear) {
        boolean rep = false;
        for (byte b : bytesAt(ram, linear, 15)) {
            int op = b & 0xff;
            switch (op) {
                case 0xf2, 0xf3 -> rep = true;
                case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0 -> { }
                default -> {
                    return rep && ((op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf));
                }
            }
        }
        return false;
    }

    /** CR2 and the error code against the page tables this test built. */
    private static void checkPageFault(X86Cpu cpu, int error, Mode mode, String what, List<String> failures) {
        long cr2 = cpu.cr(2);
        if (mode != Mode.PAGED) {
            failures.add(what + "#PF without paging");
            return;
        }
        boolean absent = cr2 >= ABSENT_FROM && cr2 < ABSENT_TO;
        boolean readOnly = cr2 >= ABSENT_TO && cr2 < READ_ONLY_TO;
        boolean supervisorOnly = cr2 > USER_LIMIT;
        boolean write = (error & 2) != 0;
        boolean user = (error & 4) != 0;
        boolean present = (error & 1) != 0;
        boolean explained = user && (absent ? !present : present && (supervisorOnly || (readOnly && write)));
        if (!explained || (error & ~7) != 0) {
            failures.add(what + String.format("CR2 %x with error code %x: not what the page tables say", cr2, error));
        }
    }

    private static void setUpReal(X86Cpu cpu, TestRam ram, byte[] code) {
        ram.load(CODE, code);
        for (int v = 0; v < 256; v++) {
            ram.setU32(REAL_IVT + 4 * v, (REAL_HANDLER_CS << 16) | (REAL_HANDLER_IP + v));
            ram.setByte(((long) REAL_HANDLER_CS << 4) + REAL_HANDLER_IP + v, HLT);
        }
        cpu.setIdtr(REAL_IVT, 0x3ff);
        cpu.loadSegmentRegister(X86Cpu.CS, CODE >> 4);
        cpu.setEip(0);
        cpu.loadSegmentRegister(X86Cpu.SS, USER_STACK >> 4);
        cpu.setReg(X86Cpu.ESP, 0xfff0);
        for (int s : new int[] {X86Cpu.DS, X86Cpu.ES, X86Cpu.FS, X86Cpu.GS}) {
            cpu.loadSegmentRegister(s, 0x3000);
        }
    }

    private static void setUpProtected(X86Cpu cpu, TestRam ram, byte[] code, Mode mode) {
        long[] gdt = {
            0,
            SystemUnit.makeDescriptor(0, 0xffff_ffffL, 0xc09b),     // 0x08 ring-0 code
            SystemUnit.makeDescriptor(0, 0xffff_ffffL, 0xc093),     // 0x10 ring-0 data
            SystemUnit.makeDescriptor(0, USER_LIMIT, 0xc0fb),       // 0x18 ring-3 code, user area only
            SystemUnit.makeDescriptor(0, USER_LIMIT, 0xc0f3),       // 0x20 ring-3 data, user area only
            SystemUnit.makeDescriptor(TSS, 0x67, 0x89),             // 0x28 32-bit TSS, no I/O bitmap
            SystemUnit.makeDescriptor(CODE, 0xffff, 0x00fb),        // 0x30 ring-3 16-bit code
            SystemUnit.makeDescriptor(0x4_0000, 0xfff, 0x00f7),     // 0x38 ring-3 16-bit expand-down data
            SystemUnit.makeDescriptor(0x5_0000, 0xffff, 0x00f1),    // 0x40 ring-3 read-only data
            SystemUnit.makeDescriptor(0x5_0000, 0xffff, 0x0073),    // 0x48 not-present data
        };
        for (int i = 0; i < gdt.length; i++) {
            ram.setU32(GDT + 8L * i, (int) gdt[i]);
            ram.setU32(GDT + 8L * i + 4, (int) (gdt[i] >>> 32));
        }
        for (int v = 0; v < 256; v++) {
            long handler = HANDLERS + v;
            ram.setU32(IDT + 8L * v, (int) ((RING0_CS << 16) | (handler & 0xffff)));
            ram.setU32(IDT + 8L * v + 4, (int) ((handler & 0xffff_0000L) | 0x8e00));
            ram.setByte(handler, HLT);
        }
        ram.setU32(TSS + 4, RING0_STACK);
        ram.setU32(TSS + 8, RING0_DS);
        ram.load(CODE, code);
        cpu.setGdtr(GDT, gdt.length * 8 - 1);
        cpu.setIdtr(IDT, 256 * 8 - 1);
        cpu.writeCr0(cpu.cr(0) & ~(X86Cpu.CR0_CD | X86Cpu.CR0_NW) | X86Cpu.CR0_PE | X86Cpu.CR0_NE | X86Cpu.CR0_MP);
        if (mode == Mode.PAGED || mode == Mode.SUPERVISOR) {
            buildPageTables(ram);
            cpu.writeControl(3, PAGE_DIR);
            cpu.writeCr0(cpu.cr(0) | X86Cpu.CR0_PG | X86Cpu.CR0_WP);
        }
        cpu.loadSegmentRegister(X86Cpu.CS, RING0_CS);
        cpu.loadSegmentRegister(X86Cpu.SS, RING0_DS);
        cpu.loadTr(TSS_SEL);
        if (mode == Mode.SUPERVISOR) {
            for (int s : new int[] {X86Cpu.DS, X86Cpu.ES, X86Cpu.FS, X86Cpu.GS}) {
                cpu.loadSegmentRegister(s, RING0_DS);
            }
            cpu.setEip(CODE);
            cpu.setReg(X86Cpu.ESP, USER_STACK);
            return;
        }
        if (mode == Mode.V86) {
            cpu.setEflags(X86Cpu.VM);
            cpu.setSegment(X86Cpu.CS, CODE >> 4, CODE, 0xffff, 0xfb);
            cpu.setSegment(X86Cpu.SS, USER_STACK >> 4, USER_STACK, 0xffff, 0xf3);
            for (int s : new int[] {X86Cpu.DS, X86Cpu.ES, X86Cpu.FS, X86Cpu.GS}) {
                cpu.setSegment(s, 0x3000, 0x3_0000, 0xffff, 0xf3);
            }
            cpu.setEip(0);
            cpu.setReg(X86Cpu.ESP, 0xfff0);
            return;
        }
        cpu.setSegment(X86Cpu.CS, RING3_CS, 0, USER_LIMIT, 0xc0fb);
        cpu.setSegment(X86Cpu.SS, RING3_DS, 0, USER_LIMIT, 0xc0f3);
        for (int s : new int[] {X86Cpu.DS, X86Cpu.ES, X86Cpu.FS, X86Cpu.GS}) {
            cpu.setSegment(s, RING3_DS, 0, USER_LIMIT, 0xc0f3);
        }
        cpu.setEip(CODE);
        cpu.setReg(X86Cpu.ESP, USER_STACK);
    }

    /** Identity map of the RAM: user pages in the user area (a hole, a read-only run), supervisor pages above. */
    private static void buildPageTables(TestRam ram) {
        ram.setU32(PAGE_DIR, PAGE_TABLES | 0x7);
        for (int page = 0; page < RAM_SIZE >> 12; page++) {
            long address = (long) page << 12;
            int pte;
            if (address >= ABSENT_FROM && address < ABSENT_TO) {
                pte = 0;
            } else if (address > USER_LIMIT) {
                pte = (int) address | 0x3;
            } else if (address >= ABSENT_TO && address < READ_ONLY_TO) {
                pte = (int) address | 0x5;
            } else {
                pte = (int) address | 0x7;
            }
            ram.setU32(PAGE_TABLES + 4L * page, pte);
        }
    }
}
