package org.jqemu.linuxuser;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A process's timers: ITIMER_REAL (setitimer, alarm: SIGALRM) and POSIX timers (timer_create with
 * SIGEV_SIGNAL, SIGEV_NONE or SIGEV_THREAD_ID). Expiries run on one shared daemon scheduler and
 * send the signal to the process (or thread) like any other sender. Times are in nanoseconds; only
 * the realtime and monotonic clocks exist here and both tick with the host's monotonic time.
 */
final class IntervalTimers {
    private static final ScheduledExecutorService SCHEDULER = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "guest-timers");
        t.setDaemon(true);
        return t;
    });
    static final int SIGEV_SIGNAL = 0, SIGEV_NONE = 1, SIGEV_THREAD_ID = 4;
    private static final int MAX_TIMERS = 256;

    /** One timer: what it sends, its period, and the pending expiry. */
    private final class Timer {
        final int id;
        final int notify, signal, value, threadId;
        int clock;
        long interval;
        long nextExpiry; // System.nanoTime of the next expiry, 0 when disarmed
        ScheduledFuture<?> future;

        Timer(int id, int notify, int signal, int value, int threadId) {
            this.id = id;
            this.notify = notify;
            this.signal = signal;
            this.value = value;
            this.threadId = threadId;
        }

        void fire() {
            synchronized (IntervalTimers.this) {
                if (nextExpiry == 0) {
                    return;
                }
                if (interval > 0) {
                    nextExpiry += interval;
                    long delay = Math.max(0, nextExpiry - System.nanoTime());
                    future = SCHEDULER.schedule(this::fire, delay, TimeUnit.NANOSECONDS);
                } else {
                    nextExpiry = 0;
                }
            }
            if (notify == SIGEV_NONE || process.exiting()) {
                return;
            }
            SignalDelivery.Info info = id < 0
                    ? SignalDelivery.Info.sent(signal, 0x80 /* SI_KERNEL */, 0, 0)
                    : SignalDelivery.Info.timer(signal, id, 0, value);
            GuestThread target = notify == SIGEV_THREAD_ID ? process.kernel.thread(threadId) : null;
            if (target != null) {
                target.signals.send(info);
            } else {
                process.sendSignal(info);
            }
        }
    }

    private final GuestProcess process;
    private final Map<Integer, Timer> posix = new HashMap<>();
    private Timer real;

    IntervalTimers(GuestProcess process) {
        this.process = process;
    }

    /** Arms (value > 0) or disarms a timer; returns {interval, remaining} before the change. */
    private long[] arm(Timer t, long value, long interval) {
        long[] old = current(t);
        if (t.future != null) {
            t.future.cancel(false);
            t.future = null;
        }
        t.interval = interval;
        t.nextExpiry = value > 0 ? System.nanoTime() + value : 0;
        if (value > 0) {
            t.future = SCHEDULER.schedule(t::fire, value, TimeUnit.NANOSECONDS);
        }
        return old;
    }

    private static long[] current(Timer t) {
        if (t == null || t.nextExpiry == 0) {
            return new long[] {t == null ? 0 : t.interval, 0};
        }
        return new long[] {t.interval, Math.max(1, t.nextExpiry - System.nanoTime())};
    }

    /** setitimer(ITIMER_REAL): {old interval, old remaining}. */
    synchronized long[] setReal(long value, long interval) {
        if (real == null) {
            real = new Timer(-1, SIGEV_SIGNAL, Signals.SIGALRM, 0, 0);
        }
        return arm(real, value, interval);
    }

    synchronized long[] getReal() { return current(real); }

    /** timer_create: the new id, or -errno. */
    synchronized int create(int clock, int notify, int signal, int value, int threadId) {
        if (notify != SIGEV_SIGNAL && notify != SIGEV_NONE && notify != SIGEV_THREAD_ID) {
            return -Errno.EINVAL;
        }
        if (notify != SIGEV_NONE && (signal < 1 || signal > Signals.MAX)) {
            return -Errno.EINVAL;
        }
        for (int id = 0; id < MAX_TIMERS; id++) {
            if (!posix.containsKey(id)) {
                Timer t = new Timer(id, notify, signal, value, threadId);
                t.clock = clock;
                posix.put(id, t);
                return id;
            }
        }
        return -Errno.EAGAIN;
    }

    /** timer_settime: old {interval, remaining}, or null for a bad id. Absolute values are converted by the caller. */
    synchronized long[] set(int id, long value, long interval) {
        Timer t = posix.get(id);
        return t == null ? null : arm(t, value, interval);
    }

    /** The clock a timer counts (for TIMER_ABSTIME), or -1 for a bad id. */
    synchronized int clockOf(int id) {
        Timer t = posix.get(id);
        return t == null ? -1 : t.clock;
    }

    synchronized long[] get(int id) {
        Timer t = posix.get(id);
        return t == null ? null : current(t);
    }

    synchronized boolean delete(int id) {
        Timer t = posix.remove(id);
        if (t == null) {
            return false;
        }
        arm(t, 0, 0);
        return true;
    }

    /** The process is gone. */
    synchronized void cancelAll() {
        if (real != null) {
            arm(real, 0, 0);
        }
        for (Timer t : posix.values()) {
            arm(t, 0, 0);
        }
        posix.clear();
    }
}
