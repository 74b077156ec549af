package org.jqemu.hw.isa;

import java.util.List;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.DeviceCategory;
import org.jqemu.hw.DeviceConfig;
import org.jqemu.hw.DeviceContext;
import org.jqemu.hw.DeviceProperty;
import org.jqemu.hw.DeviceType;
import org.jqemu.hw.IoRegion;
import org.jqemu.hw.PropertyType;
import org.jqemu.util.FrontEnd.UserError;

/**
 * isa-debugcon, the Bochs/QEMU debug console: one I/O port (0xe9 by default; SeaBIOS logs to 0x402) where
 * every byte the guest writes goes to a character backend, and a read answers the "readback" value so a
 * guest can tell the port is there.
 */
public final class IsaDebugcon implements DeviceState.Stateless, IoRegion {
    // Registers and constants.
    public static final int DEFAULT_IOBASE = 0xe9;
    public static final int DEFAULT_READBACK = 0xe9;
    /** One port wide. */
    public static final int PORT_COUNT = 1;

    public static final DeviceType TYPE = new DeviceType("isa-debugcon", DeviceCategory.MISC, "ISA", null, List.of(
            new DeviceProperty("chardev", PropertyType.CHARDEV, null, "ID of a chardev to use as a backend"),
            new DeviceProperty("iobase", PropertyType.UINT32, (long) DEFAULT_IOBASE, ""),
            new DeviceProperty("readback", PropertyType.UINT32, (long) DEFAULT_READBACK, "")),
            IsaDebugcon::checkRealize, IsaDebugcon::create);

    // State: none the guest can change; the backend and readback value are configuration.
    private final CharBackend output;
    private final int readback;

    public IsaDebugcon(CharBackend output, int readback) {
        this.output = output;
        this.readback = readback;
    }

    private static void checkRealize(DeviceConfig config) {
        if (config.string("chardev") == null) throw new UserError("Can't create debugcon device, empty char device");
    }

    private static DeviceState create(DeviceConfig config, DeviceContext context) {
        IsaDebugcon device = new IsaDebugcon(context.chardev(config.string("chardev")), config.uint32("readback"));
        context.ioPorts().map(config.uint32("iobase"), PORT_COUNT, device, TYPE.name());
        return device;
    }

    // Guest-visible read/write.
    @Override
    public int read(int offset, int size) { return readback & 0xff; }

    @Override
    public void write(int offset, int size, int value) {
        output.write(value & 0xff);
    }
}
