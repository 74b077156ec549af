package org.jqemu.target.i386;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.jqemu.memory.HostMemory;
import org.jqemu.memory.Page;

/**
 * The translator's flat page table (one per CPU, made on its first use by generated code): for each TLB set
 * (supervisor, CPL 3) and kind (read, write), one 8-byte entry per 4 KiB page of the 32-bit linear space, in
 * anonymous memory the kernel zero-fills on first touch (so 2^20 entries cost only the pages touched).
 *
 * <p>An entry is 0 (no translation: generated code calls the MMU's slow path, which fills it) or the host
 * address of the page's RAM minus the page's linear address sign-extended from 32 bits, so that generated
 * code computes the host address of any byte of the page as {@code entry + (long) (int) linear}: one load
 * of the entry at {@code table + (linear >>> 12) * 8}, no tag, no bounds check (the index is below 2^20 by
 * construction). The MMU fills an entry exactly where it fills its own TLB entry ({@link Mmu#fill}): plain
 * RAM only, a write entry only when the page holds no translated code (and, with paging, once the walk has
 * set the dirty bit), and drops entries wherever it drops its own (flush, INVLPG, code appearing on a page).
 *
 * <p>Memory safety (the argument of {@link HostMemory#ALL}): each entry set since the last {@link #clearAll}
 * keeps its RAM slice referenced here ({@link #slices}), so the memory behind every nonzero entry stays
 * allocated (slices come from automatic or global arenas); an access that could cross the page's end is
 * sent to the slow path by the generated code itself. A flush clears only the entries set since the last
 * one ({@link #filled}), so a CR3 load costs what the process touched, not 8 MiB; it keeps the entries filled from
 * global translations ({@link #clearNonGlobal}), as the MMU's own TLB does.
 */
final class FlatTlb {
    static final int READ = 0, WRITE = 1;
    /** Entries per table: the 4 KiB pages of a 32-bit linear space. */
    static final int PAGES = 1 << 20;
    private static final long TABLE_BYTES = 8L * PAGES;
    /** Entries set between two full clears at most: beyond that the table is cleared (it is only a cache). */
    private static final int MAX_FILLED = 1 << 16;
    private static final MemorySegment HOST = HostMemory.ALL;
    /**
     * A table with no entries, shared: what generated code reads until its CPU's own tables exist (every
     * access misses there, and the miss makes them). Never written.
     */
    private static final MemorySegment EMPTY = HostMemory.allocateZeroed(TABLE_BYTES);
    static final long EMPTY_TABLE = EMPTY.address();

    /** Four tables, in the order set 0 read, set 0 write, set 1 read, set 1 write (see {@link #slot}). */
    private final MemorySegment tables = HostMemory.allocateZeroed(4 * TABLE_BYTES);
    private final long base = tables.address();
    /** Set in a {@link #filled} record whose entry came from a global translation. */
    private static final int GLOBAL = 1 << 30;
    /**
     * Slots ({@link #slot}) of the entries set since the last full clear, possibly repeated, in order, each with
     * {@link #GLOBAL} when its translation was global.
     */
    private int[] filled = new int[256];
    /** The RAM slice behind each of {@link #filled}: keeps the memory its entry points into allocated. */
    private MemorySegment[] slices = new MemorySegment[256];
    private int count;
    /** Records below this index are global ones kept by earlier CR3 loads ({@link #clearNonGlobal}). */
    private int keptGlobal;

    /** Table number (0-3) and page in one int: the entry's index from {@link #base}, in 8-byte units. */
    private static int slot(int set, int kind, int page) { return ((set << 1 | kind) << 20) | page; }

    /** Address of the table of {@code set} (0 supervisor, 1 CPL 3) and {@code kind}, for generated code. */
    long table(int set, int kind) { return base + (long) (set << 1 | kind) * TABLE_BYTES; }

