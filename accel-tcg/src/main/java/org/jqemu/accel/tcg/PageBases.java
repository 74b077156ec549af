package org.jqemu.accel.tcg;

import java.util.List;

/**
 * Page bases of one member's code on the flat path (session 13): the accesses of a member at {@code [r + disp]}
 * whose base register {@code r} still holds its value from the member's start (ESP also after PUSH/POP/CALL and ADD
 * or SUB of a constant, which move it by constants) all fall in one window of addresses relative to that value, known
 * at translation. At the member's start the generated code loads, once, the flat entry of the window's page and keeps in a local (the page
 * base) the host address of the register's value; each such access is then that plus a constant offset (which C2
 * folds into the load's address), with no table load, zero test or page-end test. The base
 * is 0 (every access takes its ordinary path) unless every page the window's loads reach has it as its read entry
 * and every page its stores reach has it as its write entry (a page never written yet, read-only, holding code,
 * or reading elsewhere than it writes has no such write entry): so a base never lets a store reach a page holding
 * code, nor a read miss a write of its own. A window may cross a page's end when the next page's RAM follows
 * (both pages then have the same entry). An entry loaded at the member's start stays right for its whole
 * execution: the flat table only changes between executions (a TLB flush, INVLPG, code appearing on a page,
 * another thread's munmap) or by a miss's fill of another entry, which never remaps a page.
 *
 * <p>In a region, a register that no member assigns (ESP: not even moved) holds its entry value throughout, so its
 * accesses in every member share one window and one base, loaded once at the region's entry (session 16): a loop's
 * stack slots in i386 code, reached through ESP a few times per block, rarely paid for a member's own base. A
 * region's base is never 0: when one cannot be made, the region refuses to run and the engine runs its head's own
 * block (the next run tries again: a page's first store fills its write entry). Its accesses then have no other
 * path, so they cannot miss or fault, which leaves C2 fewer paths to keep the guest's state for.
 *
 * <p>Used by the {@link BlockCompiler}'s emitter: {@link #startRegion} before a region's members, {@link #start}
 * before a member, {@link #use} at each access (which tells whether it may use its base), {@link #written}/{@link
 * #espMoved} at each register write.
 */
final class PageBases {
    /** Accesses through one register a member needs before a base pays for its load at every member entry. */
    static final int MIN_ACCESSES = 3;
    private static final int ESP = 4;
    /** Registers whose accesses may use a base (enough of them in the member). */
    private int chosen;
    /** Registers assigned since the member's start (ESP moved by a constant does not count). */
    private int dirty;
    /** ESP minus its value at the member's start. */
    private int espOffset;
    /** Registers that have a base, with the window of the member-start-relative bytes their accesses touch. */
    private int used;
    /**
     * A region's registers that no member assigns (see {@link #startRegion}): their bases are loaded once, at the
     * region's entry, and serve every member; {@link #regionUsed}: those whose window is not empty.
     */
    private int regionWide;
    private int regionUsed;
    /** Registers whose base served a load, a store (member's bits reset at each member, the region's kept). */
    private int loadedThrough, storedThrough;
    private final int[] low = new int[8], high = new int[8];
    /** The bytes loads, stores reach through each base (within its window; see {@link #loadedThrough}). */
    private final int[] loadLow = new int[8], loadHigh = new int[8], storeLow = new int[8], storeHigh = new int[8];
    /** The bytes of the access {@link #use} allowed last, for {@link #accessed}. */
    private int accessFirst, accessLast;

    /**
     * Starts a region whose members assign none of the registers in {@code unassigned} (ESP's moves included),
     * so that each of them holds its entry value throughout: those with at least {@link #MIN_ACCESSES} accesses in
     * all of {@code members} get one base for the whole region. Its window is relative to that value.
     */
    void startRegion(List<List<Insn>> members, int unassigned) {
        int[] count = new int[8];
        for (List<Insn> insns : members) {
            countAccesses(insns, count);
        }
        regionWide = registersWithEnough(count) & unassigned;
        regionUsed = 0;
        loadedThrough = 0;
        storedThrough = 0;
    }

    /**
     * Starts a member of {@code insns}: picks the registers other than the region's through which at least
     * {@link #MIN_ACCESSES} flat accesses without an index go (PUSH, POP, CALL and RET counting for ESP); returns
     * whether there is one.
     */
    boolean start(List<Insn> insns) {
        int[] count = new int[8];
        countAccesses(insns, count);
        chosen = registersWithEnough(count) & ~regionWide;
        dirty = 0;
        espOffset = 0;
        used = 0;
        loadedThrough &= regionWide;
        storedThrough &= regionWide;
        return chosen != 0;
    }

    private static void countAccesses(List<Insn> insns, int[] count) {
        for (Insn in : insns) {
            if (in.mem() && throughBaseAlone(in)) {
                count[in.base()]++;
            }
            if (movesStack(in.op())) {
                count[ESP]++;
            }
        }
    }

