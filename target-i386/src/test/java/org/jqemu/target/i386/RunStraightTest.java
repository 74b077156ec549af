package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * {@link X86Cpu#runStraight}: runs on while each instruction falls through to the next one and stops right
 * after one that sends EIP elsewhere (the expected EIPs and counts follow from the listings: nasm's labels).
 */
class RunStraightTest {
    private static final int ORG = 0x1000;
    private static final String JUMPS = """
            mov eax, 1
            add eax, 2
            check:
            cmp eax, 9
            jz never              ; not taken: falls through
            jmp over
            times 16 hlt          ; (a jump forward by less than 16 bytes would count as falling through)
            over:
            inc eax
            call sub
            hlt
            times 16 hlt
            sub:
            inc eax
            ret
            never:
            hlt
            """;
    private static final String FAULT = """
            mov word [0*4], handler
            mov word [0*4+2], 0
            xor edx, edx
            xor ecx, ecx
            div ecx                 ; #DE: through the IVT
            hlt
            handler:
            hlt
            """;

    @Test
    void stopsAfterTheFirstTakenJumpCallOrReturn() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        X86Cpu cpu = cpu(ram, JUMPS);
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100));
        assertEquals(5, cpu.instructionCount()); // mov, add, cmp, jz (not taken), jmp
        assertEquals(label(JUMPS, "over"), cpu.eip());
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100)); // inc, call
        assertEquals(7, cpu.instructionCount());
        assertEquals(label(JUMPS, "sub"), cpu.eip());
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100)); // inc, ret
        assertEquals(9, cpu.instructionCount());
        assertEquals(X86Cpu.EXIT_HALT, cpu.runStraight(100));
        assertEquals(5, cpu.reg(X86Cpu.EAX));
    }

    @Test
    void honoursTheBudgetAndAFaultEndsTheRunAtItsHandler() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        X86Cpu cpu = cpu(ram, FAULT);
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(2));
        assertEquals(2, cpu.instructionCount());
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100));
        assertEquals(label(FAULT, "handler"), cpu.eip());
    }

    @Test
    void aStopRequestEndsTheRunAndStaysPendingForTheEngine() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        X86Cpu cpu = cpu(ram, JUMPS);
        cpu.requestStop();
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100));
        assertEquals(0, cpu.instructionCount());
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.run(100)); // still pending: run consumes it
        assertEquals(0, cpu.instructionCount());
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100));
        assertEquals(5, cpu.instructionCount());
    }

    @Test
    void endsWhereItFallsThroughToAListedStop() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        X86Cpu cpu = cpu(ram, JUMPS);
        long[] stops = new long[16];
        java.util.Arrays.fill(stops, -1);
        long cmp = label(JUMPS, "check");
        stops[(int) cmp & 15] = cmp;
        stops[(int) (ORG + 1) & 15] = ORG + 1; // inside the first instruction: never an instruction boundary
        cpu.setStraightRunStops(stops);
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100));
        assertEquals(2, cpu.instructionCount()); // mov, add: the run ends at the stop, before the cmp
        assertEquals(cmp, cpu.eip());
        assertEquals(X86Cpu.EXIT_BUDGET, cpu.runStraight(100)); // starting at a stop runs on: cmp, jz, jmp
        assertEquals(5, cpu.instructionCount());
        assertEquals(label(JUMPS, "over"), cpu.eip());
    }

    private static X86Cpu cpu(TestRam ram, String asm) {
        byte[] code = Nasm.assemble("bits 16\norg " + ORG + "\n" + asm);
        ram.load(ORG, code);
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.loadSegmentRegister(X86Cpu.CS, 0);
        cpu.setEip(ORG);
        cpu.setReg(X86Cpu.ESP, 0x8000);
        return cpu;
    }

    /** The address nasm gives label {@code name}: the same listing with the label's value appended as a word. */
    private static long label(String asm, String name) {
        byte[] code = Nasm.assemble("bits 16\norg " + ORG + "\n" + asm + "\ndw " + name + "\n");
        return (code[code.length - 2] & 0xff) | (code[code.length - 1] & 0xff) << 8;
    }
}
