package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tier-1 requests through HotSpot's WhiteBox API (JitControl). With the API (a JVM of its own, started as
 * bin/jqemu-launch starts the emulators), a block run N times is compiled at tier 1 and HotSpot never
 * compiles it at tier 3 (C1 with profiling, what its own policy does first); without it (this JVM: the
 * WhiteBox class is on the test class path, where HotSpot does not bind its natives) the engine runs as before.
 */
class JitControlTest {
    private static final int EXECUTIONS = 40;
    private static final Pattern BLOCK_LINE = Pattern.compile("block (\\p{XDigit}+) (\\d+) (-?\\d+)");
    /** -XX:+PrintCompilation: a line per compilation, the tier before the method's name. */
    private static final Pattern COMPILED_BLOCK = Pattern.compile("\\s(\\d)\\s+org\\.jqemu\\.target\\.i386\\.TcgBlock\\S*::execute");

    @Test
    void withoutTheWhiteBoxApiTheEngineRunsUnderHotSpotsOwnPolicy() {
        assertFalse(JitControl.available());
        assertEquals(-1, JitControl.blockExecutions());
        LockstepTest.Pair p = new LockstepTest.Pair(Tier1Probe.PROGRAM, CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(100_000));
        assertEquals(0, p.tcg.stats().tier1Requests());
    }

    @Test
    void blocksRunNTimesAreCompiledAtTierOneAndNeverProfiledAtTierThree(@TempDir Path work) throws Exception {
        Path compilationLog = work.resolve("compilations.txt");
        String whiteBox = whiteBoxLocation();
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).toAbsolutePath().equals(Path.of(whiteBox).toAbsolutePath()))
                .collect(Collectors.joining(File.pathSeparator));
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xbootclasspath/a:" + whiteBox, "-XX:+UnlockDiagnosticVMOptions", "-XX:+WhiteBoxAPI",
                "-XX:+PrintCompilation", "-Djqemu.tcg.tier1=" + EXECUTIONS,
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-cp", classPath, Tier1Probe.class.getName())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(compilationLog.toFile()).start();
        String out = new String(child.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        String compilations = Files.readString(compilationLog);
        assertEquals(0, child.exitValue(), out + compilations);

        List<int[]> blocks = new ArrayList<>(); // executions, level
        Matcher m = BLOCK_LINE.matcher(out);
        while (m.find()) {
            blocks.add(new int[] {Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3))});
        }
        // The loop's three blocks ran about ITERATIONS times, far past N: at tier 1 (HotSpot alone would have
        // profiled them at tier 3 from its 200th invocation on). The entry and exit blocks ran once: never asked
        // for, never compiled.
        long hot = blocks.stream().filter(b -> b[0] >= EXECUTIONS).count();
        assertEquals(3, blocks.stream().filter(b -> b[0] >= Tier1Probe.ITERATIONS - 1).count(), out);
        assertEquals(3, hot, out);
        for (int[] b : blocks) {
            assertEquals(b[0] >= EXECUTIONS ? JitControl.TIER_SIMPLE : 0, b[1], out);
        }
        assertTrue(blocks.stream().anyMatch(b -> b[0] < EXECUTIONS), out);
        Matcher compiled = COMPILED_BLOCK.matcher(compilations);
        int blockCompilations = 0;
        while (compiled.find()) {
            assertEquals("1", compiled.group(1), "a block compiled at another tier than 1:\n" + compilations);
            blockCompilations++;
        }
        assertEquals(hot, blockCompilations, compilations);
        assertTrue(out.contains("tier-1 requests " + hot), out);
    }

    /** Where the test class path has jdk.test.whitebox.WhiteBox (module jvm-whitebox), found without initializing it. */
    private static String whiteBoxLocation() throws Exception {
        Class<?> wb = Class.forName("jdk.test.whitebox.WhiteBox", false, JitControlTest.class.getClassLoader());
        return Path.of(wb.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
