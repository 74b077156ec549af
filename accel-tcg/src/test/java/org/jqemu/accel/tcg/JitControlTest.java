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
        String out = runProbe(Tier1Probe.class, compilationLog, "-XX:+PrintCompilation", "-Djqemu.tcg.tier1=" + EXECUTIONS);
        String compilations = Files.readString(compilationLog);

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

    /**
     * Blocks and regions compiled in the background are asked for at tier 1 at once and installed only when
     * that code is there: until then the interpreter runs a block's code (a region's members run as blocks),
     * never HotSpot's bytecode interpreter. The probe checks every installed block's and region's level after
     * each install attempt and each step of the program, which runs in lockstep with the interpreter. (No time
     * limit on the wait for C1 but the probe's own minute per stage.)
     */
    @Test
    void blocksTranslatedInTheBackgroundAreInstalledOnlyWithTheirTierOneCode(@TempDir Path work) throws Exception {
        String out = runProbe(AwaitTier1Probe.class, work.resolve("stdout.txt"), "-Djqemu.tcg.tier1Polls=1000000000");
        Matcher installed = Pattern.compile("installed (\\d+) regions (\\d+) levelZero (\\d+)").matcher(out);
        assertTrue(installed.find(), out);
        assertTrue(Integer.parseInt(installed.group(1)) >= 3, "the loop's three blocks, at least: " + out);
        assertTrue(Integer.parseInt(installed.group(2)) >= 1, "the loop's region: " + out);
        assertEquals("0", installed.group(3), "blocks installed while their code ran in the bytecode interpreter: " + out);
        Matcher requests = Pattern.compile("tier-1 requests (\\d+)").matcher(out);
        assertTrue(requests.find() && Integer.parseInt(requests.group(1)) >= 3, out);
    }

    /**
     * User mode's setting (blocks compiled at once, regions alone in the background): a region too is asked for at
     * tier 1 as soon as its class is defined and installed only with that code, so its members keep running as
     * compiled blocks meanwhile. Installed at once, it ran in HotSpot's bytecode interpreter until C1 was done
     * (busybox gzip -9: 10-30 ms for each of its regions of 5-7 KB of bytecode).
     */
    @Test
    void userModeRegionsAreInstalledOnlyWithTheirTierOneCode(@TempDir Path work) throws Exception {
        String out = runProbe(AwaitTier1Probe.class, work.resolve("stdout.txt"), List.of(AwaitTier1Probe.REGIONS_ONLY),
                "-Djqemu.tcg.tier1Polls=1000000000", "-Djqemu.tcg.tier1=" + EXECUTIONS);
        Matcher installed = Pattern.compile("installed (\\d+) regions (\\d+) levelZero (\\d+)").matcher(out);
        assertTrue(installed.find(), out);
        assertTrue(Integer.parseInt(installed.group(2)) >= 1, "the loop's region: " + out);
        assertEquals("0", installed.group(3), "a region installed while its code ran in the bytecode interpreter: " + out);
    }

    /**
     * The hot tier: a region that retired its threshold of instructions is queued for C2, and its copy replaces
     * the C1 code only once C2 compiled it (never HotSpot's bytecode interpreter, never tier 3). C2 compiled a
     * method that had not run, without a profile: the last round leaves the loop by a branch no earlier round
     * took, and the code is still C2's (a trap on a "never taken" branch would have thrown it away). The probe
     * runs in lockstep with the interpreter.
     */
    @Test
    void aHotRegionRunsItsC2CopyOnlyOnceC2CompiledItAndKeepsIt(@TempDir Path work) throws Exception {
        Path compilationLog = work.resolve("compilations.txt");
        String out = runProbe(HotTierProbe.class, compilationLog, "-XX:+PrintCompilation");
        Matcher m = Pattern.compile("hot (\\d+) early (\\d+) level (-?\\d+)").matcher(out);
        assertTrue(m.find(), out);
        assertTrue(Integer.parseInt(m.group(1)) >= 1, "no region runs its C2 copy: " + out);
        assertEquals("0", m.group(2), "a hot-tier copy ran before C2 compiled it: " + out);
        assertEquals(String.valueOf(JitControl.TIER_C2), m.group(3), "the C2 code was thrown away: " + out);
        Matcher compiled = Pattern.compile("\\s(\\d)\\s+org\\.jqemu\\.target\\.i386\\.TcgHot\\S*::execute")
                .matcher(Files.readString(compilationLog));
        while (compiled.find()) {
            assertEquals("4", compiled.group(1), "a hot-tier copy compiled at another tier than C2's");
        }
    }

    /**
     * Open regions with tier-1 requests add their entries only once HotSpot runs the region's code compiled: the
     * engine polls at every {@code ENTRY_POLL}-th execution of the region (one of the heats at which it looks at a
     * block, see Tcg#nextEvent). The probe runs in lockstep with the interpreter.
     */
    @Test
    void anOpenRegionsEntriesAreAddedOnceItsCodeIsCompiled(@TempDir Path work) throws Exception {
        String out = runProbe(OpenEntriesProbe.class, work.resolve("stdout.txt"), "-Djqemu.tcg.tier1=" + EXECUTIONS);
        Matcher m = Pattern.compile("exit (\\d+) entries (\\d+)").matcher(out);
        assertTrue(m.find(), out);
        assertEquals(String.valueOf(org.jqemu.target.i386.X86Cpu.EXIT_INTERRUPT), m.group(1), out);
        assertTrue(Integer.parseInt(m.group(2)) >= 1, "no entry was added: " + out);
    }

    /** Runs {@code probe}'s main in a JVM with the WhiteBox API and {@code options}; returns its stderr (stdout to {@code stdout}). */
    private static String runProbe(Class<?> probe, Path stdout, String... options) throws Exception {
        return runProbe(probe, stdout, List.of(), options);
    }

    /** As {@link #runProbe(Class, Path, String...)}, with arguments {@code args} for the probe's main. */
    private static String runProbe(Class<?> probe, Path stdout, List<String> args, String... options) throws Exception {
        String whiteBox = whiteBoxLocation();
        String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !Path.of(entry).toAbsolutePath().equals(Path.of(whiteBox).toAbsolutePath()))
                .collect(Collectors.joining(File.pathSeparator));
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xbootclasspath/a:" + whiteBox, "-XX:+UnlockDiagnosticVMOptions", "-XX:+WhiteBoxAPI"));
        command.addAll(List.of(options));
        command.addAll(List.of("--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-cp", classPath, probe.getName()));
        command.addAll(args);
        Process child = new ProcessBuilder(command)
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                .redirectOutput(stdout.toFile()).start();
        String out = new String(child.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, child.exitValue(), out + Files.readString(stdout));
        return out;
    }

    /** Where the test class path has jdk.test.whitebox.WhiteBox (module jvm-whitebox), found without initializing it. */
    private static String whiteBoxLocation() throws Exception {
        Class<?> wb = Class.forName("jdk.test.whitebox.WhiteBox", false, JitControlTest.class.getClassLoader());
        return Path.of(wb.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
