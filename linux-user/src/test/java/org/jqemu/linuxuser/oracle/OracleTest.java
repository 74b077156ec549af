package org.jqemu.linuxuser.oracle;

import java.nio.file.Path;

import org.jqemu.target.i386.oracle.OracleHarness;
import org.junit.jupiter.api.Test;

/**
 * The host-CPU oracle (target-i386's shared harness, see its CpuOracleTest) with jqemu-i386 as a whole as the
 * subject: the same random-case programs, loaded by the ELF loader and run by the process model, whose signals
 * end the faulting case. Fewer cases than the CPU's own run, since the instructions are the same.
 * {@code -Djqemu.oracle.cases=N} and {@code -Djqemu.oracle.seed=S} for other runs.
 */
class OracleTest {
    static final int CI_CASES = 5000;

    /** jqemu's default engine, the translator, translating every block at its first visit (hot threshold 0). */
    @Test
    void jqemuI386MatchesTheHostCpu() throws Exception {
        // the interpreter, the translator's reference, has its own 20,000-case run in target-i386's CpuOracleTest
        String saved = System.setProperty("jqemu.tcg.hot", "0");
        try {
            OracleHarness.assertMatchesTheHost(new JqemuRunner(), CI_CASES, Path.of("target", "oracle", "jqemu-i386"));
        } finally {
            if (saved == null) {
                System.clearProperty("jqemu.tcg.hot");
            } else {
                System.setProperty("jqemu.tcg.hot", saved);
            }
        }
    }
}
