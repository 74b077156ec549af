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
 * allocated the first time the guest (or the loader) touches it.
 *
 * <p>A page is in one of three states: unmapped (null entry), mapped but never touched (a shared
 * {@link #RESERVED} marker carrying only the protection), or backed (a {@link Page} with its slice).
 * Mapping a large anonymous region therefore costs nothing until it is used, as on Linux.
 *
 * <p>Freed slices go to a free list and are zeroed when reused: an Arena cannot free one slice. Slices come
 * from automatic arenas (chunks the GC frees once no space holds one of their slices), because after fork a
 * slice may outlive the space that allocated it.
 *
 * <p>Copy-on-write: {@link #copy} (fork) gives the child the parent's private slices themselves and counts
 * the spaces holding each one in {@link #SHARERS}. While a slice is shared, both sides map it without
 * {@link Page#WRITE}; a page the guest may write carries {@link #COW_WRITE} instead (a bit outside
 * {@link Page#RWX}, which the CPU ignores). The guest's first write faults (#PF), and {@link #unshare}
 * gives the writer its own copy, or, when it is the last holder, simply the WRITE bit back; the thread then
 * retries the instruction. Kernel-side writes (system calls, signal frames) unshare the same way first.
 * Shared memory (MAP_SHARED anonymous, System V) is never copied: those pages are listed in
 * {@link #sharedMemory} and stay shared across fork.
 */
public final class GuestMemory implements AddressSpace {
    public static final long ADDRESS_LIMIT = 1L << 32;
    private static final int DIR_SHIFT = 10;
    private static final int TABLE_MASK = (1 << DIR_SHIFT) - 1;
    /** Slices are carved from chunks of this many pages so the Arena does few large allocations. */
    private static final int CHUNK_PAGES = 64;

    /** Page.prot bit of a copy-on-write page the guest may write (the CPU sees no WRITE until the copy). */
    static final int COW_WRITE = 8;
    /** Private slices held by more than one space (after fork), by host address: how many spaces hold each. */
    private static final java.util.Map<Long, Integer> SHARERS = new java.util.HashMap<>();
    /** Page numbers whose slices are shared memory, not private (null until the first such mapping). */
    private java.util.BitSet sharedMemory;
    private final Page[][] directory = new Page[1 << DIR_SHIFT][];
    private final ArrayDeque<MemorySegment> freeSlices = new ArrayDeque<>();
    /**
     * Slices this space stopped mapping (munmap, or a copy-on-write copy made), oldest first: another CPU over
     * this space may still reach them through its TLB, so they are neither reused nor given up to the other
     * holders of a shared slice until {@link #recycleRetired} says every CPU has dropped the translations of
     * the change that retired them (Linux frees a page, or drops its map count, only after the TLB flush).
     */
    private final ArrayDeque<Retired> retiredSlices = new ArrayDeque<>();

    /** A slice retired by change number {@code change} (see {@link #changes}); {@code shared}: held by other spaces. */
    private record Retired(MemorySegment slice, long change, boolean shared) { }

    /**
     * fork's copy-on-write marking is being flushed from the other CPUs: until then one of them may still write
     * a now shared page through its TLB, so no copy of a shared page may be made (see {@link #copy}).
     */
    private int marking;
    private final List<Runnable> invalidationListeners = new CopyOnWriteArrayList<>();
    private MemorySegment chunk = MemorySegment.NULL;
    private int chunkUsed = CHUNK_PAGES;
    private long backedPages;

    /** Pages mapped but not yet touched share one marker per protection. */
    private static final Page[] RESERVED = new Page[Page.RWX + 1];

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
     * fork: a new space with the same mappings, sharing every backed private page copy-on-write (see the
     * class comment; untouched pages stay untouched). Shared memory (MAP_SHARED anonymous, System V) is
     * shared outright, as fork keeps it shared.
     */
    public GuestMemory copy() {
        return copy(() -> { });
    }

    /**
     * {@link #copy()} in a space other CPUs run over: {@code awaitOtherCpus} returns once each has dropped the
     * translations it had (its write TLB may still hold the pages just shared). Until then no thread of this
     * space breaks the sharing of a page, as a copy made then could miss such a late write.
     */
    public GuestMemory copy(Runnable awaitOtherCpus) {
        GuestMemory child = new GuestMemory();
        if (shm != null) {
            child.inheritAttachments(this); // before this space's lock: shmat takes the registry's lock, then it
        }
        synchronized (this) {
            copyPagesTo(child);
            marking++;
            invalidate();
        }
        try {
            awaitOtherCpus.run();
        } finally {
            synchronized (this) {
                marking--;
                notifyAll();
            }
        }
        return child;
    }

    private void copyPagesTo(GuestMemory child) {
        if (sharedMemory != null) {
            child.sharedMemory = (java.util.BitSet) sharedMemory.clone();
        }
        synchronized (SHARERS) {
            for (int d = 0; d < directory.length; d++) {
                Page[] table = directory[d];
                if (table == null) {
                    continue;
                }
                Page[] copy = new Page[table.length];
                for (int i = 0; i < table.length; i++) {
                    Page page = table[i];
                    if (page != null && page.ram() != null && !isSharedMemory((d << DIR_SHIFT) | i)) {
                        page = Page.ram(page.ram(), copyOnWrite(page.prot()));
                        table[i] = page;
                        SHARERS.merge(page.ram().address(), 2, (held, one) -> held + 1);
                        child.backedPages++;
                    }
                    copy[i] = page;
                }
                child.directory[d] = copy;
            }
        }
    }

    /** The protection a shared private page is mapped with: WRITE becomes {@link #COW_WRITE}. */
    private static int copyOnWrite(int prot) {
        return (prot & Page.WRITE) != 0 ? (prot & ~Page.WRITE) | COW_WRITE : prot;
    }

    /** The guest's protection of a page entry (a copy-on-write page is writable to the guest). */
    private static int guestProt(int prot) {
        return (prot & Page.RWX) | ((prot & COW_WRITE) != 0 ? Page.WRITE : 0);
    }

    private boolean isSharedMemory(int pageNumber) {
        return sharedMemory != null && sharedMemory.get(pageNumber);
    }

    /**
     * A guest write fault at {@code address}: if the page is copy-on-write, this space gets its own copy
     * (or, as the last holder, the slice itself) with WRITE back, and true. False when the guest may not
     * write the page: the fault is the guest's.
     */
    public boolean unshare(long address) {
        return unshare(address, false);
    }

    /**
     * Gives this space its own copy of the private page at {@code address} if another space shares it, and
     * WRITE back if the guest may write it. {@code readOnlyToo}: a kernel-side write, which ignores the
     * protection, unshares a read-only page as well.
     */
    private synchronized boolean unshare(long address, boolean readOnlyToo) {
        awaitMarking();
        Page page = entry(address);
        int index = (int) (address >>> Page.SHIFT);
        if (!readOnlyToo && page != null && page.ram() != null && (page.prot() & Page.WRITE) != 0) {
            return true; // another thread of this space broke the sharing between our fault and now: retry
        }
        if (page == null || page.ram() == null || isSharedMemory(index)
                || !readOnlyToo && (page.prot() & COW_WRITE) == 0) {
            return false;
        }
        MemorySegment slice = page.ram();
        boolean copied;
        synchronized (SHARERS) {
            Integer holders = SHARERS.get(slice.address());
            copied = holders != null;
            if (copied) {
                MemorySegment own;
                try {
                    own = newSlice();
                } catch (OutOfMemoryError e) {
                    return false; // no host memory: the write faults (SIGSEGV) and the emulator survives
                }
                own.copyFrom(slice);
                slice = own;
                retire(page.ram(), true); // the other holders take it over once our CPUs stopped reading it
            }
        }
        if (!copied && (page.prot() & COW_WRITE) == 0) {
            return false;
        }
        directory[index >>> DIR_SHIFT][index & TABLE_MASK] = Page.ram(slice, guestProt(page.prot()));
        invalidate();
        return true;
    }

    /** One space fewer holds {@code slice} (of {@code holders}); the last holder owns it alone. Under SHARERS. */
    private static void dropSharer(MemorySegment slice, int holders) {
        if (holders > 2) {
            SHARERS.put(slice.address(), holders - 1);
        } else {
            SHARERS.remove(slice.address());
        }
    }

    /** Waits (this space's lock held) while fork's copy-on-write marking is flushed from the other CPUs. */
    private void awaitMarking() {
        boolean interrupted = false;
        while (marking > 0) {
            try {
                wait();
            } catch (InterruptedException e) {
                interrupted = true; // a signal: it is noticed once the fault or call is done
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** A slice this space no longer maps: freed, or given up to the other spaces holding it, after the shootdown. */
    private void release(MemorySegment slice) {
        retire(slice, heldByOthers(slice));
    }

    /** Numbers the change in progress: {@link #invalidate} counts it once the slices it retires are listed. */
    private void retire(MemorySegment slice, boolean shared) {
        retiredSlices.add(new Retired(slice, changes + 1, shared));
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

    /** Whether the page at {@code address} is shared memory (MAP_SHARED anonymous or System V). */
    public synchronized boolean isShared(long address) {
        return isSharedMemory((int) (address >>> Page.SHIFT));
    }

    /**
     * Maps the pages of {@code block} (host memory that outlives this space: a shared anonymous mapping or a
     * System V segment) at {@code start}, replacing what was there. Writes through any space mapping the
     * block are seen by all of them.
     */
    public synchronized void mapShared(long start, MemorySegment block, int prot) {
        checkRange(start, block.byteSize());
        if (sharedMemory == null) {
            sharedMemory = new java.util.BitSet();
        }
        for (long off = 0; off < block.byteSize(); off += Page.SIZE) {
            set(start + off, Page.ram(block.asSlice(off, Page.SIZE), prot & Page.RWX));
            sharedMemory.set((int) ((start + off) >>> Page.SHIFT));
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
            chunk = Arena.ofAuto().allocate((long) CHUNK_PAGES * Page.SIZE, Page.SIZE);
            chunkUsed = 0;
        }
        return chunk.asSlice((long) Page.SIZE * chunkUsed++, Page.SIZE);
    }

    /**
     * The number of the last mapping change whose invalidation has reached every listener: a TLB shootdown
     * that starts after reading it covers that change and all before it.
     */
    public synchronized long settledChanges() {
        return changes;
    }

    /**
     * Every CPU over this space has dropped the translations it had before change {@code settled} (see
     * {@link #settledChanges}): the slices retired up to that change are reused, or left to their other holders.
     */
    public synchronized void recycleRetired(long settled) {
        while (!retiredSlices.isEmpty() && retiredSlices.peek().change() <= settled) {
            giveUp(retiredSlices.poll());
        }
    }

    private void giveUp(Retired r) {
        if (r.shared()) {
            synchronized (SHARERS) {
                Integer holders = SHARERS.get(r.slice().address());
                if (holders != null) {
                    dropSharer(r.slice(), holders);
                    return;
                }
            }
        }
        freeSlices.push(r.slice());
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
        return entry == null ? -1 : guestProt(entry.prot());
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
        boolean replaces = !isFree(start, end - start);
        for (long a = start; a < end; a += Page.SIZE) {
            set(a, RESERVED[prot & Page.RWX]);
        }
        if (replaces) {
            invalidate(); // over unmapped pages no TLB holds an entry (misses are not cached): no shootdown, as Linux
        }
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
        boolean narrows = false;
        for (long a = start; a < end; a += Page.SIZE) {
            Page old = entry(a);
            Page now = old.ram() == null ? RESERVED[prot & Page.RWX] : Page.ram(old.ram(), withSharing(old, prot & Page.RWX));
            narrows |= (old.prot() & Page.RWX & ~now.prot()) != 0;
            set(a, now);
        }
        if (narrows) {
            invalidate(); // only added rights: a TLB entry (same slice, fewer rights) misses and refills, as Linux needs no flush
        }
        return true;
    }

    /** {@code prot} for a backed page, withholding WRITE while it is still (or may be) copy-on-write. */
    private static int withSharing(Page old, int prot) {
        boolean shared = (old.prot() & COW_WRITE) != 0 || (old.prot() & Page.WRITE) == 0 && heldByOthers(old.ram());
        return shared ? copyOnWrite(prot) : prot;
    }

    private static boolean heldByOthers(MemorySegment slice) {
        synchronized (SHARERS) {
            return SHARERS.containsKey(slice.address());
        }
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
        if (old != null && old.ram() != null && (page == null || page.ram() != old.ram())) {
            if (isSharedMemory(index)) {
                sharedMemory.clear(index);
            } else {
                release(old.ram());
                backedPages--;
            }
        }
        table[index & TABLE_MASK] = page;
    }

    /** Counts mapping changes, so a system call can tell whether it changed any (see GuestThread.systemCall). */
    private volatile long changes;

    public long changes() { return changes; }

    private void invalidate() {
        changes++;
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

    /** The slice a kernel-side write goes to: never a page another space shares copy-on-write. */
    private MemorySegment writableSlice(long address) {
        MemorySegment slice = slice(address);
        Page page = entry(address);
        if ((page.prot() & Page.WRITE) == 0 && ((page.prot() & COW_WRITE) != 0 || heldByOthers(slice))) {
            unshare(address, true);
            slice = slice(address);
        }
        return slice;
    }

    /** The page slice at {@code address} for a system call to fill (read(2) into a guest buffer). */
    public MemorySegment writablePage(long address) {
        return writableSlice(address);
    }

    public byte readByte(long address) {
        return slice(address).get(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK);
    }

    public void writeByte(long address, byte value) {
        writableSlice(address).set(ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK, value);
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
            writableSlice(address).set(ValueLayout.JAVA_INT_UNALIGNED, address & Page.OFFSET_MASK, value);
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
            MemorySegment.copy(src, offset, writableSlice(address), ValueLayout.JAVA_BYTE, address & Page.OFFSET_MASK, inPage);
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

    // Under this space's lock, as is every copy_to_user/copy_from_user below: a check and its copy see one state
    // of the mappings, so a page another thread unmaps meanwhile (its slice retired, soon reused) is never written.

    public synchronized void userWriteInt(long address, int value) {
        checkUserWrite(address, 4);
        writeInt(address, value);
    }

    public synchronized void userWriteLong(long address, long value) {
        checkUserWrite(address, 8);
        writeLong(address, value);
    }

    public synchronized void userWrite(long address, byte[] src, int offset, int length) {
        checkUserWrite(address, length);
        write(address, src, offset, length);
    }

    /**
     * copy_to_user as the bytes arrive (a pipe read that waited, a host read into a bounce buffer): copies
     * {@code length} bytes of {@code src} from {@code offset} to {@code address}, page by page, up to the first
     * page the guest cannot write now. Returns the bytes copied (fewer than asked: -EFAULT's cue).
     */
    public synchronized long copyToUser(long address, MemorySegment src, long offset, long length) {
        return copyUser(address, src, offset, length, true);
    }

    /** copy_from_user, likewise: up to the first page the guest cannot read now; returns the bytes copied. */
    public synchronized long copyFromUser(long address, MemorySegment dst, long offset, long length) {
        return copyUser(address, dst, offset, length, false);
    }

    private long copyUser(long address, MemorySegment host, long offset, long length, boolean toGuest) {
        int prot = toGuest ? Page.WRITE : Page.READ;
        long done = 0;
        while (done < length) {
            long at = address + done;
            int inPage = (int) Math.min(length - done, Page.SIZE - (at & Page.OFFSET_MASK));
            if (!accessible(at, inPage, prot)) {
                break;
            }
            MemorySegment slice;
            try {
                slice = toGuest ? writableSlice(at) : slice(at);
            } catch (Fault e) {
                break; // no host memory left to back the page
            }
            if (!accessible(at, inPage, prot)) {
                break; // writableSlice waited for fork's marking (the lock let go): the page changed meanwhile
            }
            if (toGuest) {
                MemorySegment.copy(host, offset + done, slice, at & Page.OFFSET_MASK, inPage);
            } else {
                MemorySegment.copy(slice, at & Page.OFFSET_MASK, host, offset + done, inPage);
            }
            done += inPage;
        }
        return done;
    }

    public void userWrite(long address, byte[] src) { userWrite(address, src, 0, src.length); }

    /** Whether every page of the range is mapped with all of {@code prot} (access_ok for a system call). */
    public boolean accessible(long start, long length, int prot) {
        if (start < 0 || start + length > ADDRESS_LIMIT) {
            return false;
        }
        for (long a = pageFloor(start); a < start + length; a += Page.SIZE) {
            Page entry = entry(a);
            if (entry == null || (guestProt(entry.prot()) & prot) != prot) {
                return false;
            }
        }
        return true;
    }

    /**
     * Gives the host memory back (to the GC: other spaces may hold slices of this one's chunks) and detaches
     * System V segments; the process is gone.
     */
    public void close() {
        if (shm != null) { // before this space's lock, as in copy
            synchronized (shm) {
                for (SysvShm.Segment s : shmAttachments.values()) {
                    shm.detached(s);
                }
                shmAttachments.clear();
            }
        }
        synchronized (this) {
            releaseAll();
        }
    }

    private void releaseAll() {
        for (int d = 0; d < directory.length; d++) {
            if (directory[d] != null) {
                for (int i = 0; i <= TABLE_MASK; i++) {
                    set(((long) d << (DIR_SHIFT + Page.SHIFT)) | ((long) i << Page.SHIFT), null);
                }
                directory[d] = null;
            }
        }
        while (!retiredSlices.isEmpty()) { // no CPU runs over a closed space
            giveUp(retiredSlices.poll());
        }
        freeSlices.clear();
    }
}
