package org.jqemu.system;

import java.util.concurrent.locks.LockSupport;

import org.jqemu.hw.timer.HostClock;
import org.jqemu.target.i386.X86Cpu;

/**
 * Ends a running CPU slice when a timer falls due, so that timers fire on time instead of after the
 * slice's 50,000 instructions (QEMU's vCPU kick). Timers only fire between slices, and a slice of cold
 * kernel code (interpreted, or waiting for translation) can last tens of milliseconds: the PIT's periodic
 * IRQ0 edges falling in one slice then reached the PIC as one, the guest lost ticks, its jiffies ran at
 * half speed, and its clocksource watchdog, comparing the PIT with the TSC, declared the TSC unstable.
 *
 * <p>The machine thread calls {@link #sliceStarting} before and {@link #sliceEnded} after each slice; a
 * daemon thread sleeps until the earliest deadline and then asks the CPU to stop ({@link X86Cpu#requestStop}:
 * the translator returns at its next chain boundary, the interpreter at its next instruction). A timer
 * armed during the slice (a guest programming a one-shot) moves the wake-up earlier through
 * {@link HostClock#onTimerArmed}. Halted or stopped, no slice runs and the thread sleeps.
 */
final class TimerKick implements AutoCloseable {
    private static final long NONE = Long.MAX_VALUE;

    private final HostClock clock;
    private final X86Cpu cpu;
    private final Thread thread;
    /** Deadline the running slice must end by, or NONE (between slices, or no timer armed). */
    private volatile long sliceDeadline = NONE;
    /** A slice is running. */
    private volatile boolean inSlice;
    /** Deadline the kick thread sleeps until (NONE: parked with no deadline). */
    private volatile long sleepingUntil = NONE;
    private volatile boolean closed;

    TimerKick(HostClock clock, X86Cpu cpu) {
        this.clock = clock;
        this.cpu = cpu;
        this.thread = Thread.ofPlatform().daemon().name("jqemu-timer-kick").unstarted(this::kickLoop);
        clock.onTimerArmed(this::timerArmed);
        thread.start();
    }

    /** Machine thread, before a slice: the slice must end once the earliest armed timer is due. */
    void sliceStarting() {
        inSlice = true;
        setDeadline(clock.nextDeadline());
    }

    /** Machine thread, after a slice. */
    void sliceEnded() {
        inSlice = false;
        sliceDeadline = NONE;
    }

    private void timerArmed() {
        if (inSlice) {
            setDeadline(Math.min(sliceDeadline, clock.nextDeadline()));
        }
    }

    private void setDeadline(long deadline) {
        sliceDeadline = deadline;
        if (deadline < sleepingUntil) {
            LockSupport.unpark(thread); // it sleeps longer (or with no deadline): let it look again
        }
    }

    private void kickLoop() {
        while (!closed) {
            long deadline = sliceDeadline;
            if (deadline == NONE) {
                sleepingUntil = NONE;
                if (sliceDeadline == NONE) { // re-read after publishing: a slice may have started meanwhile
                    LockSupport.park(this);
                }
                continue;
            }
            long wait = deadline - clock.nowNanos();
            if (wait > 0) {
                sleepingUntil = deadline;
                if (sliceDeadline == deadline) {
                    LockSupport.parkNanos(this, wait);
                }
                continue;
            }
            cpu.requestStop();
            sleepingUntil = NONE;
            if (sliceDeadline == deadline) { // kicked once per deadline; the next slice gives a new one
                LockSupport.park(this);
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        clock.onTimerArmed(null);
        LockSupport.unpark(thread);
    }
}
