package org.jqemu.hw.i386;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

import org.jqemu.hw.timer.Hpet;

/**
 * The smallest ACPI 1.0 table set that lets Linux power the machine off: RSDP → RSDT → FADT → (FACS, DSDT),
 * written per the ACPI specification (5.2). The FADT points at the PIIX4 PM block (PM1a event/control,
 * PM timer, GPE0, SMI_CMD 0xb2 with enable 0xf1/disable 0xf0, SCI on IRQ 9); the DSDT holds only
 * {@code Name(_S5, Package(){0, 0, 0, 0})}: SLP_TYP 0 is what the PIIX4 PM model (like QEMU's piix4
 * DSDT) treats as soft-off, so Linux's ACPI poweroff writes SLP_TYP=0|SLP_EN to PM1a_CNT.
 * There is no MADT: the guest uses the 8259 PICs. With an HPET, the RSDT also lists an HPET description
 * table (HPET specification 1.0a, 3.2.4) with the bytes QEMU's pc gives it: event timer block ID = the low
 * half of the capabilities register, base 0xfed00000 as a system-memory Generic Address Structure, HPET
 * number 0, minimum periodic tick 0 and no page protection claimed. (QEMU's DSDT also describes it as a
 * PNP0103 device; Linux finds and uses the HPET from this table alone.)
 */
