package org.jqemu.target.i386;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.HostMemory;
import org.jqemu.memory.Page;

/**
 * Memory as the CPU sees it: segment checks (limit, rights), a software TLB from linear page to the
 * host RAM slice behind it, the two-level page walk (4 KiB and PSE 4 MiB pages, A/D bits, WP), MMIO
 * dispatch, and user-mode protection (Page.prot) when the address space is a process's.
 *
 * <p>The TLB has arrays per kind of access (read, write, fetch) and two sets (supervisor and CPL 3), each
 * entry a linear page number, the host address of the RAM page behind it and its 4 KiB RAM slice. Only RAM
 * pages are cached, and a write entry is only filled once the walk has set the dirty bit, so the fast path
 * needs no checks but the tag.
 *
 * <p>A hit reads or writes through {@link #HOST} at the entry's host address (see {@link HostMemory#ALL}:
 * far cheaper for C2 than an access through the slice). Why that is memory-safe: the entry's slice stays
 * referenced from the same entry ({@link #readPage} etc., not read on the hit path) for as long as its host
 * address is, and RAM slices come only from automatic or global arenas (see {@link Page#ram}), whose memory
 * is freed only once no segment of them is reachable. The offset is the page offset of the access, and an
 * access that would cross the page's end misses (see {@link #read32}), so it never leaves the page.
 *
 * <p>For the translator's flat path the MMU also keeps a {@link FlatTlb} (made on the first flat miss), filled in
 * {@link #fill} and dropped wherever the TLB's entries are (flush, INVLPG, a page that gets code).
 */
abstract class Mmu extends CpuState {
    static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Aligned 64-bit little-endian access, the unit of LOCKed compare-and-set. */
    static final VarHandle ATOMIC_LONG = ValueLayout.JAVA_LONG.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();

    static final int ACC_READ = 0, ACC_WRITE = 1, ACC_EXEC = 2;
    static final int TLB_SIZE = 256;
    static final long PAGE_MASK = Page.OFFSET_MASK;
    /** The G bit of a PTE or of a large page's PDE. */
    private static final int PTE_GLOBAL = 0x100;
    /** All host memory: a TLB hit accesses {@code HOST} at the entry's host address plus the page offset. */
    private static final MemorySegment HOST = HostMemory.ALL;

    final AddressSpace memory;
    /** Linux user mode: the address space is virtual, Page.prot is enforced, faults become #PF exits. */
    boolean userMode;
    long a20Mask = -1L;
    long faultAddress;

    // Package-private: the translator's generated code may inline the fast path on these arrays.
    final long[] readTag = new long[2 * TLB_SIZE];
    final long[] writeTag = new long[2 * TLB_SIZE];
    private final long[] execTag = new long[2 * TLB_SIZE];
    /** Host address of each entry's RAM page: what a hit accesses. */
    final long[] readHost = new long[2 * TLB_SIZE];
    final long[] writeHost = new long[2 * TLB_SIZE];
    private final long[] execHost = new long[2 * TLB_SIZE];
    /** Each entry's RAM slice: keeps the memory at its host address allocated while the entry may be hit. */
    final MemorySegment[] readPage = new MemorySegment[2 * TLB_SIZE];
    final MemorySegment[] writePage = new MemorySegment[2 * TLB_SIZE];
    private final MemorySegment[] execPage = new MemorySegment[2 * TLB_SIZE];
    /** Per entry: filled from a global translation ({@link #walkGlobal}), which a CR3 load keeps. */
    private final boolean[] readGlobal = new boolean[2 * TLB_SIZE];
    private final boolean[] writeGlobal = new boolean[2 * TLB_SIZE];
    private final boolean[] execGlobal = new boolean[2 * TLB_SIZE];
    /** 0 for supervisor accesses, TLB_SIZE when CPL is 3. */
    int tlbSet;
    private long resolvedPhys;
    /**
     * The last translation is global (PTE or large PDE with G, CR4.PGE set) or paging is off: a CR3 load
     * need not drop it (the translator keeps blocks fetched through such pages across address spaces).
     */
    boolean walkGlobal;
    /** The translator's store watch (set through {@link X86Cpu#translatorLookup}), or null. */
    CodeWatcher codeWatcher;
    /** The translator's flat page table, made on its first miss ({@link #flatReadMiss}); null before. */
    private FlatTlb flat;
    /**
     * Addresses of the flat read and write tables of the current TLB set, which generated code on the flat path
     * reads at block entry (the shared empty table until {@link #flat} exists: every access misses).
     */
    long flatReadTable = FlatTlb.EMPTY_TABLE, flatWriteTable = FlatTlb.EMPTY_TABLE;

