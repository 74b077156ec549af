package org.jqemu.hw.timer;

/**
 * Virtual time that follows the host's monotonic clock from the moment the clock was made. The machine
 * loop calls {@link #runExpired()} between CPU slices and may sleep until {@link #nextDeadline()} while
 * the CPU is halted.
 */
public final class HostClock extends TimerQueueClock {
    private final long origin = System.nanoTime();

    @Override
    public long nowNanos() {
        return System.nanoTime() - origin;
    }
}
