package org.jqemu.target.i386;

import org.jqemu.fpu.X87;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;

/** The 0F 00 / 0F 01 groups, LAR/LSL, CLTS and the control/debug register moves. */
abstract class SystemInstructions extends Interpreter {
    SystemInstructions(AddressSpace memory, IoPorts io, X87 x87) {
        super(memory, io, x87);
    }

    private void requireProtected() {
        if (!protectedMode() || v86()) {
            throw CpuFault.of(CpuFault.UD);
        }
    }

    @Override
    final void group6() {
        requireProtected();
        decodeModrm();
        switch (regField) {
            case 0 -> storeSelector(segSel[LDTR]);
            case 1 -> storeSelector(segSel[TR]);
            case 2 -> { requireCpl0(); loadLdt(readE(2)); }
            case 3 -> { requireCpl0(); loadTr(readE(2)); }
            case 4, 5 -> verify(readE(2), regField == 5);
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    private void storeSelector(int sel) {
        if (mod == 3) {
            setReg(osz(), rm, sel);
        } else {
            writeMem(eaSeg, eaOff, 2, sel);
        }
    }

    private void verify(int sel, boolean write) {
        boolean ok = false;
        if ((sel & 0xfffc) != 0) {
            try {
                long d = readDescriptor(sel);
                int attr = descriptorAttr(d);
                boolean privilegeOk = conforming(attr) || (dpl(attr) >= cpl && dpl(attr) >= (sel & 3));
                if ((attr & 0x10) != 0 && privilegeOk) {
                    ok = write ? isData(attr) && (attr & 2) != 0 : isData(attr) || (attr & 2) != 0;
                }
            } catch (CpuFault f) {
                if (f.vector != CpuFault.GP || f.errorCode != (sel & 0xfffc)) {
                    throw f;
                }
            }
        }
        setArithFlags(ZF, ok ? ZF : 0);
    }

    @Override
    final void group7() {
        decodeModrm();
        switch (regField) {
            case 0, 1 -> {
                requireMemory();
                long base = regField == 0 ? gdtrBase : idtrBase;
                long limit = regField == 0 ? gdtrLimit : idtrLimit;
                writeMem(eaSeg, eaOff, 2, (int) limit);
                writeMem(eaSeg, eaOff + 2, 4, (int) (opSize32 ? base : base & 0xff_ffff));
            }
            case 2, 3 -> {
                requireMemory();
                requireCpl0();
                int limit = readMem(eaSeg, eaOff, 2);
                long base = readMem(eaSeg, eaOff + 2, 4) & (opSize32 ? MASK32 : 0xff_ffffL);
                if (regField == 2) {
                    gdtrBase = base;
                    gdtrLimit = limit;
                } else {
                    idtrBase = base;
                    idtrLimit = limit;
                }
            }
            case 4 -> {
                if (mod == 3) {
                    setReg(osz(), rm, (int) cr0);
                } else {
                    writeMem(eaSeg, eaOff, 2, (int) cr0);
                }
            }
            case 6 -> {
                requireCpl0();
                int v = readE(2) & 0xf;
                writeCr0((cr0 & ~0xeL) | v | (cr0 & CR0_PE));
            }
            case 7 -> {
                requireMemory();
                requireCpl0();
                invalidatePage(segBase[eaSeg] + (eaOff & (addrSize32 ? MASK32 : 0xffff)));
            }
            default -> throw CpuFault.of(CpuFault.UD);
        }
    }

    @Override
    final void larLsl(boolean lar) {
        requireProtected();
        decodeModrm();
        int sel = readE(2);
        int size = osz();
        if ((sel & 0xfffc) == 0) {
            setArithFlags(ZF, 0);
            return;
        }
        long d;
        try {
            d = readDescriptor(sel);
        } catch (CpuFault f) {
            if (f.vector == CpuFault.GP && f.errorCode == (sel & 0xfffc)) {
                setArithFlags(ZF, 0);
                return;
            }
            throw f;
        }
        int attr = descriptorAttr(d);
        boolean valid;
        if ((attr & 0x10) != 0) {
            valid = conforming(attr) || (dpl(attr) >= cpl && dpl(attr) >= (sel & 3));
        } else {
            int type = attr & 0xf;
            boolean typeOk = lar ? (type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9
                    || type == 0xb || type == 0xc) : (type == 1 || type == 2 || type == 3 || type == 9 || type == 0xb);
            valid = typeOk && dpl(attr) >= cpl && dpl(attr) >= (sel & 3);
        }
        if (!valid) {
            setArithFlags(ZF, 0);
            return;
        }
        int value = lar ? (int) (d >>> 32) & 0x00f0_ff00 : (int) descriptorLimit(d);
        setReg(size, regField, value);
        setArithFlags(ZF, ZF);
    }

    @Override
    final void clts() {
        requireCpl0();
        cr0 &= ~CR0_TS;
    }

    @Override
    final void movFromControl() {
        requireCpl0();
        decodeRegisterModrm();
        setReg32(rm, (int) readControl(regField));
    }

    @Override
    final void movToControl() {
        requireCpl0();
        decodeRegisterModrm();
        writeControl(regField, reg32(rm) & MASK32);
    }

    @Override
    final void movFromDebug() {
        requireCpl0();
        decodeRegisterModrm();
        int index = debugIndex(regField);
        checkGeneralDetect();
        setReg32(rm, (int) dr[index]);
    }

    @Override
    final void movToDebug() {
        requireCpl0();
        decodeRegisterModrm();
        int index = debugIndex(regField);
        checkGeneralDetect();
        long v = reg32(rm) & MASK32;
        switch (index) {
            case 6 -> dr[6] = (v & DR6_WRITABLE) | DR6_FIXED;
            case 7 -> { dr[7] = (v & ~DR7_RESERVED_ZERO) | DR7_FIXED; debugRegistersChanged(); }
            default -> { dr[index] = v; debugRegistersChanged(); }
        }
    }

    /** DR7.GD: any MOV DRn is a #DB fault with DR6.BD set, and GD is cleared for the handler (SDM Vol. 3B §18.2.4). */
    private void checkGeneralDetect() {
        if ((dr[7] & DR7_GD) != 0) {
            dr[6] |= DR6_BD;
            dr[7] &= ~DR7_GD;
            throw CpuFault.of(CpuFault.DB);
        }
    }
}
