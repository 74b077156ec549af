package org.jqemu.hw.chr;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.ByteIoPorts;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.hw.timer.VirtualClock;
import org.jqemu.memory.IrqLine;

/**
 * The NS16550A UART (isa-serial): eight registers from {@code base}, 16-byte receive FIFO with trigger
 * levels 1/4/8/14 and the four-character timeout, the five interrupt sources in datasheet priority, and
 * loopback. Transmission is instantaneous (the line is infinitely fast): a byte written to THR goes to the
 * backend at once and the transmitter is empty again; the receive timeout uses the programmed baud rate.
 *
 * <p>As in QEMU, the interrupt output is not gated by MCR.OUT2.
 */
public final class Serial16550 implements ByteIoPorts, CharFrontend, DeviceState {
    // ---- registers and constants ----
    public static final int COM1_BASE = 0x3f8;
    public static final int COM2_BASE = 0x2f8;
    public static final int COM3_BASE = 0x3e8;
    public static final int COM4_BASE = 0x2e8;
    public static final int COM1_IRQ = 4;
    public static final int COM2_IRQ = 3;
    public static final int COM3_IRQ = 4;
    public static final int COM4_IRQ = 3;
    public static final long BASE_BAUD = 115_200;

    private static final int RBR_THR_DLL = 0;
    private static final int IER_DLM = 1;
    private static final int IIR_FCR = 2;
    private static final int LCR = 3;
    private static final int MCR = 4;
    private static final int LSR = 5;
    private static final int MSR = 6;
    private static final int SCR = 7;

    private static final int IER_RX_DATA = 0x01;
    private static final int IER_THRE = 0x02;
    private static final int IER_LINE_STATUS = 0x04;
    private static final int IER_MODEM_STATUS = 0x08;
    private static final int IER_MASK = 0x0f;

    private static final int IIR_NONE = 0x01;
    private static final int IIR_LINE_STATUS = 0x06;
    private static final int IIR_RX_DATA = 0x04;
    private static final int IIR_TIMEOUT = 0x0c;
    private static final int IIR_THRE = 0x02;
    private static final int IIR_MODEM_STATUS = 0x00;
    private static final int IIR_FIFOS_ENABLED = 0xc0;

    private static final int FCR_ENABLE = 0x01;
    private static final int FCR_CLEAR_RX = 0x02;
    private static final int FCR_TRIGGER_SHIFT = 6;
    private static final int[] TRIGGER_LEVELS = {1, 4, 8, 14};

    private static final int LCR_DLAB = 0x80;
    private static final int LCR_PARITY = 0x08;
    private static final int LCR_TWO_STOP = 0x04;
    private static final int LCR_WORD_LENGTH = 0x03;

    private static final int MCR_DTR = 0x01;
    private static final int MCR_RTS = 0x02;
    private static final int MCR_OUT1 = 0x04;
    private static final int MCR_OUT2 = 0x08;
    private static final int MCR_LOOP = 0x10;
    private static final int MCR_MASK = 0x1f;

    private static final int LSR_DR = 0x01;
    private static final int LSR_OE = 0x02;
    private static final int LSR_BI = 0x10;
    private static final int LSR_THRE = 0x20;
    private static final int LSR_TEMT = 0x40;
    private static final int LSR_FIFO_ERROR = 0x80;
    private static final int LSR_ERRORS = 0x1e;

    private static final int MSR_DCTS = 0x01;
    private static final int MSR_DDSR = 0x02;
    private static final int MSR_TERI = 0x04;
    private static final int MSR_DDCD = 0x08;
    private static final int MSR_DELTAS = 0x0f;
    private static final int MSR_CTS = 0x10;
    private static final int MSR_DSR = 0x20;
    private static final int MSR_RI = 0x40;
    private static final int MSR_DCD = 0x80;

    private static final int FIFO_SIZE = 16;
    private static final int TIMEOUT_CHARACTERS = 4;
    private static final int DEFAULT_DIVISOR = 12;

    // ---- state ----
    private final int base;
    private final VirtualClock clock;
    private final IrqLine irq;
    private final VirtualClock.Timer timeoutTimer;
    private CharBackend backend = CharBackend.none();

