package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jqemu.accel.tcg.Tcg;
import org.jqemu.accel.tcg.TcgStats;
import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * jqemu-i386 with the dynamic translator (its default engine) on programs that change their own code,
 * and on a guest producing 200,000 distinct blocks in a fixed heap. The oracle is qemu-i386 running the
 * same static programs (gcc -m32 -static); the host kernel here cannot run i386 code natively.
 */
class TranslatorTest {
    @TempDir
    static Path dir;
    private static Path selfmod, manyblocks;

    @BeforeAll
    static void build() throws Exception {
        assumeTrue(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
        selfmod = compile("selfmod");
        manyblocks = compile("manyblocks");
    }

    private static Path compile(String name) throws IOException, InterruptedException {
        return GuestRun.compile(name, dir);
    }

    private static String qemu(Path program, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("qemu-i386", program.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return out + "status " + p.exitValue();
    }

    @Test
    void selfModifyingCodeAndCodeReplacedBySystemCallsMatchQemu() throws Exception {
        String expected = qemu(selfmod);
        assertTrue(expected.contains("read into code: 1400 then 848400"), "the oracle ran the program: " + expected);
        ByteArrayOutputStream messages = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(messages, true);
        GuestProcess.Config config = new GuestProcess.Config(selfmod, List.of(selfmod.toString()), List.of(),
                InitialStack.DEFAULT_SIZE, null, false, false, err, err);
        CapturedOutput out = new CapturedOutput();
        GuestProcess process = new GuestProcess(config, Files.readAllBytes(selfmod), new CapturedOutput(), out, new CapturedOutput());
        try {
            int status = process.run();
            assertEquals(expected, new String(out.toByteArray()) + "status " + status, messages.toString());
            Tcg tcg = process.translator();
            assertNotNull(tcg, "the translator is the default engine");
            TcgStats stats = tcg.stats();
            assertTrue(stats.blocksTranslated() > 50 && stats.invalidations() > 0, stats.toString());
        } finally {
            process.close();
        }
    }

    private record Run(int status, String out, String err) { }

    private static Run main(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, java.util.Map.of(), new PrintStream(out, true), new PrintStream(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    @Test
    void logItemsShowTranslatedBlocksGeneratedBytecodeExecutionAndStatistics() {
        Run r = main("-d", "in_asm,out_asm,exec,jit", manyblocks.toString(), "50", "20");
        assertEquals(0, r.status(), r.err());
        String log = r.err();
        assertTrue(log.contains("IN: \n0x"), "in_asm");
        assertTrue(log.contains("mov\n") && log.contains("ret\n"), "in_asm mnemonics");
        assertTrue(log.contains("OUT: [size=") && log.contains("ireturn"), "out_asm shows the bytecode");
        assertTrue(log.contains("Trace 0: 0x"), "exec");
        assertTrue(log.matches("(?s).*jit: blocks translated [1-9].*chain hits [1-9].*"), "statistics at exit");
    }

    /**
     * {@code -d rate}: samples of the first thread's retired instructions while the guest runs, and one at its end
     * that equals the count the translator's statistics give.
     */
    @Test
    void rateLogSamplesTheGuestsProgressAndEndsAtItsTotal() {
        Run r = main("-d", "rate,jit", manyblocks.toString(), "2000", "1000");
        assertEquals(0, r.status(), r.err());
        java.util.regex.Matcher total = java.util.regex.Pattern.compile("guest instructions (\\d+)").matcher(r.err());
        assertTrue(total.find(), r.err());
        List<long[]> samples = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^rate: (\\d+) (\\d+)$").matcher(r.err());
        while (m.find()) {
            samples.add(new long[] {Long.parseLong(m.group(1)), Long.parseLong(m.group(2))});
        }
        assertTrue(samples.size() >= 3, r.err());
        for (int i = 1; i < samples.size(); i++) {
            assertTrue(samples.get(i)[0] >= samples.get(i - 1)[0] && samples.get(i)[1] >= samples.get(i - 1)[1],
                    "time and count never go back: " + r.err());
        }
        long end = Long.parseLong(total.group(1));
        assertEquals(end, samples.getLast()[1], "the last line is the run's total");
        assertTrue(samples.stream().anyMatch(x -> x[1] > 0 && x[1] < end), "a sample in the middle of the run: " + r.err());
    }

    @Test
    void oneInstructionPerBlockAndTheInterpreterSwitch() {
        Run one = main("-accel", "tcg,one-insn-per-tb=on", "-d", "in_asm", manyblocks.toString(), "50", "20");
        assertEquals(0, one.status(), one.err());
        assertTrue(one.err().contains("IN: "), one.err());
        assertTrue(!one.err().matches("(?s).*IN: \n0x[^\n]*\n0x.*"), "a block with two instructions");
        Run singlestep = main("-singlestep", "-d", "jit", manyblocks.toString(), "50", "20");
        Run interp = main("-accel", "interp", "-d", "jit", manyblocks.toString(), "50", "20");
        assertEquals(one.out(), interp.out());
        assertEquals(one.out(), singlestep.out());
        assertTrue(singlestep.err().contains("jit: blocks translated"), singlestep.err());
        assertTrue(!interp.err().contains("jit:"), "the interpreter translates nothing: " + interp.err());
        Run bad = main("-accel", "tcg,tb-size=0", manyblocks.toString());
        assertEquals(1, bad.status());
        assertEquals("jqemu-i386: Parameter 'tb-size' expects a size in MiB from 1 to 4096\n", bad.err());
        assertEquals("jqemu-i386: Invalid parameter 'speed'\n", main("-accel", "tcg,speed=9", "x").err());
    }

    /**
     * 200,000 generated functions, each translated (hot threshold 0), in a separate JVM limited to a
     * 512 MiB heap and 256 MiB of metaspace: the cache flushes as it fills and dropped blocks unload.
     */
    @Test
    void twoHundredThousandDistinctBlocksRunInAFixedHeap() throws Exception {
        String expected = qemu(manyblocks, "200000", "1");
        assertTrue(expected.startsWith("200000 blocks, 1 calls each: "), expected);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "-Xmx512m", "-XX:MaxMetaspaceSize=256m", "-XX:+UseSerialGC",
                "--enable-native-access=ALL-UNNAMED", "-D" + CpuEngine.HOT_PROPERTY + "=0",
                "-cp", System.getProperty("java.class.path"), Main.class.getName(), "-d", "jit",
                manyblocks.toString(), "200000", "1").redirectErrorStream(false).start();
        String err;
        String out;
        try (InputStream stderr = p.getErrorStream()) {
            out = new String(p.getInputStream().readAllBytes());
            err = new String(stderr.readAllBytes());
        }
        assertTrue(p.waitFor(15, TimeUnit.MINUTES), "finished");
        assertEquals(expected, out + "status " + p.exitValue(), err);
        assertTrue(err.contains("flushes ") && !err.contains("flushes 0,"), "the cache was flushed: " + err);
    }
}