    /**
     * The interpreter's fetch window, a one-page fetch TLB in CS offsets: the instruction bytes at offsets in
     * [{@code fetchStart}, {@code fetchEnd}) are read from host address {@code fetchHost + offset} without checks
     * (see {@code Interpreter.startFetch}). It is kept from one instruction to the next while EIP stays inside it, so
     * everything that may change what CS:offset fetches drops it ({@link #forgetFetchWindow}): TLB flushes, INVLPG and
     * CR3 loads, CPL changes, CS loads and CS limit or mode changes, rollbacks.
     */
    long fetchHost, fetchStart, fetchEnd;

    /** The next instruction sets the fetch window up again (through the fetch TLB or a page walk). */
    final void forgetFetchWindow() {
        fetchStart = 0;
        fetchEnd = 0;
    }

    Mmu(AddressSpace memory) {
        this.memory = memory;
        flushTlb();
    }

    public void flushTlb() {
        clearTlb();
        if (codeWatcher != null) {
            codeWatcher.mappingsChanged();
        }
    }

    /**
     * A CR3 load: the entries of non-global translations are dropped, and the translator is told that only
     * those may have changed. Entries filled from global translations (G in the PTE or large page's PDE, with
     * CR4.PGE; or paging off) stay, as the SDM's MOV to CR3 keeps global TLB entries (4.10.4.1): the kernel's
     * pages, which Linux maps global, are not walked again after every address-space switch. INVLPG, a CR4.PGE
     * or PSE change and CR0.PG/WP/PE changes still drop them ({@link #flushTlb}).
     */
    final void flushTlbForCr3() {
        forgetFetchWindow();
        dropNonGlobal(readTag, readGlobal);
        dropNonGlobal(writeTag, writeGlobal);
        dropNonGlobal(execTag, execGlobal);
        if (flat != null) {
            flat.clearNonGlobal();
        }
        if (codeWatcher != null) {
            codeWatcher.addressSpaceChanged();
        }
    }

    private static void dropNonGlobal(long[] tags, boolean[] global) {
        for (int i = 0; i < tags.length; i++) {
            if (!global[i]) {
                tags[i] = -1L;
            }
        }
    }

    private void clearTlb() {
        forgetFetchWindow();
        Arrays.fill(readTag, -1L);
        Arrays.fill(writeTag, -1L);
        Arrays.fill(execTag, -1L);
        if (flat != null) {
            flat.clearAll();
        }
    }

    final void invalidatePage(long lin) {
        forgetFetchWindow();
        long tag = (lin & MASK32) >>> Page.SHIFT;
        for (int set = 0; set < 2 * TLB_SIZE; set += TLB_SIZE) {
            int i = set + (int) (tag & (TLB_SIZE - 1));
            readTag[i] = -1L;
            writeTag[i] = -1L;
            execTag[i] = -1L;
        }
        if (flat != null) {
            flat.clearPage(lin);
        }
        if (codeWatcher != null) {
            codeWatcher.pageMappingChanged(lin & MASK32); // INVLPG: the page may now map other code
        }
    }

    final void setCpl(int newCpl) {
        cpl = newCpl;
        tlbSet = newCpl == 3 ? TLB_SIZE : 0;
        forgetFetchWindow(); // the window was checked with the old privilege
        selectFlatTables();
    }

    /** Points {@link #flatReadTable}/{@link #flatWriteTable} at the current TLB set's tables. */
    private void selectFlatTables() {
        if (flat != null) {
            int set = flatSet();
            flatReadTable = flat.table(set, FlatTlb.READ);
            flatWriteTable = flat.table(set, FlatTlb.WRITE);
        }
    }

    private int flatSet() { return tlbSet == 0 ? 0 : 1; }

    /**
     * Drops every write entry (the TLB's and the flat table's) that maps the RAM page at host address
     * {@code identity}, in any linear alias: stores to a page that now holds code must take the slow path
     * that reports them (called by the translator when a page first gets code).
     */
    final void dropWriteEntries(long identity) {
        for (int i = 0; i < writeTag.length; i++) {
            if (writeTag[i] != -1L && writePage[i] != null && writePage[i].address() == identity) {
                writeTag[i] = -1L;
            }
        }
        if (flat != null) {
            flat.dropWrites(identity);
        }
    }

    private int tlbIndex(long lin) { return tlbSet + (int) ((lin >>> Page.SHIFT) & (TLB_SIZE - 1)); }

    // ---- segment checks ----

    final CpuFault segmentFault(int seg) {
        return seg == SS ? CpuFault.withCode(CpuFault.SS, 0) : CpuFault.withCode(CpuFault.GP, 0);
    }

    /** Linear address of a data read of {@code size} bytes at {@code off} through {@code seg}. */
    final long readAddress(int seg, int off, int size) {
        long o = off & MASK32;
        if (o < segLow[seg] || o + size - 1 > segHigh[seg] || (segRights[seg] & RIGHT_READ) == 0) {
            throw segmentFault(seg);
        }
        if ((o & (size - 1)) != 0) {
            checkAlignment();
        }
        return (segBase[seg] + o) & MASK32;
    }

