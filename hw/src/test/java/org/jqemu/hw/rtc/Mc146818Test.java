package org.jqemu.hw.rtc;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.Random;
import org.jqemu.hw.timer.ManualClock;
import org.junit.jupiter.api.Test;

/** Expected behaviour from the MC146818A datasheet (register formats, interrupt flags, rates). */
class Mc146818Test {
    private static final long MS = 1_000_000L;
    private final ManualClock clock = new ManualClock();
    private boolean irq;
    private int irqRises;

    private Mc146818 rtcAt(String instant) {
        long nanos = Instant.parse(instant).getEpochSecond() * 1_000_000_000L + Instant.parse(instant).getNano();
        return new Mc146818(clock, level -> {
            if (level && !irq) {
                irqRises++;
            }
            irq = level;
        }, nanos);
    }

    private static int read(Mc146818 rtc, int reg) {
        rtc.out(0x70, 1, reg);
        return rtc.in(0x71, 1);
    }

    private static void write(Mc146818 rtc, int reg, int value) {
        rtc.out(0x70, 1, reg);
        rtc.out(0x71, 1, value);
    }

    @Test
    void powerOnRegistersAndBcdTime() {
        Mc146818 rtc = rtcAt("2024-02-29T23:59:58Z");
        assertEquals(0x26, read(rtc, 0x0a));
        assertEquals(0x02, read(rtc, 0x0b));
        assertEquals(0x80, read(rtc, 0x0d));
        assertEquals(0x58, read(rtc, 0x00));
        assertEquals(0x59, read(rtc, 0x02));
        assertEquals(0x23, read(rtc, 0x04));
        assertEquals(0x05, read(rtc, 0x06), "Thursday (1 = Sunday)");
        assertEquals(0x29, read(rtc, 0x07));
        assertEquals(0x02, read(rtc, 0x08));
        assertEquals(0x24, read(rtc, 0x09));
        assertEquals(0x20, read(rtc, 0x32));
        clock.advance(2000 * MS);
        assertEquals(0x00, read(rtc, 0x00));
        assertEquals(0x00, read(rtc, 0x04));
        assertEquals(0x01, read(rtc, 0x07));
        assertEquals(0x03, read(rtc, 0x08));
        assertEquals(0x06, read(rtc, 0x06));
    }

    @Test
    void binaryAnd12HourFormats() {
        Mc146818 rtc = rtcAt("1999-12-31T23:05:09Z");
        write(rtc, 0x0b, 0x04); // binary, 12-hour
        assertEquals(9, read(rtc, 0x00));
        assertEquals(0x80 | 11, read(rtc, 0x04), "11 PM");
        assertEquals(99, read(rtc, 0x09));
        assertEquals(19, read(rtc, 0x32));
        write(rtc, 0x0b, 0x00); // BCD, 12-hour
        assertEquals(0x91, read(rtc, 0x04));
        Mc146818 midnight = rtcAt("2000-01-01T00:30:00Z");
        write(midnight, 0x0b, 0x00);
        assertEquals(0x12, read(midnight, 0x04), "12 AM");
    }

