package org.jqemu.hw.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicInteger;

import org.jqemu.hw.core.PhysicalMemory.PamMode;
import org.jqemu.memory.Mmio;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

class PhysicalMemoryTest {
    private static final long MIB = 1 << 20;

    private static byte readByte(PhysicalMemory m, long address) {
        Page p = m.page(address);
        if (p.isRam()) return p.ram().get(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK);
        return (byte) p.mmio().read(address - p.mmioBase(), 1);
    }

    /**
     * RAM is a lazily zeroed host mapping: a large machine's RAM reads zero everywhere before anything is written,
     * and a page's slice, the whole-RAM segment and the host-loader copies all see the same bytes.
     */
    @Test
    void ramStartsZeroedAndItsViewsAgree() {
        PhysicalMemory m = new PhysicalMemory(256 * MIB, 256 * MIB);
        for (long a = 0; a < 256 * MIB; a += 8 * MIB + Page.SIZE) {
            assertEquals(0, readByte(m, a));
        }
        assertEquals(0, readByte(m, 256 * MIB - 1));
        Page last = m.page(256 * MIB - Page.SIZE);
        last.ram().set(ValueLayout.JAVA_INT_UNALIGNED, Page.SIZE - 4, 0xcafef00d);
        assertEquals(0xcafef00d, m.ram().get(ValueLayout.JAVA_INT_UNALIGNED, 256 * MIB - 4));
        assertEquals((byte) 0xca, m.readRam(256 * MIB - 1, 1)[0]);
        m.writeRam(0x7ff, new byte[] {1, 2});
        assertEquals(2, m.page(0).ram().get(ValueLayout.JAVA_BYTE, 0x800));
        m.clearRam();
        assertEquals(0, readByte(m, 256 * MIB - 1));
    }

    @Test
    void ramIsOneSegmentSplitBelowAndAbove4G() {
        PhysicalMemory m = new PhysicalMemory(8 * MIB, 4 * MIB);
        assertEquals(8 * MIB, m.ram().byteSize());
        m.writeRam(0x1000, new byte[] {42});
        m.writeRam(0x1_0000_0000L + 5, new byte[] {7});
        assertEquals(42, readByte(m, 0x1000));
        assertEquals(7, readByte(m, 0x1_0000_0005L));
        assertEquals(7, m.ram().get(ValueLayout.JAVA_BYTE, 4 * MIB + 5), "above-4G RAM follows the low part in the segment");
        assertNull(m.page(4 * MIB), "the PCI hole is unassigned");
        assertNull(m.page(0x1_0000_0000L + 4 * MIB), "nothing past the end of high RAM");
        assertThrows(IllegalArgumentException.class, () -> m.writeRam(4 * MIB - 1, new byte[2]));
    }

    @Test
    void vgaWindowIsUnassigned() {
        PhysicalMemory m = new PhysicalMemory(2 * MIB, 2 * MIB);
        assertNull(m.page(0xa0000));
        assertNull(m.page(0xbffff));
        assertNotNull(m.page(0x9f000));
    }

    @Test
    void romIsReadOnlyAndMmioDispatches() {
        PhysicalMemory m = new PhysicalMemory(2 * MIB, 2 * MIB);
        AtomicInteger flushes = new AtomicInteger();
        m.onMapChange(flushes::incrementAndGet);
        m.addRom(0xffff_0000L, new byte[] {1, 2, 3}, "rom");
        Page rom = m.page(0xffff_0000L);
        assertEquals(Page.READ | Page.EXEC, rom.prot());
        assertEquals(3, readByte(m, 0xffff_0002L));
        long[] written = new long[1];
        m.addMmio(0xfee0_0000L, 0x1000, new Mmio() {
            @Override public long read(long offset, int size) { return offset; }
            @Override public void write(long offset, int size, long value) { written[0] = value; }
        }, "dev");
        Page dev = m.page(0xfee0_0010L);
        assertEquals(0x10, dev.mmio().read(0xfee0_0010L - dev.mmioBase(), 4));
        assertEquals(2, flushes.get(), "each map change flushes");
        assertThrows(IllegalArgumentException.class, () -> m.addRom(0xffff_0000L, new byte[1], "overlap"));
    }

    @Test
    void pamSwitchesBetweenDramAndRomSide() {
        PhysicalMemory m = new PhysicalMemory(2 * MIB, 2 * MIB);
        byte[] bios = new byte[0x20000];
        bios[0x1fff0] = (byte) 0xea;
        m.addPamRom(0xe0000, bios, "isa-bios");
        m.writeRam(0xffff0, new byte[] {0x11});
        m.setPam(0xf0000, 0x10000, PamMode.ROM);
        assertEquals((byte) 0xea, readByte(m, 0xffff0));
        m.setPam(0xf0000, 0x10000, PamMode.DRAM);
        assertEquals(0x11, readByte(m, 0xffff0));
        m.setPam(0xf0000, 0x10000, PamMode.WRITE_DRAM);
        Page p = m.page(0xffff0);
        assertEquals(0xea, p.mmio().read(0xffff0 - p.mmioBase(), 1) & 0xff, "reads come from the ROM");
        p.mmio().write(0xffff0 - p.mmioBase(), 1, 0x22);
        assertEquals(0x22, m.readRam(0xffff0, 1)[0], "writes reach DRAM");
        m.setPam(0xf0000, 0x10000, PamMode.READ_DRAM);
        assertTrue((m.page(0xffff0).prot() & Page.WRITE) == 0);
        assertEquals(0x22, readByte(m, 0xffff0));
    }

    /**
     * A map change redoes only the changed pages' lookups: pages around a PAM switch or a new MMIO region keep
     * the Page they had (clearing the whole 1 M-entry cache on each of a start-up's ~25 changes cost ~0.1 s),
     * and the changed pages, first and last included, map anew.
     */
    @Test
    void mapChangesRedoOnlyTheChangedPagesLookups() {
        PhysicalMemory m = new PhysicalMemory(2 * MIB, 2 * MIB);
        m.addPamRom(0xe0000, new byte[0x20000], "isa-bios");
        Page below = m.page(0xdf000);
        Page first = m.page(0xe0000);
        Page last = m.page(0xef000);
        Page above = m.page(0xf0000);
        Page ram = m.page(0x1000);
        m.setPam(0xe0000, 0x10000, PamMode.ROM);
        assertSame(below, m.page(0xdf000));
        assertSame(above, m.page(0xf0000));
        assertSame(ram, m.page(0x1000));
        assertNotSame(first, m.page(0xe0000));
        assertNotSame(last, m.page(0xef000));
        assertTrue((m.page(0xef000).prot() & Page.WRITE) == 0, "the last changed page reads the ROM side");

        assertNull(m.page(0xfee0_0000L));
        assertNull(m.page(0xfee0_1000L));
        m.addMmio(0xfee0_0000L, 0x1000, new Mmio() {
            @Override public long read(long offset, int size) { return 7; }
            @Override public void write(long offset, int size, long value) { }
        }, "dev");
        assertEquals(7, m.page(0xfee0_0ffcL).mmio().read(0, 4));
        assertNull(m.page(0xfee0_1000L), "the page after the region stays unassigned");
        assertSame(ram, m.page(0x1000));
    }
}
