package org.jqemu.hw.timer;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.util.function.IntFunction;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.memory.IrqLine;
import org.jqemu.memory.Mmio;

/**
 * The IA-PC High Precision Event Timer (HPET specification 1.0a) as QEMU's {@code pc} machine has it: one
 * block of 1 KiB of registers, a 64-bit main counter at 100 MHz (period 10 ns = 10,000,000 fs) and three
 * comparators, each periodic-capable and 64-bit (with a 32-bit mode), routable only to IRQ2 of the I/O APIC
 * (route capability bit 2, as QEMU's pc reports), and the LegacyReplacement route.
 *
 * <p>The counter follows the virtual clock: while enabled it is {@code floor(now / 10 ns) + offset},
 * computed when read, never ticked. A comparator match is "the counter steps onto the comparator value"
 * (in 32-bit mode its low half does); each timer arms one clock timer for its next match. A periodic
 * timer adds the value last written to its comparator on every match; when the host fell more than a
 * period behind, the missed matches are dropped (one interrupt, the comparator moved past now).
 *
 * <p>Interrupts: an edge-mode timer pulses its line; a level-mode timer sets its bit in the general
 * interrupt status register (whether or not its interrupt is enabled) and holds its line while the bit,
 * the timer's enable and the overall enable are set; writing 1 to the bit clears it. With
 * LegacyReplacement (LEG_RT_CNF) timer 0 drives IRQ0 and timer 1 IRQ8 in place of the 8254's and the RTC's
 * outputs, which reach the interrupt controller only through {@link #pitInput()} and {@link #rtcInput()}:
 * the HPET cuts them off while the route is on and passes their level through otherwise. Other routes go
 * to the I/O APIC input the machine gives for that number (none on a machine without an I/O APIC).
 *
 * <p>Registers are 64 bits wide; 32- and 64-bit accesses (and, beyond the specification, smaller ones) read
 * and write the bytes they cover. FSB (MSI) delivery is not offered: its capability bit reads 0 and the
 * FSB route registers read 0.
 */
public final class Hpet implements Mmio, DeviceState {
    // ---- registers and constants ----
    /** Size of the register block (the machine maps it at its base). */
    public static final int REGION_SIZE = 0x400;
    public static final int TIMERS = 3;
    public static final long PERIOD_FS = 10_000_000L;
    public static final long TICK_NANOS = 10;
    public static final int VENDOR_INTEL = 0x8086;
    public static final int REVISION = 1;

    public static final int REG_CAPABILITIES = 0x000;
    public static final int REG_CONFIG = 0x010;
    public static final int REG_STATUS = 0x020;
    public static final int REG_COUNTER = 0x0f0;
    public static final int REG_TIMER_BASE = 0x100;
    public static final int TIMER_STRIDE = 0x20;
    public static final int TIMER_CONFIG = 0x00;
    public static final int TIMER_COMPARATOR = 0x08;
    public static final int TIMER_FSB_ROUTE = 0x10;

    public static final long CAP_COUNT_SIZE_64 = 1L << 13;
    public static final long CAP_LEGACY_ROUTE = 1L << 15;
    private static final int CAP_NUM_TIMERS_SHIFT = 8;
    private static final int CAP_VENDOR_SHIFT = 16;
    private static final int CAP_PERIOD_SHIFT = 32;
    /** General capabilities and ID: 0x00989680_8086a201 (what qemu-system-i386 7.2's pc reads back). */
    public static final long CAPABILITIES = PERIOD_FS << CAP_PERIOD_SHIFT | (long) VENDOR_INTEL << CAP_VENDOR_SHIFT
            | CAP_LEGACY_ROUTE | CAP_COUNT_SIZE_64 | (long) (TIMERS - 1) << CAP_NUM_TIMERS_SHIFT | REVISION;

    public static final long CFG_ENABLE = 1L;
    public static final long CFG_LEGACY_ROUTE = 1L << 1;
    private static final long CFG_WRITABLE = CFG_ENABLE | CFG_LEGACY_ROUTE;

