package org.jqemu.linuxuser.corpus;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * QEMU's tests/tcg multiarch programs about processes, threads and signals (from Debian's qemu source
 * package as tools/fetch-qemu-tests caches it; built here with gcc -m32 -static -pthread, never committed),
 * run under jqemu-i386 and compared with qemu-i386. Where the two runs cannot be identical because the
 * program's output depends on thread timing, the comparison says exactly what it normalises.
 */
class QemuTcgProgramsTest {
    @TempDir
    static Path dir;
    private static Path multiarch;
    private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "LC_ALL", "C");

    @BeforeAll
    static void locate() throws IOException {
        String tcg = GuestRuns.tool("fetch-qemu-tests"); // QEMU's tests/tcg, fetched into its cache on first use
        GuestRuns.require(tcg != null, "no QEMU test sources (tools/fetch-qemu-tests failed)");
        multiarch = Path.of(tcg).resolve("multiarch");
        GuestRuns.require(Files.isDirectory(multiarch), "no tests/tcg/multiarch in " + tcg);
        GuestRuns.require(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
    }

    private static Path build(String source, String name, boolean i386) throws IOException, InterruptedException {
        Path out = dir.resolve(name);
        if (Files.exists(out)) {
            return out;
        }
        return GuestRuns.compile(multiarch.resolve(source), out, i386);
    }

    private static GuestRuns.Outcome qemu(Path program) throws IOException, InterruptedException {
        return GuestRuns.plain(List.of("qemu-i386", program.toString()), dir, ENV, 120);
    }

    private static GuestRuns.Outcome jqemu(Path program) throws IOException, InterruptedException {
        return GuestRuns.jqemu(List.of(program.toString()), dir, ENV, 120);
    }

    /**
     * Programs whose output does not depend on timing or layout, compared as they are. sha1 hashes a fixed
     * text; sha512 runs the FIPS 180 test vectors (with a million-'a' message), reported in TAP; threadcount
     * starts and joins 10 threads; linux-test covers files, pipes and select, fork and waitpid, time, sockets,
     * clone threads, setitimer/SIGALRM, SIGSEGV caught by a handler that longjmps, System V shared memory.
     */
    @ParameterizedTest
    @ValueSource(strings = {"sha1.c", "sha512.c", "threadcount.c", "linux/linux-test.c"})
    void sameAsQemu(String source) throws Exception {
        Path p = build(source, Path.of(source).getFileName().toString().replace(".c", ""), true);
        GuestRuns.assertSame(qemu(p), jqemu(p));
    }

    /**
     * test-mmap: anonymous and file mappings, fixed and not, at and past end of file, invalid ones. Each line
     * names the address the kernel chose for a fixed mapping's probe; that is each emulator's own layout
     * (qemu-i386 allocates downwards from its guest base, jqemu upwards from 0x40000000), so those addresses
     * become ADDR, except the deliberately invalid 0xffffffff, which is compared as is.
     */
    @Test
    void testMmap() throws Exception {
        Path p = build("test-mmap.c", "test-mmap", true);
        GuestRuns.Outcome q = qemu(p);
        assertEquals(9, q.stdout().split("\n").length, "qemu-i386 ran every check: " + q.stdout());
        GuestRuns.assertSame(q, jqemu(p), QemuTcgProgramsTest::layoutFree, "stdout, chosen addresses normalised");
    }

    private static String layoutFree(String text) {
        return text.replaceAll("addr=0x(?!ffffffff\\b)[0-9a-f]+", "addr=ADDR");
    }

    /** Two threads print while sleeping different times: the interleaving is timing, so lines are compared sorted. */
    @Test
    void testthread() throws Exception {
        Path p = build("testthread.c", "testthread", true);
        GuestRuns.assertSame(qemu(p), jqemu(p), QemuTcgProgramsTest::sorted, "stdout lines (sorted)");
    }

    /**
     * signals: a POSIX timer floods SIGRTMIN at 10 threads. qemu-i386 7.2 cannot be the oracle here: it aborts
     * with "Fatal glibc error: rseq registration failed" when the timer signal interrupts a new thread's rseq
     * (with or without GLIBC_TUNABLES=glibc.pthread.rseq=0), so the oracle is the same source built for x86_64
     * and run natively. How many signals each thread saw is timing: those counts become N, lines are sorted.
     */
    @Test
    void signals() throws Exception {
        Path native64 = build("signals.c", "signals64", false);
        Path i386 = build("signals.c", "signals", true);
        GuestRuns.assertSame(GuestRuns.plain(List.of(native64.toString()), dir, ENV, 120), jqemu(i386),
                QemuTcgProgramsTest::timingFree, "stdout, counts normalised");
    }

    private static String sorted(String text) {
        String[] lines = text.split("\n");
        Arrays.sort(lines);
        return String.join("\n", lines);
    }

    private static String timingFree(String text) {
        return sorted(text.replaceAll("saw \\d+ alarms from \\d+", "saw N alarms from N"));
    }
}
