package org.jqemu.target.i386;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntUnaryOperator;
import org.jqemu.fpu.X87;
import org.jqemu.fpu.X87Context;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.HostMemory;
import org.jqemu.memory.Page;

/**
 * The decoder and the integer instructions. {@link #step()} decodes prefixes, the opcode, ModR/M, SIB
 * and displacement into per-instruction fields, then executes. The decoder is written the way an x86_64
 * one would be (prefix scan, then opcode maps), but only 16- and 32-bit code is implemented: a REX byte
 * is INC/DEC here.
 */
abstract class Interpreter extends SystemUnit {
    static final int ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6,
            ALU_CMP = 7;
    /** REP iterations executed per step, so that interrupts are taken during long string instructions. */
    static final int REP_CHUNK = 4096;

    final X87 x87;
    final X87Context fpuContext = new FpuBridge();

    // per-instruction decode state
    long startEip;
    long startEsp;
    boolean opSize32, addrSize32, lockPrefix;
    int segOverride, repPrefix;
    int mod, regField, rm;
    int modrmByte;
    int eaSeg, eaOff;
    /** The effective address used ESP as its base register (POP r/m adjusts for that). */
    boolean eaEspBase;

    Interpreter(AddressSpace memory, IoPorts io, X87 x87) {
        super(memory, io);
        this.x87 = x87;
    }

    // ---- fetch ----

    /** The architectural limit on instruction length (prefixes included). */
    static final int MAX_INSTRUCTION_LENGTH = 15;

    /**
     * Sets up the fetch window ({@link Mmu#fetchStart}) for the instruction starting at {@code eip}, unless EIP is
     * already inside it: the code page's part that the CS limit allows, when the page is in the fetch TLB. Within the
     * window {@link #fetch8} reads without checks; beyond it (or with no entry) it takes the checked path. The window
     * is not capped at the 15-byte limit: without prefixes no instruction is longer than 11 bytes, and
     * {@link #prefixes} caps it for prefixed ones.
     */
    private void startFetch() {
        long off = eip;
        if (Long.compareUnsigned(off - fetchStart, fetchEnd - fetchStart) < 0) {
            return; // the straight line goes on inside the window
        }
        forgetFetchWindow();
        if (off < segLow[CS]) {
            return;
        }
        long lin = (segBase[CS] + off) & MASK32;
        long host = execHostOf(lin);
        long pageStart = off - (lin & Page.OFFSET_MASK);
        long end = Math.min(pageStart + Page.SIZE, segHigh[CS] + 1);
        if (host != 0 && end > off) {
            fetchHost = host - off;
            fetchStart = Math.max(pageStart, segLow[CS]);
            fetchEnd = end;
        }
    }

    /**
     * A prefixed instruction may reach the 15-byte limit: its window ends there (the checked path raises the #GP), and
     * the next instruction sets the window up again.
     */
    private void capFetchWindow() {
        fetchEnd = Math.min(fetchEnd, startEip + MAX_INSTRUCTION_LENGTH);
        fetchStart = fetchEnd;
    }

    final int fetch8() {
        long off = eip;
        if (off < fetchEnd) {
            eip = off + 1;
            return HostMemory.ALL.get(ValueLayout.JAVA_BYTE, fetchHost + off) & 0xff;
        }
        return fetch8Checked();
    }

    /** A byte outside the fetch window: segment and length checks, then the fetch TLB (or a page walk). */
    private int fetch8Checked() {
        long off = eip;
        if (off > segHigh[CS] || off < segLow[CS] || off - startEip >= MAX_INSTRUCTION_LENGTH) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int b = fetchByte((segBase[CS] + off) & MASK32);
        eip = off + 1;
        return b;
    }

    // Displacements and immediates inside the window are read in one access (little-endian, as the bytes).

    final int fetch16() {
        long off = eip;
        if (off + 2 <= fetchEnd) {
            eip = off + 2;
            return HostMemory.ALL.get(LE_SHORT, fetchHost + off) & 0xffff;
        }
        return fetch8() | (fetch8() << 8);
    }

    final int fetch32() {
        long off = eip;
        if (off + 4 <= fetchEnd) {
            eip = off + 4;
            return HostMemory.ALL.get(LE_INT, fetchHost + off);
        }
        return fetch8() | (fetch8() << 8) | (fetch8() << 16) | (fetch8() << 24);
    }

    final int fetchImm(int size) {
        return size == 4 ? fetch32() : size == 2 ? fetch16() : fetch8();
    }

    final int fetchSimm8() { return (byte) fetch8(); }

    final int osz() { return opSize32 ? 4 : 2; }

    // ---- ModR/M ----

    final void decodeModrm() {
        int m = fetch8();
        modrmByte = m;
        mod = m >> 6;
        regField = (m >> 3) & 7;
        rm = m & 7;
        if (mod != 3) {
            if (addrSize32) {
                ea32();
            } else {
                ea16();
            }
        }
    }

    /** MOV to/from CRn/DRn: the ModR/M byte always names a register, whatever its mod field says. */
    final void decodeRegisterModrm() {
        int m = fetch8();
        modrmByte = m;
        mod = 3;
        regField = (m >> 3) & 7;
        rm = m & 7;
    }

    private void ea16() {
        int seg = DS;
        eaEspBase = false;
        int off = switch (rm) {
            case 0 -> reg16(EBX) + reg16(ESI);
            case 1 -> reg16(EBX) + reg16(EDI);
            case 2 -> { seg = SS; yield reg16(EBP) + reg16(ESI); }
            case 3 -> { seg = SS; yield reg16(EBP) + reg16(EDI); }
            case 4 -> reg16(ESI);
            case 5 -> reg16(EDI);
            case 6 -> {
                if (mod == 0) {
                    yield fetch16();
                }
                seg = SS;
                yield reg16(EBP);
            }
            default -> reg16(EBX);
        };
        if (mod == 1) {
            off += fetchSimm8();
        } else if (mod == 2) {
            off += fetch16();
        }
        eaOff = off & 0xffff;
        eaSeg = segOverride >= 0 ? segOverride : seg;
    }

    private void ea32() {
        int seg = DS;
        eaEspBase = false;
        int off;
        if (rm == 4) {
            int sib = fetch8();
            int base = sib & 7;
            int index = (sib >> 3) & 7;
            if (base == 5 && mod == 0) {
                off = fetch32();
            } else {
                off = reg32(base);
                eaEspBase = base == ESP;
                if (base == ESP || base == EBP) {
                    seg = SS;
                }
            }
            if (index != 4) {
                off += reg32(index) << (sib >> 6);
            }
        } else if (rm == 5 && mod == 0) {
            off = fetch32();
        } else {
            off = reg32(rm);
            if (rm == EBP) {
                seg = SS;
            }
        }
        if (mod == 1) {
            off += fetchSimm8();
        } else if (mod == 2) {
            off += fetch32();
        }
        eaOff = off;
        eaSeg = segOverride >= 0 ? segOverride : seg;
    }

    final int readE(int size) { return mod == 3 ? reg(size, rm) : readMem(eaSeg, eaOff, size); }

    final void writeE(int size, int v) {
        if (mod == 3) {
            setReg(size, rm, v);
        } else {
            writeMem(eaSeg, eaOff, size, v);
        }
    }

    final void requireMemory() {
        if (mod == 3) {
            throw CpuFault.of(CpuFault.UD);
        }
    }

    /**
     * Read-modify-write of the ModR/M operand: {@code f} maps the old value to the new one (and sets flags).
     * The destination is checked for writability before {@code f} runs, so a fault leaves flags untouched.
     * With LOCK on RAM the update is one compare-and-set, retried until it wins.
     */
    final int rmw(int size, IntUnaryOperator f) {
        if (lockPrefix && mod != 3) {
            return lockedRmw(writeAddress(eaSeg, eaOff, size), size, f);
        }
        int v = f.applyAsInt(rmwLoad(size));
        rmwStore(size, v);
        return v;
    }

    /** The linear address {@link #rmwLoad} checked, for {@link #rmwStore}. */
    private long rmwAt;

    /**
     * Reads the operand of an unlocked read-modify-write: the register, or memory checked for writing first
     * (segment and page) so that {@link #rmwStore}'s write after it cannot fault. {@link #rmw}'s order without a
     * function object, for the frequent instructions.
     */
    final int rmwLoad(int size) {
        if (mod == 3) {
            return reg(size, rm);
        }
        rmwAt = writeAddress(eaSeg, eaOff, size);
        probeWrite(rmwAt, size);
        return readLinear(rmwAt, size);
    }

