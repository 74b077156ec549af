package org.jqemu.linuxuser.corpus;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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
        Path cache = Path.of(System.getenv().getOrDefault("XDG_CACHE_HOME", System.getProperty("user.home") + "/.cache"),
                "jqemu", "qemu-src");
        assumeTrue(Files.isDirectory(cache), "no QEMU test sources (run tools/fetch-qemu-tests)");
        try (Stream<Path> s = Files.list(cache)) {
            multiarch = s.map(p -> p.resolve("tests/tcg/multiarch")).filter(Files::isDirectory)
                    .max(Comparator.naturalOrder()).orElse(null);
        }
        assumeTrue(multiarch != null, "no tests/tcg/multiarch in " + cache);
        assumeTrue(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
    }

    private static Path build(String source, String name, boolean i386) throws IOException, InterruptedException {
        Path out = dir.resolve(name);
        if (Files.exists(out)) {
            return out;
        }
        List<String> cmd = new ArrayList<>(List.of("gcc", "-O2", "-pthread", "-o", out.toString(), multiarch.resolve(source).toString()));
        if (i386) {
            cmd.addAll(1, List.of("-m32", "-static"));
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String messages = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), "gcc " + source + ": " + messages);
        return out;
    }

    private static GuestRuns.Outcome qemu(Path program) throws IOException, InterruptedException {
        return GuestRuns.plain(List.of("qemu-i386", program.toString()), dir, ENV, 120);
    }

    private static GuestRuns.Outcome jqemu(Path program) throws IOException, InterruptedException {
        return GuestRuns.jqemu(List.of(program.toString()), dir, ENV, 120);
    }

    private static void assertSame(GuestRuns.Outcome expected, GuestRuns.Outcome actual) {
        assertAll(() -> assertEquals(expected.stdout(), actual.stdout(), "stdout"),
                () -> assertEquals(expected.stderr(), actual.stderr(), "stderr"),
                () -> assertEquals(expected.status(), actual.status(), "exit status"));
    }

    /** sha1: hashes a fixed text; one line. */
    @Test
    void sha1() throws Exception {
        Path p = build("sha1.c", "sha1", true);
        assertSame(qemu(p), jqemu(p));
    }

    /** sha512: the FIPS 180 test vectors (with a million-'a' message), reported in TAP. */
    @Test
    void sha512() throws Exception {
        Path p = build("sha512.c", "sha512", true);
        assertSame(qemu(p), jqemu(p));
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
        GuestRuns.Outcome q = qemu(p), j = jqemu(p);
        assertEquals(layoutFree(q.stdout()), layoutFree(j.stdout()), "stdout, chosen addresses normalised");
        assertEquals(q.stderr(), j.stderr(), "stderr");
        assertEquals(q.status(), j.status(), "exit status");
        assertEquals(9, q.stdout().split("\n").length, "qemu-i386 ran every check: " + q.stdout());
    }

    private static String layoutFree(String text) {
        return text.replaceAll("addr=0x(?!ffffffff\\b)[0-9a-f]+", "addr=ADDR");
    }

    @Test
    void threadcount() throws Exception {
        Path p = build("threadcount.c", "threadcount", true);
        assertSame(qemu(p), jqemu(p));
    }

    /** Two threads print while sleeping different times: the interleaving is timing, so lines are compared sorted. */
    @Test
    void testthread() throws Exception {
        Path p = build("testthread.c", "testthread", true);
        GuestRuns.Outcome q = qemu(p), j = jqemu(p);
        assertEquals(sorted(q.stdout()), sorted(j.stdout()), "stdout lines (sorted)");
        assertEquals(q.stderr(), j.stderr(), "stderr");
        assertEquals(q.status(), j.status(), "exit status");
    }

    /**
     * linux-test: files, pipes and select, fork and waitpid, time, sockets, clone threads, setitimer/SIGALRM,
     * SIGSEGV caught by a handler that longjmps, System V shared memory (shmget, shmat, IPC_RMID, shmdt).
     */
    @Test
    void linuxTest() throws Exception {
        Path p = build("linux/linux-test.c", "linux-test", true);
        assertSame(qemu(p), jqemu(p));
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
        GuestRuns.Outcome n = GuestRuns.plain(List.of(native64.toString()), dir, ENV, 120);
        GuestRuns.Outcome j = jqemu(i386);
        assertEquals(timingFree(n.stdout()), timingFree(j.stdout()), "stdout, counts normalised");
        assertEquals(n.stderr(), j.stderr(), "stderr");
        assertEquals(n.status(), j.status(), "exit status");
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
