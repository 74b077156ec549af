package org.jqemu.hw.timer;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
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

    @Test
    void awaitReturnsAtOnceWhenATimerIsDue() {
        HostClock clock = new HostClock();
        clock.newTimer(() -> { }).arm(0);
        // The hang guard is generous: the call must not wait at all.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> clock.awaitDeadline(Long.MAX_VALUE));
    }

    @Test
    void wakeEndsAnIdleWait() throws InterruptedException {
        HostClock clock = new HostClock();
        CountDownLatch waiting = new CountDownLatch(1);
        CountDownLatch returned = new CountDownLatch(1);
        Thread sleeper = new Thread(() -> {
            waiting.countDown();
            clock.awaitDeadline(Long.MAX_VALUE / 2);
            returned.countDown();
        });
        sleeper.start();
        waiting.await();
        clock.wake();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> returned.await(), "woken, not timed out");
        sleeper.join();
    }
}
