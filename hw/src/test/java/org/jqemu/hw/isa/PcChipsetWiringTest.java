package org.jqemu.hw.isa;

import static org.junit.jupiter.api.Assertions.*;

import org.jqemu.hw.acpi.Piix4Pm;
import org.jqemu.hw.chr.Serial16550;
import org.jqemu.hw.intc.I8259;
import org.jqemu.hw.nvram.FwCfg;
import org.jqemu.hw.pci.I440fx;
import org.jqemu.hw.pci.PciBus;
import org.jqemu.hw.pci.TestRam;
import org.jqemu.hw.rtc.Mc146818;
import org.jqemu.hw.timer.I8254;
import org.jqemu.hw.timer.ManualClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The chipset wired as the {@code pc} machine wires it, driven through I/O ports the way firmware and a
 * kernel do: interrupts travel device → PIC (or PIIX3 router → PIC) → CPU acknowledge with the vector the
 * BIOS programmed. The port dispatcher here is a test stand-in for the machine's port bus.
 */
class PcChipsetWiringTest {
    private final ManualClock clock = new ManualClock();
    private final TestPortBus ports = new TestPortBus();
    private boolean intr;
    private int resets;
    private I8259 pic;
    private Piix3 piix3;
    private Piix4Pm pm;
    private Serial16550 com1;

    @BeforeEach
    void buildMachine() {
        pic = new I8259(level -> intr = level);
        PciBus bus = new PciBus();
        piix3 = new Piix3(bus, 1, pic::irq, () -> resets++);
        I440fx host = new I440fx(bus, piix3.resetControlRegister(), null);
        pm = new Piix4Pm(bus, 1, 3, clock, pic.irq(Piix4Pm.SCI_IRQ), device -> { }, () -> { }, () -> { });
        com1 = new Serial16550(Serial16550.COM1_BASE, clock, pic.irq(Serial16550.COM1_IRQ));
        ports.add(pic, new I8254(clock, pic.irq(0)),
                new Mc146818(clock, pic.irq(8), 1_700_000_000_000_000_000L), com1, new FwCfg(new TestRam(4096)),
                new Port92(level -> { }, () -> resets++), host, pm);
        // The BIOS's PIC initialisation: vectors 0x08 and 0x70, everything unmasked.
        int[][] init = {{0x20, 0x11}, {0x21, 0x08}, {0x21, 0x04}, {0x21, 0x01},
                {0xa0, 0x11}, {0xa1, 0x70}, {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0x00}, {0xa1, 0x00}};
        for (int[] w : init) {
            ports.out(w[0], 1, w[1]);
        }
    }

    /** INTA and EOI as an interrupt handler does; returns the vector. */
    private int serviceInterrupt() {
        int vector = pic.acknowledge();
        if (vector >= 0x70) {
            ports.out(0xa0, 1, 0x20);
        }
        ports.out(0x20, 1, 0x20);
        return vector;
    }

    @Test
    void pitTicksArriveAsVector8() {
        ports.out(0x43, 1, 0x34);
        ports.out(0x40, 1, 1193 & 0xff);
        ports.out(0x40, 1, 1193 >> 8); // ~1 kHz
        int ticks = 0;
        for (int step = 0; step < 1000; step++) {
            clock.advance(10_000);
            while (intr) {
                assertEquals(0x08, serviceInterrupt());
                ticks++;
            }
        }
        assertEquals(11, ticks, "the load itself raises OUT0, then one edge per 1193 ticks over 10 ms");
    }

    @Test
    void rtcPeriodicInterruptCascadesToVector0x70() {
        ports.out(0x70, 1, 0x0b);
        ports.out(0x71, 1, 0x42);
        clock.advance(1_000_000);
        assertTrue(intr);
        assertEquals(0x70, serviceInterrupt());
        ports.out(0x70, 1, 0x0c);
        assertEquals(0xc0, ports.in(0x71, 1));
        assertFalse(intr);
    }

    @Test
    void serialInterruptOnIrq4() {
        ports.out(0x3f9, 1, 0x02);
        assertTrue(intr);
        assertEquals(0x0c, serviceInterrupt());
        assertEquals(0x02, ports.in(0x3fa, 1) & 0x0f);
    }

    @Test
    void pciInterruptThroughPirqAndElcr() {
        ports.out(0xcf8, 4, 0x80000860);
        ports.out(0xcfc, 1, 0x0b);      // PIRQA -> IRQ11
        ports.out(0x4d1, 1, 0x08);      // IRQ11 level triggered
        piix3.pirq(Piix3.pirqForSlot(3, 0)).raise(); // slot 3 INTA drives PIRQC
        assertFalse(intr);
        piix3.pirq(Piix3.pirqForSlot(1, 0)).raise(); // slot 1 INTA drives PIRQA
        assertEquals(0x73, serviceInterrupt());
        assertTrue(intr, "level: still asserted after EOI");
        piix3.pirq(0).lower();
        assertFalse(intr);
    }

    @Test
    void sciOnIrq9WhenAcpiEnabled() {
        ports.out(0xcf8, 4, 0x80000b40);
        ports.out(0xcfc, 4, 0x601);
        ports.out(0xcf8, 4, 0x80000b80);
        ports.out(0xcfc, 1, 0x01);
        ports.out(0x4d1, 1, 0x02);
        ports.out(0xb2, 1, 0xf1);
        ports.out(0x602, 2, 0x0100);
        pm.pressPowerButton();
        assertEquals(0x71, serviceInterrupt());
        ports.out(0x600, 2, 0x0100);
        assertFalse(intr);
    }

    @Test
    void resetPaths() {
        ports.out(0x92, 1, 0x01);
        ports.out(0xcf9, 1, 0x06);
        assertEquals(2, resets);
        assertEquals('Q', (char) (ports.in(0x514, 4) & 0xff));
    }
}
