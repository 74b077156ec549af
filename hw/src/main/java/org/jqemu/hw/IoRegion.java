package org.jqemu.hw;

/**
 * A device's block of I/O ports, as mapped on an {@link IoPortBus}: offsets count from the block's base;
 * sizes are 1, 2 or 4 bytes and never reach past the block (the bus splits such accesses).
 */
public interface IoRegion {
    int read(int offset, int size);

    void write(int offset, int size, int value);
}
