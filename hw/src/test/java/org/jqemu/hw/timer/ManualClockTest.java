package org.jqemu.hw.timer;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualClockTest {
    @Test
    void timersFireInDeadlineOrderAtTheirDeadline() {
        ManualClock clock = new ManualClock();
        List<Long> fired = new ArrayList<>();
        VirtualClock.Timer late = clock.newTimer(() -> fired.add(clock.nowNanos()));
        VirtualClock.Timer early = clock.newTimer(() -> fired.add(-clock.nowNanos()));
        late.arm(300);
        early.arm(100);
        clock.advance(250);
        assertEquals(List.of(-100L), fired);
        assertTrue(late.isArmed());
        assertFalse(early.isArmed());
        clock.advance(100);
        assertEquals(List.of(-100L, 300L), fired);
        assertEquals(350, clock.nowNanos());
    }

    @Test
    void rearmingFromCallbackMakesPeriodicTimer() {
        ManualClock clock = new ManualClock();
        int[] count = {0};
        VirtualClock.Timer[] timer = new VirtualClock.Timer[1];
        timer[0] = clock.newTimer(() -> {
            count[0]++;
            timer[0].arm(clock.nowNanos() + 10);
        });
        timer[0].arm(10);
        clock.advance(100);
        assertEquals(10, count[0]);
        timer[0].cancel();
        clock.advance(100);
        assertEquals(10, count[0]);
        assertEquals(Long.MAX_VALUE, clock.nextDeadline());
    }

    @Test
    void tickConversionsAreInverse() {
        long hz = 1_193_182;
        assertEquals(hz, VirtualClock.ticksAt(1_000_000_000L, hz));
        for (long tick : new long[] {0, 1, 2, 1193, 65536, 1_193_182, 123_456_789_012L}) {
            long nanos = VirtualClock.nanosAtTick(tick, hz);
            assertEquals(tick, VirtualClock.ticksAt(nanos, hz));
            assertEquals(tick - 1, VirtualClock.ticksAt(nanos - 1, hz));
        }
    }
}
