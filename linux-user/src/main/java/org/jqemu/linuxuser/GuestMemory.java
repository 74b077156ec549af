package org.jqemu.linuxuser;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;

/**
 * The virtual address space of one 32-bit guest process: 4 KiB pages, each a slice of host memory
 * allocated from the process's {@link Arena} the first time the guest (or the loader) touches it.
 *
 * <p>A page is in one of three states: unmapped (null entry), mapped but never touched (a shared
 * {@link #RESERVED} marker carrying only the protection), or backed (a {@link Page} with its slice).
 * Mapping a large anonymous region therefore costs nothing until it is used, as on Linux.
 *
 * <p>Freed slices go to a free list and are zeroed when reused: an Arena cannot free one slice.
 *
 * <p>Fork plan (copy-on-write, not built yet): {@code fork} will create a second GuestMemory sharing
 * every backed slice, with a per-slice reference count; both sides map shared pages without
 * {@link Page#WRITE} while remembering the guest's protection in a parallel "wanted prot" table. A write
 * #PF on such a page copies the slice when its count is above one (else just restores WRITE), then
 * flushes the CPU's TLB for that page. Unshared slices keep today's zero-copy path.
 */
public final class GuestMemory implements AddressSpace {
    public static final long ADDRESS_LIMIT = 1L << 32;
    private static final int DIR_SHIFT = 10;
    private static final int TABLE_MASK = (1 << DIR_SHIFT) - 1;
    /** Slices are carved from chunks of this many pages so the Arena does few large allocations. */
    private static final int CHUNK_PAGES = 64;

    private final Arena arena = Arena.ofShared();
    private final Page[][] directory = new Page[1 << DIR_SHIFT][];
    private final ArrayDeque<MemorySegment> freeSlices = new ArrayDeque<>();
    private final List<Runnable> invalidationListeners = new CopyOnWriteArrayList<>();
    private MemorySegment chunk = MemorySegment.NULL;
    private int chunkUsed = CHUNK_PAGES;
    private long backedPages;

    /** Pages mapped but not yet touched share one marker per protection. */
    private static final Page[] RESERVED = new Page[8];

    static {
        for (int prot = 0; prot < RESERVED.length; prot++) {
            RESERVED[prot] = new Page(null, null, -1, prot);
        }
    }

    /** Called after a mapping changes so that CPUs drop cached translations (X86Cpu::flushTlb). */
    public void addInvalidationListener(Runnable listener) {
        invalidationListeners.add(listener);
    }

    public void removeInvalidationListener(Runnable listener) {
        invalidationListeners.remove(listener);
    }

    /** Processes using this space (CLONE_VM shares it); the last {@link #release} frees the host memory. */
    private final java.util.concurrent.atomic.AtomicInteger users = new java.util.concurrent.atomic.AtomicInteger(1);

    /**
     * System V shared memory attached here, by attach address (shmdt names the address). Pages of a segment
     * are not this space's own: fork shares them, unmapping leaves them alone. Guarded by {@link SysvShm}.
     */
    final java.util.Map<Long, SysvShm.Segment> shmAttachments = new java.util.HashMap<>();
    /** The IPC namespace the attachments belong to, told when this space goes. */
    private SysvShm shm;

    public GuestMemory retain() {
        users.incrementAndGet();
        return this;
    }

    public void release() {
        if (users.decrementAndGet() == 0) {
            close();
        }
    }

    /**
     * fork: a new space with the same mappings and a private copy of every backed page (untouched pages stay
     * untouched). A plain copy, not copy-on-write: the pages a shell has touched are few enough. Shared pages
     * (MAP_SHARED anonymous memory, System V segments) are shared by the copy, as fork keeps them shared.
     */
    public synchronized GuestMemory copy() {
        GuestMemory child = new GuestMemory();
        if (shm != null) {
            child.inheritAttachments(this);
        }
        for (int d = 0; d < directory.length; d++) {
            Page[] table = directory[d];
            if (table == null) {
                continue;
            }
            Page[] copy = new Page[table.length];
            for (int i = 0; i < table.length; i++) {
                Page page = table[i];
                if (page != null && page.ram() != null && owns(page.ram())) {
                    MemorySegment slice = child.newSlice();
                    slice.copyFrom(page.ram());
                    copy[i] = Page.ram(slice, page.prot());
                    child.backedPages++;
                } else {
                    copy[i] = page;
                }
            }
            child.directory[d] = copy;
        }
        return child;
    }

