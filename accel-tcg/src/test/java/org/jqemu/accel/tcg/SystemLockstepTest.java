package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.InterruptSource;
import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The translator in system mode against the interpreter: a small protected-mode kernel with paging runs
 * on two CPUs (two copies of physical memory), one through {@link Tcg} block by block, the other through
 * {@link X86Cpu#run}; registers, EIP, EFLAGS, CR2/CR3, the instruction count and all of memory must agree
 * at every block boundary. The guest exercises what translated blocks assume in system mode: the same
 * linear address holding different code under two CR3 values, code patched through a second virtual
 * mapping of its page, a PTE changed and dropped with INVLPG, #PF in the middle of a block (demand
 * mapping by the handler, then retried), user code at CPL 3 touching a supervisor page the kernel just
 * used (the fault must come from the CPL 3 TLB set), and an interrupt-driven HLT loop. The final sums
 * are also checked against values worked out from the program's text (the SDM's semantics).
 */
class SystemLockstepTest {
    private static final int RAM = 2 << 20;
    private static final int ITERATIONS = 64;
    private static final int TIMER_VECTOR = 0x20;
    /** Debugging aid: one line per step on stderr. */
    private static final boolean TRACE = false;

    private static final String PROGRAM = """
            bits 16
            org 0x1000
            pd_a equ 0x10000
            pt0 equ 0x11000
            pt_a2 equ 0x12000
            pd_b equ 0x14000
            pt_b2 equ 0x15000
            idt equ 0x20000
            tss equ 0x21000
            fn_a equ 0x30000        ; code at linear 0x800000 under pd_a
            fn_a1 equ 0x31000       ; linear 0x801000 under pd_a (one of two)
            fn_b equ 0x32000        ; linear 0x800000 under pd_b
            fn_a1_alt equ 0x33000   ; the other page for linear 0x801000
            user_code equ 0x40000
            user_data equ 0x41000
            sum equ 0x500
            ticks equ 0x504
            faults equ 0x508
            user_faults equ 0x50c
            """ + Nasm.PROTECTED_MODE_ENTRY + """
              mov dword [tss + 4], 0x8000   ; ring-0 stack for interrupts from CPL 3
              mov dword [tss + 8], 0x10
              mov word [tss + 0x66], 0x68
              mov ax, 0x28
              ltr ax
              ; the IDT: #PF (14), the timer (0x20), the user's exit (0x80, DPL 3)
              mov eax, pf_handler
              mov ebx, 14
              mov dx, 0x8e00
              call set_gate
              mov eax, timer_handler
              mov ebx, 0x20
              call set_gate
              mov eax, user_exit
              mov ebx, 0x80
              mov dx, 0xee00
              call set_gate
              ; pt0 maps the first 4 MiB identically, user read/write, but user_data is supervisor-only
              xor ecx, ecx
            .pt0:
              mov eax, ecx
              shl eax, 12
              or eax, 7
              mov [pt0 + ecx*4], eax
              inc ecx
              cmp ecx, 1024
              jne .pt0
              mov dword [pt0 + (user_data >> 12) * 4], user_data | 3
              ; pd_a: 0-4 MiB and its alias at 4-8 MiB both through pt0; 8 MiB through pt_a2
              mov dword [pd_a], pt0 | 7
              mov dword [pd_a + 4], pt0 | 7
              mov dword [pd_a + 8], pt_a2 | 7
              mov dword [pt_a2], fn_a | 7
              mov dword [pt_a2 + 4], fn_a1 | 7
              mov dword [pd_b], pt0 | 7
              mov dword [pd_b + 4], pt0 | 7
              mov dword [pd_b + 8], pt_b2 | 7
              mov dword [pt_b2], fn_b | 7
              ; the functions: mov eax, imm32; ret
              mov dword [fn_a], 0x000011b8
              mov dword [fn_a + 4], 0x0000c300
              mov dword [fn_b], 0x000022b8
              mov dword [fn_b + 4], 0x0000c300
              mov dword [fn_a1], 0x000033b8
              mov dword [fn_a1 + 4], 0x0000c300
              mov dword [fn_a1_alt], 0x000044b8
              mov dword [fn_a1_alt + 4], 0x0000c300
              ; the user program
              mov esi, user_program
              mov edi, user_code
              mov ecx, user_program_end - user_program
              rep movsb
              mov eax, pd_a
              mov cr3, eax
              mov eax, cr0
              or eax, 0x80010000            ; PG and WP
              mov cr0, eax
              sti
              xor ebp, ebp
            main_loop:
              ; the same linear address under two page directories
              mov eax, pd_b
              mov cr3, eax
              call 0x800000
              add [sum], eax
              mov eax, pd_a
              mov cr3, eax
              call 0x800000
              add [sum], eax
              ; patch the function's immediate through its alias at 4 MiB + fn_a, then run it
              lea eax, [ebp + 0x100]
              mov [0x400000 + fn_a + 1], eax
              call 0x800000
              add [sum], eax
              ; flip linear 0x801000 between two pages with INVLPG
              xor dword [pt_a2 + 4], fn_a1 ^ fn_a1_alt
              invlpg [0x801000]
              call 0x801000
              add [sum], eax
              ; demand mapping: pd_a[3] is absent, the handler maps it; the load then reads fn_b's page
              mov dword [pd_a + 12], 0
              mov eax, cr3
              mov cr3, eax
              mov ebx, ebp
              add ebx, 3
              mov eax, [0xc00000]
              add eax, ebx
              add [sum], eax
              ; wait for the timer every fourth iteration
              test ebp, 3
              jnz .no_wait
              hlt
            .no_wait:
              inc ebp
              cmp ebp, ITERATIONS
              jne main_loop
              ; the kernel reads user_data (a supervisor TLB entry), then user code at CPL 3 reads it
              mov eax, [user_data]
              push 0x23
              push 0x7000
              pushfd
              push 0x1b
              push user_code
              iret
            user_exit:
              mov ax, 0x10
              mov ds, ax
              mov es, ax
              cli
              hlt
            set_gate:
              mov word [idt + ebx*8], ax
              mov word [idt + ebx*8 + 2], 0x08
              mov word [idt + ebx*8 + 4], dx
              shr eax, 16
              mov word [idt + ebx*8 + 6], ax
              ret
            pf_handler:
              push eax
              push ds                         ; DS is null when the fault comes from CPL 3
              mov ax, 0x10
              mov ds, ax
              mov eax, cr2
              cmp eax, user_data
              je .user
              inc dword [faults]
              mov dword [pd_a + 12], pt_b2 | 7
              jmp .done
            .user:
              inc dword [user_faults]
              mov eax, [esp + 8]              ; the error code: present, read, user
              mov [user_faults + 4], eax
              mov dword [pt0 + (user_data >> 12) * 4], user_data | 7
              invlpg [user_data]
            .done:
              pop ds
              pop eax
              add esp, 4
              iret
            timer_handler:
              inc dword [ticks]
              iret
            user_program:
              mov ax, 0x23
              mov ds, ax
              mov es, ax
              mov ecx, 100
              xor edx, edx
            .u:
              add edx, [user_data]
              add edx, ecx
              dec ecx
              jnz .u
              mov [user_data + 4], edx
              int 0x80
            user_program_end:
            align 8
            gdt:
              dq 0
              dq 0x00cf9a000000ffff      ; 0x08 ring-0 code
              dq 0x00cf92000000ffff      ; 0x10 ring-0 data
              dq 0x00cffa000000ffff      ; 0x18 ring-3 code
              dq 0x00cff2000000ffff      ; 0x20 ring-3 data
              dw 0x0067, 0x1000, 0x8902, 0x0000   ; 0x28 TSS at 0x21000
            gdt_end:
            gdtr:
              dw gdt_end - gdt - 1
              dd gdt
            idtr:
              dw 256 * 8 - 1
              dd idt
            """;

