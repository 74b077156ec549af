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
    /**
     * The fewest instructions of budget a run of this code needs at entry: a block's instructions; a closed
     * region's longest run up to its first jump back (it checks the budget only at jumps back).
     */
    final int minBudget;

    protected BlockCode(int minBudget) { this.minBudget = minBudget; }

    public abstract int execute(X86Cpu cpu, CodeCache cache);
}
