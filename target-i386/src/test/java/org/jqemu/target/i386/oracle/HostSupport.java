package org.jqemu.target.i386.oracle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the machine running the tests offers: nasm, qemu-i386, and whether its kernel runs i386 programs. */
public final class HostSupport {
    private static Boolean i386;

    private HostSupport() { }

    public static boolean has(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Runs a 3-case i386 program: hosts without IA32 emulation (or in a sandbox without compat mode) refuse it. */
    public static synchronized boolean runsI386() {
        if (i386 == null) {
            i386 = probe();
        }
        return i386;
    }

    private static boolean probe() {
        if (System.getProperty("jqemu.oracle.noI386") != null || !has("nasm")) {
            return false;
        }
        try {
            Path dir = Files.createTempDirectory("jqemu-probe");
            CaseGenerator g = new CaseGenerator(1);
            List<OracleCase> cases = List.of(g.next(CaseGenerator.Group.INTEGER), g.next(CaseGenerator.Group.INTEGER), g.next(CaseGenerator.Group.INTEGER));
            Path elf = dir.resolve("probe");
            ProgramBuilder.assemble(ProgramBuilder.source(cases, ProgramBuilder.Mode.I386), dir.resolve("probe.asm"), elf);
            Runner.Result r = Runner.exec(List.of(elf.toString()));
            return r.status() == 0 && r.stdout().length == 3 * Record.SIZE;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
