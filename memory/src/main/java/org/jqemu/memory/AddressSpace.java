package org.jqemu.memory;

/**
 * A 4 KiB-granular map from guest addresses to what backs them. In system mode it is the machine's
 * physical address space (RAM, ROM, MMIO); in user mode it is one guest process's virtual address space.
 * The CPU caches the answers in its software TLB, so an implementation that changes a mapping must call
 * the invalidation hooks of the CPUs using it (see the CPU's {@code flushTlb}).
 */
public interface AddressSpace {
    /** The page holding {@code address}, or null when nothing is mapped there. */
    Page page(long address);
}
