package org.jqemu.hw.i386;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import org.jqemu.hw.DeviceConfig;
import org.jqemu.hw.DeviceContext;
import org.jqemu.hw.IoPortBus;
import org.jqemu.hw.IoRegion;
import org.jqemu.hw.acpi.Piix4Pm;
import org.jqemu.hw.chr.Serial16550;
import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.core.PhysicalMemory;
import org.jqemu.hw.core.PhysicalMemory.PamMode;
import org.jqemu.hw.intc.I8259;
import org.jqemu.hw.isa.I8042;
import org.jqemu.hw.isa.PortDevice;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.hw.isa.Port92;
import org.jqemu.hw.nvram.FwCfg;
import org.jqemu.hw.pci.I440fx;
import org.jqemu.hw.pci.PciBus;
import org.jqemu.hw.isa.Piix3;
import org.jqemu.hw.rtc.CmosLayout;
import org.jqemu.hw.rtc.Mc146818;
import org.jqemu.hw.timer.HostClock;
import org.jqemu.hw.timer.Hpet;
import org.jqemu.hw.timer.I8254;
import org.jqemu.memory.IrqLine;

/**
 * The {@code pc} machine (i440FX + PIIX3, QEMU's hw/i386/pc.c and pc_piix.c role) without its CPU: physical
 * memory ({@link PhysicalMemory}, laid out per {@link PcLayout}), the I/O port bus with the 8259 pair,
 * 8254, MC146818 (CMOS filled for -m), COM1 16550A, fw_cfg, port 0x92 and the i8042, the PCI host bridge
 * with PIIX3 and PIIX4 PM, the HPET at 0xfed00000 unless {@code hpet=off} (the 8254's and the RTC's
 * interrupts pass through it, for its LegacyReplacement route), and the -device list. The CPU lives in the front end, which connects to the
 * machine through {@link Host} (A20, reset, power-off, exit) and {@link #pic()} (INTR and INTA).
 *
 * <p>Firmware: with a kernel the machine boots Linux directly ({@link LinuxBoot}, no BIOS runs: the
 * machine itself does the little a firmware would for Linux: PAM to DRAM, A20 on, PIIX4 PM at 0x600,
 * ACPI tables) and the CPU starts at {@link #bootEntryEip()} in real mode; without one the BIOS image is
 * mapped at the top of 4 GiB (its last 128 KiB aliased at 0xe0000) and the CPU starts at the reset vector.
 */
public final class PcMachine {
    /** What the machine needs from the front end that owns the CPU and the main loop. */
    public interface Host {
        void setA20(boolean enabled);

        /** A reset line was pulsed (port 0x92, 8042, 0xcf9): reset everything at the next slice boundary. */
        void requestReset();

        /** ACPI soft-off. */
        void powerOff();

        /** isa-debug-exit. */
        void exit(int status);
    }

    /** The machine's configuration, already checked by the front end. */
    public record Config(long ramSize, BzImage kernel, byte[] initrd, String append, byte[] bios,
            List<CharBackend> serials, List<DeviceConfig> devices, Function<String, CharBackend> chardevs,
            boolean nographic, boolean hpet) { }

    private final Config config;
    private final Host host;
    private final HostClock clock = new HostClock();
    private final PhysicalMemory memory;
    private final IoPortBus io = new IoPortBus();
    private final Map<PortDevice, List<IoRegion>> mappedPorts = new HashMap<>();
    private final List<DeviceState> resettable = new ArrayList<>();
    private final List<DeviceState> extraDevices = new ArrayList<>();
    private final I8259 pic;
    private final Mc146818 rtc;
    private final Serial16550 serial;
    private final List<Serial16550> serialPorts = new ArrayList<>();
    private final FwCfg fwCfg;
    private final Port92 port92;
    private final I8042 i8042;
    private final Piix4Pm pm;
    private final I440fx hostBridge;
    private final Hpet hpet;
    private volatile boolean intr;
    private Runnable intrListener = () -> { };

