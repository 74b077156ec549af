/**
 * Character devices (QEMU's hw/char; {@code char} is a Java keyword): the 16550A UART and the
 * {@link org.jqemu.hw.chr.CharBackend}/{@link org.jqemu.hw.chr.CharFrontend} seam to the chardev layer.
 */
package org.jqemu.hw.chr;
