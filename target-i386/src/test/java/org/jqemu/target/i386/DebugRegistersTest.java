package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * DR0-DR7 (SDM Vol. 3B chapter 18) with small real-mode programs (CPL 0): instruction breakpoints are faults
 * taken before the instruction and held off by RF; data breakpoints are traps after the access, also between
 * iterations of a REP string instruction; DR7.GD turns MOV DRn into a #DB with BD; DR6 and DR7 keep their fixed
 * bits; with CR4.DE, R/W = 10b breaks on port accesses. The #DB handler (vector 1 through the IVT) counts its calls and records DR6 and the IP it would return to.
 */
class DebugRegistersTest {
    private static final int LOG = 0x600;
    private static final String HANDLER = """
            handler:                 ; #DB: log[0] += 1, log[4] = DR6, log[8] = return IP, log[12] = CX; EAX kept
              mov [0x620], eax
              inc dword [0x600]
              mov eax, dr6
              mov [0x604], eax
              mov bp, sp
              mov ax, [bp]
              mov [0x608], ax
              mov [0x60c], cx
              xor eax, eax
              mov dr6, eax
              mov eax, [0x620]
            """;

    private static X86Cpu run(TestRam ram, String main, String handlerEnd) {
        ram.load(0x1000, Nasm.assemble("bits 16\norg 0x1000\n"
                + "mov word [4], handler\nmov word [6], 0\n" + main + "\nhlt\n" + HANDLER + handlerEnd));
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.loadSegmentRegister(X86Cpu.CS, 0);
        cpu.setEip(0x1000);
        cpu.setReg(X86Cpu.ESP, 0x8000);
        assertEquals(X86Cpu.EXIT_HALT, cpu.run(10_000));
        return cpu;
    }

    private static int log(TestRam ram, int index) { return ram.u32(LOG + 4L * index); }

    /** Label addresses: the program writes them to 0x700+ so the test can compare with the logged IP. */
    @Test
    void instructionBreakpointIsAFaultBeforeTheInstructionAndRfResumes() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        run(ram, """
                mov word [0x700], target
                mov eax, target
                mov dr0, eax
                mov eax, 0x401          ; L0, execution, length 1
                mov dr7, eax
                nop
                target:
                inc word [0x710]        ; must run once, after the handler
                inc word [0x712]
                """, """
                ; return with RF set in a 32-bit image so that the instruction runs: o32 IRET
                pop ax
                pop bx
                pop cx
                push dword 0x10002
                push dword 0
                movzx eax, ax
                push eax
                o32 iret
                """);
        assertEquals(1, log(ram, 0), "#DB taken once");
        assertEquals(0xffff0ff1, log(ram, 1), "DR6: B0 and the fixed bits");
        assertEquals(ram.u32(0x700) & 0xffff, log(ram, 2) & 0xffff, "a fault: IP of the instruction");
        assertEquals(1, ram.u32(0x710) & 0xffff);
        assertEquals(1, ram.u32(0x712) & 0xffff);
    }

    @Test
    void dataWriteBreakpointIsATrapAfterTheWritingInstruction() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        run(ram, """
                mov word [0x700], after
                mov eax, 0x3002
                mov dr1, eax
                mov eax, 0x00d00404     ; L1, R/W1 = write, LEN1 = 4 bytes (0x3000-0x3003)
                mov dr7, eax
                mov al, [0x3001]        ; a read: no trap
                mov word [0x2fff], 0x1234   ; touches 0x3000: trap
                after:
                nop
                """, "iret\n");
        assertEquals(1, log(ram, 0));
        assertEquals(0xffff0ff2, log(ram, 1), "DR6: B1");
        assertEquals(ram.u32(0x700) & 0xffff, log(ram, 2) & 0xffff, "a trap: IP after the instruction");
        assertEquals(0x12, ram.byteAt(0x3000), "the write happened");
    }

    @Test
    void readWriteBreakpointStopsARepStringInstructionAfterTheIteration() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        run(ram, """
                mov word [0x700], repeat
                mov eax, 0x3003
                mov dr2, eax
                mov eax, 0x03000410     ; L2, R/W2 = read or write, LEN2 = 1
                mov dr7, eax
                mov di, 0x3000
                mov cx, 8
                mov al, 0x55
                cld
                repeat:
                rep stosb
                mov [0x714], cx
                """, """
                mov ebx, 0x400
                mov dr7, ebx            ; once is enough
                iret
                """);
        assertEquals(1, log(ram, 0));
        assertEquals(0xffff0ff4, log(ram, 1), "DR6: B2");
        assertEquals(ram.u32(0x700) & 0xffff, log(ram, 2) & 0xffff, "IP still at the unfinished REP STOSB");
        assertEquals(4, log(ram, 3) & 0xffff, "CX after the fourth iteration wrote 0x3003");
        assertEquals(0, ram.u32(0x714) & 0xffff, "then the instruction finished");
        assertEquals(0x55, ram.byteAt(0x3007));
    }

    @Test
    void generalDetectMakesMovDrAFaultWithBd() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        run(ram, """
                mov word [0x700], guarded
                mov eax, 0x2400         ; GD
                mov dr7, eax
                guarded:
                mov eax, dr0
                mov eax, dr7
                mov [0x710], eax
                """, """
                mov eax, dr7            ; GD is clear in the handler, so this does not fault again
                mov [0x718], eax
                iret
                """);
        assertEquals(1, log(ram, 0), "one #DB: the second MOV DR runs with GD clear");
        assertEquals(0xffff2ff0, log(ram, 1), "DR6: BD");
        assertEquals(ram.u32(0x700) & 0xffff, log(ram, 2) & 0xffff, "a fault: IP of the MOV DR");
        assertEquals(0x400, ram.u32(0x718), "GD cleared on entry to the handler");
        assertEquals(0x400, ram.u32(0x710));
    }

    @Test
    void dr6AndDr7KeepTheirFixedBits() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        run(ram, """
                xor eax, eax
                mov dr6, eax
                mov dr7, eax
                mov eax, dr6
                mov [0x710], eax
                mov eax, dr7
                mov [0x714], eax
                mov eax, dr4            ; CR4.DE = 0: DR4 and DR5 are DR6 and DR7
                mov [0x718], eax
                """, "iret\n");
        assertEquals(0xffff0ff0, ram.u32(0x710));
        assertEquals(0x400, ram.u32(0x714));
        assertEquals(0xffff0ff0, ram.u32(0x718));
        assertEquals(0, log(ram, 0));
    }

    @Test
    void ioBreakpointNeedsCr4DeAndTrapsAfterTheAccess() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        run(ram, """
                mov word [0x700], after
                mov eax, 0x80
                mov dr3, eax
                mov eax, 0x20000440     ; L3, R/W3 = I/O, LEN3 = 1
                mov dr7, eax
                out 0x80, al            ; CR4.DE = 0: R/W = 10b breaks on nothing
                mov eax, cr4
                or eax, 8
                mov cr4, eax
                out 0x81, al            ; another port
                out 0x80, al
                after:
                nop
                """, "iret\n");
        assertEquals(1, log(ram, 0));
        assertEquals(0xffff0ff8, log(ram, 1), "DR6: B3");
        assertEquals(ram.u32(0x700) & 0xffff, log(ram, 2) & 0xffff, "a trap: IP after the OUT");
    }
}
