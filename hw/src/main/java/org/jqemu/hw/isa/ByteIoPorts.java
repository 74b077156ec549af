package org.jqemu.hw.isa;

/**
 * A device whose registers are all 8 bits wide, as on the ISA bus: a 16- or 32-bit access is split into
 * byte accesses to consecutive ports, least significant byte first (what the bus of a PC does).
 */
public interface ByteIoPorts extends PortDevice {
    int inByte(int port);

    void outByte(int port, int value);

    @Override
    default int in(int port, int size) {
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= (inByte(port + i) & 0xff) << (8 * i);
        }
        return value;
    }

    @Override
    default void out(int port, int size, int value) {
        for (int i = 0; i < size; i++) {
            outByte(port + i, (value >>> (8 * i)) & 0xff);
        }
    }
}
