package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/**
 * REP MOVS and REP STOS over many pages, forwards and backwards, with overlapping source and destination:
 * memory and registers must be what the SDM's element-by-element definition gives (a model here), whichever
 * path the interpreter takes (it copies whole page runs at once where that cannot differ).
 */
class RepStringTest {
    private static final long CODE = 0x1000, DATA = 0x10000, END = 0x40000;

    private static byte[] randomData() {
        byte[] bytes = new byte[(int) END];
        new Random(42).nextBytes(bytes);
        return bytes;
    }

    private static X86Cpu cpuRunning(TestRam ram, String instruction, boolean down, long esi, long edi, long ecx, int eax) {
        String asm = "bits 32\norg 0x1000\n"
                + "mov esi, " + esi + "\nmov edi, " + edi + "\nmov ecx, " + ecx + "\nmov eax, " + eax + "\n"
                + (down ? "std\n" : "cld\n") + "rep " + instruction + "\ncld\nint 0x80\n";
        ram.load(CODE, Nasm.assemble(asm));
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.enterUserMode32();
        cpu.setEip(CODE);
        cpu.setReg(X86Cpu.ESP, 0x8000);
        return cpu;
    }

    /** The SDM's loop: each element read whole, then written, then the indexes stepped. */
    private static void model(byte[] mem, boolean moves, int size, boolean down, long esi, long edi, long ecx, int eax) {
        byte[] element = new byte[size];
        for (long k = 0; k < ecx; k++) {
            for (int b = 0; b < size; b++) {
                element[b] = moves ? mem[(int) esi + b] : (byte) (eax >>> (8 * b));
            }
            System.arraycopy(element, 0, mem, (int) edi, size);
            esi += down ? -size : size;
            edi += down ? -size : size;
        }
    }

    @ParameterizedTest(name = "rep {0} esi={2} edi={3} ecx={4} down={1}")
    @CsvSource({
        "movsd, false, 0x10000, 0x24000, 12000",  // disjoint, page-aligned, many pages
        "movsd, false, 0x10003, 0x24ffe, 11000",  // misaligned: elements straddle page ends on both sides
        "movsb, false, 0x20000, 0x20001, 9000",   // destination one above: the first byte repeats (no memmove)
        "movsd, false, 0x20000, 0x20002, 5000",   // overlap inside an element, upwards
        "movsd, false, 0x20008, 0x20000, 9000",   // destination below the source, forwards: a plain move
        "movsd, true, 0x2fffc, 0x30ffc, 9000",    // backwards, destination above: a plain move (memmove backwards)
        "movsb, true, 0x30000, 0x2ffff, 9000",    // backwards, destination one below: the last byte repeats
        "movsw, true, 0x37ffe, 0x23ffe, 7000",    // backwards, disjoint
        "stosd, false, 0, 0x10002, 30000",
        "stosw, true, 0, 0x3fffe, 20000",
        "stosb, false, 0, 0x10fff, 40000",
    })
    void memoryAndRegistersFollowTheElementByElementDefinition(String instruction, boolean down, long esi, long edi, long ecx) {
        int size = switch (instruction.charAt(4)) { case 'b' -> 1; case 'w' -> 2; default -> 4; };
        boolean moves = instruction.startsWith("movs");
        int eax = 0x5a3cc3a5;
        byte[] initial = randomData();
        TestRam ram = new TestRam(END, Page.RWX);
        ram.load(0, initial);
        X86Cpu cpu = cpuRunning(ram, instruction, down, esi, edi, ecx, eax);
        byte[] expected = new byte[(int) END];
        ram.ram.asByteBuffer().get(expected);
        model(expected, moves, size, down, esi, edi, ecx, eax);

        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(1_000_000));
        long step = (down ? -size : size) * ecx;
        assertEquals(0, cpu.reg(X86Cpu.ECX));
        assertEquals((int) (edi + step), cpu.reg(X86Cpu.EDI));
        if (moves) {
            assertEquals((int) (esi + step), cpu.reg(X86Cpu.ESI));
        }
        byte[] data = ram.ram.asSlice(DATA, END - DATA).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(java.util.Arrays.copyOfRange(expected, (int) DATA, (int) END), data);
    }

    /** A page fault part way through leaves the registers of the faulting iteration and the elements before it written. */
    @Test
    void aFaultPartWayLeavesTheRegistersOfTheFaultingIteration() {
        byte[] initial = randomData();
        TestRam ram = new TestRam(END, Page.RWX);
        ram.load(0, initial);
        ram.unmap(0x30000);
        X86Cpu cpu = cpuRunning(ram, "movsd", false, 0x10000, 0x2e000, 0x1000, 0);
        long repEip = CODE + 5 * 4 + 1; // four mov r32, imm32 and cld before it

        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(1_000_000));
        assertEquals(14, cpu.exitVector());
        assertEquals(6, cpu.exitErrorCode()); // user, write, not present
        assertEquals(0x30000, cpu.faultAddress());
        assertEquals(repEip, cpu.eip());
        assertEquals(0x800, cpu.reg(X86Cpu.ECX));
        assertEquals(0x30000, cpu.reg(X86Cpu.EDI));
        assertEquals(0x12000, cpu.reg(X86Cpu.ESI));
        byte[] copied = ram.ram.asSlice(0x2e000, 0x2000).toArray(ValueLayout.JAVA_BYTE);
        assertArrayEquals(java.util.Arrays.copyOfRange(initial, 0x10000, 0x12000), copied);
    }
}
