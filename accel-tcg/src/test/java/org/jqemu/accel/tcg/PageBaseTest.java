package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Page bases (see {@link PageBases}) on both flat paths, in lockstep with the interpreter: a member's accesses
 * through a register keep its page's entry in a local, and must still reach exactly the bytes the interpreter's
 * do when the register moves by PUSH and POP (the base follows), is assigned in the middle of the block (later
 * accesses must not use the old page's base), its window crosses a page's end (into a page whose RAM is not the
 * next), sits on a page holding code (the stores must reach the code watcher: the program patches an immediate it
 * then runs), on a read-only page (the final store through the window must fault, #PF) or on an MMIO page; and
 * windows on both sides of 2^31 (addresses negative as ints, which the flat path sign-extends).
 */
class PageBaseTest {
    private static final long RAM_SIZE = 0x40000, CODE = 0x1000;
    private static final long MMIO_PAGE = 0x30000, ROM_PAGE = 0x31000;
    /**
     * Linear pages whose RAM is elsewhere (at 0x2a000, 0x2b000, 0x2c000), so that a host address computed from the
     * wrong page's base lands on other bytes: where EBP's window crosses, and where ESP and EBX move to.
     */
    private static final long[] FAR_PAGES = {0x22000, 0x1f000, 0x24000};
    private static final long FAR_RAM = 0x2a000;
    private static final int PAGE_FAULT = 14;
    /** ESP's and EBP's page base locals in generated code: BlockCompiler's PAGE_BASE0 (54) + 2 * register. */
    private static final int ESP_BASE_SLOT = 62, EBP_BASE_SLOT = 64;

    private static final String PROGRAM = """
            bits 32
            org 0x1000
              mov esp, 0x20f00          ; the stack's window stays in page 0x20000
              mov ebp, 0x21ff8          ; EBP's window crosses into page 0x22000 (RAM at 0x2a000)
              mov ebx, 0x23000
              mov esi, 0x31000          ; read-only page
              mov edi, 0x30000          ; MMIO page
              mov ecx, 300
            again:
              mov eax, [esp+4]          ; ESP's window
              add eax, ecx
              mov [esp+8], eax
              add [esp+12], eax
              push eax                  ; ESP moves by a constant: its base follows
              push ecx
              mov edx, [esp+8]          ; the value pushed first
              add edx, [esp+20]
              pop eax
              pop eax
              mov [esp+0x20], edx
              sub esp, 0x1000           ; ESP assigned: page 0x1f000 now (RAM at 0x2b000)
              mov [esp+4], ecx
              add [esp+8], ecx
              mov eax, [esp+12]
              add esp, 0x1000
              mov [esp+16], eax
              mov eax, [ebp]            ; EBP's window crosses the page's end
              add [ebp+4], eax
              add eax, [ebp+8]
              mov [ebp+12], eax
              jmp second
            second:
              mov eax, [ebx+4]          ; EBX's window, then EBX assigned in the middle of the block
              add [ebx+8], eax
              mov [ebx+12], ecx
              add ebx, 0x1000           ; page 0x24000 (RAM at 0x2c000)
              mov [ebx+4], ecx
              add [ebx+8], ecx
              mov eax, [ebx+12]
              sub ebx, 0x1000
              mov [ebx+16], eax
              mov eax, [esi]            ; read-only page: read entries only
              add eax, [esi+4]
              add eax, [esi+8]
              mov [esp+24], eax
              mov [edi+4], ecx          ; MMIO
              add [edi+8], ecx
              mov eax, [edi+4]
              add [edi+12], eax
              mov edx, patch
              mov eax, [edx+1]          ; a window on a page holding code: patches the immediate it then runs
              add eax, [edx+5]
              mov [edx+1], eax
              call patch
              add [esp+28], eax
              mov esp, 0x2000c
              jmp third
            third:
              mov eax, [esp]            ; pushes move ESP below its page: its window covers them, so no base
              add eax, [esp+4]
              push eax
              push ecx
              push edx
              push eax                  ; 0x1fffc (RAM at 0x2bffc)
              mov [esp], ecx
              mov eax, [esp+4]
              add esp, 16
              mov esp, 0x20f00
              dec ecx
              jnz again
              mov eax, [esi]
              add eax, [esi+4]
              mov [esi+8], eax          ; store to the read-only page through its window: #PF
              hlt
              times 0x4000 - ($ - $$) db 0
            patch:
              mov eax, 0
              ret
              dd 7
            """;

    /**
     * Windows at both ends of a sign change: EBP's in the address space's top page (negative as an int: the flat path
     * sign-extends addresses, and an access through a base must reach the same host byte), EBX's in the page below
     * 2^31; both reached through negative and positive displacements.
     */
    private static final String HIGH_PROGRAM = """
            bits 32
            org 0x1000
              mov ebp, 0xfffffff0
              mov ebx, 0x7ffffff8
              mov ecx, 300
            again:
              mov eax, [ebp-8]
              add eax, ecx
              mov [ebp+4], eax
              add [ebp+8], eax
              add eax, [ebp-16]
              mov [ebx], eax
              add [ebx+4], eax
              mov edx, [ebx-8]
              add [ebp+12], edx
              dec ecx
              jnz again
              hlt
            """;
    /**
     * A loop of five blocks made one region, no block with three accesses through one register (so no member has
     * a base of its own): the region's bases are loaded once at its entry for the registers no member assigns.
     * EBP's window crosses a page's end into RAM that is not the next, ESI's page is read-only and EDX's page comes
     * to hold code (the loop patches the immediate of a block it jumps to now and then): no base can be made for
     * them, so the region refuses to run and its head's own block runs instead. EBX is assigned in one member.
     */
    private static final String REGION_PROGRAM = """
            bits 32
            org 0x1000
              mov esp, 0x20f00
              mov ebp, 0x21ff8          ; EBP's window crosses into page 0x22000 (RAM at 0x2a000)
              mov ebx, 0x23000
              mov edx, outside          ; page 0x3000: code once outside has run
              mov esi, 0x31000          ; read-only page
              xor edi, edi
              mov ecx, 300
            again:
              mov eax, [esp+4]
              add [esp+8], eax
              jmp second
            second:
              add eax, [ebx+4]
              mov [ebx+8], eax
              mov eax, [ebp]
              add [ebp+4], eax
              jmp third
            third:
              add eax, [ebp+8]
              mov [esp+12], eax
              add eax, [esi]
              add eax, [esi+4]
              jmp fourth
            fourth:
              add eax, [ebx+12]
              mov [edx+1], ecx          ; outside's immediate
              add eax, [edx+1]
              jmp fifth
            fifth:
              add eax, [edx+5]
              add eax, [esi+8]
              add ebx, 0x1000           ; EBX assigned: page 0x24000 (RAM at 0x2c000)
              mov [ebx+4], ecx
              sub ebx, 0x1000
              add edi, eax
              test ecx, 63
              jz outside
            back:
              dec ecx
              jnz again
              mov eax, [esi]
              mov [esi+8], eax          ; store to the read-only page: #PF
              hlt
              times 0x2000 - ($ - $$) db 0
            outside:
              mov eax, 0
              add edi, eax
              jmp back
            """;
    /**
     * A region whose head has a base of its own for ESI, which moves by 0x7ff each iteration: its window crosses
     * into the next page of RAM (a base serves both), then into a page whose RAM is elsewhere, reaches the MMIO page
     * and last the read-only page, where the store faults. Where no base can be made the region leaves at the
     * member's start and the member runs as its own block, with the ordinary path. (The pages are written once
     * first, so that the region's runs find their entries and run.)
     */
    private static final String MEMBER_BASES_PROGRAM = """
            bits 32
            org 0x1000
              mov edi, 0x10000
              mov ecx, 0x20
            touch:                      ; every page up to the MMIO page read and written once: entries filled
              add [edi], ecx
              add edi, 0x1000
              dec ecx
              jnz touch
              mov esi, 0x10013
            again:
              mov eax, [esi]
              add eax, [esi+4]
              mov [esi+8], eax
              jmp next
            next:
              add esi, 0x7ff
              inc ecx
              jmp again
            """;
    /** ESI's page base local: PAGE_BASE0 + 2 * ESI. */
    private static final int ESI_BASE_SLOT = 66;

    /** EDX's page base local: PAGE_BASE0 + 2 * EDX. */
    private static final int EDX_BASE_SLOT = 58;

    /**
     * A loop of three blocks made one region whose bases can always be made: ESP's window crosses into the next page
     * of RAM (one base serves both), EBX is assigned in one member, so its accesses must not use a base of the
     * region's entry.
     */
    /**
     * A loop of one block: ESP's window (no instruction assigns ESP) and ESI, which walks through a page, so its own
     * base is made again at every iteration.
     */
    private static final String ONE_BLOCK_LOOP = """
            bits 32
            org 0x1000
              mov esp, 0x20f00
              mov esi, 0x23000
              mov ecx, 500
            again:
              mov eax, [esp+4]
              add eax, [esi]
              mov [esp+4], eax
              add [esp+8], ecx
              mov [esi+4], eax
              add [esi+8], ecx
              add esi, 8
              dec ecx
              jnz again
              hlt
            """;

    /**
     * A function's frame made and dropped by SUB and ADD of constants to ESP (ESP's accesses keep their base, shifted),
     * then ESP assigned from EBP, 0x100 lower, and moved by an ADD: the store after it must not use the old base.
     */
    private static final String FRAME_PROGRAM = """
            bits 32
            org 0x1000
              mov esp, 0x20f00
              mov ecx, 300
            again:
              push ebx
              push esi
              sub esp, 0x10
              mov [esp+4], ecx
              mov eax, [esp+4]
              add [esp+8], eax
              add esp, 0x10
              pop esi
              pop ebx
              add esp, -8
              mov [esp], eax
              sub esp, -8
              mov ebp, esp
              sub ebp, 0x100
              mov esp, ebp
              add esp, 4
              mov [esp], ecx
              add esp, 0xfc
              dec ecx
              jnz again
              hlt
            """;

    private static final String REGION_BASES_PROGRAM = """
            bits 32
            org 0x1000
              mov esp, 0x20ff8          ; ESP's window crosses into page 0x21000, the next page of RAM
              mov ebx, 0x23000
              xor edi, edi
              mov ecx, 300
            again:
              mov eax, [esp+4]
              add [esp+8], eax
              jmp second
            second:
              add eax, [ebx+4]
              mov [ebx+8], eax
              mov [esp+12], ecx
              jmp third
            third:
              add eax, [esp+16]
              add ebx, 0x1000           ; EBX assigned: page 0x24000 (RAM at 0x2c000)
              mov [ebx+4], ecx
              sub ebx, 0x1000
              add edi, eax
              dec ecx
              jnz again
              hlt
            """;

    /** The RAM behind HIGH_PROGRAM's pages: linear 0xfffff000 and 0x7ffff000. */
    private static final long TOP_RAM = 0x2d000, BELOW_SIGN_RAM = 0x2e000;

    /** One machine: RAM, a read-only page and an MMIO page. */
    private static final class Machine {
        final TestRam ram = new TestRam(RAM_SIZE, Page.RWX);
        final InlineTlbTest.Registers registers = new InlineTlbTest.Registers();
        final Page mmio = Page.mmio(registers, MMIO_PAGE);
        final AddressSpace space = this::page;
        final X86Cpu cpu = new X86Cpu(space, IoPorts.NONE);

        private Page page(long address) {
            long page = address & ~Page.OFFSET_MASK;
            for (int i = 0; i < FAR_PAGES.length; i++) {
                if (page == FAR_PAGES[i]) {
                    return ram.page(FAR_RAM + i * Page.SIZE);
                }
            }
            if (page == 0xfffff000L || page == 0x7ffff000L) {
                return ram.page(page == 0xfffff000L ? TOP_RAM : BELOW_SIGN_RAM);
            }
            return page == MMIO_PAGE ? mmio : ram.page(address);
        }

        Machine(byte[] code) {
            ram.load(CODE, code);
            for (long a = 0x1f000; a < 0x2f000; a += 4) {
                ram.setU32(a, (int) (a * 0x9e3779b1L));
            }
            ram.setU32(ROM_PAGE, 0x01020304);
            ram.setU32(ROM_PAGE + 4, 0x0a0b0c0d);
            ram.protect(ROM_PAGE, Page.READ);
            cpu.enterUserMode32();
            cpu.setEip(CODE);
        }
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void accessesThroughPageBasesAgreeWithTheInterpreter(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(PROGRAM, path, 200_000);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit());
        assertEquals(PAGE_FAULT, run.cpu().exitVector());
        int count = baseLoads(run.bytecode(), ESP_BASE_SLOT);
        assertTrue(count >= 8, "accesses through ESP's page base: " + count);
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void espMovedByAddAndSubOfConstantsKeepsItsBaseAndAgreesWithTheInterpreter(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(FRAME_PROGRAM, path, 200_000);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit()); // HLT at CPL 3
        int count = baseLoads(run.bytecode(), ESP_BASE_SLOT);
        assertTrue(count >= 16, "accesses through ESP's page base: " + count);
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void windowsAroundTheSignChangeAgreeWithTheInterpreter(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(HIGH_PROGRAM, path, 20_000);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit()); // HLT at CPL 3
        assertTrue(baseLoads(run.bytecode(), EBP_BASE_SLOT) > 0, "EBP's accesses use its page base");
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void aRegionsBasesForRegistersNoMemberAssignsAgreeWithTheInterpreter(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(REGION_BASES_PROGRAM, path, 200_000, 4);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit()); // HLT at CPL 3
        assertTrue(run.stats().regionsBuilt() > 0, "the loop ran as a region");
        assertEquals(0, run.stats().regionRefusals(), "a window across two pages of contiguous RAM has a base");
        assertTrue(baseLoads(run.bytecode(), ESP_BASE_SLOT) >= 4, "ESP's accesses use the region's base");
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void aOneBlockLoopBecomesARegionOfThatBlockAndAgreesWithTheInterpreter(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(ONE_BLOCK_LOOP, path, 200_000, 4);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit()); // HLT at CPL 3
        assertEquals(1, run.stats().regionsBuilt(), "the loop was made a region: " + run.stats());
        assertEquals(1, run.stats().regionBlocks, "of its one block");
        assertEquals(0, run.stats().regionRefusals());
        assertTrue(baseLoads(run.bytecode(), ESP_BASE_SLOT) >= 3, "ESP's accesses use a page base");
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void aRegionRefusesToRunWithoutItsBasesAndItsHeadsBlockRunsAsTheInterpreterWould(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(REGION_PROGRAM, path, 200_000, 4);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit());
        assertEquals(PAGE_FAULT, run.cpu().exitVector());
        assertTrue(run.stats().regionsBuilt() > 0, "the loop was made a region");
        assertTrue(run.stats().regionRefusals() > 0, "the region refused to run: " + run.stats());
        assertTrue(baseLoads(run.bytecode(), EDX_BASE_SLOT) >= 3, "EDX's accesses use a region base");
    }

    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void aRegionMemberWithoutItsBaseLeavesTheRegionAndRunsAsTheInterpreterWould(BlockCompiler.TlbPath path) {
        Run run = runInLockstep(MEMBER_BASES_PROGRAM, path, 200_000, 4);
        assertEquals(X86Cpu.EXIT_EXCEPTION, run.exit());
        assertEquals(PAGE_FAULT, run.cpu().exitVector());
        assertEquals(ROM_PAGE, run.cpu().reg(X86Cpu.ESI) + 8 & ~0xfffL, "the store that faults is the first on the read-only page");
        assertTrue(run.stats().regionsBuilt() > 0, "the loop was made a region");
        assertTrue(baseLoads(run.bytecode(), ESI_BASE_SLOT) >= 3, "ESI's accesses use the member's base");
    }

    private record Run(X86Cpu cpu, int exit, String bytecode, TcgStats stats) { }

    private static Run runInLockstep(String program, BlockCompiler.TlbPath path, int maxSteps) {
        return runInLockstep(program, path, maxSteps, 0);
    }

    /**
     * Runs {@code program} translated on {@code path} and interpreted, in lockstep, memory and MMIO registers compared
     * after every block; the loop must have run translated. Regions are made after {@code regionThreshold} executions
     * of a block (0: none). Returns the translated CPU, its exit, the out_asm log and the engine's statistics.
     */
    private static Run runInLockstep(String program, BlockCompiler.TlbPath path, int maxSteps, int regionThreshold) {
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(path);
        try {
            byte[] code = Nasm.assemble(program);
            Machine a = new Machine(code);
            Machine b = new Machine(code);
            Tcg tcg = new Tcg(a.cpu, CodeCache.DEFAULT_LIMIT, 0);
            tcg.setRegionThreshold(regionThreshold);
            ByteArrayOutputStream bytecode = new ByteArrayOutputStream();
            tcg.setLog(new TcgLog(new PrintStream(bytecode, true), Set.of("out_asm")));
            int exit = LockstepTest.runInLockstep(tcg, a.cpu, b.cpu, maxSteps, where -> {
                long diff = a.ram.ram.mismatch(b.ram.ram);
                assertEquals(-1L, diff, where + ": memory differs at " + Long.toHexString(diff));
                assertArrayEquals(b.registers.bytes, a.registers.bytes, where + ": MMIO registers");
            });
            assertTrue(tcg.stats().blocksTranslated() > 0 && tcg.stats().interpreted() < a.cpu.instructionCount() / 2,
                    "the loop ran translated: " + tcg.stats());
            return new Run(a.cpu, exit, bytecode.toString(), tcg.stats());
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    /** How many times the generated bytecode loads local {@code slot} (a register's page base). */
    private static int baseLoads(String bytecode, int slot) {
        Matcher uses = Pattern.compile("lload +slot=" + slot + "\\b").matcher(bytecode);
        int count = 0;
        while (uses.find()) {
            count++;
        }
        return count;
    }
}
