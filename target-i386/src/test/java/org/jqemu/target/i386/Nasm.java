package org.jqemu.target.i386;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/** Assembles test programs with nasm ({@code -f bin}); skips the test when nasm is absent (fails under CI). */
public final class Nasm {
    private Nasm() { }

    /**
     * Real mode to flat 32-bit protected mode for test programs: loads {@code gdtr} and {@code idtr} (the
     * program defines both; selector 0x08 must be ring-0 code, 0x10 ring-0 data), sets CR0.PE, loads every
     * data segment with 0x10 and ESP with 0x9000, and goes on at the program's next line, in 32-bit code.
     */
    public static final String PROTECTED_MODE_ENTRY = """
            start:
              cli
              lgdt [gdtr]
              lidt [idtr]
              mov eax, cr0
              or eax, 1
              mov cr0, eax
              jmp 0x08:pm
            bits 32
            pm:
              mov ax, 0x10
              mov ds, ax
              mov es, ax
              mov fs, ax
              mov gs, ax
              mov ss, ax
              mov esp, 0x9000
            """;

    /**
     * The tables {@link #PROTECTED_MODE_ENTRY} loads, for a program that needs no others: a GDT with flat
     * ring-0 code (0x08) and data (0x10), and an empty IDT. Put it after the program's code.
     */
    public static final String FLAT_TABLES = """
            align 8
            gdt:
              dq 0
              dq 0x00cf9a000000ffff      ; 0x08 ring-0 code
              dq 0x00cf92000000ffff      ; 0x10 ring-0 data
            gdt_end:
            gdtr:
              dw gdt_end - gdt - 1
              dd gdt
            idtr:
              dw 0
              dd 0
            """;

    public static byte[] assemble(String source) {
        try {
            Path dir = Files.createTempDirectory("jqemu-nasm");
            try {
                Path src = dir.resolve("t.asm");
                Path out = dir.resolve("t.bin");
                Files.writeString(src, source);
                Process p;
                try {
                    p = new ProcessBuilder("nasm", "-f", "bin", "-o", out.toString(), src.toString())
                            .redirectErrorStream(true).start();
                } catch (IOException e) {
                    if ("true".equals(System.getenv("CI"))) {
                        throw new AssertionError("nasm is required under CI", e);
                    }
                    Assumptions.abort("nasm not installed");
                    return null;
                }
                String log = new String(p.getInputStream().readAllBytes());
                if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                    throw new AssertionError("nasm failed: " + log);
                }
                return Files.readAllBytes(out);
            } finally {
                try (var files = Files.list(dir)) {
                    for (Path f : files.toList()) {
                        Files.delete(f);
                    }
                }
                Files.delete(dir);
            }
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
