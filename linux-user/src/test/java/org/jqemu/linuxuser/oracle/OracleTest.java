package org.jqemu.linuxuser.oracle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The host-CPU oracle: tens of thousands of random instruction cases run on this machine's CPU and under
 * jqemu (linux-user + X86Cpu, in this JVM); registers, EFLAGS, memory and x87 state must be equal except
 * for what masks.tsv calls undefined. i386-only encodings fall back to qemu-i386 when the host kernel
 * cannot run i386 programs. {@code -Djqemu.oracle.cases=N} and {@code -Djqemu.oracle.seed=S} for other runs.
 */
class OracleTest {
    static final int CI_CASES = 20000;
    static final int PER_PROGRAM = 1000;

    /** jqemu's default engine, the translator, translating every block at its first visit (hot threshold 0). */
    @Test
    void jqemuMatchesTheHostCpu() throws Exception {
        withProperty("jqemu.tcg.hot", "0", () -> check(Integer.getInteger("jqemu.oracle.cases", CI_CASES), "jqemu"));
    }

    /** The interpreter (-Djqemu.engine=interp), the translator's reference, on a smaller set. */
    @Test
    void interpreterMatchesTheHostCpu() throws Exception {
        withProperty("jqemu.engine", "interp", () -> check(INTERPRETER_CASES, "jqemu-interp"));
    }

    static final int INTERPRETER_CASES = 4000;

    private interface Check { void run() throws Exception; }

    private static void withProperty(String name, String value, Check check) throws Exception {
        String saved = System.setProperty(name, value);
        try {
            check.run();
        } finally {
            if (saved == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, saved);
            }
        }
    }

    private static void check(int cases, String folder) throws Exception {
        assumeTrue(HostSupport.has("nasm"), "needs nasm");
        List<Runner> references = HostSupport.has("qemu-i386") ? List.of(new Runner.Host(), new Runner.Qemu()) : List.of(new Runner.Host());
        OracleHarness.Report report = OracleHarness.run(OracleHarness.seed(), cases,
                PER_PROGRAM, references, new Runner.Jqemu(), Path.of("target", "oracle", folder), EnumSet.allOf(CaseGenerator.Group.class));
        System.out.print(report.text("jqemu"));
        KnownFailures known = new KnownFailures();
        known.fixed(report.failingForms).forEach(f -> System.out.println("oracle: known failure now passes, delete it from known-failures.tsv: " + f));
        assertTrue(report.compared > report.cases / 2, "most cases were compared: " + report.compared + " of " + report.cases);
        assertEquals(List.of(), known.unexpected(report.failingForms), "failing forms not in known-failures.tsv (details above)");
    }
}