    final long writeAddress(int seg, int off, int size) {
        long o = off & MASK32;
        if (o < segLow[seg] || o + size - 1 > segHigh[seg] || (segRights[seg] & RIGHT_WRITE) == 0) {
            throw segmentFault(seg);
        }
        if ((o & (size - 1)) != 0) {
            checkAlignment();
        }
        return (segBase[seg] + o) & MASK32;
    }

    /** A misaligned data access at CPL 3 with CR0.AM and EFLAGS.AC set is #AC(0). */
    private void checkAlignment() {
        if ((flags & AC) != 0 && cpl == 3 && (cr0 & CR0_AM) != 0) {
            throw CpuFault.withCode(CpuFault.AC, 0);
        }
    }

    final int readMem(int seg, int off, int size) {
        long lin = readAddress(seg, off, size);
        return switch (size) {
            case 1 -> read8(lin);
            case 2 -> read16(lin);
            default -> read32(lin);
        };
    }

    final void writeMem(int seg, int off, int size, int v) {
        long lin = writeAddress(seg, off, size);
        switch (size) {
            case 1 -> write8(lin, v);
            case 2 -> write16(lin, v);
            default -> write32(lin, v);
        }
    }

    final long readMem64(int seg, int off) {
        long lin = readAddress(seg, off, 8);
        return (read32(lin) & MASK32) | ((long) read32((lin + 4) & MASK32) << 32);
    }

    final void writeMem64(int seg, int off, long v) {
        long lin = writeAddress(seg, off, 8);
        probeWrite(lin, 8);
        write32(lin, (int) v);
        write32((lin + 4) & MASK32, (int) (v >>> 32));
    }

    // ---- linear accesses with the current privilege (TLB fast paths) ----

    // The entry is chosen by the page of the access's first byte and its tag compared with the page of its last
    // byte: they match only when both bytes lie in the entry's page (the next page's tag lives in the next entry,
    // and a linear address below 4 GiB plus 3 never makes a tag), so one compare also sends page-crossing
    // accesses to the slow path.

    final int read8(long lin) {
        int i = tlbIndex(lin);
        if (readTag[i] == lin >>> Page.SHIFT) {
            return HOST.get(ValueLayout.JAVA_BYTE, readHost[i] + (lin & PAGE_MASK)) & 0xff;
        }
        return readSlow(lin, 1, ACC_READ);
    }

    final int read16(long lin) {
        int i = tlbIndex(lin);
        if (readTag[i] == (lin + 1) >>> Page.SHIFT) {
            return HOST.get(LE_SHORT, readHost[i] + (lin & PAGE_MASK)) & 0xffff;
        }
        return readSlow(lin, 2, ACC_READ);
    }

    final int read32(long lin) {
        int i = tlbIndex(lin);
        if (readTag[i] == (lin + 3) >>> Page.SHIFT) {
            return HOST.get(LE_INT, readHost[i] + (lin & PAGE_MASK));
        }
        return readSlow(lin, 4, ACC_READ);
    }

    /** The host address of the byte at {@code lin} when its page is in the fetch TLB, else 0. */
    final long execHostOf(long lin) {
        int i = tlbIndex(lin);
        return execTag[i] == lin >>> Page.SHIFT ? execHost[i] + (lin & PAGE_MASK) : 0;
    }

    /** The host address of the byte at {@code lin} when its page is in the read TLB, else 0. */
    final long readHostOf(long lin) {
        int i = tlbIndex(lin);
        return readTag[i] == lin >>> Page.SHIFT ? readHost[i] + (lin & PAGE_MASK) : 0;
    }

    /**
     * The host address of the byte at {@code lin} when its page is in the write TLB, else 0. A write entry
     * exists only for plain RAM that holds no translated code and no watchpoint, and after the walk set the
     * PTE's dirty bit: a bulk store there needs nothing else.
     */
    final long writeHostOf(long lin) {
        int i = tlbIndex(lin);
        return writeTag[i] == lin >>> Page.SHIFT ? writeHost[i] + (lin & PAGE_MASK) : 0;
    }

    /** Copies {@code bytes} host bytes as memmove does (overlap allowed). */
    static void hostCopy(long from, long to, long bytes) {
        MemorySegment.copy(HOST, from, HOST, to, bytes);
    }

    /** Stores {@code count} little-endian elements of {@code size} bytes holding {@code v} from host address {@code to} up. */
    static void hostFill(long to, long count, int size, int v) {
        switch (size) {
            case 1 -> HOST.asSlice(to, count).fill((byte) v);
            case 2 -> {
                for (long k = 0; k < count; k++) {
                    HOST.set(LE_SHORT, to + 2 * k, (short) v);
                }
            }
            default -> {
                for (long k = 0; k < count; k++) {
                    HOST.set(LE_INT, to + 4 * k, v);
                }
            }
        }
    }

