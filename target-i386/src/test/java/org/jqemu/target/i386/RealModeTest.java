package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/** Real mode beyond what a 286 can do: 32-bit operands and addresses (66/67), FS/GS, the 64 KiB limit. */
class RealModeTest {
    @Test
    void writesToRomPagesAreDropped() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        ram.setU32(0x5000, 0x600d);
        ram.protect(0x5000, Page.READ | Page.EXEC);
        X86Cpu cpu = run(ram, """
                mov dword [0x5000], 0xbad
                mov word [0x4fff], 0x1122      ; split: the RAM byte is written, the ROM byte is not
                lock inc dword [0x5000]
                mov eax, [0x5000]
                hlt
                """);
        assertEquals(0x600d, cpu.reg(X86Cpu.EAX));
        assertEquals(0x22, ram.byteAt(0x4fff));
        assertEquals(0x0d, ram.byteAt(0x5000));
    }

    /**
     * A far jump from CS 0 to CS 0x100 (base 0x1000) lands at an offset inside the page the jump was fetched from:
     * the bytes come from the new base (the interpreter's fetch window is in CS offsets and must be dropped).
     */
    @Test
    void aFarJumpToAnotherSegmentFetchesThroughItsBase() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        ram.load(0x1000 + 0x1ff0, new byte[] {(byte) 0xb8, 0x0b, 0x00, (byte) 0xf4}); // mov ax, 0xb; hlt
        X86Cpu cpu = run(ram, """
                mov ax, 0xa
                jmp 0x100:0x1ff0               ; linear 0x2ff0; offset 0x1ff0 of CS 0 is linear 0x1ff0
                """);
        assertEquals(0xb, cpu.reg(X86Cpu.EAX), "the code came from the old base");
        assertEquals(0x100, cpu.segmentSelector(X86Cpu.CS));
    }

    private static X86Cpu run(TestRam ram, String asm) {
        ram.load(0x1000, Nasm.assemble("bits 16\norg 0x1000\n" + asm));
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.loadSegmentRegister(X86Cpu.CS, 0);
        cpu.setEip(0x1000);
        cpu.setReg(X86Cpu.ESP, 0x8000);
        assertEquals(X86Cpu.EXIT_HALT, cpu.run(10_000));
        return cpu;
    }

    @Test
    void operandAndAddressSizePrefixes() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        X86Cpu cpu = run(ram, """
                mov eax, 0x12345678
                mov ebx, 0x2000
                mov ecx, 0x10
                mov [ebx+ecx*2], eax
                mov dx, [0x2022]
                push eax
                pop esi
                movzx edi, dx
                shl edi, 16
                mov di, 0x5678
                mov ax, 0x300
                mov fs, ax
                mov dword [fs:4], 0xcafef00d
                hlt
                """);
        assertEquals(0x12345678, ram.u32(0x2020));
        assertEquals(0x1234, cpu.reg(X86Cpu.EDX));
        assertEquals(0x12345678, cpu.reg(X86Cpu.ESI));
        assertEquals(0x12345678, cpu.reg(X86Cpu.EDI));
        assertEquals(0x8000, cpu.reg(X86Cpu.ESP));
        assertEquals(0xcafef00d, ram.u32(0x3004));
    }

    @Test
    void offsetBeyondTheSegmentLimitIsDeliveredThroughTheIvt() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        X86Cpu cpu = run(ram, """
                mov word [13*4], handler
                mov word [13*4+2], 0
                mov ebx, 0x10000
                fault:
                mov al, [ebx]            ; 32-bit offset above the real-mode limit 0xffff: #GP
                hlt
                handler:
                pop word [0x600]         ; IP of the faulting instruction (no error code in real mode)
                pop word [0x602]         ; CS
                mov word [0x604], fault
                hlt
                """);
        assertEquals(ram.u32(0x604) & 0xffff, ram.u32(0x600) & 0xffff);
        assertEquals(0, ram.u32(0x602) & 0xffff);
        assertEquals(0x8000 - 2, cpu.reg(X86Cpu.ESP), "FLAGS left on the stack");
    }
}
