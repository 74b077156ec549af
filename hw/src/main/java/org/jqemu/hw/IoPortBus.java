package org.jqemu.hw;

import org.jqemu.memory.IoPorts;

/**
 * The machine's I/O port space: 65536 byte-wide ports, each claimed by at most one device's
 * {@link IoRegion}. An access that starts in a region and stays inside it goes to that region in one
 * piece; one that runs past a region's end (or starts outside any) is split into single bytes. Unclaimed
 * ports read as all ones and ignore writes, as on a PC.
 */
public final class IoPortBus implements IoPorts {
    public static final int PORT_COUNT = 0x10000;
    private static final int PORT_MASK = PORT_COUNT - 1;

    private record Mapping(IoRegion region, int base, int end, String owner) { }

    private final Mapping[] byPort = new Mapping[PORT_COUNT];

    /** Claims ports [base, base + count) for {@code region}; {@code owner} names it in conflict messages. */
    public void map(int base, int count, IoRegion region, String owner) {
        if (base < 0 || count <= 0 || base + count > PORT_COUNT) {
            throw new IllegalArgumentException(owner + ": I/O ports 0x" + Integer.toHexString(base) + "+" + count
                    + " are outside 0x0-0xffff");
        }
        for (int port = base; port < base + count; port++) {
            if (byPort[port] != null) {
                throw new IllegalArgumentException(owner + ": I/O port 0x" + Integer.toHexString(port)
                        + " is already used by " + byPort[port].owner());
            }
        }
        Mapping mapping = new Mapping(region, base, base + count, owner);
        for (int port = base; port < base + count; port++) byPort[port] = mapping;
    }

    /** Releases the ports of {@code region} (hot-unplug, tests). */
    public void unmap(IoRegion region) {
        for (int port = 0; port < PORT_COUNT; port++) {
            if (byPort[port] != null && byPort[port].region() == region) byPort[port] = null;
        }
    }

    @Override
    public int in(int port, int size) {
        port &= PORT_MASK;
        Mapping m = byPort[port];
        if (m != null && port + size <= m.end()) return m.region().read(port - m.base(), size);
        return readBytewise(port, size);
    }

    @Override
    public void out(int port, int size, int value) {
        port &= PORT_MASK;
        Mapping m = byPort[port];
        if (m != null && port + size <= m.end()) {
            m.region().write(port - m.base(), size, size == 4 ? value : value & ((1 << (8 * size)) - 1));
            return;
        }
        for (int i = 0; i < size; i++) writeByte((port + i) & PORT_MASK, value >>> (8 * i));
    }

    private int readBytewise(int port, int size) {
        int value = 0;
        for (int i = 0; i < size; i++) value |= readByte((port + i) & PORT_MASK) << (8 * i);
        return value;
    }

    private int readByte(int port) {
        Mapping m = byPort[port];
        return m == null ? 0xff : m.region().read(port - m.base(), 1) & 0xff;
    }

    private void writeByte(int port, int value) {
        Mapping m = byPort[port];
        if (m != null) m.region().write(port - m.base(), 1, value & 0xff);
    }
}
