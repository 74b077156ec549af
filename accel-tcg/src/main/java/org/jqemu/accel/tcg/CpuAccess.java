package org.jqemu.accel.tcg;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import org.jqemu.memory.AddressSpace;
import org.jqemu.target.i386.CodeWatcher;
import org.jqemu.target.i386.InterruptSource;
import org.jqemu.target.i386.X86Cpu;

/**
 * The CPU internals the engine (not the generated code) reads, through the translator lookup of
 * target-i386 (static final handles, so the JIT compiles them to plain field accesses).
 */
final class CpuAccess {
    static final MethodHandles.Lookup LOOKUP = X86Cpu.translatorLookup();
    private static final Class<?> STATE;
    private static final VarHandle FLAGS, CODE32, STACK32, USER_MODE, SEG_BASE, SEG_LOW, SEG_HIGH, SEG_RIGHTS, RETIRED,
            WATCHER, MEMORY, TLB_SET, CR0, HALTED, NMI_PENDING, NMI_BLOCKED, STOP_REQUESTED,
            INTERRUPT_SOURCE, INTERRUPT_SHADOW, WALK_GLOBAL;
    private static final MethodHandle FETCH_PHYSICAL, DROP_WRITE_ENTRIES, FLAT_ENTRY;
    static final int OP_ADD, OP_SUB, OP_INC, OP_DEC, OP_RESULT;
    /**
     * Entries per TLB set, read from the MMU itself: the raw probe indexes its arrays (2 sets of this many
     * entries) without bounds checks, so the masks it emits must come from the MMU's own size.
     */
    static final int TLB_SIZE;
    private static final int TF = 0x100, IF = 0x200, AC = 0x4_0000, VM = 0x2_0000, CR0_PE = 1;
    private static final int ES = 0, CS = 1, SS = 2, DS = 3, READ_WRITE = 3;

