package org.jqemu.accel.tcg;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.internal.misc.Unsafe;

/**
 * Little-endian loads and stores on guest RAM, used by generated blocks on a TLB hit.
 *
 * <p>{@code get1..set4} (segment and page offset) serve {@code -Djqemu.tcg.inlineTlb=segment}: a block's
 * method is compiled by C1 only, and in C1 code an inline segment access is a deep chain of VarHandle calls;
 * these few shared methods are compiled by C2 early, which makes them a cheap call.
 *
 * <p>{@link #UNSAFE} serves the raw inline hit path ({@code inlineTlb=unsafe|regions}: generated code
 * calls {@link Unsafe} at a host address itself): C1 and C2 compile an {@code Unsafe} get/put of a primitive
 * to one host instruction. x86 tolerates unaligned accesses and is little-endian like the guest
 * ({@link #RAW_USABLE} is false on another host, and the translator then does not use this path).
 *
 * <p>Why a raw access is memory-safe here (the argument of {@code HostMemory.ALL}, see Mmu's class comment):
 * the host address comes from a TLB entry's {@code readHost}/{@code writeHost}, which the MMU fills only
 * from a live RAM page whose slice the same entry keeps referenced ({@code readPage}/{@code writePage}) as
 * long as the address can be hit; RAM slices come only from automatic or global arenas, freed only once no
 * segment of them is reachable. The generated code adds the access's page offset and hits only when the tag
 * of the page of the access's last byte equals the entry's (the entry is chosen by the first byte's page), so
 * every byte accessed lies in that 4 KiB page. Write entries exist only for RAM pages without translated
 * code and with the dirty bit set, exactly as for the MMU's own fast path.
 *
 * <p>The flat path ({@code inlineTlb=flat|flatregions}) reads the CPU's flat page table instead of the TLB
 * (see target-i386's FlatTlb for its safety argument: each nonzero entry's RAM slice stays referenced by the
 * table until the entry is cleared, the index is below 2^20 by construction, and the generated code sends
 * accesses that could cross the page's end to the MMU).
 *
 * <p>The probe also reads the TLB's {@code long[]} tag and host arrays with {@link Unsafe} (no bounds checks,
 * which C1 cannot remove there): at {@link #LONG_ARRAY_BASE} plus 8 times an index that is in bounds by
 * construction, the set's first entry ({@code tlbSet} masked to 0 or TLB_SIZE) plus the page number masked
 * to TLB_SIZE - 1, in arrays of 2 * TLB_SIZE entries that are final fields of the MMU.
 */
public final class RamAccess {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The JDK's internal raw access (needs --add-exports java.base/jdk.internal.misc=ALL-UNNAMED). */
    public static final Unsafe UNSAFE = rawAccess();
    /** Raw host accesses are available and match the guest's byte order. */
    public static final boolean RAW_USABLE = UNSAFE != null && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    /** Byte offset of a {@code long[]}'s first element: generated code reads the TLB arrays at it plus the entry's. */
    public static final long LONG_ARRAY_BASE = RAW_USABLE ? Unsafe.ARRAY_LONG_BASE_OFFSET : 0;

    private RamAccess() { }

    private static Unsafe rawAccess() {
        try {
            return Unsafe.getUnsafe();
        } catch (IllegalAccessError e) { // jdk.internal.misc not exported to us: the translator calls the MMU
            return null;
        }
    }

    /** The byte at {@code offset}, sign-extended (the caller masks). */
    public static int get1(MemorySegment page, long offset) { return page.get(ValueLayout.JAVA_BYTE, offset); }

    /** The 16-bit value at {@code offset}, sign-extended (the caller masks). */
    public static int get2(MemorySegment page, long offset) { return page.get(LE_SHORT, offset); }

    public static int get4(MemorySegment page, long offset) { return page.get(LE_INT, offset); }

    public static void set1(MemorySegment page, long offset, int value) { page.set(ValueLayout.JAVA_BYTE, offset, (byte) value); }

    public static void set2(MemorySegment page, long offset, int value) { page.set(LE_SHORT, offset, (short) value); }

    public static void set4(MemorySegment page, long offset, int value) { page.set(LE_INT, offset, value); }
}
