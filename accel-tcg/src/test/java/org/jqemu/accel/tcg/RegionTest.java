package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;

/**
 * Regions (a hot block and its hot successors compiled into one method) against the interpreter: the
 * state must agree at every region exit (lockstep), at a fault in the middle of a region, after code of a
 * region is rewritten, and {@code run(n)} must retire exactly n instructions while regions loop.
 */
class RegionTest {
    /** Translate at once and make regions early, so that the loops below run mostly inside regions. */
    private static LockstepTest.Pair pair(String asm, int regionThreshold) {
        return pair(asm, regionThreshold, false);
    }

    /** As above, with open regions (entered at any member, dynamic exits to any member kept inside) or not. */
    private static LockstepTest.Pair pair(String asm, int regionThreshold, boolean open) {
        LockstepTest.Pair p = new LockstepTest.Pair(asm, CodeCache.DEFAULT_LIMIT, 0);
        p.tcg.setRegionThreshold(regionThreshold);
        p.tcg.setOpenRegions(open);
        return p;
    }

    /**
     * A function called from two places in one loop: its RET goes back to two addresses, and the loop is
     * reached from the function's return as well as from its head.
     */
    static final String TWO_CALLERS = """
                mov ecx, 2000
                xor edi, edi
            again:
                mov eax, ecx
                call mix
                add edi, eax
                test ecx, 1
                jz skip
                mov eax, edi
                call mix
                xor edi, eax
            skip:
                dec ecx
                jnz again
                mov eax, 1
                int 0x80
            mix:
                imul eax, eax, 7
                rol eax, 3
                ret
            """;

    @Test
    void openRegionsKeepReturnsToEitherCallerInsideAndAgreeWithTheInterpreter() {
        LockstepTest.Pair closed = pair(TWO_CALLERS, 8, false);
        assertEquals(X86Cpu.EXIT_INTERRUPT, closed.lockstep(200_000));
        LockstepTest.Pair open = pair(TWO_CALLERS, 8, true);
        assertEquals(X86Cpu.EXIT_INTERRUPT, open.lockstep(200_000));
        assertEquals(closed.a.reg(X86Cpu.EDI), open.a.reg(X86Cpu.EDI));
        TcgStats c = closed.tcg.stats();
        TcgStats o = open.tcg.stats();
        assertTrue(o.regionsBuilt() >= 1 && o.regionEntries() >= 1, o.toString());
        assertEquals(0, c.regionEntries(), c.toString());
        // Closed, the RET to the caller not recorded leaves the region every other iteration.
        assertTrue(o.blocksExecuted() * 4 < c.blocksExecuted(), "open " + o + " / closed " + c);
    }

