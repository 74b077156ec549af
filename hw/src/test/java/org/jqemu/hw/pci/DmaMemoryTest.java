package org.jqemu.hw.pci;

import static org.junit.jupiter.api.Assertions.*;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Mmio;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

class DmaMemoryTest {
    @Test
    void copiesAcrossPageBoundariesAndFailsOnHoles() {
        TestRam ram = new TestRam(3 * Page.SIZE);
        byte[] data = new byte[6000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7);
        }
        assertTrue(DmaMemory.write(ram, 100, data, 0, data.length));
        byte[] back = new byte[data.length];
        assertTrue(DmaMemory.read(ram, 100, back, 0, back.length));
        assertArrayEquals(data, back);
        assertFalse(DmaMemory.read(ram, 3 * Page.SIZE - 10, back, 0, 20), "runs into unmapped memory");
    }

    @Test
    void mmioPagesAreAccessedByteWise() {
        byte[] regs = new byte[Page.SIZE];
        Mmio mmio = new Mmio() {
            @Override public long read(long offset, int size) { return regs[(int) offset] & 0xff; }
            @Override public void write(long offset, int size, long value) { regs[(int) offset] = (byte) value; }
        };
        AddressSpace space = address -> Page.mmio(mmio, 0x10000);
        assertTrue(DmaMemory.write(space, 0x10004, new byte[] {1, 2, 3}, 0, 3));
        assertEquals(2, regs[5]);
        byte[] back = new byte[2];
        assertTrue(DmaMemory.read(space, 0x10005, back, 0, 2));
        assertArrayEquals(new byte[] {2, 3}, back);
    }
}
