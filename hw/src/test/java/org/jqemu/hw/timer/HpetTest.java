package org.jqemu.hw.timer;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Random;
import org.jqemu.memory.IrqLine;
import org.junit.jupiter.api.Test;

/**
 * Register behaviour from the IA-PC HPET specification 1.0a (sections 2.3.x). Reset values and the
 * capabilities register are also what qemu-system-i386 7.2's pc machine reads back through its monitor
 * ({@code xp /2wx 0xfed00000}: 0x8086a201 0x00989680; {@code xp /4wx 0xfed00100}: 0x00000030 0x00000004
 * 0xffffffff 0xffffffff; general configuration, status and counter 0).
 */
class HpetTest {
    private static final long TICK = Hpet.TICK_NANOS;
    private static final int CFG = Hpet.REG_CONFIG;
    private static final int STATUS = Hpet.REG_STATUS;
    private static final int COUNTER = Hpet.REG_COUNTER;

    /** A wire that counts its rising edges. */
    static final class Wire implements IrqLine {
        boolean level;
        int rises;

        @Override
        public void set(boolean raised) {
            if (raised && !level) {
                rises++;
            }
            level = raised;
        }
    }

    private final ManualClock clock = new ManualClock();
    private final Wire irq0 = new Wire();
    private final Wire irq8 = new Wire();
    private final Wire[] ioApic = new Wire[32];
    private final Hpet hpet = newHpet(clock);

    private Hpet newHpet(VirtualClock c) {
        for (int i = 0; i < ioApic.length; i++) {
            if (ioApic[i] == null) {
                ioApic[i] = new Wire();
            }
        }
        return new Hpet(c, irq0, irq8, route -> ioApic[route]);
    }

    private static int timerConfig(int n) {
        return Hpet.REG_TIMER_BASE + Hpet.TIMER_STRIDE * n + Hpet.TIMER_CONFIG;
    }

    private static int comparator(int n) {
        return Hpet.REG_TIMER_BASE + Hpet.TIMER_STRIDE * n + Hpet.TIMER_COMPARATOR;
    }

    private long read64(int offset) {
        return hpet.read(offset, 8);
    }

    private long read32(int offset) {
        return hpet.read(offset, 4);
    }

    private void write32(int offset, long value) {
        hpet.write(offset, 4, value & 0xffff_ffffL);
    }

    private void write64(int offset, long value) {
        hpet.write(offset, 8, value);
    }

    private void atTick(long tick) {
        clock.advanceTo(tick * TICK);
    }

    /** Timer n edge-triggered on I/O APIC input 2 (the only route QEMU's pc offers), interrupt enabled. */
    private void routeToIoApic2(int n, long extraConfig) {
        write32(timerConfig(n), Hpet.TN_INT_ENABLE | 2L << Hpet.TN_ROUTE_SHIFT | extraConfig);
    }

    @Test
    void capabilitiesAsTheSpecificationDefinesAndQemuReports() {
        long caps = read64(Hpet.REG_CAPABILITIES);
        assertEquals(0x00989680_8086a201L, caps, "qemu-system-i386 7.2 pc: 0x8086a201 0x00989680");
        assertEquals(1, caps & 0xff, "REV_ID");
        assertEquals(2, caps >>> 8 & 0x1f, "NUM_TIM_CAP is the number of the last timer: 3 timers");
        assertEquals(1, caps >>> 13 & 1, "COUNT_SIZE_CAP: 64-bit counter");
        assertEquals(0, caps >>> 14 & 1, "reserved");
        assertEquals(1, caps >>> 15 & 1, "LEG_RT_CAP");
        assertEquals(0x8086, caps >>> 16 & 0xffff, "VENDOR_ID");
        long period = caps >>> 32;
        assertEquals(10_000_000L, period, "10 ns in femtoseconds");
        assertTrue(period > 0 && period <= 0x05F5E100L, "the specification's upper bound, 100 ns");
        assertEquals(0x8086a201L, read32(Hpet.REG_CAPABILITIES));
        assertEquals(0x00989680L, read32(Hpet.REG_CAPABILITIES + 4));
        write64(Hpet.REG_CAPABILITIES, 0);
        assertEquals(caps, read64(Hpet.REG_CAPABILITIES), "read-only");
    }

