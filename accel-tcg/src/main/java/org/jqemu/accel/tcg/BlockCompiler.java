package org.jqemu.accel.tcg;

import static java.lang.constant.ConstantDescs.CD_Object;
import static java.lang.constant.ConstantDescs.CD_boolean;
import static java.lang.constant.ConstantDescs.CD_int;
import static java.lang.constant.ConstantDescs.CD_long;
import static java.lang.constant.ConstantDescs.CD_void;
import static java.lang.constant.ConstantDescs.INIT_NAME;
import static java.lang.constant.ConstantDescs.MTD_void;

import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeElement;
import java.lang.classfile.CodeBuilder;
import java.lang.classfile.CodeTransform;
import java.lang.classfile.Label;
import java.lang.classfile.Opcode;
import java.lang.classfile.instruction.IncrementInstruction;
import java.lang.classfile.instruction.LoadInstruction;
import java.lang.classfile.instruction.SwitchCase;
import java.lang.constant.ClassDesc;
import java.lang.constant.ConstantDescs;
import java.lang.constant.MethodTypeDesc;
import java.lang.invoke.MethodHandles;
import java.lang.reflect.AccessFlag;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Compiles a list of decoded instructions into a hidden class implementing {@link BlockCode}.
 *
 * <p>Inside {@code execute}, the eight general registers and the lazy-flag record (EFLAGS, op, sign, dst,
 * src, res, aux) are JVM locals, loaded at entry and stored at every exit; the JIT drops flag computations
 * that a later instruction overwrites before any read. Conditions after CMP/SUB/logic/INC/DEC in the same
 * block compare the locals directly; otherwise, and for ADC/SBB/shifts/IMUL, the flag locals are stored
 * and the interpreter's own method is called, so flags always mean exactly what the interpreter computes.
 * Memory goes through the CPU's segment-checked, TLB-backed {@code readMem}/{@code writeMem}.
 *
 * <p>Precise faults: every instruction writes its locals only after its last call that can throw, and
 * its bytecode range has an exception handler that stores the locals (the state before the instruction),
 * sets EIP to the instruction and returns {@link #KIND_FAULT}; the engine then lets the interpreter execute
 * that instruction, which raises the fault exactly as it would have without the translator.
 */
final class BlockCompiler {
    /** Return-value kinds (low byte; the instructions completed are in the bits above). */
    static final int KIND_EXIT0 = 0, KIND_EXIT1 = 1, KIND_DYNAMIC = 2, KIND_FAULT = 3;
    /**
     * A region refused to run (no instruction done): a page base it needs could not be made at its entry (see
     * PageBases); the engine runs the head's own block instead.
     */
    static final int KIND_REFUSED = 4;

    private static final ClassDesc CD_CPU = ClassDesc.of("org.jqemu.target.i386.X86Cpu");
    private static final ClassDesc CD_CACHE = ClassDesc.of(CodeCache.class.getName());
    private static final ClassDesc CD_CODE = ClassDesc.of(BlockCode.class.getName());
    private static final ClassDesc CD_RUNTIME_EXCEPTION = ClassDesc.of("java.lang.RuntimeException");
    /** Generated classes are named {@code TcgBlock_<guest EIP of the head>}, so a profile names the guest code. */
    private static final String BLOCK_CLASS_PREFIX = "org.jqemu.target.i386.TcgBlock_";
    /**
     * The name prefix of the hot tier's recompiled regions: bin/jit-directives.json keeps C2 away from
     * {@code TcgBlock*} only, so HotSpot's C2 may compile these few very hot methods.
     */
    private static final String HOT_CLASS_PREFIX = "org.jqemu.target.i386.TcgHot_";
    private static final MethodTypeDesc MTD_EXECUTE = MethodTypeDesc.of(CD_int, CD_CPU, CD_CACHE);
    private static final MethodTypeDesc MTD_READ = MethodTypeDesc.of(CD_int, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_WRITE = MethodTypeDesc.of(CD_void, CD_int, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_IIII_I = MethodTypeDesc.of(CD_int, CD_int, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_CONDITION = MethodTypeDesc.of(CD_boolean, CD_int);
    private static final ClassDesc CD_LONG = ConstantDescs.CD_Long;
    private static final MethodTypeDesc MTD_JJ_J = MethodTypeDesc.of(CD_long, CD_long, CD_long);

    private static final int CPU = 1, CACHE = 2, REG0 = 3, FLAGS = 11, LOP = 12, LSIGN = 13, LDST = 14, LSRC = 15,
            LRES = 16, LAUX = 17, T0 = 18, T1 = 19, T2 = 20, T3 = 21, REGS = 22, DONE = 23, READ_TAG = 24,
            READ_PAGE = 25, WRITE_TAG = 26, WRITE_PAGE = 27, TLB_SET = 28, ADDR = 29, TLB_INDEX = 30, PRODUCT = 31, DIVISOR = 33, QUOTIENT = 35,
            DELTA = 37, ATOMIC_PAGE = 38, T4 = 39, T5 = 40, BUDGET = 41, TLB_BASE = 42, TLB_OFFSET = 44,
            FLAT_READ = 47, FLAT_WRITE = 49, ENTRY = 51, CODE_WRITTEN = 53, PAGE_BASE0 = 54;
    private static final ClassDesc CD_MMU = ClassDesc.of("org.jqemu.target.i386.Mmu");
    private static final ClassDesc CD_INTEGER = ConstantDescs.CD_Integer;
    private static final MethodTypeDesc MTD_I_I = MethodTypeDesc.of(CD_int, CD_int);
    private static final MethodTypeDesc MTD_I_V = MethodTypeDesc.of(CD_void, CD_int);
    private static final MethodTypeDesc MTD_J_I = MethodTypeDesc.of(CD_int, CD_long);
    private static final MethodTypeDesc MTD_JI_V = MethodTypeDesc.of(CD_void, CD_long, CD_int);
    private static final MethodTypeDesc MTD_II_I = MethodTypeDesc.of(CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_III_V = MethodTypeDesc.of(CD_void, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_MISS_EXIT = MethodTypeDesc.of(ClassDesc.of("java.lang.RuntimeException"), CD_int, CD_int, CD_boolean);
    /**
     * How flat memory accesses reach RAM ({@code -Djqemu.tcg.inlineTlb=}): {@code call} (the default), a call
     * of the CPU's read8..write32 (its TLB fast path); {@code unsafe}, the TLB probe inline and on a hit a raw
     * {@code Unsafe} access at the entry's host address (one instruction in C1 code, see RamAccess;
     * sha256sum's guest CPU time -30%, but the full Linux boot costs ~10% more CPU: larger methods for C1;
     * figures in README-design.md; falls back to {@code call} when jdk.internal.misc is not exported);
     * {@code segment} (or
     * {@code true}), the probe inline and a RamAccess.get4 call on the entry's slice; {@code regions},
     * {@code unsafe} in regions (hot loops) and {@code call} in ordinary blocks; {@code flat}, the CPU's flat
     * page table (see {@link #flatEntry}: one entry load, no tag) and a raw access; {@code flatregions},
     * {@code flat} in regions and {@code call} in ordinary blocks.
     */
    enum TlbPath {
        CALL, UNSAFE, SEGMENT, REGIONS, FLAT, FLAT_REGIONS, FLAT_EXIT;

        /** Generated code accesses host memory with Unsafe (needs jdk.internal.misc). */
        boolean raw() { return this != CALL && this != SEGMENT; }

        /** The CPU's flat page table ({@code flat}, or {@code flatexit}: the same hit, misses leave the method). */
        boolean flat() { return this == FLAT || this == FLAT_EXIT; }
    }

    private static final String TLB_PROPERTY = "jqemu.tcg.inlineTlb";
    /** {@code -Djqemu.tcg.inlineTlb} was given: it overrides a front end's choice ({@link #tlbPathOr}). */
    private static final boolean TLB_PATH_CONFIGURED = System.getProperty(TLB_PROPERTY) != null;
    /** The default path of new engines; tests switch it with {@link #useTlbPath}. */
    private static volatile TlbPath tlbPath = tlbPath(System.getProperty(TLB_PROPERTY, "call"));

    /** Translates later blocks with {@code path} (when usable here); returns the path in use before. */
    static TlbPath useTlbPath(TlbPath path) {
        TlbPath before = tlbPath;
        tlbPath = tlbPath(path.name().toLowerCase(Locale.ROOT));
        return before;
    }

    static TlbPath tlbPath() { return tlbPath; }

    /** {@code preferred} (when usable here) unless {@code -Djqemu.tcg.inlineTlb} names a path, which wins. */
    static TlbPath tlbPathOr(TlbPath preferred) {
        return TLB_PATH_CONFIGURED ? tlbPath : tlbPath(preferred.name().toLowerCase(Locale.ROOT));
    }

    static TlbPath tlbPath(String name) {
        TlbPath path = switch (name) {
            case "unsafe" -> TlbPath.UNSAFE;
            case "regions" -> TlbPath.REGIONS;
            case "segment", "true" -> TlbPath.SEGMENT;
            case "flat" -> TlbPath.FLAT;
            case "flatregions", "flat_regions" -> TlbPath.FLAT_REGIONS;
            case "flatexit", "flat_exit" -> TlbPath.FLAT_EXIT;
            default -> TlbPath.CALL;
        };
        return path.raw() && !RamAccess.RAW_USABLE ? TlbPath.CALL : path;
    }

    private static final MethodTypeDesc MTD_V_I = MethodTypeDesc.of(CD_int);
    private static final MethodTypeDesc MTD_II_V = MethodTypeDesc.of(CD_void, CD_int, CD_int);
    private static final MethodTypeDesc MTD_ZIIII_I = MethodTypeDesc.of(CD_int, CD_boolean, CD_int, CD_int, CD_int, CD_int);
    private static final MethodTypeDesc MTD_ATOMIC_RAM = MethodTypeDesc.of(ClassDesc.of("java.lang.foreign.MemorySegment"), CD_long, CD_int);
    private static final MethodTypeDesc MTD_CAS = MethodTypeDesc.of(CD_boolean, ClassDesc.of("java.lang.foreign.MemorySegment"),
            CD_long, CD_int, CD_int, CD_int);
    /** EFLAGS bits the generated code touches directly. */
    private static final int CF_FLAG = 0x1, ZF_FLAG = 0x40, SF_FLAG = 0x80, DF_FLAG = 0x400, ARITH_FLAGS = 0x8d5, RF_FLAG = 0x10000,
            VM_FLAG = 0x20000;
    /** Iterations of a REP string instruction per block execution (bounds the time between block exits). */
    private static final int REP_CHUNK = 1 << 16;
    private static final int OP_NONE = lazyOp("OP_NONE"), OP_ADC = lazyOp("OP_ADC"), OP_SBB = lazyOp("OP_SBB");
    /** lazyAux of a multiply whose product did not fit: CF and OF. */
    private static final int CF_OF = 0x801;
    private static final ClassDesc CD_SEGMENT = ClassDesc.of("java.lang.foreign.MemorySegment");
    private static final ClassDesc CD_RAM = ClassDesc.of(RamAccess.class.getName());
    private static final MethodTypeDesc MTD_RAM_GET = MethodTypeDesc.of(CD_int, CD_SEGMENT, CD_long);
    private static final MethodTypeDesc MTD_RAM_SET = MethodTypeDesc.of(CD_void, CD_SEGMENT, CD_long, CD_int);
    private static final int TLB_SIZE = CpuAccess.TLB_SIZE, PAGE_SHIFT = 12, PAGE_MASK = 0xfff;
    private static final ClassDesc CD_UNSAFE = ClassDesc.of("jdk.internal.misc.Unsafe");
    private static final MethodTypeDesc MTD_UNSAFE_GET_INT = MethodTypeDesc.of(CD_int, CD_Object, CD_long);
    private static final MethodTypeDesc MTD_UNSAFE_GET_LONG = MethodTypeDesc.of(CD_long, CD_Object, CD_long);
    private static final MethodTypeDesc MTD_UNSAFE_PUT_LONG = MethodTypeDesc.of(CD_void, CD_Object, CD_long, CD_long);
    /** Unsafe's accessor name and type by access size. */
    private static final String[] RAW_NAMES = {null, "Byte", "Short", null, "Int"};
    private static final ClassDesc[] RAW_TYPES = {null, ConstantDescs.CD_byte, ConstantDescs.CD_short, null, CD_int};
    private static final String[] FLAG_FIELDS = {"flags", "lazyOp", "lazySign", "lazyDst", "lazySrc", "lazyRes", "lazyAux"};
    private static final int ESP = 4, EBP = 5, ES = 0, SS = 2, DS = 3, ECX = 1, EAX = 0, EDX = 2, ESI = 6, EDI = 7;

    /** ES, DS and SS: the engine only runs blocks while they are flat (base 0, 4 GiB limit). */
    static boolean flat(int seg) { return seg == DS || seg == SS || seg == ES; }
    private static final int ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6,
            ALU_CMP = 7;

    /**
     * What the translator knows about the lazy-flag locals at this point of the block: nothing; the record
     * of a SUB/CMP, of a logic operation, of an ADD; or a result whose CF is bit 0 of lazyAux (INC/DEC,
     * shifts, multiplies: the interpreter's default case).
     */
    private enum Known { UNKNOWN, SUB, LOGIC, ADD, RESULT }

    private BlockCompiler() { }

    private static int lazyOp(String name) {
        try {
            return (int) CpuAccess.LOOKUP.findStaticVarHandle(CpuAccess.LOOKUP.findClass("org.jqemu.target.i386.CpuState"),
                    name, int.class).get();
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * Blocks are class files of version 49 (Java 5) without stack maps: generating the maps cost more than
     * the rest of the translation, and the JVM's type-inferring verifier checks such small methods quickly.
     */
    private static final ClassFile CLASS_FILE = ClassFile.of(ClassFile.StackMapsOption.DROP_STACK_MAPS);
    private static final int CLASS_VERSION = 49;

    /** Bytecode bytes allowed in {@code execute}: HotSpot does not compile methods above 8000 (DontCompileHugeMethods). */
    static final int MAX_METHOD_BYTES = 7500;
    static final int MAX_REGION_BYTES = Integer.getInteger("jqemu.tcg.regionBytes", MAX_METHOD_BYTES);

    /**
     * The class file of a block for a prefix of {@code insns} whose method fits {@link #MAX_METHOD_BYTES};
     * {@code methodBytes} is at least the method's length (the class file's size when that is small enough
     * to skip parsing it again).
     */
    record Fitted(byte[] classFile, int instructions, int methodBytes) { }

    static Fitted fit(List<Insn> insns) { return fit(insns, tlbPath); }

    static Fitted fit(List<Insn> insns, TlbPath path) {
        int n = insns.size();
        while (true) {
            byte[] bytes = regionClassBytes(List.of(new Member(insns.subList(0, n))), false, false, path, false);
            int length = methodLength(bytes);
            if (length <= MAX_METHOD_BYTES || n == 1) {
                return new Fitted(bytes, n, length);
            }
            n = Math.max(1, n * MAX_METHOD_BYTES / length - 1);
        }
    }

    /**
     * One block of a region: its instructions and the targets its dynamic exit (RET, indirect JMP/CALL)
     * was seen to take that are starts of blocks in the region (compared at run time, kept in the method on a match).
     */
    record Member(List<Insn> insns, int[] dynamicTargets) {
        Member(List<Insn> insns) { this(insns, new int[0]); }

        int eip() { return insns.getFirst().eip(); }
    }

    /**
     * The class file of a region for the longest prefix of {@code members} (the head first) whose method
     * fits {@link #MAX_METHOD_BYTES}; {@code instructions} of the result counts the members kept. Null when
     * not even two members fit (the head's own block is as good), or the one member of a one-block loop does not.
     */
    static Fitted fitRegion(List<Member> members) { return fitRegion(members, tlbPath, false); }

    /** As above, the members' code reaching RAM by {@code path}, an open region when {@code open} (see {@link #regionClassBytes}). */
    static Fitted fitRegion(List<Member> members, TlbPath path, boolean open) {
        int n = members.size();
        int least = Math.min(2, n);
        while (n >= least) {
            byte[] bytes = regionClassBytesOrNull(members.subList(0, n), path, open);
            int length = bytes == null ? 1 << 16 : methodLength(bytes);
            if (length <= MAX_REGION_BYTES) {
                return new Fitted(bytes, n, length);
            }
            n = Math.min(n - 1, Math.max(least, (int) ((long) n * MAX_REGION_BYTES / length)));
        }
        return null;
    }

    /** As {@link #regionClassBytes}, or null when the method would exceed the class file's 64 KiB of code. */
    private static byte[] regionClassBytesOrNull(List<Member> members, TlbPath path, boolean open) {
        try {
            return regionClassBytes(members, true, false, path, open);
        } catch (IllegalArgumentException e) { // "Code length ... is outside the allowed range"
            return null;
        }
    }

    private static int methodLength(byte[] bytes) {
        return bytes.length <= MAX_METHOD_BYTES ? bytes.length : executeLength(bytes);
    }

    private static int executeLength(byte[] bytes) {
        // (a loop and findAttribute, not streams or MethodModel.code(): their lambdas, which the AOT training never
        // reaches, were spun at run time)
        for (java.lang.classfile.MethodModel m : ClassFile.of().parse(bytes).methods()) {
            if (m.methodName().equalsString("execute")) {
                return m.findAttribute(java.lang.classfile.Attributes.code()).orElseThrow().codeLength();
            }
        }
        throw new IllegalStateException("no execute method");
    }

    static BlockCode load(byte[] bytes) {
        try {
            MethodHandles.Lookup hidden = CpuAccess.LOOKUP.defineHiddenClass(bytes, true);
            return (BlockCode) hidden.findConstructor(hidden.lookupClass(), java.lang.invoke.MethodType.methodType(void.class))
                    .invoke();
        } catch (Throwable e) {
            throw new IllegalStateException("translated block failed to load", e);
        }
    }

    /** The class file of a block (before loading; tests inspect its size). */
    static byte[] classBytes(List<Insn> insns) { return regionClassBytes(List.of(new Member(insns))); }

    /**
     * The class file of a region: its members' code in one {@code execute}, entered at the first member;
     * a jump to a member's start is a jump inside the method (registers and flags stay in locals).
     */
    static byte[] regionClassBytes(List<Member> members) {
        return regionClassBytes(members, members.size() > 1, false, tlbPath, false);
    }

    /**
     * The class file of a region ({@code region}; else of a plain block, its one member), named for the hot tier
     * (C2 may compile it) when {@code hot}, its flat memory accesses reaching RAM by {@code path}. An {@code open}
     * region (of two members or more) starts at the member {@code cache.entry} names, and its dynamic exits continue
     * at any member starting at the target (one shared lookup switch), not only at the targets recorded when it was
     * built.
     */
    static byte[] regionClassBytes(List<Member> members, boolean region, boolean hot, TlbPath path, boolean open) {
        return CLASS_FILE.build(className(hot, members.getFirst().eip()), cb -> {
            cb.withVersion(CLASS_VERSION, 0);
            cb.withFlags(AccessFlag.FINAL, AccessFlag.SYNTHETIC);
            cb.withSuperclass(CD_CODE);
            int[] minBudget = new int[1];
            cb.withMethodBody("execute", MTD_EXECUTE, ClassFile.ACC_PUBLIC | ClassFile.ACC_FINAL, c -> {
                Shape shape = shape(c, members, region, path, open);
                minBudget[0] = shape.minBudget();
                new Emitter(c, members, region, path, open, shape, hot).emit();
            });
            cb.withMethodBody(INIT_NAME, MTD_void, ClassFile.ACC_PUBLIC,
                    c -> c.aload(0).loadConstant(minBudget[0]).invokespecial(CD_CODE, INIT_NAME, MTD_I_V).return_());
        });
    }

    private static final HexFormat EIP_DIGITS = HexFormat.of();

    private static ClassDesc className(boolean hot, int headEip) {
        // eight hex digits without String.format, whose parser ran in HotSpot's interpreter at start-up
        return ClassDesc.of((hot ? HOT_CLASS_PREFIX : BLOCK_CLASS_PREFIX) + EIP_DIGITS.toHexDigits(headEip));
    }

    /**
     * What a region's code needs to know of all its members before emitting any: the registers (bit r) that no
     * member assigns, ESP's moves included, so that each holds its entry value throughout (see
     * PageBases#startRegion); and for a closed region, {@code longest[m]}: the most instructions a run from member m's
     * start retires before a jump to a member at or before its own index (a jump back: every loop has one) or an
     * exit, so that only jumps back check the budget ({@link Emitter#jumpToMember}). Null {@code longest}: every
     * jump checks. {@link #minBudget}: the budget a run needs at entry, the block's instructions or
     * {@code longest[0]}.
     */
    private record Shape(int unassigned, int[] longest, int minBudget) {
        static final Shape BLOCK = new Shape(0, null, 0);
    }

    /** Jumps back alone check the budget only while a region's longest forward run stays within this. */
    private static final int MAX_FORWARD_RUN = 4096;

    /**
     * A code transform that shows each element to {@code observer} and keeps it only when {@code keep}. A record, not a
     * lambda: CodeTransform has static fields, and HotSpot's AOT cache keeps no lambda of such an interface's type, so
     * each such lambda was spun again at every start (README-design.md, "Session 20").
     */
    private record Observing(Consumer<CodeElement> observer, boolean keep) implements CodeTransform {
        @Override
        public void accept(CodeBuilder b, CodeElement e) {
            observer.accept(e);
            if (keep) {
                b.with(e);
            }
        }
    }

    /**
     * The {@link Shape} of {@code members}' code, found by emitting the region's body once into {@code c} with every
     * element dropped: the emitter is what knows which instructions assign which registers and which exits stay in
     * the method.
     */
    private static Shape shape(CodeBuilder c, List<Member> members, boolean region, TlbPath path, boolean open) {
        if (!region) {
            return new Shape(0, null, members.getFirst().insns().size());
        }
        Emitter probe = new Emitter(c, members, true, path, open, Shape.BLOCK, false);
        c.transforming(new Observing(e -> { }, false), dropped -> {
            probe.c = dropped;
            probe.emitBody();
        });
        int n = members.size();
        int[] longest = new int[n];
        for (int m = n - 1; m >= 0; m--) {
            int after = 0;
            for (int t = probe.forwardJumps[m].nextSetBit(0); t >= 0; t = probe.forwardJumps[m].nextSetBit(t + 1)) {
                after = Math.max(after, longest[t]);
            }
            longest[m] = members.get(m).insns().size() + after;
        }
        int largestMember = members.stream().mapToInt(m -> m.insns().size()).max().orElseThrow();
        boolean forwardRunsUnchecked = !open && longest[0] <= MAX_FORWARD_RUN;
        return new Shape(~probe.written & 0xff, forwardRunsUnchecked ? longest : null,
                forwardRunsUnchecked ? longest[0] : largestMember);
    }

    /**
     * Byte offset of {@code regs[r]} (r below 8) for Unsafe: the CPU's {@code regs} is a final {@code long[16]},
     * so the index is in bounds by construction (little-endian: its low half is at the same offset).
     */
    private static long registerOffset(int r) { return RamAccess.LONG_ARRAY_BASE + 8L * r; }

    private static int signBit(int size) { return 1 << (size * 8 - 1); }

    private static int sizeMask(int size) { return size == 4 ? -1 : (1 << (size * 8)) - 1; }

    /** Emits one block's {@code execute} method. */
    private static final class Emitter {
        /** Where code goes: the method's builder, or while the body is emitted one that records its loads. */
        private CodeBuilder c;
        /** Guest-state locals (bit k: REG0 + k, the 8 registers and the 7 flag locals) the body reads. */
        private int stateRead;
        private final List<Member> members;
        /** The member being emitted and its instructions. */
        private Member member;
        private List<Insn> insns;
        private final Label exit;
        /** Each member's first instruction (a jump target inside the method). */
        private final Label[] memberStarts;
        private int written;
        /** Flag locals (bit k: FLAGS + k) the generated code assigns other than by reloading them. */
        private int flagsWritten;
        /** Per instruction: its arithmetic flags are overwritten before anything (or any fault) can see them. */
        private boolean[] flagsDead;
        /**
         * The instruction being emitted stored to memory through a call that may have written translated code
         * (a store to translated code must end the block); {@link #rawStored}: only through raw writes, whose
         * hit never reaches a page holding code (no write entry), so only their miss path records one in
         * CODE_WRITTEN.
         */
        private boolean wroteMemory;
        private boolean rawStored;
        private Known known = Known.UNKNOWN;
        private int knownSize = 4;
        private int index;
        /** How this block's flat accesses reach RAM (one path for the whole method). */
        private final TlbPath path;
        /**
         * A region's shared code for dynamic exits (target EIP on the stack, DONE counting the instructions
         * before it): continues at any member starting there, else leaves; null in a block.
         */
        private final Label dynamicDispatch;
        /** An open region: entered at the member {@code cache.entry} names (see {@link Block#entry}). */
        private final boolean entrySwitch;
        /** The member's page bases: which registers' accesses may use one, and the window each has used. */
        private final PageBases pageBases = new PageBases();

        /** Registers no member assigns (a region's; see {@link Shape}): bases for the whole region. */
        private final int unassigned;
        /** A closed region's longest runs without a jump back (see {@link Shape}), or null: every jump checks the budget. */
        private final int[] longest;
        /** The members each member jumps forward to (to a higher index), as the probe found them. */
        private final BitSet[] forwardJumps;
        private int memberIndex;
        /** A closed region's member whose page base cannot be made leaves the region there (see {@link #loadPageBases}). */
        private final boolean membersLeaveWithoutBases;

        /** The hot tier's class (C2 compiles it): see {@link #pushUnsigned}. */
        private final boolean hot;
        /** A region's code (its page bases are sure, see {@link #loadPageBases}), not a plain block's. */
        private final boolean region;

        Emitter(CodeBuilder c, List<Member> members, boolean region, TlbPath chosen, boolean open, Shape shape, boolean hot) {
            this.c = c;
            this.hot = hot;
            this.unassigned = shape.unassigned();
            this.longest = shape.longest();
            this.forwardJumps = new BitSet[members.size()];
            Arrays.setAll(forwardJumps, m -> new BitSet());
            this.members = members;
            this.path = switch (chosen) { // the regions-only paths: the raw path in regions, the call in blocks
                case REGIONS -> region ? TlbPath.UNSAFE : TlbPath.CALL;
                case FLAT_REGIONS -> region ? TlbPath.FLAT : TlbPath.CALL;
                default -> chosen;
            };
            this.exit = c.newLabel();
            this.memberStarts = new Label[members.size()];
            this.region = region;
            this.dynamicDispatch = region && open ? c.newLabel() : null;
            this.entrySwitch = region && open;
            this.membersLeaveWithoutBases = region && !open;
        }

        /**
         * The method: a jump to the entry code, emitted after the body so that it loads only the registers and
         * flag fields the body reads (C1 keeps every load of the entry code, used or not), then the body.
         */
        void emit() {
            CodeBuilder method = c;
            Label loadState = c.newLabel();
            Label body = c.newLabel();
            c.goto_(loadState);
            c.labelBinding(body);
            c.transforming(new Observing(this::noteStateRead, true), recording -> {
                c = recording;
                emitBody();
            });
            c = method;
            c.labelBinding(loadState);
            loadState();
            c.goto_(body);
        }

        /** Records in {@link #stateRead} the register or flag local that body element {@code e} reads, if any. */
        private void noteStateRead(CodeElement e) {
            int slot = e instanceof LoadInstruction load ? load.slot() : e instanceof IncrementInstruction inc ? inc.slot() : -1;
            if (slot >= REG0 && slot <= LAUX) {
                stateRead |= 1 << (slot - REG0);
            }
        }

        /** Reads the registers and flag fields the body reads into their locals. */
        private void loadState() {
            c.aload(CPU).getfield(CD_CPU, "regs", CD_long.arrayType()).astore(REGS);
            for (int r = 0; r < 8; r++) {
                if ((stateRead & (1 << r)) == 0) {
                    continue;
                }
                if (path.raw()) { // the low half of regs[r], without the bounds check C1 keeps for laload
                    unsafe().aload(REGS).loadConstant(registerOffset(r)).invokevirtual(CD_UNSAFE, "getInt", MTD_UNSAFE_GET_INT);
                } else {
                    c.aload(REGS).loadConstant(r).laload().l2i();
                }
                c.istore(REG0 + r);
            }
            for (int k = 0; k < FLAG_FIELDS.length; k++) {
                if ((stateRead & (1 << (FLAGS - REG0 + k))) != 0) {
                    c.aload(CPU).getfield(CD_CPU, FLAG_FIELDS[k], CD_int).istore(FLAGS + k);
                }
            }
        }

        private void emitBody() {
            c.iconst_0().istore(DONE);
            c.iconst_0().istore(CODE_WRITTEN);
            c.aload(CACHE).getfield(CD_CACHE, "budget", CD_int).istore(BUDGET);
            if (path.flat()) { // the current TLB set's flat tables (blocks never change CPL)
                c.aload(CPU).getfield(CD_CPU, "flatReadTable", CD_long).lstore(FLAT_READ);
                c.aload(CPU).getfield(CD_CPU, "flatWriteTable", CD_long).lstore(FLAT_WRITE);
            } else if (path != TlbPath.CALL) {
                c.aload(CPU).getfield(CD_CPU, "readTag", CD_long.arrayType()).astore(READ_TAG);
                c.aload(CPU).getfield(CD_CPU, "writeTag", CD_long.arrayType()).astore(WRITE_TAG);
                if (path == TlbPath.SEGMENT) {
                    c.aload(CPU).getfield(CD_CPU, "readPage", CD_SEGMENT.arrayType()).astore(READ_PAGE);
                    c.aload(CPU).getfield(CD_CPU, "writePage", CD_SEGMENT.arrayType()).astore(WRITE_PAGE);
                } else { // raw paths: the host addresses, in the same locals
                    c.aload(CPU).getfield(CD_CPU, "readHost", CD_long.arrayType()).astore(READ_PAGE);
                    c.aload(CPU).getfield(CD_CPU, "writeHost", CD_long.arrayType()).astore(WRITE_PAGE);
                }
                c.aload(CPU).getfield(CD_CPU, "tlbSet", CD_int).istore(TLB_SET);
                if (path != TlbPath.SEGMENT) { // the raw probe's byte offset of the set's first entry (see rawProbe)
                    c.iload(TLB_SET).loadConstant(TLB_SIZE).iand().iconst_3().ishl().i2l()
                            .loadConstant(RamAccess.LONG_ARRAY_BASE).ladd().lstore(TLB_BASE);
                }
            }
            for (int m = 0; m < members.size(); m++) {
                memberStarts[m] = c.newLabel();
            }
            if (!path.flat() || unassigned == 0 || entrySwitch) { // (an open region's refusal would not be at its head)
                emitMembers();
            } else {
                pageBases.startRegion(members.stream().map(Member::insns).toList(), unassigned);
                emitBefore(this::emitMembers, () -> loadPageBases(true));
            }
            c.labelBinding(exit);
            c.iload(DONE).bipush(8).ishl().iadd(); // instructions of the members run before this exit's
            c.istore(T1).istore(T0);
            for (int r = 0; r < 8; r++) {
                if ((written & (1 << r)) == 0) {
                    continue;
                }
                if (path.raw()) {
                    unsafe().aload(REGS).loadConstant(registerOffset(r)).iload(REG0 + r).i2l().loadConstant(0xffff_ffffL).land()
                            .invokevirtual(CD_UNSAFE, "putLong", MTD_UNSAFE_PUT_LONG);
                } else {
                    c.aload(REGS).loadConstant(r).iload(REG0 + r).i2l().loadConstant(0xffff_ffffL).land().lastore();
                }
            }
            for (int k = 0; k < FLAG_FIELDS.length; k++) {
                if ((flagsWritten & (1 << k)) != 0) {
                    c.aload(CPU).iload(FLAGS + k).putfield(CD_CPU, FLAG_FIELDS[k], CD_int);
                }
            }
            c.aload(CPU).iload(T0).i2l().loadConstant(0xffff_ffffL).land().putfield(CD_CPU, "eip", CD_long);
            c.iload(T1).ireturn();
        }

        /** The entry switch of an open region, every member, the dynamic exits' shared code. */
        private void emitMembers() {
            if (entrySwitch) { // a region is entered at the member the engine names (cache.entry)
                List<SwitchCase> entries = new ArrayList<>();
                for (int m = 0; m < members.size(); m++) {
                    entries.add(SwitchCase.of(m, memberStarts[m]));
                }
                c.aload(CACHE).getfield(CD_CACHE, "entry", CD_int).tableswitch(0, members.size() - 1, memberStarts[0], entries);
            }
            for (int m = 0; m < members.size(); m++) {
                emitMember(m);
            }
            if (dynamicDispatch != null) {
                emitDynamicDispatch();
            }
        }

        /** One member's instructions, each covered by its fault handler; entered from anywhere, so nothing is known of the flags. */
        private void emitMember(int m) {
            member = members.get(m);
            memberIndex = m;
            insns = member.insns();
            known = Known.UNKNOWN;
            c.labelBinding(memberStarts[m]);
            if (!path.flat() || !pageBases.start(insns)) {
                emitInstructions();
                return;
            }
            emitBefore(this::emitInstructions, () -> loadPageBases(false));
        }

        /**
         * Emits {@code body} into a recording first, then {@code before} (code that needs what the body used: the
         * page bases' windows), then the recorded body after it.
         */
        private void emitBefore(Runnable body, Runnable before) {
            List<CodeElement> recorded = new ArrayList<>();
            CodeBuilder method = c;
            method.transforming(new Observing(recorded::add, false), recording -> {
                c = recording;
                body.run();
            });
            c = method;
            before.run();
            recorded.forEach(c::with);
        }

        /** The member's instructions, each covered by its fault handler, and its exits. */
        private void emitInstructions() {
            Label[] starts = new Label[insns.size()];
            Label[] ends = new Label[insns.size()];
            boolean open = true;
            flagsDead = FlagLiveness.deadAfter(insns);
            for (index = 0; index < insns.size(); index++) {
                Insn in = insns.get(index);
                starts[index] = c.newBoundLabel();
                c.nop();
                wroteMemory = false;
                rawStored = false;
                open = instruction(in);
                if (open) {
                    checkCodeWritten(in);
                }
                ends[index] = c.newBoundLabel();
            }
            if (open) {
                exitTo(insns.getLast().next(), insns.size(), KIND_EXIT0);
            }
            for (int i = 0; i < insns.size(); i++) {
                Label handler = c.newBoundLabel();
                c.pop();
                exitTo(insns.get(i).eip(), i, KIND_FAULT);
                c.exceptionCatch(starts[i], ends[i], handler, CD_RUNTIME_EXCEPTION);
            }
        }

        /** Index of the member starting at {@code eip}, or -1. */
        private int memberAt(int eip) {
            for (int m = 0; m < members.size(); m++) {
                if (members.get(m).eip() == eip) {
                    return m;
                }
            }
            return -1;
        }

        /**
         * Jumps to EIP {@code eip} with {@code count} instructions of this member completed: inside the
         * method when a member starts there (static exits), else to the common exit.
         */
        private void exitTo(int eip, int count, int kind) {
            int target = kind <= KIND_EXIT1 ? memberAt(eip) : -1;
            if (target >= 0) {
                jumpToMember(target, count);
            }
            c.loadConstant(eip).loadConstant((count << 8) | kind).goto_(exit);
        }

        /**
         * A dynamic exit (RET, indirect JMP/CALL) with the target EIP on the stack: a target recorded as a
         * member's start continues there inside the method; anything else leaves through the common exit.
         */
        private void dynamicExit(int count) {
            if (dynamicDispatch != null) {
                c.iload(DONE).loadConstant(count).iadd().istore(DONE).goto_(dynamicDispatch);
                return;
            }
            for (int t : member.dynamicTargets()) {
                int target = memberAt(t);
                if (target < 0) {
                    continue;
                }
                Label other = c.newLabel();
                c.dup().loadConstant(t).if_icmpne(other).pop();
                jumpToMember(target, count);
                c.loadConstant(t).loadConstant((count << 8) | KIND_DYNAMIC).goto_(exit);
                c.labelBinding(other);
            }
            c.loadConstant((count << 8) | KIND_DYNAMIC).goto_(exit);
        }

        /**
         * A region's dynamic exits all come here: a target that starts any member (a RET to another caller
         * in the region, not only the one recorded when the region was built) continues there when the
         * whole member fits in the budget; anything else leaves with the target as EIP (DONE counts the
         * instructions completed).
         */
        private void emitDynamicDispatch() {
            c.labelBinding(dynamicDispatch);
            Label leave = c.newLabel();
            Label[] cases = new Label[members.size()];
            List<SwitchCase> byEip = new ArrayList<>();
            for (int m = 0; m < members.size(); m++) {
                cases[m] = c.newLabel();
                byEip.add(SwitchCase.of(members.get(m).eip(), cases[m]));
            }
            byEip.sort(Comparator.comparingInt(SwitchCase::caseValue));
            c.dup().lookupswitch(leave, byEip);
            for (int m = 0; m < members.size(); m++) {
                c.labelBinding(cases[m]);
                c.iload(DONE).loadConstant(members.get(m).insns().size()).iadd().iload(BUDGET).if_icmpgt(leave);
                c.pop().goto_(memberStarts[m]);
            }
            c.labelBinding(leave);
            c.loadConstant(KIND_DYNAMIC).goto_(exit);
        }

        /**
         * Continues at member {@code target} while the engine's budget ({@code cache.budget}, read at entry)
         * allows that whole member (with {@link #longest}: all that can run from there up to the next jump back):
         * the instructions completed so far go to DONE. Otherwise falls through (DONE unchanged) to the caller's
         * exit code. With {@link #longest}, a jump forward does not check: the check before it (at entry, the
         * engine's {@link BlockCode#minBudget}) covered the whole run it belongs to.
         */
        private void jumpToMember(int target, int count) {
            if (target > memberIndex) {
                forwardJumps[memberIndex].set(target);
                if (longest != null) {
                    c.iinc(DONE, count).goto_(memberStarts[target]);
                    return;
                }
            }
            Label leave = c.newLabel();
            c.iload(DONE).loadConstant(count).iadd().dup().istore(DONE);
            c.loadConstant(longest != null ? longest[target] : members.get(target).insns().size()).iadd()
                    .iload(BUDGET).if_icmpgt(leave);
            c.goto_(memberStarts[target]);
            c.labelBinding(leave);
            c.iload(DONE).loadConstant(count).isub().istore(DONE); // the exit counts them
        }

        private int done() { return index + 1; }

        // ---- flags ----

        /**
         * Records that the generated code assigns flag local {@code local} (the exit stores only those: the others
         * always equal their fields, read at entry and again after every call that may change them).
         */
        private int flag(int local) {
            flagsWritten |= 1 << (local - FLAGS);
            return local;
        }

        private void spillFlags() {
            for (int k = 0; k < FLAG_FIELDS.length; k++) {
                c.aload(CPU).iload(FLAGS + k).putfield(CD_CPU, FLAG_FIELDS[k], CD_int);
            }
        }

        private void reloadFlags() {
            for (int k = 0; k < FLAG_FIELDS.length; k++) {
                c.aload(CPU).getfield(CD_CPU, FLAG_FIELDS[k], CD_int).istore(FLAGS + k);
            }
        }

        private void mask(int size) {
            if (size != 4) {
                c.loadConstant(sizeMask(size)).iand();
            }
        }

        /** The interpreter's setLazy(op, size, dst, src, res) on the locals (res already masked). */
        private void setLazy(int op, int size, int dst, int src, int res, Known kind) {
            c.loadConstant(op).istore(flag(LOP)).loadConstant(signBit(size)).istore(flag(LSIGN));
            c.iload(dst);
            mask(size);
            c.istore(flag(LDST)).iload(src);
            mask(size);
            c.istore(flag(LSRC)).iload(res).istore(flag(LRES));
            known = kind;
            knownSize = size;
        }

        /** The interpreter's setLazyResult(size, res, aux), from locals {@code res} and {@code aux}. */
        private void setLazyResult(int size, int res, int aux) {
            c.iload(aux);
            setLazyResultAuxPushed(size, res);
        }

        /** The interpreter's setLazyResult(size, res, aux), with aux the value on the stack. */
        private void setLazyResultAuxPushed(int size, int res) {
            c.istore(flag(LAUX));
            c.loadConstant(CpuAccess.OP_RESULT).istore(flag(LOP)).loadConstant(signBit(size)).istore(flag(LSIGN));
            c.iload(res).istore(flag(LRES));
        }

        /** The interpreter's setLazyResult(size, res, 0), for logic operations. */
        private void setLogic(int size, int res) {
            c.iconst_0();
            setLazyResultAuxPushed(size, res);
            known = Known.LOGIC;
            knownSize = size;
        }

        private void signExtend(int size) {
            if (size == 1) {
                c.i2b();
            } else if (size == 2) {
                c.i2s();
            }
        }

        /** Pushes 1 if condition {@code cc} (Jcc's low nibble) holds, else 0. */
        private void condition(int cc) {
            if (known == Known.UNKNOWN && (cc >> 1 == 2 || cc >> 1 == 4)) {
                unknownZeroOrSign(cc);
                return;
            }
            if (known == Known.UNKNOWN && (cc >> 1 == 1 || cc >> 1 == 3 || cc >> 1 >= 6)) {
                unknownCarryOrCompare(cc);
                return;
            }
            Opcode branch = conditionBranch(cc >> 1);
            if (branch == null) {
                spillFlags();
                c.aload(CPU).loadConstant(cc).invokevirtual(CD_CPU, "condition", MTD_CONDITION);
                return;
            }
            if ((cc & 1) != 0) {
                branch = invert(branch);
            }
            Label yes = c.newLabel();
            Label end = c.newLabel();
            c.branch(branch, yes).iconst_0().goto_(end).labelBinding(yes);
            c.iconst_1().labelBinding(end);
        }

        /**
         * Pushes 1 if condition {@code cc} (Z, NZ, S or NS) holds with flags set before this member: ZF or SF from
         * the lazy record as the interpreter's zf() and sf() compute them (EFLAGS itself when the record is empty),
         * without storing the record for a call of condition().
         */
        private void unknownZeroOrSign(int cc) {
            boolean zero = cc >> 1 == 2;
            Label lazy = c.newLabel();
            Label set = c.newLabel();
            Label clear = c.newLabel();
            Label end = c.newLabel();
            c.iload(LOP).loadConstant(OP_NONE).if_icmpne(lazy);
            c.iload(FLAGS).loadConstant(zero ? ZF_FLAG : SF_FLAG).iand().ifne(set).goto_(clear);
            c.labelBinding(lazy);
            if (zero) {
                c.iload(LRES).ifeq(set).goto_(clear);
            } else {
                c.iload(LRES).iload(LSIGN).iand().ifne(set).goto_(clear);
            }
            pushOutcome(cc, set, clear, end);
        }

        /** Binds {@code set} and {@code clear} (the base condition of {@code cc} holds or not), then pushes cc's 1 or 0 and binds {@code end}. */
        private void pushOutcome(int cc, Label set, Label clear, Label end) {
            boolean negated = (cc & 1) != 0;
            c.labelBinding(set);
            c.loadConstant(negated ? 0 : 1).goto_(end);
            c.labelBinding(clear);
            c.loadConstant(negated ? 1 : 0);
            c.labelBinding(end);
        }

        /**
         * Pushes 1 if condition {@code cc} (C, BE, L, LE or a negation) holds with flags set before this member. The
         * record of a SUB or CMP (most of them: {@code cmp; jb} then {@code ja} in the block after) is read inline,
         * for C also that of an ADD or a result (logic, shift, multiply), with the formulas of the interpreter's
         * cf(), zf(), sf() and of(); any other record goes to its condition() as before.
         */
        private void unknownCarryOrCompare(int cc) {
            int base = cc >> 1;
            Label set = c.newLabel();
            Label clear = c.newLabel();
            Label other = c.newLabel();
            Label call = c.newLabel();
            Label end = c.newLabel();
            c.iload(LOP).loadConstant(CpuAccess.OP_SUB).if_icmpne(other);
            if (base == 3 || base == 7) { // ZF
                c.iload(LRES).ifeq(set);
            }
            if (base <= 3) { // CF: the destination below the source, unsigned
                c.branch(pushUnsigned(LDST, LSRC, 4) ? Opcode.IFLT : Opcode.IF_ICMPLT, set);
                c.goto_(clear);
            } else { // SF != OF
                c.iload(LDST).iload(LSRC).ixor().iload(LDST).iload(LRES).ixor().iand().iload(LRES).ixor();
                c.iload(LSIGN).iand().ifne(set).goto_(clear);
            }
            c.labelBinding(other);
            if (base == 1) {
                Label notAdd = c.newLabel();
                c.iload(LOP).loadConstant(CpuAccess.OP_ADD).if_icmpne(notAdd);
                // CF: the result wrapped below the destination
                c.branch(pushUnsigned(LRES, LDST, 4) ? Opcode.IFLT : Opcode.IF_ICMPLT, set);
                c.goto_(clear);
                c.labelBinding(notAdd);
                c.iload(LOP).loadConstant(CpuAccess.OP_RESULT).if_icmpne(call);
                c.iload(LAUX).iconst_1().iand().ifne(set).goto_(clear); // CF = lazyAux bit 0
            }
            c.labelBinding(call);
            spillFlags();
            c.aload(CPU).loadConstant(cc).invokevirtual(CD_CPU, "condition", MTD_CONDITION).goto_(end);
            pushOutcome(cc, set, clear, end);
        }

        /** Pushes the operands of a direct test of condition pair {@code base}; null when unknown here. */
        private Opcode conditionBranch(int base) {
            if (known == Known.UNKNOWN) {
                return null;
            }
            int size = knownSize;
            switch (base) {
                case 2 -> { c.iload(LRES); return Opcode.IFEQ; }
                case 4 -> { c.iload(LRES).loadConstant(signBit(size)).iand(); return Opcode.IFNE; }
                default -> { }
            }
            if (base == 1 && known == Known.RESULT) { // CF = lazyAux bit 0
                c.iload(LAUX).iconst_1().iand();
                return Opcode.IFNE;
            }
            if (base == 1 && known == Known.ADD) { // CF: the result wrapped below the destination
                return pushUnsigned(LRES, LDST, size) ? Opcode.IFLT : Opcode.IF_ICMPLT;
            }
            if (known == Known.LOGIC) {
                return switch (base) {
                    case 0, 1 -> { c.iconst_0(); yield Opcode.IFNE; }
                    case 3 -> { c.iload(LRES); yield Opcode.IFEQ; }
                    case 6 -> { c.iload(LRES); signExtend(size); yield Opcode.IFLT; }
                    case 7 -> { c.iload(LRES); signExtend(size); yield Opcode.IFLE; }
                    default -> null;
                };
            }
            if (known == Known.SUB) {
                return switch (base) {
                    case 1, 3 -> {
                        boolean single = pushUnsigned(LDST, LSRC, size);
                        yield base == 1 ? (single ? Opcode.IFLT : Opcode.IF_ICMPLT) : (single ? Opcode.IFLE : Opcode.IF_ICMPLE);
                    }
                    case 6, 7 -> {
                        c.iload(LDST);
                        signExtend(size);
                        c.iload(LSRC);
                        signExtend(size);
                        yield base == 6 ? Opcode.IF_ICMPLT : Opcode.IF_ICMPLE;
                    }
                    default -> null;
                };
            }
            return null;
        }

        /**
         * Pushes what orders locals {@code a} and {@code b} (masked {@code size}-byte operands) as unsigned numbers:
         * in the hot tier with 4-byte operands, {@code Integer.compareUnsigned(a, b)} (returns true: one int to test
         * against 0), which C2 makes one compare and an unsigned branch; else both, biased so that a signed
         * comparison orders them (returns false: compare the two), which C1 does best (it calls compareUnsigned).
         */
        private boolean pushUnsigned(int a, int b, int size) {
            if (hot && size == 4) {
                c.iload(a).iload(b).invokestatic(CD_INTEGER, "compareUnsigned", MTD_II_I);
                return true;
            }
            unsignedOperand(a, size);
            unsignedOperand(b, size);
            return false;
        }

        /** A masked operand, biased so that a signed comparison orders it as unsigned. */
        private void unsignedOperand(int local, int size) {
            c.iload(local);
            if (size == 4) {
                c.loadConstant(Integer.MIN_VALUE).ixor();
            }
        }

        private static Opcode invert(Opcode op) {
            return switch (op) {
                case IFEQ -> Opcode.IFNE;
                case IFNE -> Opcode.IFEQ;
                case IFLT -> Opcode.IFGE;
                case IFGE -> Opcode.IFLT;
                case IFLE -> Opcode.IFGT;
                case IFGT -> Opcode.IFLE;
                case IF_ICMPLT -> Opcode.IF_ICMPGE;
                case IF_ICMPGE -> Opcode.IF_ICMPLT;
                case IF_ICMPLE -> Opcode.IF_ICMPGT;
                case IF_ICMPGT -> Opcode.IF_ICMPLE;
                default -> throw new IllegalArgumentException(op.toString());
            };
        }

        // ---- operands ----

        private void loadReg(int size, int r) {
            switch (size) {
                case 4 -> c.iload(REG0 + r);
                case 2 -> c.iload(REG0 + r).loadConstant(0xffff).iand();
                default -> {
                    if (r < 4) {
                        c.iload(REG0 + r).loadConstant(0xff).iand();
                    } else {
                        c.iload(REG0 + r - 4).bipush(8).iushr().loadConstant(0xff).iand();
                    }
                }
            }
        }

        /** Stores the value on the stack into register {@code r} of {@code size} bytes. */
        private void storeReg(int size, int r) {
            if (size == 4) {
                c.istore(REG0 + r);
                assigned(r);
                return;
            }
            if (size == 2) {
                c.loadConstant(0xffff).iand().iload(REG0 + r).loadConstant(0xffff_0000).iand().ior().istore(REG0 + r);
                assigned(r);
                return;
            }
            int full = r < 4 ? r : r - 4;
            int shift = r < 4 ? 0 : 8;
            c.loadConstant(0xff).iand();
            if (shift != 0) {
                c.bipush(shift).ishl();
            }
            c.iload(REG0 + full).loadConstant(~(0xff << shift)).iand().ior().istore(REG0 + full);
            assigned(full);
        }

        /** Register {@code r} was assigned: the exits store it, and its later accesses have no page base. */
        private void assigned(int r) {
            written |= 1 << r;
            pageBases.written(r);
        }

        /**
         * Loads each page base the member's (or with {@code regionWide}, the region's) accesses used into its local
         * (see PageBases): one flat entry when the window fits a page's length and every page its loads reach has it
         * as its read entry and every page its stores reach as its write entry (one run of plain RAM, writable and
         * holding no code where stores go; a window crossing a page's end needs the next page's RAM right after),
         * else 0. A region's base is never 0: when one cannot be made, the region refuses to run
         * ({@link #KIND_REFUSED}), so its accesses need no other path. Uses T0.
         */
        private void loadPageBases(boolean regionWide) {
            boolean sure = regionWide || membersLeaveWithoutBases;
            Label refuse = sure ? c.newLabel() : null;
            boolean any = false;
            for (int r = 0; r < 8; r++) {
                if (regionWide ? !pageBases.regionUsed(r) : !pageBases.used(r)) {
                    continue;
                }
                any = true;
                int local = PAGE_BASE0 + 2 * r;
                boolean loads = pageBases.loadsThrough(r), stores = pageBases.storesThrough(r);
                Label none = sure ? refuse : c.newLabel();
                Label done = c.newLabel();
                if (!(loads || stores)) {
                    c.goto_(none);
                } else {
                    boolean first = true;
                    if (loads) {
                        windowPagesHave(r, pageBases.loadLow(r), pageBases.loadHigh(r), FLAT_READ, true, none);
                        first = false;
                    }
                    if (stores) {
                        windowPagesHave(r, pageBases.storeLow(r), pageBases.storeHigh(r), FLAT_WRITE, first, none);
                    }
                    c.lload(local).lconst_0().lcmp().ifeq(none);
                    // the host address of the register's value: the window's bytes are then at constant offsets
                    // from it, as long as the window stays on one side of 2^31 (where linear addresses change sign)
                    c.iload(REG0 + r).loadConstant(pageBases.low(r)).iadd().dup().istore(T0)
                            .iload(REG0 + r).loadConstant(pageBases.high(r)).iadd().ixor().iflt(none);
                    c.lload(local).iload(T0).i2l().ladd().loadConstant(-(long) pageBases.low(r)).ladd().lstore(local);
                    c.goto_(done);
                }
                if (!sure) {
                    c.labelBinding(none);
                    c.lconst_0().lstore(local);
                }
                c.labelBinding(done);
            }
            if (any && sure) {
                Label run = c.newLabel();
                c.goto_(run).labelBinding(refuse);
                if (!regionWide && memberIndex > 0) { // a member: leave at its start (the engine runs it as its own block)
                    c.loadConstant(member.eip()).loadConstant(KIND_EXIT0).goto_(exit);
                } else if (!regionWide) { // the head: leave at its start unless nothing ran yet (the region's entry)
                    Label entry = c.newLabel();
                    c.iload(DONE).ifeq(entry);
                    c.loadConstant(member.eip()).loadConstant(KIND_EXIT0).goto_(exit);
                    c.labelBinding(entry);
                }
                c.loadConstant(members.getFirst().eip()).loadConstant(KIND_REFUSED).goto_(exit);
                c.labelBinding(run);
            }
        }

        /**
         * Checks that the pages of bytes {@code low..high} relative to register {@code r} have in flat table
         * {@code table} the entry in r's base local (with {@code first}: the entry of the first byte's page is
         * stored there), else jumps to {@code differs}.
         */
        private void windowPagesHave(int r, int low, int high, int table, boolean first, Label differs) {
            int local = PAGE_BASE0 + 2 * r;
            c.iload(REG0 + r).loadConstant(low).iadd().istore(T0);
            flatEntryOf(table);
            if (first) {
                c.lstore(local);
            } else {
                c.lload(local).lcmp().ifne(differs);
            }
            c.iload(REG0 + r).loadConstant(high).iadd().istore(T0);
            flatEntryOf(table);
            c.lload(local).lcmp().ifne(differs);
        }

        /** Pushes the entry of T0's page in the flat table whose address is in long local {@code table}. */
        private void flatEntryOf(int table) {
            unsafe().aconst_null();
            flatSlot(T0, table);
            c.invokevirtual(CD_UNSAFE, "getLong", MTD_UNSAFE_GET_LONG);
        }

        /**
         * Pushes the address of the flat-table slot of int local {@code addr}'s page: {@code table + (addr >>> 12) * 8}.
         * Shifting the page number as a long (not masking a shorter shift as an int) lets C2 see a non-negative index
         * and use it scaled in the load's address, with no masking and no sign extension.
         */
        private void flatSlot(int addr, int table) {
            c.iload(addr).bipush(PAGE_SHIFT).iushr().i2l().iconst_3().lshl().lload(table).ladd();
        }

        /**
         * The page base register of a ModR/M access of {@code size} bytes (see PageBases), or -1: the ordinary path.
         */
        private int pageBase(Insn in, int size) {
            if (!PageBases.throughBaseAlone(in) || !path.flat()) {
                return -1;
            }
            return pageBases.use(in.base(), in.disp(), size) ? in.base() : -1;
        }

        /** The page base register of a 4-byte stack access at ESP + {@code offset}, or -1. */
        private int stackBase(int offset) {
            return path.flat() && pageBases.use(ESP, offset, 4) ? ESP : -1;
        }

        private void effectiveAddress(Insn in) {
            boolean any = false;
            if (in.base() != Insn.NONE) {
                c.iload(REG0 + in.base());
                any = true;
            }
            if (in.index() != Insn.NONE) {
                c.iload(REG0 + in.index());
                if (in.scale() != 0) {
                    c.loadConstant(in.scale()).ishl();
                }
                if (any) {
                    c.iadd();
                }
                any = true;
            }
            if (in.disp() != 0 || !any) {
                c.loadConstant(in.disp());
                if (any) {
                    c.iadd();
                }
            }
        }

        private void readMem(Insn in, int size) {
            effectiveAddress(in);
            c.istore(ADDR);
            readAt(in.seg(), size, pageBase(in, size));
        }

        /**
         * Pushes the {@code size}-byte value at offset {@code ADDR} of {@code seg} (flat: the engine only runs
         * blocks while DS and SS are flat). Inline TLB hit on a page of RAM, else the CPU's checked path.
         */
        private void readAt(int seg, int size) { readAt(seg, size, -1); }

        /** As {@link #readAt(int, int)}; {@code base}: the register whose page base ADDR may use (see PageBases), or -1. */
        private void readAt(int seg, int size, int base) {
            if (!flat(seg)) {
                c.aload(CPU).loadConstant(seg).iload(ADDR).loadConstant(size).invokevirtual(CD_CPU, "readMem", MTD_READ);
                return;
            }
            if (path == TlbPath.CALL) {
                c.aload(CPU);
                linearAddress();
                c.invokevirtual(CD_CPU, "read" + size * 8, MTD_J_I);
                return;
            }
            if (path != TlbPath.SEGMENT) {
                rawRead(size, base);
                return;
            }
            Label slow = c.newLabel();
            Label done = c.newLabel();
            tlbProbe(READ_TAG, size, slow);
            c.aload(READ_PAGE).iload(TLB_INDEX).aaload();
            c.iload(ADDR).loadConstant(PAGE_MASK).iand().i2l();
            c.invokestatic(CD_RAM, "get" + size, MTD_RAM_GET); // see RamAccess: fast before C2 compiles the block
            mask(size);
            c.goto_(done).labelBinding(slow);
            c.aload(CPU).loadConstant(seg).iload(ADDR).loadConstant(size).invokevirtual(CD_CPU, "readMem", MTD_READ);
            c.labelBinding(done);
        }

        /** Stores local {@code value} at offset {@code ADDR} of {@code seg}, as {@link #readAt}. */
        private void writeAt(int seg, int size, int value) { writeAt(seg, size, value, -1); }

        /** As {@link #writeAt(int, int, int)}; {@code base}: the register whose page base ADDR may use, or -1. */
        private void writeAt(int seg, int size, int value, int base) {
            if (flat(seg) && path.raw()) {
                rawStored = path != TlbPath.FLAT_EXIT; // there only the interpreter's replay can write code
                rawWrite(size, value, base);
                return;
            }
            wroteMemory = true;
            if (!flat(seg)) {
                c.aload(CPU).loadConstant(seg).iload(ADDR).loadConstant(size).iload(value)
                        .invokevirtual(CD_CPU, "writeMem", MTD_WRITE);
                return;
            }
            if (path == TlbPath.CALL) {
                c.aload(CPU);
                linearAddress();
                c.iload(value).invokevirtual(CD_CPU, "write" + size * 8, MTD_JI_V);
                return;
            }
            Label slow = c.newLabel();
            Label done = c.newLabel();
            tlbProbe(WRITE_TAG, size, slow);
            c.aload(WRITE_PAGE).iload(TLB_INDEX).aaload();
            c.iload(ADDR).loadConstant(PAGE_MASK).iand().i2l().iload(value);
            c.invokestatic(CD_RAM, "set" + size, MTD_RAM_SET);
            c.goto_(done).labelBinding(slow);
            c.aload(CPU).loadConstant(seg).iload(ADDR).loadConstant(size).iload(value)
                    .invokevirtual(CD_CPU, "writeMem", MTD_WRITE);
            c.labelBinding(done);
        }

        /**
         * Raw hit paths (see RamAccess), then an Unsafe load at the page's host address. {@code flat}: the CPU's
         * flat page table (see Mmu's FlatTlb; {@link #flatEntry}), a miss (no entry, or an access crossing the
         * page's end) calls the MMU's flatReadMiss, which fills the entry when the page is plain RAM. Else the
         * TLB probe as Mmu.read32 does it ({@link #rawProbe}), a miss calls readMiss. Either miss is the MMU's
         * slow path: the probe is not repeated; an int address and a size constant keep each call site short.
         */
        private void rawRead(int size, int base) {
            if (base >= 0 && baseAlone(base, false)) {
                c.invokevirtual(CD_UNSAFE, "get" + RAW_NAMES[size], MethodTypeDesc.of(RAW_TYPES[size], CD_Object, CD_long));
                mask(size);
                return;
            }
            Label slow = c.newLabel();
            Label done = c.newLabel();
            if (base >= 0) {
                Label ordinary = c.newLabel();
                pageBaseAddress(base, ordinary);
                c.invokevirtual(CD_UNSAFE, "get" + RAW_NAMES[size], MethodTypeDesc.of(RAW_TYPES[size], CD_Object, CD_long));
                mask(size);
                c.goto_(done).labelBinding(ordinary);
            }
            rawHostAddress(false, size, slow, path.flat());
            c.invokevirtual(CD_UNSAFE, "get" + RAW_NAMES[size], MethodTypeDesc.of(RAW_TYPES[size], CD_Object, CD_long));
            mask(size);
            c.goto_(done).labelBinding(slow);
            if (path == TlbPath.FLAT_EXIT) {
                missExit(size, false);
            } else {
                c.aload(CPU).iload(ADDR).loadConstant(size).invokevirtual(CD_CPU, path.flat() ? "flatReadMiss" : "readMiss", MTD_II_I);
            }
            c.labelBinding(done);
        }

        /**
         * {@code FLAT_EXIT}'s miss: the MMU fills the flat entry (as the access would, without making it) and hands
         * back the exception thrown here to the instruction's fault exit, which leaves with the state before the
         * instruction; the interpreter then makes the access. No path rejoins the hit after a call, so C1 need
         * not keep the method's values in stack slots across every access.
         */
        private void missExit(int size, boolean write) {
            c.aload(CPU).iload(ADDR).loadConstant(size).loadConstant(write ? 1 : 0)
                    .invokevirtual(CD_CPU, "flatMissExit", MTD_MISS_EXIT).athrow();
        }

        /**
         * Pushes Unsafe, null and the host address of ADDR for a {@code write} or read of {@code size} bytes, from
         * the flat page table or the TLB; jumps to {@code slow} on a miss.
         */
        private void rawHostAddress(boolean write, int size, Label slow, boolean flat) {
            if (flat) {
                flatEntry(write, size, slow);
                flatAddress();
            } else {
                rawProbe(write ? WRITE_TAG : READ_TAG, size, slow);
                rawAddress(write ? WRITE_PAGE : READ_PAGE);
            }
        }

        /**
         * Stores local {@code value} at flat ADDR as {@link #rawRead} loads. Pages holding translated code never
         * have a write entry (in the TLB or the flat table), so their stores always reach the miss, which reports them.
         */
        private void rawWrite(int size, int value, int base) {
            if (base >= 0 && baseAlone(base, true)) {
                rawPut(size, value);
                return;
            }
            Label slow = c.newLabel();
            Label done = c.newLabel();
            if (base >= 0) {
                Label ordinary = c.newLabel();
                pageBaseAddress(base, ordinary);
                rawPut(size, value);
                c.goto_(done).labelBinding(ordinary);
            }
            rawHostAddress(true, size, slow, path.flat());
            rawPut(size, value);
            c.goto_(done).labelBinding(slow);
            if (path == TlbPath.FLAT_EXIT) {
                missExit(size, true);
            } else {
                c.aload(CPU).iload(ADDR).loadConstant(size).iload(value)
                        .invokevirtual(CD_CPU, path.flat() ? "flatWriteMiss" : "writeMiss", MTD_III_V);
                c.aload(CACHE).getfield(CD_CACHE, "codeDirty", CD_boolean).istore(CODE_WRITTEN);
            }
            c.labelBinding(done);
        }

        /**
         * TLB_OFFSET = the byte offset in the tag and host arrays of the entry of ADDR's page; jumps to {@code slow}
         * unless its tag is the page of the access's last byte. The arrays are read with Unsafe at that offset: no
         * bounds checks, which C1 cannot remove here. In bounds by construction: TLB_BASE is the array base plus
         * 0 or TLB_SIZE entries (tlbSet masked at block entry), and the page index is masked to the set's
         * TLB_SIZE entries of the 2 * TLB_SIZE. Only the tag's low half is compared: a valid tag is a page
         * number below 2^20 (32-bit linear addresses), an empty entry -1L, whose low half matches no page.
         */
        private void rawProbe(int tags, int size, Label slow) {
            c.iload(ADDR).bipush(PAGE_SHIFT - 3).iushr().loadConstant((TLB_SIZE - 1) << 3).iand().i2l()
                    .lload(TLB_BASE).ladd().lstore(TLB_OFFSET);
            unsafe().aload(tags).lload(TLB_OFFSET)
                    .invokevirtual(CD_UNSAFE, "getInt", MTD_UNSAFE_GET_INT);
            c.iload(ADDR);
            if (size > 1) { // wraps to page 0 at 4 GiB, whose tag never sits in the last page's entry
                c.loadConstant(size - 1).iadd();
            }
            c.bipush(PAGE_SHIFT).iushr().if_icmpne(slow);
        }

        /** Pushes Unsafe, null and the host address of ADDR on a TLB hit (the entry's host address plus the page offset). */
        private void rawAddress(int hosts) {
            unsafe().aconst_null();
            unsafe().aload(hosts).lload(TLB_OFFSET)
                    .invokevirtual(CD_UNSAFE, "getLong", MTD_UNSAFE_GET_LONG);
            c.iload(ADDR).loadConstant(PAGE_MASK).iand().i2l().ladd();
        }

        /** Stores local {@code value}'s low {@code size} bytes at the host address pushed with Unsafe and null. */
        private void rawPut(int size, int value) {
            c.iload(value);
            if (size == 1) {
                c.i2b();
            } else if (size == 2) {
                c.i2s();
            }
            c.invokevirtual(CD_UNSAFE, "put" + RAW_NAMES[size], MethodTypeDesc.of(CD_void, CD_Object, CD_long, RAW_TYPES[size]));
        }

        /**
         * Pushes Unsafe, null and the host address of ADDR from register {@code base}'s page base, or jumps to
         * {@code ordinary} when the base's low half is 0: always when the base is 0 (see PageBases), and for the
         * one page in 2^20 whose entry's low half happens to be 0, which then takes the ordinary path (correct, and
         * C1 tests an int against 0 in one instruction where a long takes three).
         */
        private void pageBaseAddress(int base, Label ordinary) {
            c.lload(PAGE_BASE0 + 2 * base).l2i().ifeq(ordinary);
            baseAddress(base);
        }

        /**
         * Whether register {@code r}'s page base is surely made wherever its accesses run: a region's own base, or a
         * member's in a closed region, which leaves at the member's start when its base cannot be made
         * ({@link #loadPageBases}); a block (or an open region) may have a base of 0 and keeps the ordinary path.
         */
        private boolean surely(int r) { return pageBases.regionWide(r) || membersLeaveWithoutBases; }

        /**
         * Records a load ({@code store} false) or store through register {@code r}'s page base; when that base is
         * surely made, pushes Unsafe, null and the access's host address and returns true (the access needs no other
         * path), else returns false.
         */
        private boolean baseAlone(int r, boolean store) {
            pageBases.accessed(r, store);
            if (!surely(r)) {
                return false;
            }
            baseAddress(r);
            return true;
        }

        /**
         * Pushes Unsafe, null and the host address of the access {@link PageBases#use} allowed last, from register
         * {@code base}'s page base (nonzero): the host address of the register's value (at the member's or region's
         * start) plus the access's offset from it, a constant that C2 folds into the load's or store's address.
         */
        private void baseAddress(int base) {
            unsafe().aconst_null().lload(PAGE_BASE0 + 2 * base).loadConstant((long) pageBases.offset()).ladd();
        }

        /**
         * Jumps to {@code slow} when a {@code size}-byte access at ADDR would cross its page's end, else loads
         * ENTRY from the flat write or read table (FLAT_WRITE or FLAT_READ: the address in a long local) at (ADDR >>> 12) * 8, in bounds by
         * construction (2^20 entries of 8 bytes), and jumps to {@code slow} when it is 0.
         */
        private void flatEntry(boolean write, int size, Label slow) {
            if (size > 1) {
                c.iload(ADDR).loadConstant(PAGE_MASK).iand().loadConstant(PAGE_MASK + 1 - size).if_icmpgt(slow);
            }
            unsafe().aconst_null();
            flatSlot(ADDR, write ? FLAT_WRITE : FLAT_READ);
            c.invokevirtual(CD_UNSAFE, "getLong", MTD_UNSAFE_GET_LONG);
            c.dup2().lstore(ENTRY).lconst_0().lcmp().ifeq(slow);
        }

        /** Pushes Unsafe, null and the host address of ADDR on a flat hit (ENTRY + ADDR sign-extended). */
        private void flatAddress() {
            unsafe().aconst_null().lload(ENTRY).iload(ADDR).i2l().ladd();
        }

        /**
         * Pushes RamAccess.UNSAFE for a raw access: read from its static final field each time (one bytecode byte
         * more than a local), which C1 folds to a constant known not to be null, where a local would be reloaded
         * from its stack slot and null-checked before every access of a large method.
         */
        private CodeBuilder unsafe() {
            return c.getstatic(CD_RAM, "UNSAFE", CD_UNSAFE);
        }

        /** Pushes ADDR as a linear address (flat segment: the offset, zero-extended). */
        private void linearAddress() {
            c.iload(ADDR).i2l().loadConstant(0xffff_ffffL).land();
        }

        /** ES, DS and SS are flat while blocks run (see CpuAccess.translatable); CS/FS/GS accesses take the checked path. */

        /** TLB_INDEX = the entry for ADDR; jumps to {@code slow} unless it holds ADDR's page and the access fits in it. */
        private void tlbProbe(int tags, int size, Label slow) {
            c.iload(TLB_SET).iload(ADDR).bipush(PAGE_SHIFT).iushr().loadConstant(TLB_SIZE - 1).iand().iadd()
                    .istore(TLB_INDEX);
            c.aload(tags).iload(TLB_INDEX).laload().iload(ADDR).bipush(PAGE_SHIFT).iushr().i2l().lcmp().ifne(slow);
            if (size > 1) {
                c.iload(ADDR).loadConstant(PAGE_MASK).iand().loadConstant(4096 - size).if_icmpgt(slow);
            }
        }

        /** Pushes the r/m operand. */
        private void loadE(Insn in, int size) {
            if (in.mem()) {
                readMem(in, size);
            } else {
                loadReg(size, in.rm());
            }
        }

        /** Writes local {@code value} to the r/m memory operand (the caller then checks for modified code). */
        private void writeMem(Insn in, int size, int value) {
            effectiveAddress(in);
            c.istore(ADDR);
            writeAt(in.seg(), size, value, pageBase(in, size));
        }

        private void writeStack(int offset, int value) {
            c.iload(REG0 + ESP).loadConstant(offset).iadd().istore(ADDR);
            writeAt(SS, 4, value, stackBase(offset));
        }

        private void readStack() {
            c.iload(REG0 + ESP).istore(ADDR);
            readAt(SS, 4, stackBase(0));
        }

        private void addEsp(int delta) {
            c.iload(REG0 + ESP).loadConstant(delta).iadd().istore(REG0 + ESP);
            written |= 1 << ESP;
            pageBases.espMoved(delta);
        }

        /** After a store: if it hit translated code, end the block here (the rest may be stale). */
        private void checkCodeWritten(Insn in) {
            if (!wroteMemory && !rawStored) {
                return;
            }
            Label go = c.newLabel();
            if (wroteMemory) {
                c.aload(CACHE).getfield(CD_CACHE, "codeDirty", CD_boolean).ifeq(go);
            } else {
                c.iload(CODE_WRITTEN).ifeq(go); // a raw hit never writes code: only the miss can have set it
            }
            wroteMemory = false;
            rawStored = false;
            exitTo(in.next(), done(), KIND_DYNAMIC);
            c.labelBinding(go);
        }

        /** Stores local {@code value} into the r/m operand (register or memory). */
        private void storeE(Insn in, int size, int value) {
            if (in.mem()) {
                writeMem(in, size, value);
            } else {
                c.iload(value);
                storeReg(size, in.rm());
            }
        }

        // ---- instructions ----

        /** Emits one instruction; returns false when it ended the block with its own exits. */
        private boolean instruction(Insn in) {
            int op = in.op();
            if (op < 0x40) {
                aluForm(in, op);
                return true;
            }
            switch (op) {
                case 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47 -> incDecRegister(in, op & 7, false);
                case 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f -> incDecRegister(in, op & 7, true);
                case 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57 -> {
                    c.iload(REG0 + (op & 7)).istore(T0);
                    push(T0);
                }
                case 0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f -> {
                    readStack();
                    c.istore(T0);
                    addEsp(4);
                    c.iload(T0);
                    storeReg(4, op & 7);
                }
                case 0x68, 0x6a -> {
                    c.loadConstant(in.imm()).istore(T0);
                    push(T0);
                }
                case 0x69, 0x6b -> {
                    loadE(in, in.size());
                    c.istore(T0);
                    imul(in, T0, () -> c.loadConstant(in.imm()));
                }
                case 0x80, 0x81, 0x83 -> aluImmediate(in);
                case 0x84, 0x85 -> aluE(in, ALU_AND, in.size(), () -> loadReg(in.size(), in.reg()));
                case 0x88, 0x89 -> {
                    loadReg(in.size(), in.reg());
                    c.istore(T0);
                    storeE(in, in.size(), T0);
                    if (in.mem()) {
                        checkCodeWritten(in);
                    }
                }
                case 0x8a, 0x8b -> {
                    loadE(in, in.size());
                    storeReg(in.size(), in.reg());
                }
                case 0x8d -> {
                    effectiveAddress(in);
                    storeReg(in.size(), in.reg());
                }
                case 0x86, 0x87 -> exchange(in);
                case 0x90 -> { }
                case 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97 -> {
                    loadReg(in.size(), EAX);
                    c.istore(T0);
                    loadReg(in.size(), op & 7);
                    storeReg(in.size(), EAX);
                    c.iload(T0);
                    storeReg(in.size(), op & 7);
                }
                case 0x98 -> { // CWDE / CBW
                    loadReg(in.size() / 2, EAX);
                    signExtend(in.size() / 2);
                    storeReg(in.size(), EAX);
                }
                case 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf -> {
                    return string(in);
                }
                case 0xf5, 0xf8, 0xf9 -> carryFlag(op);
            case 0x9c -> { // PUSHF: the interpreter's materialized EFLAGS without VM and RF
                spillFlags();
                c.aload(CPU).invokevirtual(CD_CPU, "materializeFlags", MTD_V_I).loadConstant(~(VM_FLAG | RF_FLAG)).iand()
                        .istore(T0);
                push(T0);
                reloadFlags();
                known = Known.UNKNOWN;
            }
                case 0xfc -> c.iload(FLAGS).loadConstant(~DF_FLAG).iand().istore(flag(FLAGS));
                case 0xfd -> c.iload(FLAGS).loadConstant(DF_FLAG).ior().istore(flag(FLAGS));
                case 0xa0, 0xa1 -> {
                    readMem(in, in.size());
                    storeReg(in.size(), EAX);
                }
                case 0xa2, 0xa3 -> {
                    loadReg(in.size(), EAX);
                    c.istore(T0);
                    writeMem(in, in.size(), T0);
                    checkCodeWritten(in);
                }
                case 0xc9 -> { // LEAVE: ESP = EBP + 4, EBP = [EBP]
                    c.iload(REG0 + EBP).istore(ADDR);
                    readAt(SS, 4);
                    c.istore(T0);
                    c.iload(REG0 + EBP).loadConstant(4).iadd();
                    storeReg(4, ESP);
                    c.iload(T0);
                    storeReg(4, EBP);
                }
                case 0xd2, 0xd3 -> shiftByCl(in);
                case 0x99 -> { // CDQ / CWD
                    loadReg(in.size(), EAX);
                    signExtend(in.size());
                    c.bipush(31).ishr();
                    storeReg(in.size(), EDX);
                }
                case 0xa8, 0xa9 -> {
                    loadReg(in.size(), EAX);
                    c.istore(T0).loadConstant(in.imm()).istore(T1);
                    logic(ALU_AND, in.size());
                }
                case 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7 -> {
                    c.loadConstant(in.imm());
                    storeReg(1, op & 7);
                }
                case 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf -> {
                    c.loadConstant(in.imm());
                    storeReg(in.size(), op & 7);
                }
                case 0xc0, 0xc1, 0xd0, 0xd1 -> shift(in, op >= 0xd0 ? 1 : in.imm() & 0x1f);
                case 0xc2, 0xc3 -> {
                    readStack();
                    c.istore(T0);
                    addEsp(4 + in.imm());
                    c.iload(T0);
                    dynamicExit(done());
                    return false;
                }
                case 0xc6, 0xc7 -> {
                    c.loadConstant(in.imm()).istore(T0);
                    storeE(in, in.size(), T0);
                    if (in.mem()) {
                        checkCodeWritten(in);
                    }
                }
                case 0xe8 -> {
                    c.loadConstant(in.next()).istore(T0);
                    push(T0);
                    exitTo(in.next() + in.imm(), done(), KIND_EXIT0);
                    return false;
                }
                case 0xe9, 0xeb -> {
                    exitTo(in.next() + in.imm(), done(), KIND_EXIT0);
                    return false;
                }
                case 0xf6, 0xf7 -> group3(in);
                case 0xfe -> incDecE(in, in.reg() == 1);
                case 0xff -> { return group5(in); }
                default -> {
                    if (op >= 0x70 && op <= 0x7f) {
                        conditionalJump(in, op & 15);
                        return false;
                    }
                    if (op < 0x100) {
                        throw new IllegalStateException("decoded but not compiled: " + Integer.toHexString(op));
                    }
                    return twoByte(in, op & 0xff);
                }
            }
            return true;
        }

        private boolean twoByte(Insn in, int op) {
            if (op >= 0x40 && op <= 0x4f) {
                loadE(in, in.size());
                c.istore(T0);
                condition(op & 15);
                Label skip = c.newLabel();
                c.ifeq(skip).iload(T0);
                storeReg(in.size(), in.reg());
                c.labelBinding(skip);
                return true;
            }
            if (op >= 0x80 && op <= 0x8f) {
                conditionalJump(in, op & 15);
                return false;
            }
            if (op >= 0x90 && op <= 0x9f) {
                condition(op & 15);
                c.istore(T0);
                storeE(in, 1, T0);
                if (in.mem()) {
                    checkCodeWritten(in);
                }
                return true;
            }
            if (op >= 0xc8 && op <= 0xcf) { // BSWAP
                loadReg(4, op & 7);
                c.invokestatic(CD_INTEGER, "reverseBytes", MTD_I_I);
                storeReg(4, op & 7);
                return true;
            }
            switch (op) {
                case 0xa3, 0xab, 0xb3, 0xbb -> bitTest(in, (op >> 3) & 3, false);
                case 0xba -> bitTest(in, in.reg() - 4, true);
                case 0xbc, 0xbd -> bitScan(in, op == 0xbc);
                case 0xa4, 0xa5, 0xac, 0xad -> doubleShift(in, op < 0xa8, (op & 1) == 0);
                case 0xb0, 0xb1 -> compareExchange(in);
                case 0xc0, 0xc1 -> exchangeAdd(in);
                case 0xaf -> {
                    loadE(in, in.size());
                    c.istore(T0);
                    imul(in, T0, () -> loadReg(in.size(), in.reg()));
                }
                case 0xb6, 0xb7 -> {
                    loadE(in, in.size());
                    storeReg(4, in.reg());
                }
                case 0xbe, 0xbf -> {
                    loadE(in, in.size());
                    signExtend(in.size());
                    storeReg(4, in.reg());
                }
                default -> throw new IllegalStateException("decoded but not compiled: 0f " + Integer.toHexString(op));
            }
            return true;
        }

        /** XCHG r/m, reg: with memory always locked. */
        private void exchange(Insn in) {
            int size = in.size();
            loadReg(size, in.reg());
            c.istore(T1);
            if (!in.mem()) {
                loadReg(size, in.rm());
                storeReg(size, in.reg());
                c.iload(T1);
                storeReg(size, in.rm());
                return;
            }
            rmwE(in, size, null, () -> c.iload(T1).istore(T2));
            c.iload(T0);
            storeReg(size, in.reg());
        }

        /** XADD r/m, reg: the sum to r/m, the old r/m to reg (written last when both name one register). */
        private void exchangeAdd(Insn in) {
            int size = in.size();
            loadReg(size, in.reg());
            c.istore(T1);
            if (!in.mem()) {
                loadReg(size, in.rm());
                c.istore(T0);
                aluCompute(ALU_ADD, size);
                c.iload(T0);
                storeReg(size, in.reg());
                c.iload(T2);
                storeReg(size, in.rm());
            } else {
                rmwE(in, size, null, () -> aluCompute(ALU_ADD, size));
                c.iload(T0);
                storeReg(size, in.reg());
            }
            aluFlags(ALU_ADD, size);
        }

        /** CMPXCHG r/m, reg: flags of CMP accumulator, r/m; equal: r/m = reg, else accumulator = r/m (memory is written either way). */
        private void compareExchange(Insn in) {
            int size = in.size();
            loadReg(size, in.reg());
            c.istore(T1);
            loadReg(size, EAX);
            c.istore(T4);
            Runnable choose = () -> {
                Label differ = c.newLabel();
                Label chosen = c.newLabel();
                c.iload(T0).iload(T4).if_icmpne(differ).iload(T1).goto_(chosen).labelBinding(differ).iload(T0);
                c.labelBinding(chosen).istore(T2);
            };
            if (in.mem()) {
                rmwE(in, size, null, choose);
            } else {
                loadReg(size, in.rm());
                c.istore(T0);
                choose.run();
            }
            Label equal = c.newLabel();
            Label done = c.newLabel();
            c.iload(T0).iload(T4).if_icmpeq(equal).iload(T0);
            storeReg(size, EAX);
            c.goto_(done).labelBinding(equal);
            if (!in.mem()) {
                c.iload(T1);
                storeReg(size, in.rm());
            }
            c.labelBinding(done);
            c.iload(T4).iload(T0).isub();
            mask(size);
            c.istore(T5);
            setLazy(CpuAccess.OP_SUB, size, T4, T0, T5, Known.SUB); // CMP accumulator, old r/m
        }

        /**
         * BT/BTS/BTR/BTC ({@code kind} 0..3). A register bit offset reaches beyond the addressed operand in
         * memory (signed, in operand-size units); an immediate one is taken modulo the operand size. CF = the bit.
         */
        private void bitTest(Insn in, int kind, boolean immediate) {
            int size = in.size();
            int bits = size * 8;
            if (immediate) {
                c.loadConstant(in.imm() & (bits - 1)).istore(T1);
            } else {
                loadReg(size, in.reg());
                c.istore(T1);
            }
            Runnable address = null;
            if (in.mem() && !immediate) {
                address = () -> {
                    effectiveAddress(in);
                    c.iload(T1);
                    signExtend(size);
                    c.loadConstant(size == 4 ? 5 : 4).ishr().loadConstant(size).imul().iadd();
                };
            }
            Runnable addr = address;
            if (kind == 0) {
                if (in.mem()) {
                    if (addr == null) {
                        effectiveAddress(in);
                    } else {
                        addr.run();
                    }
                    c.istore(ADDR);
                    readAt(in.seg(), size);
                } else {
                    loadReg(size, in.rm());
                }
                c.istore(T0);
            } else {
                rmwE(in, size, addr, () -> {
                    c.iconst_1().iload(T1).loadConstant(bits - 1).iand().ishl();
                    switch (kind) {
                        case 1 -> c.iload(T0).ior();
                        case 2 -> c.iconst_m1().ixor().iload(T0).iand();
                        default -> c.iload(T0).ixor();
                    }
                    c.istore(T2);
                });
            }
            spillFlags();
            c.aload(CPU).loadConstant(CF_FLAG).iload(T0).iload(T1).loadConstant(bits - 1).iand().iushr().iconst_1().iand()
                    .invokevirtual(CD_CPU, "setArithFlags", MTD_II_V);
            reloadFlags();
            known = Known.UNKNOWN;
        }

        /** BSF/BSR: a zero source sets ZF and leaves the destination; else the index, ZF clear (other flags cleared, as the interpreter). */
        private void bitScan(Insn in, boolean forward) {
            int size = in.size();
            loadE(in, size);
            c.istore(T0);
            Label zero = c.newLabel();
            Label done = c.newLabel();
            c.iload(T0).ifeq(zero);
            if (forward) {
                c.iload(T0).invokestatic(CD_INTEGER, "numberOfTrailingZeros", MTD_I_I);
            } else {
                c.bipush(31).iload(T0).invokestatic(CD_INTEGER, "numberOfLeadingZeros", MTD_I_I).isub();
            }
            storeReg(size, in.reg());
            c.iload(FLAGS).loadConstant(~ARITH_FLAGS).iand().goto_(done);
            c.labelBinding(zero).iload(FLAGS).loadConstant(~ARITH_FLAGS).iand().loadConstant(ZF_FLAG).ior();
            c.labelBinding(done).istore(flag(FLAGS));
            c.loadConstant(OP_NONE).istore(flag(LOP));
            known = Known.UNKNOWN;
        }

        /** SHLD/SHRD by imm8 or CL (mod 32) through the interpreter's doubleShiftValue; a zero count changes nothing. */
        private void doubleShift(Insn in, boolean left, boolean immediate) {
            int size = in.size();
            if (immediate) {
                c.loadConstant(in.imm() & 0x1f).istore(T4);
            } else {
                loadReg(1, ECX);
                c.loadConstant(0x1f).iand().istore(T4);
            }
            loadReg(size, in.reg());
            c.istore(T1);
            Label zero = c.newLabel();
            Label done = c.newLabel();
            c.iload(T4).ifeq(zero);
            rmwE(in, size, null, () -> {
                spillFlags();
                c.aload(CPU).loadConstant(left ? 1 : 0).loadConstant(size).iload(T0).iload(T1).iload(T4)
                        .invokevirtual(CD_CPU, "doubleShiftValue", MTD_ZIIII_I).istore(T2);
            });
            reloadFlags();
            c.goto_(done).labelBinding(zero);
            if (in.mem()) {
                readMem(in, size);
                c.pop();
            }
            c.labelBinding(done);
            known = Known.UNKNOWN;
        }

        /** CLC, STC, CMC: the interpreter's setArithFlags(CF, ...). */
        private void carryFlag(int op) {
            if (op == 0xf5) {
                condition(2);
                c.iconst_1().ixor().istore(T0);
            } else {
                c.loadConstant(op == 0xf9 ? 1 : 0).istore(T0);
            }
            spillFlags();
            c.aload(CPU).loadConstant(CF_FLAG).iload(T0).invokevirtual(CD_CPU, "setArithFlags", MTD_II_V);
            reloadFlags();
            known = Known.UNKNOWN;
        }

        /**
         * MOVS, CMPS, STOS, LODS, SCAS, with REP/REPE/REPNE as a loop in the block. Each iteration writes its
         * registers only after its memory accesses, so a fault leaves ECX/ESI/EDI as the interpreter would and
         * the interpreter re-executes the instruction from there. At most {@link #REP_CHUNK} iterations per
         * execution: then the block leaves at this instruction, unfinished, and the engine comes back.
         */
        private boolean string(Insn in) {
            int op = in.op();
            int size = in.size();
            boolean rep = in.rep() != 0;
            boolean compares = op == 0xa6 || op == 0xa7 || op == 0xae || op == 0xaf;
            Label up = c.newLabel();
            Label deltaKnown = c.newLabel();
            c.iload(FLAGS).loadConstant(DF_FLAG).iand().ifeq(up).loadConstant(-size).goto_(deltaKnown);
            c.labelBinding(up).loadConstant(size).labelBinding(deltaKnown).istore(DELTA);
            Label done = c.newLabel();
            Label top = c.newLabel();
            Label more = c.newLabel();
            if (rep) {
                c.loadConstant(REP_CHUNK).istore(T5);
            }
            c.labelBinding(top);
            if (rep) {
                c.iload(REG0 + ECX).ifeq(done);
                c.iinc(T5, -1).iload(T5).ifge(more);
                exitTo(in.eip(), index, KIND_DYNAMIC); // a long REP: come back for the rest
                c.labelBinding(more);
            }
            boolean source = op == 0xa4 || op == 0xa5 || op == 0xa6 || op == 0xa7 || op == 0xac || op == 0xad;
            boolean destination = op != 0xac && op != 0xad;
            if (source) {
                c.iload(REG0 + ESI).istore(ADDR);
                readAt(in.seg(), size);
                c.istore(T0);
            } else if (op != 0xaa && op != 0xab) {
                loadReg(size, EAX); // SCAS compares the accumulator
                c.istore(T0);
            }
            switch (op) {
                case 0xa4, 0xa5 -> {
                    c.iload(REG0 + EDI).istore(ADDR);
                    writeAt(ES, size, T0);
                }
                case 0xaa, 0xab -> {
                    loadReg(size, EAX);
                    c.istore(T0);
                    c.iload(REG0 + EDI).istore(ADDR);
                    writeAt(ES, size, T0);
                }
                case 0xac, 0xad -> {
                    c.iload(T0);
                    storeReg(size, EAX);
                }
                default -> { // CMPS, SCAS: flags of T0 - [ES:EDI]
                    c.iload(REG0 + EDI).istore(ADDR);
                    readAt(ES, size);
                    c.istore(T1);
                    aluCompute(ALU_SUB, size);
                    aluFlags(ALU_SUB, size);
                }
            }
            if (source) {
                advance(ESI);
            }
            if (destination) {
                advance(EDI);
            }
            if (rep) {
                c.iload(REG0 + ECX).iconst_1().isub();
                storeReg(4, ECX);
                if (compares) { // REPE stops on a difference, REPNE on equality
                    c.iload(LRES);
                    if (in.rep() == 0xf3) {
                        c.ifne(done);
                    } else {
                        c.ifeq(done);
                    }
                }
                c.goto_(top);
            }
            c.labelBinding(done);
            if (rep && compares) {
                known = Known.UNKNOWN; // no iteration may have run
            }
            return true;
        }

        private void advance(int r) {
            c.iload(REG0 + r).iload(DELTA).iadd();
            storeReg(4, r);
        }

        private void conditionalJump(Insn in, int cc) {
            condition(cc);
            Label taken = c.newLabel();
            c.ifne(taken);
            exitTo(in.next(), done(), KIND_EXIT1);
            c.labelBinding(taken);
            exitTo(in.next() + in.imm(), done(), KIND_EXIT0);
        }

        private void push(int value) {
            writeStack(-4, value);
            addEsp(-4);
        }

        /** The ALU opcodes 00-3D: E,G / G,E / accumulator,imm forms. */
        private void aluForm(Insn in, int op) {
            int kind = op >> 3;
            int size = in.size();
            switch (op & 7) {
                case 0, 1 -> aluE(in, kind, size, () -> loadReg(size, in.reg()));
                case 2, 3 -> {
                    loadReg(size, in.reg());
                    c.istore(T0);
                    loadE(in, size);
                    c.istore(T1);
                    aluCompute(kind, size);
                    if (kind != ALU_CMP) {
                        c.iload(T2);
                        storeReg(size, in.reg());
                    }
                    aluFlags(kind, size);
                }
                default -> {
                    loadReg(size, EAX);
                    c.istore(T0).loadConstant(in.imm()).istore(T1);
                    aluCompute(kind, size);
                    if (kind != ALU_CMP) {
                        c.iload(T2);
                        storeReg(size, EAX);
                    }
                    aluFlags(kind, size);
                }
            }
        }

        /**
         * ALU on the r/m operand with an immediate. ADD or SUB of a constant to ESP (a function's frame made or
         * dropped) moves ESP by a constant, as PUSH and POP do: its later accesses keep the member's page base.
         */
        private void aluImmediate(Insn in) {
            boolean espMove = !in.mem() && in.rm() == ESP && in.size() == 4 && (in.reg() == ALU_ADD || in.reg() == ALU_SUB);
            boolean espKeptItsValue = !pageBases.assigned(ESP);
            aluE(in, in.reg(), in.size(), () -> c.loadConstant(in.imm() & sizeMask(in.size())));
            if (espMove && espKeptItsValue) {
                pageBases.espAdjusted(in.reg() == ALU_ADD ? in.imm() : -in.imm());
            }
        }

        /** ALU on the r/m operand with a source pushed by {@code source}: T0 = dst, T1 = src, T2 = result. */
        private void aluE(Insn in, int kind, int size, Runnable source) {
            source.run();
            c.istore(T1);
            if (kind == ALU_CMP || in.op() == 0x84 || in.op() == 0x85) { // CMP and TEST write nothing
                loadE(in, size);
                c.istore(T0);
                aluCompute(kind, size);
            } else {
                rmwE(in, size, null, () -> aluCompute(kind, size));
            }
            aluFlags(kind, size);
        }

        /**
         * Read-modify-write of the r/m operand: T0 = the old value, {@code compute} leaves the new one in T2
         * (it may be emitted twice: LOCK retries a compare-and-set). {@code address} pushes the offset, or
         * null for the ModR/M effective address. Only the destination is written: the caller updates the
         * other locals afterwards, so a fault leaves the state before the instruction.
         */
        private void rmwE(Insn in, int size, Runnable address, Runnable compute) {
            if (!in.mem()) {
                loadReg(size, in.rm());
                c.istore(T0);
                compute.run();
                c.iload(T2);
                storeReg(size, in.rm());
                return;
            }
            if (address == null) {
                effectiveAddress(in);
            } else {
                address.run();
            }
            c.istore(ADDR);
            if (in.lock() || ((in.op() == 0x86 || in.op() == 0x87))) {
                lockedRmw(in, size, compute);
                return;
            }
            int base = address == null ? pageBase(in, size) : -1;
            readAt(in.seg(), size, base);
            c.istore(T0);
            compute.run();
            writeAt(in.seg(), size, T2, base);
        }

        /**
         * LOCKed update at ADDR, as the interpreter's: a compare-and-set on the aligned 8-byte word of RAM
         * holding the operand, retried until it wins. Anything else (split word, a page holding code or
         * MMIO, a segment that is not flat) leaves to the interpreter, which locks the memory instead.
         */
        private void lockedRmw(Insn in, int size, Runnable compute) {
            wroteMemory = true;
            Label interpreter = c.newLabel();
            Label done = c.newLabel();
            if (!flat(in.seg())) {
                c.goto_(interpreter);
            } else {
                c.aload(CPU).iload(ADDR).i2l().loadConstant(0xffff_ffffL).land().loadConstant(size)
                        .invokevirtual(CD_CPU, "atomicRam", MTD_ATOMIC_RAM).dup().astore(ATOMIC_PAGE).ifnull(interpreter);
                Label retry = c.newBoundLabel();
                c.aload(ATOMIC_PAGE);
                c.iload(ADDR).loadConstant(PAGE_MASK).iand().i2l();
                c.invokestatic(CD_RAM, "get" + size, MTD_RAM_GET);
                mask(size);
                c.istore(T0);
                compute.run();
                c.aload(ATOMIC_PAGE).iload(ADDR).i2l().loadConstant(0xffff_ffffL).land().loadConstant(size).iload(T0).iload(T2)
                        .invokestatic(CD_MMU, "compareAndSet", MTD_CAS).ifeq(retry);
                c.goto_(done);
            }
            c.labelBinding(interpreter);
            exitTo(in.eip(), index, KIND_FAULT);
            c.labelBinding(done);
        }

        /** T2 = T0 op T1 (masked). ADC/SBB call the interpreter (flags spilled first, reloaded in aluFlags). */
        private void aluCompute(int kind, int size) {
            if (kind == ALU_ADC || kind == ALU_SBB) { // T3 = the carry in
                carryInto(T3);
                c.iload(T0).iload(T1);
                if (kind == ALU_ADC) {
                    c.iadd().iload(T3).iadd();
                } else {
                    c.isub().iload(T3).isub();
                }
                mask(size);
                c.istore(T2);
                return;
            }
            c.iload(T0).iload(T1);
            switch (kind) {
                case ALU_ADD -> c.iadd();
                case ALU_OR -> c.ior();
                case ALU_AND -> c.iand();
                case ALU_XOR -> c.ixor();
                default -> c.isub();
            }
            mask(size);
            c.istore(T2);
        }

        private void aluFlags(int kind, int size) {
            switch (kind) {
                case ALU_ADD -> setLazy(CpuAccess.OP_ADD, size, T0, T1, T2, Known.ADD);
                case ALU_OR, ALU_AND, ALU_XOR -> setLogic(size, T2);
                case ALU_ADC, ALU_SBB -> { // the interpreter's setLazy(carry ? OP_ADC : OP_ADD, ...), same for SBB
                    boolean add = kind == ALU_ADC;
                    setLazy(add ? CpuAccess.OP_ADD : CpuAccess.OP_SUB, size, T0, T1, T2, Known.UNKNOWN);
                    Label noCarry = c.newLabel();
                    c.iload(T3).ifeq(noCarry).loadConstant(add ? OP_ADC : OP_SBB).istore(flag(LOP)).labelBinding(noCarry);
                }
                default -> setLazy(CpuAccess.OP_SUB, size, T0, T1, T2, Known.SUB);
            }
        }

        private void logic(int kind, int size) {
            aluCompute(kind, size);
            aluFlags(kind, size);
        }

        private void incDecRegister(Insn in, int r, boolean dec) {
            int size = in.size();
            if (flagsDead[index]) { // nothing reads these flags: only the register changes
                loadReg(size, r);
                c.iconst_1();
                if (dec) {
                    c.isub();
                } else {
                    c.iadd();
                }
                storeReg(size, r);
                return;
            }
            carryInto(T3);
            loadReg(size, r);
            c.istore(T0).iconst_1().istore(T1);
            aluCompute(dec ? ALU_SUB : ALU_ADD, size);
            c.iload(T2);
            storeReg(size, r);
            incDecFlags(size, dec);
        }

        private void incDecE(Insn in, boolean dec) {
            int size = in.size();
            carryInto(T3);
            c.iconst_1().istore(T1);
            rmwE(in, size, null, () -> aluCompute(dec ? ALU_SUB : ALU_ADD, size));
            incDecFlags(size, dec);
        }

        /** INC/DEC keep CF: the interpreter records the old CF in lazyAux. */
        private void carryInto(int local) {
            condition(2);
            c.istore(local);
        }

        private void incDecFlags(int size, boolean dec) {
            setLazy(dec ? CpuAccess.OP_DEC : CpuAccess.OP_INC, size, T0, T1, T2, Known.RESULT);
            c.iload(T3).istore(flag(LAUX));
        }

        /**
         * IMUL r, r/m (, imm) of 16 or 32 bits inline: the product of the sign-extended operands as a long;
         * flags as the interpreter's imulTruncated sets them (CF = OF = the product does not fit), or none
         * when they are dead (the decompressor's range coder: {@code bound = (range >>> 11) * prob}).
         */
        private void imul(Insn in, int first, Runnable second) {
            int size = in.size();
            if (flagsDead[index]) { // the low bits of the product do not depend on the operands' upper bits
                c.iload(first);
                second.run();
                c.imul();
                storeReg(size, in.reg());
                return;
            }
            c.iload(first);
            signExtend(size);
            c.i2l();
            second.run();
            signExtend(size);
            c.i2l().lmul().dup2().l2i();
            mask(size);
            c.istore(T2);
            c.iload(T2);
            signExtend(size);
            c.i2l().lcmp();
            Label fits = c.newLabel();
            Label done = c.newLabel();
            c.ifeq(fits).loadConstant(CF_OF).goto_(done).labelBinding(fits).iconst_0().labelBinding(done);
            setLazyResultAuxPushed(size, T2);
            c.iload(T2);
            storeReg(size, in.reg());
            known = Known.RESULT;
            knownSize = size;
        }

        /**
         * Shift/rotate by an immediate count; a zero count changes nothing, flags included (memory is still
         * read). SHL/SHR/SAR compute their flags inline as the interpreter's setLazyResult would; ROL/ROR
         * whose flags are dead are inlined too; the rest calls the interpreter's shiftRotate.
         */
        private void shift(Insn in, int count) {
            int kind = in.reg();
            boolean dead = flagsDead[index];
            if (count != 0 && (kind >= 4 || (dead && kind <= 1))) {
                rmwE(in, in.size(), null, () -> inlineShift(kind, in.size(), count, dead));
                if (!dead) {
                    setLazyResult(in.size(), T2, T3);
                    known = Known.RESULT;
                    knownSize = in.size();
                }
                return;
            }
            c.loadConstant(count).istore(T4);
            shiftByCount(in);
        }

        /** T2 = T0 shifted by the constant {@code count} (1..31); unless {@code dead}, T3 = CF | OF as lazyAux. */
        private void inlineShift(int kind, int size, int count, boolean dead) {
            int bits = size * 8;
            int mask = sizeMask(size);
            switch (kind) {
                case 0, 1 -> { // ROL, ROR (flags dead)
                    int n = count & (bits - 1);
                    int left = kind == 0 ? n : (bits - n) & (bits - 1);
                    c.iload(T0);
                    if (left != 0) {
                        c.loadConstant(left).ishl().iload(T0).loadConstant(bits - left).iushr().ior();
                        mask(size);
                    }
                    c.istore(T2);
                }
                case 4, 6 -> { // SHL: CF = the last bit out, OF = CF xor the result's sign
                    c.iload(T0).i2l().loadConstant(0xffff_ffffL).land().loadConstant(count).lshl().dup2();
                    c.l2i();
                    mask(size);
                    c.istore(T2);
                    if (dead) {
                        c.pop2();
                        return;
                    }
                    c.loadConstant(bits).lushr().l2i().iconst_1().iand().istore(T3);
                    c.iload(T2).loadConstant(bits - 1).iushr().iload(T3).ixor(); // OF = sign xor CF
                    orOverflowIntoAux();
                }
                case 5 -> { // SHR: OF is the old sign for a count of 1
                    c.iload(T0).loadConstant(count).iushr();
                    mask(size);
                    c.istore(T2);
                    if (dead) {
                        return;
                    }
                    c.iload(T0).loadConstant(count - 1).iushr().iconst_1().iand().istore(T3);
                    if (count == 1) {
                        c.iload(T0).loadConstant(bits - 1).iushr(); // OF = the old sign
                        orOverflowIntoAux();
                    }
                }
                default -> { // SAR
                    c.iload(T0);
                    signExtend(size);
                    c.dup().loadConstant(count).ishr();
                    mask(size);
                    c.istore(T2);
                    if (dead) {
                        c.pop();
                        return;
                    }
                    c.loadConstant(count - 1).ishr().iconst_1().iand().istore(T3);
                }
            }
        }

        /**
         * T2 = the 32-bit T0 shifted by T4 (1..31); unless {@code dead}, T3 = CF | OF as lazyAux, as the
         * interpreter's shiftRotate sets them for size 4. Java's int shifts take the count mod 32.
         */
        private void inlineShiftByCount(int kind, boolean dead) {
            switch (kind) {
                case 0, 1 -> { // ROL, ROR (flags dead): the other part is the shift the other way by -count (32 - count)
                    c.iload(T0).iload(T4);
                    if (kind == 0) {
                        c.ishl().iload(T0).iload(T4).ineg().iushr();
                    } else {
                        c.iushr().iload(T0).iload(T4).ineg().ishl();
                    }
                    c.ior().istore(T2);
                }
                case 4, 6 -> { // SHL: CF = the last bit out, OF = CF xor the result's sign
                    c.iload(T0).iload(T4).ishl().istore(T2);
                    if (dead) {
                        return;
                    }
                    c.iload(T0).iconst_m1().iload(T4).iadd().ishl().bipush(31).iushr().istore(T3); // bit 32 - count
                    c.iload(T2).bipush(31).iushr().iload(T3).ixor();
                    orOverflowIntoAux();
                }
                case 5 -> { // SHR: OF is the old sign for a count of 1
                    c.iload(T0).iload(T4).iushr().istore(T2);
                    if (dead) {
                        return;
                    }
                    c.iload(T0).iload(T4).iconst_m1().iadd().iushr().iconst_1().iand().istore(T3);
                    Label notOne = c.newLabel();
                    c.iload(T4).iconst_1().if_icmpne(notOne);
                    c.iload(T0).bipush(31).iushr();
                    orOverflowIntoAux();
                    c.labelBinding(notOne);
                }
                default -> { // SAR
                    c.iload(T0).iload(T4).ishr().istore(T2);
                    if (!dead) {
                        c.iload(T0).iload(T4).iconst_m1().iadd().ishr().iconst_1().iand().istore(T3);
                    }
                }
            }
        }

        /** T3 |= OF when the 0/1 value on the stack is 1. */
        private void orOverflowIntoAux() {
            c.bipush(11).ishl().iload(T3).ior().istore(T3); // OF is bit 11
        }

        /** Shift/rotate by CL (mod 32). */
        private void shiftByCl(Insn in) {
            loadReg(1, ECX);
            c.loadConstant(0x1f).iand().istore(T4);
            shiftByCount(in);
        }

        /**
         * Shift/rotate of the r/m operand by T4 (a zero count changes nothing): 32-bit SHL/SHR/SAR, and ROL/ROR
         * whose flags are dead, inline (flags as the interpreter's shiftRotate sets them); the rest through
         * shiftRotate (flags are its own).
         */
        private void shiftByCount(Insn in) {
            Label zero = c.newLabel();
            Label done = c.newLabel();
            int kind = in.reg();
            boolean dead = flagsDead[index];
            c.iload(T4).ifeq(zero);
            if (in.size() == 4 && (kind >= 4 || (dead && kind <= 1))) {
                rmwE(in, 4, null, () -> inlineShiftByCount(kind, dead));
                if (!dead) {
                    setLazyResult(4, T2, T3); // flags unknown after the merge with a count of 0
                }
            } else {
                rmwE(in, in.size(), null, () -> {
                    spillFlags();
                    c.aload(CPU).loadConstant(kind).loadConstant(in.size()).iload(T0).iload(T4)
                            .invokevirtual(CD_CPU, "shiftRotate", MTD_IIII_I).istore(T2);
                });
                reloadFlags();
            }
            c.goto_(done).labelBinding(zero);
            if (in.mem()) {
                readMem(in, in.size()); // the operand is still read (and may fault)
                c.pop();
            }
            c.labelBinding(done);
            known = Known.UNKNOWN;
        }

        private void group3(Insn in) {
            int size = in.size();
            if (in.reg() >= 6) {
                divide(in, in.reg() == 7);
                return;
            }
            if (in.reg() == 4 || in.reg() == 5) {
                multiply(in, in.reg() == 5);
                return;
            }
            if (in.reg() == 3) { // NEG: flags of 0 - v (T5 holds v, T1 the zero)
                rmwE(in, size, null, () -> {
                    c.iload(T0).istore(T5).iconst_0().istore(T0).iload(T5).istore(T1);
                    aluCompute(ALU_SUB, size);
                });
                aluFlags(ALU_SUB, size);
                return;
            }
            if (in.reg() <= 1) { // TEST r/m, imm (/1 is an alias)
                loadE(in, size);
                c.istore(T0).loadConstant(in.imm()).istore(T1);
                logic(ALU_AND, size);
                return;
            }
            rmwE(in, size, null, () -> { // NOT: no flags
                c.iload(T0).iconst_m1().ixor();
                mask(size);
                c.istore(T2);
            });
        }

        /** MUL/IMUL r/m32: EDX:EAX = EAX * src, flags as the interpreter's setLazyResult(4, low, CF|OF if high matters). */
        private void multiply(Insn in, boolean signed) {
            loadE(in, 4);
            if (signed) {
                c.i2l().iload(REG0 + EAX).i2l();
            } else {
                c.i2l().loadConstant(0xffff_ffffL).land().iload(REG0 + EAX).i2l().loadConstant(0xffff_ffffL).land();
            }
            c.lmul().lstore(PRODUCT);
            c.lload(PRODUCT).l2i();
            storeReg(4, EAX);
            c.lload(PRODUCT).bipush(32).lushr().l2i();
            storeReg(4, EDX);
            Label fits = c.newLabel();
            Label done = c.newLabel();
            if (signed) {
                c.lload(PRODUCT).iload(REG0 + EAX).i2l().lcmp().ifeq(fits); // the product is its sign-extended low half
            } else {
                c.iload(REG0 + EDX).ifeq(fits);
            }
            c.loadConstant(CF_OF).goto_(done).labelBinding(fits).iconst_0().labelBinding(done);
            setLazyResultAuxPushed(4, REG0 + EAX);
            known = Known.RESULT;
            knownSize = 4;
        }

        /**
         * DIV/IDIV r/m32: EAX = EDX:EAX / src, EDX = remainder, flags untouched (as the interpreter). A zero
         * divisor or a quotient that does not fit leaves through the fault exit: the interpreter raises #DE.
         */
        private void divide(Insn in, boolean signed) {
            Label fault = c.newLabel();
            Label done = c.newLabel();
            loadE(in, 4);
            c.i2l();
            if (!signed) {
                c.loadConstant(0xffff_ffffL).land();
            }
            c.dup2().lstore(DIVISOR).lconst_0().lcmp().ifeq(fault);
            if (signed) {
                c.iload(REG0 + EDX).i2l().bipush(32).lshl();
            } else {
                c.iload(REG0 + EDX).i2l().loadConstant(0xffff_ffffL).land().lstore(PRODUCT);
                c.lload(PRODUCT).lload(DIVISOR).lcmp().ifge(fault); // the quotient would not fit
                c.lload(PRODUCT).bipush(32).lshl();
            }
            c.iload(REG0 + EAX).i2l().loadConstant(0xffff_ffffL).land().lor().lstore(PRODUCT); // the dividend
            if (signed) {
                c.lload(PRODUCT).loadConstant(Long.MIN_VALUE).lcmp().ifne(done);
                c.lload(DIVISOR).loadConstant(-1L).lcmp().ifeq(fault);
                c.labelBinding(done);
                c.lload(PRODUCT).lload(DIVISOR).ldiv().lstore(QUOTIENT);
                c.lload(QUOTIENT).lload(QUOTIENT).l2i().i2l().lcmp().ifne(fault);
                c.lload(QUOTIENT).l2i().istore(T0);
                c.lload(PRODUCT).lload(DIVISOR).lrem().l2i();
            } else {
                c.lload(PRODUCT).lload(DIVISOR).invokestatic(CD_LONG, "divideUnsigned", MTD_JJ_J).l2i().istore(T0);
                c.lload(PRODUCT).lload(DIVISOR).invokestatic(CD_LONG, "remainderUnsigned", MTD_JJ_J).l2i();
            }
            storeReg(4, EDX);
            c.iload(T0);
            storeReg(4, EAX);
            Label next = c.newLabel();
            c.goto_(next).labelBinding(fault);
            exitTo(in.eip(), index, KIND_FAULT);
            c.labelBinding(next);
        }

        private boolean group5(Insn in) {
            switch (in.reg()) {
                case 0, 1 -> incDecE(in, in.reg() == 1);
                case 2 -> {
                    loadE(in, 4);
                    c.istore(T1).loadConstant(in.next()).istore(T0);
                    push(T0);
                    c.iload(T1);
                    dynamicExit(done());
                    return false;
                }
                case 4 -> {
                    loadE(in, 4);
                    dynamicExit(done());
                    return false;
                }
                default -> { // 6: PUSH r/m
                    loadE(in, 4);
                    c.istore(T0);
                    push(T0);
                }
            }
            return true;
        }
    }
}
