/**
 * The x87 floating-point unit of jqemu, independent of the CPU decoder.
 *
 * <p>{@link org.jqemu.fpu.Float80} is an 80-bit soft-float in integer arithmetic (no Java floating
 * point) that rounds like the x87: rounding and precision control, tininess after rounding, C1 as the
 * round-up bit, masked and unmasked (wrapped) overflow/underflow, Intel's NaN and unsupported-encoding
 * rules. {@link org.jqemu.fpu.X87} holds the register stack, control/status/tag words and FIP/FDP/FOP
 * and executes every D8-DF instruction of a P6, plus FXSAVE/FXRSTOR; transcendentals are evaluated
 * in exact fixed point with a 66-bit pi for argument reduction, as the hardware does. Every behaviour
 * is tested bit for bit against the host CPU's own x87.
 */
package org.jqemu.fpu;
