package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;

/**
 * A long straight-line function in system mode (where only the starts of interpreted runs count visits, so
 * the EIP after a block's last instruction starts counting only once that block exists): once its entry is
 * hot, the blocks that follow it become hot too, instead of one more block per threshold's worth of calls.
 */
class StraightLineTranslationTest {
    private static final int THRESHOLD = 16;
    private static final int CALLS = THRESHOLD + 24;
    /** 320 instructions without a jump: ten blocks of {@link CodeCache#MAX_BLOCK_INSTRUCTIONS}. */
    private static final int PAIRS = 160;
    private static final String PROGRAM = """
            bits 16
            org 0x1000
            """ + Nasm.PROTECTED_MODE_ENTRY + """
              xor eax, eax
              xor ebx, ebx
              mov ebp, CALLS
            again:
              call straight
              dec ebp
              jnz again
              hlt
            align 256               ; far from the call, so that the interpreter's run ends at it
            straight:
            %rep PAIRS
              add eax, 3
              xor ebx, eax
            %endrep
              ret
            """ + Nasm.FLAT_TABLES;

    @Test
    void aHotStraightLineIsTranslatedWithinAFewCallsOfItsEntry() {
        byte[] code = Nasm.assemble("CALLS equ " + CALLS + "\nPAIRS equ " + PAIRS + "\n" + PROGRAM);
        TestRam ramA = new TestRam(1 << 20, Page.RWX);
        TestRam ramB = new TestRam(1 << 20, Page.RWX);
        X86Cpu a = new X86Cpu(ramA, IoPorts.NONE);
        X86Cpu b = new X86Cpu(ramB, IoPorts.NONE);
        for (TestRam ram : new TestRam[] {ramA, ramB}) {
            ram.load(0x1000, code);
        }
        for (X86Cpu cpu : new X86Cpu[] {a, b}) {
            cpu.loadSegmentRegister(X86Cpu.CS, 0);
            cpu.setEip(0x1000);
        }
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, THRESHOLD);
        assertEquals(X86Cpu.EXIT_HALT, tcg.run(10_000_000));
        assertEquals(X86Cpu.EXIT_HALT, b.run(10_000_000));
        assertEquals(b.reg(X86Cpu.EAX), a.reg(X86Cpu.EAX), "EAX as the interpreter has it");
        assertEquals(b.reg(X86Cpu.EBX), a.reg(X86Cpu.EBX), "EBX as the interpreter has it");
        assertEquals(b.instructionCount(), a.instructionCount());
        assertEquals(3L * PAIRS * CALLS & 0xffff_ffffL, a.reg(X86Cpu.EAX) & 0xffff_ffffL);
        TcgStats s = tcg.stats();
        int blocks = 2 * PAIRS / CodeCache.MAX_BLOCK_INSTRUCTIONS;
        assertTrue(s.blocksTranslated() >= blocks, "every block of the function translated: " + s);
        // The first THRESHOLD calls are interpreted (2 * PAIRS + 1 instructions each); the rest, a few calls
        // at most, while the blocks after the entry are translated one after another.
        assertTrue(s.interpreted() < (THRESHOLD + 4) * (2 * PAIRS + 1), "interpreted: " + s);
    }
}
