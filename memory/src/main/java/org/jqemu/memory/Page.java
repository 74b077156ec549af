package org.jqemu.memory;

import java.lang.foreign.MemorySegment;

/**
 * What backs one 4 KiB page of an {@link AddressSpace}: either RAM ({@code ram} is a 4096-byte
 * slice of host memory) or device registers ({@code mmio}, with {@code mmioBase} the guest address
 * at which the region starts). {@code prot} is a mask of {@link #READ}, {@link #WRITE}, {@link #EXEC};
 * physical memory of a machine is always all three, a user-mode process maps what mmap/mprotect said.
 */
public record Page(MemorySegment ram, Mmio mmio, long mmioBase, int prot) {
    public static final int READ = 1;
    public static final int WRITE = 2;
    public static final int EXEC = 4;
    public static final int RWX = READ | WRITE | EXEC;

    public static final int SIZE = 4096;
    public static final int SHIFT = 12;
    public static final long OFFSET_MASK = SIZE - 1;

    /**
     * A RAM page. The CPU's TLB reads it by host address through {@link HostMemory#ALL}, so the slice must be
     * native, exactly one page, and from an automatic or global arena (never one closed explicitly: the TLB
     * keeps the slice reachable while it uses the address, which keeps such memory allocated).
     */
    public static Page ram(MemorySegment slice, int prot) {
        if (!slice.isNative() || slice.byteSize() != SIZE) {
            throw new IllegalArgumentException("a RAM page is one native page, not " + slice);
        }
        return new Page(slice, null, 0, prot);
    }

    public static Page mmio(Mmio mmio, long mmioBase) { return new Page(null, mmio, mmioBase, RWX); }

    public boolean isRam() { return ram != null; }
}
