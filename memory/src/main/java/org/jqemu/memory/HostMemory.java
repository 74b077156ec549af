package org.jqemu.memory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Host memory for guest RAM: the one segment through which the CPU's TLB hit path reads and writes RAM by
 * host address, and lazily zeroed anonymous mappings for a machine's RAM.
 *
 * <p>Why {@link #ALL}: an access through a segment taken from an array costs C2 a type check, loads of its
 * size, scope and base, a bounds check and a liveness check of its scope. Through one {@code static final}
 * segment of global scope spanning the address space, all of that folds to constants but one compare. The
 * price is that the segment no longer proves the memory is allocated: whoever reads through {@code ALL}
 * must keep the segment the address came from reachable (its arena automatic or global, never closed
 * explicitly) for as long as it uses the address. The CPU's TLB does so (see the target's README-memory.md).
 */
public final class HostMemory {
    /** Every host address, offset = address; global scope, never closed. */
    public static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
    private static final long MAP_FAILED = -1L;

    private HostMemory() { }

    /**
     * {@code size} bytes of zeroed, page-aligned memory that the GC gives back once unreachable. On x86_64 Linux an
     * anonymous private mapping ({@link HostSyscall}): the kernel supplies zero pages on first touch, so a large guest RAM costs
     * nothing up front (an arena would zero all of it). Elsewhere, or if the mapping fails, an automatic arena.
     *
     * @throws OutOfMemoryError when the host has no room for it
     */
    public static MemorySegment allocateZeroed(long size) {
        if (size <= 0) {
            throw new IllegalArgumentException("size " + size);
        }
        long address = HostSyscall.available() ? mmap(size) : MAP_FAILED;
        if (address == MAP_FAILED) {
            return Arena.ofAuto().allocate(size, Page.SIZE);
        }
        // The cleanup sees a fresh segment of the same address and size: it holds no reference to the scope.
        return MemorySegment.ofAddress(address).reinterpret(size, Arena.ofAuto(), HostMemory::unmap);
    }

    private static long mmap(long size) {
        try {
            long address = HostSyscall.call(HostSyscall.SYS_MMAP, 0L, size, PROT_READ_WRITE, MAP_PRIVATE_ANONYMOUS, -1L, 0L);
            return address < 0 ? MAP_FAILED : address;
        } catch (RuntimeException e) {
            return MAP_FAILED;
        }
    }

    private static void unmap(MemorySegment mapping) {
        try {
            HostSyscall.call(HostSyscall.SYS_MUNMAP, mapping.address(), mapping.byteSize());
        } catch (RuntimeException e) {
            // nothing to do: the mapping stays until the process ends
        }
    }
}
