package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The flat page table path ({@code -Djqemu.tcg.inlineTlb=flat}) against the interpreter, in lockstep, on guest
 * pages whose host pages lie in reverse order (guest page n + 1 below guest page n on the host), so that an
 * access crossing a page end that the generated code let through would read or write the wrong host bytes:
 * loads and stores across page ends, across into a read-only page, and finally across into a read-only or an
 * unmapped page, whose fault (vector, error code, CR2, state) must be the interpreter's. Also: the table's
 * entries are the page's host address minus its linear address (independent oracle: the host slices this test
 * made), and a page that gets translated code loses its write entry though it had one.
 */
class FlatTableTest {
    private static final long CODE = 0x1000, STACK_TOP = 0x9000, STACK_PAGES = 2;
    private static final long[] DATA_PAGES = {0x10, 0x11, 0x13};
    private static final long READ_ONLY_PAGE = 0x12;
    private static final int PAGE_FAULT = 14;

    private static final String LOOP = """
            bits 32
            org 0x1000
              mov ecx, 300
            again:
              mov eax, [0x10ffe]        ; dword across the end of page 0x10
              add eax, ecx
              mov [0x10ffd], eax        ; and stored across it
              mov bx, [0x10fff]         ; word across
              add bx, cx
              mov [0x10fff], bx
              mov edx, [0x11ffd]        ; across into the read-only page (reads are allowed)
              add [0x10800], edx
              add dx, [0x12ffe]         ; the read-only page's last word: a hit
              mov [0x11ffe], dx         ; word at the end of page 0x11: a hit
              mov edi, [0x13004]
              add edi, eax
              mov [0x13ffc], edi        ; the last dword of page 0x13 (page 0x14 is unmapped)
              push eax
              pop esi
              dec ecx
              jnz again
            """;

    /** Guest pages on host slices in reverse order; page 0x12 read-only, page 0x14 unmapped. */
    private static final class ReversedRam implements AddressSpace {
        final Map<Long, Page> pages = new HashMap<>();
        final Map<Long, MemorySegment> slices = new HashMap<>();

        ReversedRam(byte[] code) {
            long codePages = (code.length + Page.SIZE - 1) / Page.SIZE;
            List<Long> all = new ArrayList<>();
            for (long p = 0; p < codePages; p++) {
                all.add((CODE >>> Page.SHIFT) + p);
            }
            for (long p = 0; p < STACK_PAGES; p++) {
                all.add((STACK_TOP >>> Page.SHIFT) - 1 - p);
            }
            for (long p : DATA_PAGES) {
                all.add(p);
            }
            all.add(READ_ONLY_PAGE);
            MemorySegment host = Arena.ofAuto().allocate((long) all.size() * Page.SIZE, Page.SIZE);
            for (int k = 0; k < all.size(); k++) {
                MemorySegment slice = host.asSlice((long) (all.size() - 1 - k) * Page.SIZE, Page.SIZE);
                long page = all.get(k);
                slices.put(page, slice);
                pages.put(page, Page.ram(slice, page == READ_ONLY_PAGE ? Page.READ : Page.RWX));
            }
            load(CODE, code);
            for (long p : new long[] {0x10, 0x11, 0x12, 0x13}) { // recognisable data: byte = low bits of the address
                for (int i = 0; i < Page.SIZE; i++) {
                    slices.get(p).set(ValueLayout.JAVA_BYTE, i, (byte) (p * 16 + i * 7));
                }
            }
        }

        void load(long address, byte[] bytes) {
            for (int i = 0; i < bytes.length; i++) {
                long a = address + i;
                slices.get(a >>> Page.SHIFT).set(ValueLayout.JAVA_BYTE, a & Page.OFFSET_MASK, bytes[i]);
            }
        }

        @Override
        public Page page(long address) { return pages.get(address >>> Page.SHIFT); }

        void assertSameContents(ReversedRam expected, String where) {
            for (Map.Entry<Long, MemorySegment> e : slices.entrySet()) {
                long diff = e.getValue().mismatch(expected.slices.get(e.getKey()));
                assertEquals(-1L, diff, where + ": memory differs at " + Long.toHexString((e.getKey() << Page.SHIFT) + diff));
            }
        }
    }

    private static final class Machine {
        final ReversedRam ram;
        final X86Cpu cpu;

        Machine(byte[] code) {
            ram = new ReversedRam(code);
            cpu = new X86Cpu(ram, IoPorts.NONE);
            cpu.enterUserMode32();
            cpu.setEip(CODE);
            cpu.setReg(X86Cpu.ESP, STACK_TOP);
        }
    }

