package org.jqemu.block.qcow2;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.jqemu.block.BlockException;

/**
 * The host clusters holding metadata (header, L1 and refcount tables, refcount blocks, active L2
 * tables). Every data write and every newly allocated metadata cluster is checked against it, so a
 * malformed image (an L2 entry or a refcount that lies) produces an error instead of overwriting
 * metadata. Thread-safe.
 */
final class MetadataMap {
    private final Set<Long> clusters = ConcurrentHashMap.newKeySet();
    private final int clusterBits;

    MetadataMap(int clusterBits) {
        this.clusterBits = clusterBits;
    }

    void add(long offset, long bytes) {
        for (long c = offset >>> clusterBits; c <= (offset + bytes - 1) >>> clusterBits; c++) {
            clusters.add(c);
        }
    }

    void remove(long offset, long bytes) {
        for (long c = offset >>> clusterBits; c <= (offset + bytes - 1) >>> clusterBits; c++) {
            clusters.remove(c);
        }
    }

    /** Refuses a write of guest data or new metadata that would land on existing metadata. */
    void checkFree(long offset, long bytes) throws BlockException {
        if (bytes <= 0) {
            return;
        }
        for (long c = offset >>> clusterBits; c <= (offset + bytes - 1) >>> clusterBits; c++) {
            if (clusters.contains(c)) {
                throw new BlockException.Corrupt("qcow2: Image is corrupt: Preventing invalid write on metadata "
                        + "(host offset 0x" + Long.toHexString(c << clusterBits) + ")");
            }
        }
    }
}
