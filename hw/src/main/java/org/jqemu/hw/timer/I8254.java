package org.jqemu.hw.timer;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.List;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.ByteIoPorts;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.memory.IrqLine;

/**
 * The Intel 8254 programmable interval timer at 0x40-0x43, clocked at 1.193182 MHz, with the PC's
 * "port B" at 0x61 (gate of counter 2, speaker data enable, OUT2 and the refresh toggle).
 *
 * <p>Counter 0's OUT drives IRQ0; counter 1 (DRAM refresh) and counter 2 (speaker) have their gates tied
 * high and to port 0x61 bit 0 respectively. Counters are computed from the clock when read, so no timer
 * runs except the one that produces IRQ0 edges.
 *
 * <p>A new count written to a running counter in modes 2 and 3 takes effect at the end of the current
 * period (for mode 3 the datasheet says half-period; we use the period so OUT stays a clean square
 * wave); in the other modes it restarts the counter. Mode 3 with an odd count reads back as the
 * even-count sequence; its OUT timing is exact.
 */
public final class I8254 implements ByteIoPorts, DeviceState {
    // ---- registers and constants ----
    public static final long FREQUENCY_HZ = 1_193_182L;
    public static final int BASE = 0x40;
    public static final int CONTROL_PORT = 0x43;
    public static final int PORT_B = 0x61;

    private static final int ACCESS_LATCH = 0;
    private static final int ACCESS_LSB = 1;
    private static final int ACCESS_MSB = 2;
    private static final int ACCESS_WORD = 3;
    private static final int SELECT_READ_BACK = 3;
    private static final int READ_BACK_NO_COUNT = 0x20;
    private static final int READ_BACK_NO_STATUS = 0x10;
    private static final int STATUS_OUT = 0x80;
    private static final int STATUS_NULL_COUNT = 0x40;

    private static final int PORT_B_GATE2 = 0x01;
    private static final int PORT_B_SPEAKER_DATA = 0x02;
    private static final int PORT_B_WRITABLE = 0x0f;
    private static final int PORT_B_REFRESH = 0x10;
    private static final int PORT_B_OUT2 = 0x20;
    /** The refresh request line toggles every 15.085 us (counter 1 as every PC BIOS programs it). */
    private static final long REFRESH_PERIOD_NS = 15_085;
    /** How many overdue IRQ0 edges one timer callback replays before skipping ahead. */
    private static final int MAX_CATCH_UP_EDGES = 4;

    private static final class Counter {
        /** Effective mode 0-5 (6 and 7 behave as 2 and 3). */
        int mode;
        /** Mode bits as the control word gave them, which read-back status returns. */
        int programmedMode;
        int access = ACCESS_WORD;
        boolean bcd;
        /** The count as written (0 means the maximum). */
        int written;
        boolean counting;
        boolean waitingForTrigger;
        boolean nullCount;
        boolean gate;
        /** Tick at which the current count started. */
        long startTick;
        /** Elapsed ticks frozen while the gate holds a mode 0/4 counter, else -1. */
        long pausedElapsed = -1;
        /** OUT level while not counting. */
        boolean idleOut = true;
        /** Value read while not counting. */
        int heldValue;
        /** Modes 2/3: a count written while counting, loaded at {@link #reloadTick}; -1 when none. */
        int pendingWritten = -1;
        long reloadTick;
        boolean writeMsbNext;
        int writeLsb;
        boolean readMsbNext;
        boolean countLatched;
        int latchedCount;
        boolean latchedMsbNext;
        int latchedAccess;
        boolean statusLatched;
        int latchedStatus;

        int modulus() {
            return bcd ? 10000 : 65536;
        }

        /** The count in effect: 0 stands for the modulus, and modes 2 and 3 need at least 2. */
        long period() {
            long n = written == 0 ? modulus() : written;
            return (mode == 2 || mode == 3) ? Math.max(2, n) : n;
        }

        long elapsed(long nowTick) {
            return pausedElapsed >= 0 ? pausedElapsed : nowTick - startTick;
        }

        /** Loads a pending mode 2/3 count once its period boundary has passed. */
        void settle(long nowTick) {
            if (pendingWritten >= 0 && nowTick >= reloadTick) {
                written = pendingWritten;
                startTick = reloadTick;
                pendingWritten = -1;
            }
        }

