package org.jqemu.hw;

import org.jqemu.hw.chr.CharBackend;

/** What a machine hands a device type when it creates a device: where to map it and which host services it may use. */
public interface DeviceContext {
    IoPortBus ioPorts();

    /** The character backend with this id; the front end has already checked that it exists. */
    CharBackend chardev(String id);

    /** Ends the emulator with this exit status (isa-debug-exit). */
    void exit(int status);
}