    public static final long TN_LEVEL = 1L << 1;
    public static final long TN_INT_ENABLE = 1L << 2;
    public static final long TN_PERIODIC = 1L << 3;
    public static final long TN_PERIODIC_CAP = 1L << 4;
    public static final long TN_SIZE_64_CAP = 1L << 5;
    public static final long TN_VALUE_SET = 1L << 6;
    public static final long TN_32BIT_MODE = 1L << 8;
    public static final int TN_ROUTE_SHIFT = 9;
    public static final long TN_ROUTE = 0x1fL << TN_ROUTE_SHIFT;
    public static final long TN_FSB_ENABLE = 1L << 14;
    public static final long TN_FSB_CAP = 1L << 15;
    public static final int TN_ROUTE_CAP_SHIFT = 32;
    /** I/O APIC inputs a timer may be routed to: IRQ2 only, as QEMU's pc machine reports. */
    public static final long ROUTE_CAPABILITY = 1L << 2;
    private static final long TN_READ_ONLY = ROUTE_CAPABILITY << TN_ROUTE_CAP_SHIFT | TN_SIZE_64_CAP | TN_PERIODIC_CAP;
    private static final long TN_WRITABLE = TN_LEVEL | TN_INT_ENABLE | TN_PERIODIC | TN_VALUE_SET | TN_32BIT_MODE | TN_ROUTE;

    private static final long MASK_32 = 0xffff_ffffL;
    private static final long MASK_64 = -1L;
    /** The deadlines of matches further away than this many ticks are not armed (they are centuries off). */
    private static final long MAX_ARMED_TICKS = Long.MAX_VALUE / TICK_NANOS / 4;
    private static final int LEGACY_PIT_TIMER = 0;
    private static final int LEGACY_RTC_TIMER = 1;

    private static final class Comparator {
        final VirtualClock.Timer timer;
        long config;
        long comparator;
        /** The value last written to the comparator: what a periodic timer adds on each match. */
        long period;
        /** Host tick of the armed match, valid while {@link #timer} is armed. */
        long matchTick;
        /** I/O APIC input this timer's level currently holds high, or -1. */
        int heldRoute = -1;

        Comparator(VirtualClock.Timer timer) {
            this.timer = timer;
        }

        long width() {
            return (config & TN_32BIT_MODE) != 0 ? MASK_32 : MASK_64;
        }

        boolean level() {
            return (config & TN_LEVEL) != 0;
        }

        boolean periodic() {
            return (config & TN_PERIODIC) != 0;
        }

        boolean interruptEnabled() {
            return (config & TN_INT_ENABLE) != 0;
        }

        int route() {
            return (int) ((config & TN_ROUTE) >>> TN_ROUTE_SHIFT);
        }
    }

    // ---- state ----
    private final VirtualClock clock;
    private final IrqLine irq0;
    private final IrqLine irq8;
    private final IntFunction<IrqLine> ioApicInputs;
    private final Comparator[] timers = new Comparator[TIMERS];
    private final IrqLine pitInput = level -> legacyInput(LEGACY_PIT_TIMER, level);
    private final IrqLine rtcInput = level -> legacyInput(LEGACY_RTC_TIMER, level);
    private long config;
    /** Bit n: level-mode timer n has fired and not been acknowledged. */
    private long status;
    /** While enabled: counter = host tick + offset; while halted: the counter value. */
    private long counterOffset;
    private long haltedCounter;
    /** Last levels of the 8254's OUT0 and the RTC's IRQ output (index by legacy timer number). */
    private final boolean[] legacyInputLevel = new boolean[2];
    /** Levels currently driven on IRQ0 and IRQ8. */
    private final boolean[] legacyOutputLevel = new boolean[2];

    /**
     * @param irq0 the interrupt controller's IRQ0 input (the 8254's output passes through {@link #pitInput()})
     * @param irq8 the interrupt controller's IRQ8 input (the RTC's output passes through {@link #rtcInput()})
     * @param ioApicInputs the I/O APIC input for a route number; {@link IrqLine#none()} where there is none
     */
    public Hpet(VirtualClock clock, IrqLine irq0, IrqLine irq8, IntFunction<IrqLine> ioApicInputs) {
        this.clock = clock;
        this.irq0 = irq0;
        this.irq8 = irq8;
        this.ioApicInputs = ioApicInputs;
        for (int n = 0; n < TIMERS; n++) {
            int index = n;
            timers[n] = new Comparator(clock.newTimer(() -> onMatch(index)));
        }
        reset();
    }

