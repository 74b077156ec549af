package org.jqemu.accel.tcg;

import org.jqemu.target.i386.X86Cpu;

/**
 * The compiled form of one translation block, extended by a generated hidden class. {@code execute}
 * runs the block from its first instruction and returns {@code (instructions completed << 8) | exit kind}
 * (see {@link BlockCompiler}); the CPU's EIP, registers and flags are then those after the last completed
 * instruction. An abstract class rather than an interface: the engine's call of {@code execute} sees
 * hundreds of classes, and HotSpot's megamorphic call through a vtable slot is shorter than the itable
 * search an interface call makes.
 */
public abstract class BlockCode {
    protected BlockCode() { }

    public abstract int execute(X86Cpu cpu, CodeCache cache);
}
