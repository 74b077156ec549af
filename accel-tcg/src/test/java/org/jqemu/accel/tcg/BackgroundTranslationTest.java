package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Background translation (system mode: blocks and regions; user mode: regions alone): blocks compiled on the translator's thread are installed by the guest's thread only
 * if the guest bytes they were decoded from are unchanged. Expected states come from the interpreter running
 * the same program (lockstep); the patch below happens while a compilation is in flight, before the page
 * holds any block, so no store watch can see it.
 */
class BackgroundTranslationTest {
    /** ECX iterations adding the immediate at {@link #IMMEDIATE} to EDX. */
    private static final String LOOP = """
                mov ecx, 1000
                xor edx, edx
            again:
                mov eax, 3
                add edx, eax
                dec ecx
                jnz again
                mov eax, 1
                int 0x80
            """;
    /** Address of the immediate of "mov eax, 3": CODE + 5 (mov ecx, imm32) + 2 (xor) + 1 (opcode B8). */
    private static final long IMMEDIATE = LockstepTest.CODE + 8;

    private static LockstepTest.Pair pair() {
        LockstepTest.Pair p = new LockstepTest.Pair(LOOP, CodeCache.DEFAULT_LIMIT, 2);
        p.tcg.setBackgroundTranslation(true);
        return p;
    }

    /** Runs both machines {@code n} instructions (the translator's run installs nothing before its first lookup). */
    private static void runBoth(LockstepTest.Pair p, long n) {
        assertEquals(X86Cpu.EXIT_BUDGET, p.tcg.run(n));
        assertEquals(X86Cpu.EXIT_BUDGET, p.b.run(n));
    }