    final int fetchByte(long lin) {
        int i = tlbIndex(lin);
        if (execTag[i] == lin >>> Page.SHIFT) {
            return HOST.get(ValueLayout.JAVA_BYTE, execHost[i] + (lin & PAGE_MASK)) & 0xff;
        }
        return readSlow(lin, 1, ACC_EXEC);
    }

    final void write8(long lin, int v) {
        int i = tlbIndex(lin);
        if (writeTag[i] == lin >>> Page.SHIFT) {
            HOST.set(ValueLayout.JAVA_BYTE, writeHost[i] + (lin & PAGE_MASK), (byte) v);
        } else {
            writeSlow(lin, 1, v);
        }
    }

    final void write16(long lin, int v) {
        int i = tlbIndex(lin);
        if (writeTag[i] == (lin + 1) >>> Page.SHIFT) {
            HOST.set(LE_SHORT, writeHost[i] + (lin & PAGE_MASK), (short) v);
        } else {
            writeSlow(lin, 2, v);
        }
    }

    final void write32(long lin, int v) {
        int i = tlbIndex(lin);
        if (writeTag[i] == (lin + 3) >>> Page.SHIFT) {
            HOST.set(LE_INT, writeHost[i] + (lin & PAGE_MASK), v);
        } else {
            writeSlow(lin, 4, v);
        }
    }

    // Misses of the translator's raw inline hit path, which has already probed the TLB: the flat 32-bit address
    // as the generated code holds it (no zero-extension at each access site), the size as a constant.

    final int readMiss(int addr, int size) { return readSlow(addr & MASK32, size, ACC_READ); }

    final void writeMiss(int addr, int size, int v) { writeSlow(addr & MASK32, size, v); }

    // Misses of the flat path (see FlatTlb): the slow path fills the flat entry with the TLB's. The first one
    // makes this CPU's tables; the block that missed keeps the empty table until its next entry.

    final int flatReadMiss(int addr, int size) {
        ensureFlatTables();
        return readSlow(addr & MASK32, size, ACC_READ);
    }

    final void flatWriteMiss(int addr, int size, int v) {
        ensureFlatTables();
        writeSlow(addr & MASK32, size, v);
    }

    /**
     * A miss of the flat path in code that leaves on misses (accel-tcg's {@code FLAT_EXIT}): fills the flat entry of
     * {@code addr}'s page as the access would (plain RAM only; a page fault is raised here) without making the
     * access, and returns the exception the generated code throws to its instruction's fault exit, so that the
     * interpreter makes the access once (an MMIO register is read or written once). The miss path thus never
     * rejoins the hit path: C1 keeps the guest's registers in host registers across the access.
     */
    final RuntimeException flatMissExit(int addr, int size, boolean write) {
        ensureFlatTables();
        long lin = addr & MASK32;
        if (write) {
            fillWriteEntry(lin);
        } else {
            Page p = resolve(lin, ACC_READ, cpl == 3);
            if (p != null && p.ram() != null) {
                fill(ACC_READ, lin, p.ram());
            }
        }
        return FLAT_MISS;
    }

    /** Thrown by generated code after {@link #flatMissExit}: no stack trace, caught in the same method. */
    private static final RuntimeException FLAT_MISS = new RuntimeException("flat table miss", null, false, false) { };

    /** The flat tables exist from the translator's first miss on. */
    private void ensureFlatTables() {
        if (flat == null) {
            makeFlatTables();
        }
    }

    /** Makes the flat tables, empty: entries are filled by later misses (the TLB's current entries are not copied). */
    private void makeFlatTables() {
        flat = new FlatTlb();
        selectFlatTables();
    }

    /** The flat table's entry for {@code lin} in the current set (0: none, or no tables yet); for tests. */
    final long flatEntry(long lin, boolean write) {
        return flat == null ? 0 : flat.entry(flatSet(), write ? FlatTlb.WRITE : FlatTlb.READ, lin);
    }

    /** Faults now if a write of {@code size} bytes at {@code lin} would fault, so that a later write cannot. */
    final void probeWrite(long lin, int size) {
        long last = (lin + size - 1) & MASK32;
        if (writeTag[tlbIndex(lin)] == lin >>> Page.SHIFT && writeTag[tlbIndex(last)] == last >>> Page.SHIFT) {
            return; // both pages have write entries: filled only after a walk that allowed the write and set D
        }
        resolve(lin, ACC_WRITE, cpl == 3);
        if ((last >>> Page.SHIFT) != (lin >>> Page.SHIFT)) {
            resolve(last & ~PAGE_MASK, ACC_WRITE, cpl == 3); // a fault there reports the page's first byte
        }
    }

