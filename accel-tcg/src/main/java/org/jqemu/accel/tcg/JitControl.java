package org.jqemu.accel.tcg;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Executable;
import java.lang.reflect.Method;
import org.jqemu.target.i386.X86Cpu;

/**
 * Asks HotSpot to compile generated code at tier 1 (C1 without profiling) through its WhiteBox API, when the
 * launcher put {@code jdk.test.whitebox.WhiteBox} (module jvm-whitebox) on the boot class path and passed
 * {@code -XX:+UnlockDiagnosticVMOptions -XX:+WhiteBoxAPI}. Without that, or on another JVM, or with
 * {@code -D}{@value #PROPERTY}{@code =off}, {@link #available} is false and HotSpot's own tiered policy
 * compiles blocks as before.
 *
 * <p>Why: bin/jit-directives*.json keep C2 away from the generated classes, but the tiered policy learns that
 * only when it asks C2, so each hot block was first compiled at tier 3 (C1 with full profiling: the slowest
 * C1 code and the costliest C1 compile) and then again at tier 1. A method queued here at tier 1 stays
 * there: its code counts nothing, so the policy never looks at it again. Figures in README-design.md.
 */
final class JitControl {
    /** {@code off} turns tier-1 requests off; else the block executions before one (see {@link #blockExecutions}). */
    static final String PROPERTY = "jqemu.tcg.tier1";
    /** HotSpot's CompLevel_simple: C1 code without profiling counters. */
    static final int TIER_SIMPLE = 1;
    /** HotSpot's CompLevel_full_optimization: C2. */
    static final int TIER_C2 = 4;
    /**
     * Blocks' executions before tier 1 is asked for when {@value #PROPERTY} gives no number: below 128, where
     * HotSpot's interpreter first reports a method's invocations to the tiered policy (Tier0InvokeNotifyFreqLog
     * 7), which may then profile a block that loops at tier 3; high enough that blocks run only a few dozen
     * times are not compiled at all. The best of 0, 64, 100 and 150 on Linux boots (README-design.md);
     * jqemu-i386's launcher passes 16 (a process's hot blocks run millions of times, and soon).
     */
    static final int DEFAULT_BLOCK_EXECUTIONS = 100;
    private static final int NORMAL_ENTRY = -1;
    private static final String WHITE_BOX = "jdk.test.whitebox.WhiteBox";

    /** {@code (Executable, int level, int bci) boolean}, bound to the WhiteBox instance; null without it. */
    private static final MethodHandle ENQUEUE;
    /** {@code (Executable, boolean osr) int}, bound likewise; null without it. */
    private static final MethodHandle LEVEL;

    static {
        MethodHandle enqueue = null;
        MethodHandle level = null;
        if (!"off".equalsIgnoreCase(System.getProperty(PROPERTY, ""))) {
            try {
                // The boot loader's copy only: HotSpot binds the natives for no other (a copy on the class path fails).
                Class<?> wb = Class.forName(WHITE_BOX, true, null);
                Object instance = wb.getField("INSTANCE").get(null);
                MethodHandles.Lookup lookup = MethodHandles.publicLookup();
                enqueue = lookup.findVirtual(wb, "enqueueMethodForCompilation0",
                        MethodType.methodType(boolean.class, Executable.class, int.class, int.class)).bindTo(instance);
                level = lookup.findVirtual(wb, "getMethodCompilationLevel0",
                        MethodType.methodType(int.class, Executable.class, boolean.class)).bindTo(instance);
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                enqueue = null; // absent, natives not bound (no -XX:+WhiteBoxAPI), another JVM: HotSpot's policy as before
                level = null;
            }
        }
        ENQUEUE = enqueue;
        LEVEL = level;
    }

    private JitControl() {}

    /** Whether tier-1 requests reach HotSpot. */
    static boolean available() { return ENQUEUE != null; }

    /**
     * Block executions after which the engine asks for a block's tier-1 code: {@value #PROPERTY} when it is a
     * number (0: at translation), else {@link #DEFAULT_BLOCK_EXECUTIONS}; -1 when {@link #available} is false.
     * HotSpot's own policy profiles a method from 200 invocations on (Tier3InvocationThreshold; a method with
     * loops sooner), so anything below keeps blocks away from tier 3.
     */
    static int blockExecutions() {
        if (!available()) {
            return -1;
        }
        try {
            return Math.max(0, Integer.parseInt(System.getProperty(PROPERTY, "").trim()));
        } catch (NumberFormatException e) {
            return DEFAULT_BLOCK_EXECUTIONS;
        }
    }

    /**
     * Queues {@code code}'s {@code execute} for C1 at tier 1 (compiled in the background); false when
     * unavailable or refused (HotSpot then compiles it by its own policy: a refusal is no error).
     */
    static boolean compileNow(BlockCode code) {
        return requestTier1(code) != null;
    }

    /**
     * Like {@link #compileNow} (any thread may ask), but returns {@code code}'s {@code execute}, for {@link #level},
     * when HotSpot took the request, else null.
     */
    static Method requestTier1(BlockCode code) {
        return request(code, TIER_SIMPLE);
    }

    /**
     * Queues {@code code}'s {@code execute} for HotSpot's {@code tier} ({@link #TIER_SIMPLE} or {@link #TIER_C2});
     * returns it, for {@link #level}, when HotSpot took the request, else null. C2 asked this way compiles a method
     * that never ran: it has no profile, so it plants no uncommon traps for branches "never taken" (a TLB miss,
     * a budget exit), which would make HotSpot throw the code away when the guest takes one.
     */
    static Method request(BlockCode code, int tier) {
        if (ENQUEUE == null) {
            return null;
        }
        try {
            Method m = executeMethod(code);
            return (boolean) ENQUEUE.invokeExact((Executable) m, tier, NORMAL_ENTRY) ? m : null;
        } catch (Throwable e) {
            return null;
        }
    }

    /** The tier {@code m}'s normal entry runs at now (0: HotSpot's bytecode interpreter); -1 when unavailable. */
    static int level(Method m) {
        if (LEVEL == null) {
            return -1;
        }
        try {
            return (int) LEVEL.invokeExact((Executable) m, false);
        } catch (Throwable e) {
            return -1;
        }
    }

    /** The generated {@code execute} method of a block's or region's class. */
    static Method executeMethod(BlockCode code) throws NoSuchMethodException {
        return code.getClass().getDeclaredMethod("execute", X86Cpu.class, CodeCache.class);
    }
}