    @Test
    void resetValuesMatchQemu() {
        for (int n = 0; n < Hpet.TIMERS; n++) {
            assertEquals(0x00000004_00000030L, read64(timerConfig(n)), "Tn_INT_ROUTE_CAP = IRQ2, periodic and 64-bit capable");
            assertEquals(-1L, read64(comparator(n)), "comparator resets to all ones");
            assertEquals(0, read64(comparator(n) + 8), "FSB route");
        }
        assertEquals(0, read64(CFG));
        assertEquals(0, read64(STATUS));
        assertEquals(0, read64(COUNTER));
        assertEquals(0, read64(0x100 + 0x20 * Hpet.TIMERS), "no fourth timer");
        assertEquals(0, read64(0x3f8), "reserved space reads 0");
    }

    @Test
    void readOnlyTimerBitsStayAndFsbCannotBeEnabled() {
        write64(timerConfig(0), -1L);
        long cfg = read64(timerConfig(0));
        assertEquals(0x00000004_00000030L, cfg & 0xffff_ffff_0000_8030L, "capability bits unchanged");
        assertEquals(0, cfg & Hpet.TN_FSB_ENABLE, "no FSB capability, so no FSB enable");
        assertEquals(Hpet.TN_LEVEL | Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | Hpet.TN_32BIT_MODE | Hpet.TN_ROUTE,
                cfg & 0x7fcf & ~Hpet.TN_FSB_ENABLE);
    }

    @Test
    void counterAdvancesWithTheClockOnlyWhileEnabled() {
        clock.advance(1_000_000);
        assertEquals(0, read64(COUNTER), "halted after reset");
        write32(CFG, Hpet.CFG_ENABLE);
        clock.advance(1_000_000);
        assertEquals(100_000, read64(COUNTER), "1 ms at 100 MHz");
        clock.advance(5);
        assertEquals(100_000, read64(COUNTER), "less than a period: no tick");
        clock.advance(5);
        assertEquals(100_001, read64(COUNTER));
        write32(CFG, 0);
        clock.advance(1_000_000);
        assertEquals(100_001, read64(COUNTER), "halting keeps the value");
        write64(COUNTER, 0xffff_fff0L);
        write32(CFG, Hpet.CFG_ENABLE);
        clock.advance(200);
        assertEquals(0x1_0000_0004L, read64(COUNTER), "64 bits wide: carries into the upper half");
        assertEquals(4, read32(COUNTER));
        assertEquals(1, read32(COUNTER + 4));
    }

    @Test
    void halvesOfTheCounterWriteIndependently() {
        write32(COUNTER, 0x1234_5678);
        write32(COUNTER + 4, 0x9abc_def0L);
        assertEquals(0x9abc_def0_1234_5678L, read64(COUNTER));
        write32(COUNTER, 0);
        assertEquals(0x9abc_def0_0000_0000L, read64(COUNTER));
    }

    @Test
    void oneShotEdgeFiresOnceWhenTheCounterReachesTheComparator() {
        routeToIoApic2(2, 0);
        write64(comparator(2), 1000);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(999);
        assertEquals(0, ioApic[2].rises);
        atTick(1000);
        assertEquals(1, ioApic[2].rises);
        assertFalse(ioApic[2].level, "an edge, not a level");
        assertEquals(0, read64(STATUS), "edge mode sets no status bit");
        clock.advance(60L * VirtualClock.NANOS_PER_SECOND);
        assertEquals(1, ioApic[2].rises, "64-bit one-shot: the next match is after a 64-bit wrap");
        assertEquals(1000, read64(comparator(2)), "one-shot comparators do not move");
    }

    @Test
    void oneShotIn32BitModeMatchesAgainAfterThe32BitWrap() {
        routeToIoApic2(1, Hpet.TN_32BIT_MODE);
        write64(comparator(1), 0x1_0000_1000L);
        assertEquals(0x1000, read64(comparator(1)), "32-bit mode keeps only the low half");
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(0x1000);
        assertEquals(1, ioApic[2].rises);
        atTick(0x1_0000_0fffL);
        assertEquals(1, ioApic[2].rises);
        atTick(0x1_0000_1000L);
        assertEquals(2, ioApic[2].rises, "the low 32 bits of the counter reach the comparator again");
    }

