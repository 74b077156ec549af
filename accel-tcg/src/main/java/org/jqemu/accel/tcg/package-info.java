/** The dynamic translator (QEMU's accel/tcg role): x86 blocks into JVM bytecode. */
package org.jqemu.accel.tcg;
