package org.jqemu.target.i386.oracle;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;

/**
 * The host-CPU oracle: tens of thousands of random instruction cases (CaseGenerator: integer, x87, i386-only
 * encodings and a faulting case per program) assembled into static ELF programs, run on this machine's CPU (the
 * x86_64 twin when its kernel cannot run i386 programs, else qemu-i386) and on X86Cpu in this JVM (Runner.Cpu);
 * registers, EFLAGS, the scratch memory and the x87 state must be equal except what masks.tsv calls undefined.
 * linux-user runs the same harness through its whole process model. {@code -Djqemu.oracle.cases=N},
 * {@code -Djqemu.oracle.seed=S} for other runs.
 */
class CpuOracleTest {
    static final int CI_CASES = 20000;

    @Test
    void x86CpuMatchesTheHostCpu() throws Exception {
        OracleHarness.assertMatchesTheHost(new Runner.Cpu(), CI_CASES, Path.of("target", "oracle", "cpu"));
    }
}
