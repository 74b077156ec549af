package org.jqemu.hw.timer;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class HostClockTest {
    @Test
    void timeIsMonotonicAndDueTimersFire() {
        HostClock clock = new HostClock();
        long first = clock.nowNanos();
        assertTrue(first >= 0);
        int[] fired = {0};
        VirtualClock.Timer past = clock.newTimer(() -> fired[0]++);
        VirtualClock.Timer future = clock.newTimer(() -> fired[0] += 100);
        past.arm(first);
        future.arm(Long.MAX_VALUE - 1);
        assertEquals(first, clock.nextDeadline());
        assertEquals(1, clock.runExpired());
        assertEquals(1, fired[0]);
        assertEquals(Long.MAX_VALUE - 1, clock.nextDeadline());
        assertTrue(clock.nowNanos() >= first);
        future.cancel();
        assertEquals(0, clock.runExpired());
    }
}
