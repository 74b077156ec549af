package org.jqemu.hw.rtc;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Instant;
import java.util.HexFormat;
import org.jqemu.hw.timer.ManualClock;
import org.junit.jupiter.api.Test;

/**
 * The CMOS contents Debian's QEMU 7.2 presents to a boot sector, against {@link CmosLayout} filled for the
 * same machine. Oracle: {@code qemu-system-x86_64 -M pc -m 128 -boot order=cdn -drive file=boot.img,
 * format=raw,if=ide -debugcon file:out -device isa-debug-exit,iobase=0xf4,iosize=4}, where boot.img is a
 * 512-byte boot sector (nasm) that outputs CMOS bytes 0-127 to port 0xe9 (index to 0x70, read 0x71) and
 * exits. QEMU's defaults there: one floppy drive of type 2.88M without media, a 512-byte IDE disk whose
 * geometry is 2/16/63 without translation, one CPU. Time registers 0-9 are skipped.
 */
class CmosQemuOracleTest {
    private static final String QEMU_CMOS = ""
            + "05005400200004251126260200800000"
            + "5000f000078002ffff2f00020010ffff"
            + "c802003f000000000000000000000000"
            + "ffff2000000700204000000000320000"
            + "00000000000000000000000000000000"
            + "00000000000000000000000000000000"
            + "00000000000000000000000000000000"
            + "00000000000000000000000000000000";

    @Test
    void layoutMatchesQemu72() {
        byte[] expected = HexFormat.of().parseHex(QEMU_CMOS);
        Mc146818 rtc = new Mc146818(new ManualClock(), level -> { },
                Instant.parse("2026-11-25T20:54:05Z").getEpochSecond() * 1_000_000_000L);
        CmosLayout.setMemory(rtc, 128L << 20, 0);
        CmosLayout.setFloppiesAndEquipment(rtc, CmosLayout.FLOPPY_2_88M, CmosLayout.FLOPPY_NONE);
        CmosLayout.setBootOrder(rtc, "cdn", true);
        CmosLayout.setCpuCount(rtc, 1);
        CmosLayout.setHardDisk(rtc, 0, 2, 16, 63, CmosLayout.TRANSLATION_NONE);
        CmosLayout.setCentury(rtc, 2026);
        for (int i = 0x0a; i < 128; i++) {
            rtc.out(0x70, 1, i);
            int actual = rtc.in(0x71, 1);
            if (i == 0x0a) {
                actual &= 0x7f; // UIP depends on the instant of the read
            }
            assertEquals(expected[i] & 0xff, actual, String.format("CMOS byte 0x%02x", i));
        }
        rtc.out(0x70, 1, 0x09);
        assertEquals(expected[9] & 0xff, rtc.in(0x71, 1), "year at the same instant");
        rtc.out(0x70, 1, 0x06);
        assertEquals(expected[6] & 0xff, rtc.in(0x71, 1), "day of week at the same instant");
    }
}
