package org.jqemu.hw.isa;

/** A block of I/O ports a device claims: {@code length} ports from {@code base} (absolute port numbers). */
public record PortRange(int base, int length) {
    public PortRange {
        if (base < 0 || length <= 0 || base + length > 0x10000) {
            throw new IllegalArgumentException("bad port range " + base + "+" + length);
        }
    }

    public boolean contains(int port) { return port >= base && port < base + length; }
}
