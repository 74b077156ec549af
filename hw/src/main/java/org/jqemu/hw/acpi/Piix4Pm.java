package org.jqemu.hw.acpi;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.PortDevice;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.hw.pci.IoRemapper;
import org.jqemu.hw.pci.PciBus;
import org.jqemu.hw.pci.PciConfigSpace;
import org.jqemu.hw.pci.PciFunction;
import org.jqemu.hw.timer.VirtualClock;
import org.jqemu.memory.IrqLine;

/**
 * The power management function of the Intel 82371AB (PIIX4 PM, 8086:7113) as the {@code pc} machine has it
 * at 00:01.3: the ACPI PM1 event/control registers and the 24-bit PM timer (3.579545 MHz) in a 64-byte I/O
 * block whose base the guest programs at config 0x40 (PMBA) and enables with bit 0 of 0x80 (PMREGMISC);
 * the GPE0 block at 0xafe0 and the APM control port 0xb2 (ACPI enable 0xf1 / disable 0xf0) where QEMU's
 * ACPI tables put them. SCI is a level interrupt (IRQ9 on {@code pc}). Writing PM1 control with SUS_EN
 * requests a sleep state: type 0 (QEMU's _S5) and 2 (_S4) power the machine off, type 1 (_S3) suspends.
 */
public final class Piix4Pm implements PortDevice, PciFunction, DeviceState {
    // ---- registers and constants ----
    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_ID = 0x7113;
    private static final int REVISION = 0x03;
    private static final int CLASS_BRIDGE_OTHER = 0x068000;
    public static final long PM_TIMER_HZ = 3_579_545L;
    public static final int SCI_IRQ = 9;
    public static final int GPE0_BASE = 0xafe0;
    public static final int APM_CONTROL_PORT = 0xb2;
    public static final int ACPI_ENABLE = 0xf1;
    public static final int ACPI_DISABLE = 0xf0;

    private static final int PMBA = 0x40;
    private static final int PMBA_MASK = 0xffc0;
    /** DEVACTB byte 3, bit 1 (bit 25 of the register): a write to APM control raises SMI. */
    private static final int DEVACTB_BYTE3 = 0x5b;
    private static final int APMC_EN = 0x02;
    private static final int PMREGMISC = 0x80;
    private static final int PMIOSE = 0x01;
    private static final int SMBBA = 0x90;
    private static final int SMBHSTCFG = 0xd2;
    private static final int PM_BLOCK_SIZE = 64;
    private static final int GPE0_SIZE = 4;
    private static final int APM_SIZE = 2;

    private static final int PM1_STATUS = 0x00;
    private static final int PM1_ENABLE = 0x02;
    private static final int PM1_CONTROL = 0x04;
    private static final int PM_TIMER = 0x08;

    private static final int TMROF = 0x0001;
    private static final int GBL = 0x0020;
    private static final int PWRBTN = 0x0100;
    private static final int RTC = 0x0400;
    private static final int WAK = 0x8000;
    private static final int SCI_EVENTS = TMROF | GBL | PWRBTN | RTC;
    private static final int PM1_STATUS_BITS = SCI_EVENTS | 0x0010 | WAK;
    private static final int PM1_ENABLE_BITS = SCI_EVENTS;
    private static final int SCI_EN = 0x0001;
    private static final int SUS_TYPE_SHIFT = 10;
    private static final int SUS_TYPE_MASK = 0x7;
    private static final int SUS_EN = 0x2000;
    private static final int PM1_CONTROL_STORED = 0x1c07;
    private static final int TIMER_MASK = 0xffffff;
    private static final int TIMER_MSB_SHIFT = 23;

    private static final int SLEEP_S5 = 0;
    private static final int SLEEP_S3 = 1;

    // ---- state ----
    private final PciConfigSpace config = new PciConfigSpace(VENDOR_INTEL, DEVICE_ID, REVISION, CLASS_BRIDGE_OTHER, 0);
    private final VirtualClock clock;
    private final IrqLine sci;
    private final IoRemapper remapper;
    private final Runnable powerOff;
    private final Runnable suspend;
    private final VirtualClock.Timer overflowTimer;
    private Runnable smiRequest = () -> { };
    private int pm1Status;
    private int pm1Enable;
    private int pm1Control;
    private int gpeStatus;
    private int gpeEnable;
    private int apmControl;
    private int apmStatus;
    /** Other PM registers (processor control, GPIO...): kept, no effect. */
    private final byte[] otherRegisters = new byte[PM_BLOCK_SIZE];
    private long overflowCheckedTick;
    private boolean sciLevel;

