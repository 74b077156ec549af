package org.jqemu.hw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

class IoPortBusTest {
    /** Records accesses; reads answer 0x40 + offset in every byte lane. */
    private static final class Recorder implements IoRegion {
        final List<String> log = new ArrayList<>();

        @Override public int read(int offset, int size) {
            log.add("r" + offset + "/" + size);
            return (0x40 + offset) * (size == 1 ? 1 : size == 2 ? 0x0101 : 0x01010101);
        }

        @Override public void write(int offset, int size, int value) { log.add("w" + offset + "/" + size + "=" + Integer.toHexString(value)); }
    }

    private final IoPortBus bus = new IoPortBus();

    @Test
    void unclaimedPortsReadAllOnesAndIgnoreWrites() {
        assertEquals(0xff, bus.in(0x80, 1));
        assertEquals(0xffff, bus.in(0x80, 2));
        assertEquals(0xffffffff, bus.in(0x80, 4));
        bus.out(0x80, 4, 0x12345678);
        assertEquals(0xff, bus.in(0x80, 1));
    }

    @Test
    void accessesInsideARegionArriveWholeWithOffsets() {
        Recorder r = new Recorder();
        bus.map(0x3f8, 8, r, "uart");
        assertEquals(0x41, bus.in(0x3f9, 1));
        assertEquals(0x4242, bus.in(0x3fa, 2));
        bus.out(0x3fc, 4, 0xcafebabe);
        bus.out(0x3f8, 1, 0x1234);
        assertEquals(List.of("r1/1", "r2/2", "w4/4=cafebabe", "w0/1=34"), r.log);
    }

    @Test
    void accessesCrossingARegionEndAreSplitIntoBytes() {
        Recorder r = new Recorder();
        bus.map(0x100, 2, r, "dev");
        // 0x101 is the region's last port; 0x102..0x104 are unclaimed.
        assertEquals(0xffffff41, bus.in(0x101, 4));
        bus.out(0x0ff, 2, 0xaabb);
        assertEquals(List.of("r1/1", "w0/1=aa"), r.log);
    }

    @Test
    void portNumbersWrapAt64K() {
        Recorder r = new Recorder();
        bus.map(0, 1, r, "low");
        assertEquals(0x40, bus.in(0x10000, 1));
        assertEquals(0x40ff, bus.in(0xffff, 2));
    }

    @Test
    void overlapsAndOutOfRangeAreRefused() {
        bus.map(0x60, 1, new Recorder(), "i8042");
        IllegalArgumentException clash = assertThrows(IllegalArgumentException.class, () -> bus.map(0x5f, 2, new Recorder(), "other"));
        assertEquals("other: I/O port 0x60 is already used by i8042", clash.getMessage());
        assertThrows(IllegalArgumentException.class, () -> bus.map(0xffff, 2, new Recorder(), "big"));
        // Nothing of the refused mapping stayed behind.
        assertEquals(0xff, bus.in(0x5f, 1));
    }

    @Test
    void unmapReleasesPorts() {
        Recorder r = new Recorder();
        bus.map(0x70, 2, r, "rtc");
        bus.unmap(r);
        assertEquals(0xffff, bus.in(0x70, 2));
        bus.map(0x70, 2, new Recorder(), "rtc2");
    }
}
