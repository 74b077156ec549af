package org.jqemu.target.i386;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.IrqLine;

/**
 * The system architecture: descriptor tables and segment loads with their privilege checks, far
 * transfers (call gates, privilege changes), interrupt and exception delivery (IVT in real mode, IDT
 * gates with stack switches through the TSS, v86), IRET, hardware task switches, the I/O permission
 * bitmap, control/debug registers, MSRs, CPUID and SYSENTER/SYSEXIT.
 */
abstract class SystemUnit extends Mmu {
    /** Kinds of event for {@link #deliver}: external (hardware, exceptions), INT n, INT3/INTO, ICEBP. */
    static final int EVENT_EXTERNAL = 0, SOFT_INTN = 1, SOFT_INT3 = 2, SOFT_ICEBP = 3;
    /** -d int and the like; null when nobody listens. */
    EventObserver eventObserver;

    static final int MSR_TSC = 0x10, MSR_APIC_BASE = 0x1b, MSR_SYSENTER_CS = 0x174, MSR_SYSENTER_ESP = 0x175,
            MSR_SYSENTER_EIP = 0x176, MSR_BIOS_SIGN = 0x8b, MSR_PLATFORM_ID = 0x17, MSR_MTRR_CAP = 0xfe,
            MSR_MISC_ENABLE = 0x1a0;

