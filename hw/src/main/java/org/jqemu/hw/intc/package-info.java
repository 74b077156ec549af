/** Interrupt controllers: the i8259 PIC pair (with the PIIX ELCR) and the CPU-facing {@link org.jqemu.hw.intc.InterruptAcknowledge}. */
package org.jqemu.hw.intc;