    public Piix4Pm(PciBus bus, int device, int function, VirtualClock clock, IrqLine sci, IoRemapper remapper,
            Runnable powerOff, Runnable suspend) {
        this.clock = clock;
        this.sci = sci;
        this.remapper = remapper == null ? IoRemapper.NONE : remapper;
        this.powerOff = powerOff;
        this.suspend = suspend;
        this.overflowTimer = clock.newTimer(this::onOverflowTimer);
        config.setWritableRange(0x40, 0xc0);
        config.setWritable(PMBA, 4, PMBA_MASK);
        config.setWritable(PMREGMISC, 1, PMIOSE);
        config.setWritable(SMBBA, 4, 0xfff0);
        config.setWritable(SMBHSTCFG, 1, 0x0f);
        config.set(PciConfigSpace.INTERRUPT_PIN, 1, 1);
        bus.attach(device, function, this);
        reset();
    }

    /** Current PM I/O base, or -1 while the block is disabled. */
    public int pmBase() {
        int base = config.get(PMBA, 2) & PMBA_MASK;
        return (config.get(PMREGMISC, 1) & PMIOSE) != 0 && base != 0 ? base : -1;
    }

    @Override
    public List<PortRange> portRanges() {
        List<PortRange> ranges = new ArrayList<>();
        ranges.add(new PortRange(APM_CONTROL_PORT, APM_SIZE));
        ranges.add(new PortRange(GPE0_BASE, GPE0_SIZE));
        if (pmBase() >= 0) {
            ranges.add(new PortRange(pmBase(), PM_BLOCK_SIZE));
        }
        return ranges;
    }

    /** Called when the guest triggers an SMI through APM control (SeaBIOS's SMM set-up does). */
    public void onSmi(Runnable request) {
        smiRequest = request == null ? () -> { } : request;
    }

    /** The power button was pressed (monitor "system_powerdown"). */
    public void pressPowerButton() {
        pm1Status |= PWRBTN;
        updateSci();
    }

    /** GPE0 status bit {@code bit} set by a hot-plug or similar event source. */
    public void raiseGpe(int bit) {
        gpeStatus |= 1 << (bit & 15);
        updateSci();
    }

    private long timerTicks() {
        return VirtualClock.ticksAt(clock.nowNanos(), PM_TIMER_HZ);
    }

