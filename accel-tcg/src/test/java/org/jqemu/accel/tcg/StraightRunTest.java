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
 * System mode's straight runs of cold code ({@link X86Cpu#runStraight}) hand over to translated code where they
 * fall through into it: the interpreter stops at a translated block's start instead of running that block's
 * instructions itself up to the next jump. The interpreter alone runs the same program beside it (lockstep at the end).
 */
class StraightRunTest {
    /** Pass 1 jumps into the loop (which gets hot and translated); pass 2 reaches it by falling through cold code. */
    private static final String PROGRAM = """
            bits 16
            org 0x1000
            """ + Nasm.PROTECTED_MODE_ENTRY + """
              xor eax, eax
              mov esi, 2
              mov ecx, 50
              jmp loop
            pass2:
              mov ecx, 0x1234
              nop
              nop
            loop:
              inc eax
              dec ecx
              jnz loop
              dec esi
              jnz pass2
              hlt
            """ + Nasm.FLAT_TABLES;
    /** "mov ecx, 0x1234; nop; nop": pass 2's cold code, three instructions before the loop's block. */
    private static final byte[] PASS2 = {(byte) 0xb9, 0x34, 0x12, 0, 0, (byte) 0x90, (byte) 0x90};

    @Test
    void coldCodeFallingIntoATranslatedBlockStopsInterpretingThere() {
        byte[] code = Nasm.assemble(PROGRAM);
        int pass2 = 0x1000 + indexOf(code, PASS2);
        TestRam ramA = new TestRam(1 << 20, Page.RWX);
        TestRam ramB = new TestRam(1 << 20, Page.RWX);
        ramA.load(0x1000, code);
        ramB.load(0x1000, code);
        X86Cpu a = new X86Cpu(ramA, IoPorts.NONE);
        X86Cpu b = new X86Cpu(ramB, IoPorts.NONE);
        for (X86Cpu cpu : new X86Cpu[] {a, b}) {
            cpu.loadSegmentRegister(X86Cpu.CS, 0);
            cpu.setEip(0x1000);
        }
        long toPass2 = 0;
        while (b.eip() != pass2) { // the entry and pass 1, whose 50 turns of the loop make it hot
            assertEquals(X86Cpu.EXIT_BUDGET, b.run(1));
            toPass2++;
        }
        Tcg tcg = new Tcg(a, CodeCache.DEFAULT_LIMIT, 3);
        assertEquals(X86Cpu.EXIT_BUDGET, tcg.run(toPass2));
        assertEquals(pass2, a.eip());
        assertTrue(tcg.stats().blocksTranslated() >= 1, tcg.stats().toString());

        long interpreted = tcg.stats().interpreted();
        long rest = 3 + 3 * 0x1234;
        assertEquals(X86Cpu.EXIT_BUDGET, tcg.run(rest));
        assertEquals(X86Cpu.EXIT_BUDGET, b.run(rest));
        assertEquals(3, tcg.stats().interpreted() - interpreted,
                "only the three cold instructions before the loop's block are interpreted: " + tcg.stats());
        for (int r = X86Cpu.EAX; r <= X86Cpu.EDI; r++) {
            assertEquals(b.reg(r), a.reg(r), "register " + r);
        }
        assertEquals(b.eip(), a.eip());
        assertEquals(b.eflags(), a.eflags());
        assertEquals(b.instructionCount(), a.instructionCount());
    }

    private static int indexOf(byte[] code, byte[] pattern) {
        outer:
        for (int i = 0; i + pattern.length <= code.length; i++) {
            for (int j = 0; j < pattern.length; j++) {
                if (code[i + j] != pattern[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("pattern not in the program");
    }
}