    /** Where the 8254's OUT0 connects: it reaches IRQ0 unless LegacyReplacement is on. */
    public IrqLine pitInput() {
        return pitInput;
    }

    /** Where the RTC's interrupt output connects: it reaches IRQ8 unless LegacyReplacement is on. */
    public IrqLine rtcInput() {
        return rtcInput;
    }

    private boolean enabled() {
        return (config & CFG_ENABLE) != 0;
    }

    private boolean legacyRoute() {
        return (config & CFG_LEGACY_ROUTE) != 0;
    }

    private long nowTick() {
        return Math.floorDiv(clock.nowNanos(), TICK_NANOS);
    }

    /** The main counter now. */
    public long counter() {
        return enabled() ? nowTick() + counterOffset : haltedCounter;
    }

    // ---- guest-visible read/write ----
    @Override
    public long read(long offset, int size) {
        if (!validAccess(offset, size)) {
            return 0;
        }
        int shift = (int) (offset & 7) * 8;
        long value = readRegister((int) offset & ~7) >>> shift;
        return size == 8 ? value : value & ((1L << (8 * size)) - 1);
    }

    @Override
    public void write(long offset, int size, long value) {
        if (!validAccess(offset, size)) {
            return;
        }
        int shift = (int) (offset & 7) * 8;
        long mask = (size == 8 ? MASK_64 : (1L << (8 * size)) - 1) << shift;
        writeRegister((int) offset & ~7, value << shift & mask, mask);
    }

    /** Within the block, a power-of-two size of 1-8 bytes not crossing a 64-bit register. */
    private static boolean validAccess(long offset, int size) {
        return offset >= 0 && offset < REGION_SIZE && (size == 1 || size == 2 || size == 4 || size == 8)
                && (offset & 7) + size <= 8;
    }

    private long readRegister(int register) {
        return switch (register) {
            case REG_CAPABILITIES -> CAPABILITIES;
            case REG_CONFIG -> config;
            case REG_STATUS -> status;
            case REG_COUNTER -> counter();
            default -> readTimerRegister(register);
        };
    }

    private long readTimerRegister(int register) {
        int n = timerIndex(register);
        if (n < 0) {
            return 0;
        }
        Comparator t = timers[n];
        return switch ((register - REG_TIMER_BASE) % TIMER_STRIDE) {
            case TIMER_CONFIG -> t.config | TN_READ_ONLY;
            case TIMER_COMPARATOR -> t.comparator;
            default -> 0; // FSB route: no FSB delivery
        };
    }

    private static int timerIndex(int register) {
        int n = (register - REG_TIMER_BASE) / TIMER_STRIDE;
        return register >= REG_TIMER_BASE && n < TIMERS ? n : -1;
    }

    /** Writes the bits of {@code mask} (the bytes the access covered) of a 64-bit register. */
    private void writeRegister(int register, long value, long mask) {
        switch (register) {
            case REG_CONFIG -> writeConfig(merge(config, value, mask));
            case REG_STATUS -> acknowledge(value & mask);
            case REG_COUNTER -> writeCounter(merge(counter(), value, mask));
            default -> writeTimerRegister(register, value, mask);
        }
    }

    private static long merge(long old, long value, long mask) {
        return old & ~mask | value & mask;
    }

    private void writeTimerRegister(int register, long value, long mask) {
        int n = timerIndex(register);
        if (n < 0) {
            return;
        }
        switch ((register - REG_TIMER_BASE) % TIMER_STRIDE) {
            case TIMER_CONFIG -> writeTimerConfig(n, merge(timers[n].config, value, mask));
            case TIMER_COMPARATOR -> writeComparator(n, value, mask);
            default -> { }
        }
    }

    private void writeConfig(long value) {
        long old = config;
        long counterNow = counter();
        config = value & CFG_WRITABLE;
        if (((old ^ config) & CFG_ENABLE) != 0) {
            if (enabled()) {
                counterOffset = haltedCounter - nowTick();
            } else {
                haltedCounter = counterNow;
            }
            rearmAll();
        }
        updateOutputs();
    }

