package org.jqemu.linuxuser;

import java.io.PrintStream;
import java.util.function.LongSupplier;

/**
 * {@code -d rate}: every {@link #INTERVAL_MS} ms, a line {@code rate: MS INSTRUCTIONS} on the log, the milliseconds
 * since the run started and the guest instructions its first thread has retired by then (after an execve, the new
 * image's count), and the same line once more as the run ends. Consecutive lines give the guest's speed over time:
 * how long the translator takes to reach its steady state, and what that state is, apart from the JVM's start
 * (bench/steady-rate.sh). A thread of its own reads the count (a plain field the guest thread writes: a sample may
 * lag the guest by a little, never by more than the sampling does).
 */
final class RateLog implements AutoCloseable {
    static final String ITEM = "rate";
    static final int INTERVAL_MS = 50;

    private final PrintStream log;
    private final LongSupplier instructions;
    private final long start = System.nanoTime();
    private final Thread sampler;

    private RateLog(PrintStream log, LongSupplier instructions) {
        this.log = log;
        this.instructions = instructions;
        this.sampler = new Thread(this::sample, "jqemu-rate");
        sampler.setDaemon(true);
    }

    /** Starts sampling {@code instructions} onto {@code log}. */
    static RateLog start(PrintStream log, LongSupplier instructions) {
        RateLog r = new RateLog(log, instructions);
        r.sampler.start();
        return r;
    }

    private void sample() {
        try {
            while (true) {
                Thread.sleep(INTERVAL_MS);
                line();
            }
        } catch (InterruptedException e) {
            // close(): it writes the last line itself (an interrupt during a line is seen at the next sleep)
        }
    }

    private void line() {
        log.println("rate: " + (System.nanoTime() - start) / 1_000_000 + " " + instructions.getAsLong());
    }

    /** Stops sampling and writes the count at the run's end. */
    @Override
    public void close() {
        sampler.interrupt();
        try {
            sampler.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        line();
    }
}
