package org.jqemu.block;

import java.nio.ByteBuffer;

/**
 * A format that can store whole clusters compressed (qcow2, qcow): qemu-img convert -c. Compression is
 * thread-safe and separate from writing, so a converter compresses on several threads and writes in
 * order.
 */
public interface CompressedWriter extends BlockDevice {
    long clusterSizeBytes();

    /**
     * Compresses one guest cluster, data's remaining bytes (at most a cluster, zero-padded to one);
     * null if it does not shrink enough. data's position and limit are unchanged.
     */
    byte[] compressCluster(ByteBuffer data) throws BlockException;

    /**
     * Writes data's remaining bytes, a cluster-aligned cluster (the image's last may be short), as
     * packed, the result of {@link #compressCluster}, or uncompressed when packed is null.
     */
    void writeCompressed(long offset, ByteBuffer data, byte[] packed) throws BlockException;

    /**
     * Ends a compressed conversion as qemu-img does (its zero-length compressed write): the file is
     * extended to a whole number of 512-byte sectors, so that sector-based readers see the last
     * compressed cluster entirely.
     */
    void alignEndOfFile() throws BlockException;

    /** data's remaining bytes as a whole cluster: data itself, or a zero-padded copy if it is short. */
    static ByteBuffer padToCluster(ByteBuffer data, long clusterSize) {
        if (data.remaining() == clusterSize) {
            return data.slice();
        }
        ByteBuffer cluster = ByteBuffer.allocate((int) clusterSize);
        cluster.put(0, data, data.position(), data.remaining());
        return cluster;
    }
}
