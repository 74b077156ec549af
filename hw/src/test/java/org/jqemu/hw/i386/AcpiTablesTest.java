package org.jqemu.hw.i386;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Checks the tables against the ACPI specification's layout rules (5.2.5-5.2.11). */
class AcpiTablesTest {
    private static final long BASE = 0xe0000;
    private final byte[] blob = AcpiTables.build(BASE, 0x600, true);
    private final ByteBuffer b = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);

    private static int sum(byte[] data, int at, int length) {
        int s = 0;
        for (int i = 0; i < length; i++) s += data[at + i];
        return s & 0xff;
    }

    private String ascii(int at, int length) {
        return new String(blob, at, length, StandardCharsets.US_ASCII);
    }

    /** Follows a 32-bit physical pointer into the blob. */
    private int at(int pointerOffset) {
        return (int) ((b.getInt(pointerOffset) & 0xffffffffL) - BASE);
    }

    @Test
    void rsdpLeadsToFadtFacsAndDsdtWithValidChecksums() {
        assertEquals("RSD PTR ", ascii(0, 8));
        assertEquals(0, sum(blob, 0, 20), "RSDP checksum covers the first 20 bytes");
        assertEquals(0, BASE % 16, "RSDP on a 16-byte boundary");
        int rsdt = at(16);
        assertEquals("RSDT", ascii(rsdt, 4));
        assertEquals(0, sum(blob, rsdt, b.getInt(rsdt + 4)));
        int fadt = at(rsdt + 36);
        assertEquals("FACP", ascii(fadt, 4));
        assertEquals(116, b.getInt(fadt + 4), "ACPI 1.0 FADT length");
        assertEquals(0, sum(blob, fadt, 116));
        int facs = at(fadt + 36);
        assertEquals("FACS", ascii(facs, 4));
        assertEquals(0, facs % 64, "FACS is 64-byte aligned");
        int dsdt = at(fadt + 40);
        assertEquals("DSDT", ascii(dsdt, 4));
        int dsdtLength = b.getInt(dsdt + 4);
        assertEquals(0, sum(blob, dsdt, dsdtLength));
        assertArrayEquals(new byte[] {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0},
                Arrays.copyOfRange(blob, dsdt + 36, dsdt + dsdtLength));
    }

    @Test
    void fadtPointsAtThePiix4PmBlock() {
        int fadt = AcpiTables.FADT_OFFSET;
        assertEquals(9, b.getShort(fadt + 46), "SCI_INT");
        assertEquals(0xb2, b.getInt(fadt + 48), "SMI_CMD");
        assertEquals(0x600, b.getInt(fadt + 56), "PM1a_EVT_BLK");
        assertEquals(0x604, b.getInt(fadt + 64), "PM1a_CNT_BLK");
        assertEquals(0x608, b.getInt(fadt + 76), "PM_TMR_BLK");
        assertEquals(2, blob[fadt + 89], "PM1_CNT_LEN");
        assertEquals(4, blob[fadt + 91], "PM_TMR_LEN");
    }

    @Test
    void rsdtListsAnHpetTableWithQemusBody() {
        int rsdt = at(16);
        assertEquals(36 + 8, b.getInt(rsdt + 4), "two entries: FADT and HPET");
        assertEquals(0, sum(blob, rsdt, 44));
        int hpet = at(rsdt + 40);
        assertEquals("HPET", ascii(hpet, 4));
        assertEquals(56, b.getInt(hpet + 4), "HPET spec 1.0a table length");
        assertEquals(1, blob[hpet + 8], "revision");
        assertEquals(0, sum(blob, hpet, 56), "checksum");
        // Bytes 36-55 of qemu-system-i386 7.2's HPET table (od of /sys/firmware/acpi/tables/HPET in its
        // guest): block ID 0x8086a201, GAS {memory, 0, 0, 0, 0xfed00000}, number 0, minimum tick 0, protection 0.
        byte[] qemuBody = {0x01, (byte) 0xa2, (byte) 0x86, (byte) 0x80, 0, 0, 0, 0, 0, 0, (byte) 0xd0, (byte) 0xfe,
                0, 0, 0, 0, 0, 0, 0, 0};
        assertArrayEquals(qemuBody, Arrays.copyOfRange(blob, hpet + 36, hpet + 56));
        assertEquals(org.jqemu.hw.timer.Hpet.CAPABILITIES & 0xffffffffL, b.getInt(hpet + 36) & 0xffffffffL,
                "event timer block ID is the capabilities register's low half");
    }

    @Test
    void withoutHpetTheRsdtListsOnlyTheFadt() {
        byte[] plain = AcpiTables.build(BASE, 0x600, false);
        ByteBuffer p = ByteBuffer.wrap(plain).order(ByteOrder.LITTLE_ENDIAN);
        int rsdt = (int) ((p.getInt(16) & 0xffffffffL) - BASE);
        assertEquals(36 + 4, p.getInt(rsdt + 4));
        assertEquals(0, sum(plain, rsdt, 40));
        assertEquals(-1, new String(plain, StandardCharsets.US_ASCII).indexOf("HPET"));
    }
}
