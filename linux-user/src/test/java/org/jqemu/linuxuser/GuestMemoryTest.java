package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.ValueLayout;

import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GuestMemoryTest {
    private final GuestMemory memory = new GuestMemory();

    @AfterEach
    void close() { memory.close(); }

    @Test
    void mappedPagesAreZeroAndBackedOnlyWhenTouched() {
        memory.map(0x1000_0000L, 16 * Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(0, memory.backedPages());
        Page p = memory.page(0x1000_5123L);
        assertEquals(Page.SIZE, p.ram().byteSize());
        assertEquals(Page.READ | Page.WRITE, p.prot());
        assertEquals(0, p.ram().get(ValueLayout.JAVA_LONG, 0));
        assertEquals(1, memory.backedPages());
        assertSame(p, memory.page(0x1000_5000L), "the same page object until the mapping changes");
    }

    @Test
    void unmappedAddressesHaveNoPage() {
        assertNull(memory.page(0x1234_5000L));
        assertNull(memory.page(-1));
        assertNull(memory.page(1L << 32));
        memory.map(0x2000, Page.SIZE, Page.READ);
        memory.unmap(0x2000, Page.SIZE);
        assertNull(memory.page(0x2000));
        assertEquals(0, memory.backedPages());
    }

    @Test
    void accessesCrossPageBoundaries() {
        memory.map(0x4000, 2 * Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(0x4ffe, 0x11223344);
        assertEquals(0x44, memory.readByte(0x4ffe) & 0xff);
        assertEquals(0x11, memory.readByte(0x5001) & 0xff);
        assertEquals(0x11223344, memory.readInt(0x4ffe));
        byte[] data = new byte[6000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7);
        }
        memory.write(0x4100, data);
        assertArrayEquals(data, memory.read(0x4100, data.length));
    }

    @Test
    void kernelAccessToUnmappedMemoryIsAFault() {
        memory.map(0x4000, Page.SIZE, Page.READ | Page.WRITE);
        assertThrows(GuestMemory.Fault.class, () -> memory.readInt(0x4ffe));
        assertThrows(GuestMemory.Fault.class, () -> memory.writeByte(0x3fff, (byte) 1));
        memory.write(0x4ffd, new byte[] {'a', 'b', 'c'});
        assertThrows(GuestMemory.Fault.class, () -> memory.readCString(0x4ffd, 4096), "no NUL before the unmapped page");
    }

    @Test
    void systemCallWritesNeedAWritablePage() {
        memory.map(0x8000, Page.SIZE, Page.READ);
        memory.map(0x9000, Page.SIZE, Page.READ | Page.WRITE);
        assertThrows(GuestMemory.Fault.class, () -> memory.userWriteInt(0x8000, 1), "read-only page: EFAULT");
        assertThrows(GuestMemory.Fault.class, () -> memory.userWriteLong(0x8ffc, 1), "straddles into a read-only page");
        memory.userWriteLong(0x9ff8, 0x1122334455667788L);
        assertEquals(0x1122334455667788L, memory.readLong(0x9ff8));
        memory.writeInt(0x8000, 5); // the loader's own writes ignore protection
        assertEquals(5, memory.readInt(0x8000));
    }

    @Test
    void protectKeepsContentsAndNeedsAMappedRange() {
        memory.map(0x8000, 2 * Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(0x8010, 42);
        Page before = memory.page(0x8000);
        assertTrue(memory.protect(0x8000, Page.SIZE, Page.READ));
        Page after = memory.page(0x8000);
        assertNotSame(before, after);
        assertEquals(Page.READ, after.prot());
        assertEquals(42, memory.readInt(0x8010));
        assertEquals(Page.READ | Page.WRITE, memory.protection(0x9000));
        assertFalse(memory.protect(0x8000, 3 * Page.SIZE, Page.READ), "the third page is not mapped: ENOMEM");
    }

    @Test
    void remappingReplacesContentsWithZeros() {
        memory.map(0x8000, Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(0x8000, 7);
        memory.map(0x8000, Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(0, memory.readInt(0x8000));
    }

    /**
     * The listeners (the other CPUs' TLB shootdown) hear the changes that take a translation or a right away; a
     * mapping over free pages and an mprotect that only adds rights need none (no TLB entry grants more than the
     * new mapping: misses are not cached), as Linux flushes no TLB for them. Before session 12 each was heard.
     */
    @Test
    void invalidationListenersHearChangesThatTakeSomethingAway() {
        int[] calls = new int[1];
        memory.addInvalidationListener(() -> calls[0]++);
        memory.map(0x8000, 2 * Page.SIZE, Page.READ);
        memory.protect(0x8000, Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(0, calls[0], "a new mapping over free pages, then rights added");
        memory.protect(0x8000, 2 * Page.SIZE, Page.READ);
        assertEquals(1, calls[0], "WRITE taken from one page of the range");
        memory.map(0x9000, 2 * Page.SIZE, Page.READ);
        assertEquals(2, calls[0], "a mapping that replaces a page");
        memory.unmap(0x8000, Page.SIZE);
        assertEquals(3, calls[0]);
    }

    /**
     * The CPU side of that: a read entry filled while the page was read-only does not stop a write once mprotect
     * has added WRITE without a flush (the write misses and refills from the new protection).
     */
    @Test
    void cpuWritesAPageMadeWritableWithoutAFlush() {
        long load = 0x1000, store = 0x1010, data = 0x10000;
        memory.map(load, Page.SIZE, Page.READ | Page.EXEC);
        // mov eax, [0x10000]; int 0x80 and mov dword [0x10000], 0x33; int 0x80 (hand-assembled)
        memory.write(load, new byte[] {(byte) 0xa1, 0x00, 0x00, 0x01, 0x00, (byte) 0xcd, (byte) 0x80});
        memory.write(store, new byte[] {(byte) 0xc7, 0x05, 0x00, 0x00, 0x01, 0x00, 0x33, 0, 0, 0, (byte) 0xcd, (byte) 0x80});
        memory.map(data, Page.SIZE, Page.READ);
        X86Cpu cpu = new X86Cpu(memory, IoPorts.NONE);
        memory.addInvalidationListener(cpu::flushTlb);
        cpu.enterUserMode32();
        assertEquals(0L, runLoad(cpu, load));
        cpu.setEip(store);
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(10));
        assertEquals(Signals.PF, cpu.exitVector());

        long changes = memory.changes();
        memory.protect(data, Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(changes, memory.changes(), "no flush");
        cpu.setEip(store);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(10));
        assertEquals(0x33, memory.readInt(data));
    }

    @Test
    void findFreeSkipsMappedPages() {
        memory.map(0x4000_0000L, 2 * Page.SIZE, Page.READ);
        assertEquals(0x4000_2000L, memory.findFree(0x4000_0000L, 3 * Page.SIZE, 0x5000_0000L));
        assertEquals(-1, memory.findFree(0x4000_0000L, 3 * Page.SIZE, 0x4000_3000L));
    }

    @Test
    void accessibleChecksEveryPageAndItsProtection() {
        memory.map(0x8000, Page.SIZE, Page.READ);
        memory.map(0x9000, Page.SIZE, Page.READ | Page.WRITE);
        assertTrue(memory.accessible(0x8ff0, 0x20, Page.READ));
        assertFalse(memory.accessible(0x8ff0, 0x20, Page.WRITE));
        assertFalse(memory.accessible(0x9ff0, 0x20, Page.READ));
    }

    @Test
    void rejectsUnalignedOrOutOfRangeMappings() {
        assertThrows(IllegalArgumentException.class, () -> memory.map(0x8001, Page.SIZE, Page.READ));
        assertThrows(IllegalArgumentException.class, () -> memory.map(0xffff_f000L, 2 * Page.SIZE, Page.READ));
    }

    /**
     * fork's copy shares private pages until either side writes (Linux's copy-on-write, fork(2)): the CPU sees
     * no WRITE on a shared page, the guest's protection still says writable, the first write (the #PF path's
     * unshare, or a system call's write) gives the writer its own copy, and the other side keeps the old bytes.
     */
    @Test
    void forkSharesPrivatePagesUntilTheFirstWrite() {
        memory.map(0x10000, 2 * Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(0x10000, 1);
        memory.writeInt(0x11000, 2);
        GuestMemory child = memory.copy();
        try {
            assertSame(memory.page(0x10000).ram(), child.page(0x10000).ram(), "shared, not copied");
            assertEquals(0, child.page(0x10000).prot() & Page.WRITE, "the CPU must fault on a write");
            assertEquals(Page.READ | Page.WRITE, child.protection(0x10000), "the guest's protection is unchanged");
            assertTrue(child.accessible(0x10000, 4, Page.WRITE));
            assertTrue(child.unshare(0x10000), "a write fault on a shared page is the kernel's");
            Page own = child.page(0x10000);
            assertNotSame(memory.page(0x10000).ram(), own.ram());
            assertEquals(Page.READ | Page.WRITE, own.prot());
            own.ram().set(ValueLayout.JAVA_INT_UNALIGNED, 0, 10);
            assertEquals(1, memory.readInt(0x10000), "the parent keeps its bytes");
            assertEquals(10, child.readInt(0x10000));
            assertTrue(memory.unshare(0x10000), "now the parent's alone: WRITE comes back");
            assertEquals(Page.READ | Page.WRITE, memory.page(0x10000).prot());
            assertTrue(memory.unshare(0x10000), "a writable page: another thread's copy came first, the write retries");
            memory.writeInt(0x11000, 20); // a system call's write unshares too
            assertEquals(2, child.readInt(0x11000));
            assertEquals(20, memory.readInt(0x11000));
        } finally {
            child.close();
        }
    }

    @Test
    void readOnlyPagesStayReadOnlyAndUnmappingOneSideFreesNothingTheOtherUses() {
        memory.map(0x20000, Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(0x20000, 7);
        memory.protect(0x20000, Page.SIZE, Page.READ);
        GuestMemory child = memory.copy();
        try {
            assertFalse(child.unshare(0x20000), "a write to a read-only page is the guest's SIGSEGV");
            memory.unmap(0x20000, Page.SIZE);
            memory.recycleRetired(memory.settledChanges()); // the shootdown: only then is the slice the child's alone
            memory.map(0x20000, Page.SIZE, Page.READ | Page.WRITE);
            memory.writeInt(0x20000, 99); // a recycled slice must not be the child's
            assertEquals(7, child.readInt(0x20000));
            child.protect(0x20000, Page.SIZE, Page.READ | Page.WRITE);
            assertEquals(Page.READ | Page.WRITE, child.page(0x20000).prot(), "the child is now the only holder");
        } finally {
            child.close();
        }
    }

    @Test
    void sharedMemoryStaysSharedAcrossFork() {
        java.lang.foreign.MemorySegment block = java.lang.foreign.Arena.ofAuto().allocate(2 * Page.SIZE, Page.SIZE);
        memory.mapShared(0x30000, block, Page.READ | Page.WRITE);
        GuestMemory child = memory.copy();
        try {
            assertTrue(child.isShared(0x31000));
            assertEquals(Page.READ | Page.WRITE, child.page(0x31000).prot(), "writable without a fault");
            child.writeInt(0x31000, 5);
            assertEquals(5, memory.readInt(0x31000));
            assertTrue(child.unshare(0x31000), "a writable page: nothing to copy, a write fault there is stale and retries");
            assertTrue(child.isShared(0x31000), "still shared");
            child.unmap(0x30000, 2 * Page.SIZE);
            assertEquals(5, memory.readInt(0x31000), "unmapping one side leaves the memory to the other");
        } finally {
            child.close();
        }
    }

    /**
     * munmap's pages are not handed out again until every CPU has dropped its TLB (GuestThread's shootdown
     * ends with recycleRetired): another thread could otherwise write through a stale entry into the page
     * someone else gets next.
     */
    @Test
    void unmappedPagesWaitForTheTlbShootdownBeforeReuse() {
        memory.map(0x40000, Page.SIZE, Page.READ | Page.WRITE);
        long old = memory.page(0x40000).ram().address();
        memory.unmap(0x40000, Page.SIZE);
        memory.map(0x50000, Page.SIZE, Page.READ | Page.WRITE);
        assertTrue(memory.page(0x50000).ram().address() != old, "reused before the shootdown");
        memory.recycleRetired(memory.settledChanges());
        memory.map(0x60000, Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(old, memory.page(0x60000).ram().address(), "reused after it");
    }

    /**
     * A shootdown covers the changes made before it started (GuestThread reads settledChanges, waits, then
     * recycles): a slice another thread unmapped after that may still be in a CPU's TLB and must stay retired.
     */
    @Test
    void aShootdownReleasesOnlyWhatChangesBeforeItRetired() {
        memory.map(0x40000, 2 * Page.SIZE, Page.READ | Page.WRITE);
        long first = memory.page(0x40000).ram().address();
        long second = memory.page(0x41000).ram().address();
        memory.unmap(0x40000, Page.SIZE);
        long settled = memory.settledChanges();
        memory.unmap(0x41000, Page.SIZE); // another thread's munmap, after our shootdown began
        memory.recycleRetired(settled);
        memory.map(0x50000, 2 * Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(first, memory.page(0x50000).ram().address(), "the first unmapped page is reused");
        assertTrue(memory.page(0x51000).ram().address() != second, "the later one waits for its own shootdown");
    }

    /**
     * After a copy-on-write copy the old slice still belongs to this space until its CPUs have dropped it (Linux
     * drops the page's map count after the TLB flush): until then the child must copy too rather than take the
     * slice over and write it, which a CPU of the parent may still be reading.
     */
    @Test
    void aCopiedPageGoesToTheOtherHolderOnlyAfterTheShootdown() {
        memory.map(0x10000, Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(0x10000, 1);
        GuestMemory child = memory.copy();
        try {
            long shared = memory.page(0x10000).ram().address();
            assertTrue(memory.unshare(0x10000), "the parent's write fault copies");
            assertTrue(child.unshare(0x10000));
            assertTrue(child.page(0x10000).ram().address() != shared, "before the parent's shootdown the child copies too");
            GuestMemory second = memory.copy();
            try {
                assertTrue(memory.unshare(0x10000));
                long parentOld = second.page(0x10000).ram().address();
                memory.recycleRetired(memory.settledChanges());
                assertTrue(second.unshare(0x10000));
                assertEquals(parentOld, second.page(0x10000).ram().address(), "after it the last holder keeps the slice");
            } finally {
                second.close();
            }
        } finally {
            child.close();
        }
    }

    /**
     * The CPU's TLB holds the host address of each page it hits: after munmap (its invalidation) the entry must
     * be gone, even once the page's host memory serves another mapping, and a new mapping at the address reads
     * fresh zeros. Linux semantics: an access to an unmapped page is a fault, a new anonymous page is zero.
     */
    @Test
    void cpuTlbNeverSurvivesUnmapAndReuseOfItsPage() {
        long code = 0x1000, data = 0x10000, other = 0x20000;
        memory.map(code, Page.SIZE, Page.READ | Page.EXEC);
        // mov eax, [0x10000]; int 0x80 (hand-assembled: A1 imm32, CD ib)
        memory.write(code, new byte[] {(byte) 0xa1, 0x00, 0x00, 0x01, 0x00, (byte) 0xcd, (byte) 0x80});
        memory.map(data, Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(data, 0x11111111);
        X86Cpu cpu = new X86Cpu(memory, IoPorts.NONE);
        memory.addInvalidationListener(cpu::flushTlb);
        cpu.enterUserMode32();
        long slice = memory.page(data).ram().address();

        assertEquals(0x11111111L, runLoad(cpu, code));
        memory.unmap(data, Page.SIZE);
        memory.recycleRetired(memory.settledChanges());
        memory.map(other, Page.SIZE, Page.READ | Page.WRITE);
        memory.writeInt(other, 0x22222222);
        assertEquals(slice, memory.page(other).ram().address(), "the test needs the old page's memory reused");
        cpu.setEip(code);
        assertEquals(X86Cpu.EXIT_EXCEPTION, cpu.run(10));
        assertEquals(Signals.PF, cpu.exitVector());
        assertEquals(data, cpu.faultAddress());

        memory.map(data, Page.SIZE, Page.READ | Page.WRITE);
        assertEquals(0L, runLoad(cpu, code));
        assertEquals(0x22222222, memory.readInt(other));
    }

    private static long runLoad(X86Cpu cpu, long code) {
        cpu.setEip(code);
        assertEquals(X86Cpu.EXIT_INTERRUPT, cpu.run(10));
        return cpu.reg(X86Cpu.EAX);
    }
}