    @Test
    void setBitFreezesRegistersAndNewTimeRunsFromClear() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        write(rtc, 0x0b, 0x82); // SET
        clock.advance(5000 * MS);
        assertEquals(0x00, read(rtc, 0x00), "no updates while SET");
        write(rtc, 0x00, 0x30);
        write(rtc, 0x02, 0x45);
        write(rtc, 0x04, 0x12);
        write(rtc, 0x07, 0x15);
        write(rtc, 0x08, 0x06);
        write(rtc, 0x09, 0x31);
        write(rtc, 0x0b, 0x02);
        clock.advance(1000 * MS);
        assertEquals(0x31, read(rtc, 0x00));
        assertEquals(0x45, read(rtc, 0x02));
        assertEquals(0x12, read(rtc, 0x04));
        assertEquals(0x15, read(rtc, 0x07));
        assertEquals(0x06, read(rtc, 0x08));
        assertEquals(0x31, read(rtc, 0x09));
        assertEquals(Instant.parse("2031-06-15T12:45:31Z").getEpochSecond(), rtc.guestNanos() / 1_000_000_000L);
    }

    @Test
    void hostileTimeRegistersAreClamped() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        write(rtc, 0x0b, 0x82);
        write(rtc, 0x08, 0xff);
        write(rtc, 0x07, 0xee);
        write(rtc, 0x00, 0xfa);
        write(rtc, 0x0b, 0x02);
        assertEquals(0x12, read(rtc, 0x08));
        assertEquals(0x31, read(rtc, 0x07));
    }

    @Test
    void updateInProgressBeforeEachSecond() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00.999800Z");
        assertEquals(0x80, read(rtc, 0x0a) & 0x80);
        clock.advance(MS);
        assertEquals(0, read(rtc, 0x0a) & 0x80);
        assertEquals(0x01, read(rtc, 0x00));
    }

    @Test
    void periodicInterruptAt1024Hz() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        write(rtc, 0x0b, 0x42); // PIE
        int count = 0;
        for (int step = 0; step < 100_000; step++) {
            clock.advance(10_000); // 10 us
            if (irq) {
                assertEquals(0xc0, read(rtc, 0x0c) & 0xc0); // UF may join at the second boundary
                assertFalse(irq, "reading C lowers IRQ8");
                count++;
            }
        }
        assertEquals(1024, count, "one second at rate 6 (976.5625 us)");
    }

    @Test
    void periodicRatesFollowRegisterA() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        write(rtc, 0x0a, 0x2f); // rate 15: 500 ms
        write(rtc, 0x0b, 0x42);
        clock.advance(499 * MS);
        assertFalse(irq);
        clock.advance(MS);
        assertTrue(irq);
        read(rtc, 0x0c);
        write(rtc, 0x0a, 0x23); // rate 3: 122.070 us
        clock.advance(122_071);
        assertTrue(irq);
    }

    @Test
    void periodicFlagWithoutEnableRaisesNoIrq() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        clock.advance(10 * MS);
        assertFalse(irq);
        assertEquals(0x40, read(rtc, 0x0c) & 0xc0, "PF set, IRQF clear");
        assertEquals(0x00, read(rtc, 0x0c) & 0x40, "read clears");
    }

    @Test
    void updateEndedInterrupt() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00.250Z");
        write(rtc, 0x0a, 0x20); // no periodic rate
        write(rtc, 0x0b, 0x12); // UIE
        clock.advance(749 * MS);
        assertFalse(irq);
        clock.advance(MS);
        assertTrue(irq);
        assertEquals(0x90, read(rtc, 0x0c));
    }

    @Test
    void alarmInterrupt() {
        Mc146818 rtc = rtcAt("2024-01-01T10:20:30Z");
        write(rtc, 0x0a, 0x20);
        write(rtc, 0x01, 0x33);
        write(rtc, 0x03, 0x20);
        write(rtc, 0x05, 0xc0); // any hour
        write(rtc, 0x0b, 0x22); // AIE
        clock.advance(2999 * MS);
        assertFalse(irq);
        read(rtc, 0x0c);
        clock.advance(MS);
        assertTrue(irq);
        assertEquals(0xb0, read(rtc, 0x0c), "IRQF, AF and UF");
        clock.advance(60_000 * MS);
        assertFalse(irq, "the alarm matched once; the next match is an hour later");
    }

    @Test
    void dividerResetStopsTimeAndRestartsHalfASecondLater() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00.300Z");
        write(rtc, 0x0a, 0x70);
        clock.advance(10_000 * MS);
        assertEquals(0x00, read(rtc, 0x00));
        write(rtc, 0x0a, 0x20);
        clock.advance(499 * MS);
        assertEquals(0x00, read(rtc, 0x00));
        clock.advance(MS);
        assertEquals(0x01, read(rtc, 0x00));
    }

    @Test
    void nmiMaskAndNvram() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        rtc.out(0x70, 1, 0x80 | 0x40);
        assertTrue(rtc.nmiMasked());
        rtc.out(0x71, 1, 0xa5);
        rtc.out(0x70, 1, 0x40);
        assertFalse(rtc.nmiMasked());
        assertEquals(0xa5, rtc.in(0x71, 1));
        assertEquals(0xa5, rtc.readCmos(0x40));
        write(rtc, 0x0b, 0x72);
        rtc.reset();
        assertEquals(0x02, read(rtc, 0x0b), "RESET clears PIE, AIE, UIE");
        assertEquals(0xa5, read(rtc, 0x40), "NVRAM survives reset");
        assertEquals(0x80, read(rtc, 0x0d));
        write(rtc, 0x0d, 0);
        assertEquals(0x80, read(rtc, 0x0d), "D is read-only");
    }

    @Test
    void cmosLayoutForSeaBios() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        CmosLayout.setMemory(rtc, 128L << 20, 0);
        CmosLayout.setFloppiesAndEquipment(rtc, CmosLayout.FLOPPY_1_44M, CmosLayout.FLOPPY_NONE);
        CmosLayout.setBootOrder(rtc, "cdn", true);
        CmosLayout.setCpuCount(rtc, 1);
        CmosLayout.setHardDisk(rtc, 0, 1024, 16, 63, CmosLayout.TRANSLATION_LBA);
        CmosLayout.updateChecksum(rtc);
        assertEquals(640, rtc.readCmos(0x15) | rtc.readCmos(0x16) << 8);
        assertEquals(0xffff, rtc.readCmos(0x17) | rtc.readCmos(0x18) << 8, "127 MiB, capped at 64 MiB - 1 KiB");
        assertEquals(0xffff, rtc.readCmos(0x30) | rtc.readCmos(0x31) << 8);
        CmosLayout.setMemory(rtc, 32L << 20, 0);
        assertEquals(31 * 1024, rtc.readCmos(0x17) | rtc.readCmos(0x18) << 8);
        assertEquals(16 * 16, rtc.readCmos(0x34) | rtc.readCmos(0x35) << 8);
        CmosLayout.setMemory(rtc, 128L << 20, 0);
        assertEquals(112 * 16, rtc.readCmos(0x34) | rtc.readCmos(0x35) << 8);
        assertEquals(0, rtc.readCmos(0x5b) | rtc.readCmos(0x5c) | rtc.readCmos(0x5d));
        assertEquals(0x40, rtc.readCmos(0x10));
        assertEquals(0x07, rtc.readCmos(0x14), "one floppy, FPU, PS/2 mouse, VGA");
        assertEquals(0x32, rtc.readCmos(0x3d));
        assertEquals(0x40, rtc.readCmos(0x38));
        assertEquals(0xf0, rtc.readCmos(0x12));
        assertEquals(47, rtc.readCmos(0x19));
        assertEquals(1024, rtc.readCmos(0x1b) | rtc.readCmos(0x1c) << 8);
        assertEquals(16, rtc.readCmos(0x1d));
        assertEquals(0xc8, rtc.readCmos(0x20));
        assertEquals(63, rtc.readCmos(0x23));
        assertEquals(0x01, rtc.readCmos(0x39));
        int sum = 0;
        for (int i = 0x10; i <= 0x2d; i++) {
            sum += rtc.readCmos(i);
        }
        assertEquals(sum, rtc.readCmos(0x2e) << 8 | rtc.readCmos(0x2f));
        CmosLayout.setMemory(rtc, 0xc000_0000L, 6L << 30);
        assertEquals(0xffff, rtc.readCmos(0x17) | rtc.readCmos(0x18) << 8);
        assertEquals(6 * 16384, rtc.readCmos(0x5b) | rtc.readCmos(0x5c) << 8 | rtc.readCmos(0x5d) << 16);
        assertThrows(IllegalArgumentException.class, () -> CmosLayout.setBootOrder(rtc, "x", true));
    }

    @Test
    void snapshotRoundTripAndRefusal() throws IOException {
        Mc146818 rtc = rtcAt("2024-05-05T05:05:05Z");
        write(rtc, 0x50, 0x77);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        rtc.saveState(new DataOutputStream(bytes));
        Mc146818 copy = rtcAt("2000-01-01T00:00:00Z");
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertEquals(0x77, read(copy, 0x50));
        assertEquals(0x05, read(copy, 0x04));
        byte[] bad = bytes.toByteArray();
        bad[0x0c] = 0x0f;
        Mc146818 victim = rtcAt("2000-01-01T00:00:00Z");
        assertThrows(IOException.class,
                () -> victim.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
        assertEquals(0x00, read(victim, 0x09));
    }

    @Test
    void hostileAccessNeverThrows() {
        Mc146818 rtc = rtcAt("2024-01-01T00:00:00Z");
        Random random = new Random(3);
        for (int i = 0; i < 20000; i++) {
            rtc.out(0x70, 1, random.nextInt(256));
            if (random.nextBoolean()) {
                rtc.out(0x71, 1, random.nextInt(256));
            } else {
                rtc.in(0x71, 1);
            }
            clock.advance(random.nextInt(2_000_000));
        }
    }
}
