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
 * then runs), on a read-only page (the final store through the window must fault, #PF) or on an MMIO page.
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
    /** ESP's page base local in generated code: BlockCompiler's PAGE_BASE0 (54) + 2 * ESP. */
    private static final int ESP_BASE_SLOT = 62;

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
            return page == MMIO_PAGE ? mmio : ram.page(address);
        }

        Machine(byte[] code) {
            ram.load(CODE, code);
            for (long a = 0x1f000; a < 0x2d000; a += 4) {
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
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(path);
        try {
            byte[] code = Nasm.assemble(PROGRAM);
            Machine a = new Machine(code);
            Machine b = new Machine(code);
            Tcg tcg = new Tcg(a.cpu, CodeCache.DEFAULT_LIMIT, 0);
            ByteArrayOutputStream bytecode = new ByteArrayOutputStream();
            tcg.setLog(new TcgLog(new PrintStream(bytecode, true), Set.of("out_asm")));
            int exit = LockstepTest.runInLockstep(tcg, a.cpu, b.cpu, 200_000, where -> {
                long diff = a.ram.ram.mismatch(b.ram.ram);
                assertEquals(-1L, diff, where + ": memory differs at " + Long.toHexString(diff));
                assertArrayEquals(b.registers.bytes, a.registers.bytes, where + ": MMIO registers");
            });
            assertEquals(X86Cpu.EXIT_EXCEPTION, exit);
            assertEquals(PAGE_FAULT, a.cpu.exitVector());
            assertTrue(tcg.stats().blocksTranslated() > 0 && tcg.stats().interpreted() < a.cpu.instructionCount() / 2,
                    "the loop ran translated: " + tcg.stats());
            Matcher uses = Pattern.compile("lload +slot=" + ESP_BASE_SLOT + "\\b").matcher(bytecode.toString());
            int count = 0;
            while (uses.find()) {
                count++;
            }
            assertTrue(count >= 8, "accesses through ESP's page base: " + count);
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }
}