    @Test
    void comparatorWrittenInThePastOf64BitModeNeverMatches() {
        routeToIoApic2(0, 0);
        write64(COUNTER, 5000);
        write64(comparator(0), 1000);
        write32(CFG, Hpet.CFG_ENABLE);
        clock.advance(10L * VirtualClock.NANOS_PER_SECOND);
        assertEquals(0, ioApic[2].rises);
    }

    /** Linux's periodic set-up: halt, VAL_SET with the first deadline, then the period, then start. */
    @Test
    void periodicWithValueSetSetsAccumulatorThenPeriod() {
        routeToIoApic2(0, Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | Hpet.TN_32BIT_MODE);
        write32(comparator(0), 500);
        assertEquals(0, read64(timerConfig(0)) & Hpet.TN_VALUE_SET, "the comparator write clears Tn_VAL_SET_CNF");
        write32(comparator(0), 1000);
        assertEquals(500, read64(comparator(0)), "without VAL_SET a periodic write sets only the increment");
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(499);
        assertEquals(0, ioApic[2].rises);
        atTick(500);
        assertEquals(1, ioApic[2].rises);
        assertEquals(1500, read64(comparator(0)), "the comparator advanced by the period");
        atTick(1499);
        assertEquals(1, ioApic[2].rises);
        atTick(1500);
        assertEquals(2, ioApic[2].rises);
        atTick(10_500);
        assertEquals(11, ioApic[2].rises, "one match per period");
    }

    @Test
    void periodic32BitTimerWrapsWithTheLowHalfOfTheCounter() {
        routeToIoApic2(0, Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | Hpet.TN_32BIT_MODE);
        write32(comparator(0), 0xffff_fff0L);
        write32(comparator(0), 0x20);
        write64(COUNTER, 0xffff_ff00L);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(0xf0);
        assertEquals(1, ioApic[2].rises, "counter 0xfffffff0");
        assertEquals(0x10, read64(comparator(0)), "the comparator wraps at 32 bits");
        atTick(0x110);
        assertEquals(2, ioApic[2].rises, "counter 0x1_00000010 matches comparator 0x10");
        assertEquals(0x1_0000_0010L, read64(COUNTER));
    }

    /** A clock whose time jumps: timers fire late, as on a host that stalled the machine thread. */
    static final class JumpClock extends TimerQueueClock {
        long now;

        @Override
        public long nowNanos() {
            return now;
        }
    }

    @Test
    void periodicTimerDropsMatchesMissedWhileTheHostStalled() {
        JumpClock jump = new JumpClock();
        Hpet late = new Hpet(jump, irq0, irq8, route -> ioApic[route]);
        late.write(timerConfig(0), 4, Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | 2L << Hpet.TN_ROUTE_SHIFT);
        late.write(comparator(0), 8, 100);
        late.write(comparator(0), 8, 100);
        late.write(CFG, 4, Hpet.CFG_ENABLE);
        jump.now = 100 * TICK;
        jump.runExpired();
        assertEquals(1, ioApic[2].rises);
        jump.now = 5_050 * TICK;
        jump.runExpired();
        assertEquals(2, ioApic[2].rises, "49 periods passed before the callback ran: one interrupt for them");
        assertEquals(5_100, late.read(comparator(0), 8), "the comparator moved to the first match after now");
        jump.now = 5_100 * TICK;
        jump.runExpired();
        assertEquals(3, ioApic[2].rises, "and the period goes on from there");
    }

