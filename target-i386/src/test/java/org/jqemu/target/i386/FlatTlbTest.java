package org.jqemu.target.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Mmio;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * The MMU's flat page table (the translator's flat path): which entries its misses fill, and which events drop
 * them. Expected entries come from the test's own RAM (host address of the page minus its linear address), the
 * rules from the class comment of FlatTlb (plain RAM only, write entries only for writable pages without code).
 */
class FlatTlbTest {
    private static final long MMIO_PAGE = 0x30000;

    private static final class Ram {
        final TestRam ram = new TestRam(0x40000, Page.RWX);
        final Page mmio = Page.mmio(new Mmio() {
            @Override public long read(long offset, int size) { return 0x5a; }

            @Override public void write(long offset, int size, long value) { }
        }, MMIO_PAGE);
        final AddressSpace space = a -> (a & ~Page.OFFSET_MASK) == MMIO_PAGE ? mmio : ram.page(a);
    }

    private static X86Cpu userCpu(Ram r) {
        X86Cpu cpu = new X86Cpu(r.space, IoPorts.NONE);
        cpu.enterUserMode32();
        return cpu;
    }

    /**
     * What the entry of RAM page {@code linear} must be: its host address (the RAM's start plus the page's
     * address: TestRam maps address a at offset a) minus its linear address (low pages: no sign extension).
     */
    private static long expected(Ram r, long linear) {
        long page = linear & ~Page.OFFSET_MASK;
        return (r.ram.ram.address() + page) - page;
    }

    @Test
    void missesFillReadAndWriteEntriesOfPlainRamOnly() {
        Ram r = new Ram();
        r.ram.setU32(0x2004, 0x11223344);
        r.ram.protect(0x5000, Page.READ);
        X86Cpu cpu = userCpu(r);
        assertEquals(0, cpu.flatEntry(0x2000, false), "no tables before the first miss");
        assertEquals(0x11223344, cpu.flatReadMiss(0x2004, 4));
        assertEquals(expected(r, 0x2000), cpu.flatEntry(0x2abc, false));
        assertEquals(0, cpu.flatEntry(0x2000, true), "a read fills no write entry");
        cpu.flatWriteMiss(0x3000, 4, 0x55667788);
        assertEquals(0x55667788, r.ram.u32(0x3000));
        assertEquals(expected(r, 0x3000), cpu.flatEntry(0x3000, true));
        assertEquals(0x5a, cpu.flatReadMiss((int) MMIO_PAGE, 1));
        assertEquals(0, cpu.flatEntry(MMIO_PAGE, false), "never an entry for MMIO");
        assertEquals(0, cpu.flatReadMiss(0x5000, 4));
        assertEquals(expected(r, 0x5000), cpu.flatEntry(0x5000, false));
        assertThrows(CpuFault.class, () -> cpu.flatWriteMiss(0x5000, 4, 1), "#PF: the page is read-only");
        assertEquals(0, cpu.flatEntry(0x5000, true), "no write entry for a read-only page");
    }

    @Test
    void flushesInvlpgAndCodePagesDropEntries() {
        Ram r = new Ram();
        X86Cpu cpu = userCpu(r);
        for (long page = 0x6000; page <= 0x9000; page += 0x1000) {
            cpu.flatWriteMiss((int) page, 4, 1);
            cpu.flatReadMiss((int) page, 4);
        }
        cpu.invalidatePage(0x6123);
        assertEquals(0, cpu.flatEntry(0x6000, false), "INVLPG drops the page's entries");
        assertEquals(0, cpu.flatEntry(0x6000, true));
        assertNotEquals(0, cpu.flatEntry(0x7000, false), "and only its own");
        cpu.dropWriteEntries(r.ram.ram.address() + 0x7000); // the page got translated code
        assertEquals(0, cpu.flatEntry(0x7000, true), "its write entry is dropped");
        assertNotEquals(0, cpu.flatEntry(0x7000, false), "its read entry stays");
        assertNotEquals(0, cpu.flatEntry(0x8000, true), "other pages keep theirs");
        cpu.flushTlb();
        for (long page = 0x6000; page <= 0x9000; page += 0x1000) {
            assertEquals(0, cpu.flatEntry(page, false), "a flush drops every entry");
            assertEquals(0, cpu.flatEntry(page, true));
        }
    }

    @Test
    void writeEntriesAreNotFilledForPagesHoldingCode() {
        Ram r = new Ram();
        X86Cpu cpu = userCpu(r);
        cpu.codeWatcher = new CodeWatcher() {
            @Override public boolean holdsCode(long physPage) { return physPage == 0xa; }

            @Override public void codeWritten(long phys, int size) { }

            @Override public void mappingsChanged() { }
        };
        cpu.flatWriteMiss(0xa000, 4, 7);
        assertEquals(7, r.ram.u32(0xa000));
        assertEquals(0, cpu.flatEntry(0xa000, true), "stores to code pages must keep missing");
        cpu.flatWriteMiss(0xb000, 4, 7);
        assertNotEquals(0, cpu.flatEntry(0xb000, true));
    }

    /** The two TLB sets have tables of their own: an entry filled at CPL 3 is not seen at CPL 0, and back. */
    @Test
    void eachTlbSetHasItsOwnTables() {
        Ram r = new Ram();
        X86Cpu cpu = userCpu(r);
        cpu.flatReadMiss(0xc000, 4);
        long userTable = cpu.flatReadTable;
        assertNotEquals(0, cpu.flatEntry(0xc000, false));
        cpu.setCpl(0);
        assertNotEquals(userTable, cpu.flatReadTable, "the supervisor set's table");
        assertEquals(0, cpu.flatEntry(0xc000, false), "the supervisor set has no entry yet");
        cpu.flatReadMiss(0xd000, 4);
        assertNotEquals(0, cpu.flatEntry(0xd000, false));
        cpu.setCpl(3);
        assertEquals(userTable, cpu.flatReadTable);
        assertNotEquals(0, cpu.flatEntry(0xc000, false), "CPL 3's entry is still there");
        assertEquals(0, cpu.flatEntry(0xd000, false));
    }
}