    /**
     * The RAM slice holding a write of {@code size} bytes at {@code lin} when it lies within one aligned
     * 8-byte word of RAM (so it can be updated with one compare-and-set), else null. Faults as a write would.
     */
    final MemorySegment atomicRam(long lin, int size) {
        probeWrite(lin, size);
        if ((lin & 7) + size > 8) {
            return null;
        }
        int i = tlbIndex(lin);
        if (writeTag[i] != lin >>> Page.SHIFT) {
            fillWriteEntry(lin); // else a CPU's first LOCK on a page would not be atomic with another's CAS
            if (writeTag[i] != lin >>> Page.SHIFT) {
                return null;
            }
        }
        MemorySegment page = writePage[i];
        return (page.address() & 7) == 0 ? page : null;
    }

    /** Fills the write TLB entry for {@code lin} as a write would, when its page is plain RAM (no code, no watchpoint). */
    private void fillWriteEntry(long lin) {
        if (watchedPages.length != 0) {
            return;
        }
        Page p = resolve(lin, ACC_WRITE, cpl == 3);
        if (p == null || isRom(p) || p.ram() == null) {
            return;
        }
        CodeWatcher watcher = codeWatcher;
        if (watcher != null && watcher.holdsCode(resolvedPhys >>> Page.SHIFT)) {
            return;
        }
        fill(ACC_WRITE, lin, p.ram());
    }

    /** Compare-and-set of the {@code size}-byte value at {@code lin} inside {@code page} (see {@link #atomicRam}). */
    static boolean compareAndSet(MemorySegment page, long lin, int size, int expected, int update) {
        long off = lin & PAGE_MASK;
        long wordOff = off & ~7L;
        int shift = (int) (off - wordOff) * 8;
        long mask = (size == 4 ? MASK32 : (1L << (size * 8)) - 1) << shift;
        long word = (long) ATOMIC_LONG.getVolatile(page, wordOff);
        if (((word & mask) >>> shift) != (expected & (mask >>> shift))) {
            return false;
        }
        long next = (word & ~mask) | (((long) update << shift) & mask);
        return ATOMIC_LONG.compareAndSet(page, wordOff, word, next);
    }

    // ---- slow paths ----

    private int readSlow(long lin, int size, int kind) {
        if ((lin & PAGE_MASK) + size > Page.SIZE) {
            int v = 0;
            for (int k = 0; k < size; k++) {
                v |= readSlow((lin + k) & MASK32, 1, kind) << (8 * k);
            }
            return v;
        }
        boolean user = cpl == 3;
        Page p = resolve(lin, kind, user);
        long phys = resolvedPhys;
        if (kind != ACC_EXEC && watchedPages.length != 0) {
            checkDataBreakpoints(lin, size, false);
        }
        if (p == null) {
            return sizeMask(size);
        }
        if (p.ram() != null) {
            fill(kind, lin, p.ram());
            return readRam(p.ram(), phys & PAGE_MASK, size);
        }
        return (int) p.mmio().read(phys - p.mmioBase(), size) & sizeMask(size);
    }

    private void writeSlow(long lin, int size, int v) {
        if ((lin & PAGE_MASK) + size > Page.SIZE) {
            probeWrite(lin, size);
            for (int k = 0; k < size; k++) {
                writeSlow((lin + k) & MASK32, 1, v >>> (8 * k));
            }
            return;
        }
        Page p = resolve(lin, ACC_WRITE, cpl == 3);
        long phys = resolvedPhys;
        if (watchedPages.length != 0) {
            checkDataBreakpoints(lin, size, true);
        }
        if (p == null || isRom(p)) {
            return;
        }
        if (p.ram() != null) {
            CodeWatcher watcher = codeWatcher;
            if (watcher != null && watcher.holdsCode(phys >>> Page.SHIFT)) {
                writeRam(p.ram(), phys & PAGE_MASK, size, v);
                watcher.codeWritten(phys, size);
                return;
            }
            fill(ACC_WRITE, lin, p.ram());
            writeRam(p.ram(), phys & PAGE_MASK, size, v);
        } else {
            p.mmio().write(phys - p.mmioBase(), size, v & (size == 4 ? MASK32 : sizeMask(size)));
        }
    }

    /**
     * Physical memory (system mode) RAM without Page.WRITE is ROM: writes are dropped, as on a PC's
     * firmware ROM. (In user mode such a write has already faulted.)
     */
    private boolean isRom(Page p) {
        return !userMode && p.ram() != null && (p.prot() & Page.WRITE) == 0;
    }