    /**
     * Sets the entry of the page holding {@code linear} to the RAM slice {@code ram} (4 KiB, page-aligned in the
     * page); {@code global}: the translation was global, and a CR3 load keeps the entry.
     */
    void fill(int set, int kind, long linear, MemorySegment ram, boolean global) {
        int page = (int) ((linear & Mmu.MASK32) >>> Page.SHIFT);
        long entry = entry(page, ram);
        if (entry == 0) {
            return; // would read as "no translation": this page keeps taking the slow path
        }
        int slot = slot(set, kind, page);
        long at = base + ((long) slot << 3);
        if (HOST.get(ValueLayout.JAVA_LONG, at) == entry) {
            return;
        }
        if (count == filled.length) {
            if (count == MAX_FILLED) {
                clearAll();
            } else {
                filled = Arrays.copyOf(filled, count * 2);
                slices = Arrays.copyOf(slices, count * 2);
            }
        }
        filled[count] = global ? slot | GLOBAL : slot;
        slices[count++] = ram; // before the entry is visible
        HOST.set(ValueLayout.JAVA_LONG, at, entry);
    }

    /** The entry mapping linear page {@code page} to {@code ram}: added to a linear address, the host address. */
    private static long entry(int page, MemorySegment ram) {
        return ram.address() - (long) (page << Page.SHIFT); // int shift: the page base, sign-extended
    }

    /** Drops every entry (a TLB flush). */
    void clearAll() {
        for (int i = 0; i < count; i++) {
            clearSlot(filled[i]);
        }
        Arrays.fill(slices, 0, count, null);
        count = 0;
        keptGlobal = 0;
    }

    /**
     * Drops the entries of non-global translations (a CR3 load) and keeps the records of the global ones, which
     * join the kept ones below {@link #keptGlobal}: a CR3 load looks only at what was filled since the last one.
     * A slot recorded more than once is zeroed if any of its later non-global records is: at worst a kept entry
     * is lost, and a nonzero entry always has its latest record, and so its slice, kept.
     */
    void clearNonGlobal() {
        int kept = keptGlobal;
        for (int i = keptGlobal; i < count; i++) {
            int record = filled[i];
            if ((record & GLOBAL) != 0) {
                filled[kept] = record;
                slices[kept++] = slices[i];
            } else {
                clearSlot(record);
            }
        }
        Arrays.fill(slices, kept, count, null);
        count = kept;
        keptGlobal = kept;
    }

    private void clearSlot(int record) {
        HOST.set(ValueLayout.JAVA_LONG, base + ((long) (record & ~GLOBAL) << 3), 0L);
    }

    /** Drops the read entry of the page holding {@code linear} in {@code set} unless it maps {@code ram}. */
    void dropReadUnless(int set, long linear, MemorySegment ram) {
        int page = (int) ((linear & Mmu.MASK32) >>> Page.SHIFT);
        long at = base + ((long) slot(set, READ, page) << 3);
        if (HOST.get(ValueLayout.JAVA_LONG, at) != entry(page, ram)) {
            HOST.set(ValueLayout.JAVA_LONG, at, 0L);
        }
    }

    /** Drops the entries of the page holding {@code linear} in both sets (INVLPG). */
    void clearPage(long linear) {
        int page = (int) ((linear & Mmu.MASK32) >>> Page.SHIFT);
        for (int set = 0; set < 2; set++) {
            for (int kind = READ; kind <= WRITE; kind++) {
                HOST.set(ValueLayout.JAVA_LONG, base + ((long) slot(set, kind, page) << 3), 0L);
            }
        }
    }

    /** Drops every write entry that maps the RAM page at host address {@code identity}, in any linear alias. */
    void dropWrites(long identity) {
        for (int i = 0; i < count; i++) {
            int slot = filled[i] & ~GLOBAL;
            if (((slot >>> 20) & 1) == WRITE) {
                long at = base + ((long) slot << 3);
                long entry = HOST.get(ValueLayout.JAVA_LONG, at);
                if (entry != 0 && entry + (long) ((slot & (PAGES - 1)) << Page.SHIFT) == identity) {
                    HOST.set(ValueLayout.JAVA_LONG, at, 0L);
                }
            }
        }
    }

    /** The entry generated code would read for {@code linear} in {@code set}'s {@code kind} table (tests). */
    long entry(int set, int kind, long linear) {
        return HOST.get(ValueLayout.JAVA_LONG, base + ((long) slot(set, kind, (int) ((linear & Mmu.MASK32) >>> Page.SHIFT)) << 3));
    }
}
