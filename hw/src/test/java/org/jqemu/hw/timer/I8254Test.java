package org.jqemu.hw.timer;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Expected behaviour from the Intel 8254 datasheet (modes 0-5, latch and read-back commands). */
class I8254Test {
    private static final long HZ = I8254.FREQUENCY_HZ;
    private final ManualClock clock = new ManualClock();
    private int rises;
    private boolean irq;
    private I8254 pit;

    @BeforeEach
    void setUp() {
        pit = new I8254(clock, level -> {
            if (level && !irq) {
                rises++;
            }
            irq = level;
        });
    }

    private void at(long tick) {
        clock.advanceTo(VirtualClock.nanosAtTick(tick, HZ));
    }

    private void program(int counter, int mode, int count) {
        pit.out(0x43, 1, counter << 6 | 0x30 | mode << 1);
        pit.out(0x40 + counter, 1, count & 0xff);
        pit.out(0x40 + counter, 1, count >>> 8);
    }

    private int readWord(int counter) {
        int lo = pit.in(0x40 + counter, 1);
        return lo | pit.in(0x40 + counter, 1) << 8;
    }

    @Test
    void mode2RateGeneratorGivesOneIrqEdgePerPeriod() {
        program(0, 2, 1193);
        int base = rises;
        at(1193 * 10);
        assertEquals(10, rises - base);
        at(1193 * 10 + 1192);
        assertEquals(10, rises - base);
        at(1193 * 11);
        assertEquals(11, rises - base);
    }

    @Test
    void mode2CounterValueAndOneTickLowPulse() {
        program(2, 2, 100);
        pit.out(0x61, 1, 1);
        at(30);
        assertEquals(70, readWord(2));
        at(99);
        assertFalse(pit.out(2), "OUT low for the clock in which the count is 1");
        assertEquals(1, readWord(2));
        at(100);
        assertTrue(pit.out(2));
        assertEquals(100, readWord(2), "reloaded");
    }

    @Test
    void mode0InterruptOnTerminalCount() {
        pit.out(0x43, 1, 0x30); // counter 0, lsb/msb, mode 0
        assertFalse(irq, "control word in mode 0 drives OUT low");
        pit.out(0x40, 1, 0x00);
        pit.out(0x40, 1, 0x01); // 256
        at(255);
        assertFalse(irq);
        assertEquals(1, readWord(0));
        at(256);
        assertTrue(irq);
        assertEquals(1, rises);
        at(300);
        assertEquals(0xffd4, readWord(0), "the counter wraps and keeps counting");
        at(100000);
        assertEquals(1, rises, "mode 0 is one-shot");
    }

    @Test
    void mode0FirstByteOfNewCountStopsCounting() {
        program(2, 0, 100);
        pit.out(0x61, 1, 1);
        at(150);
        assertTrue(pit.out(2));
        pit.out(0x42, 1, 0x10);
        assertFalse(pit.out(2), "OUT low as soon as the first byte is written");
        int held = readWord(2);
        at(400);
        assertEquals(held, readWord(2), "not counting between the two bytes");
        pit.out(0x42, 1, 0x00); // 0x0010
        at(415);
        assertFalse(pit.out(2));
        at(416);
        assertTrue(pit.out(2));
    }

    @Test
    void mode2NewCountTakesEffectAtTheNextReload() {
        program(0, 2, 1000);
        int base = rises;
        at(300);
        pit.out(0x40, 1, 100);
        pit.out(0x40, 1, 0); // 100, while counting
        pit.out(0x43, 1, 0xe2);
        assertEquals(0x40, pit.in(0x40, 1) & 0x40, "null count until the new count is loaded");
        at(500);
        assertEquals(500, readWord(0), "still counting the old period");
        at(1000);
        assertEquals(1, rises - base, "old period ends on schedule");
        assertEquals(100, readWord(0));
        at(1100);
        assertEquals(2, rises - base, "then periods of the new count");
        at(1300);
        assertEquals(4, rises - base);
        pit.out(0x43, 1, 0xe2);
        assertEquals(0, pit.in(0x40, 1) & 0x40);
    }

    @Test
    void latchCommandFreezesTheReadValue() {
        program(0, 2, 5000);
        at(1000);
        pit.out(0x43, 1, 0x00); // latch counter 0
        at(2000);
        assertEquals(4000, readWord(0));
        assertEquals(3000, readWord(0), "latch consumed: live value again");
    }

