package org.jqemu.accel.tcg;

import org.jqemu.target.i386.Nasm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.CodeModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.attribute.CodeAttribute;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/** Limits of the decoder and the compiler that the lockstep tests do not reach. */
class BlockCompilerTest {
    /** HotSpot does not JIT-compile methods above 8000 bytecode bytes (DontCompileHugeMethods). */
    private static final int HUGE_METHOD_LIMIT = 8000;

    private static List<Insn> decodeAll(byte[] code, int max) {
        MemorySegment page = Arena.ofAuto().allocate(Page.SIZE);
        MemorySegment.copy(code, 0, page, ValueLayout.JAVA_BYTE, 0, code.length);
        Decoder d = new Decoder(page, 0x1000);
        List<Insn> out = new ArrayList<>();
        int pc = 0x1000;
        while (out.size() < max) {
            Insn in = d.decode(pc);
            if (in == null) {
                break;
            }
            out.add(in);
            pc = in.next();
        }
        return out;
    }

    @Test
    void longestBlockOfTheHeaviestInstructionsStaysCompilable() {
        StringBuilder asm = new StringBuilder("bits 32\norg 0x1000\n");
        for (int i = 0; i < CodeCache.MAX_BLOCK_INSTRUCTIONS; i++) {
            asm.append(i % 2 == 0 ? "adc dword [ebp + esi*4 + 0x12345], 0x12345678\n" : "inc dword [eax + ebx*8 + 0x1000]\n");
        }
        List<Insn> insns = decodeAll(Nasm.assemble(asm.toString()), CodeCache.MAX_BLOCK_INSTRUCTIONS);
        assertEquals(CodeCache.MAX_BLOCK_INSTRUCTIONS, insns.size());
        BlockCompiler.Fitted fitted = BlockCompiler.fit(insns);
        assertTrue(fitted.instructions() >= CodeCache.MAX_BLOCK_INSTRUCTIONS / 2, "kept " + fitted.instructions());
        ClassModel model = ClassFile.of().parse(fitted.classFile());
        MethodModel execute = model.methods().stream().filter(m -> m.methodName().equalsString("execute")).findFirst()
                .orElseThrow();
        CodeModel code = execute.code().orElseThrow();
        int length = ((CodeAttribute) code).codeLength();
        assertTrue(length < HUGE_METHOD_LIMIT, "execute is " + length + " bytes");
        assertTrue(length <= fitted.methodBytes(), "methodBytes bounds the method's length");
    }

    /**
     * The entry code is emitted after the body and reads only the guest state the body reads (C1 keeps every
     * load, used or not): here two registers and none of EFLAGS (ADD leaves its flags in the lazy record).
     */
    @Test
    void theEntryReadsOnlyTheRegistersAndFlagsTheBlockReads() {
        List<Insn> insns = decodeAll(Nasm.assemble("bits 32\norg 0x1000\nadd ecx, edx\njmp 0x2000\n"), 2);
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(BlockCompiler.TlbPath.FLAT);
        try {
            CodeModel code = executeCode(BlockCompiler.fit(insns).classFile());
            List<String> calls = new ArrayList<>();
            List<String> fields = new ArrayList<>();
            for (var e : code) {
                if (e instanceof java.lang.classfile.instruction.InvokeInstruction i) {
                    calls.add(i.name().stringValue());
                } else if (e instanceof java.lang.classfile.instruction.FieldInstruction f
                        && f.opcode() == java.lang.classfile.Opcode.GETFIELD) {
                    fields.add(f.name().stringValue());
                }
            }
            assertEquals(2, calls.stream().filter("getInt"::equals).count(), "register loads: " + calls);
            assertTrue(!fields.contains("flags") && !fields.contains("lazyAux"), "fields read: " + fields);
        } finally {
            BlockCompiler.useTlbPath(before);
        }
    }

    private static CodeModel executeCode(byte[] classFile) {
        return ClassFile.of().parse(classFile).methods().stream().filter(m -> m.methodName().equalsString("execute"))
                .findFirst().orElseThrow().code().orElseThrow();
    }