    public PcMachine(Config config, Host host) {
        this.config = config;
        this.host = host;
        long low = PcLayout.lowMemory(config.ramSize());
        memory = new PhysicalMemory(config.ramSize(), low);

        pic = register(new I8259(raised -> {
            intr = raised;
            if (raised) {
                intrListener.run();
            }
        }), "i8259");
        hpet = config.hpet() ? createHpet() : null;
        IrqLine pitIrq = hpet != null ? hpet.pitInput() : pic.irq(PcLayout.IRQ_PIT);
        IrqLine rtcIrq = hpet != null ? hpet.rtcInput() : pic.irq(PcLayout.IRQ_RTC);
        register(new I8254(clock, pitIrq), "i8254");
        rtc = register(new Mc146818(clock, rtcIrq, System.currentTimeMillis() * 1_000_000L), "mc146818rtc");
        createSerialPorts(config.serials());
        serial = serialPorts.get(0);
        fwCfg = register(new FwCfg(memory), "fw_cfg");
        port92 = register(new Port92(raised -> updateA20(), host::requestReset), "port92");
        i8042 = register(new I8042(pic.irq(PcLayout.IRQ_KEYBOARD), pic.irq(PcLayout.IRQ_MOUSE), raised -> updateA20(),
                host::requestReset), "i8042");

        PciBus bus = new PciBus();
        Piix3 piix3 = new Piix3(bus, PcLayout.PCI_SLOT_PIIX, pic::irq, host::requestReset);
        resettable.add(piix3);
        hostBridge = register(new I440fx(bus, piix3.resetControlRegister(), new I440fx.Listener() {
            @Override
            public void pamChanged(long base, int size, boolean readDram, boolean writeDram) {
                memory.setPam(base, size, readDram ? (writeDram ? PamMode.DRAM : PamMode.READ_DRAM)
                        : (writeDram ? PamMode.WRITE_DRAM : PamMode.ROM));
            }
        }), "i440FX");
        pm = register(new Piix4Pm(bus, PcLayout.PCI_SLOT_PIIX, PcLayout.PCI_FN_PIIX4_PM, clock, pic.irq(PcLayout.IRQ_SCI),
                this::remap, host::powerOff, () -> { }), "PIIX4_PM");

        createDevices();
        setupFirmware(low);
    }

    /**
     * The HPET between the 8254/RTC and IRQ0/IRQ8. Its own routes lead to I/O APIC inputs, and this machine
     * has no I/O APIC: only the LegacyReplacement route delivers its interrupts (what Linux uses here).
     */
    private Hpet createHpet() {
        Hpet device = new Hpet(clock, pic.irq(PcLayout.IRQ_PIT), pic.irq(PcLayout.IRQ_RTC), route -> IrqLine.none());
        memory.addMmio(PcLayout.HPET, Hpet.REGION_SIZE, device, "hpet");
        resettable.add(device);
        return device;
    }

    /** COM1-COM4 as QEMU's pc wires them; a null backend leaves that port out (-serial none). */
    private void createSerialPorts(List<CharBackend> backends) {
        for (int i = 0; i < SERIAL_BASES.length; i++) {
            CharBackend backend = i < backends.size() ? backends.get(i) : null;
            Serial16550 port = null;
            if (backend != null) {
                port = register(new Serial16550(SERIAL_BASES[i], clock, pic.irq(SERIAL_IRQS[i])), "isa-serial");
                port.attach(backend);
            }
            serialPorts.add(port);
        }
    }

    private static final int[] SERIAL_BASES = {Serial16550.COM1_BASE, Serial16550.COM2_BASE, Serial16550.COM3_BASE, Serial16550.COM4_BASE};
    private static final int[] SERIAL_IRQS = {Serial16550.COM1_IRQ, Serial16550.COM2_IRQ, Serial16550.COM3_IRQ, Serial16550.COM4_IRQ};

    private <T extends PortDevice & DeviceState> T register(T device, String name) {
        mapPorts(device, name);
        resettable.add(device);
        return device;
    }

    private void mapPorts(PortDevice device, String name) {
        List<IoRegion> regions = new ArrayList<>();
        for (PortRange range : device.portRanges()) {
            int base = range.base();
            IoRegion region = new IoRegion() {
                @Override public int read(int offset, int size) { return device.in(base + offset, size); }
                @Override public void write(int offset, int size, int value) { device.out(base + offset, size, value); }
            };
            io.map(base, range.length(), region, name);
            regions.add(region);
        }
        mappedPorts.put(device, regions);
    }

    /** A device moved its ports (PIIX4 PM's PMBA): drop the old ranges, claim the new. */
    private void remap(PortDevice device) {
        List<IoRegion> old = mappedPorts.remove(device);
        if (old != null) {
            old.forEach(io::unmap);
        }
        mapPorts(device, device.getClass().getSimpleName());
    }

    private void updateA20() {
        boolean enabled = (port92 != null && port92.a20Enabled()) || (i8042 != null && i8042.a20Enabled());
        host.setA20(enabled);
    }

    private void createDevices() {
        DeviceContext context = new DeviceContext() {
            @Override public IoPortBus ioPorts() { return io; }
            @Override public CharBackend chardev(String id) { return config.chardevs().apply(id); }
            @Override public void exit(int status) { host.exit(status); }
        };
        for (DeviceConfig device : config.devices()) {
            extraDevices.add(device.type().factory().create(device, context));
        }
    }

