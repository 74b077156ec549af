package org.jqemu.hw.isa;

import static org.junit.jupiter.api.Assertions.*;

import org.jqemu.hw.pci.PciBus;
import org.junit.jupiter.api.Test;

/** Expected behaviour from the Intel 82371SB (PIIX3) datasheet, PIRQ route control registers. */
class Piix3Test {
    private final boolean[] isa = new boolean[16];
    private final PciBus bus = new PciBus();
    private final Piix3 piix3 = new Piix3(bus, 1, irq -> level -> isa[irq] = level, () -> { });

    @Test
    void identityAndDefaults() {
        assertEquals(0x70008086, bus.configRead(0, 0x08, 0, 4));
        assertEquals(0x0601, bus.configRead(0, 0x08, 0x0a, 2));
        assertEquals(0x80808080, bus.configRead(0, 0x08, 0x60, 4), "every PIRQ disabled at reset");
        assertEquals(0x4d, bus.configRead(0, 0x08, 0x4c, 1));
    }

    @Test
    void pirqRoutingAndSharing() {
        piix3.pirq(0).raise();
        assertFalse(isa[11], "route disabled");
        bus.configWrite(0, 0x08, 0x60, 1, 0x0b);
        assertTrue(isa[11]);
        bus.configWrite(0, 0x08, 0x61, 1, 0x0b);
        piix3.pirq(1).raise();
        piix3.pirq(0).lower();
        assertTrue(isa[11], "PIRQB still holds the shared line");
        piix3.pirq(1).lower();
        assertFalse(isa[11]);
        piix3.pirq(2).raise();
        bus.configWrite(0, 0x08, 0x62, 1, 0x0a);
        assertTrue(isa[10]);
        bus.configWrite(0, 0x08, 0x62, 1, 0x05);
        assertFalse(isa[10], "re-routing moves the level");
        assertTrue(isa[5]);
        bus.configWrite(0, 0x08, 0x62, 1, 0x02);
        assertFalse(isa[2], "IRQ2 is reserved");
        assertEquals(-1, piix3.routedIrq(2));
        assertEquals(0x02, bus.configRead(0, 0x08, 0x62, 1));
        bus.configWrite(0, 0x08, 0x63, 1, 0xff);
        assertEquals(0x8f, bus.configRead(0, 0x08, 0x63, 1), "bits 6-4 are reserved");
    }

    @Test
    void slotSwizzle() {
        assertEquals(0, Piix3.pirqForSlot(1, 0));
        assertEquals(1, Piix3.pirqForSlot(2, 0));
        assertEquals(2, Piix3.pirqForSlot(3, 0));
        assertEquals(3, Piix3.pirqForSlot(3, 1));
        assertEquals(0, Piix3.pirqForSlot(4, 1));
    }
}
