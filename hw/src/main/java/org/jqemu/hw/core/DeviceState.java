package org.jqemu.hw.core;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The last section of every device model: its guest-visible state as a versioned byte stream, for
 * snapshots and migration. {@link #loadState} must validate what it reads (a snapshot file is input
 * like any other) and leave the device unchanged when it refuses.
 */
public interface DeviceState {
    /** Format version of {@link #saveState}; bumped when the layout changes. */
    int stateVersion();

    void saveState(DataOutput out) throws IOException;

    void loadState(DataInput in, int version) throws IOException;

    /** Power-on / hard reset state, as the datasheet gives it. */
    void reset();
}