    private void inheritAttachments(GuestMemory parent) {
        shm = parent.shm;
        synchronized (shm) {
            shmAttachments.putAll(parent.shmAttachments);
            for (SysvShm.Segment s : shmAttachments.values()) {
                shm.inherited(s);
            }
        }
    }

    /** Whether the slice is this space's private memory (not a shared segment's page). */
    private boolean owns(MemorySegment slice) {
        return slice.scope().equals(arena.scope());
    }

    /** Whether the page at {@code address} is shared memory (MAP_SHARED anonymous or System V). */
    public boolean isShared(long address) {
        Page entry = entry(address);
        return entry != null && entry.ram() != null && !owns(entry.ram());
    }

    /**
     * Maps the pages of {@code block} (host memory that outlives this space: a shared anonymous mapping or a
     * System V segment) at {@code start}, replacing what was there. Writes through any space mapping the
     * block are seen by all of them.
     */
    public synchronized void mapShared(long start, MemorySegment block, int prot) {
        checkRange(start, block.byteSize());
        for (long off = 0; off < block.byteSize(); off += Page.SIZE) {
            set(start + off, Page.ram(block.asSlice(off, Page.SIZE), prot & Page.RWX));
        }
        invalidate();
    }

    /** Records a System V attachment (the registry calls it, holding its lock). */
    void attached(SysvShm registry) {
        shm = registry;
    }

    /** True when no page of [start, start+length) is mapped. */
    public boolean isFree(long start, long length) {
        for (long a = start; a < start + length; a += Page.SIZE) {
            if (entry(a) != null) {
                return false;
            }
        }
        return true;
    }

    @Override
    public Page page(long address) {
        if (address < 0 || address >= ADDRESS_LIMIT) {
            return null;
        }
        int index = (int) (address >>> Page.SHIFT);
        Page[] table = directory[index >>> DIR_SHIFT];
        if (table == null) {
            return null;
        }
        Page page = table[index & TABLE_MASK];
        if (page == null || page.ram() != null) {
            return page;
        }
        return back(table, index, page.prot());
    }

    /**
     * Gives a touched page its host memory. When the host has none left the page stays unbacked and the
     * access faults (the guest gets SIGSEGV where Linux would OOM-kill it): the emulator itself survives.
     */
    private synchronized Page back(Page[] table, int index, int prot) {
        Page current = table[index & TABLE_MASK];
        if (current == null || current.ram() != null) {
            return current; // another thread backed (or unmapped) it first
        }
        MemorySegment slice;
        try {
            slice = newSlice();
        } catch (OutOfMemoryError e) {
            return null;
        }
        Page page = Page.ram(slice, current.prot());
        table[index & TABLE_MASK] = page;
        backedPages++;
        return page;
    }

    private MemorySegment newSlice() {
        MemorySegment reused = freeSlices.poll();
        if (reused != null) {
            return reused.fill((byte) 0);
        }
        if (chunkUsed == CHUNK_PAGES) {
            chunk = arena.allocate((long) CHUNK_PAGES * Page.SIZE, Page.SIZE);
            chunkUsed = 0;
        }
        return chunk.asSlice((long) Page.SIZE * chunkUsed++, Page.SIZE);
    }

    /** Pages with host memory behind them (for statistics and tests). */
    public long backedPages() { return backedPages; }

    /** True when every page of [start, start+length) is mapped. */
    public boolean isMapped(long start, long length) {
        for (long a = pageFloor(start); a < start + length; a += Page.SIZE) {
            if (entry(a) == null) {
                return false;
            }
        }
        return true;
    }

    /** The protection of the page at {@code address}, or -1 when unmapped. */
    public int protection(long address) {
        Page entry = entry(address);
        return entry == null ? -1 : entry.prot();
    }

    private Page entry(long address) {
        if (address < 0 || address >= ADDRESS_LIMIT) {
            return null;
        }
        int index = (int) (address >>> Page.SHIFT);
        Page[] table = directory[index >>> DIR_SHIFT];
        return table == null ? null : table[index & TABLE_MASK];
    }

