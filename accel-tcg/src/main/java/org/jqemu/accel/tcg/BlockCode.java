package org.jqemu.accel.tcg;

import org.jqemu.target.i386.X86Cpu;

/**
 * The compiled form of one translation block, implemented by a generated hidden class. {@code execute}
 * runs the block from its first instruction and returns {@code (instructions completed << 8) | exit kind}
 * (see {@link BlockCompiler}); the CPU's EIP, registers and flags are then those after the last completed
 * instruction.
 */
public interface BlockCode {
    int execute(X86Cpu cpu, CodeCache cache);
}