    /** Writes the result of a read-modify-write where {@link #rmwLoad} read its operand. */
    final void rmwStore(int size, int v) {
        if (mod == 3) {
            setReg(size, rm, v);
        } else {
            writeLinear(rmwAt, size, v);
        }
    }

    private int lockedRmw(long lin, int size, IntUnaryOperator f) {
        MemorySegment page = atomicRam(lin, size);
        if (page == null) {
            synchronized (memory) {
                int v = f.applyAsInt(readLinear(lin, size));
                writeLinear(lin, size, v);
                return v;
            }
        }
        while (true) {
            int old = readLinear(lin, size);
            int v = f.applyAsInt(old);
            if (compareAndSet(page, lin, size, old, v)) {
                return v;
            }
        }
    }

    final int readLinear(long lin, int size) {
        return switch (size) {
            case 1 -> read8(lin);
            case 2 -> read16(lin);
            default -> read32(lin);
        };
    }

    final void writeLinear(long lin, int size, int v) {
        switch (size) {
            case 1 -> write8(lin, v);
            case 2 -> write16(lin, v);
            default -> write32(lin, v);
        }
    }

    // ---- the instruction ----

    /** Executes one instruction (a REP string instruction may take several steps). */
    final void step() {
        startEip = eip;
        startEsp = regs[ESP];
        startFetch();
        if (instructionBreakpoints != 0 && (flags & RF) == 0) {
            int hits = instructionBreakpointHits((segBase[CS] + eip) & MASK32);
            if (hits != 0) {
                dr[6] |= hits;
                throw CpuFault.of(CpuFault.DB); // a fault: before the instruction executes
            }
        }
        opSize32 = code32;
        addrSize32 = code32;
        segOverride = -1;
        repPrefix = 0;
        lockPrefix = false;
        int op = fetch8();
        if (PREFIX[op]) { // most instructions have none: one table load instead of the prefix switch
            op = prefixes(op);
        }
        if (lockPrefix && op != 0x0f) {
            checkLock(op);
        }
        execute(op);
    }

    /** The bytes that are prefixes in 16- and 32-bit code. */
    private static final boolean[] PREFIX = new boolean[256];

    static {
        for (int b : new int[] {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3}) {
            PREFIX[b] = true;
        }
    }

    /** Applies the prefix {@code op} and any that follow it; returns the opcode byte after them. */
    private int prefixes(int op) {
        capFetchWindow();
        while (true) {
            switch (op) {
                case 0x26 -> segOverride = ES;
                case 0x2e -> segOverride = CS;
                case 0x36 -> segOverride = SS;
                case 0x3e -> segOverride = DS;
                case 0x64 -> segOverride = FS;
                case 0x65 -> segOverride = GS;
                case 0x66 -> opSize32 = !code32;
                case 0x67 -> addrSize32 = !code32;
                case 0xf0 -> lockPrefix = true;
                case 0xf2, 0xf3 -> repPrefix = op;
                default -> {
                    return op;
                }
            }
            op = fetch8();
        }
    }

    /** LOCK is only allowed on read-modify-write instructions with a memory destination (else #UD). */
    private void checkLock(int op) {
        boolean lockable = switch (op) {
            case 0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
                 0x80, 0x81, 0x82, 0x83, 0x86, 0x87, 0xf6, 0xf7, 0xfe, 0xff -> true;
            default -> false;
        };
        if (!lockable || !lockableForm(op, peekModrm())) {
            throw CpuFault.of(CpuFault.UD);
        }
    }

    private static boolean lockableForm(int op, int modrm) {
        if ((modrm >> 6) == 3) {
            return false;
        }
        int reg = (modrm >> 3) & 7;
        return switch (op) {
            case 0x80, 0x81, 0x82, 0x83 -> reg != 7;
            case 0xf6, 0xf7 -> reg == 2 || reg == 3;
            case 0xfe, 0xff -> reg == 0 || reg == 1;
            default -> true;
        };
    }

    /** The byte at EIP without consuming it. */
    final int peekModrm() {
        long saved = eip;
        int b = fetch8();
        eip = saved;
        return b;
    }

