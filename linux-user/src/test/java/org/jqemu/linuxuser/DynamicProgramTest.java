package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Debian's dynamically linked i386 programs (from the sysroot of tools/fetch-sysroot: ld-linux.so.2, libc,
 * coreutils, gzip, bzip2, xz) under {@code jqemu-i386 -L sysroot} against {@code qemu-i386 -L sysroot}, the
 * oracle (this machine's kernel cannot run i386 programs): stdout, stderr and status must be identical.
 * The inputs are small: jqemu interprets every instruction. In the arguments below, @sp stands for a space.
 */
class DynamicProgramTest {
    private static final List<String> ENV = List.of("LC_ALL=C", "TZ=UTC", "HOME=/nonexistent", "PATH=/usr/bin:/bin");
    @TempDir
    static Path dir;
    private static String sysroot;
    private static Path text, numbers, tree;

    @BeforeAll
    static void fetchSysroot() throws IOException, InterruptedException {
        assumeTrue(HostSupport.has("qemu-i386"), "needs qemu-user (qemu-i386), the oracle");
        Path script = Path.of(System.getProperty("user.dir")).getParent().resolve("tools/fetch-sysroot");
        String reason = null;
        if (!Files.isExecutable(script)) {
            reason = "tools/fetch-sysroot not found at " + script;
        } else {
            Process p = new ProcessBuilder(script.toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (p.waitFor() != 0 || out.isEmpty()) {
                reason = "tools/fetch-sysroot failed (needs apt and the i386 architecture; root on first use)";
            } else {
                sysroot = out;
            }
        }
        if (reason != null && "true".equals(System.getenv("CI"))) {
            fail(reason);
        }
        assumeTrue(reason == null, reason);
        text = dir.resolve("poem.txt");
        Files.writeString(text, "The quick brown fox\njumps over\nthe lazy dog.\nPack my box\nwith five dozen\nliquor jugs.\n"
                .repeat(20));
        numbers = dir.resolve("numbers.txt");
        Files.writeString(numbers, "10\n9\n-3\n100\n7.5\n0\n42\n");
        tree = dir.resolve("tree");
        Files.createDirectories(tree.resolve("sub"));
        Files.writeString(tree.resolve("a.txt"), "alpha\n");
        Files.writeString(tree.resolve("b.bin"), "b".repeat(5000));
        Files.createSymbolicLink(tree.resolve("link"), Path.of("a.txt"));
        for (Path p : List.of(tree.resolve("a.txt"), tree.resolve("b.bin"), tree.resolve("sub"), tree)) {
            Files.setLastModifiedTime(p, FileTime.fromMillis(1_600_000_000_000L));
        }
        for (String tool : List.of("gzip", "bzip2", "xz")) {
            // The compressed inputs are made by the oracle, so decompression is compared on the tools' own format.
            GuestRun.Outcome made = GuestRun.qemu(sysroot, List.of(program(tool), "-c", text.toString()), ENV, null);
            assertEquals(0, made.status(), tool + " under qemu-i386: " + made.stderr());
            Files.write(dir.resolve("poem." + tool), made.stdout().getBytes(StandardCharsets.ISO_8859_1));
        }
    }

    /** The program's path inside the sysroot (coreutils are split between /bin and /usr/bin). */
    private static String program(String name) {
        for (String d : List.of("/bin/", "/usr/bin/")) {
            if (Files.isExecutable(Path.of(sysroot + d + name))) {
                return sysroot + d + name;
            }
        }
        throw new IllegalStateException(name + " is not in the sysroot");
    }

    static Stream<Arguments> commands() {
        return Stream.of(
                Arguments.of("ls", "-l @tree"),
                Arguments.of("ls", "-la --full-time @tree/sub"),
                Arguments.of("ls", "-R @tree"),
                Arguments.of("ls", "/"),
                Arguments.of("ls", "@tree/missing"),
                Arguments.of("cat", "@text @numbers"),
                Arguments.of("cat", "-n @numbers"),
                Arguments.of("sort", "@text"),
                Arguments.of("sort", "-n -r @numbers"),
                Arguments.of("sort", "-u -f @text"),
                Arguments.of("wc", "@text @numbers"),
                Arguments.of("md5sum", "@text @numbers"),
                Arguments.of("sha256sum", "@text"),
                Arguments.of("date", "-u -d @1234567890"),
                Arguments.of("date", "-d 2024-02-29T12:34:56 +%A%n%j%n%s"),
                Arguments.of("env", ""),
                Arguments.of("stat", "-c %F@sp%N /proc/self/exe /proc/self/maps"),
                Arguments.of("cat", "/proc/self/cmdline"),
                Arguments.of("realpath", "/proc/self/exe"),
                Arguments.of("readlink", "-f /proc/self/exe"),
                Arguments.of("seq", "1 3 20"),
                Arguments.of("seq", "-w -s , 8 12"),
                Arguments.of("gzip", "-c -9 @text"),
                Arguments.of("gzip", "-d -c @dir/poem.gzip"),
                Arguments.of("bzip2", "-c @text"),
                Arguments.of("bzip2", "-d -c @dir/poem.bzip2"),
                Arguments.of("xz", "-c @text"),
                Arguments.of("xz", "-d -c @dir/poem.xz"),
                Arguments.of("xz", "-l @dir/poem.xz"));
    }

    private static List<String> argv(String tool, String args) {
        List<String> argv = new ArrayList<>(List.of(program(tool)));
        for (String a : args.split(" ")) {
            if (!a.isEmpty()) {
                argv.add(a.replace("@sp", " ").replace("@tree", tree.toString()).replace("@text", text.toString())
                        .replace("@numbers", numbers.toString()).replace("@dir", dir.toString()));
            }
        }
        return argv;
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("commands")
    void sameAsQemu(String tool, String args) throws Exception {
        List<String> argv = argv(tool, args);
        GuestRun.Outcome expected = GuestRun.qemu(sysroot, argv, ENV, null);
        assertEquals(expected, GuestRun.jqemu(sysroot, argv, ENV, null));
    }

    @Test
    void compressorsReadStdin() throws Exception {
        for (String tool : List.of("gzip", "bzip2", "xz")) {
            List<String> argv = List.of(program(tool), "-c");
            GuestRun.Outcome expected = GuestRun.qemu(sysroot, argv, ENV, text);
            assertTrue(expected.stdout().length() > 10, tool + " under the oracle compressed something");
            assertEquals(expected, GuestRun.jqemu(sysroot, argv, ENV, text), tool);
        }
    }

    /** jqemu's guest stdin is some other host descriptor than 0 here: /dev/stdin must still name it. */
    @Test
    void devStdinAndProcSelfFdNameTheGuestsDescriptors() throws Exception {
        for (String path : List.of("/dev/stdin", "/proc/self/fd/0", "/dev/fd/0")) {
            List<String> argv = List.of(program("cat"), path);
            GuestRun.Outcome expected = GuestRun.qemu(sysroot, argv, ENV, numbers);
            assertEquals(Files.readString(numbers), expected.stdout(), "the oracle read the file");
            assertEquals(expected, GuestRun.jqemu(sysroot, argv, ENV, numbers), path);
        }
    }

    /**
     * The interpreter run as the program (what ldd does): an ET_DYN without PT_INTERP that then loads the real
     * program itself. Load addresses differ between the two emulators' layouts and are masked.
     */
    @Test
    void interpreterRunsAsAProgram() throws Exception {
        String ld = sysroot + "/lib/ld-linux.so.2";
        for (List<String> argv : List.of(List.of(ld, "--list", program("ls")), List.of(ld, program("seq"), "3"))) {
            GuestRun.Outcome expected = GuestRun.qemu(sysroot, argv, ENV, null);
            GuestRun.Outcome actual = GuestRun.jqemu(sysroot, argv, ENV, null);
            assertTrue(expected.stdout().contains(argv.size() == 3 && argv.get(1).equals("--list") ? "libc.so.6" : "3"), expected.stdout());
            assertEquals(expected.stdout().replaceAll("\\(0x[0-9a-f]+\\)", "(ADDRESS)"),
                    actual.stdout().replaceAll("\\(0x[0-9a-f]+\\)", "(ADDRESS)"));
            assertEquals(expected.status(), actual.status());
        }
    }

    @Test
    void catReadsItsOwnMapsThroughTheSysroot() throws Exception {
        GuestRun.Outcome run = GuestRun.jqemu(sysroot, List.of(program("cat"), "/proc/self/maps"), ENV, null);
        assertEquals(0, run.status(), run.stderr());
        String maps = run.stdout();
        assertTrue(maps.lines().anyMatch(l -> l.contains("r-xp") && l.endsWith(sysroot + "/bin/cat")), maps);
        assertTrue(maps.lines().anyMatch(l -> l.contains("r-xp") && l.endsWith(sysroot + "/lib/ld-linux.so.2")), maps);
        assertTrue(maps.lines().anyMatch(l -> l.contains("r-xp") && l.endsWith(sysroot + "/lib/i386-linux-gnu/libc.so.6")), maps);
        assertTrue(maps.lines().anyMatch(l -> l.startsWith("bf800000-c0000000 rw-p") && l.endsWith("[stack]")), maps);
    }
}
