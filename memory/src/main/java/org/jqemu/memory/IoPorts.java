package org.jqemu.memory;

/**
 * The x86 I/O port space as the CPU sees it: IN/OUT/INS/OUTS go through here.
 * Sizes are 1, 2 or 4 bytes. A port with no device reads as all ones and ignores writes,
 * as on a PC; implementations never throw for a guest's choice of port.
 */
public interface IoPorts {
    int in(int port, int size);

    void out(int port, int size, int value);

    /** No devices at all: every read is all ones, every write is dropped. */
    IoPorts NONE = new IoPorts() {
        @Override public int in(int port, int size) { return size == 4 ? -1 : (1 << (size * 8)) - 1; }
        @Override public void out(int port, int size, int value) { }
    };
}
