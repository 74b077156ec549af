package org.jqemu.hw;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * What every device model offers the machine besides its guest-visible registers: a reset to power-on
 * state and its snapshot state. A device file is laid out in this order: registers and constants, state,
 * guest-visible read/write, reset, snapshot state.
 */
public interface Device {
    /** Back to the state after power-on (configuration, such as the I/O base, is kept). */
    void reset();

    /** Writes the guest-visible state; {@link #loadState} reads back exactly what this wrote. */
    void saveState(DataOutput out) throws IOException;

    void loadState(DataInput in) throws IOException;
}