    @Test
    void readBackReturnsStatusThenCount() {
        pit.out(0x43, 1, 0x34); // counter 0, lsb/msb, mode 2, binary
        pit.out(0x43, 1, 0xe2); // read-back status only, counter 0
        assertEquals(0xc0 | 0x34, pit.in(0x40, 1) | 0, "OUT high, null count, rw=3, mode 2");
        pit.out(0x40, 1, 0x10);
        pit.out(0x40, 1, 0x27); // 10000
        at(10);
        pit.out(0x43, 1, 0xc2); // read-back count and status
        assertEquals(0x80 | 0x34, pit.in(0x40, 1));
        assertEquals(9990, readWord(0));
    }

    @Test
    void modes6And7RunAs2And3ButReadBackAsProgrammed() {
        pit.out(0x43, 1, 0xbc); // counter 2, lsb/msb, mode 6, binary
        pit.out(0x42, 1, 10);
        pit.out(0x42, 1, 0);
        pit.out(0x61, 1, 1);
        pit.out(0x43, 1, 0xe8);
        assertEquals(0x3c, pit.in(0x42, 1) & 0x3f, "M2-M0 = 110 as written");
        at(9);
        assertFalse(pit.out(2), "rate generator: OUT low when the count is 1");
        at(10);
        assertTrue(pit.out(2));
    }

    @Test
    void bcdCounting() {
        pit.out(0x43, 1, 0xb1 & ~0x0e | 0x00); // counter 2, lsb/msb, mode 0, BCD
        pit.out(0x42, 1, 0x00);
        pit.out(0x42, 1, 0x01); // BCD 0100 = 100
        pit.out(0x61, 1, 1);
        at(30);
        assertEquals(0x0070, readWord(2));
        at(101);
        assertEquals(0x9999, readWord(2), "BCD counters wrap to 9999");
    }

    @Test
    void lsbOnlyAndMsbOnlyAccess() {
        pit.out(0x43, 1, 0x90); // counter 2, lsb only, mode 0
        pit.out(0x42, 1, 0x50);
        pit.out(0x61, 1, 1);
        at(0x10);
        assertEquals(0x40, pit.in(0x42, 1));
        assertEquals(0x40, pit.in(0x42, 1), "lsb-only reads never toggle");
        pit.out(0x43, 1, 0xa0); // counter 2, msb only, mode 0
        pit.out(0x42, 1, 0x02); // 0x200
        at(0x10 + 0x100);
        assertEquals(0x01, pit.in(0x42, 1));
    }

    @Test
    void gateOfCounter2IsPortBBit0AndOut2IsBit5() {
        program(2, 0, 50);
        at(100);
        assertEquals(50, readWord(2), "gate low: mode 0 does not count");
        assertEquals(0, pit.in(0x61, 1) & 0x21);
        pit.out(0x61, 1, 0x03);
        at(149);
        assertEquals(0x03, pit.in(0x61, 1) & 0x23);
        at(150);
        assertEquals(0x23, pit.in(0x61, 1) & 0x23);
        assertTrue(pit.speakerOn());
    }

    @Test
    void mode3SquareWave() {
        program(2, 3, 10);
        pit.out(0x61, 1, 1);
        int base = (int) VirtualClock.ticksAt(clock.nowNanos(), HZ);
        for (int t = 0; t < 30; t++) {
            at(base + t);
            assertEquals(t % 10 < 5, pit.out(2), "tick " + t);
        }
        program(2, 3, 7); // odd: high for 4, low for 3
        long start = VirtualClock.ticksAt(clock.nowNanos(), HZ);
        for (int t = 0; t < 14; t++) {
            at(start + t);
            assertEquals(t % 7 < 4, pit.out(2), "odd count tick " + t);
        }
    }

    @Test
    void mode1OneShotStartsOnGateRisingEdge() {
        program(2, 1, 20);
        assertTrue(pit.out(2));
        at(100);
        assertTrue(pit.out(2), "no trigger yet");
        pit.out(0x61, 1, 1);
        assertFalse(pit.out(2));
        at(119);
        assertFalse(pit.out(2));
        at(120);
        assertTrue(pit.out(2));
        pit.out(0x61, 1, 0);
        pit.out(0x61, 1, 1); // retrigger
        assertFalse(pit.out(2));
    }

