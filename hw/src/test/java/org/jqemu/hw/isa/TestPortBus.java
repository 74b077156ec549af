package org.jqemu.hw.isa;

import java.util.ArrayList;
import java.util.List;
import org.jqemu.memory.IoPorts;

/** A stand-in for the machine's port bus in tests: dispatches to the device whose ranges hold the port. */
public final class TestPortBus implements IoPorts {
    private final List<PortDevice> devices = new ArrayList<>();

    public void add(PortDevice... more) {
        devices.addAll(List.of(more));
    }

    /** Ranges are looked up on every access, so a device that moved its ranges is found at the new place. */
    private PortDevice find(int port) {
        for (PortDevice d : devices) {
            for (PortRange r : d.portRanges()) {
                if (r.contains(port)) {
                    return d;
                }
            }
        }
        return null;
    }

    @Override
    public int in(int port, int size) {
        PortDevice d = find(port);
        return d == null ? IoPorts.NONE.in(port, size) : d.in(port, size);
    }

    @Override
    public void out(int port, int size, int value) {
        PortDevice d = find(port);
        if (d != null) {
            d.out(port, size, value);
        }
    }
}