    private void setupFirmware(long low) {
        CmosLayout.setMemory(rtc, low, memory.highRamSize());
        CmosLayout.setCpuCount(rtc, 1);
        CmosLayout.setFloppiesAndEquipment(rtc, CmosLayout.FLOPPY_NONE, CmosLayout.FLOPPY_NONE);
        CmosLayout.setBootOrder(rtc, "cad", true);
        fwCfg.addLe64(FwCfg.KEY_RAM_SIZE, config.ramSize());
        fwCfg.addLe16(FwCfg.KEY_NOGRAPHIC, config.nographic() ? 1 : 0);
        fwCfg.addLe16(FwCfg.KEY_NB_CPUS, 1);
        fwCfg.addLe16(FwCfg.KEY_MAX_CPUS, 1);
        fwCfg.addLe16(FwCfg.KEY_BOOT_MENU, 0);
        fwCfg.addFile("etc/e820", E820.encode(E820.ramOnly(low, memory.highRamSize())));
        if (config.nographic() && serial != null) {
            fwCfg.addFile("etc/sercon-port", new byte[] {(byte) PcLayout.PORT_COM1, (byte) (PcLayout.PORT_COM1 >> 8)});
        }
        if (config.kernel() == null && config.bios() != null) {
            byte[] bios = config.bios();
            memory.addRom(PcLayout.FOUR_GIB - bios.length, bios, "pc.bios");
            int alias = (int) Math.min(bios.length, PcLayout.BIOS_AREA_SIZE);
            byte[] isaBios = java.util.Arrays.copyOfRange(bios, bios.length - alias, bios.length);
            memory.addPamRom(PcLayout.HIGH_MEMORY - alias, isaBios, "isa-bios");
        }
    }

    /**
     * Power-on or reset: every device to its reset state; with a kernel, the direct-boot preparation and
     * load again (as QEMU's linuxboot ROM reloads it on each boot).
     */
    public void reset() throws LinuxBoot.BootException {
        for (DeviceState d : resettable) {
            d.reset();
        }
        for (DeviceState d : extraDevices) {
            d.reset();
        }
        // The CPU has no SMM: mark the PIIX4's APMC SMI as already set up (DEVACTB bit 25, config byte 0x5b
        // bit 1), as QEMU does without SMM, so SeaBIOS does not wait for an SMI handler that never runs.
        pciConfigWrite(PcLayout.PCI_SLOT_PIIX, PcLayout.PCI_FN_PIIX4_PM, PIIX4_DEVACTB_BYTE3, 1, PIIX4_APMC_EN_BYTE3);
        if (config.kernel() != null) {
            prepareDirectBoot();
        }
    }

    private static final int PIIX4_DEVACTB_BYTE3 = 0x5b;
    private static final int PIIX4_APMC_EN_BYTE3 = 0x02;

    private void prepareDirectBoot() throws LinuxBoot.BootException {
        // What SeaBIOS would have done before the kernel: shadow RAM everywhere, A20 on, PM block at 0x600.
        for (int region = 0; region < I440fx.PAM_COUNT; region++) {
            pciConfigWrite(0, 0, I440fx.PAM0 + region, 1, 0x33);
        }
        io.out(PcLayout.PORT_SYSTEM_A, 1, 0x02);
        pciConfigWrite(PcLayout.PCI_SLOT_PIIX, PcLayout.PCI_FN_PIIX4_PM, 0x40, 4, PcLayout.PORT_PM_BASE | 1);
        pciConfigWrite(PcLayout.PCI_SLOT_PIIX, PcLayout.PCI_FN_PIIX4_PM, 0x80, 1, 1);
        byte[] acpi = AcpiTables.build(PcLayout.ACPI_TABLES, PcLayout.PORT_PM_BASE, hpet != null);
        memory.writeRam(PcLayout.ACPI_TABLES, acpi);
        List<E820.Entry> e820 = E820.forRam(memory.lowRamSize(), memory.highRamSize());
        LinuxBoot.load(memory, config.kernel(), config.initrd(), config.append(), e820,
                PcLayout.ACPI_TABLES + AcpiTables.RSDP_OFFSET);
    }

    /** A configuration-mechanism-#1 write, as firmware does it through 0xcf8/0xcfc. */
    private void pciConfigWrite(int device, int function, int offset, int size, int value) {
        io.out(I440fx.CONFIG_ADDRESS_PORT, 4, 0x8000_0000 | device << 11 | function << 8 | (offset & 0xfc));
        io.out(I440fx.CONFIG_DATA_PORT + (offset & 3), size, value);
    }

    /** Whether the CPU starts at {@link #bootEntryEip()} (real mode, CS = 0) instead of the reset vector. */
    public boolean directBoot() { return config.kernel() != null; }

    public long bootEntryEip() { return PcLayout.BOOT_STUB; }

    public PhysicalMemory memory() { return memory; }

    public IoPortBus ioPorts() { return io; }

    public HostClock clock() { return clock; }

    /** The interrupt controller the CPU acknowledges. */
    public I8259 pic() { return pic; }

    /** INTR as the PIC drives it. */
    public boolean intr() { return intr; }

    /** Called (on the machine thread) when INTR rises, so a halted CPU can be woken. */
    public void onIntr(Runnable listener) { intrListener = listener; }

    public Serial16550 serial() { return serial; }

    /** COM1-COM4 in order; null where the port is absent. */
    public List<Serial16550> serialPorts() { return java.util.Collections.unmodifiableList(serialPorts); }

    public FwCfg fwCfg() { return fwCfg; }

    public Piix4Pm pm() { return pm; }

    public I440fx hostBridge() { return hostBridge; }

    /** The HPET, or null with {@code hpet=off}. */
    public Hpet hpet() { return hpet; }
}
