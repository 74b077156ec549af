package org.jqemu.hw.pci;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.PortDevice;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.memory.IoPorts;

/**
 * The Intel 82441FX PCI and memory controller (i440FX host bridge): PCI configuration mechanism #1 at
 * 0xcf8 (32-bit address register) / 0xcfc-0xcff (data), and its own function 00:00.0 (8086:1237) with
 * the PAM registers 0x59-0x5f that decide whether reads and writes of 0xc0000-0xfffff reach DRAM or the
 * ROM/PCI side (BIOS shadowing), and the SMRAM control register 0x72.
 *
 * <p>A byte access to 0xcf9 is PIIX3's reset control register, handed to {@code resetControl}.
 */
public final class I440fx implements PortDevice, PciFunction, DeviceState {
    // ---- registers and constants ----
    public static final int CONFIG_ADDRESS_PORT = 0xcf8;
    public static final int CONFIG_DATA_PORT = 0xcfc;
    public static final int RESET_CONTROL_PORT = 0xcf9;
    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_ID = 0x1237;
    private static final int REVISION = 0x02;
    private static final int CLASS_HOST_BRIDGE = 0x060000;

    private static final int CONFIG_ENABLE = 0x80000000;
    private static final int CONFIG_ADDRESS_MASK = 0x80fffffc;

    public static final int PAM0 = 0x59;
    public static final int PAM_COUNT = 7;
    public static final int SMRAM = 0x72;
    /** The 13 PAM regions: index 0 is 0xf0000-0xfffff (PAM0 high nibble), 1-12 are 16 KiB from 0xc0000. */
    public static final int PAM_REGIONS = 13;
    private static final long BIOS_AREA = 0xf0000;
    private static final int BIOS_AREA_SIZE = 0x10000;
    private static final long EXPANSION_AREA = 0xc0000;
    private static final int EXPANSION_SEGMENT = 0x4000;
    private static final int PAM_READ_ENABLE = 0x1;
    private static final int PAM_WRITE_ENABLE = 0x2;

    private static final int SMRAM_D_OPEN = 0x40;
    private static final int SMRAM_D_CLS = 0x20;
    private static final int SMRAM_D_LCK = 0x10;
    private static final int SMRAM_G_SMRAME = 0x08;
    private static final int SMRAM_C_BASE_SEG = 0x02;
    private static final int SMRAM_WRITABLE = SMRAM_D_OPEN | SMRAM_D_CLS | SMRAM_D_LCK | SMRAM_G_SMRAME;

    /** What the machine does with the bridge's memory decoding. */
    public interface Listener {
        /** PAM region {@code base}/{@code size}: reads (and writes) go to DRAM when the flag is set. */
        default void pamChanged(long base, int size, boolean readDram, boolean writeDram) { }

        /** SMRAM register changed: {@code open} means the 0xa0000-0xbffff DRAM is visible outside SMM. */
        default void smramChanged(boolean enabled, boolean open, boolean closed, boolean locked) { }
    }

    // ---- state ----
    private final PciBus bus;
    private final IoPorts resetControl;
    private final Listener listener;
    private final PciConfigSpace config = new PciConfigSpace(VENDOR_INTEL, DEVICE_ID, REVISION, CLASS_HOST_BRIDGE, 0);
    private int configAddress;