    @Test
    void legacyReplacementRoutesTimersToIrq0AndIrq8AndCutsThePitAndRtc() {
        hpet.pitInput().raise();
        hpet.rtcInput().raise();
        assertTrue(irq0.level, "without legacy replacement the 8254 reaches IRQ0");
        assertTrue(irq8.level, "and the RTC IRQ8");
        write32(timerConfig(0), Hpet.TN_INT_ENABLE | 2L << Hpet.TN_ROUTE_SHIFT);
        write32(timerConfig(1), Hpet.TN_INT_ENABLE);
        write64(comparator(0), 100);
        write64(comparator(1), 200);
        write32(CFG, Hpet.CFG_ENABLE | Hpet.CFG_LEGACY_ROUTE);
        assertFalse(irq0.level, "LEG_RT_CNF disconnects the 8254");
        assertFalse(irq8.level, "and the RTC");
        int rises0 = irq0.rises;
        int rises8 = irq8.rises;
        hpet.pitInput().lower();
        hpet.pitInput().raise();
        hpet.rtcInput().lower();
        hpet.rtcInput().raise();
        assertEquals(rises0, irq0.rises);
        assertEquals(rises8, irq8.rises);
        atTick(100);
        assertEquals(rises0 + 1, irq0.rises, "timer 0 on IRQ0, whatever its route field says");
        assertEquals(0, ioApic[2].rises);
        atTick(200);
        assertEquals(rises8 + 1, irq8.rises, "timer 1 on IRQ8");
        write32(CFG, Hpet.CFG_ENABLE);
        assertTrue(irq0.level, "clearing LEG_RT_CNF reconnects the 8254's current level");
        assertTrue(irq8.level);
    }

    @Test
    void levelModeHoldsTheLineUntilStatusIsWrittenWithOne() {
        write32(timerConfig(0), Hpet.TN_LEVEL | Hpet.TN_INT_ENABLE);
        write64(comparator(0), 50);
        write32(CFG, Hpet.CFG_ENABLE | Hpet.CFG_LEGACY_ROUTE);
        atTick(50);
        assertTrue(irq0.level);
        assertEquals(1, read64(STATUS));
        write32(STATUS, 0);
        assertTrue(irq0.level, "writing 0 has no effect");
        write32(STATUS, 0b110);
        assertTrue(irq0.level, "other bits do not clear timer 0");
        write32(STATUS, 1);
        assertFalse(irq0.level);
        assertEquals(0, read64(STATUS));
    }

    @Test
    void levelStatusIsSetEvenWithTheInterruptDisabled() {
        write32(timerConfig(2), Hpet.TN_LEVEL | 2L << Hpet.TN_ROUTE_SHIFT);
        write64(comparator(2), 10);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(10);
        assertEquals(0b100, read64(STATUS));
        assertFalse(ioApic[2].level, "Tn_INT_ENB_CNF clear: status only");
        write32(timerConfig(2), Hpet.TN_LEVEL | Hpet.TN_INT_ENABLE | 2L << Hpet.TN_ROUTE_SHIFT);
        assertTrue(ioApic[2].level, "enabling the interrupt asserts the pending level");
        write32(CFG, 0);
        assertFalse(ioApic[2].level, "ENABLE_CNF clear: no timer interrupts");
        write32(CFG, Hpet.CFG_ENABLE);
        write32(STATUS, 0b100);
        assertFalse(ioApic[2].level);
    }

    @Test
    void routesOutsideTheCapabilityDeliverNothing() {
        write32(timerConfig(2), Hpet.TN_INT_ENABLE | 5L << Hpet.TN_ROUTE_SHIFT);
        write64(comparator(2), 10);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(10);
        for (Wire w : ioApic) {
            assertEquals(0, w.rises);
        }
    }

    @Test
    void haltingTheCounterStopsMatches() {
        routeToIoApic2(0, 0);
        write64(comparator(0), 1000);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(600);
        write32(CFG, 0);
        atTick(5000);
        assertEquals(0, ioApic[2].rises);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(5399);
        assertEquals(0, ioApic[2].rises);
        atTick(5400);
        assertEquals(1, ioApic[2].rises, "400 ticks were left when it was halted");
    }

    @Test
    void smallAccessesReadTheBytesTheyCover() {
        assertEquals(0x01, hpet.read(0, 1));
        assertEquals(0xa2, hpet.read(1, 1));
        assertEquals(0x8086, hpet.read(2, 2));
        assertEquals(0, hpet.read(6, 4), "an access crossing a 64-bit register is refused");
        hpet.write(CFG, 1, Hpet.CFG_ENABLE);
        assertEquals(Hpet.CFG_ENABLE, read64(CFG));
    }