    static {
        try {
            STATE = LOOKUP.findClass("org.jqemu.target.i386.CpuState");
            Class<?> mmu = LOOKUP.findClass("org.jqemu.target.i386.Mmu");
            Class<?> units = LOOKUP.findClass("org.jqemu.target.i386.SystemUnit");
            FLAGS = LOOKUP.findVarHandle(STATE, "flags", int.class);
            CODE32 = LOOKUP.findVarHandle(STATE, "code32", boolean.class);
            STACK32 = LOOKUP.findVarHandle(STATE, "stack32", boolean.class);
            SEG_BASE = LOOKUP.findVarHandle(STATE, "segBase", long[].class);
            SEG_LOW = LOOKUP.findVarHandle(STATE, "segLow", long[].class);
            SEG_HIGH = LOOKUP.findVarHandle(STATE, "segHigh", long[].class);
            SEG_RIGHTS = LOOKUP.findVarHandle(STATE, "segRights", int[].class);
            USER_MODE = LOOKUP.findVarHandle(mmu, "userMode", boolean.class);
            WATCHER = LOOKUP.findVarHandle(mmu, "codeWatcher", CodeWatcher.class);
            MEMORY = LOOKUP.findVarHandle(mmu, "memory", AddressSpace.class);
            RETIRED = LOOKUP.findVarHandle(units, "retired", long.class);
            FETCH_PHYSICAL = LOOKUP.findVirtual(X86Cpu.class, "fetchPhysical", MethodType.methodType(long.class, long.class));
            TLB_SET = LOOKUP.findVarHandle(mmu, "tlbSet", int.class);
            WALK_GLOBAL = LOOKUP.findVarHandle(mmu, "walkGlobal", boolean.class);
            DROP_WRITE_ENTRIES = LOOKUP.findVirtual(mmu, "dropWriteEntries", MethodType.methodType(void.class, long.class));
            FLAT_ENTRY = LOOKUP.findVirtual(mmu, "flatEntry", MethodType.methodType(long.class, long.class, boolean.class));
            CR0 = LOOKUP.findVarHandle(STATE, "cr0", long.class);
            HALTED = LOOKUP.findVarHandle(units, "halted", boolean.class);
            INTERRUPT_SHADOW = LOOKUP.findVarHandle(units, "interruptShadow", boolean.class);
            NMI_PENDING = LOOKUP.findVarHandle(X86Cpu.class, "nmiPending", boolean.class);
            NMI_BLOCKED = LOOKUP.findVarHandle(X86Cpu.class, "nmiBlocked", boolean.class);
            STOP_REQUESTED = LOOKUP.findVarHandle(X86Cpu.class, "stopRequested", boolean.class);
            INTERRUPT_SOURCE = LOOKUP.findVarHandle(X86Cpu.class, "interruptSource", InterruptSource.class);
            OP_ADD = constant("OP_ADD");
            OP_SUB = constant("OP_SUB");
            OP_INC = constant("OP_INC");
            OP_DEC = constant("OP_DEC");
            OP_RESULT = constant("OP_RESULT");
            TLB_SIZE = (int) LOOKUP.findStaticVarHandle(mmu, "TLB_SIZE", int.class).get();
            if (Integer.bitCount(TLB_SIZE) != 1) { // the probe masks page numbers with TLB_SIZE - 1
                throw new ExceptionInInitializerError("the MMU's TLB size is not a power of two: " + TLB_SIZE);
            }
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private CpuAccess() { }

    private static int constant(String name) throws ReflectiveOperationException {
        return (int) LOOKUP.findStaticVarHandle(STATE, name, int.class).get();
    }

    /**
     * The mode translated blocks assume: Linux user mode or protected mode (not virtual-8086), 32-bit code
     * and stack, no single-stepping, no alignment checking, flat CS, and flat read/write ES, DS and SS (so a
     * TLB hit needs no segment check; string instructions write through ES). CPL-dependent page permissions
     * come with the CPU's TLB set.
     */
    static boolean translatable(X86Cpu cpu) {
        int flags = (int) FLAGS.get(cpu);
        return ((boolean) USER_MODE.get(cpu) || ((long) CR0.get(cpu) & CR0_PE) != 0)
                && (flags & (TF | AC | VM)) == 0 && (boolean) CODE32.get(cpu) && (boolean) STACK32.get(cpu)
                && flat(cpu, CS) && flatData(cpu, ES) && flatData(cpu, DS) && flatData(cpu, SS);
    }

    private static boolean flatData(X86Cpu cpu, int seg) {
        return flat(cpu, seg) && (((int[]) SEG_RIGHTS.get(cpu))[seg] & READ_WRITE) == READ_WRITE;
    }

    private static boolean flat(X86Cpu cpu, int seg) {
        return ((long[]) SEG_BASE.get(cpu))[seg] == 0 && ((long[]) SEG_LOW.get(cpu))[seg] == 0
                && ((long[]) SEG_HIGH.get(cpu))[seg] == 0xffff_ffffL;
    }

    /**
     * System mode: something the interpreter must handle at this instruction boundary before any block
     * runs: a halted CPU, an interrupt shadow, an NMI, or (IF set) an interrupt request.
     */
    static boolean eventPending(X86Cpu cpu) {
        // After STI, MOV SS or POP SS the interpreter runs the next instruction too, which ends the shadow:
        // a block must not run while it is set, or the shadow would hold off an interrupt after the block.
        if ((boolean) HALTED.get(cpu) || (boolean) INTERRUPT_SHADOW.get(cpu)
                || ((boolean) NMI_PENDING.get(cpu) && !(boolean) NMI_BLOCKED.get(cpu))) {
            return true;
        }
        if (((int) FLAGS.get(cpu) & IF) == 0) {
            return false;
        }
        InterruptSource source = (InterruptSource) INTERRUPT_SOURCE.get(cpu);
        return source != null && source.interruptPending();
    }

    /** Consumes a stop request made through {@link X86Cpu#requestStop} (as the interpreter's run loop does). */
    static boolean takeStopRequest(X86Cpu cpu) {
        if ((boolean) STOP_REQUESTED.get(cpu)) {
            STOP_REQUESTED.set(cpu, false);
            return true;
        }
        return false;
    }

    /** 0 for supervisor accesses, another value at CPL 3: the TLB set whose permissions blocks were checked with. */
    static int tlbSet(X86Cpu cpu) { return (int) TLB_SET.get(cpu); }

    /** The physical address of a fetch at {@code linear}; throws the CPU's #PF when the fetch would fault. */
    static long fetchPhysical(X86Cpu cpu, long linear) {
        try {
            return (long) FETCH_PHYSICAL.invokeExact(cpu, linear);
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    /** The translation {@link #fetchPhysical} just made is global (or paging is off): a CR3 load keeps it. */
    static boolean fetchWasGlobal(X86Cpu cpu) { return (boolean) WALK_GLOBAL.get(cpu); }

    /** What a method handle threw, rethrown as is when unchecked (the handles here declare no checked exception). */
    private static RuntimeException unchecked(Throwable e) {
        if (e instanceof RuntimeException r) {
            return r;
        }
        if (e instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(e);
    }

    /**
     * Drops every write-TLB entry mapping the RAM page at host address {@code identity}, in any linear
     * alias: stores to a page that now holds code must take the slow path that reports them.
     */
    static void dropWriteEntries(X86Cpu cpu, long identity) {
        try {
            DROP_WRITE_ENTRIES.invoke(cpu, identity);
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    /**
     * The flat page table's entry (see the flat path in BlockCompiler) for {@code linear} in the CPU's current
     * TLB set: 0 when none (or the CPU has no flat tables yet), else the host address minus the page's linear
     * address. For tests.
     */
    static long flatEntry(X86Cpu cpu, long linear, boolean write) {
        try {
            return (long) FLAT_ENTRY.invoke(cpu, linear, write);
        } catch (Throwable e) {
            throw unchecked(e);
        }
    }

    static boolean userMode(X86Cpu cpu) { return (boolean) USER_MODE.get(cpu); }

    static void addRetired(X86Cpu cpu, long n) { RETIRED.set(cpu, (long) RETIRED.get(cpu) + n); }

    static AddressSpace memory(X86Cpu cpu) { return (AddressSpace) MEMORY.get(cpu); }

    static void setCodeWatcher(X86Cpu cpu, CodeWatcher watcher) { WATCHER.set(cpu, watcher); }
}
