package org.jqemu.accel.tcg;

import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;

/**
 * The translator against the interpreter (itself checked against the host CPU in target-i386): the same
 * program runs on two CPUs with two copies of memory, one through {@link Tcg} block by block, the other
 * through {@link X86Cpu#run} for the same number of instructions, and the whole state (registers, EIP,
 * EFLAGS, memory, instruction count) must agree at every block boundary and at the final exit.
 */
class LockstepTest {
    static final long CODE = 0x1000;
    static final long RAM_SIZE = 0x40000;
    static final long STACK_TOP = 0x3f000;
    static final String EXIT = "\nmov eax, 1\nint 0x80\n";
    /** GS as Linux sets it for TLS: a small 32-bit data segment (present, DPL 3, read/write). */
    static final int TLS_SELECTOR = 0x33, TLS_ACCESS = 0x40f3;
    static final long TLS_BASE = 0x28000, TLS_LIMIT = 0xfff;

    /** Two identical machines: A runs the translator, B the interpreter. */
    static final class Pair {
        final TestRam ramA = new TestRam(RAM_SIZE, Page.RWX);
        final TestRam ramB = new TestRam(RAM_SIZE, Page.RWX);
        final X86Cpu a = new X86Cpu(ramA, IoPorts.NONE);
        final X86Cpu b = new X86Cpu(ramB, IoPorts.NONE);
        final Tcg tcg;

        Pair(String asm, int cacheLimit) { this(asm, cacheLimit, 0); }

        Pair(String asm, int cacheLimit, int hotThreshold) {
            byte[] code = Nasm.assemble("bits 32\norg 0x1000\n" + asm);
            for (TestRam ram : new TestRam[] {ramA, ramB}) {
                ram.load(CODE, code);
            }
            for (X86Cpu cpu : new X86Cpu[] {a, b}) {
                cpu.enterUserMode32();
                cpu.setEip(CODE);
                cpu.setReg(X86Cpu.ESP, STACK_TOP);
                cpu.setSegment(X86Cpu.GS, TLS_SELECTOR, TLS_BASE, TLS_LIMIT, TLS_ACCESS);
            }
            tcg = new Tcg(a, cacheLimit, hotThreshold);
        }

        /** Runs to the first non-budget exit, comparing after every block; returns that exit. */
        int lockstep(int maxSteps) {
            return runInLockstep(tcg, a, b, maxSteps, this::compare);
        }

        void compare(String where) {
            assertSameRegisters(b, a, where);
            assertEquals(b.instructionCount(), a.instructionCount(), where + ": instructions retired");
            long diff = ramA.ram.mismatch(ramB.ram);
            assertEquals(-1L, diff, where + ": memory differs at " + Long.toHexString(diff));
        }
    }

