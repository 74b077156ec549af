package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Image locking interoperates with QEMU's: a qemu-io that has the image open keeps jqemu-img from
 * opening it in a conflicting way (with qemu-img's message), -U reads anyway, and an image jqemu has
 * open is locked against qemu-img and qemu-io in the same way. Each test runs with both kinds of lock
 * jqemu takes: open-file-description locks (the library's default) and POSIX record locks tested against
 * /proc/locks (jqemu-img's, HostFile.useRecordLocks), which QEMU's OFD locks must conflict with both ways.
 */
@Timeout(120) // guards against a hang only
class LockingOracleTest {
    @TempDir
    Path dir;

    /** Starts an interactive qemu-io on the image and waits until it holds its locks. */
    private Process holdWithQemuIo(Path image, boolean readOnly) throws Exception {
        List<String> cmd = readOnly ? List.of("qemu-io", "-r", "-f", "qcow2", image.toString())
                : List.of("qemu-io", "-f", "qcow2", image.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        long ino = (long) Files.getAttribute(image, "unix:ino");
        for (int i = 0; i < 200; i++) {
            if (Files.readString(Path.of("/proc/locks")).contains(":" + ino + " ")) {
                return p;
            }
            Thread.sleep(50);
        }
        p.destroyForcibly();
        fail("qemu-io did not lock the image");
        return null;
    }

    private static void release(Process p) throws Exception {
        p.getOutputStream().close(); // end of input: qemu-io quits
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    /** Runs body with the given kind of lock, then restores the default. */
    private static void withLocks(boolean record, ThrowingBody body) throws Exception {
        HostFile.useRecordLocks(record);
        try {
            body.run();
        } finally {
            HostFile.useRecordLocks(false);
        }
    }

    @FunctionalInterface
    private interface ThrowingBody {
        void run() throws Exception;
    }

    private Path image() {
        Oracle.require();
        Path img = dir.resolve("lock.qcow2");
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", img.toString(), "1M").status());
        return img;
    }

    @ParameterizedTest(name = "record locks: {0}")
    @ValueSource(booleans = {false, true})
    void qemuWriterLocksOutJqemu(boolean recordLocks) throws Exception {
        withLocks(recordLocks, this::qemuWriterLocksOutJqemuBody);
    }

    private void qemuWriterLocksOutJqemuBody() throws Exception {
        Path img = image();
        Process holder = holdWithQemuIo(img, false);
        try {
            Oracle.Run info = Oracle.jqemuImg("info", img.toString());
            assertEquals(1, info.status(), info.describe());
            assertEquals("jqemu-img: Could not open '" + img + "': Failed to get shared \"write\" lock\n"
                    + "Is another process using the image [" + img + "]?\n", info.err());
            assertEquals(Oracle.qemuImg(dir, "info", img.toString()).err(), Oracle.asQemu(info.err()));
            Oracle.Run shared = Oracle.jqemuImg("info", "-U", img.toString());
            assertEquals(0, shared.status(), shared.describe());
            Oracle.Run resize = Oracle.jqemuImg("resize", img.toString(), "2M");
            assertEquals(1, resize.status(), resize.describe());
            assertTrue(resize.err().contains("Failed to get \"write\" lock"), resize.err());
            Oracle.Run writeShared = Oracle.jqemuImg("check", "-r", "all", "-U", img.toString());
            assertTrue(writeShared.err().contains("force-share=on can only be used with read-only images"),
                    writeShared.describe());
        } finally {
            release(holder);
        }
        assertEquals(0, Oracle.jqemuImg("resize", img.toString(), "2M").status(), "the lock is gone with qemu-io");
    }

    /**
     * jqemu-img's start reads /proc/locks once in the background (RecordLocks.prefetch, a wait for the kernel's
     * RCU grace period): that one read serves the opens that follow, and sees what qemu-io holds.
     */
    @org.junit.jupiter.api.Test
    void prefetchedLockTableServesLaterOpens() throws Exception {
        Path img = image();
        Process holder = holdWithQemuIo(img, false);
        HostFile.useRecordLocks(true);
        RecordLocks.prefetchLifetimeNanos = Long.MAX_VALUE; // however slowly the two opens run
        try {
            int before = RecordLocks.READS.get();
            RecordLocks.prefetch();
            for (int i = 0; i < 2; i++) {
                Oracle.Run info = Oracle.jqemuImg("info", img.toString());
                assertEquals(1, info.status(), info.describe());
                assertTrue(info.err().contains("Failed to get shared \"write\" lock"), info.describe());
            }
            assertEquals(before + 1, RecordLocks.READS.get(), "reads of /proc/locks for two opens after a prefetch");
        } finally {
            RecordLocks.forgetPrefetch();
            RecordLocks.prefetchLifetimeNanos = RecordLocks.PREFETCH_LIFETIME_NANOS;
            HostFile.useRecordLocks(false);
            release(holder);
        }
    }

    @ParameterizedTest(name = "record locks: {0}")
    @ValueSource(booleans = {false, true})
    void qemuReaderAllowsJqemuReadersOnly(boolean recordLocks) throws Exception {
        withLocks(recordLocks, this::qemuReaderAllowsJqemuReadersOnlyBody);
    }

    private void qemuReaderAllowsJqemuReadersOnlyBody() throws Exception {
        Path img = image();
        Process holder = holdWithQemuIo(img, true);
        try {
            assertEquals(0, Oracle.jqemuImg("info", img.toString()).status());
            Oracle.Run write = Oracle.jqemuImg("resize", img.toString(), "2M");
            assertEquals(1, write.status());
            assertTrue(write.err().contains("Failed to get \"write\" lock"), write.describe());
            Oracle.Run io = Oracle.qemuIo(dir, "qcow2", img.toString(), "write 0 512");
            assertTrue((io.out() + io.err()).contains("Failed to get \"write\" lock"), "qemu-io agrees: " + io.describe());
        } finally {
            release(holder);
        }
    }

    @ParameterizedTest(name = "record locks: {0}")
    @ValueSource(booleans = {false, true})
    void jqemuWriterLocksOutQemu(boolean recordLocks) throws Exception {
        withLocks(recordLocks, this::jqemuWriterLocksOutQemuBody);
    }

    private void jqemuWriterLocksOutQemuBody() throws Exception {
        Path img = image();
        try (BlockDevice d = Images.open(img.toString(), null, OpenOptions.READ_WRITE)) {
            Oracle.Run info = Oracle.qemuImg(dir, "info", img.toString());
            assertEquals(1, info.status(), info.describe());
            assertTrue(info.err().contains("Failed to get shared \"write\" lock"), info.err());
            Oracle.Run io = Oracle.qemuIo(dir, "qcow2", img.toString(), "write 0 512");
            assertTrue((io.out() + io.err()).contains("Failed to get \"write\" lock"), io.describe());
            assertEquals(0, Oracle.qemuImg(dir, "info", "-U", img.toString()).status());
        }
        try (BlockDevice d = Images.open(img.toString(), null, OpenOptions.READ_ONLY)) {
            assertEquals(0, Oracle.qemuImg(dir, "info", img.toString()).status(), "readers share");
        }
        assertEquals(0, Oracle.qemuIo(dir, "qcow2", img.toString(), "write 0 512").status());
    }

    /** Two opens in one process lock each other out as two processes would (QEMU's OFD locks do). */
    @ParameterizedTest(name = "record locks: {0}")
    @ValueSource(booleans = {false, true})
    void opensInOneProcessSeeEachOther(boolean recordLocks) throws Exception {
        withLocks(recordLocks, this::opensInOneProcessSeeEachOtherBody);
    }

    private void opensInOneProcessSeeEachOtherBody() throws Exception {
        Path img = image();
        try (BlockDevice writer = Images.open(img.toString(), "qcow2", OpenOptions.READ_WRITE)) {
            BlockException e = org.junit.jupiter.api.Assertions.assertThrows(BlockException.class,
                    () -> Images.open(img.toString(), "qcow2", OpenOptions.READ_WRITE).close());
            assertTrue(e.getMessage().contains("Failed to get \"write\" lock"), e.getMessage());
        }
        try (BlockDevice a = Images.open(img.toString(), "qcow2", OpenOptions.READ_ONLY);
             BlockDevice b = Images.open(img.toString(), "qcow2", OpenOptions.READ_ONLY)) {
            assertEquals(a.size(), b.size(), "readers share");
        }
        Images.open(img.toString(), "qcow2", OpenOptions.READ_WRITE).close(); // all closed: free again
    }
}