    /** Loads the program into both RAMs and starts both CPUs at it, each with its own timer line. */
    private void startBoth(byte[] code) {
        for (TestRam ram : new TestRam[] {ramA, ramB}) {
            ram.load(0x1000, code);
        }
        a.setInterruptSource(lineA);
        b.setInterruptSource(lineB);
        for (X86Cpu cpu : new X86Cpu[] {a, b}) {
            cpu.loadSegmentRegister(X86Cpu.CS, 0);
            cpu.setEip(0x1000);
        }
    }

    /** The kernel's set-up, then STI and an endless counting loop in ECX; the timer's handler halts with IF clear. */
    private static byte[] spinUntilTheTimer() {
        return Nasm.assemble("ITERATIONS equ 1\n" + spinUntilTheTimerSource());
    }

    private static String spinUntilTheTimerSource() {
        String program = PROGRAM.replace("  sti\n  xor ebp, ebp\n", """
                  mov ecx, 0
                  sti
                spin:
                  inc ecx
                  jmp spin
                  xor ebp, ebp
                """).replace("timer_handler:\n  inc dword [ticks]\n  iret\n", """
                timer_handler:
                  inc dword [ticks]
                  cli
                  hlt
                  ; the end
                """);
        assertTrue(program.contains("spin:") && program.contains("  cli\n  hlt\n  ; the end"), program);
        return program;
    }