    @Test
    void snapshotRoundTripKeepsRegistersAndPendingMatches() throws IOException {
        write32(timerConfig(0), Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | Hpet.TN_32BIT_MODE);
        write32(comparator(0), 300);
        write32(comparator(0), 1000);
        write32(timerConfig(1), Hpet.TN_LEVEL | Hpet.TN_INT_ENABLE);
        write64(comparator(1), 100);
        write32(CFG, Hpet.CFG_ENABLE | Hpet.CFG_LEGACY_ROUTE);
        atTick(150);
        assertTrue(irq8.level);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        hpet.saveState(new DataOutputStream(bytes));

        Wire copy0 = new Wire();
        Wire copy8 = new Wire();
        Hpet copy = new Hpet(clock, copy0, copy8, route -> IrqLine.none());
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), copy.stateVersion());
        for (int offset = 0; offset < Hpet.REGION_SIZE; offset += 8) {
            assertEquals(hpet.read(offset, 8), copy.read(offset, 8), "register 0x" + Integer.toHexString(offset));
        }
        assertTrue(copy8.level, "the pending level interrupt is driven again");
        atTick(300);
        assertEquals(1, copy0.rises, "the periodic match is re-armed from the snapshot");
        atTick(1300);
        assertEquals(2, copy0.rises);
    }

    @Test
    void invalidSnapshotIsRefusedAndChangesNothing() throws IOException {
        write32(CFG, Hpet.CFG_ENABLE);
        write64(comparator(0), 1234);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        hpet.saveState(new DataOutputStream(bytes));
        byte[] good = bytes.toByteArray();
        long[] before = new long[Hpet.REGION_SIZE / 8];
        for (int i = 0; i < before.length; i++) {
            before[i] = hpet.read(i * 8L, 8);
        }
        byte[] badConfig = good.clone();
        badConfig[0] = 1; // a reserved bit of the general configuration
        byte[] badStatus = good.clone();
        badStatus[15] = 1; // status of timer 0, which is in edge mode
        byte[] truncated = Arrays.copyOf(good, good.length - 3);
        for (byte[] bad : new byte[][] {badConfig, badStatus, truncated}) {
            assertThrows(IOException.class,
                    () -> hpet.loadState(new DataInputStream(new ByteArrayInputStream(bad)), hpet.stateVersion()));
        }
        assertThrows(IOException.class,
                () -> hpet.loadState(new DataInputStream(new ByteArrayInputStream(good)), hpet.stateVersion() + 1));
        for (int i = 0; i < before.length; i++) {
            assertEquals(before[i], hpet.read(i * 8L, 8), "register 0x" + Integer.toHexString(i * 8));
        }
    }

    @Test
    void hostileWritesNeverThrowAndResetRestoresTheRegisters() {
        Random random = new Random(6);
        int[] sizes = {1, 2, 4, 8, 3, 0, -1, 16};
        long[] values = {0, -1, 1, 0x7fff_ffff_ffff_ffffL, Long.MIN_VALUE, 0xffff_ffffL};
        for (int i = 0; i < 200_000; i++) {
            long offset = random.nextInt(8) == 0 ? random.nextLong() : random.nextInt(0x500);
            int size = sizes[random.nextInt(sizes.length)];
            long value = random.nextBoolean() ? random.nextLong() : values[random.nextInt(values.length)];
            if (random.nextBoolean()) {
                hpet.write(offset, size, value);
            } else {
                hpet.read(offset, size);
            }
            if (i % 64 == 0) {
                clock.advance(random.nextInt(10_000));
            }
        }
        hpet.reset();
        resetValuesMatchQemu();
    }

    @Test
    void periodOfZeroAndOfOneTickStayBounded() {
        routeToIoApic2(0, Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | Hpet.TN_32BIT_MODE);
        write32(comparator(0), 10);
        write32(comparator(0), 0);
        write32(CFG, Hpet.CFG_ENABLE);
        atTick(1_000_000);
        assertEquals(1, ioApic[2].rises, "a period of 0 leaves the comparator: the next match is a 32-bit wrap away");
        write32(timerConfig(0), Hpet.TN_INT_ENABLE | Hpet.TN_PERIODIC | Hpet.TN_VALUE_SET | 2L << Hpet.TN_ROUTE_SHIFT);
        write64(comparator(0), 1_000_010);
        write64(comparator(0), 1);
        atTick(1_000_110);
        assertEquals(1 + 101, ioApic[2].rises, "a 10 ns period: one interrupt per tick, no more");
    }
}
