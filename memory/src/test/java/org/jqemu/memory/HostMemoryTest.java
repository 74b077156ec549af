package org.jqemu.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

class HostMemoryTest {
    private static final long SIZE = 64L << 20;

    /** The mapping reads zero everywhere (the kernel's fresh pages), first and last byte included. */
    @Test
    void zeroedAllocationReadsZero() {
        MemorySegment ram = HostMemory.allocateZeroed(SIZE);
        assertEquals(SIZE, ram.byteSize());
        assertEquals(0, ram.address() & Page.OFFSET_MASK, "page aligned");
        for (long off = 0; off < SIZE; off += 1 << 20) {
            assertEquals(0L, ram.get(ValueLayout.JAVA_LONG, off));
        }
        assertEquals(0, ram.get(ValueLayout.JAVA_BYTE, SIZE - 1));
        assertEquals(-1L, MemorySegment.mismatch(ram, SIZE - Page.SIZE, SIZE, MemorySegment.ofArray(new byte[Page.SIZE]), 0, Page.SIZE));
    }

    /** A write through the segment is what {@link HostMemory#ALL} reads at its host address, and back. */
    @Test
    void allSeesTheSameBytesAsTheSegment() {
        MemorySegment ram = HostMemory.allocateZeroed(SIZE);
        long last = SIZE - 4;
        ram.set(ValueLayout.JAVA_INT_UNALIGNED, last, 0x12345678);
        assertEquals(0x12345678, HostMemory.ALL.get(ValueLayout.JAVA_INT_UNALIGNED, ram.address() + last));
        HostMemory.ALL.set(ValueLayout.JAVA_BYTE, ram.address() + 12345, (byte) 0x5a);
        assertEquals(0x5a, ram.get(ValueLayout.JAVA_BYTE, 12345));
    }

    @Test
    void badSizeIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> HostMemory.allocateZeroed(0));
    }

    /** The TLB reads RAM pages by host address: a heap segment has none, and a page is exactly one page. */
    @Test
    void ramPageMustBeOneNativePage() {
        assertThrows(IllegalArgumentException.class, () -> Page.ram(MemorySegment.ofArray(new byte[Page.SIZE]), Page.RWX));
        MemorySegment chunk = Arena.ofAuto().allocate(2 * Page.SIZE, Page.SIZE);
        assertThrows(IllegalArgumentException.class, () -> Page.ram(chunk.asSlice(0, Page.SIZE - 1), Page.RWX));
        assertThrows(IllegalArgumentException.class, () -> Page.ram(chunk, Page.RWX));
        assertEquals(chunk.address() + Page.SIZE, Page.ram(chunk.asSlice(Page.SIZE, Page.SIZE), Page.READ).ram().address());
    }
}