    /** An interrupt line the test raises while both CPUs stand at the same instruction boundary. */
    private static final class TimerLine implements InterruptSource {
        boolean pending;

        @Override public boolean interruptPending() { return pending; }

        @Override public int acknowledgeInterrupt() {
            pending = false;
            return TIMER_VECTOR;
        }
    }

    private final TestRam ramA = new TestRam(RAM, Page.RWX);
    private final TestRam ramB = new TestRam(RAM, Page.RWX);
    private final X86Cpu a = new X86Cpu(ramA, IoPorts.NONE);
    private final X86Cpu b = new X86Cpu(ramB, IoPorts.NONE);
    private final TimerLine lineA = new TimerLine();
    private final TimerLine lineB = new TimerLine();

    /**
     * An engine for CPU A whose blocks reach RAM through {@code path} (the flat page table's entries must follow
     * the CR3 loads, INVLPG, the CPL 3 TLB set and the page that gets code, as the TLB's do).
     */
    private Tcg engine(BlockCompiler.TlbPath path) {
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(path);
        try {
            assertEquals(path, BlockCompiler.tlbPath(), "the test JVM exports jdk.internal.misc (surefire argLine)");
            return new Tcg(a, CodeCache.DEFAULT_LIMIT, 0);
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    /**
     * Region threshold 0: blocks only; 3: loops of the kernel and of the user program run as regions; with the
     * MMU call (system mode's default), the raw TLB probe and the flat page table.
     */
    @ParameterizedTest
    @CsvSource({"0, CALL", "3, CALL", "0, UNSAFE", "0, FLAT", "3, FLAT", "3, FLAT_REGIONS"})
    void pagedKernelRunsTheSameUnderTranslatorAndInterpreter(int regionThreshold, BlockCompiler.TlbPath path) {
        byte[] code = Nasm.assemble("ITERATIONS equ " + ITERATIONS + "\n" + PROGRAM);
        startBoth(code);
        Tcg tcg = engine(path);
        tcg.setRegionThreshold(regionThreshold);
        int halts = lockstep(tcg, 400_000);

        // Worked out from the program: per iteration 0x22 (pd_b) + fn_a's value before patching (0x11, then
        // the previous iteration's patch) + (i + 0x100) (patched) + 0x44/0x33 alternating (the first flip
        // maps fn_a1_alt) + (the first dword of fn_b, 0x000022b8) + i + 3.
        long expected = 0;
        for (int i = 0; i < ITERATIONS; i++) {
            int before = i == 0 ? 0x11 : i - 1 + 0x100;
            expected += 0x22 + before + (i + 0x100) + (i % 2 == 0 ? 0x44 : 0x33) + 0x22b8 + i + 3;
        }
        assertEquals(expected & 0xffff_ffffL, ramA.u32(0x500) & 0xffff_ffffL, "sum");
        assertEquals(ITERATIONS, ramA.u32(0x508), "#PF for the demand mapping, one per iteration");
        assertEquals(ITERATIONS / 4, ramA.u32(0x504), "timer interrupts taken");
        assertEquals(ITERATIONS / 4 + 1, halts, "HLTs: one per four iterations and the final one");
        assertEquals(1, ramA.u32(0x50c), "the CPL 3 read of the supervisor page faulted once");
        assertEquals(5, ramA.u32(0x510), "its error code: present, read, user");
        assertEquals(100 * 0 + 5050, ramA.u32(0x41004), "the user loop's sum (user_data's first dword is 0)");
        assertTrue(tcg.stats().blocksExecuted() > 100, "blocks ran: " + tcg.stats());
        assertTrue(tcg.stats().invalidations() >= ITERATIONS, "the patched function was invalidated: " + tcg.stats());
        assertTrue(tcg.stats().faultsReplayed() >= ITERATIONS, "the #PF in a block was replayed: " + tcg.stats());
        assertEquals(regionThreshold > 0, tcg.stats().regionsBuilt() > 0, "regions: " + tcg.stats());
    }

    /**
     * With CR4.PGE and the G bit on the identity-mapped first 4 MiB (the kernel's code), the kernel's blocks
     * survive its CR3 loads without being checked again, while the functions at 0x800000 (not global, a
     * different page under each directory) still are: same results as the interpreter, fewer revalidations.
     */
    @Test
    void globalPagesKeepTheirBlocksAcrossCr3Loads() {
        // (without the INVLPG flip: its checks are invlpgAmongNonGlobalCodeLeavesTheGlobalBlocksUnchecked's)
        String flip = "  xor dword [pt_a2 + 4], fn_a1 ^ fn_a1_alt\n  invlpg [0x801000]\n  call 0x801000\n  add [sum], eax\n";
        // Three CR3 loads per iteration; only the calls of 0x800000 (not global) are checked again after
        // them (the main loop alone is about ten blocks, each checked again after every load without G).
        long revalidations = revalidationsInLockstep(withGlobalKernel(flip, ""));
        assertTrue(revalidations <= 4L * ITERATIONS, "revalidations: " + revalidations);
    }

    /**
     * Runs {@code program} in lockstep with blocks translated at once, checks its demand-mapping faults and that
     * the functions at 0x800000 were checked again at least once per iteration; returns the revalidations.
     */
    private long revalidationsInLockstep(String program) {
        startBoth(Nasm.assemble("ITERATIONS equ " + ITERATIONS + "\n" + program));
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, 0);
        lockstep(tcg, 400_000);
        assertEquals(ITERATIONS, ramA.u32(0x508), "#PF for the demand mapping, one per iteration");
        long revalidations = tcg.stats().revalidations();
        assertTrue(revalidations >= ITERATIONS, "the functions were checked: " + tcg.stats());
        return revalidations;
    }

    /**
     * {@link #PROGRAM} with CR4.PGE set and G on the identity-mapped first 4 MiB (the kernel's code), as Linux maps
     * its own pages; {@code more} edits it further (pairs of text and replacement).
     */
    private static String withGlobalKernel(String... more) {
        String program = PROGRAM
                .replace("  or eax, 7\n  mov [pt0 + ecx*4], eax\n", "  or eax, 0x107\n  mov [pt0 + ecx*4], eax\n")
                .replace("  mov eax, pd_a\n  mov cr3, eax\n  mov eax, cr0\n",
                        "  mov eax, cr4\n  or eax, 0x80\n  mov cr4, eax\n  mov eax, pd_a\n  mov cr3, eax\n  mov eax, cr0\n");
        for (int k = 0; k < more.length; k += 2) {
            assertTrue(program.contains(more[k]), "the program has " + more[k]);
            program = program.replace(more[k], more[k + 1]);
        }
        assertTrue(program.contains("or eax, 0x107") && program.contains("or eax, 0x80\n  mov cr4"), "the edits applied");
        return program;
    }

    /**
     * The INVLPG of 0x801000 (not global), in a 4 MiB area holding only non-global code (the functions at
     * 0x800000 and 0x801000), checks only the non-global blocks again, as a CR3 load does: the kernel's blocks
     * on global pages keep running unchecked (a Linux process's COW and unmap INVLPGs made every kernel block
     * take a page walk). Same results as the interpreter.
     */
    @Test
    void invlpgAmongNonGlobalCodeLeavesTheGlobalBlocksUnchecked() {
        // Per iteration three CR3 loads and one INVLPG, after each of which only a call of the functions
        // checks a block again (the main loop alone is about ten blocks, each checked again after an INVLPG
        // that reaches every block).
        long revalidations = revalidationsInLockstep(withGlobalKernel());
        assertTrue(revalidations <= 5L * ITERATIONS, "revalidations: " + revalidations);
    }

    /**
     * The flipped page at 0x801000 mapped global: its block is global too, and the INVLPG that flips it must
     * still send it through a check (every block of its area then checks again): same results as the interpreter.
     */
    @Test
    void invlpgOfAGlobalCodePageRetranslatesIt() {
        String program = withGlobalKernel("  mov dword [pt_a2 + 4], fn_a1 | 7\n", "  mov dword [pt_a2 + 4], fn_a1 | 0x107\n");
        startBoth(Nasm.assemble("ITERATIONS equ " + ITERATIONS + "\n" + program));
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, 0);
        lockstep(tcg, 400_000);
        long expected = 0;
        for (int i = 0; i < ITERATIONS; i++) { // as pagedKernelRunsTheSameUnderTranslatorAndInterpreter's
            int before = i == 0 ? 0x11 : i - 1 + 0x100;
            expected += 0x22 + before + (i + 0x100) + (i % 2 == 0 ? 0x44 : 0x33) + 0x22b8 + i + 3;
        }
        assertEquals(expected & 0xffff_ffffL, ramA.u32(0x500) & 0xffff_ffffL, "sum");
    }

