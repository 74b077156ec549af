package org.jqemu.hw.intc;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.ByteIoPorts;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.memory.IrqLine;

/**
 * The PC's pair of Intel 8259A programmable interrupt controllers: the master at 0x20/0x21 takes IRQ 0-7,
 * the slave at 0xa0/0xa1 takes IRQ 8-15 and is cascaded into the master's IR2; the PIIX edge/level
 * control registers (ELCR) sit at 0x4d0/0x4d1.
 *
 * <p>Devices drive {@link #irq(int)}; the CPU polls {@link #hasInterrupt()} and runs the INTA cycle with
 * {@link #acknowledge()}; the INTR output line given to the constructor follows "an interrupt is pending"
 * so a halted CPU can wake. On an AT the ISA IRQ2 pin is wired to the slave's IR1, so {@code irq(2)} is
 * the same line as {@code irq(9)}.
 */
public final class I8259 implements ByteIoPorts, InterruptAcknowledge, DeviceState {
    // ---- registers and constants ----
    public static final int MASTER_BASE = 0x20;
    public static final int SLAVE_BASE = 0xa0;
    public static final int ELCR_BASE = 0x4d0;
    public static final int CASCADE_IRQ = 2;
    private static final int SPURIOUS_IR = 7;
    /** ELCR bits that exist: IRQ 0, 1, 2, 8 and 13 are always edge triggered on PIIX. */
    private static final int MASTER_ELCR_MASK = 0xf8;
    private static final int SLAVE_ELCR_MASK = 0xde;

    private static final int ICW1 = 0x10;
    private static final int ICW1_IC4 = 0x01;
    private static final int ICW1_SNGL = 0x02;
    private static final int ICW1_LTIM = 0x08;
    private static final int ICW4_AEOI = 0x02;
    private static final int ICW4_SFNM = 0x10;
    private static final int OCW3 = 0x08;
    private static final int OCW3_POLL = 0x04;
    private static final int OCW3_READ_REGISTER = 0x02;
    private static final int OCW3_READ_ISR = 0x01;
    private static final int OCW3_SET_SMM = 0x40;
    private static final int OCW3_SMM = 0x20;

    private static final int INIT_READY = 0;
    private static final int INIT_ICW2 = 1;
    private static final int INIT_ICW3 = 2;
    private static final int INIT_ICW4 = 3;

    /** One 8259A: its registers and the lines wired into it. */
    private static final class Chip {
        final int elcrMask;
        int irr;
        int isr;
        int imr;
        int elcr;
        /** Current level of each IR input (the edge detector's memory). */
        int inputLevels;
        int vectorBase;
        /** The IR with the highest priority; 0 after init, moved by rotation. */
        int highestPriority;
        int initStep;
        boolean icw4Expected;
        boolean single;
        boolean levelTriggeredAll;
        boolean autoEoi;
        boolean rotateOnAutoEoi;
        boolean specialFullyNested;
        boolean specialMask;
        boolean readIsr;
        boolean pollNext;

        Chip(int elcrMask) {
            this.elcrMask = elcrMask;
        }

        int levelMask() {
            return levelTriggeredAll ? 0xff : elcr;
        }

        void setInput(int ir, boolean high) {
            int bit = 1 << ir;
            boolean wasHigh = (inputLevels & bit) != 0;
            inputLevels = high ? inputLevels | bit : inputLevels & ~bit;
            if ((levelMask() & bit) != 0) {
                irr = high ? irr | bit : irr & ~bit;
            } else if (high && !wasHigh) {
                irr |= bit;
            }
        }

        /** Priority rank (0 = highest) of the best request in {@code mask}, or 8 when the mask is empty. */
        int bestRank(int mask) {
            if ((mask & 0xff) == 0) {
                return 8; // the CPU polls every instruction boundary with IF set: usually nothing is requested
            }
            for (int rank = 0; rank < 8; rank++) {
                if ((mask & (1 << ((rank + highestPriority) & 7))) != 0) {
                    return rank;
                }
            }
            return 8;
        }

