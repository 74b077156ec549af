package org.jqemu.accel.tcg;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import org.jqemu.memory.AddressSpace;
import org.jqemu.target.i386.CodeWatcher;
import org.jqemu.target.i386.X86Cpu;

/**
 * The CPU internals the engine (not the generated code) reads, through the translator lookup of
 * target-i386 (static final handles, so the JIT compiles them to plain field accesses).
 */
final class CpuAccess {
    static final MethodHandles.Lookup LOOKUP = X86Cpu.translatorLookup();
    private static final Class<?> STATE;
    private static final VarHandle FLAGS, CODE32, STACK32, USER_MODE, SEG_BASE, SEG_LOW, SEG_HIGH, SEG_RIGHTS, RETIRED,
            WATCHER, MEMORY;
    private static final MethodHandle INVALIDATE_PAGE;
    static final int OP_ADD, OP_SUB, OP_INC, OP_DEC, OP_RESULT;
    private static final int TF = 0x100, ES = 0, CS = 1, SS = 2, DS = 3, READ_WRITE = 3;

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
            INVALIDATE_PAGE = LOOKUP.findVirtual(mmu, "invalidatePage", MethodType.methodType(void.class, long.class));
            OP_ADD = constant("OP_ADD");
            OP_SUB = constant("OP_SUB");
            OP_INC = constant("OP_INC");
            OP_DEC = constant("OP_DEC");
            OP_RESULT = constant("OP_RESULT");
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private CpuAccess() { }

    private static int constant(String name) throws ReflectiveOperationException {
        return (int) LOOKUP.findStaticVarHandle(STATE, name, int.class).get();
    }

    /**
     * The mode translated blocks assume: Linux user mode, 32-bit code and stack, no single-stepping, flat
     * CS, and flat read/write ES, DS and SS (so a TLB hit needs no segment check).
     */
    static boolean translatable(X86Cpu cpu) {
        return (boolean) USER_MODE.get(cpu) && (boolean) CODE32.get(cpu) && (boolean) STACK32.get(cpu)
                && ((int) FLAGS.get(cpu) & TF) == 0 && flat(cpu, CS) && flatData(cpu, ES) && flatData(cpu, DS)
                && flatData(cpu, SS);
    }

    private static boolean flatData(X86Cpu cpu, int seg) {
        return flat(cpu, seg) && (((int[]) SEG_RIGHTS.get(cpu))[seg] & READ_WRITE) == READ_WRITE;
    }

    private static boolean flat(X86Cpu cpu, int seg) {
        return ((long[]) SEG_BASE.get(cpu))[seg] == 0 && ((long[]) SEG_LOW.get(cpu))[seg] == 0
                && ((long[]) SEG_HIGH.get(cpu))[seg] == 0xffff_ffffL;
    }

    static boolean userMode(X86Cpu cpu) { return (boolean) USER_MODE.get(cpu); }

    static void addRetired(X86Cpu cpu, long n) { RETIRED.set(cpu, (long) RETIRED.get(cpu) + n); }

    static AddressSpace memory(X86Cpu cpu) { return (AddressSpace) MEMORY.get(cpu); }

    static void setCodeWatcher(X86Cpu cpu, CodeWatcher watcher) { WATCHER.set(cpu, watcher); }

    static void invalidatePage(X86Cpu cpu, long linear) {
        try {
            INVALIDATE_PAGE.invoke(cpu, linear);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }
}