    private final int[] rxFifo = new int[FIFO_SIZE];
    private int rxHead;
    private int rxCount;
    private int ier;
    private int fcr;
    private int lcr;
    private int mcr;
    private int lsr;
    /** Modem status inputs (high nibble layout) as the far end drives them. */
    private int externalModemInputs = MSR_CTS | MSR_DSR | MSR_DCD;
    private int msrDeltas;
    private int lastModemInputs;
    private int scr;
    private int divisor;
    private boolean thrInterruptPending;
    private boolean timeoutPending;
    private boolean irqLevel;

    public Serial16550(int base, VirtualClock clock, IrqLine irq) {
        this.base = base;
        this.clock = clock;
        this.irq = irq;
        this.timeoutTimer = clock.newTimer(this::onReceiveTimeout);
        reset();
    }

    /** Connects the backend; from now on it receives output and may feed input. */
    public void attach(CharBackend newBackend) {
        backend = newBackend == null ? CharBackend.none() : newBackend;
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(base, 8));
    }

    // ---- guest-visible read/write ----
    @Override
    public int inByte(int port) {
        return switch (port - base) {
            case RBR_THR_DLL -> (lcr & LCR_DLAB) != 0 ? divisor & 0xff : readRbr();
            case IER_DLM -> (lcr & LCR_DLAB) != 0 ? divisor >>> 8 : ier;
            case IIR_FCR -> readIir();
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> readLsr();
            case MSR -> readMsr();
            case SCR -> scr;
            default -> 0xff;
        };
    }

    private int readRbr() {
        int value = 0;
        if (rxCount > 0) {
            value = rxFifo[rxHead];
            rxHead = (rxHead + 1) % FIFO_SIZE;
            rxCount--;
        }
        if (rxCount == 0) {
            lsr &= ~LSR_DR;
        }
        timeoutPending = false;
        armReceiveTimeout();
        updateIrq();
        backend.frontendReady();
        return value;
    }

    private int readIir() {
        int id = interruptId();
        if (id == IIR_THRE) {
            thrInterruptPending = false;
            updateIrq();
        }
        return id | (fifoEnabled() ? IIR_FIFOS_ENABLED : 0);
    }

    private int readLsr() {
        int value = lsr;
        lsr &= ~(LSR_ERRORS | LSR_FIFO_ERROR);
        updateIrq();
        return value;
    }

    private int readMsr() {
        int value = modemInputs() | msrDeltas;
        msrDeltas = 0;
        updateIrq();
        return value;
    }

    @Override
    public void outByte(int port, int value) {
        value &= 0xff;
        switch (port - base) {
            case RBR_THR_DLL -> {
                if ((lcr & LCR_DLAB) != 0) {
                    divisor = divisor & 0xff00 | value;
                } else {
                    transmit(value);
                }
            }
            case IER_DLM -> {
                if ((lcr & LCR_DLAB) != 0) {
                    divisor = divisor & 0xff | value << 8;
                } else {
                    writeIer(value);
                }
            }
            case IIR_FCR -> writeFcr(value);
            case LCR -> lcr = value;
            case MCR -> writeMcr(value);
            case SCR -> scr = value;
            default -> { } // LSR and MSR writes are factory test modes
        }
    }

    private void transmit(int value) {
        // Writing THR clears the THRE interrupt; the infinitely fast line empties it again at once,
        // which the interrupt line shows as a fresh edge.
        thrInterruptPending = false;
        updateIrq();
        if ((mcr & MCR_LOOP) != 0) {
            enqueue(value & wordMask());
        } else {
            backend.write(value);
        }
        lsr |= LSR_THRE | LSR_TEMT;
        thrInterruptPending = true;
        updateIrq();
    }

    private int wordMask() {
        return (1 << (5 + (lcr & LCR_WORD_LENGTH))) - 1;
    }

    private void writeIer(int value) {
        int old = ier;
        ier = value & IER_MASK;
        if ((old & IER_THRE) == 0 && (ier & IER_THRE) != 0 && (lsr & LSR_THRE) != 0) {
            thrInterruptPending = true;
        }
        updateIrq();
    }

    private void writeFcr(int value) {
        boolean enable = (value & FCR_ENABLE) != 0;
        if (enable != fifoEnabled() || (value & FCR_CLEAR_RX) != 0) {
            clearReceiver();
        }
        fcr = enable ? value & (FCR_ENABLE | 0xc0) : 0;
        armReceiveTimeout();
        updateIrq();
    }

    private void clearReceiver() {
        rxHead = 0;
        rxCount = 0;
        lsr &= ~LSR_DR;
        timeoutPending = false;
        backend.frontendReady();
    }

    private void writeMcr(int value) {
        int old = mcr;
        mcr = value & MCR_MASK;
        if (((old ^ mcr) & (MCR_DTR | MCR_RTS)) != 0 && (mcr & MCR_LOOP) == 0) {
            backend.modemControl((mcr & MCR_DTR) != 0, (mcr & MCR_RTS) != 0);
        }
        modemInputsChanged();
    }

    private boolean fifoEnabled() {
        return (fcr & FCR_ENABLE) != 0;
    }

    private int triggerLevel() {
        return fifoEnabled() ? TRIGGER_LEVELS[fcr >>> FCR_TRIGGER_SHIFT] : 1;
    }

    // ---- receive side and modem lines, as the backend drives them ----
    @Override
    public int receiveRoom() {
        if ((mcr & MCR_LOOP) != 0) {
            return 0; // the serial input is disconnected in loopback
        }
        return (fifoEnabled() ? FIFO_SIZE : 1) - rxCount;
    }

    @Override
    public void receive(int b) {
        if ((mcr & MCR_LOOP) == 0) {
            enqueue(b & 0xff);
        }
    }

    @Override
    public void receiveBreak() {
        if ((mcr & MCR_LOOP) == 0) {
            enqueue(0);
            lsr |= LSR_BI | (fifoEnabled() ? LSR_FIFO_ERROR : 0);
            updateIrq();
        }
    }

    private void enqueue(int b) {
        int capacity = fifoEnabled() ? FIFO_SIZE : 1;
        if (rxCount >= capacity) {
            lsr |= LSR_OE;
            if (!fifoEnabled()) {
                rxFifo[rxHead] = b; // the 16450 holding register is overwritten
            }
        } else {
            rxFifo[(rxHead + rxCount) % FIFO_SIZE] = b;
            rxCount++;
        }
        lsr |= LSR_DR;
        timeoutPending = false;
        armReceiveTimeout();
        updateIrq();
    }

    @Override
    public void setModemInputs(boolean cts, boolean dsr, boolean ri, boolean dcd) {
        externalModemInputs = (cts ? MSR_CTS : 0) | (dsr ? MSR_DSR : 0) | (ri ? MSR_RI : 0) | (dcd ? MSR_DCD : 0);
        modemInputsChanged();
    }

    /** Modem status inputs now: in loopback RTS, DTR, OUT1 and OUT2 drive CTS, DSR, RI and DCD. */
    private int modemInputs() {
        if ((mcr & MCR_LOOP) == 0) {
            return externalModemInputs;
        }
        return ((mcr & MCR_RTS) != 0 ? MSR_CTS : 0) | ((mcr & MCR_DTR) != 0 ? MSR_DSR : 0)
                | ((mcr & MCR_OUT1) != 0 ? MSR_RI : 0) | ((mcr & MCR_OUT2) != 0 ? MSR_DCD : 0);
    }

    private void modemInputsChanged() {
        int now = modemInputs();
        int changed = now ^ lastModemInputs;
        if ((changed & MSR_CTS) != 0) {
            msrDeltas |= MSR_DCTS;
        }
        if ((changed & MSR_DSR) != 0) {
            msrDeltas |= MSR_DDSR;
        }
        if ((changed & MSR_DCD) != 0) {
            msrDeltas |= MSR_DDCD;
        }
        if ((lastModemInputs & MSR_RI) != 0 && (now & MSR_RI) == 0) {
            msrDeltas |= MSR_TERI; // trailing edge of RI only
        }
        lastModemInputs = now;
        updateIrq();
    }

    /** Four character times at the programmed rate, as the 16550A's receive timeout. */
    private long characterTimeoutNanos() {
        int bits = 1 + 5 + (lcr & LCR_WORD_LENGTH) + ((lcr & LCR_PARITY) != 0 ? 1 : 0)
                + ((lcr & LCR_TWO_STOP) != 0 ? 2 : 1);
        long effectiveDivisor = divisor == 0 ? 0x10000 : divisor;
        return TIMEOUT_CHARACTERS * bits * effectiveDivisor * VirtualClock.NANOS_PER_SECOND / BASE_BAUD;
    }

    private void armReceiveTimeout() {
        if (fifoEnabled() && rxCount > 0 && rxCount < triggerLevel()) {
            timeoutTimer.arm(clock.nowNanos() + characterTimeoutNanos());
        } else {
            timeoutTimer.cancel();
        }
    }

    private void onReceiveTimeout() {
        if (fifoEnabled() && rxCount > 0) {
            timeoutPending = true;
            updateIrq();
        }
    }

    // ---- interrupts ----
    /** The IIR identification of the highest-priority enabled source. */
    private int interruptId() {
        if ((ier & IER_LINE_STATUS) != 0 && (lsr & (LSR_ERRORS)) != 0) {
            return IIR_LINE_STATUS;
        }
        if ((ier & IER_RX_DATA) != 0 && rxCount > 0 && rxCount >= triggerLevel()) {
            return IIR_RX_DATA;
        }
        if ((ier & IER_RX_DATA) != 0 && timeoutPending) {
            return IIR_TIMEOUT;
        }
        if ((ier & IER_THRE) != 0 && thrInterruptPending) {
            return IIR_THRE;
        }
        if ((ier & IER_MODEM_STATUS) != 0 && msrDeltas != 0) {
            return IIR_MODEM_STATUS;
        }
        return IIR_NONE;
    }

    private void updateIrq() {
        boolean level = interruptId() != IIR_NONE;
        if (level != irqLevel) {
            irqLevel = level;
            irq.set(level);
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        ier = 0;
        fcr = 0;
        lcr = 0;
        mcr = 0;
        lsr = LSR_THRE | LSR_TEMT;
        scr = 0;
        divisor = DEFAULT_DIVISOR;
        rxHead = 0;
        rxCount = 0;
        thrInterruptPending = false;
        timeoutPending = false;
        msrDeltas = 0;
        lastModemInputs = modemInputs();
        timeoutTimer.cancel();
        updateIrq();
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        out.writeByte(ier);
        out.writeByte(fcr);
        out.writeByte(lcr);
        out.writeByte(mcr);
        out.writeByte(lsr);
        out.writeByte(externalModemInputs);
        out.writeByte(msrDeltas);
        out.writeByte(lastModemInputs);
        out.writeByte(scr);
        out.writeShort(divisor);
        out.writeBoolean(thrInterruptPending);
        out.writeBoolean(timeoutPending);
        out.writeByte(rxCount);
        for (int i = 0; i < rxCount; i++) {
            out.writeByte(rxFifo[(rxHead + i) % FIFO_SIZE]);
        }
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("16550A", version);
        int newIer = in.readUnsignedByte();
        int newFcr = in.readUnsignedByte();
        int newLcr = in.readUnsignedByte();
        int newMcr = in.readUnsignedByte();
        int newLsr = in.readUnsignedByte();
        int newExternal = in.readUnsignedByte();
        int newDeltas = in.readUnsignedByte();
        int newLast = in.readUnsignedByte();
        int newScr = in.readUnsignedByte();
        int newDivisor = in.readUnsignedShort();
        boolean newThr = in.readBoolean();
        boolean newTimeout = in.readBoolean();
        int count = in.readUnsignedByte();
        boolean fifo = (newFcr & FCR_ENABLE) != 0;
        if ((newIer & ~IER_MASK) != 0 || (newFcr & ~(FCR_ENABLE | 0xc0)) != 0 || (newMcr & ~MCR_MASK) != 0
                || (newExternal & MSR_DELTAS) != 0 || (newDeltas & ~MSR_DELTAS) != 0 || (newLast & MSR_DELTAS) != 0
                || count > (fifo ? FIFO_SIZE : 1)) {
            throw new IOException("16550A: invalid state");
        }
        int[] data = new int[count];
        for (int i = 0; i < count; i++) {
            data[i] = in.readUnsignedByte();
        }
        ier = newIer;
        fcr = newFcr;
        lcr = newLcr;
        mcr = newMcr;
        lsr = newLsr;
        externalModemInputs = newExternal;
        msrDeltas = newDeltas;
        lastModemInputs = newLast;
        scr = newScr;
        divisor = newDivisor;
        thrInterruptPending = newThr;
        timeoutPending = newTimeout;
        rxHead = 0;
        rxCount = count;
        System.arraycopy(data, 0, rxFifo, 0, count);
        armReceiveTimeout();
        updateIrq();
    }
}