    private void fill(int kind, long lin, MemorySegment ram) {
        int i = tlbIndex(lin);
        long tag = lin >>> Page.SHIFT;
        if (kind != ACC_EXEC && watchedPages.length != 0 && watched(tag)) {
            return; // a data breakpoint is on this page: every access takes the slow path and is checked
        }
        boolean global = walkGlobal; // of the resolve that found ram
        switch (kind) { // the slice is kept with its host address (see the class comment)
            case ACC_READ -> {
                readPage[i] = ram; readHost[i] = ram.address(); readTag[i] = tag; readGlobal[i] = global;
            }
            case ACC_WRITE -> {
                writePage[i] = ram; writeHost[i] = ram.address(); writeTag[i] = tag; writeGlobal[i] = global;
            }
            default -> {
                execPage[i] = ram; execHost[i] = ram.address(); execTag[i] = tag; execGlobal[i] = global;
            }
        }
        if (flat != null && kind != ACC_EXEC) {
            flat.fill(flatSet(), kind == ACC_READ ? FlatTlb.READ : FlatTlb.WRITE, lin, ram, global);
        }
        if (kind == ACC_WRITE) {
            // A read entry filled earlier may name the page's old RAM (another CPU's copy-on-write copy replaced
            // it), and reads must see this CPU's own writes: it is dropped, and the next read resolves again
            // (not filled with the write's RAM: a page may read elsewhere than it writes, as PAM's write-only
            // shadowing does).
            if (readTag[i] == tag && readHost[i] != ram.address()) {
                readTag[i] = -1L;
            }
            if (flat != null) {
                flat.dropReadUnless(flatSet(), lin, ram);
            }
        }
    }

    static int readRam(MemorySegment ram, long off, int size) {
        return switch (size) {
            case 1 -> ram.get(ValueLayout.JAVA_BYTE, off) & 0xff;
            case 2 -> ram.get(LE_SHORT, off) & 0xffff;
            default -> ram.get(LE_INT, off);
        };
    }

    static void writeRam(MemorySegment ram, long off, int size, int v) {
        switch (size) {
            case 1 -> ram.set(ValueLayout.JAVA_BYTE, off, (byte) v);
            case 2 -> ram.set(LE_SHORT, off, (short) v);
            default -> ram.set(LE_INT, off, v);
        }
    }

    /** Translates {@code lin} for one access; the physical address is left in {@link #resolvedPhys}. */
    private Page resolve(long lin, int kind, boolean user) {
        if (userMode) {
            Page p = memory.page(lin);
            int prot = p == null ? 0 : p.prot();
            boolean allowed = switch (kind) {
                case ACC_READ -> prot != 0;      // x86 pages are readable whenever mapped
                case ACC_WRITE -> (prot & Page.WRITE) != 0;
                default -> (prot & Page.EXEC) != 0;
            };
            if (!allowed) {
                int code = (prot != 0 ? 1 : 0) | (kind == ACC_WRITE ? 2 : 0) | 4 | (kind == ACC_EXEC ? 0x10 : 0);
                throw pageFault(lin, code);
            }
            resolvedPhys = lin;
            return p;
        }
        long phys;
        if ((cr0 & CR0_PG) != 0) {
            phys = walk(lin, kind, user);
        } else {
            phys = lin;
            walkGlobal = true;
        }
        phys &= a20Mask;
        resolvedPhys = phys;
        return memory.page(phys);
    }

    /**
     * The physical address an instruction fetch at {@code lin} reads with the current privilege, raising
     * #PF as the fetch would (the translator's code-page identity in system mode).
     */
    final long fetchPhysical(long lin) {
        resolve(lin & MASK32, ACC_EXEC, cpl == 3);
        return resolvedPhys;
    }

    /** A PTE or large page's PDE maps a global page: its G bit, honoured only with CR4.PGE. */
    private boolean isGlobal(long entry) {
        return (entry & PTE_GLOBAL) != 0 && (cr4 & CR4_PGE) != 0;
    }

    final CpuFault pageFault(long lin, int code) {
        cr2 = lin;
        faultAddress = lin;
        return CpuFault.withCode(CpuFault.PF, code);
    }

    /** The two-level walk of 32-bit paging; sets accessed and dirty bits; raises #PF. */
    private long walk(long lin, int kind, boolean user) {
        boolean write = kind == ACC_WRITE;
        int baseCode = (write ? 2 : 0) | (user ? 4 : 0);
        long pdeAddr = ((cr3 & ~PAGE_MASK) + ((lin >>> 22) << 2)) & a20Mask;
        int pde = physRead32(pdeAddr);
        if ((pde & 1) == 0) {
            throw pageFault(lin, baseCode);
        }
        boolean bigPage = (pde & 0x80) != 0 && (cr4 & CR4_PSE) != 0;
        if (bigPage) {
            checkAccess(lin, pde, write, user, baseCode);
            int updated = pde | 0x20 | (write ? 0x40 : 0);
            if (updated != pde) {
                physWrite32(pdeAddr, updated);
            }
            walkGlobal = isGlobal(pde);
            return ((pde & 0xffc0_0000L) | (lin & 0x3f_ffffL));
        }
        long pteAddr = (((pde & 0xffff_f000L)) + (((lin >>> 12) & 0x3ff) << 2)) & a20Mask;
        int pte = physRead32(pteAddr);
        if ((pte & 1) == 0) {
            throw pageFault(lin, baseCode);
        }
        checkAccess(lin, pde & pte, write, user, baseCode);
        if ((pde & 0x20) == 0) {
            physWrite32(pdeAddr, pde | 0x20);
        }
        int updated = pte | 0x20 | (write ? 0x40 : 0);
        if (updated != pte) {
            physWrite32(pteAddr, updated);
        }
        walkGlobal = isGlobal(pte);
        return (pte & 0xffff_f000L) | (lin & PAGE_MASK);
    }