    private void execute(int op) {
        switch (op) {
            case 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38 -> aluEG(op >> 3, 1);
            case 0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39 -> aluEG(op >> 3, osz());
            case 0x02, 0x0a, 0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a -> aluGE(op >> 3, 1);
            case 0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b -> aluGE(op >> 3, osz());
            case 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c -> aluAcc(op >> 3, 1);
            case 0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d -> aluAcc(op >> 3, osz());
            case 0x06 -> pushSegment(ES);
            case 0x07 -> popSegment(ES);
            case 0x0e -> pushSegment(CS);
            case 0x0f -> executeTwoByte(fetch8());
            case 0x16 -> pushSegment(SS);
            case 0x17 -> popSegment(SS);
            case 0x1e -> pushSegment(DS);
            case 0x1f -> popSegment(DS);
            case 0x27 -> daa();
            case 0x2f -> das();
            case 0x37 -> aaa();
            case 0x3f -> aas();
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> setReg(osz(), op & 7, inc(osz(), reg(osz(), op & 7)));
            case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> setReg(osz(), op & 7, dec(osz(), reg(osz(), op & 7)));
            case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 -> push(osz(), reg(osz(), op & 7));
            case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f -> popReg(op & 7);
            case 0x60 -> pusha();
            case 0x61 -> popa();
            case 0x62 -> bound();
            case 0x63 -> arpl();
            case 0x68 -> push(osz(), fetchImm(osz()));
            case 0x69 -> imulImm(osz(), false);
            case 0x6a -> push(osz(), fetchSimm8());
            case 0x6b -> imulImm(osz(), true);
            case 0x6c -> stringOp(op, 1);
            case 0x6d -> stringOp(op, osz());
            case 0x6e -> stringOp(op, 1);
            case 0x6f -> stringOp(op, osz());
            case 0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7c, 0x7d, 0x7e, 0x7f -> {
                int rel = fetchSimm8();
                if (condition(op & 15)) {
                    jumpRelative(rel);
                }
            }
            case 0x80, 0x82 -> group1(1, 1);
            case 0x81 -> group1(osz(), osz());
            case 0x83 -> group1(osz(), 1);
            case 0x84 -> { decodeModrm(); alu(ALU_AND, 1, readE(1), reg8(regField)); }
            case 0x85 -> { decodeModrm(); alu(ALU_AND, osz(), readE(osz()), reg(osz(), regField)); }
            case 0x86 -> xchgE(1);
            case 0x87 -> xchgE(osz());
            case 0x88 -> { decodeModrm(); writeE(1, reg8(regField)); }
            case 0x89 -> { decodeModrm(); writeE(osz(), reg(osz(), regField)); }
            case 0x8a -> { decodeModrm(); setReg8(regField, readE(1)); }
            case 0x8b -> { decodeModrm(); setReg(osz(), regField, readE(osz())); }
            case 0x8c -> movFromSegment();
            case 0x8d -> { decodeModrm(); requireMemory(); setReg(osz(), regField, eaOff); }
            case 0x8e -> movToSegment();
            case 0x8f -> popE();
            case 0x90 -> { }
            case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97 -> {
                int size = osz();
                int t = reg(size, op & 7);
                setReg(size, op & 7, reg(size, EAX));
                setReg(size, EAX, t);
            }
            case 0x98 -> {
                if (opSize32) {
                    setReg32(EAX, (short) reg16(EAX));
                } else {
                    setReg16(EAX, (byte) reg8(EAX));
                }
            }
            case 0x99 -> {
                if (opSize32) {
                    setReg32(EDX, reg32(EAX) >> 31);
                } else {
                    setReg16(EDX, ((short) reg16(EAX)) >> 15);
                }
            }
            case 0x9a -> {
                int off = fetchImm(osz());
                int sel = fetch16();
                farCall(sel, off, osz());
            }
            case 0x9b -> fwait();
            case 0x9c -> pushf();
            case 0x9d -> popf();
            case 0x9e -> setArithFlags(SF | ZF | AF | PF | CF, reg8(4));
            case 0x9f -> setReg8(4, (materializeFlags() & (SF | ZF | AF | PF | CF)) | FIXED_ONE);
            case 0xa0 -> setReg8(EAX, readMem(dataSegment(), moffs(), 1));
            case 0xa1 -> setReg(osz(), EAX, readMem(dataSegment(), moffs(), osz()));
            case 0xa2 -> writeMem(dataSegment(), moffs(), 1, reg8(EAX));
            case 0xa3 -> writeMem(dataSegment(), moffs(), osz(), reg(osz(), EAX));
            case 0xa4, 0xa6, 0xaa, 0xac, 0xae -> stringOp(op, 1);
            case 0xa5, 0xa7, 0xab, 0xad, 0xaf -> stringOp(op, osz());
            case 0xa8 -> alu(ALU_AND, 1, reg8(EAX), fetch8());
            case 0xa9 -> alu(ALU_AND, osz(), reg(osz(), EAX), fetchImm(osz()));
            case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7 -> setReg8(op & 7, fetch8());
            case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> setReg(osz(), op & 7, fetchImm(osz()));
            case 0xc0 -> group2(1, 0);
            case 0xc1 -> group2(osz(), 0);
            case 0xc2 -> { int n = fetch16(); nearReturn(n); }
            case 0xc3 -> nearReturn(0);
            case 0xc4 -> loadFarPointer(ES);
            case 0xc5 -> loadFarPointer(DS);
            case 0xc6 -> { decodeModrm(); requireRegZero(); writeE(1, fetch8()); }
            case 0xc7 -> { decodeModrm(); requireRegZero(); writeE(osz(), fetchImm(osz())); }
            case 0xc8 -> enter();
            case 0xc9 -> leave();
            case 0xca -> { int n = fetch16(); farReturn(osz(), n); }
            case 0xcb -> farReturn(osz(), 0);
            case 0xcc -> softwareInterrupt(CpuFault.BP, SOFT_INT3);
            case 0xcd -> softwareInterrupt(fetch8(), SOFT_INTN);
            case 0xce -> {
                if (of()) {
                    softwareInterrupt(CpuFault.OF, SOFT_INT3);
                }
            }
            case 0xcf -> iret(osz());
            case 0xd0 -> group2(1, 1);
            case 0xd1 -> group2(osz(), 1);
            case 0xd2 -> group2(1, 2);
            case 0xd3 -> group2(osz(), 2);
            case 0xd4 -> aam(fetch8());
            case 0xd5 -> aad(fetch8());
            case 0xd6 -> setReg8(EAX, cf() ? 0xff : 0);
            case 0xd7 -> {
                int off = addrSize32 ? reg32(EBX) + reg8(EAX) : (reg16(EBX) + reg8(EAX)) & 0xffff;
                setReg8(EAX, readMem(dataSegment(), off, 1));
            }
            case 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf -> x87Escape(op);
            case 0xe0, 0xe1, 0xe2 -> loop(op);
            case 0xe3 -> {
                int rel = fetchSimm8();
                if ((addrSize32 ? reg32(ECX) : reg16(ECX)) == 0) {
                    jumpRelative(rel);
                }
            }
            case 0xe4 -> setReg8(EAX, portIn(fetch8(), 1));
            case 0xe5 -> setReg(osz(), EAX, portIn(fetch8(), osz()));
            case 0xe6 -> portOut(fetch8(), 1, reg8(EAX));
            case 0xe7 -> portOut(fetch8(), osz(), reg(osz(), EAX));
            case 0xe8 -> {
                int rel = fetchImm(osz());
                long target = checkedNearTarget(eip + rel);
                push(osz(), (int) eip);
                eip = target;
            }
            case 0xe9 -> jumpRelative(fetchImm(osz()));
            case 0xea -> {
                int off = fetchImm(osz());
                int sel = fetch16();
                farJump(sel, off, osz());
            }
            case 0xeb -> jumpRelative(fetchSimm8());
            case 0xec -> setReg8(EAX, portIn(reg16(EDX), 1));
            case 0xed -> setReg(osz(), EAX, portIn(reg16(EDX), osz()));
            case 0xee -> portOut(reg16(EDX), 1, reg8(EAX));
            case 0xef -> portOut(reg16(EDX), osz(), reg(osz(), EAX));
            case 0xf1 -> softwareInterrupt(CpuFault.DB, SOFT_ICEBP);
            case 0xf4 -> hlt();
            case 0xf5 -> setArithFlags(CF, cf() ? 0 : CF);
            case 0xf6 -> group3(1);
            case 0xf7 -> group3(osz());
            case 0xf8 -> setArithFlags(CF, 0);
            case 0xf9 -> setArithFlags(CF, CF);
            case 0xfa -> cli();
            case 0xfb -> sti();
            case 0xfc -> flags &= ~DF;
            case 0xfd -> flags |= DF;
            case 0xfe -> group4();
            case 0xff -> group5();
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    final int dataSegment() { return segOverride >= 0 ? segOverride : DS; }

    private int moffs() { return addrSize32 ? fetch32() : fetch16(); }

    private void requireRegZero() {
        if (regField != 0) {
            throw CpuFault.of(CpuFault.UD);
        }
    }

    // ---- ALU ----

    final int alu(int op, int size, int a, int b) {
        int r;
        switch (op) {
            case ALU_ADD -> { r = a + b; setLazy(OP_ADD, size, a, b, r); }
            case ALU_OR -> { r = a | b; setLazyResult(size, r, 0); }
            case ALU_ADC -> {
                boolean c = cf();
                r = a + b + (c ? 1 : 0);
                setLazy(c ? OP_ADC : OP_ADD, size, a, b, r);
            }
            case ALU_SBB -> {
                boolean c = cf();
                r = a - b - (c ? 1 : 0);
                setLazy(c ? OP_SBB : OP_SUB, size, a, b, r);
            }
            case ALU_AND -> { r = a & b; setLazyResult(size, r, 0); }
            case ALU_XOR -> { r = a ^ b; setLazyResult(size, r, 0); }
            default -> { r = a - b; setLazy(OP_SUB, size, a, b, r); }
        }
        return r & sizeMask(size);
    }

    private void aluEG(int op, int size) {
        decodeModrm();
        int src = reg(size, regField);
        aluE(op, size, src);
    }

    private void aluE(int op, int size, int src) {
        if (op == ALU_CMP) {
            alu(op, size, readE(size), src);
        } else if (lockPrefix) {
            rmw(size, d -> alu(op, size, d, src));
        } else {
            rmwStore(size, alu(op, size, rmwLoad(size), src));
        }
    }

    private void aluGE(int op, int size) {
        decodeModrm();
        int r = alu(op, size, reg(size, regField), readE(size));
        if (op != ALU_CMP) {
            setReg(size, regField, r);
        }
    }

    private void aluAcc(int op, int size) {
        int r = alu(op, size, reg(size, EAX), fetchImm(size));
        if (op != ALU_CMP) {
            setReg(size, EAX, r);
        }
    }

    private void group1(int size, int immSize) {
        decodeModrm();
        int imm = immSize == 1 ? fetchSimm8() : fetchImm(immSize);
        aluE(regField, size, imm & sizeMask(size));
    }

    final int inc(int size, int v) {
        int c = cf() ? CF : 0;
        int r = v + 1;
        setLazy(OP_INC, size, v, 1, r);
        lazyAux = c;
        return r & sizeMask(size);
    }

    final int dec(int size, int v) {
        int c = cf() ? CF : 0;
        int r = v - 1;
        setLazy(OP_DEC, size, v, 1, r);
        lazyAux = c;
        return r & sizeMask(size);
    }

    // ---- shifts and rotates ----

    /** Group 2: {@code countKind} 0 = imm8, 1 = one, 2 = CL. */
    private void group2(int size, int countKind) {
        decodeModrm();
        int count = switch (countKind) {
            case 0 -> fetch8();
            case 1 -> 1;
            default -> reg8(ECX);
        } & 0x1f;
        int op = regField;
        if (count == 0) {
            readE(size); // the operand is still read (and may fault)
            return;
        }
        rmwStore(size, shiftRotate(op, size, rmwLoad(size), count)); // LOCK is #UD on shifts: never locked here
    }

    final int shiftRotate(int op, int size, int v, int count) {
        int bits = size * 8;
        int mask = sizeMask(size);
        int sign = signBit(size);
        v &= mask;
        switch (op) {
            case 0 -> { // ROL
                int n = count & (bits - 1);
                int r = n == 0 ? v : ((v << n) | (v >>> (bits - n))) & mask;
                int c = r & 1;
                setArithFlags(CF | OF, c | ((((r & sign) != 0 ? 1 : 0) ^ c) != 0 ? OF : 0));
                return r;
            }
            case 1 -> { // ROR
                int n = count & (bits - 1);
                int r = n == 0 ? v : ((v >>> n) | (v << (bits - n))) & mask;
                int msb = (r & sign) != 0 ? 1 : 0;
                int next = (r & (sign >>> 1)) != 0 ? 1 : 0;
                setArithFlags(CF | OF, msb | ((msb ^ next) != 0 ? OF : 0));
                return r;
            }
            case 2 -> { // RCL
                int n = size == 4 ? count : count % (bits + 1);
                long wide = (v & MASK32) | ((cf() ? 1L : 0L) << bits);
                long r = n == 0 ? wide : ((wide << n) | (wide >>> (bits + 1 - n))) & ((1L << (bits + 1)) - 1);
                int res = (int) r & mask;
                int c = (int) (r >>> bits) & 1;
                setArithFlags(CF | OF, c | ((((res & sign) != 0 ? 1 : 0) ^ c) != 0 ? OF : 0));
                return res;
            }
            case 3 -> { // RCR
                int n = size == 4 ? count : count % (bits + 1);
                int oldCf = cf() ? 1 : 0;
                long wide = (v & MASK32) | ((long) oldCf << bits);
                long r = n == 0 ? wide : ((wide >>> n) | (wide << (bits + 1 - n))) & ((1L << (bits + 1)) - 1);
                int res = (int) r & mask;
                int c = (int) (r >>> bits) & 1;
                // OF = MSB XOR next bit of the result: the SDM's rule for a count of 1, and what each
                // single-bit step leaves for larger counts
                int of = ((res ^ (res << 1)) & sign) != 0 ? OF : 0;
                setArithFlags(CF | OF, c | of);
                return res;
            }
            case 4, 6 -> { // SHL/SAL
                long wide = ((long) v) << count;
                int res = (int) wide & mask;
                int c = (int) (wide >>> bits) & 1;
                int of = (((res & sign) != 0 ? 1 : 0) ^ c) != 0 ? OF : 0;
                setLazyResult(size, res, c | of);
                return res;
            }
            case 5 -> { // SHR
                int res = (int) ((v & MASK32) >>> count) & mask;
                int c = (int) ((v & MASK32) >>> (count - 1)) & 1;
                // OF is the original sign for a count of 1; for larger counts the last step shifts a 0 sign out
                setLazyResult(size, res, c | (count == 1 && (v & sign) != 0 ? OF : 0));
                return res;
            }
            default -> { // SAR
                int sv = signExtend(v, size);
                int res = (sv >> Math.min(count, 31)) & mask;
                int c = (sv >> Math.min(count - 1, 31)) & 1;
                setLazyResult(size, res, c);
                return res;
            }
        }
    }

    /** SHLD/SHRD: {@code countKind} 0 = imm8, 2 = CL. */
    private void doubleShift(boolean left, int countKind) {
        decodeModrm();
        int size = osz();
        int count = (countKind == 0 ? fetch8() : reg8(ECX)) & 0x1f;
        int src = reg(size, regField);
        if (count == 0) {
            readE(size);
            return;
        }
        rmw(size, d -> doubleShiftValue(left, size, d, src, count));
    }

    final int doubleShiftValue(boolean left, int size, int dst, int src, int count) {
        int res;
        int c;
        if (size == 4) {
            if (left) {
                long pair = ((dst & MASK32) << 32) | (src & MASK32);
                res = (int) ((pair << count) >>> 32);
                c = (dst >>> (32 - count)) & 1;
            } else {
                long pair = ((src & MASK32) << 32) | (dst & MASK32);
                res = (int) (pair >>> count);
                c = (dst >>> (count - 1)) & 1;
            }
        } else {
            // Counts above 16 are undefined in the SDM; Intel CPUs shift through a 48-bit pattern:
            // dst:src:src for SHLD, src:src:dst for SHRD (checked against the host CPU).
            long d = dst & 0xffff;
            long sv = src & 0xffff;
            if (left) {
                long pattern = (d << 32) | (sv << 16) | sv;
                res = (int) ((pattern << count) >>> 32) & 0xffff;
                c = (int) (pattern >>> (48 - count)) & 1;
            } else {
                long pattern = (sv << 32) | (sv << 16) | d;
                res = (int) (pattern >>> count) & 0xffff;
                c = (int) (pattern >>> (count - 1)) & 1;
            }
        }
        int of = ((dst ^ res) & signBit(size)) != 0 ? OF : 0;
        setLazyResult(size, res, c | of);
        return res & sizeMask(size);
    }

    // ---- group 3: TEST/NOT/NEG/MUL/IMUL/DIV/IDIV ----

    private void group3(int size) {
        decodeModrm();
        switch (regField) {
            case 0, 1 -> alu(ALU_AND, size, readE(size), fetchImm(size));
            case 2 -> rmw(size, v -> ~v & sizeMask(size));
            case 3 -> rmw(size, v -> alu(ALU_SUB, size, 0, v));
            case 4 -> mul(size, readE(size));
            case 5 -> imul1(size, readE(size));
            case 6 -> div(size, readE(size));
            default -> idiv(size, readE(size));
        }
    }

    private void mul(int size, int src) {
        switch (size) {
            case 1 -> {
                int r = reg8(EAX) * (src & 0xff);
                setReg16(EAX, r);
                setLazyResult(1, r, (r >>> 8) != 0 ? CF | OF : 0);
            }
            case 2 -> {
                int r = reg16(EAX) * (src & 0xffff);
                setReg16(EAX, r);
                setReg16(EDX, r >>> 16);
                setLazyResult(2, r, (r >>> 16) != 0 ? CF | OF : 0);
            }
            default -> {
                long r = (reg32(EAX) & MASK32) * (src & MASK32);
                setReg32(EAX, (int) r);
                setReg32(EDX, (int) (r >>> 32));
                setLazyResult(4, (int) r, (r >>> 32) != 0 ? CF | OF : 0);
            }
        }
    }

    private void imul1(int size, int src) {
        switch (size) {
            case 1 -> {
                int r = (byte) reg8(EAX) * (byte) src;
                setReg16(EAX, r);
                setLazyResult(1, r, r != (byte) r ? CF | OF : 0);
            }
            case 2 -> {
                int r = (short) reg16(EAX) * (short) src;
                setReg16(EAX, r);
                setReg16(EDX, r >> 16);
                setLazyResult(2, r, r != (short) r ? CF | OF : 0);
            }
            default -> {
                long r = (long) reg32(EAX) * src;
                setReg32(EAX, (int) r);
                setReg32(EDX, (int) (r >> 32));
                setLazyResult(4, (int) r, r != (int) r ? CF | OF : 0);
            }
        }
    }

    /** Two- and three-operand IMUL: truncated product, CF = OF = the product did not fit. */
    final int imulTruncated(int size, int a, int b) {
        long r = (long) signExtend(a, size) * signExtend(b, size);
        int res = (int) r & sizeMask(size);
        boolean overflow = r != signExtend(res, size);
        setLazyResult(size, res, overflow ? CF | OF : 0);
        return res;
    }

    private void imulImm(int size, boolean imm8) {
        decodeModrm();
        int a = readE(size);
        int b = imm8 ? fetchSimm8() : fetchImm(size);
        setReg(size, regField, imulTruncated(size, a, b));
    }

    private void div(int size, int src) {
        switch (size) {
            case 1 -> {
                int d = src & 0xff;
                if (d == 0) {
                    throw CpuFault.of(CpuFault.DE);
                }
                int n = reg16(EAX);
                int q = n / d;
                if (q > 0xff) {
                    throw CpuFault.of(CpuFault.DE);
                }
                setReg16(EAX, (q & 0xff) | ((n % d) << 8));
            }
            case 2 -> {
                int d = src & 0xffff;
                if (d == 0) {
                    throw CpuFault.of(CpuFault.DE);
                }
                long n = ((long) reg16(EDX) << 16) | reg16(EAX);
                long q = n / d;
                if (q > 0xffff) {
                    throw CpuFault.of(CpuFault.DE);
                }
                setReg16(EAX, (int) q);
                setReg16(EDX, (int) (n % d));
            }
            default -> {
                long d = src & MASK32;
                if (d == 0) {
                    throw CpuFault.of(CpuFault.DE);
                }
                long hi = reg32(EDX) & MASK32;
                long lo = reg32(EAX) & MASK32;
                if (hi >= d) {
                    throw CpuFault.of(CpuFault.DE);
                }
                long n = (hi << 32) | lo;
                long q = Long.divideUnsigned(n, d);
                long r = Long.remainderUnsigned(n, d);
                setReg32(EAX, (int) q);
                setReg32(EDX, (int) r);
            }
        }
    }

    private void idiv(int size, int src) {
        switch (size) {
            case 1 -> {
                int d = (byte) src;
                if (d == 0) {
                    throw CpuFault.of(CpuFault.DE);
                }
                int n = (short) reg16(EAX);
                int q = n / d;
                if (q != (byte) q) {
                    throw CpuFault.of(CpuFault.DE);
                }
                setReg16(EAX, (q & 0xff) | ((n % d) << 8));
            }
            case 2 -> {
                int d = (short) src;
                if (d == 0) {
                    throw CpuFault.of(CpuFault.DE);
                }
                int n = (reg16(EDX) << 16) | reg16(EAX);
                long q = (long) n / d;
                if (q != (short) q) {
                    throw CpuFault.of(CpuFault.DE);
                }
                setReg16(EAX, (int) q);
                setReg16(EDX, (int) ((long) n % d));
            }
            default -> {
                long d = src;
                if (d == 0) {
                    throw CpuFault.of(CpuFault.DE);
                }
                long n = ((long) reg32(EDX) << 32) | (reg32(EAX) & MASK32);
                if (n == Long.MIN_VALUE && d == -1) {
                    throw CpuFault.of(CpuFault.DE);
                }
                long q = n / d;
                if (q != (int) q) {
                    throw CpuFault.of(CpuFault.DE);
                }
                setReg32(EAX, (int) q);
                setReg32(EDX, (int) (n % d));
            }
        }
    }

    // ---- BCD ----

    private void daa() {
        int al = reg8(EAX);
        boolean oldCf = cf();
        boolean carry = false;
        boolean aux = false;
        int r = al;
        if ((al & 0xf) > 9 || af()) {
            r = al + 6;
            carry = oldCf || r > 0xff;
            aux = true;
        }
        if (al > 0x99 || oldCf) {
            r += 0x60;
            carry = true;
        }
        r &= 0xff;
        setReg8(EAX, r);
        // OF is undefined; Intel CPUs set it when the adjustment turns a positive AL negative.
        int of = (al & 0x80) == 0 && (r & 0x80) != 0 ? OF : 0;
        setLazyResult(1, r, (carry ? CF : 0) | (aux ? AF : 0) | of);
    }

    private void das() {
        int al = reg8(EAX);
        boolean oldCf = cf();
        boolean carry = false;
        boolean aux = false;
        int r = al;
        if ((al & 0xf) > 9 || af()) {
            r = al - 6;
            carry = oldCf || r < 0;
            aux = true;
        }
        if (al > 0x99 || oldCf) {
            r -= 0x60;
            carry = true;
        }
        r &= 0xff;
        setReg8(EAX, r);
        int of = (al & 0x80) != 0 && (r & 0x80) == 0 ? OF : 0;
        setLazyResult(1, r, (carry ? CF : 0) | (aux ? AF : 0) | of);
    }

    private void aaa() {
        int ax = reg16(EAX);
        boolean adjust = (ax & 0xf) > 9 || af();
        if (adjust) {
            ax = ax + 0x106;
        }
        setReg16(EAX, ax & 0xff0f);
        setLazyResult(1, ax & 0x0f, adjust ? CF | AF : 0);
    }

    private void aas() {
        int ax = reg16(EAX);
        boolean adjust = (ax & 0xf) > 9 || af();
        if (adjust) {
            ax = (ax - 6) & 0xffff; // the SDM: AX := AX - 6; AH := AH - 1
            ax = (ax - 0x100) & 0xffff;
        }
        setReg16(EAX, ax & 0xff0f);
        setLazyResult(1, ax & 0x0f, adjust ? CF | AF : 0);
    }

    private void aam(int base) {
        if (base == 0) {
            throw CpuFault.of(CpuFault.DE);
        }
        int al = reg8(EAX);
        int r = al % base;
        setReg16(EAX, ((al / base) << 8) | r);
        setLazyResult(1, r, 0);
    }

    private void aad(int base) {
        int ax = reg16(EAX);
        int al = ax & 0xff;
        int product = ((ax >> 8) * base) & 0xff;
        int r = alu(ALU_ADD, 1, al, product);
        setReg16(EAX, r);
    }

    // ---- data movement ----

    private void xchgE(int size) {
        decodeModrm();
        int src = reg(size, regField);
        if (mod == 3) {
            int t = reg(size, rm);
            setReg(size, rm, src);
            setReg(size, regField, t);
            return;
        }
        int[] old = new int[1];
        boolean savedLock = lockPrefix;
        lockPrefix = true; // XCHG with memory is always locked
        rmw(size, v -> { old[0] = v; return src; });
        lockPrefix = savedLock;
        setReg(size, regField, old[0]);
    }

    private void popReg(int r) {
        int size = osz();
        int v = pop(size);
        setReg(size, r, v);
    }

    private void popE() {
        decodeModrm();
        requireRegZero();
        int size = osz();
        int v = peek(size, 0);
        // The SDM: ESP is incremented before the destination is written (and before an ESP-based
        // address is computed); a fault restores ESP (the run loop does).
        addSp(size);
        if (eaEspBase) {
            eaOff += size;
        }
        writeE(size, v);
    }

    private void pusha() {
        int size = osz();
        int sp = reg(size, ESP);
        for (int r = EAX; r <= EDI; r++) {
            push(size, r == ESP ? sp : reg(size, r));
        }
    }

    /** POPA reads all eight slots before writing a register, so that a stack fault leaves them untouched. */
    private void popa() {
        int size = osz();
        int[] values = new int[8];
        for (int r = EDI; r >= EAX; r--) {
            values[r] = peek(size, (EDI - r) * size);
        }
        for (int r = EDI; r >= EAX; r--) {
            if (r != ESP) {
                setReg(size, r, values[r]);
            }
        }
        addSp(8 * size);
    }

    private void bound() {
        decodeModrm();
        requireMemory();
        int size = osz();
        int index = signExtend(reg(size, regField), size);
        int lower = signExtend(readMem(eaSeg, eaOff, size), size);
        int upper = signExtend(readMem(eaSeg, eaOff + size, size), size);
        if (index < lower || index > upper) {
            throw CpuFault.of(CpuFault.BR);
        }
    }

    private void arpl() {
        if (!protectedMode() || v86()) {
            throw CpuFault.of(CpuFault.UD);
        }
        decodeModrm();
        int dst = readE(2);
        int src = reg16(regField);
        if ((dst & 3) < (src & 3)) {
            int v = (dst & ~3) | (src & 3);
            writeE(2, v);
            setArithFlags(ZF, ZF);
        } else {
            setArithFlags(ZF, 0);
        }
    }

    private void movFromSegment() {
        decodeModrm();
        if (regField > GS) {
            throw CpuFault.of(CpuFault.UD);
        }
        int sel = segSel[regField];
        if (mod == 3) {
            setReg(osz(), rm, sel); // a 32-bit register destination gets the selector zero-extended
        } else {
            writeMem(eaSeg, eaOff, 2, sel);
        }
    }

    private void movToSegment() {
        decodeModrm();
        if (regField > GS || regField == CS) {
            throw CpuFault.of(CpuFault.UD);
        }
        loadSegment(regField, readE(2));
        if (regField == SS) {
            stackSwitchShadow();
        }
    }

    /**
     * After MOV SS / POP SS, interrupts and debug exceptions (single-step included) wait until the next
     * instruction has executed, so that a following MOV ESP completes the stack switch (SDM Vol. 3 §6.8.3).
     */
    private void stackSwitchShadow() {
        interruptShadow = true;
        debugShadow = true;
    }

    /** PUSH Sreg: with a 32-bit operand a P6 moves ESP by 4 but writes only the selector's 16 bits. */
    private void pushSegment(int seg) {
        int size = osz();
        long sp = regs[ESP];
        long nsp = stack32 ? (sp - size) & MASK32 : (sp & ~0xffffL) | ((sp - size) & 0xffff);
        writeMem(SS, (int) (stack32 ? nsp : nsp & 0xffff), 2, segSel[seg]);
        regs[ESP] = nsp;
    }

    private void popSegment(int seg) {
        int size = osz();
        int sel = peek(size, 0) & 0xffff;
        loadSegment(seg, sel);
        addSp(size);
        if (seg == SS) {
            stackSwitchShadow();
        }
    }

    private void loadFarPointer(int seg) {
        decodeModrm();
        requireMemory();
        int size = osz();
        int off = readMem(eaSeg, eaOff, size);
        int sel = readMem(eaSeg, eaOff + size, 2);
        loadSegment(seg, sel);
        setReg(size, regField, off);
    }

    private void enter() {
        int allocSize = fetch16();
        int level = fetch8() & 31;
        int size = osz();
        long sp = regs[ESP];
        long bp = regs[EBP];
        int spMask = stack32 ? -1 : 0xffff;
        int frame = (int) sp - size;
        writeMem(SS, frame & spMask, size, (int) bp);
        int cursor = frame;
        if (level > 0) {
            int ebp = (int) bp;
            for (int i = 1; i < level; i++) {
                ebp -= size;
                int v = readMem(SS, ebp & spMask, size);
                cursor -= size;
                writeMem(SS, cursor & spMask, size, v);
            }
            cursor -= size;
            writeMem(SS, cursor & spMask, size, frame);
        }
        int newSp = cursor - allocSize;
        // the final stack top must be writable too (the SDM checks the whole frame)
        if (allocSize > 0) {
            writeAddress(SS, newSp & spMask, 1);
        }
        if (stack32) {
            regs[EBP] = size == 4 ? frame & MASK32 : (bp & ~0xffffL) | (frame & 0xffff);
            regs[ESP] = newSp & MASK32;
        } else {
            if (size == 4) {
                regs[EBP] = frame & MASK32;
            } else {
                regs[EBP] = (bp & ~0xffffL) | (frame & 0xffff);
            }
            regs[ESP] = (sp & ~0xffffL) | (newSp & 0xffff);
        }
    }

    private void leave() {
        int size = osz();
        long bp = regs[EBP];
        int off = stack32 ? (int) bp : (int) bp & 0xffff;
        int v = readMem(SS, off, size);
        if (stack32) {
            regs[ESP] = (bp + size) & MASK32;
        } else {
            regs[ESP] = (regs[ESP] & ~0xffffL) | ((bp + size) & 0xffff);
        }
        setReg(size, EBP, v);
    }

    // ---- control transfer ----

    final long checkedNearTarget(long target) {
        target &= opSize32 ? MASK32 : 0xffff;
        if (target > segHigh[CS]) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        return target;
    }

    final void jumpRelative(int rel) { eip = checkedNearTarget(eip + rel); }

    private void nearReturn(int extra) {
        int size = osz();
        long target = peek(size, 0) & (size == 4 ? MASK32 : 0xffff);
        if (target > segHigh[CS]) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        addSp(size + extra);
        eip = target;
    }

    private void loop(int op) {
        int rel = fetchSimm8();
        int count = addrSize32 ? reg32(ECX) - 1 : (reg16(ECX) - 1) & 0xffff;
        boolean take = count != 0 && switch (op) {
            case 0xe0 -> !zf();
            case 0xe1 -> zf();
            default -> true;
        };
        long target = take ? checkedNearTarget(eip + rel) : eip; // a #GP on the target leaves ECX as it was
        if (addrSize32) {
            setReg32(ECX, count);
        } else {
            setReg16(ECX, count);
        }
        eip = target;
    }

    private void group4() {
        decodeModrm();
        if (regField > 1) {
            throw CpuFault.of(CpuFault.UD);
        }
        incDecE(1, regField == 1);
    }

    /** INC/DEC of the ModR/M operand (FE/FF /0 and /1). */
    private void incDecE(int size, boolean decrement) {
        if (lockPrefix) {
            rmw(size, v -> decrement ? dec(size, v) : inc(size, v));
        } else {
            int v = rmwLoad(size);
            rmwStore(size, decrement ? dec(size, v) : inc(size, v));
        }
    }

    private void group5() {
        decodeModrm();
        int size = osz();
        switch (regField) {
            case 0, 1 -> incDecE(size, regField == 1);
            case 2 -> {
                long target = readE(size) & (size == 4 ? MASK32 : 0xffff);
                if (target > segHigh[CS]) {
                    throw CpuFault.withCode(CpuFault.GP, 0);
                }
                push(size, (int) eip);
                eip = target;
            }
            case 3 -> {
                requireMemory();
                int off = readMem(eaSeg, eaOff, size);
                int sel = readMem(eaSeg, eaOff + size, 2);
                farCall(sel, off, size);
            }
            case 4 -> {
                long target = readE(size) & (size == 4 ? MASK32 : 0xffff);
                if (target > segHigh[CS]) {
                    throw CpuFault.withCode(CpuFault.GP, 0);
                }
                eip = target;
            }
            case 5 -> {
                requireMemory();
                int off = readMem(eaSeg, eaOff, size);
                int sel = readMem(eaSeg, eaOff + size, 2);
                farJump(sel, off, size);
            }
            case 6 -> push(size, readE(size));
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    // ---- flags instructions ----

    private void pushf() {
        if (v86() && iopl() < 3) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int f = materializeFlags() & ~(VM | RF);
        push(osz(), f);
    }

    private void popf() {
        if (v86() && iopl() < 3) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        int size = osz();
        int v = peek(size, 0);
        writeFlags(v, size, popfMask(size));
        addSp(size);
    }

    /** The EFLAGS bits POPF may change at the current privilege (SDM POPF). */
    final int popfMask(int size) {
        int mask = ARITH_FLAGS | TF | DF | NT;
        if (size == 4) {
            mask |= AC | ID;
        }
        if (!protectedMode() || cpl == 0) {
            mask |= IOPL | IF;
        } else if (v86()) {
            mask |= IF;
        } else if (cpl <= iopl()) {
            mask |= IF;
        }
        return mask;
    }

    /** Replaces the EFLAGS bits in {@code mask} (limited to the low 16 bits for a 16-bit operand). */
    final void writeFlags(int v, int size, int mask) {
        if (size == 2) {
            mask &= 0xffff;
        }
        mask &= IMPLEMENTED_FLAGS;
        materializeFlags();
        flags = (flags & ~mask) | (v & mask) | FIXED_ONE;
    }

    private void cli() {
        if (protectedMode() && (v86() ? iopl() < 3 : cpl > iopl())) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        flags &= ~IF;
    }

    private void sti() {
        if (protectedMode() && (v86() ? iopl() < 3 : cpl > iopl())) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        if ((flags & IF) == 0) {
            interruptShadow = true;
        }
        flags |= IF;
    }

    private void hlt() {
        if (cpl != 0 && protectedMode()) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        if (v86()) {
            throw CpuFault.withCode(CpuFault.GP, 0);
        }
        halted = true;
    }

    // ---- string instructions ----

    private int stringIndex(int r) { return addrSize32 ? reg32(r) : reg16(r); }

    private void advance(int r, int delta) {
        if (addrSize32) {
            setReg32(r, reg32(r) + delta);
        } else {
            setReg16(r, reg16(r) + delta);
        }
    }

    private void stringOp(int op, int size) {
        int delta = (flags & DF) != 0 ? -size : size;
        if (repPrefix == 0) {
            stringOnce(op, size, delta);
            return;
        }
        boolean compares = op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf;
        // Under TF the single-step trap comes after every iteration, EIP still at the instruction (SDM Vol. 3 §18.3.1.4)
        int chunk = (flags & TF) != 0 ? 1 : REP_CHUNK;
        for (int n = 0; n < chunk; n++) {
            if (stringIndex(ECX) == 0) {
                return;
            }
            if (chunk > 1 && !compares) {
                int done = bulkString(op, size, chunk - n);
                if (done > 0) {
                    n += done - 1;
                    continue;
                }
            }
            stringOnce(op, size, delta);
            advance(ECX, -1);
            if (compares && zf() != (repPrefix == 0xf3)) {
                return;
            }
            if (debugTrapStatus != 0) {
                break; // the #DB trap comes after the iteration that hit the breakpoint
            }
        }
        if (stringIndex(ECX) != 0) {
            eip = startEip; // not finished: resume at the same instruction after a chance to take interrupts
            if (instructionBreakpoints != 0) {
                flags |= RF; // the resumed instruction must not hit its own instruction breakpoint again
            }
        }
    }

    /**
     * REP MOVS/STOS with 32-bit addresses over the iterations (at most {@code max}) whose elements all lie in
     * the current source and destination pages, when both pages hit in the TLB and the segments allow every
     * element: one host copy or fill and one register update instead of an access per element. Returns the
     * iterations done; 0 leaves the instruction to the element-by-element path (a page crossing, a TLB miss,
     * a limit or alignment fault to raise at its exact iteration, or a copy whose reads would see its own writes).
     */
    private int bulkString(int op, int size, int max) {
        boolean moves = op == 0xa4 || op == 0xa5;
        if (!addrSize32 || !(moves || op == 0xaa || op == 0xab) || (flags & AC) != 0) {
            return 0;
        }
        boolean down = (flags & DF) != 0;
        int srcSeg = dataSegment();
        long dstOff = reg32(EDI) & MASK32, srcOff = reg32(ESI) & MASK32;
        long dstLin = (segBase[ES] + dstOff) & MASK32, srcLin = (segBase[srcSeg] + srcOff) & MASK32;
        long count = Math.min(Math.min(max, reg32(ECX) & MASK32), elementsInPage(dstLin, size, down));
        if (moves) {
            count = Math.min(count, elementsInPage(srcLin, size, down));
        }
        if (count < 2 || !segmentHolds(ES, dstOff, count, size, down, RIGHT_WRITE)
                || moves && !segmentHolds(srcSeg, srcOff, count, size, down, RIGHT_READ)) {
            return 0;
        }
        long dstHost = writeHostOf(dstLin);
        long srcHost = moves ? readHostOf(srcLin) : 0;
        if (dstHost == 0 || moves && srcHost == 0) {
            return 0;
        }
        long span = (count - 1) * size;
        long dstLow = down ? dstHost - span : dstHost;
        int step = (int) (down ? -(span + size) : span + size);
        if (moves) {
            long srcLow = down ? srcHost - span : srcHost;
            // Element order equals memmove's unless the writes run into source bytes not yet read.
            boolean overlap = dstLow < srcLow + span + size && srcLow < dstLow + span + size;
            if (overlap && (down ? dstHost < srcHost : dstHost > srcHost)) {
                return 0;
            }
            hostCopy(srcLow, dstLow, span + size);
            advance(ESI, step);
        } else {
            hostFill(dstLow, count, size, reg(size, EAX));
        }
        advance(EDI, step);
        advance(ECX, (int) -count);
        return (int) count;
    }

    /** Whole elements from {@code lin} to the end of its page (upwards) or to its start (downwards); 0 if the first crosses. */
    private static long elementsInPage(long lin, int size, boolean down) {
        long inPage = lin & Page.OFFSET_MASK;
        if (inPage + size > Page.SIZE) {
            return 0;
        }
        return down ? inPage / size + 1 : (Page.SIZE - inPage) / size;
    }

    /** The segment allows {@code count} elements from offset {@code off} in the string's direction (no wrap of the offset). */
    private boolean segmentHolds(int seg, long off, long count, int size, boolean down, int right) {
        long low = down ? off - (count - 1) * size : off;
        long high = (down ? off : off + (count - 1) * size) + size - 1;
        return low >= segLow[seg] && high <= segHigh[seg] && high <= MASK32 && (segRights[seg] & right) != 0;
    }

    private void stringOnce(int op, int size, int delta) {
        switch (op) {
            case 0x6c, 0x6d -> {
                int port = reg16(EDX);
                checkIoPermission(port, size);
                writeAddress(ES, stringIndex(EDI), size);
                int v = io.in(port, size);
                writeMem(ES, stringIndex(EDI), size, v);
                advance(EDI, delta);
            }
            case 0x6e, 0x6f -> {
                int port = reg16(EDX);
                checkIoPermission(port, size);
                int v = readMem(dataSegment(), stringIndex(ESI), size);
                io.out(port, size, v);
                advance(ESI, delta);
            }
            case 0xa4, 0xa5 -> {
                int v = readMem(dataSegment(), stringIndex(ESI), size);
                writeMem(ES, stringIndex(EDI), size, v);
                advance(ESI, delta);
                advance(EDI, delta);
            }
            case 0xa6, 0xa7 -> {
                int a = readMem(dataSegment(), stringIndex(ESI), size);
                int b = readMem(ES, stringIndex(EDI), size);
                alu(ALU_CMP, size, a, b);
                advance(ESI, delta);
                advance(EDI, delta);
            }
            case 0xaa, 0xab -> {
                writeMem(ES, stringIndex(EDI), size, reg(size, EAX));
                advance(EDI, delta);
            }
            case 0xac, 0xad -> {
                setReg(size, EAX, readMem(dataSegment(), stringIndex(ESI), size));
                advance(ESI, delta);
            }
            default -> { // SCAS
                int b = readMem(ES, stringIndex(EDI), size);
                alu(ALU_CMP, size, reg(size, EAX), b);
                advance(EDI, delta);
            }
        }
    }

    // ---- I/O ----

    private int portIn(int port, int size) {
        checkIoPermission(port, size);
        return io.in(port, size) & sizeMask(size);
    }

    private void portOut(int port, int size, int v) {
        checkIoPermission(port, size);
        io.out(port, size, v & sizeMask(size));
    }

    // ---- x87 ----

    private void x87Escape(int op) {
        decodeModrm();
        if ((cr0 & (CR0_EM | CR0_TS)) != 0) {
            throw CpuFault.of(CpuFault.NM);
        }
        // The x87 unit answers false for an encoding a P6 leaves undefined (e.g. FISTTP, which is SSE3).
        if (!x87.execute(fpuContext, op, modrmByte, eaOff & (addrSize32 ? MASK32 : 0xffff), opSize32, !protectedMode() || v86())) {
            throw CpuFault.of(CpuFault.UD);
        }
    }

    private void fwait() {
        if ((cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS)) {
            throw CpuFault.of(CpuFault.NM);
        }
        x87.waitCheck(fpuContext);
    }

    /** FPU memory and flag access on behalf of {@link X87}, through the instruction's segment. */
    private final class FpuBridge implements X87Context {
        @Override
        public long read(long ea, int size) {
            if (size == 8) {
                return readMem64(eaSeg, (int) ea);
            }
            return readMem(eaSeg, (int) ea, size) & (size == 4 ? MASK32 : sizeMask(size));
        }

        @Override
        public void write(long ea, int size, long value) {
            if (size == 8) {
                writeMem64(eaSeg, (int) ea, value);
            } else {
                writeMem(eaSeg, (int) ea, size, (int) value);
            }
        }

        @Override
        public int eflags() { return materializeFlags(); }

        @Override
        public void setCompareFlags(boolean zf, boolean pf, boolean cf) {
            setArithFlags(ARITH_FLAGS, (zf ? ZF : 0) | (pf ? PF : 0) | (cf ? CF : 0));
        }

        @Override
        public void setAx(int value) { setReg16(EAX, value); }

        @Override
        public long instructionPointer() { return startEip; }

        @Override
        public int codeSelector() { return segSel[CS]; }

        @Override
        public int dataSelector() { return segSel[eaSeg]; }

        @Override
        public void raiseMathFault() {
            if ((cr0 & CR0_NE) != 0) {
                throw CpuFault.of(CpuFault.MF);
            }
            ferr.raise();
        }
    }

    // ---- two-byte opcodes ----

    private void executeTwoByte(int op) {
        if (lockPrefix && !lockableTwoByte(op)) {
            throw CpuFault.of(CpuFault.UD);
        }
        switch (op) {
            case 0x00 -> group6();
            case 0x01 -> group7();
            case 0x02 -> larLsl(true);
            case 0x03 -> larLsl(false);
            case 0x06 -> clts();
            case 0x08, 0x09 -> requireCpl0();
            case 0x0b, 0xb9, 0xff -> throw CpuFault.of(CpuFault.UD);
            case 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f -> { decodeModrm(); } // hint NOPs (0F 1F /0 is NOP)
            case 0x20 -> movFromControl();
            case 0x21 -> movFromDebug();
            case 0x22 -> movToControl();
            case 0x23 -> movToDebug();
            case 0x30 -> wrmsr();
            case 0x31 -> rdtsc();
            case 0x32 -> rdmsr();
            case 0x33 -> rdpmc();
            case 0x34 -> sysenter();
            case 0x35 -> sysexit();
            case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> {
                decodeModrm();
                int size = osz();
                int v = readE(size);
                if (condition(op & 15)) {
                    setReg(size, regField, v);
                } else if (size == 4) {
                    setReg32(regField, reg32(regField)); // a 32-bit CMOV always writes (upper half cleared in 64-bit)
                }
            }
            case 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c, 0x8d, 0x8e, 0x8f -> {
                int rel = fetchImm(osz());
                if (condition(op & 15)) {
                    jumpRelative(rel);
                }
            }
            case 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f -> {
                decodeModrm();
                writeE(1, condition(op & 15) ? 1 : 0);
            }
            case 0xa0 -> pushSegment(FS);
            case 0xa1 -> popSegment(FS);
            case 0xa2 -> cpuid();
            case 0xa3 -> bitTest(0, false);
            case 0xa4 -> doubleShift(true, 0);
            case 0xa5 -> doubleShift(true, 2);
            case 0xa8 -> pushSegment(GS);
            case 0xa9 -> popSegment(GS);
            case 0xab -> bitTest(1, false);
            case 0xac -> doubleShift(false, 0);
            case 0xad -> doubleShift(false, 2);
            case 0xae -> group15();
            case 0xaf -> {
                decodeModrm();
                int size = osz();
                setReg(size, regField, imulTruncated(size, reg(size, regField), readE(size)));
            }
            case 0xb0 -> cmpxchg(1);
            case 0xb1 -> cmpxchg(osz());
            case 0xb2 -> loadFarPointer(SS);
            case 0xb3 -> bitTest(2, false);
            case 0xb4 -> loadFarPointer(FS);
            case 0xb5 -> loadFarPointer(GS);
            case 0xb6 -> { decodeModrm(); setReg(osz(), regField, readE(1)); }
            case 0xb7 -> { decodeModrm(); setReg(osz(), regField, readE(2)); }
            case 0xba -> {
                decodeModrm();
                if (regField < 4) {
                    throw CpuFault.of(CpuFault.UD);
                }
                bitTest(regField - 4, true);
            }
            case 0xbb -> bitTest(3, false);
            case 0xbc -> bitScan(true);
            case 0xbd -> bitScan(false);
            case 0xbe -> { decodeModrm(); setReg(osz(), regField, (byte) readE(1)); }
            case 0xbf -> { decodeModrm(); setReg(osz(), regField, (short) readE(2)); }
            case 0xc0 -> xadd(1);
            case 0xc1 -> xadd(osz());
            case 0xc7 -> cmpxchg8b();
            case 0xc8, 0xc9, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf -> {
                int v = reg32(op & 7);
                if (opSize32) {
                    setReg32(op & 7, Integer.reverseBytes(v));
                } else {
                    setReg16(op & 7, 0); // BSWAP of a 16-bit register is undefined; Intel CPUs give zero
                }
            }
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    private boolean lockableTwoByte(int op) {
        int modrm = peekModrm();
        if ((modrm >> 6) == 3) {
            return false;
        }
        int reg = (modrm >> 3) & 7;
        return switch (op) {
            case 0xab, 0xb3, 0xbb, 0xb0, 0xb1, 0xc0, 0xc1 -> true;
            case 0xba -> reg >= 5;
            case 0xc7 -> reg == 1;
            default -> false;
        };
    }

    /** BT/BTS/BTR/BTC ({@code kind} 0..3). A register bit offset reaches beyond the addressed word in memory. */
    private void bitTest(int kind, boolean immediate) {
        if (!immediate) {
            decodeModrm();
        }
        int size = osz();
        int bits = size * 8;
        int offset = immediate ? fetch8() : reg(size, regField);
        if (mod == 3 || immediate) {
            offset &= bits - 1;
        } else {
            int displacement = (signExtend(offset, size) >> (size == 4 ? 5 : 4)) * size;
            eaOff = addrSize32 ? eaOff + displacement : (eaOff + displacement) & 0xffff;
            offset &= bits - 1;
        }
        int bit = offset;
        boolean[] old = new boolean[1];
        if (kind == 0) {
            old[0] = ((readE(size) >>> bit) & 1) != 0;
        } else {
            rmw(size, v -> {
                old[0] = ((v >>> bit) & 1) != 0;
                return switch (kind) {
                    case 1 -> v | (1 << bit);
                    case 2 -> v & ~(1 << bit);
                    default -> v ^ (1 << bit);
                };
            });
        }
        setArithFlags(CF, old[0] ? CF : 0);
    }

    private void bitScan(boolean forward) {
        decodeModrm();
        int size = osz();
        int v = readE(size) & sizeMask(size);
        if (v == 0) {
            setArithFlags(ARITH_FLAGS, ZF); // destination unchanged (what Intel CPUs do)
            return;
        }
        int index = forward ? Integer.numberOfTrailingZeros(v) : 31 - Integer.numberOfLeadingZeros(v);
        setReg(size, regField, index);
        setArithFlags(ARITH_FLAGS, 0);
    }

    private void cmpxchg(int size) {
        decodeModrm();
        int src = reg(size, regField);
        int acc = reg(size, EAX);
        int[] old = new int[1];
        if (mod == 3) {
            int d = reg(size, rm);
            alu(ALU_CMP, size, acc, d);
            if (zf()) {
                setReg(size, rm, src);
            } else {
                setReg(size, EAX, d);
            }
            return;
        }
        rmw(size, d -> {
            old[0] = d;
            alu(ALU_CMP, size, acc, d);
            return d == (acc & sizeMask(size)) ? src : d;
        });
        if (old[0] != (acc & sizeMask(size))) {
            setReg(size, EAX, old[0]);
        }
    }

    private void cmpxchg8b() {
        decodeModrm();
        if (regField != 1 || mod == 3) {
            throw CpuFault.of(CpuFault.UD);
        }
        long expected = (reg32(EDX) & MASK32) << 32 | (reg32(EAX) & MASK32);
        long update = (reg32(ECX) & MASK32) << 32 | (reg32(EBX) & MASK32);
        long lin = writeAddress(eaSeg, eaOff, 8);
        probeWrite(lin, 8);
        long current;
        if (lockPrefix && (lin & 7) == 0) {
            MemorySegment page = atomicRam(lin, 8);
            if (page != null) {
                long off = lin & PAGE_MASK;
                while (true) {
                    current = (long) ATOMIC_LONG.getVolatile(page, off);
                    long next = current == expected ? update : current;
                    if (ATOMIC_LONG.compareAndSet(page, off, current, next)) {
                        break;
                    }
                }
                finishCmpxchg8b(current, expected);
                return;
            }
        }
        synchronized (memory) {
            current = (read32(lin) & MASK32) | ((long) read32((lin + 4) & MASK32) << 32);
            long next = current == expected ? update : current;
            write32(lin, (int) next);
            write32((lin + 4) & MASK32, (int) (next >>> 32));
        }
        finishCmpxchg8b(current, expected);
    }

    private void finishCmpxchg8b(long current, long expected) {
        if (current == expected) {
            setArithFlags(ZF, ZF);
        } else {
            setArithFlags(ZF, 0);
            setReg32(EAX, (int) current);
            setReg32(EDX, (int) (current >>> 32));
        }
    }

    private void xadd(int size) {
        decodeModrm();
        int src = reg(size, regField);
        if (mod == 3) {
            int d = reg(size, rm);
            int sum = alu(ALU_ADD, size, d, src);
            setReg(size, regField, d);
            setReg(size, rm, sum);
            return;
        }
        int[] old = new int[1];
        rmw(size, d -> { old[0] = d; return alu(ALU_ADD, size, d, src); });
        setReg(size, regField, old[0]);
    }

    private void group15() {
        decodeModrm();
        switch (regField) {
            case 0, 1 -> {
                requireMemory();
                if ((cr0 & CR0_EM) != 0) {
                    throw CpuFault.of(CpuFault.UD); // SDM FXSAVE: EM = 1 is #UD, TS = 1 is #NM
                }
                if ((cr0 & CR0_TS) != 0) {
                    throw CpuFault.of(CpuFault.NM);
                }
                if ((eaOff & 15) != 0) {
                    throw CpuFault.withCode(CpuFault.GP, 0);
                }
                long ea = eaOff & (addrSize32 ? MASK32 : 0xffff);
                if (regField == 0) {
                    x87.fxsave(fpuContext, ea);
                } else {
                    x87.fxrstor(fpuContext, ea);
                }
            }
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    // ---- hooks the system instructions provide ----

    abstract void group6();

    abstract void group7();

    abstract void larLsl(boolean lar);

    abstract void clts();

    abstract void movFromControl();

    abstract void movToControl();

    abstract void movFromDebug();

    abstract void movToDebug();
}
