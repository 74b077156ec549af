package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A data cluster's refcount is held in memory with its queued L2 entry and written with it, before the
 * barrier (Refcounts.allocateDeferred, Qcow2Device.flushPending): qemu-img check (the oracle) sees an image
 * that is clean before the flush (neither refcount nor entry on disk: no leak) and after it (both).
 */
class DeferredRefcountsTest {
    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    @Test
    void newClustersRefcountsGoToDiskWithTheirEntries() throws Exception {
        Oracle.require();
        String img = dir.resolve("deferred.qcow2").toString();
        assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", img, "64M").status());
        byte[] data = new byte[3 * CLUSTER];
        java.util.Arrays.fill(data, (byte) 0x5a);
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_WRITE)) {
            d.write(0, data, 0, data.length); // three new clusters in one request
            d.write(40L * CLUSTER, data, 0, CLUSTER); // one more, a separate allocation
            Oracle.Run before = Oracle.qemuImg(dir, "check", "-U", img);
            assertEquals(0, before.status(), "nothing on disk refers to the new clusters yet: " + before.describe());
            d.flush();
            Oracle.Run after = Oracle.qemuImg(dir, "check", "-U", img);
            assertEquals(0, after.status(), after.describe());
            assertFalse(after.out().contains("leak"), after.describe());
            // A refcount change that is not deferred (freeing a cluster) comes after more deferred ones.
            d.write(8L * CLUSTER, data, 0, 2 * CLUSTER);
            d.discard(40L * CLUSTER, CLUSTER);
        }
        Oracle.Run check = Oracle.qemuImg(dir, "check", img);
        assertEquals(0, check.status(), check.describe());
        Oracle.Run map = Oracle.qemuImg(dir, "map", "--output=json", img);
        assertEquals(0, map.status(), map.describe());
        for (String io : new String[] {"read -P 0x5a 0 196608", "read -P 0x5a 524288 131072", "read -P 0 2621440 65536"}) {
            Oracle.Run r = Oracle.qemuIo(dir, "qcow2", img, io);
            assertFalse(r.out().contains("fail") || r.out().contains("Pattern verification"), r.describe());
        }
        Oracle.Run info = Oracle.qemuImg(dir, "check", "--output=json", img);
        // 3 + 2 data clusters after the discard (the fourth one freed), plus header, refcount table and
        // block, L1 and one L2 table: 10 clusters referenced, none leaked.
        assertEquals(true, info.out().contains("\"allocated-clusters\": 5"), info.describe());
    }
}
