package org.jqemu.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Guest MIPS of the interpreter ({@link X86Cpu#run}) on three endless 32-bit loops in flat user mode: one operation
 * is one guest instruction and the unit is operations per microsecond, so the score reads directly as guest MIPS.
 * <ul>
 * <li>{@code integer}: ADD, XOR, LEA with SIB, SHL, SUB, DEC, Jcc: registers and lazy flags only.</li>
 * <li>{@code memory}: loads, a read-modify-write, PUSH/POP and a store through the software TLB (SIB addressing).</li>
 * <li>{@code x87}: FADD, FMUL, FST m64, FCOM, FNSTSW, FSQRT on the 80-bit soft-float.</li>
 * </ul>
 * The code is hand-encoded (listings below) so that the benchmark needs no assembler.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
public class InterpreterBench {
    static final int INSTRUCTIONS = 1_000_000;
    private static final long CODE = 0x1000, DATA_A = 0x10_0000, DATA_B = 0x20_0000, STACK = 0x30_0000;
    private static final long RAM_SIZE = 4 << 20;

    /*
     * integer:                         memory:                            x87:
     * 00 mov ecx, 0x1000               00 mov eax, [esi+ebx]   (top)      00 fld1
     * 05 add eax, ebx       (top)      03 add [edi+ebx], eax              02 fldz
     * 07 xor ebx, eax                  06 add ebx, 4                      04 fadd st0, st1   (top)
     * 09 lea edx, [eax+eax*2]          09 and ebx, 0xfffc                 06 fmul st0, st1
     * 0c shl edx, 3                    0f push eax                        08 fst qword [esi]
     * 0f sub eax, edx                  10 pop edx                         0a fcom st1
     * 11 dec ecx                       11 mov [esi+ebx+4], edx            0c fnstsw ax
     * 12 jnz top                       15 jmp top                         0e fsqrt
     * 14 jmp 00                                                           10 jmp top
     */
    private static final String INTEGER = "b900100000" + "01d8" + "31c3" + "8d1440" + "c1e203" + "29d0" + "49" + "75f1" + "ebea";
    private static final String MEMORY = "8b041e" + "01041f" + "83c304" + "81e3fcff0000" + "50" + "5a" + "89541e04" + "ebe9";
    private static final String X87 = "d9e8" + "d9ee" + "d8c1" + "d8c9" + "dd16" + "d8d1" + "dfe0" + "d9fa" + "ebf2";

    @Param({"integer", "memory", "x87"})
    public String loop;

    private X86Cpu cpu;

    /** Flat RAM from address 0, every page read/write/execute. */
    private static AddressSpace ram() {
        MemorySegment ram = Arena.ofAuto().allocate(RAM_SIZE, Page.SIZE);
        Page[] pages = new Page[(int) (RAM_SIZE / Page.SIZE)];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = Page.ram(ram.asSlice((long) i * Page.SIZE, Page.SIZE), Page.RWX);
        }
        return address -> address >= 0 && address < RAM_SIZE ? pages[(int) (address >>> Page.SHIFT)] : null;
    }

    @Setup(Level.Trial)
    public void setUp() {
        AddressSpace memory = ram();
        cpu = new X86Cpu(memory, new IoPorts() {
            @Override public int in(int port, int size) { return 0; }
            @Override public void out(int port, int size, int value) { }
        });
        cpu.enterUserMode32();
        byte[] code = HexFormat.of().parseHex(switch (loop) {
            case "integer" -> INTEGER;
            case "memory" -> MEMORY;
            default -> X87;
        });
        Page first = memory.page(CODE);
        MemorySegment.copy(code, 0, first.ram(), java.lang.foreign.ValueLayout.JAVA_BYTE, CODE & Page.OFFSET_MASK, code.length);
        cpu.setEip(CODE);
        cpu.setReg(X86Cpu.EBX, 3);
        cpu.setReg(X86Cpu.ESI, DATA_A);
        cpu.setReg(X86Cpu.EDI, DATA_B);
        cpu.setReg(X86Cpu.ESP, STACK);
        int exit = cpu.run(10_000);
        if (exit != X86Cpu.EXIT_BUDGET) {
            throw new IllegalStateException(loop + " loop stopped with exit " + exit + " vector " + cpu.exitVector());
        }
    }

    @Benchmark
    @OperationsPerInvocation(INSTRUCTIONS)
    public int run() {
        return cpu.run(INSTRUCTIONS);
    }
}
