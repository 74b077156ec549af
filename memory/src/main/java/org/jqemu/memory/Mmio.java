package org.jqemu.memory;

/**
 * A device's memory-mapped registers. Offsets are relative to the start of the region;
 * sizes are 1, 2, 4 or 8 bytes; values are little-endian as the guest sees them.
 */
public interface Mmio {
    long read(long offset, int size);

    void write(long offset, int size, long value);
}
