package jdk.test.whitebox;

import java.lang.reflect.Executable;

/**
 * The part of HotSpot's WhiteBox API that jqemu uses: compiling a method at a chosen tier and reading the
 * tier it runs at. HotSpot binds these natives by class name when {@code -XX:+UnlockDiagnosticVMOptions
 * -XX:+WhiteBoxAPI} is given and this class is loaded by the boot loader ({@code -Xbootclasspath/a:}); else
 * {@link #registerNatives} fails and so does this class's initialization, which callers take as "absent".
 * Only the natives used are declared: HotSpot warns about the others only when VM output is displayed
 * (the launchers pass {@code -XX:-DisplayVMOutput}).
 */
public final class WhiteBox {
    private static native void registerNatives();

    static {
        registerNatives();
    }

    /** The only instance. */
    public static final WhiteBox INSTANCE = new WhiteBox();

    private WhiteBox() {}

    /**
     * Queues {@code method} for compilation at {@code compLevel} (1: C1 without profiling), entered at
     * {@code entryBci} (-1: its normal entry); false when HotSpot refused it.
     */
    public native boolean enqueueMethodForCompilation0(Executable method, int compLevel, int entryBci);

    /** The tier {@code method}'s code now runs at (0: the bytecode interpreter), or its OSR code's with {@code isOsr}. */
    public native int getMethodCompilationLevel0(Executable method, boolean isOsr);
}