    @Test
    void mode4SoftwareStrobe() {
        program(0, 4, 40);
        int base = rises;
        assertTrue(irq);
        at(39);
        assertTrue(irq);
        at(40);
        assertFalse(irq);
        at(41);
        assertTrue(irq);
        assertEquals(1, rises - base);
    }

    /** A host clock that moves on while the device works: each reading is {@code stepNanos} later (a stalled host thread). */
    private static final class SteppingClock extends TimerQueueClock {
        long now;
        long stepNanos;

        @Override
        public long nowNanos() {
            now += stepNanos;
            return now;
        }
    }

    /**
     * Issue #6: Linux's tickless one-shot programs mode 4 and waits for the one IRQ0 edge at the end of
     * the count. On the host clock time passes during the register write itself; when the host stalled
     * past the count's end between two clock readings (GC, JIT, a busy host), the device took the count
     * as started at the first reading and finished at the second, skipped the one-tick low pulse and
     * never raised IRQ0: the guest slept forever. Here every clock reading is 50 us later than the last
     * (the count is 20 ticks, 17 us): the edge must still arrive, exactly once.
     */
    @Test
    void mode4OneShotEdgeSurvivesAHostStallDuringTheWrite() {
        SteppingClock slow = new SteppingClock();
        int[] edges = {0};
        boolean[] level = {false};
        I8254 timer = new I8254(slow, high -> {
            if (high && !level[0]) {
                edges[0]++;
            }
            level[0] = high;
        });
        timer.out(0x43, 1, 0x38); // counter 0, lsb/msb, mode 4: Linux's pit_set_oneshot
        int before = edges[0];
        slow.stepNanos = 50_000;
        timer.out(0x40, 1, 20);
        timer.out(0x40, 1, 0); // the count starts here
        slow.stepNanos = 1_000;
        for (int i = 0; i < 100; i++) {
            slow.runExpired();
        }
        assertEquals(1, edges[0] - before, "one IRQ0 edge at the end of the one-shot count");
        assertTrue(level[0]);
    }

    @Test
    void mode5HardwareStrobe() {
        program(2, 5, 10);
        at(50);
        assertTrue(pit.out(2));
        pit.out(0x61, 1, 1);
        at(59);
        assertTrue(pit.out(2));
        at(60);
        assertFalse(pit.out(2));
        at(61);
        assertTrue(pit.out(2));
    }

    @Test
    void countOfZeroMeans65536() {
        program(0, 2, 0);
        int base = rises;
        at(65535);
        assertEquals(0, rises - base);
        at(65536);
        assertEquals(1, rises - base);
    }

    @Test
    void refreshToggleChangesWithTime() {
        int first = pit.in(0x61, 1) & 0x10;
        clock.advance(15_085);
        assertNotEquals(first, pit.in(0x61, 1) & 0x10);
    }

    @Test
    void snapshotRoundTripAndRefusal() throws IOException {
        program(2, 2, 1000);
        pit.out(0x61, 1, 1);
        at(123);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        pit.saveState(new DataOutputStream(bytes));
        I8254 copy = new I8254(clock, level -> { });
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertEquals(readWord(2), copy.in(0x42, 1) | copy.in(0x42, 1) << 8);

        byte[] bad = bytes.toByteArray();
        bad[0] = 9; // mode 9
        I8254 victim = new I8254(clock, level -> { });
        program(1, 3, 0);
        victim.out(0x43, 1, 0x76);
        victim.out(0x43, 1, 0xe4);
        int before = victim.in(0x41, 1);
        victim.out(0x43, 1, 0xe4);
        assertThrows(IOException.class,
                () -> victim.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
        assertEquals(before, victim.in(0x41, 1));
    }

    @Test
    void hostileWritesNeverThrow() {
        Random random = new Random(2);
        for (int i = 0; i < 20000; i++) {
            int port = random.nextBoolean() ? 0x40 + random.nextInt(4) : 0x61;
            if (random.nextBoolean()) {
                pit.out(port, 1, random.nextInt());
            } else {
                pit.in(port, 1);
            }
            clock.advance(random.nextInt(5000));
        }
    }
}
