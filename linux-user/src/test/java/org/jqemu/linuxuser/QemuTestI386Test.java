package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jqemu.linuxuser.oracle.JqemuRunner;
import org.jqemu.target.i386.oracle.HostSupport;
import org.jqemu.target.i386.oracle.Runner;
import org.junit.jupiter.api.Test;

/**
 * QEMU's own i386 instruction test, tests/tcg/i386/test-i386.c from Debian's qemu source package (fetched by
 * tools/fetch-qemu-tests into a cache outside the repository, never committed), built as a static i386 program
 * with {@code gcc -m32 -O2 -static} and run under jqemu-i386 in this JVM and under the reference: the host CPU
 * when its kernel runs i386 programs, else qemu-i386 (this machine's kernel cannot, see HostSupport). The two
 * outputs must be equal line for line, except the lines test-i386-differences.tsv lists with their reason
 * (architecturally undefined results, and values where QEMU is not what an Intel CPU under Linux gives).
 * Set -Djqemu.test.noQemuSource to skip when the machine cannot get Debian's qemu source.
 */
class QemuTestI386Test {
    private static final Path TOOLS = Path.of("..", "tools");
    private static final Path WORK = Path.of("target", "qemu-test-i386");
    private static final Pattern SECTION = Pattern.compile("[A-Za-z0-9 ]+ exceptions?:");
    private static final Pattern GROUP_REFERENCE = Pattern.compile("\\$(\\d)");

    /** One row of the differences table. */
    record Difference(String section, Pattern reference, String jqemu, String reason) {
        /** Whether this row allows {@code actual} in place of {@code expected} (in {@code section}). */
        boolean allows(String currentSection, String expected, String actual) {
            if (!section.equals("-") && !section.equals(currentSection)) {
                return false;
            }
            Matcher m = reference.matcher(expected);
            if (!m.matches()) {
                return false;
            }
            StringBuilder regex = new StringBuilder();
            Matcher g = GROUP_REFERENCE.matcher(jqemu);
            while (g.find()) {
                g.appendReplacement(regex, Matcher.quoteReplacement(Pattern.quote(m.group(Integer.parseInt(g.group(1))))));
            }
            g.appendTail(regex);
            return Pattern.matches(regex.toString(), actual);
        }
    }

    @Test
    void outputEqualsTheReferenceExceptForDocumentedDifferences() throws Exception {
        assumeTrue(System.getProperty("jqemu.test.noQemuSource") == null, "-Djqemu.test.noQemuSource given");
        assumeTrue(HostSupport.has("gcc"), "needs gcc with gcc-multilib");
        assumeTrue(HostSupport.runsI386() || HostSupport.has("qemu-i386"), "needs an i386 reference: an i386-capable kernel or qemu-user");
        Path program = build(fetchTests().resolve("i386"));

        String referenceName = HostSupport.runsI386() ? "the host CPU" : "qemu-i386";
        Runner.Result reference = Runner.exec(HostSupport.runsI386() ? List.of(program.toString())
                : List.of("qemu-i386", program.toString()));
        Runner.Result jqemu = new JqemuRunner().run(new Runner.Program(List.of(), program, null));
        assertNull(jqemu.note(), "jqemu-i386 stopped: " + jqemu.note());
        assertEquals(reference.status(), jqemu.status(), "exit status");

        List<String> expected = lines(reference.stdout());
        List<String> actual = lines(jqemu.stdout());
        List<Difference> table = differences();
        Map<Difference, Integer> used = new LinkedHashMap<>();
        List<String> failures = new ArrayList<>();
        String section = "";
        int failureCount = 0;
        for (int i = 0; i < Math.max(expected.size(), actual.size()); i++) {
            String e = i < expected.size() ? expected.get(i) : "<no line>";
            String a = i < actual.size() ? actual.get(i) : "<no line>";
            if (SECTION.matcher(e).matches()) {
                section = e;
            }
            if (e.equals(a)) {
                continue;
            }
            Difference allowed = null;
            for (Difference d : table) {
                if (d.allows(section, e, a)) {
                    allowed = d;
                    break;
                }
            }
            if (allowed != null) {
                used.merge(allowed, 1, Integer::sum);
            } else if (++failureCount <= 20) {
                failures.add("line " + (i + 1) + ":\n  " + referenceName + ": " + e + "\n  jqemu-i386: " + a);
            }
        }
        int masked = used.values().stream().mapToInt(Integer::intValue).sum();
        StringBuilder report = new StringBuilder("test-i386 against " + referenceName + ": " + expected.size()
                + " lines, " + (expected.size() - masked - failureCount) + " equal, " + masked
                + " documented differences, " + failureCount + " failures\n");
        used.forEach((d, n) -> report.append("  ").append(n).append(" x ").append(d.reason()).append('\n'));
        System.out.print(report);
        assertTrue(expected.size() > 4000, "the reference printed only " + expected.size() + " lines");
        assertEquals(0, failureCount, report + String.join("\n", failures));
    }

    private static Path fetchTests() throws IOException, InterruptedException {
        Process p = new ProcessBuilder(TOOLS.resolve("fetch-qemu-tests").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertTrue(p.waitFor(600, TimeUnit.SECONDS) && p.exitValue() == 0,
                "tools/fetch-qemu-tests could not get QEMU's tests (see its message above; -Djqemu.test.noQemuSource skips)");
        return Path.of(out);
    }

    /** The command of bench/qemu-test-i386.sh: gcc -m32 -O2 -static with the 16-bit and vm86 helpers. */
    private static Path build(Path tests) throws IOException, InterruptedException {
        Files.createDirectories(WORK);
        Path program = WORK.resolve("test-i386");
        List<String> command = List.of("gcc", "-m32", "-O2", "-static", "-fno-pie", "-no-pie", "-w",
                "-Wl,--no-warn-rwx-segments,-z,noexecstack", "-o", program.toString(),
                tests.resolve("test-i386.c").toString(), tests.resolve("test-i386-code16.S").toString(),
                tests.resolve("test-i386-vm86.S").toString(), "-lm");
        Process gcc = new ProcessBuilder(command).redirectErrorStream(true).start();
        String said = new String(gcc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(gcc.waitFor(300, TimeUnit.SECONDS) && gcc.exitValue() == 0, "gcc failed: " + said);
        return program;
    }

    private static List<String> lines(byte[] out) {
        String text = new String(out, StandardCharsets.ISO_8859_1);
        return text.isEmpty() ? List.of() : List.of(text.split("\n", -1));
    }

    static List<Difference> differences() throws IOException {
        try (InputStream in = QemuTestI386Test.class.getResourceAsStream("qemutests/test-i386-differences.tsv")) {
            List<Difference> rows = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t");
                if (f.length != 4) {
                    throw new IllegalStateException("test-i386-differences.tsv: want 4 tab-separated columns: " + line);
                }
                rows.add(new Difference(f[0], Pattern.compile(f[1]), f[2], f[3]));
            }
            return rows;
        }
    }
}