    private static Tcg flatEngine(X86Cpu cpu, BlockCompiler.TlbPath path) {
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(path);
        try {
            assertEquals(path, BlockCompiler.tlbPath(), "the test JVM exports jdk.internal.misc (surefire argLine)");
            return new Tcg(cpu, CodeCache.DEFAULT_LIMIT, 0);
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    /** Each tail of {@link #crossingAccessesAndTheirFaultsAgreeWithTheInterpreter} on both flat paths. */
    static Stream<Arguments> tailsOnBothFlatPaths() {
        return Stream.of(BlockCompiler.TlbPath.FLAT, BlockCompiler.TlbPath.FLAT_EXIT).flatMap(path -> Stream.of(
                "mov [0x11ffe], eax       ; dword across into the read-only page: #PF, write, present, user",
                "mov eax, [0x13ffe]       ; dword across into the unmapped page: #PF, read, user",
                "add [0x13fff], dx        ; word read-modify-write across into the unmapped page")
                .map(tail -> Arguments.of(path, tail)));
    }

    /**
     * The loop, then {@code tail} (which must fault with #PF and {@code errorCode} at {@code cr2}); on {@code
     * FLAT_EXIT} every access across a page end leaves the block and the interpreter makes it.
     */
    @ParameterizedTest
    @MethodSource("tailsOnBothFlatPaths")
    void crossingAccessesAndTheirFaultsAgreeWithTheInterpreter(BlockCompiler.TlbPath path, String tail) {
        byte[] code = Nasm.assemble(LOOP + "  " + tail + "\n  hlt\n");
        Machine a = new Machine(code);
        Machine b = new Machine(code);
        Tcg tcg = flatEngine(a.cpu, path);
        assertEquals(X86Cpu.EXIT_EXCEPTION, lockstep(tcg, a, b));
        assertEquals(PAGE_FAULT, a.cpu.exitVector());
        long faultPage = tail.startsWith("mov [0x11ffe]") ? 0x12000 : 0x14000;
        assertEquals(faultPage, a.cpu.faultAddress(), "CR2: the first byte of the page that refused the access");
        if (tail.startsWith("mov")) { // (the read-modify-write's code is the interpreter's, compared in lockstep)
            assertEquals(tail.startsWith("mov [") ? 0x7 : 0x4, a.cpu.exitErrorCode(), "error code (SDM: P, W/R, U/S)");
        }
        assertTrue(tcg.stats().blocksTranslated() > 0
                && tcg.stats().interpreted() - tcg.stats().faultsReplayed() < a.cpu.instructionCount() / 4,
                "the loop ran translated, but for the replays (FLAT_EXIT: each access across a page end): " + tcg.stats());
        for (long page : DATA_PAGES) { // entries = host - linear (the pages are low: no sign extension)
            long linear = page << Page.SHIFT;
            long host = a.ram.slices.get(page).address();
            assertEquals(host - linear, CpuAccess.flatEntry(a.cpu, linear + 0x123, false), "read entry of page " + page);
            assertEquals(host - linear, CpuAccess.flatEntry(a.cpu, linear, true), "write entry of page " + page);
        }
        long readOnly = READ_ONLY_PAGE << Page.SHIFT;
        assertEquals(a.ram.slices.get(READ_ONLY_PAGE).address() - readOnly, CpuAccess.flatEntry(a.cpu, readOnly, false));
        assertEquals(0, CpuAccess.flatEntry(a.cpu, readOnly, true), "no write entry for a read-only page");
        assertEquals(0, CpuAccess.flatEntry(a.cpu, 0x14000, false), "no entry for an unmapped page");
    }

    /**
     * A buffer page is written (so it has a flat write entry), then gets translated code, then is patched
     * again and again: each patch must reach the code (the entry was dropped when the page got code).
     */
    @ParameterizedTest
    @EnumSource(value = BlockCompiler.TlbPath.class, names = {"FLAT", "FLAT_EXIT"})
    void aPageThatGetsCodeLosesItsWriteEntry(BlockCompiler.TlbPath path) {
        byte[] code = Nasm.assemble("""
                bits 32
                org 0x1000
                  xor esi, esi
                  mov ecx, 6
                warm:                         ; stores to the buffer page before it holds code
                  mov [0x10100 + ecx*4], ecx
                  dec ecx
                  jnz warm
                  mov ecx, 5
                round:
                  mov byte [0x10000], 0xb8    ; mov eax, imm32
                  mov [0x10001], ecx
                  mov byte [0x10005], 0xc3    ; ret
                  call 0x10000
                  add esi, eax
                  add edi, [0x10001]          ; a data read of the code page
                  dec ecx
                  jnz round
                  hlt
                """);
        Machine a = new Machine(code);
        Machine b = new Machine(code);
        Tcg tcg = flatEngine(a.cpu, path);
        lockstep(tcg, a, b);
        assertEquals(5 + 4 + 3 + 2 + 1, a.cpu.reg(X86Cpu.ESI), "every patched immediate was run");
        assertEquals(0, CpuAccess.flatEntry(a.cpu, 0x10000, true), "the code page has no write entry");
        assertNotEquals(0, CpuAccess.flatEntry(a.cpu, 0x10000, false), "but keeps its read entry");
        assertTrue(tcg.stats().invalidations() >= 4, tcg.stats().toString());
        a.cpu.flushTlb();
        assertEquals(0, CpuAccess.flatEntry(a.cpu, 0x10000, false), "a flush drops the flat entries");
        assertEquals(0, CpuAccess.flatEntry(a.cpu, 0x11000, true));
    }

    /**
     * {@code FLAT_EXIT}: a miss leaves the block with the state before the instruction and the interpreter makes
     * the access, after the MMU filled the page's entry; so a loop over pages it has not touched yet leaves once
     * per page and kind of access (reads, writes, the stack), not once per iteration, and agrees with the
     * interpreter throughout (loads and stores of 1, 2 and 4 bytes, read-modify-writes, PUSH/POP, a REP MOVSD).
     * The interpreter touches every page first (its TLB then holds them, so its replays of the misses hit there
     * and do not fill the flat table: the miss itself must).
     */
    @Test
    void leavingOnMissesFillsTheTableSoEachPageLeavesOnce() {
        byte[] code = Nasm.assemble("""
                bits 32
                org 0x1000
                  add [0x10010], eax          ; the interpreter's prologue: every page read and written
                  add [0x11020], eax
                  add [0x13040], eax
                  push eax
                  pop eax
                  mov ecx, 300
                again:
                  mov eax, [0x10010]
                  add al, [0x11020]
                  add [0x13040], eax
                  mov [0x11800], ax
                  mov bx, [0x13802]
                  mov [0x10f00], bl
                  push eax
                  pop edx
                  add [0x10100], edx
                  mov esi, 0x10200
                  mov edi, 0x13200
                  mov ebp, ecx
                  mov ecx, 4
                  rep movsd
                  mov ecx, ebp
                  dec ecx
                  jnz again
                  hlt
                """);
        Machine a = new Machine(code);
        Machine b = new Machine(code);
        assertEquals(X86Cpu.EXIT_BUDGET, a.cpu.run(PROLOGUE));
        assertEquals(X86Cpu.EXIT_BUDGET, b.cpu.run(PROLOGUE));
        Tcg tcg = flatEngine(a.cpu, BlockCompiler.TlbPath.FLAT_EXIT);
        java.io.ByteArrayOutputStream bytecode = new java.io.ByteArrayOutputStream();
        tcg.setLog(new TcgLog(new java.io.PrintStream(bytecode, true), java.util.Set.of("out_asm")));
        lockstep(tcg, a, b); // (ends with HLT: #GP at CPL 3, as the interpreter says)
        assertTrue(bytecode.toString().contains("flatMissExit") && !bytecode.toString().contains("flatReadMiss"),
                "the misses leave");
        assertTrue(tcg.stats().blocksTranslated() > 0 && tcg.stats().interpreted() < a.cpu.instructionCount() / 4,
                "the loop ran translated: " + tcg.stats());
        assertTrue(tcg.stats().faultsReplayed() >= 3 && tcg.stats().faultsReplayed() <= 12,
                "one miss per page and kind of access, not one per iteration: " + tcg.stats());
    }

    /**
     * {@code FLAT_EXIT}'s safety valve: a loop that stores into the page holding its own code misses (and would
     * leave) at every iteration, since such a page never gets a write entry; after {@link Tcg#MISS_EXIT_WINDOW}
     * replays that close together the engine goes back to misses that call the MMU, and agrees with the interpreter
     * throughout.
     */
    @Test
    void storesIntoTheCodePageAtEveryIterationTurnLeavingOnMissesOff() {
        byte[] code = Nasm.assemble("""
                bits 32
                org 0x1000
                  mov ecx, 3000
                again:
                  mov eax, ecx
                  and eax, 63
                  add [table + eax * 4], ecx
                  dec ecx
                  jnz again
                  hlt
                table: times 64 dd 0
                """);
        Machine a = new Machine(code);
        Machine b = new Machine(code);
        Tcg tcg = flatEngine(a.cpu, BlockCompiler.TlbPath.FLAT_EXIT);
        lockstep(tcg, a, b);
        assertTrue(tcg.stats().faultsReplayed() <= 2 * Tcg.MISS_EXIT_WINDOW, "replays stop: " + tcg.stats());
        assertTrue(tcg.stats().interpreted() < a.cpu.instructionCount() / 4, "the loop ran translated: " + tcg.stats());
    }

    /** Instructions of the prologue above. */
    private static final int PROLOGUE = 5;

    private static int lockstep(Tcg tcg, Machine a, Machine b) {
        return LockstepTest.runInLockstep(tcg, a.cpu, b.cpu, 100_000, where -> a.ram.assertSameContents(b.ram, where));
    }
}
