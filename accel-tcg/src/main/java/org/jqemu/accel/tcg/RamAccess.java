package org.jqemu.accel.tcg;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Little-endian loads and stores on a guest RAM page, called by generated blocks on a TLB hit.
 *
 * <p>Why calls and not inline {@code MemorySegment} accesses: a block's method is compiled by C2 only
 * once it is very hot, and a kernel boot runs tens of thousands of blocks that never get there; in the
 * JVM's interpreter and in C1 code an inline segment access is a deep chain of VarHandle calls. These few
 * shared methods are hot at once, so C2 compiles them early (a cheap call from C1 code), and C2 inlines
 * them into a hot block, where the result is the same code as an inline access.
 */
public final class RamAccess {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE_INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private RamAccess() { }

    /** The byte at {@code offset}, sign-extended (the caller masks). */
    public static int get1(MemorySegment page, long offset) { return page.get(ValueLayout.JAVA_BYTE, offset); }

    /** The 16-bit value at {@code offset}, sign-extended (the caller masks). */
    public static int get2(MemorySegment page, long offset) { return page.get(LE_SHORT, offset); }

    public static int get4(MemorySegment page, long offset) { return page.get(LE_INT, offset); }

    public static void set1(MemorySegment page, long offset, int value) { page.set(ValueLayout.JAVA_BYTE, offset, (byte) value); }

    public static void set2(MemorySegment page, long offset, int value) { page.set(LE_SHORT, offset, (short) value); }

    public static void set4(MemorySegment page, long offset, int value) { page.set(LE_INT, offset, value); }
}