    static final int CPUID_SIGNATURE = 0x0619; // family 6, model 1, stepping 9: a Pentium Pro
    /** fpu, de, pse, tsc, msr, cx8, sep, pge, cmov, fxsr: exactly what this CPU implements. */
    static final int CPUID_FEATURES = 1 | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 8) | (1 << 11)
            | (1 << 13) | (1 << 15) | (1 << 24);
    static final long CR4_WRITABLE = CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | CR4_OSFXSR;

    final IoPorts io;
    static final int USER_GDT_ENTRIES = 32;
    /** Linux i386's flat user segments: __USER_CS (entry 14) and __USER_DS (entry 15). */
    static final int USER_CS = 0x73, USER_DS = 0x7b;
    final long[] userGdt = new long[USER_GDT_ENTRIES];
    /** The most entries a Linux LDT has (LDT_ENTRIES). */
    static final int USER_LDT_MAX = 8192;
    /**
     * User mode: the process's LDT as modify_ldt built it (grown on demand, empty when the process has none), in a
     * holder that the CPUs of one process's threads share.
     */
    static final class UserLdt {
        long[] entries = new long[0];
    }

    UserLdt userLdt = new UserLdt();
    IrqLine ferr = IrqLine.none();
    boolean interruptShadow;
    /** Set by MOV SS / POP SS: no single-step trap or data breakpoint after this instruction. */
    boolean debugShadow;
    boolean halted;
    /** The vector of the first event delivered through the IVT/IDT since reset (tests; -1 if none). */
    int firstEventVector = -1;
    long retired;
    long tscOffset;
    long sysenterCs, sysenterEsp, sysenterEip;
    long apicBase = 0xfee0_0900L;

    SystemUnit(AddressSpace memory, IoPorts io) {
        super(memory);
        this.io = io;
    }

    // ---- checkpoint for the multi-step control transfers ----
    // A far transfer, IRET or event delivery changes CS, SS, ESP and CPL in several steps; a fault in the
    // middle (a bad stack selector, a #PF on the new stack) must leave the state as before the instruction.

    boolean checkpointValid;
    private final int[] savedSel = new int[8];
    private final long[] savedBase = new long[8];
    private final long[] savedLimit = new long[8];
    private final int[] savedAttr = new int[8];
    private final long[] savedLow = new long[8];
    private final long[] savedHigh = new long[8];
    private final int[] savedRights = new int[8];
    private int savedCpl, savedFlags;
    private long savedEsp, savedEip, savedCr0, savedCr3;
    private boolean savedCode32, savedStack32;

    final void checkpoint() {
        if (checkpointValid) {
            return;
        }
        System.arraycopy(segSel, 0, savedSel, 0, 8);
        System.arraycopy(segBase, 0, savedBase, 0, 8);
        System.arraycopy(segLimit, 0, savedLimit, 0, 8);
        System.arraycopy(segAttr, 0, savedAttr, 0, 8);
        System.arraycopy(segLow, 0, savedLow, 0, 8);
        System.arraycopy(segHigh, 0, savedHigh, 0, 8);
        System.arraycopy(segRights, 0, savedRights, 0, 8);
        savedCpl = cpl;
        savedFlags = materializeFlags();
        savedEsp = regs[ESP];
        savedEip = eip;
        savedCr0 = cr0;
        savedCr3 = cr3;
        savedCode32 = code32;
        savedStack32 = stack32;
        checkpointValid = true;
    }

    final void rollback() {
        if (!checkpointValid) {
            return;
        }
        System.arraycopy(savedSel, 0, segSel, 0, 8);
        forgetFetchWindow(); // CS may be restored
        System.arraycopy(savedBase, 0, segBase, 0, 8);
        System.arraycopy(savedLimit, 0, segLimit, 0, 8);
        System.arraycopy(savedAttr, 0, segAttr, 0, 8);
        System.arraycopy(savedLow, 0, segLow, 0, 8);
        System.arraycopy(savedHigh, 0, segHigh, 0, 8);
        System.arraycopy(savedRights, 0, segRights, 0, 8);
        setCpl(savedCpl);
        lazyOp = OP_NONE;
        flags = savedFlags;
        regs[ESP] = savedEsp;
        eip = savedEip;
        cr0 = savedCr0;
        if (cr3 != savedCr3) {
            cr3 = savedCr3;
            flushTlb();
        }
        code32 = savedCode32;
        stack32 = savedStack32;
        checkpointValid = false;
    }

    // ---- descriptor caches ----

    static long descriptorBase(long d) { return ((d >>> 16) & 0xff_ffffL) | (((d >>> 56) & 0xff) << 24); }

    static long descriptorLimit(long d) {
        long limit = (d & 0xffff) | ((d >>> 32) & 0xf_0000L);
        return (d & (1L << 55)) != 0 ? (limit << 12) | 0xfff : limit;
    }

    static int descriptorAttr(long d) { return (int) (d >>> 40) & 0xf0ff; }

    static int dpl(int attr) { return (attr >> 5) & 3; }

    static boolean present(int attr) { return (attr & 0x80) != 0; }

    static boolean isCode(int attr) { return (attr & 0x18) == 0x18; }

    static boolean isData(int attr) { return (attr & 0x18) == 0x10; }

    static boolean conforming(int attr) { return (attr & 0x1c) == 0x1c; }

    /** Loads a descriptor cache as given; computes the offset window and access rights the checks use. */
    final void setSegmentCache(int seg, int sel, long base, long limit, int attr) {
        segSel[seg] = sel & 0xffff;
        segBase[seg] = base & MASK32;
        segLimit[seg] = limit & MASK32;
        segAttr[seg] = attr;
        computeWindow(seg);
        if (seg == CS) {
            code32 = (attr & 0x4000) != 0;
        } else if (seg == SS) {
            stack32 = (attr & 0x4000) != 0;
        }
    }

    private void computeWindow(int seg) {
        if (seg == CS) {
            forgetFetchWindow();
        }
        int attr = segAttr[seg];
        long limit = segLimit[seg];
        if (!protectedMode() || v86()) {
            segLow[seg] = 0;
            segHigh[seg] = limit;
            segRights[seg] = RIGHT_READ | RIGHT_WRITE;
            return;
        }
        if (!present(attr) || (attr & 0x10) == 0 || (seg < LDTR && (segSel[seg] & 0xfffc) == 0 && seg != CS)) {
            segLow[seg] = 1;
            segHigh[seg] = 0;
            segRights[seg] = 0;
            return;
        }
        if (isData(attr) && (attr & 4) != 0) {
            segLow[seg] = limit + 1;
            segHigh[seg] = (attr & 0x4000) != 0 ? MASK32 : 0xffff;
        } else {
            segLow[seg] = 0;
            segHigh[seg] = limit;
        }
        if (isCode(attr)) {
            segRights[seg] = (attr & 2) != 0 ? RIGHT_READ : 0;
        } else {
            segRights[seg] = RIGHT_READ | ((attr & 2) != 0 ? RIGHT_WRITE : 0);
        }
    }

    /** After CR0.PE or EFLAGS.VM change, the same caches mean different checks. */
    final void recomputeSegmentWindows() {
        for (int s = ES; s <= GS; s++) {
            computeWindow(s);
        }
    }

    final void loadSegmentReal(int seg, int sel) {
        sel &= 0xffff;
        segSel[seg] = sel;
        segBase[seg] = (long) sel << 4;
        if (seg == CS) {
            forgetFetchWindow();
        }
        if (v86()) {
            setSegmentCache(seg, sel, (long) sel << 4, 0xffff, seg == CS ? 0xfb : 0xf3);
        }
    }

    /** MOV/POP/LxS to a segment register, with the checks of the current mode. */
    final void loadSegment(int seg, int sel) {
        sel &= 0xffff;
        if (!protectedMode() || v86()) {
            loadSegmentReal(seg, sel);
            return;
        }
        if (seg == SS) {
            loadStackSegment(sel, cpl);
            return;
        }
        if ((sel & 0xfffc) == 0) {
            setSegmentCache(seg, sel, 0, 0, 0);
            return;
        }
        long d = readDescriptor(sel);
        int attr = descriptorAttr(d);
        if (!(isData(attr) || (isCode(attr) && (attr & 2) != 0))) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if ((isData(attr) || !conforming(attr)) && (dpl(attr) < cpl || dpl(attr) < (sel & 3))) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
        markAccessed(sel, d);
        setSegmentCache(seg, sel, descriptorBase(d), descriptorLimit(d), attr | 1);
    }

    private void loadStackSegment(int sel, int privilege) {
        if ((sel & 0xfffc) == 0 || (sel & 3) != privilege) {
            throw selectorFault(CpuFault.GP, sel);
        }
        long d = readDescriptor(sel);
        int attr = descriptorAttr(d);
        if (!isData(attr) || (attr & 2) == 0 || dpl(attr) != privilege) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.SS, sel);
        }
        markAccessed(sel, d);
        setSegmentCache(SS, sel, descriptorBase(d), descriptorLimit(d), attr | 1);
    }

    static CpuFault selectorFault(int vector, int sel) { return CpuFault.withCode(vector, sel & 0xfffc); }

    final long descriptorAddress(int sel) {
        int index = sel & 0xfff8;
        long base;
        long limit;
        if ((sel & 4) != 0) {
            if ((segSel[LDTR] & 0xfffc) == 0 || !present(segAttr[LDTR])) {
                throw selectorFault(CpuFault.GP, sel);
            }
            base = segBase[LDTR];
            limit = segLimit[LDTR];
        } else {
            base = gdtrBase;
            limit = gdtrLimit;
        }
        if (index + 7L > limit) {
            throw selectorFault(CpuFault.GP, sel);
        }
        return (base + index) & MASK32;
    }

    final long readDescriptor(int sel) {
        if (userMode) {
            return userTable(sel)[(sel & 0xfff8) >> 3];
        }
        long a = descriptorAddress(sel);
        return (readSystem(a, 4) & MASK32) | ((long) readSystem(a + 4, 4) << 32);
    }

    /**
     * User mode has no descriptor tables in guest memory: the kernel's GDT is {@link #userGdt} and the
     * process's LDT (modify_ldt) is {@link #userLdt}, whose length is its size in entries.
     */
    private long[] userTable(int sel) {
        long[] table = (sel & 4) != 0 ? userLdt.entries : userGdt;
        if ((sel & 0xfff8) >> 3 >= table.length) {
            throw selectorFault(CpuFault.GP, sel);
        }
        return table;
    }

    /** Builds a segment descriptor; a limit above 1 MiB is stored page-granular (G = 1). */
    static long makeDescriptor(long base, long limit, int access) {
        long g = 0;
        if (limit > 0xf_ffffL) {
            limit >>>= 12;
            g = 1L << 55;
        }
        return (limit & 0xffff) | ((base & 0xff_ffffL) << 16) | ((long) (access & 0xf0ff) << 40)
                | ((limit & 0xf_0000L) << 32) | ((base & 0xff00_0000L) << 32) | g;
    }

    private void markAccessed(int sel, long d) {
        if (userMode) {
            userTable(sel)[(sel & 0xfff8) >> 3] = d | (1L << 40);
            return;
        }
        if ((d & (1L << 40)) == 0) {
            long a = descriptorAddress(sel);
            writeSystem(a + 5, 1, (int) (d >>> 40) | 1);
        }
    }

    /** Loads CS from a code descriptor, with RPL (and CPL) set to {@code privilege}. */
    private void loadCode(int sel, long d, int privilege) {
        markAccessed(sel, d);
        setSegmentCache(CS, (sel & 0xfffc) | privilege, descriptorBase(d), descriptorLimit(d), descriptorAttr(d) | 1);
        setCpl(privilege);
    }

    private void checkCodeTarget(int sel, long d, boolean jump) {
        int attr = descriptorAttr(d);
        if (!isCode(attr)) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (conforming(attr) ? dpl(attr) > cpl : ((sel & 3) > cpl || dpl(attr) != cpl)) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
    }

    // ---- far transfers ----

    final void farJump(int sel, int off, int size) { farTransfer(sel, off, size, false); }

    final void farCall(int sel, int off, int size) { farTransfer(sel, off, size, true); }

    /** JMP FAR and CALL FAR: the same target checks; a call also pushes the return address. */
    private void farTransfer(int sel, int off, int size, boolean call) {
        long offset = off & (size == 4 ? MASK32 : 0xffff);
        if (!protectedMode() || v86()) {
            if (offset > segLimit[CS]) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            if (call) {
                pushReturnAddress(size);
            }
            loadSegmentReal(CS, sel);
            eip = offset;
            return;
        }
        checkpoint();
        if ((sel & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        long d = readDescriptor(sel);
        int attr = descriptorAttr(d);
        if (isCode(attr)) {
            checkCodeTarget(sel, d, !call);
            if (offset > descriptorLimit(d)) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            if (call) {
                pushReturnAddress(size);
            }
            loadCode(sel, d, cpl);
            eip = offset;
            return;
        }
        int type = attr & 0x1f;
        int taskReason = call ? TASK_CALL : TASK_JUMP;
        switch (type) {
            case 0x04, 0x0c -> {
                if (call) {
                    callGate(sel, d, type);
                } else {
                    jumpGate(sel, d, attr, type);
                }
            }
            case 0x05 -> { checkGate(sel, attr); taskSwitch((int) (d >>> 16) & 0xffff, taskReason, -1); }
            case 0x01, 0x09 -> { checkGate(sel, attr); taskSwitch(sel, taskReason, -1); }
            default -> throw selectorFault(CpuFault.GP, sel);
        }
    }

    private void pushReturnAddress(int size) {
        push(size, segSel[CS]);
        push(size, (int) eip);
    }

    /** JMP through a call gate: no privilege change, the target must be reachable at the current CPL. */
    private void jumpGate(int sel, long d, int attr, int type) {
        checkGate(sel, attr);
        int target = (int) (d >>> 16) & 0xffff;
        long gateOffset = gateOffset(d, type);
        long cd = targetCodeDescriptor(target);
        int cattr = descriptorAttr(cd);
        if (conforming(cattr) ? dpl(cattr) > cpl : dpl(cattr) != cpl) {
            throw selectorFault(CpuFault.GP, target);
        }
        if (gateOffset > descriptorLimit(cd)) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        loadCode(target, cd, cpl);
        eip = gateOffset;
    }

    private void checkGate(int sel, int attr) {
        if (dpl(attr) < cpl || dpl(attr) < (sel & 3)) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
    }

    private static long gateOffset(long d, int type) {
        long low = d & 0xffff;
        return (type & 8) != 0 ? low | ((d >>> 32) & 0xffff_0000L) : low;
    }

    private long targetCodeDescriptor(int target) {
        if ((target & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        long cd = readDescriptor(target);
        int cattr = descriptorAttr(cd);
        if (!isCode(cattr) || dpl(cattr) > cpl) {
            throw selectorFault(CpuFault.GP, target);
        }
        if (!present(cattr)) {
            throw selectorFault(CpuFault.NP, target);
        }
        return cd;
    }

    private void callGate(int sel, long d, int type) {
        checkGate(sel, descriptorAttr(d));
        int target = (int) (d >>> 16) & 0xffff;
        long offset = gateOffset(d, type);
        int gateSize = (type & 8) != 0 ? 4 : 2;
        long cd = targetCodeDescriptor(target);
        int cattr = descriptorAttr(cd);
        if (offset > descriptorLimit(cd)) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int newPl = dpl(cattr);
        if (!conforming(cattr) && newPl < cpl) {
            int params = (int) (d >>> 32) & 0x1f;
            int[] copied = new int[params];
            for (int i = 0; i < params; i++) {
                copied[i] = peek(gateSize, i * gateSize);
            }
            int oldSs = segSel[SS];
            int oldEsp = (int) regs[ESP];
            int oldCs = segSel[CS];
            long oldEip = eip;
            switchToInnerStack(newPl);
            push(gateSize, oldSs);
            push(gateSize, oldEsp);
            for (int i = params - 1; i >= 0; i--) {
                push(gateSize, copied[i]);
            }
            push(gateSize, oldCs);
            push(gateSize, (int) oldEip);
            loadCode(target, cd, newPl);
        } else {
            pushReturnAddress(gateSize);
            loadCode(target, cd, cpl);
        }
        eip = offset;
    }

    /** Loads SS:ESP for privilege {@code pl} from the current TSS (#TS on a bad stack). */
    private void switchToInnerStack(int pl) {
        int trAttr = segAttr[TR];
        boolean tss32 = (trAttr & 8) != 0;
        long base = segBase[TR];
        int stackSel;
        long stackPtr;
        if (tss32) {
            long at = 4 + pl * 8L;
            if (at + 7 > segLimit[TR]) {
                throw selectorFault(CpuFault.TS, segSel[TR]);
            }
            stackPtr = readSystem(base + at, 4) & MASK32;
            stackSel = readSystem(base + at + 4, 2);
        } else {
            long at = 2 + pl * 4L;
            if (at + 3 > segLimit[TR]) {
                throw selectorFault(CpuFault.TS, segSel[TR]);
            }
            stackPtr = readSystem(base + at, 2);
            stackSel = readSystem(base + at + 2, 2);
        }
        if ((stackSel & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.TS, 0);
        }
        if ((stackSel & 3) != pl) {
            throw selectorFault(CpuFault.TS, stackSel);
        }
        long sd;
        try {
            sd = readDescriptor(stackSel);
        } catch (CpuFault f) {
            throw selectorFault(CpuFault.TS, stackSel);
        }
        int sattr = descriptorAttr(sd);
        if (!isData(sattr) || (sattr & 2) == 0 || dpl(sattr) != pl) {
            throw selectorFault(CpuFault.TS, stackSel);
        }
        if (!present(sattr)) {
            throw selectorFault(CpuFault.SS, stackSel);
        }
        markAccessed(stackSel, sd);
        setSegmentCache(SS, stackSel, descriptorBase(sd), descriptorLimit(sd), sattr | 1);
        regs[ESP] = stackPtr;
        setCpl(pl);
    }

    final void farReturn(int size, int extra) {
        if (!protectedMode() || v86()) {
            long offset = peek(size, 0) & (size == 4 ? MASK32 : 0xffff);
            int sel = peek(size, size) & 0xffff;
            if (offset > segLimit[CS]) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            addSp(2 * size + extra);
            loadSegmentReal(CS, sel);
            eip = offset;
            return;
        }
        checkpoint();
        long offset = peek(size, 0) & (size == 4 ? MASK32 : 0xffff);
        int sel = peek(size, size) & 0xffff;
        long cd = returnCodeDescriptor(sel);
        int rpl = sel & 3;
        if (rpl == cpl) {
            if (offset > descriptorLimit(cd)) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            addSp(2 * size + extra);
            loadCode(sel, cd, cpl);
            eip = offset;
            return;
        }
        int newEsp = peek(size, 2 * size + extra);
        int newSs = peek(size, 3 * size + extra) & 0xffff;
        returnToOuter(sel, cd, offset, newSs, newEsp, size, extra);
    }

    private long returnCodeDescriptor(int sel) {
        if ((sel & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        if ((sel & 3) < cpl) {
            throw selectorFault(CpuFault.GP, sel);
        }
        long cd = readDescriptor(sel);
        int attr = descriptorAttr(cd);
        if (!isCode(attr) || (conforming(attr) ? dpl(attr) > (sel & 3) : dpl(attr) != (sel & 3))) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
        return cd;
    }

    private void returnToOuter(int sel, long cd, long offset, int newSs, int newEsp, int size, int extra) {
        int rpl = sel & 3;
        if (offset > descriptorLimit(cd)) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int savedCpl = cpl;
        setCpl(rpl);
        try {
            loadStackSegment(newSs, rpl);
        } catch (CpuFault f) {
            setCpl(savedCpl);
            throw f;
        }
        loadCode(sel, cd, rpl);
        eip = offset;
        long sp = (newEsp & (size == 4 ? MASK32 : 0xffff)) + extra;
        regs[ESP] = stack32 ? sp & MASK32 : (regs[ESP] & ~0xffffL) | (sp & 0xffff);
        for (int s : new int[] {ES, DS, FS, GS}) {
            int attr = segAttr[s];
            if ((segSel[s] & 0xfffc) != 0 && (isData(attr) || !conforming(attr)) && dpl(attr) < cpl) {
                setSegmentCache(s, 0, 0, 0, 0);
            }
        }
    }

    /** Hook: IRET ends NMI blocking. */
    abstract void afterIret();

    final void iret(int size) {
        checkpoint();
        afterIret();
        if (!protectedMode()) {
            long offset = peek(size, 0) & (size == 4 ? MASK32 : 0xffff);
            int sel = peek(size, size) & 0xffff;
            int fl = peek(size, 2 * size);
            if (offset > segLimit[CS]) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            addSp(3 * size);
            loadSegmentReal(CS, sel);
            eip = offset;
            writeFlagsChecked(fl, size, iretMask(size, 0));
            return;
        }
        if (v86()) {
            if (iopl() < 3) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            long offset = peek(size, 0) & (size == 4 ? MASK32 : 0xffff);
            int sel = peek(size, size) & 0xffff;
            int fl = peek(size, 2 * size);
            addSp(3 * size);
            loadSegmentReal(CS, sel);
            eip = offset;
            writeFlagsChecked(fl, size, iretMask(size, 3) & ~IOPL);
            return;
        }
        if ((flags & NT) != 0) {
            int back = readSystem(segBase[TR], 2);
            taskSwitch(back, TASK_IRET, -1);
            return;
        }
        long offset = peek(size, 0) & (size == 4 ? MASK32 : 0xffff);
        int sel = peek(size, size) & 0xffff;
        int fl = peek(size, 2 * size);
        if (size == 4 && (fl & VM) != 0 && cpl == 0) {
            returnToV86(offset, sel, fl);
            return;
        }
        long cd = returnCodeDescriptor(sel);
        int oldCpl = cpl;
        if ((sel & 3) == cpl) {
            if (offset > descriptorLimit(cd)) {
                throw CpuFault.withCode(CpuFault.GP, 0);
            }
            addSp(3 * size);
            loadCode(sel, cd, cpl);
            eip = offset;
        } else {
            int newEsp = peek(size, 3 * size);
            int newSs = peek(size, 4 * size) & 0xffff;
            returnToOuter(sel, cd, offset, newSs, newEsp, size, 0);
        }
        writeFlagsChecked(fl, size, iretMask(size, oldCpl));
    }

    private int iretMask(int size, int privilege) {
        int mask = ARITH_FLAGS | TF | DF | NT | RF | AC | ID;
        if (privilege == 0 || !protectedMode()) {
            mask |= IOPL | IF;
        } else if (privilege <= iopl()) {
            mask |= IF;
        }
        return mask;
    }

    private void writeFlagsChecked(int v, int size, int mask) {
        if (size == 2) {
            mask &= 0xffff;
        }
        mask &= IMPLEMENTED_FLAGS;
        materializeFlags();
        flags = (flags & ~mask) | (v & mask) | FIXED_ONE;
    }

    private void returnToV86(long offset, int sel, int fl) {
        int newEsp = peek(4, 12);
        int newSs = peek(4, 16);
        int es = peek(4, 20);
        int ds = peek(4, 24);
        int fs = peek(4, 28);
        int gs = peek(4, 32);
        materializeFlags();
        flags = (fl & IMPLEMENTED_FLAGS) | FIXED_ONE;
        setCpl(3);
        setSegmentCache(CS, sel, (long) (sel & 0xffff) << 4, 0xffff, 0xfb);
        setSegmentCache(SS, newSs, (long) (newSs & 0xffff) << 4, 0xffff, 0xf3);
        setSegmentCache(ES, es, (long) (es & 0xffff) << 4, 0xffff, 0xf3);
        setSegmentCache(DS, ds, (long) (ds & 0xffff) << 4, 0xffff, 0xf3);
        setSegmentCache(FS, fs, (long) (fs & 0xffff) << 4, 0xffff, 0xf3);
        setSegmentCache(GS, gs, (long) (gs & 0xffff) << 4, 0xffff, 0xf3);
        regs[ESP] = newEsp & MASK32;
        eip = offset & 0xffff;
    }

    // ---- interrupts and exceptions ----

    /** INT n / INT3 / INTO / ICEBP: in user mode an exit to the front end, else delivery. */
    final void softwareInterrupt(int vector, int kind) {
        if (userMode) {
            if (kind == SOFT_INTN) {
                throw new CpuFault(vector, 0, false, true, 2 /* X86Cpu.EXIT_INTERRUPT */);
            }
            throw new CpuFault(vector, 0, false, true, 0);
        }
        if (kind == SOFT_INTN && v86() && iopl() < 3) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        deliver(vector, kind, false, 0);
    }

    /** Delivers an event with EIP already at the return address. */
    final void deliver(int vector, int kind, boolean hasError, int error) {
        if (eventObserver != null) {
            eventObserver.event(vector, kind != EVENT_EXTERNAL, hasError, error);
        }
        halted = false;
        if (firstEventVector < 0) {
            firstEventVector = vector;
        }
        if (!protectedMode()) {
            deliverReal(vector);
        } else {
            deliverProtected(vector, kind, hasError, error);
        }
    }

    private void deliverReal(int vector) {
        long entry = vector * 4L;
        if (entry + 3 > idtrLimit) {
            throw CpuFault.withCode(CpuFault.GP, (int) entry + 2);
        }
        int ip = readSystem(idtrBase + entry, 2);
        int cs = readSystem(idtrBase + entry + 2, 2);
        push(2, materializeFlags());
        push(2, segSel[CS]);
        push(2, (int) eip);
        flags &= ~(IF | TF | AC | RF);
        loadSegmentReal(CS, cs);
        eip = ip;
    }

    private void deliverProtected(int vector, int kind, boolean hasError, int error) {
        checkpoint();
        int ext = kind == EVENT_EXTERNAL || kind == SOFT_ICEBP ? 1 : 0;
        long entry = vector * 8L;
        if (entry + 7 > idtrLimit) {
            throw CpuFault.withCode(CpuFault.GP, (int) entry + 2 + ext);
        }
        long gate = (readSystem(idtrBase + entry, 4) & MASK32) | ((long) readSystem(idtrBase + entry + 4, 4) << 32);
        int attr = descriptorAttr(gate);
        int type = attr & 0x1f;
        if (type != 0x05 && type != 0x06 && type != 0x07 && type != 0x0e && type != 0x0f) {
            throw CpuFault.withCode(CpuFault.GP, (int) entry + 2 + ext);
        }
        if (kind != EVENT_EXTERNAL && kind != SOFT_ICEBP && dpl(attr) < cpl) {
            throw CpuFault.withCode(CpuFault.GP, (int) entry + 2);
        }
        if (!present(attr)) {
            throw CpuFault.withCode(CpuFault.NP, (int) entry + 2 + ext);
        }
        if (type == 0x05) {
            taskSwitch((int) (gate >>> 16) & 0xffff, TASK_INTERRUPT, hasError ? error : -1);
            return;
        }
        int target = (int) (gate >>> 16) & 0xffff;
        long offset = gateOffset(gate, type);
        int gateSize = (type & 8) != 0 ? 4 : 2;
        if ((target & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.GP, ext);
        }
        long cd = readDescriptor(target);
        int cattr = descriptorAttr(cd);
        if (!isCode(cattr) || dpl(cattr) > cpl) {
            throw CpuFault.withCode(CpuFault.GP, (target & 0xfffc) + ext);
        }
        if (!present(cattr)) {
            throw CpuFault.withCode(CpuFault.NP, (target & 0xfffc) + ext);
        }
        if (offset > descriptorLimit(cd)) {
            throw CpuFault.withCode(CpuFault.GP, ext);
        }
        int oldFlags = materializeFlags();
        int oldCs = segSel[CS];
        long oldEip = eip;
        int newPl = dpl(cattr);
        boolean fromV86 = v86();
        if (!conforming(cattr) && newPl < cpl) {
            if (fromV86 && newPl != 0) {
                throw CpuFault.withCode(CpuFault.GP, (target & 0xfffc) + ext);
            }
            int oldSs = segSel[SS];
            int oldEsp = (int) regs[ESP];
            flags &= ~VM; // the inner stack is a protected-mode stack
            switchToInnerStack(newPl);
            if (fromV86) {
                push(gateSize, segSel[GS]);
                push(gateSize, segSel[FS]);
                push(gateSize, segSel[DS]);
                push(gateSize, segSel[ES]);
            }
            push(gateSize, oldSs);
            push(gateSize, oldEsp);
            if (fromV86) {
                for (int s : new int[] {ES, DS, FS, GS}) {
                    setSegmentCache(s, 0, 0, 0, 0);
                }
            }
        } else if (fromV86) {
            throw CpuFault.withCode(CpuFault.GP, (target & 0xfffc) + ext);
        }
        push(gateSize, oldFlags);
        push(gateSize, oldCs);
        push(gateSize, (int) oldEip);
        if (hasError) {
            push(gateSize, error);
        }
        loadCode(target, cd, conforming(cattr) ? cpl : newPl);
        eip = offset;
        flags &= ~(TF | VM | RF | NT);
        if ((type & 1) == 0) {
            flags &= ~IF;
        }
    }

    // ---- task switching ----

    static final int TASK_JUMP = 0, TASK_CALL = 1, TASK_IRET = 2, TASK_INTERRUPT = 3;

    /** Where a TSS keeps each field: the 32-bit (386) and 16-bit (286) layouts. */
    private record TssLayout(int ip, int flags, int regs, int width, int segs, int segCount, int ldt, int cr3,
                             int minLimit) {
    }

    private static final TssLayout TSS32 = new TssLayout(0x20, 0x24, 0x28, 4, 0x48, 6, 0x60, 0x1c, 0x67);
    private static final TssLayout TSS16 = new TssLayout(0x0e, 0x10, 0x12, 2, 0x22, 4, 0x2a, -1, 0x2b);

    private static TssLayout layout(int attr) { return (attr & 8) != 0 ? TSS32 : TSS16; }

    /** A hardware task switch to the TSS selected by {@code sel} (SDM Vol. 3 §7.3). */
    final void taskSwitch(int sel, int reason, int errorCode) {
        if ((sel & 4) != 0 || (sel & 0xfffc) == 0) {
            throw selectorFault(CpuFault.GP, sel);
        }
        long d = readDescriptor(sel);
        int attr = descriptorAttr(d);
        int type = attr & 0x1f;
        boolean busy = (type & 2) != 0;
        if ((type & 0x15) != 0x01 || (reason == TASK_IRET ? !busy : busy)) {
            throw selectorFault(reason == TASK_IRET ? CpuFault.TS : CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
        TssLayout in = layout(attr);
        long newBase = descriptorBase(d);
        if (descriptorLimit(d) < in.minLimit()) {
            throw selectorFault(CpuFault.TS, sel);
        }
        TssLayout out = layout(segAttr[TR]);
        long oldBase = segBase[TR];
        int oldSel = segSel[TR];
        int oldFlags = materializeFlags();
        if (reason == TASK_IRET) {
            oldFlags &= ~NT;
        }
        // save the outgoing task
        writeSystem(oldBase + out.ip(), out.width(), (int) eip);
        writeSystem(oldBase + out.flags(), out.width(), oldFlags);
        for (int r = EAX; r <= EDI; r++) {
            writeSystem(oldBase + out.regs() + (long) out.width() * r, out.width(), (int) regs[r]);
        }
        for (int s = ES; s < ES + out.segCount(); s++) {
            writeSystem(oldBase + out.segs() + (long) out.width() * s, 2, segSel[s]);
        }
        if (reason == TASK_JUMP || reason == TASK_IRET) {
            setBusy(oldSel, false);
        }
        // read the incoming task
        long newCr3 = in.cr3() >= 0 ? readSystem(newBase + in.cr3(), 4) & MASK32 : cr3;
        long newEip = readSystem(newBase + in.ip(), in.width()) & (in.width() == 4 ? MASK32 : 0xffff);
        int newFlags = readSystem(newBase + in.flags(), in.width());
        long[] newRegs = new long[8];
        for (int r = EAX; r <= EDI; r++) {
            long v = readSystem(newBase + in.regs() + (long) in.width() * r, in.width()) & MASK32;
            newRegs[r] = in.width() == 4 ? v : (regs[r] & ~0xffffL) | v; // a 16-bit TSS loads the low halves
        }
        int[] newSegs = new int[6];
        for (int s = ES; s <= GS; s++) {
            newSegs[s] = s < ES + in.segCount() ? readSystem(newBase + in.segs() + (long) in.width() * s, 2) : segSel[s];
        }
        int newLdt = readSystem(newBase + in.ldt(), 2);
        if (reason == TASK_CALL || reason == TASK_INTERRUPT) {
            writeSystem(newBase, 2, oldSel);
            newFlags |= NT;
        }
        if (reason != TASK_IRET) {
            setBusy(sel, true);
        }
        cr0 |= CR0_TS;
        setSegmentCache(TR, sel, newBase, descriptorLimit(d), (attr | 2));
        if ((cr0 & CR0_PG) != 0 && newCr3 != cr3) {
            cr3 = newCr3;
            flushTlb();
        } else {
            cr3 = newCr3;
        }
        eip = newEip;
        materializeFlags();
        flags = (newFlags & IMPLEMENTED_FLAGS & (in.width() == 4 ? -1 : 0xffff)) | FIXED_ONE;
        System.arraycopy(newRegs, 0, regs, 0, 8);
        // load the new segments: selectors first (a fault now happens in the new task's context)
        for (int s = ES; s <= GS; s++) {
            segSel[s] = newSegs[s];
        }
        loadLdt(newLdt);
        if (v86()) {
            setCpl(3);
            for (int s = ES; s <= GS; s++) {
                setSegmentCache(s, newSegs[s], (long) newSegs[s] << 4, 0xffff, s == CS ? 0xfb : 0xf3);
            }
        } else {
            int newCpl = newSegs[CS] & 3;
            long cd = readDescriptor(newSegs[CS]);
            if (!isCode(descriptorAttr(cd))) {
                throw selectorFault(CpuFault.TS, newSegs[CS]);
            }
            loadCode(newSegs[CS], cd, newCpl);
            loadStackSegment(newSegs[SS], newCpl);
            for (int s : new int[] {ES, DS, FS, GS}) {
                loadSegment(s, newSegs[s]);
            }
        }
        if (errorCode >= 0) {
            push(in.width(), errorCode);
        }
        debugAfterTaskSwitch(in == TSS32 && (readSystem(newBase + TSS32_TRAP, 2) & 1) != 0);
    }

    /** Offset of the 32-bit TSS's word holding the T (debug trap) flag. */
    private static final int TSS32_TRAP = 0x64;

    /** A task switch drops the local breakpoints (DR7 L0-L3, LE) and, for a TSS with T set, traps (DR6.BT). */
    private void debugAfterTaskSwitch(boolean trapFlag) {
        if ((dr[7] & DR7_LOCAL) != 0) {
            dr[7] &= ~DR7_LOCAL;
            debugRegistersChanged();
        }
        if (trapFlag) {
            debugTrapStatus |= DR6_BT;
        }
    }

    private void setBusy(int sel, boolean busy) {
        if ((sel & 0xfffc) == 0) {
            return;
        }
        long a = descriptorAddress(sel);
        int b = readSystem(a + 5, 1);
        writeSystem(a + 5, 1, busy ? b | 2 : b & ~2);
    }

    final void loadLdt(int sel) {
        if ((sel & 0xfffc) == 0) {
            setSegmentCache(LDTR, sel, 0, 0, 0);
            return;
        }
        if ((sel & 4) != 0) {
            throw selectorFault(CpuFault.GP, sel);
        }
        long d = readDescriptor(sel);
        int attr = descriptorAttr(d);
        if ((attr & 0x1f) != 0x02) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
        setSegmentCache(LDTR, sel, descriptorBase(d), descriptorLimit(d), attr);
    }

    final void loadTr(int sel) {
        if ((sel & 0xfffc) == 0 || (sel & 4) != 0) {
            throw selectorFault(CpuFault.GP, sel);
        }
        long d = readDescriptor(sel);
        int attr = descriptorAttr(d);
        int type = attr & 0x1f;
        if (type != 0x01 && type != 0x09) {
            throw selectorFault(CpuFault.GP, sel);
        }
        if (!present(attr)) {
            throw selectorFault(CpuFault.NP, sel);
        }
        setBusy(sel, true);
        setSegmentCache(TR, sel, descriptorBase(d), descriptorLimit(d), attr | 2);
    }

    // ---- I/O permission ----

    /** Before a port access: I/O breakpoints, then IOPL and the TSS's I/O permission bitmap (#GP(0) if denied). */
    final void checkIoPermission(int port, int size) {
        if (ioBreakpoints != 0) {
            checkIoBreakpoints(port, size);
        }
        if (!protectedMode() || (!v86() && cpl <= iopl())) {
            return;
        }
        if (userMode) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int type = segAttr[TR] & 0x1f;
        if ((type != 0x09 && type != 0x0b) || segLimit[TR] < 0x67) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        long mapBase = readSystem(segBase[TR] + 0x66, 2);
        long at = mapBase + (port >>> 3);
        if (at + 1 > segLimit[TR]) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int bits = readSystem(segBase[TR] + at, 2);
        int mask = ((1 << size) - 1) << (port & 7);
        if ((bits & mask) != 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
    }

    // ---- privileged and model-specific instructions ----

    final void requireCpl0() {
        if (protectedMode() && (cpl != 0 || v86())) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
    }

    final void cpuid() {
        int leaf = reg32(EAX);
        int a, b, c, d;
        if (leaf == 0 || Integer.compareUnsigned(leaf, 2) > 0) {
            if (leaf != 0) {
                leaf = 2; // beyond the highest leaf: Intel returns the highest basic leaf
            }
        }
        switch (leaf) {
            case 0 -> { a = 2; b = 0x756e_6547; d = 0x4965_6e69; c = 0x6c65_746e; } // "GenuineIntel"
            case 1 -> { a = CPUID_SIGNATURE; b = 0; c = 0; d = CPUID_FEATURES; }
            default -> { a = 0x0302_0101; b = 0; c = 0; d = 0x0604_0a42; } // Pentium Pro cache descriptors
        }
        setReg32(EAX, a);
        setReg32(EBX, b);
        setReg32(ECX, c);
        setReg32(EDX, d);
    }

    java.util.function.LongSupplier tscSource;

    final long tsc() { return (tscSource == null ? retired : tscSource.getAsLong()) + tscOffset; }

    final void rdtsc() {
        if ((cr4 & CR4_TSD) != 0 && protectedMode() && (cpl != 0 || v86())) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        long t = tsc();
        setReg32(EAX, (int) t);
        setReg32(EDX, (int) (t >>> 32));
    }

    /** RDPMC: the P6's two performance counters exist but count nothing here (they read as zero). */
    final void rdpmc() {
        if ((cr4 & CR4_PCE) == 0 && protectedMode() && (cpl != 0 || v86())) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int counter = reg32(ECX);
        if (counter != 0 && counter != 1) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        setReg32(EAX, 0);
        setReg32(EDX, 0);
    }

    final void rdmsr() {
        requireCpl0();
        long v = switch (reg32(ECX)) {
            case MSR_TSC -> tsc();
            case MSR_APIC_BASE -> apicBase;
            case MSR_SYSENTER_CS -> sysenterCs;
            case MSR_SYSENTER_ESP -> sysenterEsp;
            case MSR_SYSENTER_EIP -> sysenterEip;
            case MSR_BIOS_SIGN, MSR_PLATFORM_ID, MSR_MTRR_CAP -> 0;
            case MSR_MISC_ENABLE -> 1; // fast strings
            default -> throw CpuFault.withCode(CpuFault.GP, 0);
        };
        setReg32(EAX, (int) v);
        setReg32(EDX, (int) (v >>> 32));
    }

    final void wrmsr() {
        requireCpl0();
        long v = (reg32(EAX) & MASK32) | ((long) reg32(EDX) << 32);
        switch (reg32(ECX)) {
            case MSR_TSC -> tscOffset = v - (tscSource == null ? retired : tscSource.getAsLong());
            case MSR_APIC_BASE -> apicBase = v & 0xffff_f900L;
            case MSR_SYSENTER_CS -> sysenterCs = v & 0xffff;
            case MSR_SYSENTER_ESP -> sysenterEsp = v & MASK32;
            case MSR_SYSENTER_EIP -> sysenterEip = v & MASK32;
            case MSR_BIOS_SIGN, MSR_MISC_ENABLE -> { }
            default -> throw CpuFault.withCode(CpuFault.GP, 0);
        }
    }

    final void sysenter() {
        if (userMode) {
            throw new CpuFault(0, 0, false, true, 3 /* X86Cpu.EXIT_SYSCALL */);
        }
        if (!protectedMode() || (sysenterCs & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        materializeFlags();
        flags &= ~(VM | IF | RF);
        int cs = (int) sysenterCs & 0xfffc;
        setCpl(0);
        setSegmentCache(CS, cs, 0, MASK32, 0xc09b);
        setSegmentCache(SS, cs + 8, 0, MASK32, 0xc093);
        regs[ESP] = sysenterEsp;
        eip = sysenterEip;
    }

    final void sysexit() {
        if (!protectedMode() || v86() || cpl != 0 || (sysenterCs & 0xfffc) == 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int cs = (int) sysenterCs & 0xfffc;
        setCpl(3);
        setSegmentCache(CS, (cs + 16) | 3, 0, MASK32, 0xc0fb);
        setSegmentCache(SS, (cs + 24) | 3, 0, MASK32, 0xc0f3);
        regs[ESP] = regs[ECX] & MASK32;
        eip = regs[EDX] & MASK32;
    }

    final void writeCr0(long v) {
        v = (v & 0xe005_003fL) | CR0_ET;
        if ((v & CR0_PG) != 0 && (v & CR0_PE) == 0 || (v & CR0_NW) != 0 && (v & CR0_CD) == 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        long changed = cr0 ^ v;
        cr0 = v;
        if ((changed & (CR0_PG | CR0_WP | CR0_PE)) != 0) {
            flushTlb();
        }
        if ((changed & CR0_PE) != 0) {
            recomputeSegmentWindows();
            if ((v & CR0_PE) == 0) {
                setCpl(0);
            }
        }
    }

    final void writeCr4(long v) {
        if ((v & ~CR4_WRITABLE) != 0) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        long changed = cr4 ^ v;
        cr4 = v;
        if ((changed & (CR4_PSE | CR4_PGE)) != 0) {
            flushTlb();
        }
        if ((changed & CR4_DE) != 0) {
            debugRegistersChanged(); // DE decides whether R/W = 10b means I/O breakpoints
        }
    }

    final long readControl(int n) {
        return switch (n) {
            case 0 -> cr0;
            case 2 -> cr2;
            case 3 -> cr3;
            case 4 -> cr4;
            default -> throw CpuFault.of(CpuFault.UD);
        };
    }

    final void writeControl(int n, long v) {
        v &= MASK32;
        switch (n) {
            case 0 -> writeCr0(v);
            case 2 -> cr2 = v;
            case 3 -> { cr3 = v & 0xffff_f018L; flushTlbForCr3(); }
            case 4 -> writeCr4(v);
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    final int debugIndex(int n) {
        if (n == 4 || n == 5) {
            if ((cr4 & CR4_DE) != 0) {
                throw CpuFault.of(CpuFault.UD);
            }
            return n + 2;
        }
        return n;
    }
}
