package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * modify_ldt as modify_ldt(2) documents it. Expected descriptors are built by hand from the descriptor format of
 * the Intel SDM Vol. 3A §3.4.5 (limit 15:0, base 23:0, type/S/DPL/P, limit 19:16, AVL/L/D/G, base 31:24).
 */
class ModifyLdtTest {
    private static final long DESC = 0x1000, OUT = 0x2000;
    private static final int SEG_32BIT = 1, CONTENTS_CODE = 2 << 1, CONTENTS_CONFORMING = 3 << 1, READ_EXEC_ONLY = 8,
            LIMIT_IN_PAGES = 0x10, NOT_PRESENT = 0x20, USEABLE = 0x40;
    private static final int EINVAL = -22, ENOSYS = -38;

    private final GuestMemory memory = new GuestMemory();
    private final X86Cpu cpu = new X86Cpu(memory, IoPorts.NONE);

    ModifyLdtTest() {
        memory.map(0, 0x4000, Page.READ | Page.WRITE);
        cpu.enterUserMode32();
    }

    @AfterEach
    void close() { memory.close(); }

    private long write(int func, int entry, int base, int limit, int flags) {
        memory.writeInt(DESC, entry);
        memory.writeInt(DESC + 4, base);
        memory.writeInt(DESC + 8, limit);
        memory.writeInt(DESC + 12, flags);
        return ModifyLdt.call(cpu, memory, func, DESC, 16);
    }

    @Test
    void writeBuildsTheDescriptorAndReadCopiesTheTableOut() {
        assertEquals(0, ModifyLdt.call(cpu, memory, ModifyLdt.READ, OUT, 64), "no LDT yet: nothing read");
        assertEquals(0, write(ModifyLdt.WRITE, 1, 0x12345678, 0xabcde, SEG_32BIT | LIMIT_IN_PAGES | USEABLE));
        // data, writable, accessed (type 3), S, DPL 3, P: 0xf3; G D 0 AVL = 0xd, limit 19:16 = 0xa
        long data = 0x12da_f334_5678_bcdeL;
        assertEquals(2, cpu.userLdtEntries());
        assertEquals(data, cpu.userLdtEntry(1));
        memory.writeLong(OUT + 16, -1L);
        assertEquals(24, ModifyLdt.call(cpu, memory, ModifyLdt.READ, OUT, 24));
        assertEquals(0, memory.readLong(OUT));
        assertEquals(data, memory.readLong(OUT + 8));
        assertEquals(0, memory.readLong(OUT + 16), "zero-filled up to bytecount");
        assertEquals(5, ModifyLdt.call(cpu, memory, ModifyLdt.READ, OUT, 5), "a partial entry is copied as asked");
    }

    @Test
    void oldModeClearsAvlAndEmptiesEntriesWithNoBaseAndLimit() {
        assertEquals(0, write(ModifyLdt.WRITE_OLD, 0, 0x1000, 0xfff, CONTENTS_CODE | READ_EXEC_ONLY | USEABLE));
        // code, execute-only, accessed (type 9), S, DPL 3, P: 0xf9; AVL cleared by the old mode, 16-bit, byte granular
        assertEquals(0x0000_f900_1000_0fffL, cpu.userLdtEntry(0));
        assertEquals(0, write(ModifyLdt.WRITE_OLD, 0, 0, 0, SEG_32BIT));
        assertEquals(0, cpu.userLdtEntry(0), "old mode: base and limit 0 clear the entry");
        assertEquals(0, write(ModifyLdt.WRITE, 0, 0, 0, READ_EXEC_ONLY | NOT_PRESENT));
        assertEquals(0, cpu.userLdtEntry(0), "the empty user_desc clears the entry");
    }

    @Test
    void invalidRequestsAreRefused() {
        assertEquals(EINVAL, ModifyLdt.call(cpu, memory, ModifyLdt.WRITE, DESC, 15), "bytecount must be sizeof(user_desc)");
        assertEquals(EINVAL, write(ModifyLdt.WRITE, 8192, 0, 0xfff, 0), "entry beyond LDT_ENTRIES");
        assertEquals(EINVAL, write(ModifyLdt.WRITE, 1, 0, 0xfff, CONTENTS_CONFORMING), "conforming code must be not present");
        assertEquals(EINVAL, write(ModifyLdt.WRITE_OLD, 1, 0, 0xfff, CONTENTS_CONFORMING | NOT_PRESENT), "nor in the old mode");
        assertEquals(0, write(ModifyLdt.WRITE, 1, 0, 0xfff, CONTENTS_CONFORMING | NOT_PRESENT));
        assertEquals(ENOSYS, ModifyLdt.call(cpu, memory, 5, OUT, 16));
        memory.writeLong(OUT, -1L);
        assertEquals(40, ModifyLdt.call(cpu, memory, ModifyLdt.READ_DEFAULT, OUT, 100), "the default LDT: 5 null entries");
        assertEquals(0, memory.readLong(OUT));
    }

    @Test
    void aGuestLoadsTheSelectorItWrote() {
        assertEquals(0, write(ModifyLdt.WRITE, 2, 0x3000, 0, SEG_32BIT | LIMIT_IN_PAGES));
        cpu.loadSegmentRegister(X86Cpu.FS, (2 << 3) | 7);
        assertEquals(0x3000, cpu.segmentBase(X86Cpu.FS));
        assertEquals(0xfff, cpu.segmentLimit(X86Cpu.FS));
    }
}
