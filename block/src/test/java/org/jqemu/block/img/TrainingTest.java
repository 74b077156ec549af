package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jqemu.block.HostFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The AOT cache's training run (launcher, bench): every command succeeds, on the benchmark's shape, and it cleans up. */
class TrainingTest {
    @TempDir
    Path dir;

    @Test
    void trainsOnTheBenchmarksShapeAndLeavesNothingBehind() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Training.train(dir, new Main.Env(new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8)));
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        String info = out.toString(StandardCharsets.UTF_8);
        assertTrue(info.contains("virtual size: 2 GiB (2147483648 bytes)"), info);
        assertTrue(info.contains("cluster_size: 65536"), info);
        try (var left = Files.list(dir)) {
            assertEquals(0, left.count(), "training removes what it made");
        }
        // The second conversion ran with hole seeking ready (waited for), where the host offers it.
        if ("amd64".equals(System.getProperty("os.arch")) && System.getProperty("os.name").startsWith("Linux")) {
            assertTrue(HostFile.nativeCallsReady());
        }
    }
}
