package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/** The user-mode contract linux-user relies on; expected values follow the SDM. */
class UserModeTest {
    private static final long CODE = 0x1000;

    private static X86Cpu cpuWith(TestRam ram, String asm) {
        byte[] code = Nasm.assemble("bits 32\norg 0x1000\n" + asm);
        ram.load(CODE, code);
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.enterUserMode32();
        cpu.setEip(CODE);
        cpu.setReg(X86Cpu.ESP, 0x8000);
        return cpu;
    }

    @Test
    void intNExitsWithVectorAndEipAfter() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "mov eax, 5\nadd eax, 7\nint 0x80\nnop\n");
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x80, cpu.exitVector());
        assertEquals(12, cpu.reg(X86Cpu.EAX));
        assertEquals(CODE + 5 + 3 + 2, cpu.eip());
        assertEquals(3, cpu.cpl());
    }

    @Test
    void sysenterExitsWithEipAfter() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "sysenter\n");
        assertEquals(X86Cpu.EXIT_SYSCALL, cpu.run(100));
        assertEquals(CODE + 2, cpu.eip());
    }

    @Test
    void readOfUnmappedPageIsPageFaultAtTheInstruction() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.unmap(0x3000);
        X86Cpu cpu = cpuWith(ram, "mov ebx, 1\nmov eax, [0x3004]\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(4, cpu.exitErrorCode()); // user, read, not present
        assertEquals(0x3004, cpu.faultAddress());
        assertEquals(CODE + 5, cpu.eip());
        assertEquals(1, cpu.reg(X86Cpu.EBX));
    }

    @Test
    void writeToReadOnlyPageIsProtectionFaultAndLeavesFlags() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x3000, Page.READ);
        X86Cpu cpu = cpuWith(ram, "stc\nadd dword [0x3000], 1\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(7, cpu.exitErrorCode()); // user, write, protection
        assertEquals(CODE + 1, cpu.eip());
        assertEquals(1, cpu.eflags() & 1, "CF survives the faulting ADD");
    }

    @Test
    void privilegedInstructionIsGeneralProtection() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "hlt\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(13, cpu.exitVector());
        assertEquals(0, cpu.exitErrorCode());
        assertEquals(CODE, cpu.eip());
    }

    @Test
    void divideByZeroIsDivideError() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "xor ecx, ecx\ndiv ecx\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(0, cpu.exitVector());
        assertEquals(CODE + 2, cpu.eip());
    }

    @Test
    void int3IsTrapWithEipAfter() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "int3\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(3, cpu.exitVector());
        assertEquals(CODE + 1, cpu.eip());
    }

    @Test
    void tlsThroughGsSegment() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.setU32(0x5010, 0x12345678);
        X86Cpu cpu = cpuWith(ram, "mov eax, [gs:0x10]\nint 0x80\n");
        cpu.setSegment(X86Cpu.GS, 0x33, 0x5000, 0xfffff, 0xc0f3);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0x12345678L, cpu.reg(X86Cpu.EAX));
        assertEquals(0x5000, cpu.segmentBase(X86Cpu.GS));
    }

    @Test
    void tlsSelectorLoadedFromUserGdtEntry() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.setU32(0x6004, 0xcafe);
        X86Cpu cpu = cpuWith(ram, "mov ax, 0x33\nmov gs, ax\nmov eax, [gs:4]\nmov bx, cs\nmov cx, ss\nint 0x80\n");
        cpu.setUserGdtEntry(6, 0x6000, 0xfffff, 0x40f3);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(100));
        assertEquals(0xcafe, cpu.reg(X86Cpu.EAX));
        assertEquals(0x33, cpu.segmentSelector(X86Cpu.GS));
        assertEquals(0x73, cpu.reg(X86Cpu.EBX) & 0xffff);
        assertEquals(0x7b, cpu.reg(X86Cpu.ECX) & 0xffff);
    }

    @Test
    void loadingAnUnsetGdtEntryIsGeneralProtection() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, "mov ax, 0x3b\nmov fs, ax\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(13, cpu.exitVector());
        assertEquals(0x38, cpu.exitErrorCode());
        assertEquals(CODE + 4, cpu.eip());
    }

    @Test
    void loopWithStringOpsAndCalls() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        X86Cpu cpu = cpuWith(ram, """
                mov edi, 0x4000
                mov ecx, 16
                mov eax, 0xabababab
                cld
                rep stosd
                mov esi, 0x4000
                mov edi, 0x5000
                mov ecx, 64
                rep movsb
                call f
                int 0x80
                f: mov edx, [0x503c]
                ret
                """);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(10_000));
        assertEquals(0xababababL, cpu.reg(X86Cpu.EDX));
        assertEquals(0x8000, cpu.reg(X86Cpu.ESP));
        assertEquals(0xab, ram.byteAt(0x503f));
        assertEquals(0, ram.byteAt(0x5040));
    }

    @Test
    void fetchFromNonExecutablePageFaults() {
        TestRam ram = new TestRam(0x10000, Page.RWX);
        ram.protect(0x3000, Page.READ | Page.WRITE);
        X86Cpu cpu = cpuWith(ram, "jmp 0x3000\n");
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(100));
        assertEquals(14, cpu.exitVector());
        assertEquals(0x15, cpu.exitErrorCode());
        assertEquals(0x3000, cpu.eip());
    }
}
