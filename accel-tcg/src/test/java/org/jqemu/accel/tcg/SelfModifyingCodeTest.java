package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Stores into translated code: expected values follow from the SDM (code is fetched after the store). The
 * patching tests run with the MMU call, the raw inline hit path and the flat page table (stores to code pages
 * must miss and be seen by the same generated check; on the raw paths the page's write entry exists before the
 * page gets code, so dropping it is what is tested).
 */
class SelfModifyingCodeTest {
    /** A pair whose translator reaches RAM through {@code path}. */
    private static LockstepTest.Pair pair(String asm, BlockCompiler.TlbPath path) {
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(path);
        try {
            assertEquals(path, BlockCompiler.tlbPath(), "the test JVM exports jdk.internal.misc (surefire argLine)");
            return new LockstepTest.Pair(asm, CodeCache.DEFAULT_LIMIT);
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"CALL", "UNSAFE", "FLAT"})
    void patchingTheNextInstructionsImmediateInTheSameBlock(BlockCompiler.TlbPath path) {
        assertPatchLoopSumsItsPatchedImmediates(pair(patchLoop("[patch + 1]"), path));
    }

    /** The same patch through GS (a segment that is not flat: the CPU's checked store, not the TLB probe). */
    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"CALL", "UNSAFE", "FLAT"})
    void patchingTheNextInstructionThroughASegmentOverride(BlockCompiler.TlbPath path) {
        assertPatchLoopSumsItsPatchedImmediates(pair("""
                    jmp there
                    times 0x27000 - ($ - $$) db 0 ; there = 0x28000, GS's base (limit 0xfff)
                there:
                """ + patchLoop("[gs:patch + 1 - 0x28000]"), path));
    }

    /** A loop that stores ECX (5 down to 1) into the immediate of the next instruction through {@code target}. */
    private static String patchLoop(String target) {
        return """
                    mov ecx, 5
                    xor edx, edx
                again:
                    mov %s, ecx
                patch:
                    mov eax, 0
                    add edx, eax
                    dec ecx
                    jnz again
                    mov eax, 1
                    int 0x80
                """.formatted(target);
    }

    /** Each patched immediate was seen (EDX = 5+4+3+2+1) and each patch invalidated the block. */
    private static void assertPatchLoopSumsItsPatchedImmediates(LockstepTest.Pair p) {
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(1000));
        assertEquals(5 + 4 + 3 + 2 + 1, p.a.reg(X86Cpu.EDX));
        assertTrue(p.tcg.stats().invalidations() >= 5, p.tcg.stats().toString());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"CALL", "UNSAFE", "FLAT"})
    void miniJitWritesRunsAndRewritesCodeInABuffer(BlockCompiler.TlbPath path) {
        // Each round writes "mov eax, n ; ret" (even n) or "mov eax, n ; shl eax, 1 ; ret" (odd n) and calls it.
        LockstepTest.Pair p = pair("""
                    xor esi, esi
                    mov ecx, 10
                round:
                    mov byte [buf], 0xb8
                    mov [buf + 1], ecx
                    test cl, 1
                    jz even
                    mov word [buf + 5], 0xe0d1
                    mov byte [buf + 7], 0xc3
                    jmp go
                even:
                    mov byte [buf + 5], 0xc3
                go:
                    call buf
                    add esi, eax
                    dec ecx
                    jnz round
                    mov eax, 1
                    int 0x80
                align 4096
                buf: times 16 db 0xcc
                """, path);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(1000));
        int expected = 0;
        for (int n = 10; n >= 1; n--) {
            expected += (n & 1) != 0 ? 2 * n : n;
        }
        assertEquals(expected, p.a.reg(X86Cpu.ESI));
        assertTrue(p.tcg.stats().invalidations() >= 9, p.tcg.stats().toString());
    }

    @Test
    void codeWrittenBehindTheCpusBackIsRetranslatedAfterInvalidate() {
        // A loop (6 instructions a round) calling a routine that returns 1; the host then rewrites it to
        // return 2 (as read(2) would).
        LockstepTest.Pair p = new LockstepTest.Pair("""
                    mov ecx, 20
                l:  call f
                    add esi, eax
                    dec ecx
                    jnz l
                    mov eax, 1
                    int 0x80
                align 4096
                f:  mov eax, 1
                    ret
                """, CodeCache.DEFAULT_LIMIT);
        long f = LockstepTest.CODE + 4096;
        assertEquals(X86Cpu.EXIT_BUDGET, p.tcg.run(1 + 10 * 6));
        assertEquals(10, p.a.reg(X86Cpu.ESI));
        p.ramA.setByte(f + 1, 2);
        p.tcg.invalidate(f, 5);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.tcg.run(1000));
        assertEquals(10 + 10 * 2, p.a.reg(X86Cpu.ESI));
        assertTrue(p.tcg.stats().invalidations() >= 1, p.tcg.stats().toString());
    }

    @Test
    void storesToDataPagesDoNotInvalidate() {
        LockstepTest.Pair p = new LockstepTest.Pair("""
                    mov ecx, 100
                l:  mov [data + ecx*4], ecx
                    add dword [data], 3
                    dec ecx
                    jnz l
                    mov eax, 1
                    int 0x80
                align 4096
                data: times 512 dd 0
                """, CodeCache.DEFAULT_LIMIT);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(1000));
        assertEquals(0, p.tcg.stats().invalidations(), p.tcg.stats().toString());
    }
}