    /**
     * Maps fresh zero pages over [start, start+length), replacing whatever was there (MAP_FIXED semantics).
     * {@code start} must be page aligned; the length is rounded up to whole pages.
     */
    public synchronized void map(long start, long length, int prot) {
        checkRange(start, length);
        long end = pageCeil(start + length);
        for (long a = start; a < end; a += Page.SIZE) {
            set(a, RESERVED[prot & Page.RWX]);
        }
        invalidate();
    }

    /** Removes the pages of [start, start+length); unmapped pages in the range are fine, as for munmap. */
    public synchronized void unmap(long start, long length) {
        checkRange(start, length);
        long end = pageCeil(start + length);
        for (long a = start; a < end; a += Page.SIZE) {
            set(a, null);
        }
        invalidate();
    }

    /** Changes the protection of [start, start+length); false (ENOMEM) if part of the range is unmapped. */
    public synchronized boolean protect(long start, long length, int prot) {
        checkRange(start, length);
        long end = pageCeil(start + length);
        if (!isMapped(start, end - start)) {
            return false;
        }
        for (long a = start; a < end; a += Page.SIZE) {
            Page old = entry(a);
            set(a, old.ram() == null ? RESERVED[prot & Page.RWX] : Page.ram(old.ram(), prot & Page.RWX));
        }
        invalidate();
        return true;
    }

    private void set(long address, Page page) {
        int index = (int) (address >>> Page.SHIFT);
        Page[] table = directory[index >>> DIR_SHIFT];
        if (table == null) {
            if (page == null) {
                return;
            }
            table = new Page[1 << DIR_SHIFT];
            directory[index >>> DIR_SHIFT] = table;
        }
        Page old = table[index & TABLE_MASK];
        if (old != null && old.ram() != null && (page == null || page.ram() != old.ram()) && owns(old.ram())) {
            freeSlices.push(old.ram());
            backedPages--;
        }
        table[index & TABLE_MASK] = page;
    }

    private void invalidate() {
        for (Runnable listener : invalidationListeners) {
            listener.run();
        }
    }

    /**
     * The lowest page-aligned address at or above {@code hint} where {@code length} bytes are free and below
     * {@code limit}, or -1. Linear first fit over the page table: mappings are few in the programs we run.
     */
    public long findFree(long hint, long length, long limit) {
        long size = pageCeil(length);
        long start = pageCeil(hint);
        long run = 0;
        for (long a = start; a + Page.SIZE <= limit; a += Page.SIZE) {
            if (entry(a) != null) {
                run = 0;
                start = a + Page.SIZE;
                continue;
            }
            run += Page.SIZE;
            if (run >= size) {
                return start;
            }
        }
        return -1;
    }

    private static void checkRange(long start, long length) {
        if ((start & Page.OFFSET_MASK) != 0 || length < 0 || start < 0 || start + length > ADDRESS_LIMIT) {
            throw new IllegalArgumentException("bad range 0x" + Long.toHexString(start) + "+0x" + Long.toHexString(length));
        }
    }

    public static long pageFloor(long address) { return address & ~Page.OFFSET_MASK; }

    public static long pageCeil(long address) { return (address + Page.OFFSET_MASK) & ~Page.OFFSET_MASK; }

    // ---- Kernel-side access (the loader and system calls): ignores protection, fails on unmapped pages.

    /** Thrown when the kernel side touches an unmapped guest address: system calls turn it into -EFAULT. */
    public static final class Fault extends RuntimeException {
        public Fault(long address) {
            super("guest address 0x" + Long.toHexString(address) + " is not mapped", null, false, false);
        }
    }

    private MemorySegment slice(long address) {
        Page page = page(address & (ADDRESS_LIMIT - 1));
        if (page == null || page.ram() == null || address < 0 || address >= ADDRESS_LIMIT) {
            throw new Fault(address);
        }
        return page.ram();
    }

    public byte readByte(long address) {
        return slice(address).get(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK);
    }

    public void writeByte(long address, byte value) {
        slice(address).set(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK, value);
    }

