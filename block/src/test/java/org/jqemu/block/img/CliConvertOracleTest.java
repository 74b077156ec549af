package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import org.jqemu.block.Oracle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * jqemu-img convert as the command line runs it: a fresh JVM (jqemu-img's main), whose image locks are
 * POSIX record locks and whose raw source's hole seeking is linked in the background while the first
 * pieces are tested for zeros by content. Whichever way each piece goes, the output must be qemu-img's:
 * the same qcow2 file byte for byte, the same raw data with the same holes (qemu-img map).
 */
@Timeout(120) // guards against a hang only
class CliConvertOracleTest {
    @TempDir
    Path dir;

    /** 40 MiB: data runs (with whole zero 4 KiB blocks and a zero cluster inside) between holes. */
    private Path sparseRawSource() throws Exception {
        Path src = dir.resolve("src.raw");
        Random random = new Random(7);
        try (FileChannel f = FileChannel.open(src, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (long run = 0; run < 8; run++) {
                byte[] data = new byte[3 << 20];
                random.nextBytes(data);
                java.util.Arrays.fill(data, 4096, 8192, (byte) 0);
                java.util.Arrays.fill(data, 1 << 20, (1 << 20) + (64 << 10), (byte) 0);
                f.write(ByteBuffer.wrap(data), run * (5 << 20) + run * 12288);
            }
            f.truncate(40 << 20);
            if (f.size() < (40 << 20)) {
                f.write(ByteBuffer.wrap(new byte[1]), (40 << 20) - 1); // last byte written: no hole there
            }
        }
        return src;
    }

    private Oracle.Run jqemuImgCli(String... args) {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        return Oracle.exec(dir, cmd);
    }

    @Test
    void rawSourceToQcow2AndRawAsQemuImg() throws Exception {
        Oracle.require();
        Path src = sparseRawSource();
        for (String fmt : new String[] {"qcow2", "raw"}) {
            Path ours = dir.resolve("ours." + fmt);
            Path theirs = dir.resolve("theirs." + fmt);
            Oracle.Run r = jqemuImgCli("convert", "-f", "raw", "-O", fmt, src.toString(), ours.toString());
            assertEquals(0, r.status(), r.describe());
            assertEquals(0, Oracle.qemuImg(dir, "convert", "-f", "raw", "-O", fmt, src.toString(),
                    theirs.toString()).status());
            if (fmt.equals("qcow2")) {
                assertEquals(-1, Files.mismatch(ours, theirs), "qcow2 files differ");
                assertEquals(0, Oracle.qemuImg(dir, "check", ours.toString()).status());
            } else {
                assertEquals(-1, Files.mismatch(ours, theirs), "raw data differs");
                assertEquals(Oracle.qemuImg(dir, "map", "--output=json", "-f", "raw", theirs.toString()).out(),
                        Oracle.qemuImg(dir, "map", "--output=json", "-f", "raw", ours.toString()).out(), "holes differ");
            }
        }
    }

    @Test
    void qcow2SourceToRawAsQemuImg() throws Exception {
        Oracle.require();
        Path src = dir.resolve("src.qcow2");
        assertEquals(0, Oracle.qemuImg(dir, "convert", "-f", "raw", "-O", "qcow2", sparseRawSource().toString(),
                src.toString()).status());
        Path ours = dir.resolve("ours.raw");
        Path theirs = dir.resolve("theirs.raw");
        Oracle.Run r = jqemuImgCli("convert", "-f", "qcow2", "-O", "raw", src.toString(), ours.toString());
        assertEquals(0, r.status(), r.describe());
        assertEquals(0, Oracle.qemuImg(dir, "convert", "-f", "qcow2", "-O", "raw", src.toString(),
                theirs.toString()).status());
        assertEquals(-1, Files.mismatch(ours, theirs), "raw data differs");
        String map = Oracle.qemuImg(dir, "map", "--output=json", "-f", "raw", ours.toString()).out();
        assertEquals(Oracle.qemuImg(dir, "map", "--output=json", "-f", "raw", theirs.toString()).out(), map);
        assertTrue(map.contains("\"data\": false"), "the copy has holes: " + map);
    }
}
