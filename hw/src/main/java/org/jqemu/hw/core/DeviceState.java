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
    /** Format version of {@link #saveState}: 1 until a device changes its layout (it then overrides this). */
    default int stateVersion() { return 1; }

    void saveState(DataOutput out) throws IOException;

    void loadState(DataInput in, int version) throws IOException;

    /** For {@link #loadState}: refuses a format other than {@link #stateVersion()}, naming the device. */
    default void requireStateVersion(String device, int version) throws IOException {
        if (version != stateVersion()) {
            throw new IOException(device + ": unsupported state version " + version);
        }
    }

    /** A device whose only state is its configuration: nothing to save, load or reset. */
    interface Stateless extends DeviceState {
        @Override
        default void saveState(DataOutput out) { }

        @Override
        default void loadState(DataInput in, int version) { }

        @Override
        default void reset() { }
    }

    /** Power-on / hard reset state, as the datasheet gives it. */
    void reset();
}
