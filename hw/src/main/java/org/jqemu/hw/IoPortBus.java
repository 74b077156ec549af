package org.jqemu.hw;

import org.jqemu.memory.IoPorts;

/**
 * The machine's I/O port space: 65536 byte-wide ports, each claimed by at most one device's
 * {@link IoRegion}. An access whose bytes all belong to one region goes to it in one piece; any other
 * (crossing a region's end, or partly unclaimed) is split into single bytes. Unclaimed
 * ports read as all ones and ignore writes, as on a PC.
 */
public final class IoPortBus implements IoPorts {
    public static final int PORT_COUNT = 0x10000;
    private static final int PORT_MASK = PORT_COUNT - 1;

    private record Mapping(IoRegion region, int base, String owner) { }

    private final Mapping[] byPort = new Mapping[PORT_COUNT];

    /**
     * Claims ports [base, base + count) for {@code region}; {@code owner} names it for debugging. As in
     * QEMU, a user may configure a device partly or wholly beyond port 0xffff (those ports are simply
     * unreachable) or over another device (the later mapping wins the shared ports).
     */
    public void map(int base, int count, IoRegion region, String owner) {
        if (base < 0 || count <= 0) throw new IllegalArgumentException(owner + ": bad I/O range " + base + "+" + count);
        long end = Math.min((long) base + count, PORT_COUNT);
        Mapping mapping = new Mapping(region, base, owner);
        for (long port = base; port < end; port++) byPort[(int) port] = mapping;
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
        if (m != null && covers(m, port, size)) return m.region().read(port - m.base(), size);
        return readBytewise(port, size);
    }

    @Override
    public void out(int port, int size, int value) {
        port &= PORT_MASK;
        Mapping m = byPort[port];
        if (m != null && covers(m, port, size)) {
            m.region().write(port - m.base(), size, size == 4 ? value : value & ((1 << (8 * size)) - 1));
            return;
        }
        for (int i = 0; i < size; i++) writeByte((port + i) & PORT_MASK, value >>> (8 * i));
    }

    /** True when every byte of the access belongs to {@code m}, so the device sees it whole. */
    private boolean covers(Mapping m, int port, int size) {
        for (int i = 1; i < size; i++) {
            if (port + i >= PORT_COUNT || byPort[port + i] != m) return false;
        }
        return true;
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