    private void checkAccess(long lin, int combined, boolean write, boolean user, int baseCode) {
        boolean userOk = (combined & 4) != 0;
        boolean writable = (combined & 2) != 0;
        if (user && !userOk) {
            throw pageFault(lin, baseCode | 1);
        }
        if (write && !writable && (user || (cr0 & CR0_WP) != 0)) {
            throw pageFault(lin, baseCode | 1);
        }
    }

    final int physRead32(long phys) {
        Page p = memory.page(phys);
        if (p == null) {
            return -1;
        }
        if (p.ram() != null) {
            return (phys & PAGE_MASK) <= Page.SIZE - 4 ? p.ram().get(LE_INT, phys & PAGE_MASK) : -1;
        }
        return (int) p.mmio().read(phys - p.mmioBase(), 4);
    }

    final void physWrite32(long phys, int v) {
        Page p = memory.page(phys);
        if (p == null || isRom(p)) {
            return;
        }
        if (p.ram() != null) {
            p.ram().set(LE_INT, phys & PAGE_MASK, v);
        } else {
            p.mmio().write(phys - p.mmioBase(), 4, v & MASK32);
        }
    }

    // ---- supervisor (implicit) accesses: descriptor tables, TSS, IDT; never cached in the TLB ----

    final int readSystem(long lin, int size) {
        lin &= MASK32;
        if ((lin & PAGE_MASK) + size > Page.SIZE) {
            int v = 0;
            for (int k = 0; k < size; k++) {
                v |= readSystem(lin + k, 1) << (8 * k);
            }
            return v;
        }
        Page p = resolve(lin, ACC_READ, false);
        long phys = resolvedPhys;
        if (p == null) {
            return sizeMask(size);
        }
        if (p.ram() != null) {
            return readRam(p.ram(), phys & PAGE_MASK, size);
        }
        return (int) p.mmio().read(phys - p.mmioBase(), size) & sizeMask(size);
    }

    final void writeSystem(long lin, int size, int v) {
        lin &= MASK32;
        if ((lin & PAGE_MASK) + size > Page.SIZE) {
            for (int k = 0; k < size; k++) {
                writeSystem(lin + k, 1, v >>> (8 * k));
            }
            return;
        }
        Page p = resolve(lin, ACC_WRITE, false);
        long phys = resolvedPhys;
        if (p == null || isRom(p)) {
            return;
        }
        if (p.ram() != null) {
            writeRam(p.ram(), phys & PAGE_MASK, size, v);
        } else {
            p.mmio().write(phys - p.mmioBase(), size, v & (size == 4 ? MASK32 : sizeMask(size)));
        }
    }

    // ---- debug-register breakpoints (SDM Vol. 3B §18.2) ----

    static final long DR6_FIXED = 0xffff_0ff0L, DR6_WRITABLE = 0xe00f, DR6_BD = 0x2000, DR6_BS = 0x4000;
    static final int DR6_BT = 0x8000;
    static final long DR7_FIXED = 0x400, DR7_RESERVED_ZERO = 0xd800, DR7_GD = 0x2000;
    /** L0-L3 and LE: the breakpoints local to a task, cleared by every task switch. */
    static final long DR7_LOCAL = 0x155;
    private static final int BREAK_ON_EXECUTION = 0, BREAK_ON_WRITE = 1, BREAK_ON_IO = 2, BREAK_ON_ACCESS = 3;

    /** Linear pages holding an enabled data breakpoint: never cached in the TLB, so every access there is checked. */
    private long[] watchedPages = new long[0];
    /**
     * DR6 bits of the #DB traps the current instruction caused: B0-B3 for data and I/O breakpoints, BT for a switch
     * to a task with the T flag. The run loop reports them after the instruction.
     */
    int debugTrapStatus;
    /** Enabled instruction breakpoints (bit n for DRn), checked at each instruction boundary while nonzero. */
    int instructionBreakpoints;
    /** Enabled I/O breakpoints (R/W = 10b, only with CR4.DE), checked on every port access while nonzero. */
    int ioBreakpoints;