        int value(long nowTick) {
            settle(nowTick);
            if (!counting || waitingForTrigger) {
                return heldValue;
            }
            long n = period();
            long d = elapsed(nowTick);
            return switch (mode) {
                case 2 -> (int) (n - d % n);
                case 3 -> {
                    long half = (n + 1) / 2;
                    long p = d % n;
                    yield (int) ((n - 2 * (p < half ? p : p - half)) & ~1L);
                }
                default -> (int) Math.floorMod(n - d, (long) modulus());
            };
        }

        boolean out(long nowTick) {
            settle(nowTick);
            if (!counting || waitingForTrigger) {
                return idleOut;
            }
            if ((mode == 2 || mode == 3) && !gate) {
                return true;
            }
            long n = period();
            long d = elapsed(nowTick);
            return switch (mode) {
                case 0, 1 -> d >= n;
                case 2 -> d % n != n - 1;
                case 3 -> d % n < (n + 1) / 2;
                default -> d != n;
            };
        }

        /** The next elapsed-tick count after {@code d} at which OUT changes, or -1 when it never will. */
        long nextEdge(long d) {
            long n = period();
            return switch (mode) {
                case 0, 1 -> d < n ? n : -1;
                case 2 -> {
                    long fall = d / n * n + n - 1;
                    yield d < fall ? fall : (d / n + 1) * n;
                }
                case 3 -> {
                    long fall = d / n * n + (n + 1) / 2;
                    yield d < fall ? fall : (d / n + 1) * n;
                }
                default -> d < n ? n : d < n + 1 ? n + 1 : -1;
            };
        }

        boolean edgesPossible() {
            return counting && !waitingForTrigger && pausedElapsed < 0 && (gate || mode == 1 || mode == 5);
        }

        int status(long nowTick) {
            return (out(nowTick) ? STATUS_OUT : 0) | (nullCount || pendingWritten >= 0 ? STATUS_NULL_COUNT : 0)
                    | (access << 4) | (programmedMode << 1) | (bcd ? 1 : 0);
        }
    }

    // ---- state ----
    private final VirtualClock clock;
    private final IrqLine irq0;
    private final VirtualClock.Timer irqTimer;
    private final Counter[] counters = {new Counter(), new Counter(), new Counter()};
    private int portB;
    private boolean irqLevel;
    /** Elapsed tick (of counter 0) of the last OUT edge delivered to IRQ0. */
    private long lastEdge;

    public I8254(VirtualClock clock, IrqLine irq0) {
        this.clock = clock;
        this.irq0 = irq0;
        this.irqTimer = clock.newTimer(this::onIrqTimer);
        reset();
    }

    @Override
    public List<PortRange> portRanges() {
        return List.of(new PortRange(BASE, 4), new PortRange(PORT_B, 1));
    }

    private long nowTick() {
        return VirtualClock.ticksAt(clock.nowNanos(), FREQUENCY_HZ);
    }

    /** OUT of counter {@code n} now (counter 2 is the speaker signal before the port B AND gate). */
    public boolean out(int n) {
        return counters[n].out(nowTick());
    }

    /** True while the speaker cone is driven: OUT2 gated by port B's speaker data enable. */
    public boolean speakerOn() {
        return (portB & PORT_B_SPEAKER_DATA) != 0 && out(2);
    }

    // ---- guest-visible read/write ----
    @Override
    public int inByte(int port) {
        if (port == PORT_B) {
            return readPortB();
        }
        if (port < BASE || port > BASE + 2) {
            return 0xff;
        }
        return readCounter(counters[port - BASE]);
    }

    private int readPortB() {
        long now = clock.nowNanos();
        int refresh = (now / REFRESH_PERIOD_NS & 1) != 0 ? PORT_B_REFRESH : 0;
        return (portB & PORT_B_WRITABLE) | refresh | (out(2) ? PORT_B_OUT2 : 0);
    }

