/**
 * ISA-side devices and the port contract every port-mapped device follows ({@link org.jqemu.hw.isa.PortDevice},
 * {@link org.jqemu.hw.isa.PortRange}, {@link org.jqemu.hw.isa.ByteIoPorts}): the PIIX3 ISA bridge, port 0x92
 * and the i8042.
 */
package org.jqemu.hw.isa;
