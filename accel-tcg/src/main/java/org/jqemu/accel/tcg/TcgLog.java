package org.jqemu.accel.tcg;

import java.io.PrintStream;
import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeElement;
import java.lang.classfile.Instruction;
import java.lang.classfile.MethodModel;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * QEMU's {@code -d} items for the translator: {@code in_asm} (the guest instructions of each block as
 * translated), {@code out_asm} (the JVM bytecode generated for it: the {@code execute} method, one
 * instruction a line with its offset) and {@code exec} (a line before each block runs). The guest side is
 * shown as addresses, bytes and a mnemonic (no operands: jqemu has no disassembler).
 */
public final class TcgLog {
    private final PrintStream out;
    private final boolean inAsm, outAsm, exec;

    public TcgLog(PrintStream out, Set<String> items) {
        this.out = out;
        this.inAsm = items.contains("in_asm");
        this.outAsm = items.contains("out_asm");
        this.exec = items.contains("exec");
    }

    /** Whether any of {@code items} is one this log prints. */
    public static boolean wanted(Set<String> items) {
        return items.contains("in_asm") || items.contains("out_asm") || items.contains("exec");
    }

    void translated(List<Insn> insns, byte[] classFile) {
        if (inAsm) {
            StringBuilder s = new StringBuilder("----------------\nIN: \n");
            for (Insn in : insns) {
                s.append(String.format("0x%08x:  %s%n", in.eip(), Mnemonics.of(in)));
            }
            out.print(s.append('\n'));
        }
        if (outAsm) {
            out.print(bytecode(classFile));
        }
    }

    void executing(Block b) {
        if (exec) {
            out.printf("Trace 0: 0x%08x [00000000/%08x/0x%x] %n", System.identityHashCode(b.code), b.eip, b.instructions);
        }
    }

    /** An instruction's operands from its description ("Load[OP=ILOAD, slot=3]" gives "slot=3"). */
    private static String operands(Instruction i) {
        String text = i.toString();
        int open = text.indexOf('[');
        if (open < 0 || !text.endsWith("]")) {
            return "";
        }
        return text.substring(open + 1, text.length() - 1).replaceFirst("(?i)op=[a-z_0-9]+(, )?", "");
    }

    /** The generated {@code execute} method, one bytecode instruction a line. */
    static String bytecode(byte[] classFile) {
        StringBuilder s = new StringBuilder();
        MethodModel execute = ClassFile.of().parse(classFile).methods().stream()
                .filter(m -> m.methodName().equalsString("execute")).findFirst().orElseThrow();
        List<CodeElement> elements = execute.code().orElseThrow().elementList();
        int offset = 0;
        for (CodeElement e : elements) {
            if (e instanceof Instruction i) {
                s.append(String.format("  %5d: %-15s %s%n", offset, i.opcode().name().toLowerCase(Locale.ROOT), operands(i)));
                offset += i.sizeInBytes();
            }
        }
        return "OUT: [size=" + offset + "]\n" + s + "\n";
    }
}
