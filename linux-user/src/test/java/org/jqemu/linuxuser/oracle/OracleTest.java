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

    @Test
    void jqemuMatchesTheHostCpu() throws Exception {
        assumeTrue(HostSupport.has("nasm"), "needs nasm");
        List<Runner> references = HostSupport.has("qemu-i386") ? List.of(new Runner.Host(), new Runner.Qemu()) : List.of(new Runner.Host());
        OracleHarness.Report report = OracleHarness.run(OracleHarness.seed(), Integer.getInteger("jqemu.oracle.cases", CI_CASES),
                PER_PROGRAM, references, new Runner.Jqemu(), Path.of("target", "oracle", "jqemu"), EnumSet.allOf(CaseGenerator.Group.class));
        System.out.print(report.text("jqemu"));
        KnownFailures known = new KnownFailures();
        known.fixed(report.failingForms).forEach(f -> System.out.println("oracle: known failure now passes, delete it from known-failures.tsv: " + f));
        assertTrue(report.compared > report.cases / 2, "most cases were compared: " + report.compared + " of " + report.cases);
        assertEquals(List.of(), known.unexpected(report.failingForms), "failing forms not in known-failures.tsv (details above)");
    }
}