    /**
     * INVLPG alone must drop the block at the flipped page: here the page is flipped and called twice
     * with no CR3 write in between (blocks are only checked again after an INVLPG near their code). Each flip
     * is followed by a data read of the page (on the flat page table: its entry must go with the INVLPG too).
     */
    @Test
    void invlpgWithoutACr3WriteRetranslatesTheFlippedPage() {
        String flip = "  xor dword [pt_a2 + 4], fn_a1 ^ fn_a1_alt\n  invlpg [0x801000]\n  call 0x801000\n  add [sum], eax\n";
        String flipAndRead = flip + "  mov eax, [0x801000]\n  add [0x520], eax\n";
        String program = PROGRAM.replace(flip, flipAndRead + flipAndRead);
        assertTrue(program.length() > PROGRAM.length(), "the program has the flip to double");
        startBoth(Nasm.assemble("ITERATIONS equ " + ITERATIONS + "\n" + program));
        Tcg tcg = engine(BlockCompiler.TlbPath.FLAT);
        lockstep(tcg, 400_000);
        long expected = 0;
        for (int i = 0; i < ITERATIONS; i++) { // as above, with both functions of the flipped page each time
            int before = i == 0 ? 0x11 : i - 1 + 0x100;
            expected += 0x22 + before + (i + 0x100) + 0x44 + 0x33 + 0x22b8 + i + 3;
        }
        assertEquals(expected & 0xffff_ffffL, ramA.u32(0x500) & 0xffff_ffffL, "sum");
        assertEquals(ITERATIONS * (0x44b8 + 0x33b8), ramA.u32(0x520), "the flipped page's first dword, read after each flip");
    }

