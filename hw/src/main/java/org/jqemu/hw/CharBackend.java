package org.jqemu.hw;

/** The host side of a character device (-chardev): where a device's output bytes go. */
@FunctionalInterface
public interface CharBackend {
    void write(byte[] data, int offset, int length);

    /** Discards everything (QEMU's "null" backend). */
    CharBackend NULL = (data, offset, length) -> { };
}
