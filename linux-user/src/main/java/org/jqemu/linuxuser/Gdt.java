package org.jqemu.linuxuser;

import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;

/**
 * The global descriptor table a user-mode process needs: the flat code and data segments the CPU's
 * user mode starts with (selectors 0x23 and 0x2b, entries 4 and 5) and the three TLS entries 6-8 of
 * set_thread_area. It lives in a read-only page above the user address space ({@link #BASE}), where
 * the CPU's segment loads find it through GDTR; no system call maps, unmaps or protects pages there.
 */
final class Gdt {
    static final long BASE = 0xffff_f000L;
    static final int ENTRIES = 9;
    private static final int CODE_ACCESS = 0xc0fb, DATA_ACCESS = 0xc0f3; // present, DPL 3, 32-bit, 4 KiB granular

    private final GuestMemory memory;

    Gdt(GuestMemory memory, X86Cpu cpu) {
        this.memory = memory;
        memory.map(BASE, Page.SIZE, Page.READ);
        set(4, descriptor(0, 0xfffff, CODE_ACCESS));
        set(5, descriptor(0, 0xfffff, DATA_ACCESS));
        cpu.setGdtr(BASE, ENTRIES * 8 - 1);
    }

    void set(int entry, long descriptor) {
        memory.writeLong(BASE + 8L * entry, descriptor);
    }

    /** An 8-byte segment descriptor; {@code access} holds bits 40-55 (type, S, DPL, P, then AVL, L, D/B, G). */
    static long descriptor(long base, int limit20, int access) {
        long low = (limit20 & 0xffffL) | ((base & 0xffffL) << 16);
        long high = ((base >>> 16) & 0xff) | ((long) (access & 0xff) << 8) | ((long) ((limit20 >>> 16) & 0xf) << 16)
                | ((long) ((access >>> 12) & 0xf) << 20) | (base & 0xff00_0000L);
        return low | (high << 32);
    }
}