    public int readInt(long address) {
        if ((address & Page.OFFSET_MASK) <= Page.SIZE - 4) {
            return slice(address).get(ValueLayout.JAVA_INT_UNALIGNED, address & Page.OFFSET_MASK);
        }
        int value = 0;
        for (int i = 3; i >= 0; i--) {
            value = (value << 8) | (readByte(address + i) & 0xff);
        }
        return value;
    }

    public void writeInt(long address, int value) {
        if ((address & Page.OFFSET_MASK) <= Page.SIZE - 4) {
            slice(address).set(ValueLayout.JAVA_INT_UNALIGNED, address & Page.OFFSET_MASK, value);
            return;
        }
        for (int i = 0; i < 4; i++) {
            writeByte(address + i, (byte) (value >>> (8 * i)));
        }
    }

    public void writeLong(long address, long value) {
        writeInt(address, (int) value);
        writeInt(address + 4, (int) (value >>> 32));
    }

    public short readShort(long address) {
        return (short) ((readByte(address) & 0xff) | (readByte(address + 1) << 8));
    }

    public long readLong(long address) {
        return (readInt(address) & 0xffff_ffffL) | ((long) readInt(address + 4) << 32);
    }

    /** Copies guest memory out, page by page. */
    public void read(long address, byte[] dst, int offset, int length) {
        while (length > 0) {
            int inPage = (int) Math.min(length, Page.SIZE - (address & Page.OFFSET_MASK));
            MemorySegment.copy(slice(address), ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK, dst, offset, inPage);
            address += inPage;
            offset += inPage;
            length -= inPage;
        }
    }

    public byte[] read(long address, int length) {
        byte[] bytes = new byte[length];
        read(address, bytes, 0, length);
        return bytes;
    }

    /** Copies into guest memory, page by page. */
    public void write(long address, byte[] src, int offset, int length) {
        while (length > 0) {
            int inPage = (int) Math.min(length, Page.SIZE - (address & Page.OFFSET_MASK));
            MemorySegment.copy(src, offset, slice(address), ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK, inPage);
            address += inPage;
            offset += inPage;
            length -= inPage;
        }
    }

    public void write(long address, byte[] src) { write(address, src, 0, src.length); }

    /** A NUL-terminated string of at most {@code max} bytes (UTF-8 as Linux paths are bytes). */
    public String readCString(long address, int max) {
        byte[] buffer = new byte[64];
        int n = 0;
        for (; ; n++) {
            if (n == max) {
                throw new Fault(address + n);
            }
            byte b = readByte(address + n);
            if (b == 0) {
                break;
            }
            if (n == buffer.length) {
                buffer = java.util.Arrays.copyOf(buffer, n * 2);
            }
            buffer[n] = b;
        }
        return new String(buffer, 0, n, StandardCharsets.UTF_8);
    }

    // ---- System-call access (copy_to_user): like the kernel-side writes, but only to pages the guest may write.

    private void checkUserWrite(long address, long length) {
        if (!accessible(address, length, Page.WRITE)) {
            throw new Fault(address);
        }
    }

    public void userWriteInt(long address, int value) {
        checkUserWrite(address, 4);
        writeInt(address, value);
    }

    public void userWriteLong(long address, long value) {
        checkUserWrite(address, 8);
        writeLong(address, value);
    }

    public void userWrite(long address, byte[] src, int offset, int length) {
        checkUserWrite(address, length);
        write(address, src, offset, length);
    }

    public void userWrite(long address, byte[] src) { userWrite(address, src, 0, src.length); }

    /** Whether every page of the range is mapped with all of {@code prot} (access_ok for a system call). */
    public boolean accessible(long start, long length, int prot) {
        if (start < 0 || start + length > ADDRESS_LIMIT) {
            return false;
        }
        for (long a = pageFloor(start); a < start + length; a += Page.SIZE) {
            Page entry = entry(a);
            if (entry == null || (entry.prot() & prot) != prot) {
                return false;
            }
        }
        return true;
    }

    /** Gives the host memory back and detaches System V segments; the process is gone. */
    public void close() {
        if (shm != null) {
            synchronized (shm) {
                for (SysvShm.Segment s : shmAttachments.values()) {
                    shm.detached(s);
                }
                shmAttachments.clear();
            }
        }
        arena.close();
    }
}