    private int readCounter(Counter c) {
        if (c.statusLatched) {
            c.statusLatched = false;
            return c.latchedStatus;
        }
        if (c.countLatched) {
            return readLatched(c);
        }
        int value = toGuestFormat(c, c.value(nowTick()));
        return switch (c.access) {
            case ACCESS_LSB -> value & 0xff;
            case ACCESS_MSB -> value >>> 8;
            default -> {
                boolean msb = c.readMsbNext;
                c.readMsbNext = !msb;
                yield msb ? value >>> 8 : value & 0xff;
            }
        };
    }

    private static int readLatched(Counter c) {
        int value = c.latchedCount;
        switch (c.latchedAccess) {
            case ACCESS_LSB -> {
                c.countLatched = false;
                return value & 0xff;
            }
            case ACCESS_MSB -> {
                c.countLatched = false;
                return value >>> 8;
            }
            default -> {
                if (c.latchedMsbNext) {
                    c.countLatched = false;
                    return value >>> 8;
                }
                c.latchedMsbNext = true;
                return value & 0xff;
            }
        }
    }

    /** The 16 bits the guest reads: the count in binary or as four BCD digits. */
    private static int toGuestFormat(Counter c, int value) {
        value &= 0xffff;
        if (!c.bcd) {
            return value;
        }
        value %= 10000;
        return (value / 1000) << 12 | (value / 100 % 10) << 8 | (value / 10 % 10) << 4 | value % 10;
    }

    /** BCD counts are decoded digit by digit; digits above 9 are taken at face value as the chip does. */
    private static int fromGuestFormat(Counter c, int value) {
        if (!c.bcd) {
            return value;
        }
        return ((value >>> 12) & 15) * 1000 + ((value >>> 8) & 15) * 100 + ((value >>> 4) & 15) * 10 + (value & 15);
    }

    @Override
    public void outByte(int port, int value) {
        value &= 0xff;
        if (port == PORT_B) {
            writePortB(value);
        } else if (port == CONTROL_PORT) {
            writeControl(value);
        } else if (port >= BASE && port < CONTROL_PORT) {
            writeCount(port - BASE, value);
        }
    }

    private void writePortB(int value) {
        boolean gate = (value & PORT_B_GATE2) != 0;
        portB = value & PORT_B_WRITABLE;
        setGate(2, gate);
    }

    private void writeControl(int value) {
        int select = value >>> 6;
        if (select == SELECT_READ_BACK) {
            readBack(value);
            return;
        }
        Counter c = counters[select];
        int access = (value >>> 4) & 3;
        if (access == ACCESS_LATCH) {
            latchCount(c);
            return;
        }
        long now = nowTick();
        c.heldValue = c.value(now);
        int mode = (value >>> 1) & 7;
        c.programmedMode = mode;
        c.mode = mode > 5 ? mode - 4 : mode;
        c.access = access;
        c.bcd = (value & 1) != 0;
        c.counting = false;
        c.waitingForTrigger = false;
        c.pausedElapsed = -1;
        c.nullCount = true;
        c.idleOut = c.mode != 0;
        c.writeMsbNext = false;
        c.readMsbNext = false;
        c.countLatched = false;
        c.statusLatched = false;
        c.pendingWritten = -1;
        if (select == 0) {
            updateIrq(now);
        }
    }

    private void latchCount(Counter c) {
        if (!c.countLatched) {
            c.countLatched = true;
            c.latchedCount = toGuestFormat(c, c.value(nowTick()));
            c.latchedAccess = c.access;
            c.latchedMsbNext = false;
        }
    }

    private void readBack(int value) {
        long now = nowTick();
        for (int n = 0; n < 3; n++) {
            if ((value & (2 << n)) == 0) {
                continue;
            }
            Counter c = counters[n];
            if ((value & READ_BACK_NO_COUNT) == 0) {
                latchCount(c);
            }
            if ((value & READ_BACK_NO_STATUS) == 0 && !c.statusLatched) {
                c.statusLatched = true;
                c.latchedStatus = c.status(now);
            }
        }
    }

    private void writeCount(int n, int value) {
        Counter c = counters[n];
        int count;
        switch (c.access) {
            case ACCESS_LSB -> count = value;
            case ACCESS_MSB -> count = value << 8;
            default -> {
                if (!c.writeMsbNext) {
                    c.writeLsb = value;
                    c.writeMsbNext = true;
                    if (c.mode == 0) {
                        stopForRewrite(n);
                    }
                    return;
                }
                c.writeMsbNext = false;
                count = c.writeLsb | value << 8;
            }
        }
        loadCount(n, fromGuestFormat(c, count));
    }

