package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jqemu.block.Oracle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A write that fails in the middle of a conversion (-m 1, and -m 8 with pieces read ahead) ends the
 * command with a one-line error and status 1, as qemu-img's does (the oracle: same
 * limit, same files, non-zero status), and a qcow2 target is left without corruption (qemu-img check:
 * no entry points at data that was not written). The failing write: the file-size limit (bash's
 * `ulimit -f`, RLIMIT_FSIZE; the JVM ignores SIGXFSZ, so the write fails with EFBIG) below the target's
 * data, in a separate jqemu-img process.
 */
class ConvertWriteErrorTest {
    private static final int SOURCE = 8 << 20;
    private static final int LIMIT_KIB = 1024; // writes past 1 MiB of the target fail

    @TempDir
    Path dir;

    @Test
    void failedDataWriteGivesOneClearErrorAndNoCorruption() throws Exception {
        Oracle.require();
        byte[] data = new byte[SOURCE];
        new Random(5).nextBytes(data);
        Path src = dir.resolve("src.raw");
        Files.write(src, data);
        for (String fmt : new String[] {"raw", "qcow2"}) {
            for (String m : new String[] {"1", "8"}) {
                Path target = dir.resolve("t-" + m + "." + fmt);
                Oracle.Run c = Oracle.qemuImg(dir, "create", "-q", "-f", fmt, target.toString(), String.valueOf(SOURCE));
                assertEquals(0, c.status(), c.describe());
                Oracle.Run theirs = limited(List.of("qemu-img", "convert", "-n", "-m", m, "-f", "raw", "-O", fmt,
                        src.toString(), target.toString()));
                assertNotEquals(0, theirs.status(), "qemu-img hits the limit too: " + theirs.describe());
                Files.delete(target);
                c = Oracle.qemuImg(dir, "create", "-q", "-f", fmt, target.toString(), String.valueOf(SOURCE));
                assertEquals(0, c.status(), c.describe());
                List<String> ours = new ArrayList<>(List.of(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                        Main.class.getName(), "convert", "-n", "-m", m, "-f", "raw", "-O", fmt,
                        src.toString(), target.toString()));
                Oracle.Run r = limited(ours);
                String what = fmt + " -m " + m + ": " + r.describe();
                assertEquals(1, r.status(), what);
                assertTrue(r.err().startsWith("jqemu-img: Could not write"), what);
                assertEquals(1, r.err().strip().lines().count(), "one line: " + what);
                assertFalse(r.err().contains("Exception"), what);
                if (fmt.equals("qcow2")) {
                    Oracle.Run check = Oracle.qemuImg(dir, "check", target.toString());
                    assertTrue(check.status() == 0 || check.status() == 3, "at worst leaks: " + check.describe());
                    assertFalse(check.out().contains("ERROR"), check.describe());
                }
            }
        }
    }

    /** Runs cmd under bash with the file-size limit. */
    private Oracle.Run limited(List<String> cmd) {
        List<String> full = new ArrayList<>(List.of("bash", "-c", "ulimit -f " + LIMIT_KIB + " && exec \"$@\"", "bash"));
        full.addAll(cmd);
        return Oracle.exec(dir, full);
    }
}
