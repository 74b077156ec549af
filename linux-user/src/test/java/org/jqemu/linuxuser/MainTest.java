package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Command-line behaviour, matched against what qemu-i386 (QEMU 7.2) prints and returns. */
class MainTest {
    @TempDir
    Path dir;

    private record Outcome(int status, String out, String err) { }

    private static Outcome run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = Main.run(args, env, new PrintStream(out, true), new PrintStream(err, true));
        return new Outcome(status, out.toString(), err.toString());
    }

    private static Outcome run(String... args) { return run(Map.of(), args); }

    @Test
    void usageErrorsExitOneWithOneLine() {
        assertEquals(new Outcome(1, "", "jqemu-i386: no user program specified\n"), run());
        assertEquals(new Outcome(1, "", "jqemu-i386: unknown option 'z'\n"), run("-z", "prog"));
        assertEquals(new Outcome(1, "", "jqemu-i386: missing argument for option 'L'\n"), run("-L"));
        assertEquals(new Outcome(1, "", "jqemu-i386: missing argument for option '0'\n"), run("-0"));
        Outcome badSize = run("-s", "12q", "prog");
        assertEquals(1, badSize.status());
        assertTrue(badSize.err().startsWith("jqemu-i386: invalid stack size '12q'"), badSize.err());
        Outcome badLog = run("-d", "nosuch", "prog");
        assertEquals(1, badLog.status());
        assertTrue(badLog.err().contains("nosuch"));
    }

    @Test
    void informationalOptionsExitZero() {
        Outcome version = run("-version");
        assertEquals(0, version.status());
        assertTrue(version.out().startsWith("jqemu-i386 version "), version.out());
        Outcome help = run("-h");
        assertEquals(0, help.status());
        assertTrue(help.out().startsWith("usage: jqemu-i386 [options] program [arguments...]"));
        assertEquals(help, run("-help"));
        assertEquals(help, run("--help"), "QEMU accepts -opt and --opt");
        Outcome logHelp = run("-d", "help");
        assertEquals(0, logHelp.status());
        assertTrue(logHelp.out().contains("strace"));
    }

    @Test
    void unloadableProgramsAreReportedWithoutStackTraces() throws IOException {
        Outcome missing = run(dir.resolve("nothing").toString());
        assertEquals(new Outcome(1, "", "jqemu-i386: Error while loading " + dir.resolve("nothing") + ": No such file or directory\n"), missing);
        Path text = Files.writeString(dir.resolve("text"), "#!/bin/sh\necho hi\n");
        assertEquals(new Outcome(1, "", "jqemu-i386: " + text + ": Invalid ELF image for this architecture\n"), run(text.toString()));
        assertEquals(1, run(dir.toString()).status());
    }

    @Test
    void optionsAndVariablesBuildTheGuestEnvironment() {
        Main.Settings s = Main.parse(new String[] {"-E", "A=1,B=2", "-U", "HOME", "-0", "argv0", "-s", "1M", "-L", "/sys",
                "-strace", "-d", "unimp", "prog", "-E", "x"}, Map.of("QEMU_SET_ENV", "C=3", "QEMU_STACK_SIZE", "64k"), System.out);
        assertEquals(Map.of("C", "3", "A", "1", "B", "2"), s.setEnv);
        assertEquals(List.of("HOME"), s.unsetEnv);
        assertEquals("argv0", s.argv0);
        assertEquals(1L << 20, s.stackSize, "the command line overrides QEMU_STACK_SIZE");
        assertEquals("/sys", s.ldPrefix);
        assertTrue(s.strace);
        assertEquals(List.of("prog", "-E", "x"), s.programArgs, "options after the program are its arguments");
        Main.Settings fromEnv = Main.parse(new String[] {"prog"}, Map.of("QEMU_STRACE", "", "QEMU_LD_PREFIX", "/p",
                "QEMU_STACK_SIZE", "64k", "QEMU_ARGV0", "zero"), System.out);
        assertTrue(fromEnv.strace);
        assertEquals("/p", fromEnv.ldPrefix);
        assertEquals(65536, fromEnv.stackSize);
        assertEquals("zero", fromEnv.argv0);
    }

    @Test
    void sizesTakeBinarySuffixes() {
        assertEquals(8L << 20, Main.parseSize("8M"));
        assertEquals(4096, Main.parseSize("4k"));
        assertEquals(123, Main.parseSize("123"));
    }
}
