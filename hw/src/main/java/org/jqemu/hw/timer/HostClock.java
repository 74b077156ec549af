package org.jqemu.hw.timer;

/**
 * Virtual time that follows the host's monotonic clock from the moment the clock was made. The machine
 * loop calls {@link #runExpired()} between CPU slices; while the CPU is halted it calls
 * {@link #awaitDeadline(long)}, which returns at the next timer deadline, or earlier when another thread
 * calls {@link #wake()} (input arrived) or a timer is armed.
 */
public final class HostClock extends TimerQueueClock {
    private final long origin = System.nanoTime();
    private final Object sleepLock = new Object();
    private boolean woken;
    /** Called on the arming thread after every arm (see {@link #onTimerArmed}); null for none. */
    private volatile Runnable armListener;

    @Override
    public long nowNanos() {
        return System.nanoTime() - origin;
    }

    /** Sleeps until the next deadline, at most {@code maxNanos}, unless woken; returns at once if one is due. */
    public void awaitDeadline(long maxNanos) {
        synchronized (sleepLock) {
            long wait = Math.min(maxNanos, nextDeadline() - nowNanos());
            long until = nowNanos() + wait;
            while (!woken && wait > 0) {
                try {
                    sleepLock.wait(wait / 1_000_000, (int) (wait % 1_000_000));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                wait = Math.min(until, nextDeadline()) - nowNanos();
            }
            woken = false;
        }
    }

    /** Ends a pending {@link #awaitDeadline} (or the next one) early; callable from any thread. */
    public void wake() {
        synchronized (sleepLock) {
            woken = true;
            sleepLock.notifyAll();
        }
    }

    /**
     * {@code listener} runs on the arming thread after every timer is armed (the machine's timer kick: a
     * deadline earlier than the one the running slice was given must end the slice sooner).
     */
    public void onTimerArmed(Runnable listener) {
        armListener = listener;
    }

    @Override
    protected void timerArmed() {
        wake();
        Runnable listener = armListener;
        if (listener != null) {
            listener.run();
        }
    }
}