    /**
     * @param bus PCI bus 0; the bridge attaches itself at 00:00.0
     * @param resetControl PIIX3's reset control register for byte accesses to 0xcf9 (may be null)
     */
    public I440fx(PciBus bus, IoPorts resetControl, Listener listener) {
        this.bus = bus;
        this.resetControl = resetControl == null ? IoPorts.NONE : resetControl;
        this.listener = listener == null ? new Listener() { } : listener;
        config.setWritableRange(0x50, 0x30);    // PMCCFG .. DRB, FDHC, MTT, CLT: plain storage
        config.setWritable(SMRAM, 1, SMRAM_WRITABLE); // with the locking rules of writeSmram
        config.setWritableRange(0x90, 4);       // ERRCMD, ERRSTS
        bus.attach(0, 0, this);
        reset();
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(CONFIG_ADDRESS_PORT, 4), new PortRange(CONFIG_DATA_PORT, 4));
    }

    public boolean pamReadsDram(int region) {
        return (pamAttributes(region) & PAM_READ_ENABLE) != 0;
    }

    public boolean pamWritesDram(int region) {
        return (pamAttributes(region) & PAM_WRITE_ENABLE) != 0;
    }

    public static long pamRegionBase(int region) {
        return region == 0 ? BIOS_AREA : EXPANSION_AREA + (long) (region - 1) * EXPANSION_SEGMENT;
    }

    public static int pamRegionSize(int region) {
        return region == 0 ? BIOS_AREA_SIZE : EXPANSION_SEGMENT;
    }

    private int pamAttributes(int region) {
        if (region == 0) {
            return config.get(PAM0, 1) >>> 4 & 3;
        }
        int reg = config.get(PAM0 + (region + 1) / 2, 1);
        return (region % 2 == 1 ? reg : reg >>> 4) & 3;
    }

    // ---- guest-visible read/write: configuration mechanism #1 ----
    @Override
    public int in(int port, int size) {
        if (port == CONFIG_ADDRESS_PORT && size == 4) {
            return configAddress;
        }
        if (port == RESET_CONTROL_PORT && size == 1) {
            return resetControl.in(port, 1);
        }
        if (port >= CONFIG_DATA_PORT && port < CONFIG_DATA_PORT + 4 && (configAddress & CONFIG_ENABLE) != 0) {
            int offset = (configAddress & 0xfc) + (port & 3);
            if (PciConfigSpace.validAccess(offset, size)) {
                return bus.configRead(configAddress >>> 16 & 0xff, configAddress >>> 8 & 0xff, offset, size);
            }
        }
        return size == 4 ? -1 : (1 << (8 * size)) - 1;
    }

    @Override
    public void out(int port, int size, int value) {
        if (port == CONFIG_ADDRESS_PORT && size == 4) {
            configAddress = value & CONFIG_ADDRESS_MASK;
        } else if (port == RESET_CONTROL_PORT && size == 1) {
            resetControl.out(port, 1, value);
        } else if (port >= CONFIG_DATA_PORT && port < CONFIG_DATA_PORT + 4 && (configAddress & CONFIG_ENABLE) != 0) {
            int offset = (configAddress & 0xfc) + (port & 3);
            if (PciConfigSpace.validAccess(offset, size)) {
                bus.configWrite(configAddress >>> 16 & 0xff, configAddress >>> 8 & 0xff, offset, size, value);
            }
        }
    }

    // ---- guest-visible read/write: the bridge's own configuration space ----
    @Override
    public int configRead(int offset, int size) {
        return config.read(offset, size);
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        if (!PciConfigSpace.validAccess(offset, size)) {
            return;
        }
        boolean[] before = new boolean[PAM_REGIONS * 2];
        for (int r = 0; r < PAM_REGIONS; r++) {
            before[2 * r] = pamReadsDram(r);
            before[2 * r + 1] = pamWritesDram(r);
        }
        int oldSmram = config.get(SMRAM, 1);
        config.write(offset, size, value);
        if (offset <= SMRAM && SMRAM < offset + size) {
            writeSmram(oldSmram, (value >>> (8 * (SMRAM - offset))) & 0xff);
        }
        for (int r = 0; r < PAM_REGIONS; r++) {
            if (before[2 * r] != pamReadsDram(r) || before[2 * r + 1] != pamWritesDram(r)) {
                listener.pamChanged(pamRegionBase(r), pamRegionSize(r), pamReadsDram(r), pamWritesDram(r));
            }
        }
    }

    /** Once D_LCK is set, D_OPEN is forced to 0 and D_LCK/D_OPEN stay read-only until reset. */
    private void writeSmram(int old, int value) {
        int next = (old & ~SMRAM_WRITABLE) | (value & SMRAM_WRITABLE) | SMRAM_C_BASE_SEG;
        if ((old & SMRAM_D_LCK) != 0) {
            next = (next & ~(SMRAM_D_OPEN | SMRAM_D_LCK)) | SMRAM_D_LCK;
        }
        if ((next & SMRAM_D_LCK) != 0) {
            next &= ~SMRAM_D_OPEN;
        }
        config.set(SMRAM, 1, next);
        if (next != old) {
            listener.smramChanged((next & SMRAM_G_SMRAME) != 0, (next & SMRAM_D_OPEN) != 0,
                    (next & SMRAM_D_CLS) != 0, (next & SMRAM_D_LCK) != 0);
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        config.set(PciConfigSpace.COMMAND, 2, 0x0006);
        config.set(PciConfigSpace.STATUS, 2, 0x0280);
        config.fill(0x50, 0x30, 0);
        config.set(0x57, 1, 0x01);       // DRAMC
        config.set(0x58, 1, 0x10);       // DRAMT
        config.set(0x60, 4, 0x01010101); // DRB0-3: 8 MiB boundaries
        config.set(0x64, 4, 0x01010101);
        config.set(SMRAM, 1, SMRAM_C_BASE_SEG);
        configAddress = 0;
        for (int r = 0; r < PAM_REGIONS; r++) {
            listener.pamChanged(pamRegionBase(r), pamRegionSize(r), false, false);
        }
        listener.smramChanged(false, false, false, false);
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        config.save(out);
        out.writeInt(configAddress);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("i440FX", version);
        byte[] loaded = config.loadChecked(in);
        int address = in.readInt();
        int smram = loaded[SMRAM] & 0xff;
        if ((address & ~CONFIG_ADDRESS_MASK) != 0 || (smram & ~(SMRAM_WRITABLE | 7)) != 0
                || (smram & 7) != SMRAM_C_BASE_SEG) {
            throw new IOException("i440FX: invalid state");
        }
        config.restore(loaded);
        configAddress = address;
        for (int r = 0; r < PAM_REGIONS; r++) {
            listener.pamChanged(pamRegionBase(r), pamRegionSize(r), pamReadsDram(r), pamWritesDram(r));
        }
        listener.smramChanged((smram & SMRAM_G_SMRAME) != 0, (smram & SMRAM_D_OPEN) != 0,
                (smram & SMRAM_D_CLS) != 0, (smram & SMRAM_D_LCK) != 0);
    }
}
