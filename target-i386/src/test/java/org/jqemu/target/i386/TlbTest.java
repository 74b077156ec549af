package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * The TLB's hit path reads RAM by host address: accesses straddling a page must still take each byte from
 * the page that maps it, even when both pages are in the TLB and adjacent guest pages are far apart on the host.
 * Expected values: x86 is little-endian and a linear access is byte-wise the bytes at consecutive addresses (SDM).
 */
class TlbTest {
    /** Guest pages backed by host pages in reverse order: guest page n+1 lies below guest page n on the host. */
    private static final class ScatteredRam implements AddressSpace {
        private final Map<Long, Page> pages = new HashMap<>();

        ScatteredRam(long... guestPages) {
            MemorySegment host = Arena.ofAuto().allocate((long) guestPages.length * Page.SIZE, Page.SIZE);
            for (int k = 0; k < guestPages.length; k++) {
                long slot = (long) (guestPages.length - 1 - k) * Page.SIZE;
                pages.put(guestPages[k], Page.ram(host.asSlice(slot, Page.SIZE), Page.RWX));
            }
        }

        @Override
        public Page page(long address) { return pages.get(address >>> Page.SHIFT); }

        void setByte(long address, int v) {
            page(address).ram().set(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK, (byte) v);
        }

        int byteAt(long address) { return page(address).ram().get(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK) & 0xff; }
    }

    private static X86Cpu userCpu(ScatteredRam ram) {
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.enterUserMode32();
        return cpu;
    }

    @Test
    void accessesAcrossAPageBoundaryWithBothPagesInTheTlb() {
        ScatteredRam ram = new ScatteredRam(3, 4);
        for (int i = 0; i < 8; i++) {
            ram.setByte(0x3ffc + i, i + 1);
        }
        X86Cpu cpu = userCpu(ram);
        assertEquals(0x04030201, cpu.read32(0x3ffc)); // fills the entry of page 3
        assertEquals(0x08070605, cpu.read32(0x4000)); // and of page 4
        cpu.write32(0x3ff8, 0); // write entries too
        cpu.write32(0x4004, 0);
        assertEquals(0x05040302, cpu.read32(0x3ffd));
        assertEquals(0x06050403, cpu.read32(0x3ffe));
        assertEquals(0x07060504, cpu.read32(0x3fff));
        assertEquals(0x0504, cpu.read16(0x3fff));
        cpu.write32(0x3ffe, 0x11223344);
        assertEquals(0x33440201, cpu.read32(0x3ffc));
        assertEquals(0x08071122, cpu.read32(0x4000));
        cpu.write16(0x3fff, 0xaabb);
        assertEquals(0xbb, ram.byteAt(0x3fff));
        assertEquals(0xaa, ram.byteAt(0x4000));
    }

    /** The last page of the 4 GiB linear space: an access running past it wraps to page 0, never past the host page. */
    @Test
    void accessAtTheTopOfTheLinearSpaceWrapsToPageZero() {
        ScatteredRam ram = new ScatteredRam(0xfffff, 0);
        ram.setByte(0xffff_fffeL, 0x11);
        ram.setByte(0xffff_ffffL, 0x22);
        ram.setByte(0, 0x33);
        ram.setByte(1, 0x44);
        X86Cpu cpu = userCpu(ram);
        assertEquals(0x2211, cpu.read16(0xffff_fffeL)); // hit path fills page 0xfffff
        assertEquals(0x4433, cpu.read16(0));
        assertEquals(0x44332211, cpu.read32(0xffff_fffeL));
        assertEquals(0x3322, cpu.read16(0xffff_ffffL));
        cpu.write32(0xffff_fffdL, 0x01020304);
        assertEquals(0x04, ram.byteAt(0xffff_fffdL));
        assertEquals(0x01, ram.byteAt(0));
        assertEquals(0x44, ram.byteAt(1), "past the access: untouched");
    }

    /** An entry dropped by flushTlb is not hit again: the page's new mapping (here none) decides. */
    @Test
    void flushedEntryIsNotHitAfterTheMappingChanges() {
        ScatteredRam ram = new ScatteredRam(5, 6);
        ram.setByte(0x5000, 0x7f);
        X86Cpu cpu = userCpu(ram);
        assertEquals(0x7f, cpu.read8(0x5000));
        ram.pages.put(5L, ram.pages.get(6L));
        ram.setByte(0x6000, 0x12);
        assertEquals(0x7f, cpu.read8(0x5000), "without a flush the CPU may use its TLB entry (as on x86)");
        cpu.flushTlb();
        assertEquals(0x12, cpu.read8(0x5000));
    }
}
