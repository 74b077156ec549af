package org.jqemu.block.qcow2;

import java.util.NavigableSet;
import java.util.concurrent.ConcurrentSkipListSet;
import org.jqemu.block.BlockException;

/**
 * The host clusters holding metadata (header, L1 and refcount tables, refcount blocks, active L2
 * tables). Every data write and every newly allocated metadata cluster is checked against it, so a
 * malformed image (an L2 entry or a refcount that lies) produces an error instead of overwriting
 * metadata. Thread-safe.
 */
final class MetadataMap {
    /** Sorted, so that a check looks a whole range up at once (a conversion checks every cluster it writes). */
    private final NavigableSet<Long> clusters = new ConcurrentSkipListSet<>();
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
        Long c = clusters.ceiling(offset >>> clusterBits); // the first metadata cluster at or after the range's
        if (c != null && c <= (offset + bytes - 1) >>> clusterBits) {
            throw new BlockException.Corrupt("qcow2: Image is corrupt: Preventing invalid write on metadata "
                    + "(host offset 0x" + Long.toHexString(c << clusterBits) + ")");
        }
    }
}
