package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Dynamically linked programs built here with gcc -m32 against the host's multilib C library (its
 * /lib/ld-linux.so.2, no sysroot): a non-PIE ET_EXEC and a PIE, both with PT_INTERP, against qemu-i386.
 */
class HostDynamicTest {
    private static final List<String> ENV = List.of("LC_ALL=C");

    @ParameterizedTest
    @ValueSource(strings = {"-no-pie", "-pie"})
    void dynamicProgramMatchesQemu(String kind, @TempDir Path dir) throws Exception {
        assumeTrue(HostSupport.has("gcc") && HostSupport.has("qemu-i386") && Files.exists(Path.of("/lib/ld-linux.so.2")),
                "needs gcc-multilib (with its i386 ld-linux.so.2) and qemu-user");
        Path source = dir.resolve("procself.c");
        try (InputStream in = getClass().getResourceAsStream("programs/procself.c")) {
            Files.write(source, in.readAllBytes());
        }
        Path program = dir.resolve("procself");
        Process gcc = new ProcessBuilder("gcc", "-m32", "-O2", kind, "-o", program.toString(), source.toString())
                .redirectErrorStream(true).start();
        String messages = new String(gcc.getInputStream().readAllBytes());
        assertEquals(0, gcc.waitFor(), messages);
        byte[] elf = Files.readAllBytes(program);
        assertEquals(kind.equals("-pie") ? 3 : 2, elf[16], "ET_DYN for PIE, ET_EXEC otherwise");
        List<String> argv = List.of(program.toString(), "exe", "x y");
        GuestRun.Outcome expected = GuestRun.qemu(null, argv, ENV, null);
        assertTrue(expected.stdout().contains("exe starts with 7f ELF"), expected.stdout());
        assertEquals(expected, GuestRun.jqemu(null, argv, ENV, null));
        GuestRun.Outcome maps = GuestRun.jqemu(null, List.of(program.toString(), "maps"), ENV, null);
        assertTrue(maps.stdout().contains("r-xp") && maps.stdout().contains(program.toString()), maps.stdout());
    }
}
