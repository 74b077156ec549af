package org.jqemu.linuxuser.corpus;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The busybox corpus: shell scripts (pipes, redirections, subshells, $(...), background jobs, wait, trap,
 * kill, and the file, text and archive applets) run by Debian's busybox-static:i386 under jqemu-i386 and
 * under qemu-i386 (see {@link GuestRuns} for the oracle), each in a fresh directory holding the same
 * fixtures and a bin/ of applet links for the programs busybox runs by PATH (tar runs gzip). Standard output,
 * standard error and exit status must be identical; nothing is masked except QEMU's own name in its
 * fatal-signal line.
 */
class BusyboxCorpusTest {
    private static final String[] SCRIPTS = {"01-pipes.sh", "02-jobs.sh", "03-files.sh", "04-text.sh", "05-archive.sh", "06-misc.sh", "07-plumbing.sh"};
    private static final String[] LINKED_APPLETS = {"sh", "gzip", "gunzip", "bzip2", "bunzip2", "unxz", "tar", "cat", "sort"};
    private static final String[] FIXTURES = {"lines.xz"};
    private static final int TIMEOUT_SECONDS = 60;

    static Stream<String> scripts() { return Stream.of(SCRIPTS); }

    @ParameterizedTest
    @MethodSource("scripts")
    void sameAsQemu(String script, @TempDir Path dir) throws Exception {
        Path busybox = GuestRuns.busybox();
        GuestRuns.require(busybox != null, "no busybox-static:i386 (tools/fetch-guests failed)");
        GuestRuns.require(GuestRuns.oracleAvailable(), "the qemu-i386 oracle needs unshare and binfmt_misc in a user namespace");
        Path scriptFile = dir.resolve(script);
        copyResource(script, scriptFile);
        GuestRuns.Outcome oracle, ours;
        try {
            oracle = runIn(dir.resolve("oracle"), busybox, scriptFile, true);
            ours = runIn(dir.resolve("jqemu"), busybox, scriptFile, false);
        } finally {
            for (String side : new String[] {"oracle", "jqemu"}) {
                for (String applet : LINKED_APPLETS) { // links out of the temp dir: removed here, quietly
                    Files.deleteIfExists(dir.resolve(side).resolve("bin").resolve(applet));
                }
            }
        }
        assertAll(script,
                () -> assertEquals(oracle.stdout(), ours.stdout(), "stdout"),
                () -> assertEquals(oracle.stderr(), ours.stderr(), "stderr"),
                () -> assertEquals(oracle.status(), ours.status(), "exit status"));
    }

    private static GuestRuns.Outcome runIn(Path work, Path busybox, Path script, boolean oracle)
            throws IOException, InterruptedException {
        Files.createDirectories(work.resolve("bin"));
        for (String applet : LINKED_APPLETS) {
            Files.createSymbolicLink(work.resolve("bin").resolve(applet), busybox);
        }
        for (String fixture : FIXTURES) {
            copyResource(fixture, work.resolve(fixture));
        }
        Map<String, String> env = Map.of("PATH", work.resolve("bin").toString(), "HOME", work.toString(),
                "BB", busybox.toString(), "LC_ALL", "C");
        List<String> command = List.of(busybox.toString(), "sh", script.toString());
        return oracle ? GuestRuns.oracle(command, work, env, TIMEOUT_SECONDS)
                : GuestRuns.jqemu(command, work, env, TIMEOUT_SECONDS);
    }

    private static void copyResource(String name, Path to) throws IOException {
        try (InputStream in = BusyboxCorpusTest.class.getResourceAsStream("/org/jqemu/linuxuser/busybox/" + name)) {
            Files.write(to, in.readAllBytes());
        }
    }
}