    private void writeCounter(long value) {
        if (enabled()) {
            counterOffset = value - nowTick();
        } else {
            haltedCounter = value;
        }
        rearmAll();
    }

    /** Write-1-to-clear of level-mode status bits. */
    private void acknowledge(long bits) {
        status &= ~bits;
        updateOutputs();
    }

    private void writeTimerConfig(int n, long value) {
        Comparator t = timers[n];
        t.config = value & TN_WRITABLE;
        if (!t.level()) {
            status &= ~(1L << n); // edge mode has no status
        }
        t.comparator &= t.width();
        t.period &= t.width();
        arm(n);
        updateOutputs();
    }

    /**
     * Every write sets the value a periodic timer adds; it sets the comparator itself in one-shot mode, or
     * in periodic mode when Tn_VAL_SET_CNF was set (which the write then clears).
     */
    private void writeComparator(int n, long value, long mask) {
        Comparator t = timers[n];
        long width = t.width();
        if (!t.periodic() || (t.config & TN_VALUE_SET) != 0) {
            t.comparator = merge(t.comparator, value, mask) & width;
        }
        t.period = merge(t.period, value, mask) & width;
        t.config &= ~TN_VALUE_SET;
        arm(n);
    }

    // ---- matches and interrupts ----
    private void rearmAll() {
        for (int n = 0; n < TIMERS; n++) {
            arm(n);
        }
    }

    /** Arms timer {@code n} for the next time the counter steps onto its comparator, or disarms it. */
    private void arm(int n) {
        Comparator t = timers[n];
        if (!enabled()) {
            t.timer.cancel();
            return;
        }
        long width = t.width();
        long nowTick = nowTick(); // one clock reading: the deadline is relative to the counter value it gives
        long ticks = (t.comparator - (nowTick + counterOffset)) & width;
        if (ticks == 0) {
            ticks = width + 1; // the counter is on it now: the next step onto it is a full wrap away
        }
        armAfter(t, nowTick, ticks);
    }

    private void armAfter(Comparator t, long fromTick, long ticks) {
        if (ticks <= 0 || ticks > MAX_ARMED_TICKS) {
            t.timer.cancel(); // 64-bit wrap: centuries away
            return;
        }
        t.matchTick = fromTick + ticks;
        t.timer.arm(t.matchTick * TICK_NANOS);
    }

    private void onMatch(int n) {
        Comparator t = timers[n];
        if (!enabled()) {
            return;
        }
        fire(n);
        long width = t.width();
        long nowTick = nowTick();
        if (t.periodic() && t.period != 0 && t.period <= MAX_ARMED_TICKS) {
            long steps = 1;
            if (t.matchTick + t.period <= nowTick) {
                steps = (nowTick - t.matchTick) / t.period + 1; // the host stalled: drop the missed matches
            }
            t.comparator = (t.comparator + steps * t.period) & width;
            armAfter(t, t.matchTick, steps * t.period);
        } else if (t.periodic() && t.period != 0) {
            t.comparator = (t.comparator + t.period) & width;
            arm(n);
        } else {
            // One-shot (or a period of 0): the counter comes back onto the comparator after a full wrap.
            armAfter(t, t.matchTick, width + 1);
        }
    }

    private void fire(int n) {
        Comparator t = timers[n];
        if (t.level()) {
            status |= 1L << n;
            updateOutputs();
        } else if (t.interruptEnabled()) {
            pulse(n);
        }
    }

    /** An edge-mode interrupt: a rising then falling edge on the timer's route. */
    private void pulse(int n) {
        if (legacyRoute() && n < legacyOutputLevel.length) {
            setLegacyOutput(n, true);
            setLegacyOutput(n, false);
            return;
        }
        int route = deliverableRoute(timers[n]);
        if (route >= 0) {
            IrqLine line = ioApicInputs.apply(route);
            line.raise();
            line.lower();
        }
    }

    private int deliverableRoute(Comparator t) {
        int route = t.route();
        return (ROUTE_CAPABILITY >>> route & 1) != 0 ? route : -1;
    }

