package org.jqemu.hw.isa;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.function.IntFunction;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.pci.PciBus;
import org.jqemu.hw.pci.PciConfigSpace;
import org.jqemu.hw.pci.PciFunction;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.IrqLine;

/**
 * The Intel 82371SB (PIIX3) PCI-to-ISA bridge, function 0 (8086:7000): the PIRQ route control registers
 * 0x60-0x63 that steer the four PCI interrupt lines PIRQA-D onto ISA IRQs, and the reset control register
 * at I/O 0xcf9 (reached through the host bridge). The ELCR that makes those IRQs level triggered lives in
 * the PIC model ({@code I8259}).
 *
 * <p>PCI devices get their interrupt wire from {@link #pirq(int)} with {@link #pirqForSlot}: on the
 * {@code pc} machine INTA of slot s drives PIRQ (s - 1) mod 4, the next pins the following ones.
 */
public final class Piix3 implements PciFunction, DeviceState {
    // ---- registers and constants ----
    public static final int VENDOR_INTEL = 0x8086;
    public static final int DEVICE_ID = 0x7000;
    private static final int CLASS_ISA_BRIDGE = 0x060100;
    public static final int PIRQ_ROUTE = 0x60;
    public static final int PIRQ_COUNT = 4;
    private static final int PIRQ_DISABLED = 0x80;
    private static final int PIRQ_IRQ_MASK = 0x0f;
    /** ISA IRQs a PIRQ may be routed to; 0-2, 8 and 13 are reserved. */
    private static final int ROUTABLE_IRQS = 0xdef8;
    private static final int RESET_CONTROL_RESET_CPU = 0x04;
    private static final int RESET_CONTROL_STORED = 0x0a;

    // ---- state ----
    private final PciConfigSpace config = new PciConfigSpace(VENDOR_INTEL, DEVICE_ID, 0, CLASS_ISA_BRIDGE,
            PciConfigSpace.HEADER_MULTI_FUNCTION);
    private final IntFunction<IrqLine> isaIrq;
    private final Runnable resetRequest;
    private final IrqLine[] pirqLines = new IrqLine[PIRQ_COUNT];
    private final boolean[] pirqLevels = new boolean[PIRQ_COUNT];
    /** Level last driven on each ISA IRQ by the router, so only changes are sent. */
    private final boolean[] driven = new boolean[16];
    private int resetControl;

    /**
     * @param isaIrq the PIC input for an ISA IRQ number
     * @param resetRequest called when the guest writes the reset bit of 0xcf9
     */
    public Piix3(PciBus bus, int device, IntFunction<IrqLine> isaIrq, Runnable resetRequest) {
        this.isaIrq = isaIrq;
        this.resetRequest = resetRequest;
        config.setWritableRange(0x40, 0xc0); // IORT, XBCS, TOM, MBIRQ, APICBASE, SMI registers: plain storage
        config.setWritable(PIRQ_ROUTE, 4, 0x8f8f8f8f);
        for (int n = 0; n < PIRQ_COUNT; n++) {
            int pirq = n;
            pirqLines[n] = level -> setPirq(pirq, level);
        }
        bus.attach(device, 0, this);
        reset();
    }

    /** The wire of PCI interrupt PIRQA-D ({@code n} 0-3). */
    public IrqLine pirq(int n) {
        return pirqLines[n & 3];
    }

    /** PIRQ index driven by interrupt pin {@code pin} (0 = INTA .. 3 = INTD) of a device in {@code slot}. */
    public static int pirqForSlot(int slot, int pin) {
        return (slot - 1 + pin) & 3;
    }

    /** The reset control register, for the host bridge to forward byte accesses of 0xcf9 to. */
    public IoPorts resetControlRegister() {
        return new IoPorts() {
            @Override
            public int in(int port, int size) {
                return resetControl;
            }

            @Override
            public void out(int port, int size, int value) {
                resetControl = value & RESET_CONTROL_STORED;
                if ((value & RESET_CONTROL_RESET_CPU) != 0) {
                    resetRequest.run();
                }
            }
        };
    }

    /** ISA IRQ that PIRQ {@code n} is routed to, or -1 when disabled or routed to a reserved IRQ. */
    public int routedIrq(int n) {
        int route = config.get(PIRQ_ROUTE + n, 1);
        int irq = route & PIRQ_IRQ_MASK;
        return (route & PIRQ_DISABLED) != 0 || (ROUTABLE_IRQS & 1 << irq) == 0 ? -1 : irq;
    }

    private void setPirq(int n, boolean level) {
        pirqLevels[n] = level;
        updateIsaIrqs();
    }

    /** Each ISA IRQ is the OR of the PIRQs routed to it (PCI interrupts are shared, level, active high here). */
    private void updateIsaIrqs() {
        boolean[] levels = new boolean[16];
        for (int n = 0; n < PIRQ_COUNT; n++) {
            int irq = routedIrq(n);
            if (irq >= 0 && pirqLevels[n]) {
                levels[irq] = true;
            }
        }
        for (int irq = 0; irq < 16; irq++) {
            if (levels[irq] != driven[irq]) {
                driven[irq] = levels[irq];
                isaIrq.apply(irq).set(levels[irq]);
            }
        }
    }

    // ---- guest-visible read/write ----
    @Override
    public int configRead(int offset, int size) {
        return config.read(offset, size);
    }

    @Override
    public void configWrite(int offset, int size, int value) {
        config.write(offset, size, value);
        if (offset < PIRQ_ROUTE + PIRQ_COUNT && offset + size > PIRQ_ROUTE) {
            updateIsaIrqs();
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        config.set(PciConfigSpace.COMMAND, 2, 0x0007);
        config.set(PciConfigSpace.STATUS, 2, 0x0200);
        config.fill(0x40, 0xc0, 0);
        config.set(0x4c, 1, 0x4d);       // IORT
        config.set(0x4e, 1, 0x03);       // XBCS
        config.set(PIRQ_ROUTE, 4, 0x80808080);
        config.set(0x69, 1, 0x02);       // TOM
        config.set(0x70, 1, 0x80);       // MBIRQ0
        config.set(0x76, 2, 0x0c0c);     // MBDMA
        config.set(0x80, 1, 0x00);       // APICBASE
        resetControl = 0;
        updateIsaIrqs();
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        config.save(out);
        out.writeByte(resetControl);
        for (boolean level : pirqLevels) {
            out.writeBoolean(level);
        }
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("PIIX3", version);
        byte[] loaded = config.loadChecked(in);
        int rc = in.readUnsignedByte();
        boolean[] levels = new boolean[PIRQ_COUNT];
        for (int n = 0; n < PIRQ_COUNT; n++) {
            levels[n] = in.readBoolean();
        }
        if ((rc & ~RESET_CONTROL_STORED) != 0) {
            throw new IOException("PIIX3: invalid reset control value");
        }
        config.restore(loaded);
        resetControl = rc;
        System.arraycopy(levels, 0, pirqLevels, 0, PIRQ_COUNT);
        updateIsaIrqs();
    }
}