    /** Mode 0: writing the first byte of a new count stops the counter and drives OUT low. */
    private void stopForRewrite(int n) {
        Counter c = counters[n];
        long now = nowTick();
        c.heldValue = c.value(now);
        c.counting = false;
        c.idleOut = false;
        if (n == 0) {
            updateIrq(now);
        }
    }

    private void loadCount(int n, int count) {
        Counter c = counters[n];
        long now = nowTick();
        c.settle(now);
        if ((c.mode == 2 || c.mode == 3) && c.counting && !c.waitingForTrigger && c.gate) {
            long period = c.period();
            c.pendingWritten = count;
            c.reloadTick = c.startTick + (c.elapsed(now) / period + 1) * period;
            return;
        }
        c.written = count;
        c.nullCount = false;
        c.counting = true;
        c.pausedElapsed = -1;
        c.startTick = now;
        c.heldValue = count;
        // Modes 1 and 5 wait for a rising gate edge; OUT stays high until then.
        c.waitingForTrigger = c.mode == 1 || c.mode == 5;
        c.idleOut = true;
        if (!c.gate && (c.mode == 0 || c.mode == 4)) {
            c.pausedElapsed = 0;
        }
        if (n == 0) {
            updateIrq(now);
        }
    }

    /** GATE input of counter {@code n}; counters 0 and 1 are tied high on a PC. */
    public void setGate(int n, boolean high) {
        Counter c = counters[n];
        if (c.gate == high) {
            return;
        }
        long now = nowTick();
        c.gate = high;
        if (c.counting) {
            switch (c.mode) {
                case 0, 4 -> {
                    if (high && c.pausedElapsed >= 0) {
                        c.startTick = now - c.pausedElapsed;
                        c.pausedElapsed = -1;
                    } else if (!high) {
                        c.pausedElapsed = c.elapsed(now);
                    }
                }
                default -> {
                    // Modes 1, 2, 3, 5: a rising edge (re)starts the count; in 2 and 3 a low gate holds OUT high.
                    if (high) {
                        if (c.pendingWritten >= 0) {
                            c.written = c.pendingWritten;
                            c.pendingWritten = -1;
                        }
                        c.startTick = now;
                        c.waitingForTrigger = false;
                    }
                }
            }
        }
        if (n == 0) {
            updateIrq(now);
        }
    }

    /**
     * Drives IRQ0 from OUT0 at tick {@code now} and arms the timer for OUT0's next edge. {@code now} must be
     * the tick the caller changed the counter at (one clock reading per register access): a second reading
     * could be later than the count's end if the host stalled in between (a GC pause, the host scheduler),
     * and the edges in between would be skipped: mode 4's one-tick pulse, the one IRQ0 of a one-shot
     * count, would be lost and a tickless guest would wait for it forever.
     */
    private void updateIrq(long now) {
        Counter c = counters[0];
        setIrq(c.out(now));
        lastEdge = c.elapsed(now);
        scheduleNextEdge();
    }

    private void scheduleNextEdge() {
        Counter c = counters[0];
        long next = c.edgesPossible() ? c.nextEdge(lastEdge) : -1;
        if (next < 0) {
            irqTimer.cancel();
        } else {
            irqTimer.arm(VirtualClock.nanosAtTick(c.startTick + next, FREQUENCY_HZ));
        }
    }

    private void onIrqTimer() {
        Counter c = counters[0];
        if (!c.edgesPossible()) {
            return;
        }
        long now = nowTick();
        for (int i = 0; i < MAX_CATCH_UP_EDGES; i++) {
            long edge = c.nextEdge(lastEdge);
            if (edge < 0 || c.startTick + edge > now) {
                break;
            }
            deliverEdgeAt(c, c.startTick + edge);
        }
        long next = c.nextEdge(lastEdge);
        if (next >= 0 && c.startTick + next <= now) {
            // Far behind (host stalled): drop the missed periods rather than replaying them all.
            deliverEdgeAt(c, now);
        }
        scheduleNextEdge();
    }