    /** The level a level-mode timer drives: fired, unacknowledged, its interrupt and the HPET enabled. */
    private boolean levelOutput(int n) {
        Comparator t = timers[n];
        return t.level() && (status >>> n & 1) != 0 && t.interruptEnabled() && enabled();
    }

    /** Drives IRQ0, IRQ8 and the I/O APIC routes from the current configuration and levels. */
    private void updateOutputs() {
        for (int n = 0; n < legacyOutputLevel.length; n++) {
            setLegacyOutput(n, legacyRoute() ? levelOutput(n) : legacyInputLevel[n]);
        }
        for (int n = 0; n < TIMERS; n++) {
            Comparator t = timers[n];
            boolean routedToLegacy = legacyRoute() && n < legacyOutputLevel.length;
            int wanted = !routedToLegacy && levelOutput(n) ? deliverableRoute(t) : -1;
            if (wanted != t.heldRoute) {
                if (t.heldRoute >= 0) {
                    ioApicInputs.apply(t.heldRoute).lower();
                }
                if (wanted >= 0) {
                    ioApicInputs.apply(wanted).raise();
                }
                t.heldRoute = wanted;
            }
        }
    }

    private void legacyInput(int n, boolean level) {
        legacyInputLevel[n] = level;
        if (!legacyRoute()) {
            setLegacyOutput(n, level);
        }
    }

    private void setLegacyOutput(int n, boolean level) {
        if (legacyOutputLevel[n] != level) {
            legacyOutputLevel[n] = level;
            (n == LEGACY_PIT_TIMER ? irq0 : irq8).set(level);
        }
    }

    // ---- reset ----
    @Override
    public void reset() {
        config = 0;
        status = 0;
        counterOffset = 0;
        haltedCounter = 0;
        for (Comparator t : timers) {
            t.config = 0;
            t.comparator = MASK_64;
            t.period = 0;
            t.timer.cancel();
        }
        updateOutputs();
    }

    // ---- snapshot state ----
    @Override
    public void saveState(DataOutput out) throws IOException {
        out.writeLong(config);
        out.writeLong(status);
        out.writeLong(counter());
        for (Comparator t : timers) {
            out.writeLong(t.config);
            out.writeLong(t.comparator);
            out.writeLong(t.period);
        }
        out.writeBoolean(legacyInputLevel[LEGACY_PIT_TIMER]);
        out.writeBoolean(legacyInputLevel[LEGACY_RTC_TIMER]);
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("hpet", version);
        long loadedConfig = in.readLong();
        long loadedStatus = in.readLong();
        long loadedCounter = in.readLong();
        long[][] loadedTimers = new long[TIMERS][3];
        for (long[] t : loadedTimers) {
            for (int i = 0; i < t.length; i++) {
                t[i] = in.readLong();
            }
        }
        boolean pitLevel = in.readBoolean();
        boolean rtcLevel = in.readBoolean();
        if ((loadedConfig & ~CFG_WRITABLE) != 0 || (loadedStatus & ~((1L << TIMERS) - 1)) != 0) {
            throw new IOException("hpet: invalid general registers");
        }
        for (int n = 0; n < TIMERS; n++) {
            long[] t = loadedTimers[n];
            long width = (t[0] & TN_32BIT_MODE) != 0 ? MASK_32 : MASK_64;
            if ((t[0] & ~TN_WRITABLE) != 0 || (t[1] & ~width) != 0 || (t[2] & ~width) != 0
                    || ((loadedStatus >>> n & 1) != 0 && (t[0] & TN_LEVEL) == 0)) {
                throw new IOException("hpet: invalid state of timer " + n);
            }
        }
        config = loadedConfig;
        status = loadedStatus;
        haltedCounter = loadedCounter;
        counterOffset = loadedCounter - nowTick();
        for (int n = 0; n < TIMERS; n++) {
            timers[n].config = loadedTimers[n][0];
            timers[n].comparator = loadedTimers[n][1];
            timers[n].period = loadedTimers[n][2];
        }
        legacyInputLevel[LEGACY_PIT_TIMER] = pitLevel;
        legacyInputLevel[LEGACY_RTC_TIMER] = rtcLevel;
        rearmAll();
        updateOutputs();
    }
}
