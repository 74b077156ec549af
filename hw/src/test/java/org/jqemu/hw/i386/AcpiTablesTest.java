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
    private final byte[] blob = AcpiTables.build(BASE, 0x600);
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
}
