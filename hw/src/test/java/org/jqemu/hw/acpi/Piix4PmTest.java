package org.jqemu.hw.acpi;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.hw.pci.PciBus;
import org.jqemu.hw.timer.ManualClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Expected behaviour from the Intel 82371AB (PIIX4) datasheet and the ACPI PM1 register definitions. */
class Piix4PmTest {
    private static final int DEVFN = 1 << 3 | 3;
    private final ManualClock clock = new ManualClock();
    private final PciBus bus = new PciBus();
    private final List<List<PortRange>> remaps = new ArrayList<>();
    private boolean sci;
    private int powerOffs;
    private int suspends;
    private Piix4Pm pm;

    @BeforeEach
    void setUp() {
        pm = new Piix4Pm(bus, 1, 3, clock, level -> sci = level, device -> remaps.add(device.portRanges()),
                () -> powerOffs++, () -> suspends++);
        bus.configWrite(0, DEVFN, 0x40, 4, 0x601);
        bus.configWrite(0, DEVFN, 0x80, 1, 0x01);
    }

    @Test
    void identityAndIoBase() {
        assertEquals(0x71138086, bus.configRead(0, DEVFN, 0, 4));
        assertEquals(0x068000, bus.configRead(0, DEVFN, 8, 4) >>> 8);
        assertEquals(0x601, bus.configRead(0, DEVFN, 0x40, 4), "bit 0 reads 1: I/O space");
        assertEquals(0x600, pm.pmBase());
        assertEquals(1, remaps.size(), "remapped once: when PMIOSE enabled the block");
        assertTrue(remaps.getLast().contains(new PortRange(0x600, 64)));
        bus.configWrite(0, DEVFN, 0x80, 1, 0x00);
        assertEquals(-1, pm.pmBase());
        assertEquals(0xffff, pm.in(0x600, 2));
        assertFalse(remaps.getLast().contains(new PortRange(0x600, 64)));
    }

    @Test
    void pmTimerRunsAt3579545Hz() {
        int start = pm.in(0x608, 4);
        clock.advance(1_000_000_000L);
        int end = pm.in(0x608, 4);
        assertEquals(3_579_545 & 0xffffff, (end - start) & 0xffffff);
        assertEquals(0, end >>> 24, "24-bit timer");
    }

    @Test
    void powerButtonRaisesSciOnlyInAcpiMode() {
        pm.out(0x602, 2, 0x0100);
        pm.pressPowerButton();
        assertFalse(sci, "SCI_EN clear: events go to SMI");
        pm.out(0xb2, 1, 0xf1);
        assertEquals(1, pm.in(0x604, 2) & 1);
        assertTrue(sci);
        assertEquals(0x0100, pm.in(0x600, 2) & 0x0100);
        pm.out(0x600, 2, 0x0100);
        assertFalse(sci, "write 1 to clear");
        pm.out(0xb2, 1, 0xf0);
        assertEquals(0, pm.in(0x604, 2) & 1);
    }

    @Test
    void timerOverflowEveryTwoPower23Ticks() {
        pm.out(0xb2, 1, 0xf1);
        pm.out(0x602, 2, 0x0001);
        long toggleNanos = (1L << 23) * 1_000_000_000L / 3_579_545;
        clock.advance(toggleNanos - 1_000_000);
        assertFalse(sci);
        clock.advance(2_000_000);
        assertTrue(sci);
        assertEquals(1, pm.in(0x600, 2) & 1);
    }

    @Test
    void gpeBlockAt0xafe0() {
        pm.out(0xb2, 1, 0xf1);
        pm.raiseGpe(1);
        assertFalse(sci);
        pm.out(0xafe2, 1, 0x02);
        assertTrue(sci);
        assertEquals(0x02, pm.in(0xafe0, 1));
        pm.out(0xafe0, 1, 0x02);
        assertFalse(sci);
    }

    @Test
    void sleepTypes() {
        pm.out(0x604, 2, 1 << 10);
        assertEquals(0, powerOffs + suspends, "no SUS_EN: nothing happens");
        pm.out(0x604, 2, 0x2000 | 1 << 10);
        assertEquals(1, suspends);
        pm.out(0x604, 2, 0x2000);
        assertEquals(1, powerOffs, "type 0 is QEMU's _S5");
        assertEquals(0, pm.in(0x604, 2) & 0x2000, "SUS_EN reads 0");
    }

    @Test
    void snapshotRoundTripAndRefusal() throws IOException {
        pm.out(0x602, 2, 0x0100);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        pm.saveState(new DataOutputStream(bytes));
        Piix4Pm copy = new Piix4Pm(new PciBus(), 1, 3, clock, level -> { }, null, () -> { }, () -> { });
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertEquals(0x600, copy.pmBase());
        assertEquals(0x0100, copy.in(0x602, 2));
        byte[] bad = bytes.toByteArray();
        bad[256 + 2] = (byte) 0xff; // PM1 enable with reserved bits
        Piix4Pm victim = new Piix4Pm(new PciBus(), 1, 3, clock, level -> { }, null, () -> { }, () -> { });
        assertThrows(IOException.class,
                () -> victim.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
        assertEquals(-1, victim.pmBase());
    }
}