    @Test
    void blocksCompiledInTheBackgroundAreInstalledAndRunLikeTheInterpreter() throws Exception {
        LockstepTest.Pair p = pair();
        runBoth(p, 40); // the loop's blocks become hot: their compilations start
        CodeCache.awaitBackgroundCompilations();
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(10_000));
        assertEquals(3 * 1000, p.a.reg(X86Cpu.EDX));
        assertTrue(p.tcg.stats().blocksTranslated() >= 1, p.tcg.stats().toString());
        assertTrue(p.tcg.stats().interpreted() < 1000, "the loop ran translated: " + p.tcg.stats());
    }

    @Test
    void aBlockWhoseBytesChangedWhileItWasCompiledIsNotInstalled() throws Exception {
        LockstepTest.Pair p = pair();
        runBoth(p, 40);
        CodeCache.awaitBackgroundCompilations(); // compiled from "mov eax, 3", not installed yet
        for (MemorySegment ram : new MemorySegment[] {p.ramA.ram, p.ramB.ram}) {
            ram.set(ValueLayout.JAVA_INT_UNALIGNED, IMMEDIATE, 5); // now "mov eax, 5"
        }
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(10_000)); // the stale block would go on adding 3
        // 40 instructions = the 2 before the loop, 9 iterations of 4 and the 10th's "mov eax, 3; add edx, eax".
        assertEquals(3 * 10 + 5 * 990, p.a.reg(X86Cpu.EDX));
        assertTrue(p.tcg.stats().blocksTranslated() >= 1, "translated again once hot: " + p.tcg.stats());
    }

    /** A loop of three blocks (the middle one on odd counts only) that becomes a region after 8 runs of its head. */
    private static final String BRANCHY = """
                mov ecx, 2000
                xor edx, edx
            again:
                mov eax, ecx
                test eax, 1
                jz even
                add edx, 3
            even:
                add edx, 1
                dec ecx
                jnz again
                mov eax, 1
                int 0x80
            """;
    /** The immediate of "add edx, 3" (83 C2 03): CODE + 5 + 2 + 2 (mov eax, ecx) + 5 (test eax, imm32) + 2 (jz) + 2. */
    private static final long MEMBER_IMMEDIATE = LockstepTest.CODE + 18;

    /** System mode's setting (blocks and regions in the background) or user mode's (regions alone). */
    private static LockstepTest.Pair regionPair(boolean regionsOnly) {
        LockstepTest.Pair p = new LockstepTest.Pair(BRANCHY, CodeCache.DEFAULT_LIMIT, 0);
        p.tcg.setRegionThreshold(8);
        if (regionsOnly) {
            p.tcg.setBackgroundRegions(true);
        } else {
            p.tcg.setBackgroundTranslation(true);
        }
        return p;
    }

    @Test
    void withRegionsAloneInTheBackgroundBlocksAreCompiledAtOnceAndTheRegionIsNot() {
        LockstepTest.Pair p = regionPair(true);
        runBoth(p, 200); // the head ran 8 times: the region's compilation starts, its blocks run compiled meanwhile
        assertEquals(0, p.tcg.stats().regionsBuilt(), "no region installed on the guest's thread: " + p.tcg.stats());
        assertTrue(p.tcg.stats().interpreted() < 10, "the blocks were compiled where they became hot: " + p.tcg.stats());
    }

    @ParameterizedTest(name = "regions alone: {0}")
    @ValueSource(booleans = {false, true})
    void aRegionCompiledInTheBackgroundReplacesItsHeadAndRunsLikeTheInterpreter(boolean regionsOnly) throws Exception {
        LockstepTest.Pair p = regionPair(regionsOnly);
        runBoth(p, 200); // the head ran 8 times: the region's compilation starts
        CodeCache.awaitBackgroundCompilations();
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(100_000));
        assertEquals(1000 * 3 + 2000, p.a.reg(X86Cpu.EDX));
        // Each of the loop's blocks heads a region of the same loop (chosen while the first was compiled).
        assertTrue(p.tcg.stats().regionsBuilt() >= 1, p.tcg.stats().toString());
    }

    /**
     * Each of the loop's three blocks gets hot while the first region of the loop is being compiled (nothing is
     * installed within one run): with overlapping regions each heads a region of the same loop, without (user
     * mode's setting) the others wait for it and, once it is installed, run inside it.
     */
    @ParameterizedTest(name = "overlapping regions: {0}")
    @ValueSource(booleans = {false, true})
    void aLoopWhoseBlocksGetHotWhileItsRegionIsCompiledGetsOneRegionUnlessRegionsMayOverlap(boolean overlapping)
            throws Exception {
        LockstepTest.Pair p = regionPair(true);
        p.tcg.setOverlappingRegions(overlapping);
        runBoth(p, 200); // 30 iterations: the head and the other two blocks ran at least 8 times each
        CodeCache.awaitBackgroundCompilations();
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(100_000));
        assertEquals(1000 * 3 + 2000, p.a.reg(X86Cpu.EDX));
        TcgStats s = p.tcg.stats();
        assertEquals(overlapping ? 3 : 1, s.regionsBuilt(), s.toString());
        assertTrue(overlapping || s.regionsDeferred() >= 2, s.toString());
    }

    @ParameterizedTest(name = "regions alone: {0}")
    @ValueSource(booleans = {false, true})
    void aRegionWhoseMemberChangedWhileItWasCompiledIsNotInstalled(boolean regionsOnly) throws Exception {
        LockstepTest.Pair p = regionPair(regionsOnly);
        runBoth(p, 200);
        CodeCache.awaitBackgroundCompilations();
        assertEquals(3, p.ramA.ram.get(ValueLayout.JAVA_BYTE, MEMBER_IMMEDIATE), "the test's address arithmetic");
        for (MemorySegment ram : new MemorySegment[] {p.ramA.ram, p.ramB.ram}) {
            ram.set(ValueLayout.JAVA_BYTE, MEMBER_IMMEDIATE, (byte) 7); // now "add edx, 7"
        }
        // As a device's DMA (system mode) or linux-user's CpuEngine after a read() into code reports it: the member
        // block is dropped.
        p.tcg.invalidate(MEMBER_IMMEDIATE, 1);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(100_000)); // the stale region would go on adding 3
        // The regions chosen before the patch are refused (the new member block may head a region of its own).
        assertTrue(p.tcg.stats().regionsRejected() >= 1, p.tcg.stats().toString());
    }
}
