package org.jqemu.hw.timer;

import java.util.PriorityQueue;

/**
 * The timer bookkeeping shared by every clock: armed timers ordered by deadline (then by arming order, so
 * equal deadlines fire in a stable order). Subclasses only say what time it is.
 */
public abstract class TimerQueueClock implements VirtualClock {
    private final PriorityQueue<QueuedTimer> queue = new PriorityQueue<>((a, b) -> {
        int byDeadline = Long.compare(a.deadline, b.deadline);
        return byDeadline != 0 ? byDeadline : Long.compare(a.sequence, b.sequence);
    });
    private long nextSequence;

    @Override
    public final Timer newTimer(Runnable callback) {
        return new QueuedTimer(callback);
    }

    /** Deadline of the earliest armed timer, or {@link Long#MAX_VALUE} when none is armed. */
    public final synchronized long nextDeadline() {
        QueuedTimer first = queue.peek();
        return first == null ? Long.MAX_VALUE : first.deadline;
    }

    /** Fires, in deadline order, every timer whose deadline is at or before now; returns how many fired. */
    public final int runExpired() {
        return runUntil(nowNanos());
    }

    /** Fires every timer due at or before {@code limit}; a callback may re-arm timers, which are honoured. */
    protected final int runUntil(long limit) {
        int fired = 0;
        while (true) {
            QueuedTimer due;
            synchronized (this) {
                due = queue.peek();
                if (due == null || due.deadline > limit) {
                    return fired;
                }
                queue.poll();
                due.armed = false;
            }
            beforeFiring(due.deadline);
            due.callback.run();
            fired++;
        }
    }

    /** Hook for clocks whose time is set by whoever drives them. */
    protected void beforeFiring(long deadline) { }

    private final class QueuedTimer implements Timer {
        final Runnable callback;
        long deadline;
        long sequence;
        boolean armed;

        QueuedTimer(Runnable callback) {
            this.callback = callback;
        }

        @Override
        public void arm(long deadlineNanos) {
            synchronized (TimerQueueClock.this) {
                if (armed) {
                    queue.remove(this);
                }
                deadline = deadlineNanos;
                sequence = nextSequence++;
                armed = true;
                queue.add(this);
            }
        }

        @Override
        public void cancel() {
            synchronized (TimerQueueClock.this) {
                if (armed) {
                    queue.remove(this);
                    armed = false;
                }
            }
        }

        @Override
        public boolean isArmed() {
            synchronized (TimerQueueClock.this) {
                return armed;
            }
        }
    }
}