    /** Drives IRQ0 with OUT0 at absolute tick {@code tick}, following a pending reload taking effect there. */
    private void deliverEdgeAt(Counter c, long tick) {
        boolean level = c.out(tick);
        lastEdge = tick - c.startTick;
        setIrq(level);
    }

    private void setIrq(boolean level) {
        if (level != irqLevel) {
            irqLevel = level;
            irq0.set(level);
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        for (int n = 0; n < 3; n++) {
            counters[n] = new Counter();
            counters[n].gate = n != 2;
        }
        portB = 0;
        irqTimer.cancel();
        lastEdge = 0;
        setIrq(false);
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        for (Counter c : counters) {
            out.writeByte(c.programmedMode);
            out.writeByte(c.access);
            out.writeInt(c.written);
            out.writeLong(c.startTick);
            out.writeLong(c.pausedElapsed);
            out.writeInt(c.heldValue);
            out.writeInt(c.pendingWritten);
            out.writeLong(c.reloadTick);
            out.writeByte(c.writeLsb);
            out.writeInt(c.latchedCount);
            out.writeByte(c.latchedAccess);
            out.writeByte(c.latchedStatus);
            boolean[] flags = {c.bcd, c.counting, c.waitingForTrigger, c.nullCount, c.gate, c.idleOut,
                    c.writeMsbNext, c.readMsbNext, c.countLatched, c.latchedMsbNext, c.statusLatched};
            int bits = 0;
            for (int i = 0; i < flags.length; i++) {
                bits |= flags[i] ? 1 << i : 0;
            }
            out.writeShort(bits);
        }
        out.writeByte(portB);
        out.writeLong(lastEdge);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("i8254", version);
        Counter[] loaded = new Counter[3];
        for (int n = 0; n < 3; n++) {
            Counter c = new Counter();
            c.programmedMode = in.readUnsignedByte();
            c.mode = c.programmedMode > 5 ? c.programmedMode - 4 : c.programmedMode;
            c.access = in.readUnsignedByte();
            c.written = in.readInt();
            c.startTick = in.readLong();
            c.pausedElapsed = in.readLong();
            c.heldValue = in.readInt();
            c.pendingWritten = in.readInt();
            c.reloadTick = in.readLong();
            c.writeLsb = in.readUnsignedByte();
            c.latchedCount = in.readInt();
            c.latchedAccess = in.readUnsignedByte();
            c.latchedStatus = in.readUnsignedByte();
            int bits = in.readUnsignedShort();
            if (c.programmedMode > 7 || c.access < ACCESS_LSB || c.access > ACCESS_WORD || c.written < 0 || c.written > 0xffff
                    || c.pausedElapsed < -1 || c.pendingWritten < -1 || c.pendingWritten > 0xffff || c.heldValue < 0 || c.heldValue > 0xffff || c.latchedCount < 0
                    || c.latchedCount > 0xffff || c.latchedAccess > ACCESS_WORD || bits >= 1 << 11) {
                throw new IOException("i8254: invalid state of counter " + n);
            }
            c.bcd = (bits & 1) != 0;
            c.counting = (bits & 2) != 0;
            c.waitingForTrigger = (bits & 4) != 0;
            c.nullCount = (bits & 8) != 0;
            c.gate = (bits & 16) != 0;
            c.idleOut = (bits & 32) != 0;
            c.writeMsbNext = (bits & 64) != 0;
            c.readMsbNext = (bits & 128) != 0;
            c.countLatched = (bits & 256) != 0;
            c.latchedMsbNext = (bits & 512) != 0;
            c.statusLatched = (bits & 1024) != 0;
            loaded[n] = c;
        }
        int loadedPortB = in.readUnsignedByte();
        long loadedLastEdge = in.readLong();
        if ((loadedPortB & ~PORT_B_WRITABLE) != 0 || loadedLastEdge < 0) {
            throw new IOException("i8254: invalid port B state");
        }
        System.arraycopy(loaded, 0, counters, 0, 3);
        portB = loadedPortB;
        lastEdge = loadedLastEdge;
        setIrq(counters[0].out(nowTick()));
        scheduleNextEdge();
    }
}
