package org.jqemu.hw.pci;

import org.jqemu.hw.isa.PortDevice;

/**
 * Implemented by the machine's I/O port bus for devices whose port ranges move when the guest programs a
 * base address register: the device calls {@link #remap} after its {@link PortDevice#portRanges()} changed
 * (an empty list means its I/O space is disabled), and the bus drops the old ranges and claims the new.
 */
@FunctionalInterface
public interface IoRemapper {
    void remap(PortDevice device);

    IoRemapper NONE = device -> { };
}
