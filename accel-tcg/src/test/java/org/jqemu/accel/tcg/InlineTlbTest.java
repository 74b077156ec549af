package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Mmio;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every way generated code reaches RAM ({@link BlockCompiler.TlbPath}: the MMU call, the raw inline hit
 * through Unsafe or RamAccess's helpers, the slice path) against the interpreter, in lockstep as in
 * {@link LockstepTest}: hits at a page's last bytes, accesses crossing a page end (one compare must send them
 * to the MMU), stores to a page holding translated code (no write entry: the miss path must flag the code),
 * an MMIO page (never in the TLB), a read-only page (read entry only; the final store faults with #PF).
 */
class InlineTlbTest {
    private static final long RAM_SIZE = 0x40000, CODE = 0x1000, STACK_TOP = 0x3f000;
    private static final long MMIO_PAGE = 0x30000, ROM_PAGE = 0x31000;
    private static final int PAGE_FAULT = 14;

    private static final String PROGRAM = """
            bits 32
            org 0x1000
              call other_code_page      ; translated code on page 0x5000
              mov ecx, 300
            again:
              mov eax, [0x2ffe]         ; dword across the end of page 2
              add eax, ecx
              mov [0x2ffd], eax
              mov bx, [0x2fff]          ; word across
              add bx, 3
              mov [0x2fff], bx
              mov dl, [0x2fff]          ; the page's last byte, then the next page's first
              inc dl
              mov [0x3000], dl
              mov eax, [0x2ffc]         ; hits on the page's last dword and word
              mov [0x3ffc], eax
              add ax, [0x3ffe]
              mov [0x3ffe], ax
              mov [code_data], ecx      ; store to a page with translated code: a miss
              mov esi, [code_data]
              mov [0x30010], ecx        ; MMIO
              mov edi, [0x30010]
              add [0x30004], di
              mov ebp, [0x31000]        ; read-only page: read entries only
              add ebp, [0x31ffe]        ; across into writable RAM
              add [0x32000], ebp
              push eax
              pop edx
              dec ecx
              jnz again
              call other_code_page
              mov [0x31008], eax        ; store to the read-only page: #PF
              hlt
              times 0x4000 - ($ - $$) db 0
            other_code_page:
              add dword [code_data + 4], 1
              ret
            code_data:
              dd 0, 0
            """;

    /** A small register file: reads return what was written (little-endian bytes); PageBaseTest's too. */
    static final class Registers implements Mmio {
        final byte[] bytes = new byte[64];

        @Override
        public long read(long offset, int size) {
            long v = 0;
            for (int i = size - 1; i >= 0; i--) {
                v = (v << 8) | (bytes[(int) (offset + i) & 63] & 0xff);
            }
            return v;
        }

        @Override
        public void write(long offset, int size, long value) {
            for (int i = 0; i < size; i++) {
                bytes[(int) (offset + i) & 63] = (byte) (value >>> (8 * i));
            }
        }
    }

    /** One machine: RAM, a read-only page and an MMIO page. */
    private static final class Machine {
        final TestRam ram = new TestRam(RAM_SIZE, Page.RWX);
        final Registers registers = new Registers();
        final Page mmio = Page.mmio(registers, MMIO_PAGE);
        final AddressSpace space = address -> (address & ~Page.OFFSET_MASK) == MMIO_PAGE ? mmio : ram.page(address);
        final X86Cpu cpu = new X86Cpu(space, IoPorts.NONE);

        Machine(byte[] code) {
            ram.load(CODE, code);
            ram.setU32(0x2ffc, 0x11223344);
            ram.setU32(0x3000, 0x55667788);
            ram.setU32(ROM_PAGE, 0x01020304);
            ram.setU32(ROM_PAGE + 0xffc, 0x0a0b0c0d);
            ram.protect(ROM_PAGE, Page.READ);
            cpu.enterUserMode32();
            cpu.setEip(CODE);
            cpu.setReg(X86Cpu.ESP, STACK_TOP);
        }
    }

    @ParameterizedTest
    @EnumSource(BlockCompiler.TlbPath.class)
    void everyAccessPathAgreesWithTheInterpreter(BlockCompiler.TlbPath path) {
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(path);
        try {
            assertEquals(path, BlockCompiler.tlbPath(), "the test JVM exports jdk.internal.misc (surefire argLine)");
            byte[] code = Nasm.assemble(PROGRAM);
            Machine a = new Machine(code);
            Machine b = new Machine(code);
            Tcg tcg = new Tcg(a.cpu, CodeCache.DEFAULT_LIMIT, 0);
            int exit = lockstep(tcg, a, b);
            assertEquals(X86Cpu.EXIT_EXCEPTION, exit);
            assertEquals(PAGE_FAULT, a.cpu.exitVector());
            assertTrue(tcg.stats().blocksTranslated() > 0 && tcg.stats().interpreted() < a.cpu.instructionCount() / 2,
                    "the loop ran translated: " + tcg.stats());
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    /**
     * A front end's {@link Tcg#preferRawMemoryAccess} (linux-user's) gives that engine's blocks the raw hit path on
     * the flat page table while the process-wide default stays the MMU call, and the program still runs in lockstep.
     */
    @org.junit.jupiter.api.Test
    void theFrontEndsRawPreferenceReachesItsBlocks() {
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(BlockCompiler.TlbPath.CALL);
        try {
            byte[] code = Nasm.assemble(PROGRAM);
            Machine a = new Machine(code);
            Machine b = new Machine(code);
            Tcg tcg = new Tcg(a.cpu, CodeCache.DEFAULT_LIMIT, 0);
            tcg.preferRawMemoryAccess();
            java.io.ByteArrayOutputStream bytecode = new java.io.ByteArrayOutputStream();
            tcg.setLog(new TcgLog(new java.io.PrintStream(bytecode, true), java.util.Set.of("out_asm")));
            assertEquals(X86Cpu.EXIT_EXCEPTION, lockstep(tcg, a, b));
            assertEquals(PAGE_FAULT, a.cpu.exitVector());
            assertTrue(bytecode.toString().contains("jdk/internal/misc/Unsafe.getInt"), "raw loads were generated");
            assertTrue(bytecode.toString().contains("flatReadMiss"), "on the flat page table");
            assertEquals(BlockCompiler.TlbPath.CALL, BlockCompiler.tlbPath(), "other engines keep the default");
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    private static int lockstep(Tcg tcg, Machine a, Machine b) {
        return LockstepTest.runInLockstep(tcg, a.cpu, b.cpu, 100_000, where -> {
            long diff = a.ram.ram.mismatch(b.ram.ram);
            assertEquals(-1L, diff, where + ": memory differs at " + Long.toHexString(diff));
            assertArrayEquals(b.registers.bytes, a.registers.bytes, where + ": MMIO registers");
        });
    }
}
