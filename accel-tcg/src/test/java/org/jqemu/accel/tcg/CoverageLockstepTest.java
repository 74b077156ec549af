package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;

/**
 * The instructions added for user-mode programs (16-bit operands, segment overrides, string instructions
 * with REP/REPE/REPNE, LOCK, bit tests and scans, double shifts, exchanges, BSWAP, ADC/SBB, shifts of
 * memory, carry-flag instructions), each run translated against the interpreter in lockstep over operands
 * that reach the carry, overflow, sign and zero corners; the interpreter is itself checked against the host
 * CPU in target-i386. Every program is also checked to have run (almost) entirely translated.
 */
class CoverageLockstepTest {
    private static final String VALUES = """
            values: dd 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678
            nvalues equ ($ - values) / 4
            """;

    /** Runs {@code body} for every pair (EAX, EDX) of VALUES with ESI/EBX the indexes and EDI a result cursor. */
    private static LockstepTest.Pair pairs(String body) {
        LockstepTest.Pair p = LockstepTest.run(LockstepTest.overAllValuePairs(VALUES + """
                align 4096 ; data pages apart from code: LOCK takes its compare-and-set path, not the interpreter's
                scratch: times 64 db 0
                results: times 16384 db 0
                align 4096
                """, body + "add edi, 16\n"));
        assertMostlyTranslated(p);
        return p;
    }

    private static void assertMostlyTranslated(LockstepTest.Pair p) {
        TcgStats s = p.tcg.stats();
        assertTrue(s.interpreted() * 20 < p.a.instructionCount(), "interpreted " + s.interpreted() + " of "
                + p.a.instructionCount() + ": " + s);
    }

    @Test
    void sixteenBitOperations() {
        pairs("""
                    mov ecx, eax
                    add cx, dx
                    mov [edi], cx
                    pushf
                    pop dword [edi + 2]
                    sub cx, ax
                    adc cx, 0x1234
                    sbb word [edi], dx
                    cmp cx, dx
                    setl [edi + 6]
                    setb [edi + 7]
                    inc cx
                    dec dx
                    neg word [edi]
                    not cx
                    imul cx, dx
                    imul cx, [edi], 7
                    shl cx, 3
                    sar word [edi], 1
                    shr dx, cl
                    xchg cx, dx
                    xchg ax, cx
                    test cx, 0x8001
                    cmovz cx, [edi]
                    mov [edi + 8], cx
                    mov [edi + 10], dx
                    cwd
                    cbw
                    mov [edi + 12], dx
                    mov [edi + 14], ax
                    mov ax, [edi]
                    lea cx, [eax + edx*2 + 0x7fff]
                    mov [edi + 12], cx
                    mov word [edi + 2], 0xbeef
                """);
    }

    @Test
    void adcSbbChainsAndCarryFlagInstructions() {
        pairs("""
                    mov ecx, eax
                    add ecx, edx
                    adc ecx, edx
                    mov [edi], ecx
                    sub ecx, eax
                    sbb ecx, edx
                    mov [edi + 4], ecx
                    stc
                    adc [edi], eax
                    clc
                    sbb [edi + 4], edx
                    cmc
                    setc [edi + 8]
                    adc dl, al
                    sbb al, dl
                    mov [edi + 9], dl
                    mov [edi + 10], al
                    pushf
                    pop dword [edi + 12]
                """);
    }

    @Test
    void bitTestsScansAndByteSwap() {
        pairs("""
                    mov ecx, eax
                    bt ecx, edx
                    setc [edi]
                    bts ecx, edx
                    btr ecx, 3
                    btc ecx, 31
                    mov [edi + 4], ecx
                    mov [scratch + 16], eax
                    and edx, 63
                    sub edx, 32
                    bts [scratch + 16], edx
                    setc [edi + 1]
                    btr dword [scratch + 16], 7
                    btc word [scratch + 16], dx
                    bt dword [scratch + 16], 1
                    setc [edi + 2]
                    mov ecx, [scratch + 16]
                    xor ecx, [scratch + 12]
                    mov [edi + 8], ecx
                    mov ecx, 99
                    bsf ecx, eax
                    setz [edi + 3]
                    bsr edx, eax
                    pushf
                    pop dword [edi + 12]
                    xor ecx, edx
                    bswap ecx
                    xor [edi + 4], ecx
                    bsf cx, ax
                    mov [edi + 8], cx
                """);
    }

    @Test
    void doubleShiftsAndShiftsOfMemory() {
        pairs("""
                    mov ecx, edx
                    and ecx, 31
                    mov [edi], eax
                    mov [edi + 4], edx
                    shld [edi], edx, cl
                    shrd [edi + 4], eax, 5
                    shld eax, edx, 0
                    shrd edx, eax, cl
                    mov [edi + 8], eax
                    mov [edi + 12], edx
                    pushf
                    shl dword [edi + 8], cl
                    rol byte [edi + 9], 3
                    rcr word [edi + 10], 1
                    sar dword [edi + 12], cl
                    popf
                    setc [edi + 15]
                    shld cx, dx, 4
                    mov [edi + 14], cl
                """);
    }