    /**
     * The same kernel through {@link Tcg#run}, which chains linked blocks without returning between them
     * (across the CR3 switches, the patched code and the INVLPG of the program): at every run's end the
     * state must be the interpreter's after as many instructions. Budgets that are not multiples of the
     * blocks' lengths make runs end inside chains.
     */
    @ParameterizedTest
    @CsvSource({"0, CALL", "3, CALL", "3, FLAT"})
    void chainedRunsAgreeWithTheInterpreterAcrossCodeChangesAndTlbFlushes(int regionThreshold, BlockCompiler.TlbPath path) {
        startBoth(Nasm.assemble("ITERATIONS equ " + ITERATIONS + "\n" + PROGRAM));
        Tcg tcg = engine(path);
        tcg.setRegionThreshold(regionThreshold);
        int halts = 0;
        for (int run = 0; run < 100_000; run++) {
            int ra = tcg.run(997 + run % 7);
            int rb = X86Cpu.EXIT_BUDGET;
            while (rb == X86Cpu.EXIT_BUDGET && b.instructionCount() < a.instructionCount()) {
                rb = b.run(a.instructionCount() - b.instructionCount());
            }
            if (ra != X86Cpu.EXIT_BUDGET && rb == X86Cpu.EXIT_BUDGET) {
                rb = b.run(1); // A's run ended at an exit that retires nothing (HLT)
            }
            assertEquals(ra, rb, "exit code after run " + run + ", EIP " + Long.toHexString(a.eip()));
            compare("run " + run);
            if (ra == X86Cpu.EXIT_HALT) {
                halts++;
                if ((a.eflags() & 0x200) == 0) {
                    break;
                }
                lineA.pending = true;
                lineB.pending = true;
            }
        }
        assertEquals(ITERATIONS / 4 + 1, halts, "HLTs: one per four iterations and the final one");
        assertEquals(ITERATIONS, ramA.u32(0x508), "#PF for the demand mapping, one per iteration");
        assertTrue(tcg.stats().chained() > 0, "blocks ran chained: " + tcg.stats());
        assertTrue(tcg.stats().invalidations() >= ITERATIONS, "the patched function was invalidated: " + tcg.stats());
    }

