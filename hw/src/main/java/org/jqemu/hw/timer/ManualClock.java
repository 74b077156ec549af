package org.jqemu.hw.timer;

/**
 * Virtual time that moves only when told to: tests advance it and see every timer fire at exactly its
 * deadline, with {@link #nowNanos()} equal to that deadline inside the callback.
 */
public final class ManualClock extends TimerQueueClock {
    private long now;

    @Override
    public synchronized long nowNanos() {
        return now;
    }

    /** Moves time forward by {@code nanos} (negative values are ignored), firing due timers on the way. */
    public void advance(long nanos) {
        advanceTo(nowNanos() + Math.max(0, nanos));
    }

    /** Moves time forward to {@code target}, firing due timers in order; never moves time backwards. */
    public void advanceTo(long target) {
        runUntil(target);
        synchronized (this) {
            now = Math.max(now, target);
        }
    }

    @Override
    protected synchronized void beforeFiring(long deadline) {
        now = Math.max(now, deadline);
    }
}
