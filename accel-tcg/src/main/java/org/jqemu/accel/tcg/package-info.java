/**
 * The dynamic translator (QEMU's accel/tcg role): x86 translation blocks into JVM bytecode built with
 * {@code java.lang.classfile} and loaded as unloadable hidden classes in the CPU's package.
 *
 * <p>{@link org.jqemu.accel.tcg.Tcg} is the engine (same contract as {@code X86Cpu.run}); it runs cached
 * blocks, chained through per-exit successor links, and hands every instruction it cannot translate,
 * every fault and every other CPU mode to the interpreter, one instruction at a time, so guest behaviour
 * is always the interpreter's. Design, invariants and limits: {@code accel-tcg/README-design.md}.
 */
package org.jqemu.accel.tcg;
