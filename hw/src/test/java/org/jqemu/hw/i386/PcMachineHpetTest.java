package org.jqemu.hw.i386;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.concurrent.locks.LockSupport;
import org.jqemu.hw.timer.Hpet;
import org.jqemu.memory.Page;
import org.junit.jupiter.api.Test;

/**
 * The HPET as the {@code pc} machine wires it: at 0xfed00000 in physical memory (absent with hpet=off), and
 * between the 8254 and the PIC's IRQ0, which it takes over while LegacyReplacement is on. Time is the host's
 * (the machine's clock): the test waits past a deadline, then lets the due timers fire, as the run loop does.
 */
class PcMachineHpetTest {
    private static final long HPET_CONFIG = PcLayout.HPET + Hpet.REG_CONFIG;
    private static final long HPET_COUNTER = PcLayout.HPET + Hpet.REG_COUNTER;
    private static final long TIMER0_COMPARATOR = PcLayout.HPET + Hpet.REG_TIMER_BASE + Hpet.TIMER_COMPARATOR;
    private static final long TIMER0_CONFIG = PcLayout.HPET + Hpet.REG_TIMER_BASE + Hpet.TIMER_CONFIG;

    private static PcMachine machine(boolean hpet) throws Exception {
        PcMachine.Config config = new PcMachine.Config(16 * PcLayout.MIB, null, null, null, null, List.of(), List.of(),
                id -> null, false, hpet);
        PcMachine m = new PcMachine(config, new PcMachine.Host() {
            @Override public void setA20(boolean enabled) { }
            @Override public void requestReset() { }
            @Override public void powerOff() { }
            @Override public void exit(int status) { }
        });
        m.reset();
        // The BIOS's PIC set-up: master vectors at 0x08, slave at 0x70, nothing masked.
        int[][] init = {{0x20, 0x11}, {0x21, 0x08}, {0x21, 0x04}, {0x21, 0x01},
                {0xa0, 0x11}, {0xa1, 0x70}, {0xa1, 0x02}, {0xa1, 0x01}, {0x21, 0x00}, {0xa1, 0x00}};
        for (int[] w : init) {
            m.ioPorts().out(w[0], 1, w[1]);
        }
        return m;
    }

    private static long read(PcMachine m, long address) {
        Page page = m.memory().page(address);
        return page.mmio().read(address - page.mmioBase(), 4);
    }

    private static void write(PcMachine m, long address, long value) {
        Page page = m.memory().page(address);
        page.mmio().write(address - page.mmioBase(), 4, value);
    }

    /** Sleeps past {@code nanos} of machine time from now, then fires what is due. */
    private static void runFor(PcMachine m, long nanos) {
        long until = m.clock().nowNanos() + nanos;
        while (m.clock().nowNanos() < until) {
            LockSupport.parkNanos(until - m.clock().nowNanos());
        }
        m.clock().runExpired();
    }

    /** Acknowledges and ends every pending interrupt; returns the vectors. */
    private static List<Integer> drain(PcMachine m) {
        List<Integer> vectors = new java.util.ArrayList<>();
        while (m.intr() && vectors.size() < 16) {
            vectors.add(m.pic().acknowledge());
            m.ioPorts().out(0x20, 1, 0x20);
        }
        return vectors;
    }

    @Test
    void mappedAtItsAddressUnlessTurnedOff() throws Exception {
        assertEquals(0x8086a201L, read(machine(true), PcLayout.HPET), "capabilities, low half");
        assertEquals(Hpet.PERIOD_FS, read(machine(true), PcLayout.HPET + 4));
        assertNull(machine(false).memory().page(PcLayout.HPET), "hpet=off: nothing answers at 0xfed00000");
    }

    @Test
    void legacyReplacementTakesIrq0FromThePit() throws Exception {
        PcMachine m = machine(true);
        write(m, TIMER0_CONFIG, Hpet.TN_INT_ENABLE | Hpet.TN_32BIT_MODE); // as Linux: 32-bit writes reach the whole comparator
        write(m, TIMER0_COMPARATOR, 0xffff_ffffL);
        write(m, HPET_CONFIG, Hpet.CFG_ENABLE | Hpet.CFG_LEGACY_ROUTE);
        // The 8254's counter 0 in mode 2 with a count of 100: an IRQ0 edge every ~84 us.
        m.ioPorts().out(0x43, 1, 0x34);
        m.ioPorts().out(0x40, 1, 100);
        m.ioPorts().out(0x40, 1, 0);
        runFor(m, 2_000_000);
        assertEquals(List.of(), drain(m), "LegacyReplacement: the 8254's edges do not reach the PIC");

        long counter = read(m, HPET_COUNTER);
        write(m, TIMER0_COMPARATOR, counter + 100_000); // 1 ms at 100 MHz
        runFor(m, 2_000_000);
        assertEquals(List.of(0x08), drain(m), "HPET timer 0 arrives on IRQ0");

        write(m, HPET_CONFIG, Hpet.CFG_ENABLE);
        runFor(m, 2_000_000);
        assertFalse(drain(m).isEmpty(), "without LegacyReplacement the 8254 reaches IRQ0 again");
    }
}