        /** The IR this chip would present on INTA, or -1. */
        int pendingIr(boolean cascadeHere) {
            int requestRank = bestRank(irr & ~imr);
            if (requestRank == 8) {
                return -1;
            }
            int inService = isr;
            if (specialMask) {
                inService &= ~imr;
            }
            if (specialFullyNested && cascadeHere) {
                inService &= ~(1 << CASCADE_IRQ);
            }
            return requestRank < bestRank(inService) ? (requestRank + highestPriority) & 7 : -1;
        }

        /** INTA for {@code ir}: request becomes in service (unless auto-EOI), edge requests are consumed. */
        void accept(int ir) {
            int bit = 1 << ir;
            if ((levelMask() & bit) == 0) {
                irr &= ~bit;
            }
            if (autoEoi) {
                if (rotateOnAutoEoi) {
                    highestPriority = (ir + 1) & 7;
                }
            } else {
                isr |= bit;
            }
        }

        int highestInService() {
            int rank = bestRank(isr);
            return rank == 8 ? -1 : (rank + highestPriority) & 7;
        }

        void initialize(int icw1) {
            isr = 0;
            imr = 0;
            highestPriority = 0;
            specialMask = false;
            readIsr = false;
            pollNext = false;
            autoEoi = false;
            rotateOnAutoEoi = false;
            specialFullyNested = false;
            icw4Expected = (icw1 & ICW1_IC4) != 0;
            single = (icw1 & ICW1_SNGL) != 0;
            levelTriggeredAll = (icw1 & ICW1_LTIM) != 0;
            irr = levelMask() & inputLevels;
            initStep = INIT_ICW2;
        }

        void reset() {
            irr = 0;
            isr = 0;
            imr = 0;
            elcr = 0;
            inputLevels = 0;
            vectorBase = 0;
            highestPriority = 0;
            initStep = INIT_READY;
            icw4Expected = false;
            single = false;
            levelTriggeredAll = false;
            autoEoi = false;
            rotateOnAutoEoi = false;
            specialFullyNested = false;
            specialMask = false;
            readIsr = false;
            pollNext = false;
        }

        void copyFrom(Chip o) {
            irr = o.irr; isr = o.isr; imr = o.imr; elcr = o.elcr; inputLevels = o.inputLevels;
            vectorBase = o.vectorBase; highestPriority = o.highestPriority; initStep = o.initStep;
            icw4Expected = o.icw4Expected; single = o.single; levelTriggeredAll = o.levelTriggeredAll;
            autoEoi = o.autoEoi; rotateOnAutoEoi = o.rotateOnAutoEoi; specialFullyNested = o.specialFullyNested;
            specialMask = o.specialMask; readIsr = o.readIsr; pollNext = o.pollNext;
        }
    }

    // ---- state ----
    private final Chip master = new Chip(MASTER_ELCR_MASK);
    private final Chip slave = new Chip(SLAVE_ELCR_MASK);
    private final IrqLine intr;
    private final IrqLine[] lines = new IrqLine[16];
    private boolean intrLevel;

    public I8259(IrqLine intr) {
        this.intr = intr;
        for (int i = 0; i < 16; i++) {
            int irq = i == CASCADE_IRQ ? 9 : i;
            lines[i] = raised -> setIrq(irq, raised);
        }
        reset();
    }

