package org.jqemu.hw.isa;

import java.util.List;
import java.util.function.IntConsumer;

import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.DeviceCategory;
import org.jqemu.hw.DeviceConfig;
import org.jqemu.hw.DeviceContext;
import org.jqemu.hw.DeviceProperty;
import org.jqemu.hw.DeviceType;
import org.jqemu.hw.IoRegion;
import org.jqemu.hw.PropertyType;

/**
 * isa-debug-exit, for test guests: any write of VALUE to its ports ends the emulator with exit status
 * (VALUE << 1) | 1, so a guest can report success or failure. QEMU's defaults are iobase 0x501 and
 * iosize 2; tests commonly use iobase=0xf4,iosize=4. Reads return 0.
 */
public final class IsaDebugExit implements DeviceState.Stateless, IoRegion {
    // Registers and constants.
    public static final int DEFAULT_IOBASE = 0x501;
    public static final int DEFAULT_IOSIZE = 2;

    public static final DeviceType TYPE = new DeviceType("isa-debug-exit", DeviceCategory.MISC, "ISA", null, List.of(
            new DeviceProperty("iobase", PropertyType.UINT32, (long) DEFAULT_IOBASE, ""),
            new DeviceProperty("iosize", PropertyType.UINT32, (long) DEFAULT_IOSIZE, "")),
            config -> { }, IsaDebugExit::create);

    // State: none the guest can change.
    private final IntConsumer exit;

    public IsaDebugExit(IntConsumer exit) { this.exit = exit; }

    private static DeviceState create(DeviceConfig config, DeviceContext context) {
        IsaDebugExit device = new IsaDebugExit(context::exit);
        context.ioPorts().map(config.uint32("iobase"), config.uint32("iosize"), device, TYPE.name());
        return device;
    }

    /** The exit status for a written value; the host keeps its low 8 bits. */
    public static int exitStatus(int value) { return (value << 1) | 1; }

    // Guest-visible read/write.
    @Override
    public int read(int offset, int size) { return 0; }

    @Override
    public void write(int offset, int size, int value) { exit.accept(exitStatus(value)); }
}