    // ---- guest-visible read/write ----
    @Override
    public int in(int port, int size) {
        long ticks = timerTicks();
        checkOverflow(ticks);
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= readByte(port + i, ticks) << (8 * i);
        }
        return value;
    }

    private int readByte(int port, long ticks) {
        if (port == APM_CONTROL_PORT) {
            return apmControl;
        }
        if (port == APM_CONTROL_PORT + 1) {
            return apmStatus;
        }
        if (port >= GPE0_BASE && port < GPE0_BASE + GPE0_SIZE) {
            int offset = port - GPE0_BASE;
            return (offset < 2 ? gpeStatus : gpeEnable) >>> (8 * (offset & 1)) & 0xff;
        }
        int base = pmBase();
        if (base < 0 || port < base || port >= base + PM_BLOCK_SIZE) {
            return 0xff;
        }
        int offset = port - base;
        int shift = 8 * (offset & 1);
        return switch (offset & ~1) {
            case PM1_STATUS -> pm1Status >>> shift & 0xff;
            case PM1_ENABLE -> pm1Enable >>> shift & 0xff;
            case PM1_CONTROL -> pm1Control >>> shift & 0xff;
            case PM_TIMER, PM_TIMER + 2 -> (int) ((ticks & TIMER_MASK) >>> (8 * (offset - PM_TIMER))) & 0xff;
            default -> otherRegisters[offset] & 0xff;
        };
    }

    @Override
    public void out(int port, int size, int value) {
        checkOverflow(timerTicks());
        for (int i = 0; i < size; i++) {
            writeByte(port + i, (value >>> (8 * i)) & 0xff);
        }
        updateSci();
        scheduleOverflow();
    }

    private void writeByte(int port, int value) {
        if (port == APM_CONTROL_PORT) {
            writeApmControl(value);
            return;
        }
        if (port == APM_CONTROL_PORT + 1) {
            apmStatus = value;
            return;
        }
        if (port >= GPE0_BASE && port < GPE0_BASE + GPE0_SIZE) {
            int offset = port - GPE0_BASE;
            int shifted = value << (8 * (offset & 1));
            if (offset < 2) {
                gpeStatus &= ~shifted;
            } else {
                gpeEnable = gpeEnable & ~(0xff << (8 * (offset & 1))) | shifted;
            }
            return;
        }
        int base = pmBase();
        if (base < 0 || port < base || port >= base + PM_BLOCK_SIZE) {
            return;
        }
        int offset = port - base;
        int shift = 8 * (offset & 1);
        int shifted = value << shift;
        int byteMask = 0xff << shift;
        switch (offset & ~1) {
            case PM1_STATUS -> pm1Status &= ~(shifted & PM1_STATUS_BITS);
            case PM1_ENABLE -> pm1Enable = (pm1Enable & ~byteMask | shifted) & PM1_ENABLE_BITS;
            case PM1_CONTROL -> writePm1Control(pm1Control & ~byteMask | shifted);
            case PM_TIMER, PM_TIMER + 2 -> { } // read-only
            default -> otherRegisters[offset] = (byte) value;
        }
    }

    private void writePm1Control(int value) {
        pm1Control = value & PM1_CONTROL_STORED;
        if ((value & SUS_EN) != 0) {
            int type = (value >>> SUS_TYPE_SHIFT) & SUS_TYPE_MASK;
            if (type == SLEEP_S3) {
                pm1Status |= WAK;
                suspend.run();
            } else if (type == SLEEP_S5 || type == 2) {
                powerOff.run();
            }
        }
    }

    /** APM control: QEMU's FADT names 0xb2 as SMI_CMD with these ACPI enable/disable values. */
    private void writeApmControl(int value) {
        apmControl = value;
        if (value == ACPI_ENABLE) {
            pm1Control |= SCI_EN;
        } else if (value == ACPI_DISABLE) {
            pm1Control &= ~SCI_EN;
        }
        if ((config.get(DEVACTB_BYTE3, 1) & APMC_EN) != 0) {
            smiRequest.run();
        }
    }

    private void updateSci() {
        boolean level = (pm1Control & SCI_EN) != 0
                && ((pm1Status & pm1Enable & SCI_EVENTS) != 0 || (gpeStatus & gpeEnable) != 0);
        if (level != sciLevel) {
            sciLevel = level;
            sci.set(level);
        }
    }

    /** TMROF_STS is set each time bit 23 of the PM timer changes. */
    private void checkOverflow(long ticks) {
        if (ticks >>> TIMER_MSB_SHIFT != overflowCheckedTick >>> TIMER_MSB_SHIFT) {
            pm1Status |= TMROF;
            updateSci();
        }
        overflowCheckedTick = ticks;
    }

    private void scheduleOverflow() {
        if ((pm1Enable & TMROF) != 0) {
            long next = ((overflowCheckedTick >>> TIMER_MSB_SHIFT) + 1) << TIMER_MSB_SHIFT;
            overflowTimer.arm(VirtualClock.nanosAtTick(next, PM_TIMER_HZ));
        } else {
            overflowTimer.cancel();
        }
    }

    private void onOverflowTimer() {
        checkOverflow(timerTicks());
        scheduleOverflow();
    }

    // ---- PCI configuration ----
    @Override
    public int configRead(int offset, int size) {
        return config.read(offset, size);
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        int before = pmBase();
        config.write(offset, size, value);
        if (pmBase() != before) {
            remapper.remap(this);
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        int before = pmBase();
        config.set(PciConfigSpace.COMMAND, 2, 0);
        config.set(PciConfigSpace.STATUS, 2, 0x0280);
        config.fill(0x40, 0xc0, 0);
        config.set(PMBA, 4, 0x1);
        config.set(SMBBA, 4, 0x1);
        pm1Status = 0;
        pm1Enable = 0;
        pm1Control = 0;
        gpeStatus = 0;
        gpeEnable = 0;
        apmControl = 0;
        apmStatus = 0;
        java.util.Arrays.fill(otherRegisters, (byte) 0);
        overflowCheckedTick = timerTicks();
        overflowTimer.cancel();
        updateSci();
        if (before != pmBase()) {
            remapper.remap(this);
        }
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        config.save(out);
        out.writeShort(pm1Status);
        out.writeShort(pm1Enable);
        out.writeShort(pm1Control);
        out.writeShort(gpeStatus);
        out.writeShort(gpeEnable);
        out.writeByte(apmControl);
        out.writeByte(apmStatus);
        out.write(otherRegisters);
        out.writeLong(overflowCheckedTick);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("PIIX4 PM", version);
        int before = pmBase();
        byte[] loaded = config.loadChecked(in);
        int status = in.readUnsignedShort();
        int enable = in.readUnsignedShort();
        int control = in.readUnsignedShort();
        int gpeSts = in.readUnsignedShort();
        int gpeEn = in.readUnsignedShort();
        int apmC = in.readUnsignedByte();
        int apmS = in.readUnsignedByte();
        byte[] other = new byte[PM_BLOCK_SIZE];
        in.readFully(other);
        long checked = in.readLong();
        if ((status & ~PM1_STATUS_BITS) != 0 || (enable & ~PM1_ENABLE_BITS) != 0
                || (control & ~PM1_CONTROL_STORED) != 0 || checked < 0) {
            throw new IOException("PIIX4 PM: invalid state");
        }
        config.restore(loaded);
        pm1Status = status;
        pm1Enable = enable;
        pm1Control = control;
        gpeStatus = gpeSts;
        gpeEnable = gpeEn;
        apmControl = apmC;
        apmStatus = apmS;
        System.arraycopy(other, 0, otherRegisters, 0, PM_BLOCK_SIZE);
        overflowCheckedTick = checked;
        updateSci();
        scheduleOverflow();
        if (before != pmBase()) {
            remapper.remap(this);
        }
    }
}
