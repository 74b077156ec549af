package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicBoolean;

import org.jqemu.hw.timer.HostClock;
import org.jqemu.memory.IoPorts;
import org.jqemu.memory.Page;
import org.jqemu.target.i386.Nasm;
import org.jqemu.target.i386.TestRam;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Test;

/**
 * A slice of a CPU spinning on {@code jmp $} ends once a timer falls due, long before its budget (which no
 * host could retire in the timer's few milliseconds), and the timer can then fire on time.
 */
class TimerKickTest {
    private static final long BUDGET = 20_000_000_000L;

    @Test
    void aDueTimerEndsTheSlice() {
        HostClock clock = new HostClock();
        X86Cpu cpu = spinningCpu();
        AtomicBoolean fired = new AtomicBoolean();
        try (TimerKick kick = new TimerKick(clock, cpu)) {
            clock.newTimer(() -> fired.set(true)).arm(clock.nowNanos() + 5_000_000);
            kick.sliceStarting();
            assertEquals(X86Cpu.EXIT_BUDGET, cpu.run(BUDGET));
            kick.sliceEnded();
            assertTrue(cpu.instructionCount() < BUDGET);
            assertEquals(1, clock.runExpired());
            assertTrue(fired.get());
        }
    }

    @Test
    void aTimerArmedDuringTheSliceEndsItToo() {
        HostClock clock = new HostClock();
        X86Cpu cpu = spinningCpu();
        try (TimerKick kick = new TimerKick(clock, cpu)) {
            kick.sliceStarting(); // nothing armed yet: no deadline
            // armed from another thread while the slice runs, as a device would be from the machine thread
            Thread.ofPlatform().start(() -> clock.newTimer(() -> { }).arm(clock.nowNanos() + 5_000_000));
            assertEquals(X86Cpu.EXIT_BUDGET, cpu.run(BUDGET));
            kick.sliceEnded();
            assertTrue(cpu.instructionCount() < BUDGET);
        }
    }

    private static X86Cpu spinningCpu() {
        TestRam ram = new TestRam(1 << 20, Page.RWX);
        ram.load(0x1000, Nasm.assemble("bits 16\norg 0x1000\njmp $\n"));
        X86Cpu cpu = new X86Cpu(ram, IoPorts.NONE);
        cpu.loadSegmentRegister(X86Cpu.CS, 0);
        cpu.setEip(0x1000);
        return cpu;
    }
}