    @Test
    void regionOfManyHeavyBlocksKeepsTheMembersThatFitOneCompilableMethod() {
        // 20 blocks of 16 heavy instructions, each ending with a jump to the next (the last back to the first).
        StringBuilder asm = new StringBuilder("bits 32\norg 0x1000\n");
        for (int b = 0; b < 20; b++) {
            asm.append("b").append(b).append(":\n");
            for (int i = 0; i < 16; i++) {
                asm.append(i % 2 == 0 ? "adc dword [ebp + esi*4 + 0x12345], 0x12345678\n" : "inc dword [eax + ebx*8 + 0x1000]\n");
            }
            asm.append("jmp near b").append((b + 1) % 20).append('\n');
        }
        List<Insn> all = decodeAll(Nasm.assemble(asm.toString()), 20 * 17);
        List<BlockCompiler.Member> members = new ArrayList<>();
        for (int b = 0; b < 20; b++) {
            members.add(new BlockCompiler.Member(all.subList(b * 17, b * 17 + 17)));
        }
        // Sizes as with calls to the MMU (an inline TLB path makes each access several times longer).
        BlockCompiler.TlbPath before = BlockCompiler.useTlbPath(BlockCompiler.TlbPath.CALL);
        BlockCompiler.Fitted fitted;
        try {
            fitted = BlockCompiler.fitRegion(members);
        } finally {
            BlockCompiler.useTlbPath(before);
        }
        assertTrue(fitted.instructions() >= 2 && fitted.instructions() < 20, "members kept: " + fitted.instructions());
        ClassModel model = ClassFile.of().parse(fitted.classFile());
        CodeModel code = model.methods().stream().filter(m -> m.methodName().equalsString("execute")).findFirst()
                .orElseThrow().code().orElseThrow();
        int length = ((CodeAttribute) code).codeLength();
        assertTrue(length <= BlockCompiler.MAX_REGION_BYTES && length < HUGE_METHOD_LIMIT, "execute is " + length + " bytes");
        assertTrue(length > BlockCompiler.MAX_REGION_BYTES / 2, "not needlessly small: " + length + " bytes");
        BlockCompiler.load(fitted.classFile()); // the JVM's verifier accepts the region's method
    }

    @Test
    void fsAndGsOverridesApplyToTheMemoryOperandOnly() {
        List<Insn> insns = decodeAll(Nasm.assemble("bits 32\nmov eax, [gs:0x14]\nadd [fs:ebx + 4], ecx\nfs inc eax\n"), 3);
        assertEquals(3, insns.size());
        assertEquals(5, insns.get(0).seg());
        assertEquals(4, insns.get(1).seg());
        assertEquals(2, insns.get(2).length());
        assertEquals(false, insns.get(2).mem());
    }

    @Test
    void instructionRunningPastThePageEndIsLeftToTheInterpreter() {
        MemorySegment page = Arena.ofAuto().allocate(Page.SIZE);
        page.set(ValueLayout.JAVA_BYTE, Page.SIZE - 3, (byte) 0xb8); // mov eax, imm32 needs 5 bytes
        assertNull(new Decoder(page, 0).decode(Page.SIZE - 3));
        page.set(ValueLayout.JAVA_BYTE, Page.SIZE - 1, (byte) 0x40); // inc eax fits
        assertEquals(1, new Decoder(page, 0).decode(Page.SIZE - 1).length());
    }

    @Test
    void systemInstructionsAndInvalidPrefixesAreNotTranslated() {
        for (String insn : new String[] {"int 0x80", "hlt", "cpuid", "div bl", "mov ds, ax", "lock mov [eax], ebx",
                "lock add eax, ebx", "a16 mov eax, [bx]", "o16 push ax", "o16 ret", "o16 call $", "o16 mul bx",
                "o16 bswap eax", "popf", "o16 movzx ax, bl", "db 0x66, 0x66, 0x66, 0x66, 0x66, 0x90"}) {
            List<Insn> insns = decodeAll(Nasm.assemble("bits 32\n" + insn + "\n"), 1);
            assertTrue(insns.isEmpty(), insn);
        }
    }

    @Test
    void operandSizeSegmentLockAndRepPrefixesAreDecoded() {
        String[] lines = {"mov ax, bx", "mov eax, [es:0]", "rep movsd", "lock add [eax], ebx", "repne scasb",
                "shl dword [eax], 1", "xchg [eax], ebx", "cs mov eax, [ebx]", "o16 add word [ebx], 0x1234"};
        List<Insn> insns = decodeAll(Nasm.assemble("bits 32\n" + String.join("\n", lines) + "\n"), lines.length);
        assertEquals(lines.length, insns.size());
        assertEquals(2, insns.get(0).size());
        assertEquals(0, insns.get(1).seg());
        assertEquals(0xf3, insns.get(2).rep());
        assertTrue(insns.get(3).lock());
        assertEquals(0xf2, insns.get(4).rep());
        assertEquals(1, insns.get(7).seg());
        assertEquals(0x1234, insns.get(8).imm());
        assertEquals(2, insns.get(8).size());
    }
}
