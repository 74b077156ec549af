package org.jqemu.block;

/**
 * A format that can store whole clusters compressed (qcow2, qcow): qemu-img convert -c. Compression is
 * thread-safe and separate from writing, so a converter compresses on several threads and writes in
 * order.
 */
public interface CompressedWriter extends BlockDevice {
    long clusterSizeBytes();

    /** Compresses one guest cluster (len bytes, zero-padded); null if it does not shrink enough. */
    byte[] compressCluster(byte[] buf, int off, int len) throws BlockException;

    /**
     * Writes a cluster-aligned cluster (the image's last may be short) as packed, the result of
     * {@link #compressCluster}, or uncompressed when packed is null.
     */
    void writeCompressed(long offset, byte[] buf, int off, int len, byte[] packed) throws BlockException;
}