    @Test
    void inlineShiftsWithLiveAndDeadFlags() {
        pairs("""
                    mov ecx, eax
                    shl ecx, 1
                    pushf
                    pop dword [edi]
                    mov ecx, eax
                    shr ecx, 1
                    setc [edi + 4]
                    seto [edi + 5]
                    sar edx, 7
                    setc [edi + 6]
                    sets [edi + 7]
                    mov ecx, eax
                    shl cx, 9
                    seto [edi + 8]
                    shr dl, 1
                    seto [edi + 9]
                    sal ecx, 31
                    jc .carry
                    xor ecx, 0x55
                .carry:
                    ror eax, 7
                    rol edx, 13
                    xor eax, edx
                    ror ax, 3
                    rol dl, 5
                    add eax, edx
                    shr ecx, 3
                    and ecx, eax
                    mov [edi + 10], ecx
                    mov [edi + 12], eax
                """);
    }

    @Test
    void exchangesAndLockedReadModifyWrite() {
        pairs("""
                    mov [edi], eax
                    mov [edi + 4], edx
                    mov ecx, edx
                    xchg [edi], ecx
                    xadd [edi + 4], ecx
                    lock add [edi], edx
                    lock xadd [edi + 4], eax
                    lock inc dword [edi + 8]
                    lock dec byte [edi + 9]
                    lock sbb [edi], edx
                    lock not word [edi + 2]
                    lock neg dword [edi + 12]
                    lock bts dword [edi + 8], 4
                    setc [edi + 10]
                    mov eax, [values + esi*4]
                    lock cmpxchg [edi + 4], ecx
                    setz [edi + 11]
                    cmpxchg [edi], edx
                    cmpxchg ecx, edx
                    cmpxchg dl, cl
                    xadd ecx, ecx
                    xchg dl, [edi + 3]
                    mov [edi + 12], ecx
                    add [edi + 12], eax
                    add [edi + 12], edx
                """);
    }

    @Test
    void stringInstructionsWithAndWithoutRepeats() {
        LockstepTest.Pair p = LockstepTest.run("""
                    jmp start
                src: db "the quick brown fox jumps over the lazy dog", 0
                srclen equ $ - src
                dst: times 256 db 0
                start:
                    mov ebx, 20
                round:
                    cld
                    mov esi, src
                    mov edi, dst
                    mov ecx, srclen
                    rep movsb
                    mov esi, src
                    mov edi, dst + 64
                    mov ecx, 10
                    rep movsd
                    mov edi, dst + 112
                    mov eax, ebx
                    mov ecx, 7
                    rep stosw
                    mov ecx, 0
                    rep stosd
                    mov esi, src
                    lodsb
                    lodsd
                    mov edi, dst
                    mov esi, src
                    mov ecx, srclen
                    repe cmpsb
                    pushf
                    pop edx
                    mov [dst + 200], ecx
                    mov [dst + 204], edx
                    mov byte [dst + 10], 'X'
                    mov edi, dst
                    mov esi, src
                    mov ecx, srclen
                    repe cmpsb
                    mov [dst + 208], ecx
                    mov edi, src
                    mov al, 'z'
                    mov ecx, srclen
                    repne scasb
                    mov [dst + 212], ecx
                    mov [dst + 216], edi
                    std
                    mov esi, src + 8
                    mov edi, dst + 160
                    mov ecx, 3
                    rep movsw
                    cmpsd
                    scasb
                    stosb
                    movsb
                    cld
                    es mov eax, [dst]
                    ds add eax, [dst + 4]
                    ss add eax, [dst + 8]
                    cs add eax, [src]
                    mov [dst + 220], eax
                    dec ebx
                    jnz round
                    mov eax, 1
                    int 0x80
                """);
        assertMostlyTranslated(p);
    }

    @Test
    void instructionCrossingThePageEndIsTranslatedAndItsSecondPageWatched() {
        // "mov eax, imm32" starts 2 bytes before 0x2000; the loop rewrites the immediate's bytes on 0x2000.
        LockstepTest.Pair p = LockstepTest.run("""
                    mov ecx, 300
                    xor edx, edx
                    jmp body
                    times 0xff0 - ($ - $$) db 0x90
                body:
                    add edx, ecx
                    times 0xffe - ($ - $$) db 0x90
                crossing:
                    mov eax, 0x12345678
                    add edx, eax
                    cmp ecx, 150
                    jne same
                    mov [crossing + 3], cx
                same:
                    dec ecx
                    jnz body
                    mov eax, 1
                    int 0x80
                """);
        assertMostlyTranslated(p);
        assertTrue(p.tcg.stats().invalidations() > 0, p.tcg.stats().toString());
    }

    @Test
    void faultInTheMiddleOfRepMovsLeavesTheInterpretersCountersAndMemory() {
        // The copy runs off the end of RAM: the fault comes after some iterations, with ECX/ESI/EDI part way.
        LockstepTest.Pair p = new LockstepTest.Pair("""
                    mov ebx, 3
                again:
                    mov esi, 0x1000
                    mov edi, %d - 64
                    mov ecx, 1000
                    rep movsd
                    dec ebx
                    jnz again
                    mov eax, 1
                    int 0x80
                """.formatted(LockstepTest.RAM_SIZE), CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(1000));
        assertEquals(1000 - 16, p.a.reg(X86Cpu.ECX));
        assertEquals(LockstepTest.RAM_SIZE, p.a.reg(X86Cpu.EDI));
    }
}