    private boolean breakpointEnabled(int n) { return ((dr[7] >>> (2 * n)) & 3) != 0; }

    private int breakpointKind(int n) { return (int) (dr[7] >>> (16 + 4 * n)) & 3; }

    /** LEN: 1, 2 or 4 bytes (the encoding 10b, undefined on a P6, is taken as 8). */
    private int breakpointLength(int n) {
        return switch ((int) (dr[7] >>> (18 + 4 * n)) & 3) {
            case 0 -> 1;
            case 1 -> 2;
            case 2 -> 8;
            default -> 4;
        };
    }

    /** After a write to DR0-DR3 or DR7: which breakpoints are armed, and which pages the TLB must not cache. */
    final void debugRegistersChanged() {
        int instructions = 0;
        int io = 0;
        long[] pages = new long[0];
        for (int n = 0; n < 4; n++) {
            if (!breakpointEnabled(n)) {
                continue;
            }
            int kind = breakpointKind(n);
            if (kind == BREAK_ON_EXECUTION) {
                instructions |= 1 << n;
            } else if (kind == BREAK_ON_IO) {
                io |= (cr4 & CR4_DE) != 0 ? 1 << n : 0; // without DE the encoding is undefined: nothing breaks
            } else if (kind == BREAK_ON_WRITE || kind == BREAK_ON_ACCESS) {
                long start = (dr[n] & ~(breakpointLength(n) - 1L)) & MASK32;
                pages = Arrays.copyOf(pages, pages.length + 2);
                pages[pages.length - 2] = start >>> Page.SHIFT;
                pages[pages.length - 1] = ((start + breakpointLength(n) - 1) & MASK32) >>> Page.SHIFT;
            }
        }
        instructionBreakpoints = instructions;
        ioBreakpoints = io;
        watchedPages = pages;
        flushTlb();
    }

    private boolean watched(long page) {
        for (long w : watchedPages) {
            if (w == page) {
                return true;
            }
        }
        return false;
    }

    /** Records in {@link #debugTrapStatus} the enabled data breakpoints that {@code size} bytes at {@code lin} touch. */
    private void checkDataBreakpoints(long lin, int size, boolean write) {
        for (int n = 0; n < 4; n++) {
            int kind = breakpointKind(n);
            if (!breakpointEnabled(n) || !(kind == BREAK_ON_ACCESS || (kind == BREAK_ON_WRITE && write))) {
                continue;
            }
            int length = breakpointLength(n);
            long start = dr[n] & ~(length - 1L) & MASK32;
            if (lin < start + length && start < lin + size) {
                debugTrapStatus |= 1 << n;
            }
        }
    }

    /** Records the enabled I/O breakpoints that a {@code size}-byte access to {@code port} touches (a trap, as data). */
    final void checkIoBreakpoints(int port, int size) {
        for (int n = 0; n < 4; n++) {
            if ((ioBreakpoints & (1 << n)) != 0) {
                int length = breakpointLength(n);
                long start = dr[n] & 0xffff & ~(length - 1L);
                if (port < start + length && start < port + size) {
                    debugTrapStatus |= 1 << n;
                }
            }
        }
    }

    /** B0-B3 of the enabled instruction breakpoints at linear address {@code lin}. */
    final int instructionBreakpointHits(long lin) {
        int hits = 0;
        for (int n = 0; n < 4; n++) {
            if ((instructionBreakpoints & (1 << n)) != 0 && (dr[n] & MASK32) == lin) {
                hits |= 1 << n;
            }
        }
        return hits;
    }

    // ---- stack ----

    final int stackSize() { return stack32 ? 4 : 2; }

    final void push(int size, int v) {
        long sp = regs[ESP];
        if (stack32) {
            long nsp = (sp - size) & MASK32;
            writeMem(SS, (int) nsp, size, v);
            regs[ESP] = nsp;
        } else {
            int nsp = (int) (sp - size) & 0xffff;
            writeMem(SS, nsp, size, v);
            regs[ESP] = (sp & ~0xffffL) | nsp;
        }
    }

    final int pop(int size) {
        long sp = regs[ESP];
        if (stack32) {
            int v = readMem(SS, (int) sp, size);
            regs[ESP] = (sp + size) & MASK32;
            return v;
        }
        int v = readMem(SS, (int) sp & 0xffff, size);
        regs[ESP] = (sp & ~0xffffL) | ((sp + size) & 0xffff);
        return v;
    }

    /** Reads the stack at ESP + {@code delta} without popping. */
    final int peek(int size, int delta) {
        long sp = regs[ESP] + delta;
        return readMem(SS, stack32 ? (int) sp : (int) sp & 0xffff, size);
    }

    final void addSp(int delta) {
        long sp = regs[ESP];
        regs[ESP] = stack32 ? (sp + delta) & MASK32 : (sp & ~0xffffL) | ((sp + delta) & 0xffff);
    }
}