public final class AcpiTables {
    public static final int RSDP_OFFSET = 0x000;
    public static final int FACS_OFFSET = 0x040;
    public static final int RSDT_OFFSET = 0x080;
    public static final int FADT_OFFSET = 0x100;
    public static final int DSDT_OFFSET = 0x200;
    public static final int HPET_OFFSET = 0x240;
    private static final int HEADER_SIZE = 36;
    private static final int FADT_V1_SIZE = 116;
    private static final int FACS_SIZE = 64;
    private static final int HPET_TABLE_SIZE = 56;
    private static final byte GAS_SYSTEM_MEMORY = 0;
    private static final String OEM_ID = "JQEMU ";
    private static final String OEM_TABLE_ID = "JQEMUPC ";
    /** AML: NameOp "_S5_" PackageOp PkgLength(6) NumElements(4) Zero Zero Zero Zero. */
    static final byte[] S5_AML = {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
    private static final int FADT_FLAG_WBINVD = 1;
    private static final int FADT_FLAG_PROC_C1 = 1 << 2;
    private static final int FADT_FLAG_SLP_BUTTON = 1 << 5;
    private static final int FADT_FLAG_RTC_S4 = 1 << 7;
    private static final int LATENCY_NOT_SUPPORTED = 0xfff;
    private static final int RTC_CENTURY_INDEX = 0x32;

    private AcpiTables() { }

    /** The table blob to place at physical {@code base} (16-byte aligned, RSDP first), with an HPET table if {@code hpet}. */
    public static byte[] build(long base, int pmBase, boolean hpet) {
        ByteBuffer b = ByteBuffer.allocate(hpet ? HPET_OFFSET + HPET_TABLE_SIZE : DSDT_OFFSET + HEADER_SIZE + S5_AML.length)
                .order(ByteOrder.LITTLE_ENDIAN);
        // RSDP (ACPI 1.0, 20 bytes)
        b.put(RSDP_OFFSET, ascii("RSD PTR "));
        b.put(RSDP_OFFSET + 9, ascii(OEM_ID));
        b.put(RSDP_OFFSET + 15, (byte) 0);
        b.putInt(RSDP_OFFSET + 16, (int) (base + RSDT_OFFSET));
        b.put(RSDP_OFFSET + 8, checksum(b, RSDP_OFFSET, 20));
        // FACS
        b.put(FACS_OFFSET, ascii("FACS"));
        b.putInt(FACS_OFFSET + 4, FACS_SIZE);
        // RSDT: the FADT, then the HPET table
        int rsdtSize = HEADER_SIZE + 4 * (hpet ? 2 : 1);
        header(b, RSDT_OFFSET, "RSDT", rsdtSize, 1);
        b.putInt(RSDT_OFFSET + HEADER_SIZE, (int) (base + FADT_OFFSET));
        if (hpet) {
            b.putInt(RSDT_OFFSET + HEADER_SIZE + 4, (int) (base + HPET_OFFSET));
        }
        finish(b, RSDT_OFFSET, rsdtSize);
        // FADT
        header(b, FADT_OFFSET, "FACP", FADT_V1_SIZE, 1);
        int f = FADT_OFFSET;
        b.putInt(f + 36, (int) (base + FACS_OFFSET));
        b.putInt(f + 40, (int) (base + DSDT_OFFSET));
        b.putShort(f + 46, (short) PcLayout.IRQ_SCI);
        b.putInt(f + 48, PcLayout.PORT_APM_CONTROL);
        b.put(f + 52, (byte) 0xf1);
        b.put(f + 53, (byte) 0xf0);
        b.putInt(f + 56, pmBase);          // PM1a_EVT_BLK
        b.putInt(f + 64, pmBase + 4);      // PM1a_CNT_BLK
        b.putInt(f + 76, pmBase + 8);      // PM_TMR_BLK
        b.putInt(f + 80, PcLayout.PORT_GPE0);
        b.put(f + 88, (byte) 4);           // PM1_EVT_LEN
        b.put(f + 89, (byte) 2);           // PM1_CNT_LEN
        b.put(f + 91, (byte) 4);           // PM_TMR_LEN
        b.put(f + 92, (byte) 4);           // GPE0_BLK_LEN
        b.putShort(f + 96, (short) LATENCY_NOT_SUPPORTED);
        b.putShort(f + 98, (short) LATENCY_NOT_SUPPORTED);
        b.put(f + 108, (byte) RTC_CENTURY_INDEX);
        b.putInt(f + 112, FADT_FLAG_WBINVD | FADT_FLAG_PROC_C1 | FADT_FLAG_SLP_BUTTON | FADT_FLAG_RTC_S4);
        finish(b, FADT_OFFSET, FADT_V1_SIZE);
        // DSDT
        int dsdtSize = HEADER_SIZE + S5_AML.length;
        header(b, DSDT_OFFSET, "DSDT", dsdtSize, 1);
        b.put(DSDT_OFFSET + HEADER_SIZE, S5_AML);
        finish(b, DSDT_OFFSET, dsdtSize);
        if (hpet) {
            hpetTable(b);
        }
        return b.array();
    }

    /** HPET description table: block ID, base address (GAS), number, minimum tick, page protection. */
    private static void hpetTable(ByteBuffer b) {
        int h = HPET_OFFSET;
        header(b, h, "HPET", HPET_TABLE_SIZE, 1);
        b.putInt(h + 36, (int) Hpet.CAPABILITIES);
        b.put(h + 40, GAS_SYSTEM_MEMORY);  // register bit width, bit offset and access size stay 0, as QEMU's
        b.putLong(h + 44, PcLayout.HPET);
        b.put(h + 52, (byte) 0);           // HPET number
        b.putShort(h + 53, (short) 0);     // main counter minimum clock tick in periodic mode
        b.put(h + 55, (byte) 0);           // page protection and OEM attributes
        finish(b, h, HPET_TABLE_SIZE);
    }

    private static void header(ByteBuffer b, int at, String signature, int length, int revision) {
        b.put(at, ascii(signature));
        b.putInt(at + 4, length);
        b.put(at + 8, (byte) revision);
        b.put(at + 10, ascii(OEM_ID));
        b.put(at + 16, ascii(OEM_TABLE_ID));
        b.putInt(at + 24, 1);
        b.put(at + 28, ascii("JQMU"));
        b.putInt(at + 32, 1);
    }

    private static void finish(ByteBuffer b, int at, int length) {
        b.put(at + 9, checksum(b, at, length));
    }

    /** The byte that makes the sum of [at, at + length) zero (the checksum byte itself must be 0 first). */
    static byte checksum(ByteBuffer b, int at, int length) {
        int sum = 0;
        for (int i = 0; i < length; i++) {
            sum += b.get(at + i);
        }
        return (byte) -sum;
    }

    private static byte[] ascii(String s) { return s.getBytes(StandardCharsets.US_ASCII); }
}
