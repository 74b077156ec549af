package org.jqemu.target.i386;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;

/** RAM from address 0 for tests: every page present with the given protection, nothing beyond. */
public final class TestRam implements AddressSpace {
    public final MemorySegment ram;
    private final Page[] pages;
    private final long addressMask;

    public TestRam(long size, int prot) { this(size, prot, -1L); }

    /** {@code addressMask} models the address lines (e.g. 24 bits for a 286-style bus). */
    public TestRam(long size, int prot, long addressMask) {
        ram = Arena.ofAuto().allocate(size, Page.SIZE);
        pages = new Page[(int) (size / Page.SIZE)];
        for (int i = 0; i < pages.length; i++) {
            pages[i] = Page.ram(ram.asSlice((long) i * Page.SIZE, Page.SIZE), prot);
        }
        this.addressMask = addressMask;
    }

    @Override
    public Page page(long address) {
        long index = (address & addressMask) >>> Page.SHIFT;
        return index < pages.length ? pages[(int) index] : null;
    }

    public void unmap(long address) { pages[(int) (address >>> Page.SHIFT)] = null; }

    public void protect(long address, int prot) {
        int i = (int) (address >>> Page.SHIFT);
        pages[i] = Page.ram(pages[i].ram(), prot);
    }

    public void load(long address, byte[] bytes) { MemorySegment.copy(bytes, 0, ram, ValueLayout.JAVA_BYTE, address, bytes.length); }

    public int byteAt(long address) { return ram.get(ValueLayout.JAVA_BYTE, address) & 0xff; }

    public void setByte(long address, int v) { ram.set(ValueLayout.JAVA_BYTE, address, (byte) v); }

    public int u32(long address) { return ram.get(ValueLayout.JAVA_INT_UNALIGNED, address); }

    public void setU32(long address, int v) { ram.set(ValueLayout.JAVA_INT_UNALIGNED, address, v); }
}
