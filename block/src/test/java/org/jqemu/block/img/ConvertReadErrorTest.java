package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.Random;
import org.jqemu.block.Oracle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A read that fails in the middle of a conversion (on a worker thread, pieces ahead of the writer) ends
 * the command with a one-line error and status 1, as qemu-img's does, never a stack trace. The failing
 * read: a compressed cluster whose deflate stream starts with a reserved block type (qcow2's spec: raw
 * deflate; RFC 1951: BTYPE 11 is an error), placed by reading the image's own L1 and L2 tables.
 */
class ConvertReadErrorTest {
    private static final int CLUSTER = 64 << 10;
    private static final int CLUSTERS = 64; // 4 MiB: eight 512 KiB pieces
    private static final int BROKEN = 40; // in the sixth piece

    @TempDir
    Path dir;

    @Test
    void corruptCompressedClusterMidCopyGivesAClearError() throws Exception {
        Oracle.require();
        Path raw = dir.resolve("data.raw");
        byte[] data = new byte[CLUSTERS * CLUSTER];
        Random random = new Random(11);
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) ('a' + random.nextInt(4)); // compressible: every cluster is stored compressed
        }
        java.nio.file.Files.write(raw, data);
        Path image = dir.resolve("broken.qcow2");
        Oracle.Run c = Oracle.qemuImg(dir, "convert", "-f", "raw", "-c", "-O", "qcow2", raw.toString(), image.toString());
        assertEquals(0, c.status(), c.describe());
        breakCompressedCluster(image, BROKEN);

        Oracle.Run theirs = Oracle.qemuImg(dir, "convert", "-f", "qcow2", "-O", "raw", image.toString(),
                dir.resolve("theirs.raw").toString());
        assertNotEquals(0, theirs.status(), "qemu-img reads the broken cluster: " + theirs.describe());
        for (String m : new String[] {"1", "8"}) {
            Oracle.Run ours = Oracle.jqemuImg("convert", "-m", m, "-f", "qcow2", "-O", "raw", image.toString(),
                    dir.resolve("ours.raw").toString());
            assertEquals(1, ours.status(), ours.describe());
            assertTrue(ours.err().startsWith("jqemu-img: Could not read compressed cluster"), ours.describe());
            assertEquals(1, ours.err().strip().lines().count(), "one line: " + ours.describe());
            assertFalse(ours.err().contains("Exception"), ours.describe());
        }
    }

    /** Overwrites the start of the cluster's compressed data with 0xff bytes (final block, type 11). */
    private static void breakCompressedCluster(Path image, int guestCluster) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.seek(20);
            int clusterBits = f.readInt();
            assertEquals(16, clusterBits, "64 KiB clusters (qemu-img's default)");
            f.seek(40);
            long l1 = f.readLong();
            f.seek(l1);
            long l2 = f.readLong() & 0x00fffffffffffe00L; // L1 entry 0: bits 9-55
            f.seek(l2 + 8L * guestCluster);
            long entry = f.readLong();
            assertTrue((entry & (1L << 62)) != 0, "cluster " + guestCluster + " is compressed");
            long hostOffset = entry & ((1L << (62 - (clusterBits - 8))) - 1); // spec: bits 0 to x-1, x = 62 - (cluster_bits - 8)
            f.seek(hostOffset);
            f.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff});
        }
    }
}
