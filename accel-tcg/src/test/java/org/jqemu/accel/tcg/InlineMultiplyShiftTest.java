package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;

/**
 * The inline IMUL r, r/m (, imm) and the inline 32-bit shifts and rotates by CL (gencode, session 9) against
 * the interpreter, in lockstep: flags live (read by PUSHF, SETcc, Jcc and at block ends) and dead (a CMP
 * follows), every count of CL including 0 (which keeps the flags) and counts above 31, and precise faults of
 * memory operands in the middle of a block.
 */
class InlineMultiplyShiftTest {
    private static final String VALUES = """
            values: dd 0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000
                    dd 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0x0000b505, 0xc0000000
            nvalues equ ($ - values) / 4
            out: times 4096 dd 0
            """;

    @Test
    void multipliesWithLiveAndDeadFlagsOverAllOperandPairs() {
        LockstepTest.run("""
                jmp start
                """ + VALUES + """
                start:
                    xor esi, esi
                outer:
                    xor ebp, ebp
                inner:
                    mov eax, [values + esi*4]
                    mov ebx, [values + ebp*4]
                    mov ecx, eax
                    imul ecx, ebx
                    setc dl
                    seto dh
                    mov edi, ecx
                    imul di, bx
                    pushfd
                    pop dword [out + 4]
                    add [out + 8], edx
                    add [out + 12], edi
                    imul edi, [values + ebp*4], 0x12345
                    jo over1
                    add edi, 3
                over1:
                    imul edx, eax, -7
                    jc over2
                    inc edx
                over2:
                    imul eax, ebx
                    cmp eax, edx
                    adc [out + 16], eax
                    imul bx, [values + esi*4], 300
                    add [out + 20], ebx
                    add [out + 24], edi
                    imul ecx, ecx
                    inc ebp
                    cmp ebp, nvalues
                    jne inner
                    inc esi
                    cmp esi, nvalues
                    jne outer
                """ + LockstepTest.EXIT);
    }

    @Test
    void shiftsAndRotatesByClOverAllCounts() {
        LockstepTest.run("""
                jmp start
                """ + VALUES + """
                start:
                    xor esi, esi
                outer:
                    xor ecx, ecx
                inner:
                    mov eax, [values + esi*4]
                    mov ebx, eax
                    mov edx, eax
                    mov edi, eax
                    cmp eax, 0x80
                    shl ebx, cl
                    pushfd
                    pop dword [out]
                    add [out + 4], ebx
                    stc
                    shr edx, cl
                    setc [out + 8]
                    seto [out + 9]
                    setz [out + 10]
                    sets [out + 11]
                    add [out + 12], edx
                    sar edi, cl
                    jc carry
                    add edi, 5
                carry:
                    rol eax, cl
                    mov edx, [values + esi*4]
                    ror edx, cl
                    cmp eax, edx
                    sbb [out + 16], eax
                    add [out + 20], edx
                    add [out + 24], edi
                    shl dword [out + 28], cl
                    sar dword [out + 32], cl
                    shr dword [out + 36], cl
                    add [out + 28], esi
                    add [out + 32], esi
                    add [out + 36], esi
                    mov edx, [values + esi*4]
                    rol edx, cl
                    jz zero
                    inc dword [out + 40]
                zero:
                    add [out + 44], edx
                    mov edx, [values + esi*4]
                    inc edx
                    shl edx, cl
                    setz [out + 48]
                    imul edx, edx
                    shr edx, cl
                    seto [out + 49]
                    setc [out + 50]
                    add [out + 52], edx
                    sal ebx, cl
                    inc ecx
                    cmp ecx, 40
                    jne inner
                    inc esi
                    cmp esi, nvalues
                    jne outer
                """ + LockstepTest.EXIT);
    }

    @Test
    void faultingMemoryOperandsOfInlineMultipliesAndShiftsArePrecise() {
        for (String faulting : new String[] {"imul eax, [0x30004]", "imul ax, [0x30004], 9", "shl dword [0x30004], cl",
                "sar dword [0x30004], cl"}) {
            LockstepTest.Pair p = new LockstepTest.Pair("""
                        mov ecx, 3
                        mov eax, 0x12345
                        imul eax, eax
                        add ebx, 1
                        mov edx, 0x77
                        shl edx, cl
                    """ + faulting + """

                        mov ebx, 2
                    """ + LockstepTest.EXIT, CodeCache.DEFAULT_LIMIT);
            p.ramA.unmap(0x30000);
            p.ramB.unmap(0x30000);
            assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(100), faulting);
            assertEquals(14, p.a.exitVector(), faulting);
            assertEquals(0x30004, p.a.faultAddress(), faulting);
            assertEquals(0x77 << 3, p.a.reg(X86Cpu.EDX), faulting);
            assertEquals(0x12345 * 0x12345, (int) p.a.reg(X86Cpu.EAX), faulting);
            assertTrue(p.tcg.stats().faultsReplayed() >= 1, faulting + ": " + p.tcg.stats());
        }
    }
}