    /**
     * An interrupt that becomes pending while blocks run chained (as when a block's MMIO store raises a
     * device's line) is taken within {@link Tcg#CHAIN_INSTRUCTIONS} instructions plus one block, not at the
     * end of {@code run}'s budget.
     */
    @Test
    void interruptPendingDuringChainedBlocksIsTakenWithinTheChainBound() {
        // A loop of three blocks (so that they chain rather than loop inside one block).
        byte[] code = Nasm.assemble("ITERATIONS equ 1\n" + spinUntilTheTimerSource().replace(
                "spin:\n  inc ecx\n  jmp spin\n", "spin:\n  inc ecx\n  test ecx, 1\n  jz even\n  inc edx\neven:\n  jmp spin\n"));
        ramA.load(0x1000, code);
        long raiseAt = 200_000;
        a.setInterruptSource(new InterruptSource() {
            @Override public boolean interruptPending() { return a.instructionCount() >= raiseAt; }

            @Override public int acknowledgeInterrupt() { return TIMER_VECTOR; }
        });
        a.loadSegmentRegister(X86Cpu.CS, 0);
        a.setEip(0x1000);
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_HALT, tcg.run(10_000_000));
        assertEquals(1, ramA.u32(0x504), "the interrupt was taken");
        long late = a.instructionCount() - raiseAt;
        assertTrue(late <= Tcg.CHAIN_INSTRUCTIONS + CodeCache.MAX_BLOCK_INSTRUCTIONS + 8, "taken " + late + " instructions late");
        assertTrue(a.reg(X86Cpu.EDX) > 10_000, "the loop ran: " + a.reg(X86Cpu.EDX));
        assertTrue(tcg.stats().chained() > 10_000, "blocks ran chained: " + tcg.stats());
    }

    @Test
    void interruptRaisedDuringALoopIsTakenAtABlockBoundary() {
        byte[] code = spinUntilTheTimer();
        ramA.load(0x1000, code);
        a.setInterruptSource(lineA);
        a.loadSegmentRegister(X86Cpu.CS, 0);
        a.setEip(0x1000);
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_BUDGET, tcg.run(100_000));
        assertEquals(0, ramA.u32(0x504), "no interrupt yet");
        assertTrue(a.reg(X86Cpu.ECX) > 10_000, "the loop ran: " + a.reg(X86Cpu.ECX));
        lineA.pending = true;
        assertEquals(X86Cpu.EXIT_HALT, tcg.run(100_000));
        assertEquals(1, ramA.u32(0x504), "the interrupt was taken");
        assertTrue(tcg.stats().blocksExecuted() > 0, tcg.stats().toString());
    }

    /**
     * STI's one-instruction interrupt shadow (run by the interpreter) must not outlive the instruction after
     * it when translated blocks follow: an interrupt raised later is taken at the very next boundary, as
     * the interpreter alone takes it. Two budgets, so that the first run ends both after a translated block
     * and after an interpreted instruction.
     */
    @ParameterizedTest
    @ValueSource(ints = {100_000, 100_001})
    void interruptShadowEndsAfterOneInstructionUnderTheTranslator(int budget) {
        byte[] code = spinUntilTheTimer();
        startBoth(code);
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_BUDGET, tcg.run(budget));
        assertEquals(X86Cpu.EXIT_BUDGET, b.run(budget));
        lineA.pending = true;
        lineB.pending = true;
        assertEquals(X86Cpu.EXIT_HALT, tcg.run(1000));
        assertEquals(X86Cpu.EXIT_HALT, b.run(1000));
        assertEquals(1, ramA.u32(0x504), "the interrupt was taken");
        assertEquals(b.instructionCount(), a.instructionCount(), "instructions retired before the interrupt");
        assertEquals(b.reg(X86Cpu.ECX), a.reg(X86Cpu.ECX), "loop count when the interrupt came");
    }

    /**
     * Steps A one block, B the same instruction count, compares; a HLT with IF set raises the timer on
     * both; a HLT with IF clear ends. Returns the number of HLTs.
     */
    private int lockstep(Tcg tcg, int maxSteps) {
        int halts = 0;
        for (int step = 0; step < maxSteps; step++) {
            long eipBefore = a.eip();
            int ra = tcg.step(1000);
            if (TRACE) {
                System.err.printf("step %d: %x -> %x (%d instructions), CR3 %x%n", step, eipBefore, a.eip(),
                        a.instructionCount(), a.cr(3));
            }
            long target = a.instructionCount();
            int rb = X86Cpu.EXIT_BUDGET;
            while (rb == X86Cpu.EXIT_BUDGET && b.instructionCount() < target) {
                rb = b.run(target - b.instructionCount());
            }
            if (ra != X86Cpu.EXIT_BUDGET && rb == X86Cpu.EXIT_BUDGET || ra == rb && a.eip() != b.eip()) {
                rb = b.run(1); // A's step ended with a fault delivered or an exit: no instruction retired
            }
            assertEquals(ra, rb, "exit code at step " + step + ", EIP " + Long.toHexString(a.eip()));
            compare("step " + step);
            if (ra == X86Cpu.EXIT_HALT) {
                halts++;
                if ((a.eflags() & 0x200) == 0) {
                    return halts;
                }
                lineA.pending = true;
                lineB.pending = true;
            } else if (ra != X86Cpu.EXIT_BUDGET) {
                fail("unexpected exit " + ra + " at EIP " + Long.toHexString(a.eip()));
            }
        }
        fail("the program did not finish in " + maxSteps + " steps");
        return -1;
    }

    private void compare(String where) {
        LockstepTest.assertSameRegisters(b, a, where);
        assertEquals(b.cpl(), a.cpl(), where + ": CPL");
        assertEquals(b.cr(2), a.cr(2), where + ": CR2");
        assertEquals(b.cr(3), a.cr(3), where + ": CR3");
        assertEquals(b.instructionCount(), a.instructionCount(), where + ": instructions retired");
        long diff = ramA.ram.mismatch(ramB.ram);
        assertEquals(-1L, diff, where + ": memory differs at " + Long.toHexString(diff));
    }
}