    private static int registersWithEnough(int[] count) {
        int registers = 0;
        for (int r = 0; r < 8; r++) {
            if (count[r] >= MIN_ACCESSES) {
                registers |= 1 << r;
            }
        }
        return registers;
    }

    private static boolean movesStack(int op) {
        return (op >= 0x50 && op <= 0x5f) || op == 0x68 || op == 0x6a || op == 0xe8 || op == 0xc2 || op == 0xc3;
    }

    /** Whether {@code in}'s memory operand is {@code [r + disp]} in a flat segment: the accesses a base may serve. */
    static boolean throughBaseAlone(Insn in) {
        return in.index() == Insn.NONE && in.base() != Insn.NONE && BlockCompiler.flat(in.seg());
    }

    /**
     * An access of {@code size} bytes at {@code [r + disp]} ({@code r}'s current value): whether it may use
     * {@code r}'s base (then its bytes join the window, which never grows to a page's length).
     */
    boolean use(int r, int disp, int size) {
        int bit = 1 << r;
        boolean regionBase = (regionWide & bit) != 0;
        if (!regionBase && (chosen & ~dirty & bit) == 0) {
            return false;
        }
        long first = (long) disp + (r == ESP && !regionBase ? espOffset : 0);
        long last = first + size - 1;
        if (first < Integer.MIN_VALUE || last > Integer.MAX_VALUE) {
            return false;
        }
        int windows = regionBase ? regionUsed : used;
        if ((windows & bit) != 0 && Math.max(high[r], last) - Math.min(low[r], first) >= 4096) {
            return false; // the window stays within a page's length: two pages at most, and a base can be made
        }
        accessFirst = (int) first;
        accessLast = (int) last;
        if (regionBase) {
            regionUsed = widen(regionUsed, r, low, high);
        } else {
            used = widen(used, r, low, high);
        }
        return true;
    }

    /**
     * Adds the bytes of the last access {@link #use} allowed to {@code r}'s window in {@code low} and {@code high},
     * the first ones when {@code r} is not in {@code windows}; returns {@code windows} with {@code r}.
     */
    private int widen(int windows, int r, int[] low, int[] high) {
        boolean empty = (windows & (1 << r)) == 0;
        low[r] = empty ? accessFirst : Math.min(low[r], accessFirst);
        high[r] = empty ? accessLast : Math.max(high[r], accessLast);
        return windows | 1 << r;
    }

    /** An access through {@code r}'s base loads ({@code store} false) or stores: its page needs that kind of entry. */
    void accessed(int r, boolean store) {
        if (store) {
            storedThrough = widen(storedThrough, r, storeLow, storeHigh);
        } else {
            loadedThrough = widen(loadedThrough, r, loadLow, loadHigh);
        }
    }

    /** Whether loads, stores go through {@code r}'s base (the window's pages must have read, write entries). */
    boolean loadsThrough(int r) { return (loadedThrough & (1 << r)) != 0; }

    boolean storesThrough(int r) { return (storedThrough & (1 << r)) != 0; }

    /** The offset from its base register's value (at the member's or region's start) of the access {@link #use} allowed last. */
    int offset() { return accessFirst; }

    /** Register {@code r} was assigned: its later accesses take the ordinary path. */
    void written(int r) { dirty |= 1 << r; }

    /** ESP moved by {@code delta} (PUSH, POP, CALL, RET): its accesses keep their base, shifted. */
    void espMoved(int delta) { espOffset += delta; }

    /** Whether {@code r} was assigned since the member's start (its accesses have no base from then on). */
    boolean assigned(int r) { return (dirty & (1 << r)) != 0; }

    /**
     * ESP, not assigned before, was just {@link #written} by an ADD or SUB of the constant {@code delta}: a move by a
     * constant after all, as {@link #espMoved}.
     */
    void espAdjusted(int delta) {
        dirty &= ~(1 << ESP);
        espMoved(delta);
    }

    /** Whether {@code r} has a base to load at the member's start. */
    boolean used(int r) { return (used & (1 << r)) != 0; }

    /** Whether {@code r}'s accesses use the region's base, which a run of the region always has (see {@link #startRegion}). */
    boolean regionWide(int r) { return (regionWide & (1 << r)) != 0; }

    /** Whether {@code r} has a base to load at the region's entry (see {@link #startRegion}). */
    boolean regionUsed(int r) { return (regionUsed & (1 << r)) != 0; }

    /** The lowest and highest byte of {@code r}'s window, relative to {@code r} at the member's (or region's) start. */
    int low(int r) { return low[r]; }

    int high(int r) { return high[r]; }

    /** The lowest and highest byte loads, stores through {@code r}'s base reach (see {@link #loadsThrough}). */
    int loadLow(int r) { return loadLow[r]; }

    int loadHigh(int r) { return loadHigh[r]; }

    int storeLow(int r) { return storeLow[r]; }

    int storeHigh(int r) { return storeHigh[r]; }
}
