package org.jqemu.hw.pci;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;

/** A small guest physical memory for device tests: RAM from 0 to {@code size}, nothing above. */
public final class TestRam implements AddressSpace {
    private final MemorySegment ram;

    public TestRam(int size) {
        ram = Arena.ofAuto().allocate(size, Page.SIZE);
    }

    @Override
    public Page page(long address) {
        if (address < 0 || address >= ram.byteSize()) {
            return null;
        }
        return Page.ram(ram.asSlice(address & ~Page.OFFSET_MASK, Page.SIZE), Page.RWX);
    }

    public int byteAt(long address) {
        return ram.get(ValueLayout.JAVA_BYTE, address) & 0xff;
    }

    public void put(long address, byte... bytes) {
        MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, address, bytes.length);
    }

    public byte[] get(long address, int length) {
        byte[] out = new byte[length];
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, address, out, 0, length);
        return out;
    }
}
