package org.jqemu.target.i386.oracle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Turns a list of cases into a NASM source and a static ELF executable with a hand-made header
 * ({@code nasm -f bin}, no linker, no libc). The program, for each case: copies the case's initial scratch
 * area in place, loads EFLAGS (POPF) and the eight GPRs, runs the case's instructions, stores GPRs, EFLAGS,
 * the scratch area (and FNSAVE for x87 cases) into its output record; at the end it writes all records to
 * stdout and exits 0 — or, if the last case is a faulting one, runs it and dies of the signal.
 *
 * <p>Two flavours from the same cases: {@link Mode#I386} (ELF32, int 0x80) is what jqemu and qemu-i386 run;
 * {@link Mode#X86_64} (ELF64, syscall) wraps the very same case bytes (assembled under {@code BITS 32}) in
 * 64-bit load/store code, so that an x86_64 host that cannot execute i386 programs still runs every
 * mode-neutral case on its own CPU.
 */
public final class ProgramBuilder {
    public enum Mode { I386, X86_64 }

    public static final long BASE = 0x0804_8000L;
    /** The data segment: scratch area, saved ESP, a private stack, then the output records. */
    public static final long DATA = 0x0a00_0000L;
    public static final long SCRATCH = DATA, SAVE_ESP = DATA + 0x40, STACK_TOP = DATA + 0x1000, OUT = DATA + 0x1000;
    /** File offset of the table of (start, end) addresses of each case's instructions. */
    public static final int TABLE_OFFSET = 0x100;

    private ProgramBuilder() { }

    public static String source(List<OracleCase> cases, Mode mode) {
        boolean m64 = mode == Mode.X86_64;
        int records = recordCount(cases);
        StringBuilder s = new StringBuilder(cases.size() * 700);
        s.append(m64 ? "BITS 64\n" : "BITS 32\n").append("org 0x").append(Long.toHexString(BASE)).append('\n');
        s.append(m64 ? elf64Header(records) : elf32Header(records));
        s.append("times ").append(TABLE_OFFSET).append("-($-$$) db 0\ncase_table:\n");
        for (int k = 0; k < cases.size(); k++) {
            s.append("dd c").append(k).append("_s, c").append(k).append("_e\n");
        }
        s.append("start:\n");
        for (int k = 0; k < cases.size(); k++) {
            OracleCase c = cases.get(k);
            load(s, c, k, m64);
            body(s, c, k, m64);
            if (!c.fault()) {
                store(s, c, k, m64);
            }
            if (k == records - 1) {
                writeRecords(s, records, m64);
            }
        }
        if (records == cases.size()) {
            s.append(m64 ? "mov eax, 60\nxor edi, edi\nsyscall\n" : "mov eax, 1\nxor ebx, ebx\nint 0x80\n");
        } else {
            s.append("hlt\n"); // not reached: the faulting case killed the process
        }
        for (int k = 0; k < cases.size(); k++) {
            s.append("init").append(k).append(": db ");
            byte[] b = cases.get(k).scratch();
            for (int i = 0; i < b.length; i++) {
                s.append(i == 0 ? "" : ",").append(b[i] & 0xff);
            }
            s.append('\n');
        }
        s.append("file_end:\n");
        return s.toString();
    }

    /** Cases that write a record: all but a final faulting case. */
    public static int recordCount(List<OracleCase> cases) {
        for (int k = 0; k < cases.size(); k++) {
            if (cases.get(k).fault() && k != cases.size() - 1) {
                throw new IllegalArgumentException("a faulting case must be last");
            }
        }
        return cases.isEmpty() || !cases.getLast().fault() ? cases.size() : cases.size() - 1;
    }

    private static String elf32Header(int records) {
        return "db 0x7f,'ELF',1,1,1,0\ntimes 8 db 0\ndw 2, 3\ndd 1, start, phdr-$$, 0, 0\ndw 52, 32, 2, 40, 0, 0\n"
                + "phdr:\ndd 1, 0, $$, $$, file_end-$$, file_end-$$, 7, 0x1000\n"
                + "dd 1, 0, " + hex(DATA) + ", " + hex(DATA) + ", 0, " + hex(dataSize(records)) + ", 6, 0x1000\n";
    }

    private static String elf64Header(int records) {
        return "db 0x7f,'ELF',2,1,1,0\ntimes 8 db 0\ndw 2, 62\ndd 1\ndq start, phdr-$$, 0\ndd 0\ndw 64, 56, 2, 64, 0, 0\n"
                + "phdr:\ndd 1, 7\ndq 0, $$, $$, file_end-$$, file_end-$$, 0x1000\n"
                + "dd 1, 6\ndq 0, " + hex(DATA) + ", " + hex(DATA) + ", 0, " + hex(dataSize(records)) + ", 0x1000\n";
    }

    private static long dataSize(int records) {
        return OUT - DATA + (long) Math.max(records, 1) * Record.SIZE;
    }

    private static String hex(long v) { return "0x" + Long.toHexString(v); }

    private static void load(StringBuilder s, OracleCase c, int k, boolean m64) {
        s.append("mov esi, init").append(k).append("\nmov edi, ").append(hex(SCRATCH)).append("\nmov ecx, 16\ncld\nrep movsd\n");
        if (c.x87()) {
            s.append("fninit\n");
        }
        s.append("mov esp, ").append(hex(STACK_TOP)).append('\n');
        s.append(m64 ? "push qword " : "push dword ").append(hex(c.eflags() & 0xffff_ffffL)).append(m64 ? "\npopfq\n" : "\npopfd\n");
        for (int r = 0; r < 8; r++) {
            if (r != 4) {
                s.append("mov ").append(Record.REG_NAMES[r]).append(", ").append(hex(c.regs()[r] & 0xffff_ffffL)).append('\n');
            }
        }
        s.append("mov esp, ").append(hex(c.regs()[4] & 0xffff_ffffL)).append('\n');
    }

    private static void body(StringBuilder s, OracleCase c, int k, boolean m64) {
        s.append(m64 ? "BITS 32\n" : "").append('c').append(k).append("_s:\n");
        for (String line : c.body()) {
            s.append(line).append('\n');
        }
        s.append('c').append(k).append("_e:\n").append(m64 ? "BITS 64\n" : "");
    }

    private static void store(StringBuilder s, OracleCase c, int k, boolean m64) {
        long rec = OUT + (long) k * Record.SIZE;
        for (int r = 0; r < 8; r++) {
            if (r != 4) {
                s.append("mov [").append(hex(rec + 4L * r)).append("], ").append(Record.REG_NAMES[r]).append('\n');
            }
        }
        s.append("mov [").append(hex(SAVE_ESP)).append("], esp\nmov esp, ").append(hex(STACK_TOP)).append('\n');
        s.append(m64 ? "pushfq\npop qword [" : "pushfd\npop dword [").append(hex(rec + Record.EFLAGS)).append("]\n");
        s.append("mov eax, [").append(hex(SAVE_ESP)).append("]\nmov [").append(hex(rec + 16)).append("], eax\n");
        s.append("mov esi, ").append(hex(SCRATCH)).append("\nmov edi, ").append(hex(rec + Record.SCRATCH))
                .append("\nmov ecx, 16\ncld\nrep movsd\n");
        if (c.x87()) {
            s.append("fnsave [").append(hex(rec + Record.FPU)).append("]\n");
        }
    }

    private static void writeRecords(StringBuilder s, int records, boolean m64) {
        long length = (long) records * Record.SIZE;
        if (m64) {
            s.append("mov eax, 1\nmov edi, 1\nmov esi, ").append(hex(OUT)).append("\nmov edx, ").append(length).append("\nsyscall\n");
        } else {
            s.append("mov eax, 4\nmov ebx, 1\nmov ecx, ").append(hex(OUT)).append("\nmov edx, ").append(length).append("\nint 0x80\n");
        }
    }

    /** Assembles {@code source} with nasm into {@code output}; throws with nasm's messages on failure. */
    public static void assemble(String source, Path asm, Path output) throws IOException, InterruptedException {
        Files.writeString(asm, source);
        Process p = new ProcessBuilder("nasm", "-f", "bin", "-o", output.toString(), asm.toString())
                .redirectErrorStream(true).start();
        String messages = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("nasm failed on " + asm + ":\n" + messages);
        }
        output.toFile().setExecutable(true);
    }

    /** The instruction bytes of case {@code k}, read back from the assembled file through the case table. */
    public static byte[] caseBytes(byte[] elf, int k) {
        var b = Record.wrap(elf);
        long start = b.getInt(TABLE_OFFSET + 8 * k) & 0xffff_ffffL;
        long end = b.getInt(TABLE_OFFSET + 8 * k + 4) & 0xffff_ffffL;
        return java.util.Arrays.copyOfRange(elf, (int) (start - BASE), (int) (end - BASE));
    }
}
