package org.jqemu.hw.timer;

/**
 * The machine's notion of time: a monotonic nanosecond count and timers that call back when it passes a
 * deadline. Devices never read host time themselves, so a {@link ManualClock} makes them deterministic
 * in tests, and the machine can run on {@link HostClock}.
 *
 * <p>Callbacks run on the thread that drives the clock ({@link TimerQueueClock#runExpired} or
 * {@link ManualClock#advance}), which is the machine thread: devices need no locking.
 */
public interface VirtualClock {
    long NANOS_PER_SECOND = 1_000_000_000L;

    /** Nanoseconds since the clock started; never goes backwards. */
    long nowNanos();

    /** A new, disarmed timer that runs {@code callback} once each time it expires. */
    Timer newTimer(Runnable callback);

    /** A one-shot timer; re-arm it from its callback for periodic events. */
    interface Timer {
        /** Arms (or re-arms) the timer for the absolute clock time {@code deadlineNanos}. */
        void arm(long deadlineNanos);

        void cancel();

        boolean isArmed();
    }

    /** Whole ticks of an {@code hz} oscillator that started at clock time 0, at clock time {@code nanos}. */
    static long ticksAt(long nanos, long hz) {
        return Math.floorDiv(nanos, NANOS_PER_SECOND) * hz + Math.floorMod(nanos, NANOS_PER_SECOND) * hz / NANOS_PER_SECOND;
    }

    /** The first clock time at which {@link #ticksAt} reaches {@code ticks}. */
    static long nanosAtTick(long ticks, long hz) {
        long seconds = Math.floorDiv(ticks, hz);
        long rest = Math.floorMod(ticks, hz);
        return seconds * NANOS_PER_SECOND + (rest * NANOS_PER_SECOND + hz - 1) / hz;
    }
}
