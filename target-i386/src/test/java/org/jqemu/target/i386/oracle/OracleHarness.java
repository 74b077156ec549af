package org.jqemu.target.i386.oracle;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * Generates cases, packs them into programs, runs each program under a reference (the host CPU first,
 * qemu-i386 for what the host cannot run) and under the subject, and compares the records field by field.
 *
 * <p>System properties: {@code jqemu.oracle.seed} (default {@value #DEFAULT_SEED}), {@code jqemu.oracle.cases}
 * (total cases), {@code jqemu.oracle.perProgram} (cases per program), {@code jqemu.oracle.dir} (work folder).
 */
public final class OracleHarness {
    public static final long DEFAULT_SEED = 0x6a71656d75L; // "jqemu"
    /** Shares of the cases: integer, x87, i386-only encodings (in eighths). */
    private static final int[] EIGHTHS = {6, 1, 1};
    /** Failure details printed: a few per form, so that one broken instruction does not hide the others. */
    private static final int FAILURES_SHOWN_PER_FORM = 2, FAILURES_SHOWN = 200;

    /** The outcome, with everything the report prints. */
    public static final class Report {
        public int cases, compared, failed, programs, faultsCompared, faultsFailed;
        public final Map<String, Integer> byReference = new TreeMap<>();
        public final Map<Masks.Row, int[]> masked = new LinkedHashMap<>(); // row -> {cases, masked parts differed}
        public final Map<String, Integer> failingForms = new TreeMap<>();
        public final List<String> failures = new ArrayList<>();
        public final List<String> skipped = new ArrayList<>();

        public String text(String subject) {
            StringBuilder s = new StringBuilder();
            s.append(String.format("oracle: %d cases in %d programs, %d compared against %s%n", cases, programs, compared, byReference));
            s.append(String.format("oracle: %d passed, %d failed; faulting cases: %d compared, %d failed (%s)%n",
                    compared - failed, failed, faultsCompared, faultsFailed, subject));
            s.append("masked (rows of masks.tsv: cases it applied to / cases where masked parts really differed):\n");
            masked.forEach((row, n) -> s.append(String.format("  %6d / %-6d %-40s %s%n", n[0], n[1], row.form().pattern(), row.items())));
            if (!failingForms.isEmpty()) {
                s.append("failing forms: ").append(failingForms).append('\n');
            }
            failures.forEach(f -> s.append(f).append('\n'));
            skipped.forEach(f -> s.append("skipped: ").append(f).append('\n'));
            return s.toString();
        }
    }

    private OracleHarness() { }

    public static long seed() { return Long.getLong("jqemu.oracle.seed", DEFAULT_SEED); }

    /** Generates {@code total} cases (plus one faulting case per program) and compares {@code subject} with the references. */
    public static Report run(long seed, int total, int perProgram, List<Runner> references, Runner subject, Path dir,
                             java.util.Set<CaseGenerator.Group> groups) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        CaseGenerator generator = new CaseGenerator(seed);
        Masks masks = Masks.load();
        Report report = new Report();
        int program = 0;
        for (CaseGenerator.Group group : CaseGenerator.Group.values()) {
            int count = total * EIGHTHS[group.ordinal()] / 8;
            if (!groups.contains(group)) {
                for (int i = 0; i < count; i++) {
                    generator.next(group); // keep the other groups' cases the same whatever is selected
                }
                continue;
            }
            for (int done = 0; done < count; done += perProgram) {
                List<OracleCase> cases = new ArrayList<>();
                for (int i = 0; i < Math.min(perProgram, count - done); i++) {
                    cases.add(generator.next(group));
                }
                cases.add(generator.fault(group.neutral));
                Runner.Program p = assemble(cases, dir, program++, group.neutral);
                compareProgram(p, references, subject, masks, report);
            }
        }
        return report;
    }

    private static Runner.Program assemble(List<OracleCase> cases, Path dir, int index, boolean neutral)
            throws IOException, InterruptedException {
        Path i386 = dir.resolve("p" + index + "-i386");
        ProgramBuilder.assemble(ProgramBuilder.source(cases, ProgramBuilder.Mode.I386), dir.resolve("p" + index + "-i386.asm"), i386);
        Path x64 = null;
        if (neutral) {
            x64 = dir.resolve("p" + index + "-x86_64");
            ProgramBuilder.assemble(ProgramBuilder.source(cases, ProgramBuilder.Mode.X86_64), dir.resolve("p" + index + "-x86_64.asm"), x64);
        }
        return new Runner.Program(cases, i386, x64);
    }

    private static void compareProgram(Runner.Program p, List<Runner> references, Runner subject, Masks masks, Report report)
            throws IOException, InterruptedException {
        report.programs++;
        report.cases += p.cases().size();
        Runner reference = references.stream().filter(r -> r.canRun(p)).findFirst().orElse(null);
        if (reference == null) {
            report.skipped.add(p.i386() + ": no reference can run it");
            return;
        }
        Runner.Result expected = reference.run(p);
        Runner.Result actual = subject.run(p);
        int records = ProgramBuilder.recordCount(p.cases());
        if (expected.stdout().length != records * Record.SIZE) {
            throw new IOException(reference.name() + " wrote " + expected.stdout().length + " bytes for " + p.i386()
                    + ", want " + records * Record.SIZE + " (status " + expected.status() + ")");
        }
        byte[] elf = Files.readAllBytes(p.i386());
        for (int k = 0; k < records; k++) {
            OracleCase c = p.cases().get(k);
            if ((k + 1) * Record.SIZE > actual.stdout().length && actual.note() != null) {
                stopped(report, p, elf, k, actual.note());
                return;
            }
            report.compared++;
            report.byReference.merge(reference.name(), 1, Integer::sum);
            Masks.Applied applied = masks.forForm(c.form());
            boolean[] maskedDiffer = new boolean[1];
            List<String> diffs = (k + 1) * Record.SIZE > actual.stdout().length
                    ? List.of(subject.name() + " wrote no record (status " + actual.status() + ")")
                    : Comparison.differences(c, expected.stdout(), actual.stdout(), k * Record.SIZE, applied, maskedDiffer);
            for (Masks.Row row : applied.rows()) {
                int[] n = report.masked.computeIfAbsent(row, x -> new int[2]);
                n[0]++;
                if (maskedDiffer[0]) {
                    n[1]++;
                }
            }
            if (!diffs.isEmpty()) {
                fail(report, p, elf, k, c, String.join("; ", diffs));
            }
        }
        if (actual.note() != null) {
            stopped(report, p, elf, p.cases().size() - 1, actual.note());
        } else if (p.cases().getLast().fault()) {
            report.faultsCompared++;
            if (expected.status() != actual.status()) {
                report.faultsFailed++;
                fail(report, p, elf, p.cases().size() - 1, p.cases().getLast(),
                        "exit status expected " + expected.status() + " got " + actual.status());
            }
        } else if (expected.status() != actual.status()) {
            fail(report, p, elf, records - 1, p.cases().get(records - 1), "exit status expected " + expected.status() + " got " + actual.status());
        }
    }

    /** The subject gave up (an emulator bug) at case {@code k}: one failure for the program, under the form "(stopped) note". */
    private static void stopped(Report report, Runner.Program p, byte[] elf, int k, String note) {
        OracleCase c = p.cases().get(k);
        OracleCase marker = new OracleCase("(stopped) " + note, c.body(), c.regs(), c.eflags(), c.scratch(), c.neutral(), c.x87(), c.fault(), c.dest());
        fail(report, p, elf, k, marker, "the subject stopped: " + note);
    }

    private static void fail(Report report, Runner.Program p, byte[] elf, int k, OracleCase c, String what) {
        report.failed++;
        int seen = report.failingForms.merge(c.form(), 1, Integer::sum);
        if (seen <= FAILURES_SHOWN_PER_FORM && report.failures.size() < FAILURES_SHOWN) {
            StringBuilder bytes = new StringBuilder();
            for (byte b : ProgramBuilder.caseBytes(elf, k)) {
                bytes.append(String.format("%02x ", b));
            }
            report.failures.add(String.format("FAIL %s case %d [%s] %s| %s%n    %s%n    inputs: %s",
                    p.i386().getFileName(), k, c.form(), bytes, String.join(" ; ", c.body()), what, c.inputs()));
        }
    }

    /** Cases per assembled program in the suites. */
    public static final int PER_PROGRAM = 1000;

    /**
     * The host-CPU oracle suite for one subject (JUnit): {@code -Djqemu.oracle.cases=N} (default {@code cases}) random
     * cases of every group against the host CPU, qemu-i386 for i386-only encodings when the host kernel cannot run
     * them; prints the report and fails on a failing form that known-failures.tsv does not list.
     */
    public static void assertMatchesTheHost(Runner subject, int cases, Path dir) throws IOException, InterruptedException {
        Assumptions.assumeTrue(HostSupport.has("nasm"), "needs nasm");
        List<Runner> references = HostSupport.has("qemu-i386") ? List.of(new Runner.Host(), new Runner.Qemu()) : List.of(new Runner.Host());
        Report report = run(seed(), Integer.getInteger("jqemu.oracle.cases", cases), PER_PROGRAM, references, subject, dir,
                java.util.EnumSet.allOf(CaseGenerator.Group.class));
        System.out.print(report.text(subject.name()));
        KnownFailures known = new KnownFailures();
        known.fixed(report.failingForms).forEach(f -> System.out.println("oracle: known failure now passes, delete it from known-failures.tsv: " + f));
        Assertions.assertTrue(report.compared > report.cases / 2, "most cases were compared: " + report.compared + " of " + report.cases);
        Assertions.assertEquals(List.of(), known.unexpected(report.failingForms), "failing forms not in known-failures.tsv (details above)");
    }

    /** Manual runs: {@code java ... OracleHarness [qemu|jqemu]} with the system properties above. */
    public static void main(String[] args) throws Exception {
        Runner subject = args.length > 0 && args[0].equals("qemu") ? new Runner.Qemu() : new Runner.Cpu();
        List<Runner> references = subject instanceof Runner.Qemu ? List.of(new Runner.Host()) : List.of(new Runner.Host(), new Runner.Qemu());
        Report r = run(seed(), Integer.getInteger("jqemu.oracle.cases", 20000), Integer.getInteger("jqemu.oracle.perProgram", 1000),
                references, subject, Path.of(System.getProperty("jqemu.oracle.dir", "target/oracle")),
                java.util.EnumSet.allOf(CaseGenerator.Group.class));
        System.out.print(r.text(subject.name()));
    }
}