    @Test
    void openRegionsRetireExactlyTheBudgetAndFaultPrecisely() {
        runRetiresExactlyTheBudget(pair(TWO_CALLERS, 8, true));
        runRetiresExactlyTheBudget(pair(NESTED_LOOPS_WITH_CALL, 8, true));
        LockstepTest.Pair p = pair("""
                    mov esi, 0x3000
                    xor edi, edi
                again:
                    add edi, esi
                    call load
                    add esi, 64
                    test esi, 64
                    jz again
                    call load
                    jmp again
                load:
                    inc ebx
                    mov eax, [esi]
                    xor edi, eax
                    ret
                """, 8, true);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(200_000));
        assertEquals(14, p.a.exitVector());
        assertEquals(0x40000, p.a.reg(X86Cpu.ESI));
        assertTrue(p.tcg.stats().regionsBuilt() >= 1 && p.tcg.stats().faultsReplayed() >= 1, p.tcg.stats().toString());
    }

    @Test
    void codeRewrittenInAnOpenRegionDropsEveryEntryIntoIt() {
        LockstepTest.Pair p = pair("""
                    mov ecx, 600
                    xor edx, edx
                again:
                    call patch
                    add edx, eax
                    cmp ecx, 200
                    ja keep
                    mov [patch + 1], ecx
                keep:
                    call patch
                    add edx, eax
                    dec ecx
                    jnz again
                    mov eax, 1
                    int 0x80
                patch:
                    mov eax, 3
                    ret
                """, 8, true);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        long expected = 0;
        int imm = 3;
        for (int n = 600; n >= 1; n--) {
            expected += imm;
            if (n <= 200) {
                imm = n;
            }
            expected += imm;
        }
        assertEquals(expected, p.a.reg(X86Cpu.EDX));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionEntries() >= 1 && s.invalidations() >= 200, s.toString());
        int[] stale = {0};
        p.tcg.cache().forEachBlock(b -> {
            if (b.members != null && !b.valid) {
                stale[0]++;
            }
        });
        assertEquals(0, stale[0]);
    }

    /** A loop over several blocks: a call and its return, both directions of a condition, a nested loop. */
    private static final String NESTED_LOOPS_WITH_CALL = """
                mov ecx, 300
                xor esi, esi
                xor edi, edi
            outer:
                mov edx, 5
            inner:
                add esi, edx
                test esi, 1
                jz even
                lea edi, [edi + esi * 2]
                jmp joined
            even:
                xor edi, esi
            joined:
                dec edx
                jnz inner
                push ecx
                call mix
                pop ecx
                mov [table + ecx * 4], edi
                dec ecx
                jnz outer
                mov eax, 1
                int 0x80
            mix:
                mov eax, [esp + 4]
                imul eax, eax, 7
                add edi, eax
                rol edi, 3
                ret
            table: times 301 dd 0
            """;

    @Test
    void loopsAcrossBlocksWithCallAndReturnAgreeWithTheInterpreterAtEveryRegionExit() {
        LockstepTest.Pair p = pair(NESTED_LOOPS_WITH_CALL, 8);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 1 && s.regionBlocks() >= 3, s.toString());
        // 300 outer iterations of about 8 blocks each: inside regions far fewer executions reach the engine.
        assertTrue(s.blocksExecuted() < 300 * 3, s.toString());
    }

    /**
     * The inner loop becomes a region first; the outer loop's region, chosen later, holds the inner region's
     * head as a member (the head's block was replaced in the cache, not changed) and must be installed: the
     * whole nest then runs in one method, a few executions per outer iteration at most.
     */
    @Test
    void aLoopAroundAnInnerRegionBecomesARegionToo() {
        LockstepTest.Pair p = pair(INNER_REGION_IN_OUTER_LOOP, 8);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 2, s.toString());
        assertTrue(s.blocksExecuted() < 400, s.toString());
    }

    /** 400 outer iterations of an inner loop of two blocks (10 iterations) and an outer loop of two more. */
    private static final String INNER_REGION_IN_OUTER_LOOP = """
                mov ecx, 400
                xor edi, edi
            outer:
                mov edx, 10
            inner:
                add edi, edx
                test edx, 1
                jz even
                rol edi, 1
            even:
                dec edx
                jnz inner
                test ecx, 3
                jz skip
                xor edi, ecx
            skip:
                mov [result], edi
                dec ecx
                jnz outer
                mov eax, 1
                int 0x80
            result: dd 0
            """;

    /**
     * A loop that no region can close: FNOP (not translated, so the interpreter runs it) sits in its body, so
     * from the hot head a path of plain blocks (the branch, the call, the callee, the return) leads out
     * of translated code every iteration. Session 12: that hot path becomes one region.
     */
    private static final String PATH_BROKEN_BY_THE_INTERPRETER = """
                mov ecx, 3000
                xor edi, edi
                xor edx, edx
            again:
                add edi, ecx
                test ecx, 1
                jz even
                rol edi, 1
            even:
                call mix
                xor edi, eax
                fnop
                dec ecx
                jnz again
                mov eax, 1
                int 0x80
            mix:
                lea eax, [edi + ecx * 4]
                rol eax, 5
            patch:
                add edx, 7
                ret
            """;

    /** A pair whose translator builds path regions of up to 16 blocks (off by default since session 12). */
    private static LockstepTest.Pair pathPair(String asm) {
        LockstepTest.Pair p = pair(asm, 8);
        p.tcg.setPathRegionBlocks(16);
        return p;
    }

    @Test
    void aHotPathNoLoopClosesBecomesARegionAndAgreesWithTheInterpreterAtEveryExit() {
        LockstepTest.Pair p = pathPair(PATH_BROKEN_BY_THE_INTERPRETER);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 1 && s.regionBlocks() >= 4, s.toString());
        // Block by block, 3000 iterations take about 5 executions each; the path region takes 2.
        assertTrue(s.blocksExecuted() < 3000 * 3, s.toString());
    }

    @Test
    void withoutPathRegionsTheBrokenLoopRunsBlockByBlock() {
        LockstepTest.Pair p = pair(PATH_BROKEN_BY_THE_INTERPRETER, 8);
        p.tcg.setPathRegionBlocks(0);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        TcgStats s = p.tcg.stats();
        assertEquals(0, s.regionsBuilt(), s.toString());
        assertTrue(s.blocksExecuted() > 3000 * 4, s.toString());
        // Every hot head's paths leave translated code (FNOP) before they come back: none was decoded again.
        assertTrue(s.regionsRejected() >= 3, s.toString());
        assertEquals(s.regionsRejected(), s.regionsRejectedUndecoded(), s.toString());
    }

    /**
     * {@code mix} gets hot (8 executions) called from a straight line, where FNOP after each call keeps its return
     * out of translated code: no loop closes at it then. Only later does a loop call it.
     */
    private static final String HOT_BEFORE_ITS_LOOP = """
                mov ecx, 300
                xor edi, edi
                %rep 10
                call mix
                fnop
                %endrep
            again:
                call mix
                add edi, eax
                dec ecx
                jnz again
                mov eax, 1
                int 0x80
                times 0x200 - ($ - $$) nop
            mix:
                lea eax, [edi + ecx * 2]
                rol eax, 3
                ret
            """;
    private static final int MIX = (int) LockstepTest.CODE + 0x200;

    @Test
    void aBlockHotBeforeItsLoopRunsGetsItsRegionAtALaterTry() {
        assertTrue(headsARegion(runWithRegionTries(HOT_BEFORE_ITS_LOOP, 2), MIX));
    }

    @Test
    void withOneTryTheBlockHotBeforeItsLoopGetsNoRegionOfItsOwn() {
        assertTrue(!headsARegion(runWithRegionTries(HOT_BEFORE_ITS_LOOP, 1), MIX));
    }

    /**
     * A loop of two blocks, run 100 times from its first (which heads its region), then 99 times from its second
     * for one iteration each: FNOP keeps that outer path out of the region. The second block, a member of the
     * region, reaches the region threshold as a block right after the region is installed, and again in the
     * second phase.
     */
    private static final String ENTERED_AT_A_MEMBER = """
                mov ebx, 100
                xor edx, edx
                mov ecx, 100
                jmp first
            first:
                add edx, 3
                jmp second
            second:
                add edx, 1
                dec ecx
                jnz first
                fnop
                mov ecx, 1
                dec ebx
                jnz second
                mov eax, 1
                int 0x80
            """;
    private static final int SECOND = (int) LockstepTest.CODE + 5 + 2 + 5 + 2 + 3 + 2;

    @Test
    void aMemberOfAnInstalledRegionHeadsNoRegionOfTheSameLoopUnlessRegionsMayOverlap() {
        LockstepTest.Pair p = pair(ENTERED_AT_A_MEMBER, 8);
        p.tcg.setOverlappingRegions(false); // user mode's setting
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        assertEquals(100 * 4 + 99, p.a.reg(X86Cpu.EDX));
        TcgStats s = p.tcg.stats();
        assertEquals(1, s.regionsBuilt(), s.toString());
        assertTrue(!headsARegion(p, SECOND) && s.regionsDeferred() >= 2, s.toString());

        LockstepTest.Pair overlapping = pair(ENTERED_AT_A_MEMBER, 8); // the default (system mode)
        assertEquals(X86Cpu.EXIT_INTERRUPT, overlapping.lockstep(200_000));
        assertEquals(100 * 4 + 99, overlapping.a.reg(X86Cpu.EDX));
        assertTrue(headsARegion(overlapping, SECOND), overlapping.tcg.stats().toString());
        assertEquals(2, overlapping.tcg.stats().regionsBuilt(), overlapping.tcg.stats().toString());
    }

    /**
     * As above, with 2999 runs of the second block from outside the region, whose head runs once: from
     * CodeCache.OUTSIDE_WAIT times the threshold on, the block, reached mostly from elsewhere, heads a region of its own.
     */
    @Test
    void aMemberOfAnInstalledRegionRunMostlyFromOutsideItHeadsARegionOfItsOwn() {
        LockstepTest.Pair p = pair(ENTERED_AT_A_MEMBER.replace("mov ebx, 100", "mov ebx, 3000"), 8);
        p.tcg.setOverlappingRegions(false);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(400_000));
        assertEquals(100 * 4 + 2999, p.a.reg(X86Cpu.EDX));
        TcgStats s = p.tcg.stats();
        assertTrue(headsARegion(p, SECOND), s.toString());
        assertEquals(2, s.regionsBuilt(), s.toString());
    }

    private static LockstepTest.Pair runWithRegionTries(String asm, int tries) {
        LockstepTest.Pair p = pair(asm, 8);
        p.tcg.setRegionTries(tries);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        return p;
    }

    private static boolean headsARegion(LockstepTest.Pair p, int eip) {
        boolean[] found = {false};
        p.tcg.cache().forEachBlock(b -> found[0] |= b.members != null && b.eip == eip && b.entry == 0);
        return found[0];
    }

    @Test
    void aPathRegionThatStoresIntoItsOwnLaterMemberStopsBeforeRunningTheStaleCode() {
        // Once the path region runs, the head starts patching the callee (a later member of the same path).
        LockstepTest.Pair p = pathPair(PATH_BROKEN_BY_THE_INTERPRETER.replace("""
                add edi, ecx
                test ecx, 1
            """, """
                add edi, ecx
                cmp ecx, 100
                ja plain
                mov [patch + 2], cl
            plain:
                test ecx, 1
            """));
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        long expected = 0;
        for (int n = 3000; n >= 1; n--) {
            expected += n <= 100 ? n : 7;
        }
        assertEquals(expected, p.a.reg(X86Cpu.EDX));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 1 && s.invalidations() >= 100, s.toString());
    }

    @Test
    void runRetiresExactlyTheBudgetWhilePathRegionsRun() {
        runRetiresExactlyTheBudget(pathPair(PATH_BROKEN_BY_THE_INTERPRETER));
    }

    /** The hot tier's copy of a region (another class, for C2) replaces the region's code and runs the same. */
    @Test
    void aRegionRecompiledByTheHotTierAgreesWithTheInterpreter() {
        LockstepTest.Pair p = pair(NESTED_LOOPS_WITH_CALL, 8);
        p.tcg.setHotInstructions(2);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 1 && s.hotRegions() >= 1, s.toString());
        assertEquals(0, s.translationFailures(), s.toString());
    }

    /**
     * The hot tier's copy compares 4-byte operands as unsigned with Integer.compareUnsigned (C2 makes it one compare);
     * values all over the 32-bit range, on both sides of 2^31, through JB, JA, JC after ADD and JBE, each reading the
     * carry of a CMP or an ADD in the same member or the one before; and JBE and JB at equal operands.
     */
    @Test
    void unsignedConditionsInTheHotTiersCopyAgreeWithTheInterpreter() {
        LockstepTest.Pair p = pair("""
                    mov ecx, 3000
                    xor edi, edi
                    mov ebx, 0x7ffffff0
                again:
                    mov eax, ecx
                    imul eax, eax, 0x9e3779b1
                    cmp eax, ebx
                    jb below
                    add edi, 3
                below:
                    cmp eax, 0x80000010
                    ja above
                    sub edi, 1
                above:
                    mov edx, eax
                    add edx, ebx
                    jc carried
                    xor edi, 0x55
                carried:
                    cmp ebx, eax
                    jbe notAbove
                    add edi, ecx
                notAbove:
                    cmp ecx, 1500
                    jbe lowHalf
                    add edi, 5
                lowHalf:
                    cmp ecx, 2000
                    jb notEqual
                    xor edi, 0x3c
                notEqual:
                    add ebx, 0x01000000
                    dec ecx
                    jnz again
                    mov eax, 1
                    int 0x80
                """, 8);
        p.tcg.setHotInstructions(2);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(400_000));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 1 && s.hotRegions() >= 1, s.toString());
    }

    @Test
    void withoutRegionsTheSameProgramRunsBlockByBlock() {
        LockstepTest.Pair p = pair(NESTED_LOOPS_WITH_CALL, 0);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        assertEquals(0, p.tcg.stats().regionsBuilt());
        assertTrue(p.tcg.stats().blocksExecuted() > 300 * 8, p.tcg.stats().toString());
    }

    @Test
    void aFaultInTheMiddleOfARegionLeavesTheStateBeforeTheFaultingInstruction() {
        // ESI walks up 64 bytes per iteration past the end of RAM (0x40000): the load in the called block
        // faults after the region has been running for thousands of iterations.
        LockstepTest.Pair p = pair("""
                    mov esi, 0x3000
                    xor edi, edi
                again:
                    add edi, esi
                    call load
                    add esi, 64
                    jmp again
                load:
                    inc ebx
                    mov eax, [esi]
                    xor edi, eax
                    ret
                """, 8);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(200_000));
        assertEquals(14, p.a.exitVector()); // #PF, from the interpreter's replay of the faulting load
        assertEquals(0x40000, p.a.reg(X86Cpu.ESI));
        TcgStats s = p.tcg.stats();
        assertTrue(s.regionsBuilt() >= 1 && s.faultsReplayed() >= 1, s.toString());
    }

    @Test
    void codeRewrittenInsideARegionIsSeenAtOnce() {
        // The loop patches the immediate of an instruction in another block of the same loop every
        // iteration: the region is invalidated, the patched value must be the one added.
        LockstepTest.Pair p = pair("""
                    mov ecx, 500
                    xor edx, edx
                again:
                    mov [patch + 1], ecx
                    test ecx, 3
                    jz skip
                    add edx, 1
                skip:
                    call patch
                    add edx, eax
                    dec ecx
                    jnz again
                    mov eax, 1
                    int 0x80
                patch:
                    mov eax, 0
                    ret
                """, 4);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        long expected = 0;
        for (int n = 500; n >= 1; n--) {
            expected += n + ((n & 3) != 0 ? 1 : 0);
        }
        assertEquals(expected, p.a.reg(X86Cpu.EDX));
        assertTrue(p.tcg.stats().invalidations() >= 500, p.tcg.stats().toString());
    }

    @Test
    void aRegionThatStoresIntoItsOwnLaterBlockStopsBeforeRunningTheStaleCode() {
        // Built once the loop is hot, then the loop starts patching a block that is part of the region.
        LockstepTest.Pair p = pair("""
                    mov ecx, 400
                    xor edx, edx
                again:
                    cmp ecx, 100
                    ja plain
                    mov [patch + 1], ecx
                plain:
                    dec ecx
                    jz done
                patch:
                    mov eax, 7
                    add edx, eax
                    jmp again
                done:
                    mov eax, 1
                    int 0x80
                """, 16);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        long expected = 0;
        for (int n = 400; n >= 2; n--) {
            expected += n <= 100 ? n : 7;
        }
        assertEquals(expected, p.a.reg(X86Cpu.EDX));
        assertTrue(p.tcg.stats().regionsBuilt() >= 1, p.tcg.stats().toString());
    }

    @Test
    void aRegionIsRevalidatedMemberByMemberAfterATlbFlushAndKept() {
        LockstepTest.Pair p = pair(NESTED_LOOPS_WITH_CALL, 8);
        while (p.tcg.stats().regionsBuilt() == 0) {
            assertEquals(X86Cpu.EXIT_BUDGET, p.tcg.run(100));
        }
        long revalidations = p.tcg.stats().revalidations();
        for (int i = 0; i < 20; i++) {
            p.a.flushTlb(); // a mapping change (munmap, mprotect, CR3): every block is checked again on its next use
            assertEquals(X86Cpu.EXIT_BUDGET, p.tcg.run(200));
        }
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.tcg.run(10_000_000));
        TcgStats s = p.tcg.stats();
        assertTrue(s.revalidations() > revalidations, s.toString());
        assertEquals(0, s.invalidations(), "every region and block stayed valid: " + s);
        int rb = X86Cpu.EXIT_BUDGET;
        while (rb == X86Cpu.EXIT_BUDGET) {
            rb = p.b.run(p.a.instructionCount() - p.b.instructionCount() + 1);
        }
        assertEquals(X86Cpu.EXIT_INTERRUPT, rb);
        p.compare("at exit");
    }

    @Test
    void runRetiresExactlyTheBudgetWhileRegionsLoop() {
        runRetiresExactlyTheBudget(pair(NESTED_LOOPS_WITH_CALL, 8));
    }

    /** {@code run(n)} with random n retires exactly n instructions (until the program's exit) and agrees with the interpreter. */
    private static void runRetiresExactlyTheBudget(LockstepTest.Pair p) {
        Random random = new Random(5);
        int exit = X86Cpu.EXIT_BUDGET;
        while (exit == X86Cpu.EXIT_BUDGET) {
            long n = 1 + random.nextInt(random.nextBoolean() ? 40 : 3000);
            long before = p.a.instructionCount();
            exit = p.tcg.run(n);
            long done = p.a.instructionCount() - before;
            if (exit == X86Cpu.EXIT_BUDGET) {
                assertEquals(n, done, "retired by run(" + n + ")");
            } else {
                assertTrue(done <= n, "retired " + done + " by run(" + n + ")");
            }
            int rb = X86Cpu.EXIT_BUDGET;
            while (rb == X86Cpu.EXIT_BUDGET && p.b.instructionCount() < p.a.instructionCount()) {
                rb = p.b.run(p.a.instructionCount() - p.b.instructionCount());
            }
            if (exit != X86Cpu.EXIT_BUDGET && rb == X86Cpu.EXIT_BUDGET) {
                rb = p.b.run(1);
            }
            assertEquals(exit, rb);
            p.compare("after run(" + n + ")");
        }
        assertEquals(X86Cpu.EXIT_INTERRUPT, exit);
        assertTrue(p.tcg.stats().regionsBuilt() >= 1, p.tcg.stats().toString());
    }
}