    /** The input line for ISA IRQ {@code n} (0-15); IRQ2 is redirected to IRQ9 as on an AT. */
    public IrqLine irq(int n) {
        return lines[n & 15];
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(MASTER_BASE, 2), new PortRange(SLAVE_BASE, 2), new PortRange(ELCR_BASE, 2));
    }

    private void setIrq(int irq, boolean raised) {
        if (irq < 8) {
            master.setInput(irq, raised);
        } else {
            slave.setInput(irq - 8, raised);
        }
        update();
    }

    /** Propagates the slave's INT output into master IR2 and the master's into INTR. */
    private void update() {
        // The cascade input is followed as a level: the slave's INT output holds IR2 while it requests.
        int cascadeBit = 1 << CASCADE_IRQ;
        if (!master.single && slave.pendingIr(false) >= 0) {
            master.irr |= cascadeBit;
            master.inputLevels |= cascadeBit;
        } else if (!master.single) {
            master.irr &= ~cascadeBit;
            master.inputLevels &= ~cascadeBit;
        }
        boolean level = master.pendingIr(true) >= 0;
        if (level != intrLevel) {
            intrLevel = level;
            intr.set(level);
        }
    }

    // ---- guest-visible read/write ----
    @Override
    public boolean hasInterrupt() {
        // Every change of the chips' state ends in update(), which keeps intrLevel equal to
        // master.pendingIr(true) >= 0: the CPU polls this at every interpreted instruction with IF set.
        return intrLevel;
    }

    @Override
    public int acknowledge() {
        int vector;
        int ir = master.pendingIr(true);
        if (ir < 0) {
            vector = master.vectorBase | SPURIOUS_IR;
        } else {
            master.accept(ir);
            if (ir == CASCADE_IRQ && !master.single) {
                int slaveIr = slave.pendingIr(false);
                if (slaveIr < 0) {
                    vector = slave.vectorBase | SPURIOUS_IR;
                } else {
                    slave.accept(slaveIr);
                    vector = slave.vectorBase | slaveIr;
                }
            } else {
                vector = master.vectorBase | ir;
            }
        }
        update();
        return vector;
    }

    @Override
    public int inByte(int port) {
        return switch (port) {
            case MASTER_BASE -> readCommandPort(master, true);
            case MASTER_BASE + 1 -> master.imr;
            case SLAVE_BASE -> readCommandPort(slave, false);
            case SLAVE_BASE + 1 -> slave.imr;
            case ELCR_BASE -> master.elcr;
            case ELCR_BASE + 1 -> slave.elcr;
            default -> 0xff;
        };
    }

    private int readCommandPort(Chip chip, boolean isMaster) {
        if (chip.pollNext) {
            chip.pollNext = false;
            int ir = chip.pendingIr(isMaster);
            if (ir < 0) {
                return 0;
            }
            chip.accept(ir);
            update();
            return 0x80 | ir;
        }
        return chip.readIsr ? chip.isr : chip.irr;
    }

    @Override
    public void outByte(int port, int value) {
        value &= 0xff;
        switch (port) {
            case MASTER_BASE -> writeCommandPort(master, value);
            case MASTER_BASE + 1 -> writeDataPort(master, value);
            case SLAVE_BASE -> writeCommandPort(slave, value);
            case SLAVE_BASE + 1 -> writeDataPort(slave, value);
            case ELCR_BASE -> writeElcr(master, value);
            case ELCR_BASE + 1 -> writeElcr(slave, value);
            default -> { }
        }
        update();
    }

    private static void writeElcr(Chip chip, int value) {
        chip.elcr = value & chip.elcrMask;
        // A line switched to level mode requests while it is high; one switched to edge keeps its latch.
        chip.irr |= chip.levelMask() & chip.inputLevels;
    }

    private static void writeCommandPort(Chip chip, int value) {
        if ((value & ICW1) != 0) {
            chip.initialize(value);
        } else if ((value & OCW3) != 0) {
            writeOcw3(chip, value);
        } else {
            writeOcw2(chip, value);
        }
    }

    private static void writeOcw3(Chip chip, int value) {
        if ((value & OCW3_POLL) != 0) {
            chip.pollNext = true;
        }
        if ((value & OCW3_READ_REGISTER) != 0) {
            chip.readIsr = (value & OCW3_READ_ISR) != 0;
        }
        if ((value & OCW3_SET_SMM) != 0) {
            chip.specialMask = (value & OCW3_SMM) != 0;
        }
    }

    /** OCW2: bits 7-5 are R, SL, EOI; bits 2-0 the IR level for the specific forms. */
    private static void writeOcw2(Chip chip, int value) {
        int level = value & 7;
        switch (value >>> 5) {
            case 0b001 -> eoi(chip, chip.highestInService(), false);   // non-specific EOI
            case 0b011 -> eoi(chip, level, false);                     // specific EOI
            case 0b101 -> eoi(chip, chip.highestInService(), true);    // rotate on non-specific EOI
            case 0b111 -> eoi(chip, level, true);                      // rotate on specific EOI
            case 0b100 -> chip.rotateOnAutoEoi = true;
            case 0b000 -> chip.rotateOnAutoEoi = false;
            case 0b110 -> chip.highestPriority = (level + 1) & 7;      // set priority: level becomes lowest
            default -> { }                                             // 0b010: no operation
        }
    }

    private static void eoi(Chip chip, int ir, boolean rotate) {
        if (ir < 0) {
            return;
        }
        chip.isr &= ~(1 << ir);
        if (rotate) {
            chip.highestPriority = (ir + 1) & 7;
        }
    }

    private static void writeDataPort(Chip chip, int value) {
        switch (chip.initStep) {
            case INIT_ICW2 -> {
                chip.vectorBase = value & 0xf8;
                chip.initStep = !chip.single ? INIT_ICW3 : chip.icw4Expected ? INIT_ICW4 : INIT_READY;
            }
            case INIT_ICW3 -> chip.initStep = chip.icw4Expected ? INIT_ICW4 : INIT_READY;  // cascade wiring is fixed
            case INIT_ICW4 -> {
                chip.autoEoi = (value & ICW4_AEOI) != 0;
                chip.specialFullyNested = (value & ICW4_SFNM) != 0;
                chip.initStep = INIT_READY;
            }
            default -> chip.imr = value;
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        int masterLevels = master.inputLevels;
        int slaveLevels = slave.inputLevels;
        master.reset();
        slave.reset();
        // The wires stay where the devices hold them; only the edge latches forget.
        master.inputLevels = masterLevels & ~(1 << CASCADE_IRQ);
        slave.inputLevels = slaveLevels;
        update();
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        saveChip(master, out);
        saveChip(slave, out);
    }

    private static void saveChip(Chip c, DataOutput out) throws IOException {
        out.writeByte(c.irr);
        out.writeByte(c.isr);
        out.writeByte(c.imr);
        out.writeByte(c.elcr);
        out.writeByte(c.inputLevels);
        out.writeByte(c.vectorBase);
        out.writeByte(c.highestPriority);
        out.writeByte(c.initStep);
        boolean[] flags = {c.icw4Expected, c.single, c.levelTriggeredAll, c.autoEoi, c.rotateOnAutoEoi,
                c.specialFullyNested, c.specialMask, c.readIsr, c.pollNext};
        int bits = 0;
        for (int i = 0; i < flags.length; i++) {
            bits |= flags[i] ? 1 << i : 0;
        }
        out.writeShort(bits);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("i8259", version);
        Chip m = loadChip(in, MASTER_ELCR_MASK);
        Chip s = loadChip(in, SLAVE_ELCR_MASK);
        master.copyFrom(m);
        slave.copyFrom(s);
        update();
    }

    private static Chip loadChip(DataInput in, int elcrMask) throws IOException {
        Chip c = new Chip(elcrMask);
        c.irr = in.readUnsignedByte();
        c.isr = in.readUnsignedByte();
        c.imr = in.readUnsignedByte();
        c.elcr = in.readUnsignedByte();
        c.inputLevels = in.readUnsignedByte();
        c.vectorBase = in.readUnsignedByte();
        c.highestPriority = in.readUnsignedByte();
        c.initStep = in.readUnsignedByte();
        int bits = in.readUnsignedShort();
        if ((c.elcr & ~elcrMask) != 0 || (c.vectorBase & 7) != 0 || c.highestPriority > 7
                || c.initStep > INIT_ICW4 || bits >= 1 << 9) {
            throw new IOException("i8259: invalid state");
        }
        c.icw4Expected = (bits & 1) != 0;
        c.single = (bits & 2) != 0;
        c.levelTriggeredAll = (bits & 4) != 0;
        c.autoEoi = (bits & 8) != 0;
        c.rotateOnAutoEoi = (bits & 16) != 0;
        c.specialFullyNested = (bits & 32) != 0;
        c.specialMask = (bits & 64) != 0;
        c.readIsr = (bits & 128) != 0;
        c.pollNext = (bits & 256) != 0;
        return c;
    }
}
