package org.jqemu.hw.isa;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.memory.IrqLine;

/**
 * System control port A at 0x92 ("fast A20 and reset"): bit 1 drives the A20 gate, a 0-to-1 transition
 * of bit 0 pulses the CPU reset line. The other bits are kept and read back.
 */
public final class Port92 implements ByteIoPorts, DeviceState {
    // ---- registers and constants ----
    public static final int PORT = 0x92;
    private static final int FAST_RESET = 0x01;
    private static final int A20 = 0x02;

    // ---- state ----
    private final IrqLine a20Out;
    private final Runnable resetRequest;
    private int value;

    /**
     * @param a20Out driven with the A20 gate on every change (the machine masks address bit 20 while low)
     * @param resetRequest called when the guest asks for a CPU reset
     */
    public Port92(IrqLine a20Out, Runnable resetRequest) {
        this.a20Out = a20Out;
        this.resetRequest = resetRequest;
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(PORT, 1));
    }

    public boolean a20Enabled() {
        return (value & A20) != 0;
    }

    // ---- guest-visible read/write ----
    @Override
    public int inByte(int port) {
        return port == PORT ? value : 0xff;
    }

    @Override
    public void outByte(int port, int newValue) {
        if (port != PORT) {
            return;
        }
        int old = value;
        value = newValue & 0xff;
        if (((old ^ value) & A20) != 0) {
            a20Out.set(a20Enabled());
        }
        if ((old & FAST_RESET) == 0 && (value & FAST_RESET) != 0) {
            resetRequest.run();
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        value &= ~FAST_RESET;
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        out.writeByte(value);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("port 0x92", version);
        value = in.readUnsignedByte();
    }
}