    static Pair run(String asm) {
        Pair p = new Pair(asm, CodeCache.DEFAULT_LIMIT);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(200_000));
        return p;
    }

    /** Operands that hit every carry/overflow/sign/zero corner at 8 and 32 bits. */
    private static final String VALUES = """
            values: dd 0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0x12345678
            nvalues equ ($ - values) / 4
            """;

    /**
     * Z, NZ, S, NS at the start of a block (SETcc and Jcc), where the flags come from the previous block: read
     * inline from the lazy record (EFLAGS itself after POPF) for every kind of record and operand size. The
     * lockstep reads EFLAGS after every block, which folds the record into EFLAGS; so the same program runs
     * again in chains of blocks (the record left as the previous block wrote it) and is compared at its end.
     */
    @Test
    void zeroAndSignConditionsAtABlockStartAfterEveryKindOfFlagRecord() {
        runInLockstepAndInChains(BLOCK_START_CONDITIONS, 20);
    }

    /**
     * Runs {@code program} in lockstep (at least {@code blocks} blocks translated), then again in chains of blocks
     * (nothing reads EFLAGS between them) compared with the interpreter at the end.
     */
    private static void runInLockstepAndInChains(String program, int blocks) {
        Pair p = run(program);
        assertTrue(p.tcg.stats().blocksTranslated() > blocks, p.tcg.stats().toString());
        Pair chained = new Pair(program, CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_INTERRUPT, chained.tcg.run(20_000_000));
        assertEquals(X86Cpu.EXIT_INTERRUPT, chained.b.run(20_000_000));
        chained.compare("at the exit of chained blocks");
        assertTrue(chained.tcg.stats().chained() > 1000, chained.tcg.stats().toString());
    }

    /** Flag records of every kind: SUB, ADD, logic, INC, DEC, a shift, a multiply, 8 and 16 bits, EFLAGS (POPF). */
    private static final String[] FLAG_SETTERS = {"cmp eax, edx", "add ecx, edx", "and ecx, edx", "inc ecx", "dec ecx",
        "shl ecx, 1", "imul ecx, edx", "cmp al, dl", "add cx, dx", "push eax\nand dword [esp], 0x8d5\npopf"};

    private static final String BLOCK_START_CONDITIONS = overAllValuePairs(VALUES + "results: times 9000 db 0\n", java.util.stream.IntStream
            .range(0, FLAG_SETTERS.length).mapToObj(k -> """
                    mov ecx, eax
                    %2$s
                    jmp near s%1$d
                s%1$d:
                    setz [edi]
                    sets [edi+1]
                    setnz [edi+2]
                    setns [edi+3]
                    jmp near j%1$d
                j%1$d:
                    jz z%1$d
                    or byte [edi+4], 1
                z%1$d:
                    jns n%1$d
                    or byte [edi+4], 2
                n%1$d:
                    add edi, 5
                """.formatted(k, FLAG_SETTERS[k])).collect(java.util.stream.Collectors.joining()));

    /**
     * C, BE, L, LE and their negations at the start of a block (SETcc and Jcc), where the flags come from the
     * previous block: read inline from a SUB/CMP record (and for C an ADD or result record), through the
     * interpreter's condition() for the others; every kind of record and operand size, in lockstep and in chains
     * (as {@link #zeroAndSignConditionsAtABlockStartAfterEveryKindOfFlagRecord}).
     */
    @Test
    void carryAndCompareConditionsAtABlockStartAfterEveryKindOfFlagRecord() {
        runInLockstepAndInChains(CARRY_AND_COMPARE_CONDITIONS, 40);
    }

    /**
     * Records of every kind for C, BE, L, LE: SUB and CMP of each size, NEG, ADD, ADC, SBB (each with a carry in of
     * 0, and of 1 after STC), logic, INC, DEC, a shift, a multiply, EFLAGS.
     */
    private static final String[] CARRY_SETTERS = {"cmp eax, edx", "sub ecx, edx", "cmp al, dl", "sub cx, dx", "neg ecx",
        "add ecx, edx", "add cl, dl", "adc ecx, edx", "sbb cx, dx", "stc\nadc ecx, edx", "stc\nsbb cx, dx", "stc\nsbb ecx, edx",
        "and ecx, edx", "inc ecx", "dec cl", "shr ecx, 1",
        "imul ecx, edx", "push eax\nand dword [esp], 0x8d5\npopf"};

    private static final String CARRY_AND_COMPARE_CONDITIONS = overAllValuePairs(VALUES + "results: times 40000 db 0\n",
            java.util.stream.IntStream.range(0, CARRY_SETTERS.length).mapToObj(k -> """
                    mov ecx, eax
                    %2$s
                    jmp near s%1$d
                s%1$d:
                    setc [edi]
                    setnc [edi+1]
                    setbe [edi+2]
                    seta [edi+3]
                    setl [edi+4]
                    setge [edi+5]
                    setle [edi+6]
                    setg [edi+7]
                    jmp near j%1$d
                j%1$d:
                    jc c%1$d
                    mov byte [edi+8], 1
                c%1$d:
                    ja above%1$d
                    mov byte [edi+9], 1
                above%1$d:
                    jl l%1$d
                    mov byte [edi+10], 1
                l%1$d:
                    jle e%1$d
                    mov byte [edi+11], 1
                e%1$d:
                    add edi, 12
                """.formatted(k, CARRY_SETTERS[k])).collect(java.util.stream.Collectors.joining()));

    /**
     * A program running {@code body} for every pair (EAX, EDX) of the {@code values} that {@code data} declares,
     * ESI and EBX their indexes, EDI pointing at {@code results} (declared in {@code data} too), then exiting.
     */
    static String overAllValuePairs(String data, String body) {
        return "jmp start\n" + data + """
                start:
                    mov edi, results
                    xor esi, esi
                outer:
                    xor ebx, ebx
                inner:
                    mov eax, [values + esi*4]
                    mov edx, [values + ebx*4]
                """ + body + """
                    inc ebx
                    cmp ebx, nvalues
                    jb inner
                    inc esi
                    cmp esi, nvalues
                    jb outer
                """ + EXIT;
    }


    @Test
    void aluConditionsAndSetccOverAllOperandPairs() {
        Pair p = run(overAllValuePairs(VALUES + "results: times 4096 db 0\n", """
                    cmp eax, edx
                    seto [edi]
                    setc [edi+1]
                    setz [edi+2]
                    setbe [edi+3]
                    sets [edi+4]
                    setp [edi+5]
                    setl [edi+6]
                    setle [edi+7]
                    cmp al, dl
                    setb [edi+8]
                    setl [edi+9]
                    setle [edi+10]
                    seta [edi+11]
                    mov ecx, eax
                    add ecx, edx
                    setc [edi+12]
                    seto [edi+13]
                    adc ecx, eax
                    sbb ecx, edx
                    mov [edi+16], ecx
                    mov ecx, eax
                    and ecx, edx
                    setle [edi+14]
                    cmovg ecx, eax
                    or ecx, edx
                    cmovs ecx, edx
                    xor ecx, eax
                    setnz [edi+15]
                    mov [edi+20], ecx
                    sub al, dl
                    sbb ah, dh
                    mov [edi+24], eax
                    test dl, 0x80
                    setnz [edi+28]
                    inc edx
                    setc [edi+29]
                    dec edx
                    setz [edi+30]
                    add edi, 32
                    and edi, 0x7ff
                    add edi, results
                """));
        assertTrue(p.tcg.stats().blocksTranslated() > 3, p.tcg.stats().toString());
        assertTrue(p.tcg.stats().chainHits() > 100, p.tcg.stats().toString());
    }

    @Test
    void shiftsMultipliesExtensionsAndByteRegisters() {
        run("""
                jmp start
                """ + VALUES + """
                out: times 64 dd 0
                start:
                    xor esi, esi
                    xor ebp, ebp
                next:
                    mov eax, [values + esi*4]
                    mov ebx, eax
                    shl ebx, 3
                    mov ecx, eax
                    sar ecx, 31
                    mov edx, eax
                    shr edx, 1
                    add ebp, ebx
                    xor ebp, ecx
                    sub ebp, edx
                    rol eax, 7
                    ror ah, 1
                    rcl bl, 1
                    sar bh, 5
                    setc cl
                    imul ecx, eax, 0x1234567
                    seto dl
                    imul ebx, ecx
                    imul edx, [values + esi*4], -3
                    movzx edi, al
                    movsx ecx, ah
                    add edi, ecx
                    movzx ecx, word [values + esi*4]
                    movsx edx, word [values + esi*4 + 2]
                    add edi, edx
                    movsx edx, byte [values + esi*4 + 3]
                    lea edi, [edi + edx*2 + 0x100]
                    mov [out + esi*4], edi
                    not edi
                    not byte [out + esi*4 + 1]
                    cdq
                    add [out + esi*4], ebp
                    neg eax
                    inc esi
                    cmp esi, nvalues
                    jne next
                """ + EXIT);
    }

    @Test
    void callsReturnsPushPopAndIndirectJumps() {
        run("""
                jmp start
                table: dd f1, f2, f3
                f1: push ebx
                    mov ebx, 3
                    add eax, ebx
                    pop ebx
                    ret
                f2: lea eax, [eax*2 + 1]
                    ret 4
                f3: push dword [esp + 4]
                    pop ecx
                    add eax, ecx
                    ret
                start:
                    xor eax, eax
                    mov ebx, 100
                    mov esi, 30
                loop:
                    call f1
                    push esi
                    call f2
                    push 7
                    call f3
                    add esp, 4
                    mov edx, esi
                    and edx, 1
                    call [table + edx*4]
                    mov ecx, after
                    jmp ecx
                after:
                    push eax
                    pop edi
                    dec esi
                    jnz loop
                """ + EXIT);
    }

    @Test
    void incDecKeepCarryAcrossBlocks() {
        run("""
                    mov ecx, 50
                    xor eax, eax
                l1: stc
                    inc eax
                    jmp l2
                l2: adc eax, 0
                    clc
                    dec byte [counter]
                    jmp l3
                l3: adc eax, eax
                    and eax, 0xffff
                    dec ecx
                    jnz l1
                    jmp done
                counter: db 3
                done:
                """ + EXIT);
    }

    @Test
    void faultInTheMiddleOfABlockIsPrecise() {
        Pair p = new Pair("""
                    mov edx, 0x77
                    stc
                    mov ebx, 1
                    add ecx, 2
                    mov edx, [0x30004]
                    mov ebx, 2
                """ + EXIT, CodeCache.DEFAULT_LIMIT);
        p.ramA.unmap(0x30000);
        p.ramB.unmap(0x30000);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(100));
        assertEquals(14, p.a.exitVector());
        assertEquals(0x30004, p.a.faultAddress());
        assertEquals(1, p.a.reg(X86Cpu.EBX));
        assertEquals(2, p.a.reg(X86Cpu.ECX));
        assertEquals(CODE + 5 + 1 + 5 + 3, p.a.eip());
        assertEquals(0x77, p.a.reg(X86Cpu.EDX));
        assertTrue(p.tcg.stats().faultsReplayed() >= 1, p.tcg.stats().toString());
    }

    @Test
    void divideErrorInTheMiddleOfABlockIsPrecise() {
        Pair p = new Pair("""
                    mov eax, 100
                    xor edx, edx
                    mov ebx, 7
                    div ebx
                    add esi, eax
                    mov edx, 7
                    mov eax, 0x80000000
                    cmp eax, 1
                    div ebx
                    mov esi, 9
                """ + EXIT, CodeCache.DEFAULT_LIMIT);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(100));
        assertEquals(0, p.a.exitVector());
        assertEquals(14, p.a.reg(X86Cpu.ESI));
        assertEquals(CODE + 5 + 2 + 5 + 2 + 2 + 5 + 5 + 3, p.a.eip());
        assertTrue(p.tcg.stats().faultsReplayed() >= 1, p.tcg.stats().toString());
    }

    @Test
    void tlsAccessesThroughGsAndItsLimitFault() {
        Pair p = new Pair("""
                    mov dword [gs:0x14], 0x1234
                    mov eax, [gs:0x14]
                    add [gs:0x10], eax
                    mov ebx, [gs:0x10]
                    mov ecx, 0xffe
                    mov edx, [gs:ecx]
                    mov esi, 1
                """ + EXIT, CodeCache.DEFAULT_LIMIT);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(100));
        assertEquals(13, p.a.exitVector(), "#GP: beyond the GS limit");
        assertEquals(0x1234, p.a.reg(X86Cpu.EBX));
        assertEquals(0x1234, p.ramA.u32(TLS_BASE + 0x14));
        assertTrue(p.tcg.stats().faultsReplayed() >= 1, p.tcg.stats().toString());
    }

    @Test
    void faultingStoreOfReadModifyWriteLeavesFlagsAndMemory() {
        Pair p = new Pair("""
                    mov eax, 5
                    cmp eax, 9
                    add dword [0x30000], 1
                    mov eax, 7
                """ + EXIT, CodeCache.DEFAULT_LIMIT);
        p.ramA.protect(0x30000, Page.READ);
        p.ramB.protect(0x30000, Page.READ);
        assertEquals(X86Cpu.EXIT_EXCEPTION, p.lockstep(100));
        assertEquals(14, p.a.exitVector());
        assertEquals(5, p.a.reg(X86Cpu.EAX));
        assertEquals(1, p.a.eflags() & 1, "CF from CMP 5, 9 survives the fault");
    }

    @Test
    void hotThresholdDelaysTranslationUntilTheLoopIsHot() {
        Pair p = new Pair("""
                    mov ecx, 100
                l:  add eax, ecx
                    dec ecx
                    jnz l
                """ + EXIT, CodeCache.DEFAULT_LIMIT, 16);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(10_000));
        TcgStats s = p.tcg.stats();
        assertEquals(1, s.blocksTranslated(), s.toString());
        // The first 16 visits of the loop are interpreted (3 instructions each), the 17th translates it and
        // the block then loops on itself inside one execution.
        assertEquals(1, s.blocksExecuted(), s.toString());
        assertEquals(1 + 100 * 3 + 1, p.a.instructionCount()); // INT 0x80 exits before retiring
        assertEquals(1 + 16 * 3 + 2, s.interpreted(), s.toString());
    }

    /**
     * In user mode a block looping on itself comes back to {@code run}, where stop requests are seen (another
     * guest thread's munmap shootdown, a signal, exit_group), at least every 16 Ki instructions: before session
     * 12 one execution ran 1 Mi, and one execution was all this run made.
     */
    @Test
    void blockLoopingOnItselfReturnsToTheEngineOften() {
        Pair p = new Pair("""
                l:  inc eax
                    jmp l
                """, CodeCache.DEFAULT_LIMIT);
        assertEquals(X86Cpu.EXIT_BUDGET, p.tcg.run(1 << 20));
        TcgStats s = p.tcg.stats();
        assertEquals(1 << 20, p.a.instructionCount());
        assertTrue(s.blocksExecuted() >= (1 << 20) / (1 << 14), s.toString());
    }

    @Test
    void tinyCacheFlushesAndStillAgrees() {
        Pair p = new Pair("""
                    mov ecx, 40
                a:  inc eax
                    jmp b
                b:  add eax, ecx
                    jmp c
                c:  xor eax, 0x55
                    jmp d
                d:  dec ecx
                    jnz a
                """ + EXIT, 2);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(10_000));
        assertTrue(p.tcg.stats().flushes() > 0, p.tcg.stats().toString());
    }

    @Test
    void runMatchesInterpreterRunWithBudgets() {
        Pair p = new Pair("""
                    mov ecx, 1000
                l:  add eax, ecx
                    rol eax, 3
                    dec ecx
                    jnz l
                """ + EXIT, CodeCache.DEFAULT_LIMIT);
        int ra;
        int rb;
        do {
            ra = p.tcg.run(37);
            rb = p.b.run(37);
            assertEquals(rb, ra);
            p.compare("after a budget of 37");
        } while (ra == X86Cpu.EXIT_BUDGET);
        assertEquals(X86Cpu.EXIT_INTERRUPT, ra);
    }

    /**
     * Runs {@code tcg} (on CPU {@code a}) and the interpreter (on {@code b}) over the same program, one block of the
     * translator at a time, the interpreter to the same instruction count; after each step the exit, registers,
     * instructions retired and what {@code sameState} checks (memory, devices) agree; at the first exit other
     * than the budget, also its vector, error code and fault address. Returns that exit.
     */
    static int runInLockstep(Tcg tcg, X86Cpu a, X86Cpu b, int maxSteps, java.util.function.Consumer<String> sameState) {
        for (int step = 0; step < maxSteps; step++) {
            int ra = tcg.step(1000);
            long target = a.instructionCount();
            int rb = X86Cpu.EXIT_BUDGET;
            while (rb == X86Cpu.EXIT_BUDGET && b.instructionCount() < target) {
                rb = b.run(target - b.instructionCount());
            }
            if (ra != X86Cpu.EXIT_BUDGET && rb == X86Cpu.EXIT_BUDGET) {
                rb = b.run(1);
            }
            String where = "step " + step;
            assertEquals(rb, ra, where + ": exit");
            assertSameRegisters(b, a, where);
            assertEquals(b.instructionCount(), a.instructionCount(), where + ": instructions retired");
            sameState.accept(where);
            if (ra != X86Cpu.EXIT_BUDGET) {
                assertEquals(b.exitVector(), a.exitVector(), where + ": vector");
                assertEquals(b.exitErrorCode(), a.exitErrorCode(), where + ": error code");
                assertEquals(b.faultAddress(), a.faultAddress(), where + ": fault address");
                return ra;
            }
        }
        fail("the program did not finish in " + maxSteps + " steps");
        return -1;
    }

    /** The general registers, EIP and EFLAGS of {@code actual} equal {@code expected}'s (hex in messages). */
    static void assertSameRegisters(X86Cpu expected, X86Cpu actual, String where) {
        for (int r = 0; r < 8; r++) {
            assertEquals(Long.toHexString(expected.reg(r)), Long.toHexString(actual.reg(r)), where + ": register " + r
                    + " at EIP " + Long.toHexString(expected.eip()));
        }
        assertEquals(Long.toHexString(expected.eip()), Long.toHexString(actual.eip()), where + ": EIP");
        assertEquals(Integer.toHexString(expected.eflags()), Integer.toHexString(actual.eflags()),
                where + ": EFLAGS at EIP " + Long.toHexString(expected.eip()));
    }
}
