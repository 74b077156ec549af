package org.jqemu.hw.rtc;

import java.util.Locale;

/**
 * The CMOS bytes a PC BIOS (SeaBIOS in particular) reads at power-on, and helpers that fill them in an
 * {@link Mc146818}. Offsets, with what each holds:
 * <pre>
 * 0x0f  shutdown status (0 = normal power-on)
 * 0x10  floppy types: high nibble drive A, low nibble drive B (0 none, 1 360K, 2 1.2M, 3 720K, 4 1.44M, 5 2.88M)
 * 0x12  hard disk types: high nibble disk 0, low nibble disk 1 (0xf = "see 0x19/0x1a")
 * 0x14  equipment byte: bit 0 floppy present, bit 1 FPU, bit 2 PS/2 mouse, bits 5-4 display (00 = VGA),
 *       bits 7-6 number of floppies - 1
 * 0x15-0x16  base memory in KiB (640), little-endian
 * 0x17-0x18  extended memory between 1 MiB and 64 MiB, in KiB (max 0xffff)
 * 0x19, 0x1a  extended type of disk 0 and disk 1 (47 = user defined geometry)
 * 0x1b-0x23  disk 0 geometry: cylinders (2 bytes), heads, write precomp (2, 0xffff), control byte,
 *            landing zone (2, = cylinders), sectors per track
 * 0x24-0x2c  disk 1 geometry, same layout
 * 0x2e-0x2f  checksum of 0x10-0x2d, big-endian (high byte first)
 * 0x30-0x31  extended memory in KiB again (the POST-measured copy of 0x17-0x18)
 * 0x32  century (BCD), IBM AT; 0x37 the same for PS/2
 * 0x34-0x35  memory between 16 MiB and 4 GiB (below the PCI hole), in 64 KiB units (max 0xffff)
 * 0x38  bits 7-4 third boot device; bit 0 set = skip the floppy boot-signature check
 * 0x39  disk translation of the primary IDE channel, 0x3a of the secondary: 2 bits per disk
 *       (0 none, 1 LBA, 2 large)
 * 0x3d  boot devices: low nibble first, high nibble second (1 floppy, 2 hard disk, 3 CD-ROM, 4 network)
 * 0x5b-0x5d  memory above 4 GiB in 64 KiB units, 24-bit little-endian
 * 0x5f  number of CPUs minus one
 * </pre>
 */
public final class CmosLayout {
    public static final int SHUTDOWN_STATUS = 0x0f;
    public static final int FLOPPY_TYPES = 0x10;
    public static final int DISK_TYPES = 0x12;
    public static final int EQUIPMENT = 0x14;
    public static final int BASE_MEMORY_KB = 0x15;
    public static final int EXTENDED_MEMORY_KB = 0x17;
    public static final int DISK0_EXTENDED_TYPE = 0x19;
    public static final int DISK0_GEOMETRY = 0x1b;
    public static final int DISK1_GEOMETRY = 0x24;
    public static final int CHECKSUM_HIGH = 0x2e;
    public static final int CHECKSUM_LOW = 0x2f;
    public static final int CHECKSUM_FIRST = 0x10;
    public static final int CHECKSUM_LAST = 0x2d;
    public static final int EXTENDED_MEMORY_KB_COPY = 0x30;
    public static final int CENTURY_PS2 = 0x37;
    public static final int MEMORY_ABOVE_16M_64K = 0x34;
    public static final int BOOT_ORDER_THIRD = 0x38;
    public static final int DISK_TRANSLATION_PRIMARY = 0x39;
    public static final int DISK_TRANSLATION_SECONDARY = 0x3a;
    public static final int BOOT_ORDER = 0x3d;
    public static final int MEMORY_ABOVE_4G_64K = 0x5b;
    public static final int CPU_COUNT_MINUS_ONE = 0x5f;

    public static final int FLOPPY_NONE = 0;
    public static final int FLOPPY_360K = 1;
    public static final int FLOPPY_1_2M = 2;
    public static final int FLOPPY_720K = 3;
    public static final int FLOPPY_1_44M = 4;
    public static final int FLOPPY_2_88M = 5;

    public static final int BOOT_FLOPPY = 1;
    public static final int BOOT_DISK = 2;
    public static final int BOOT_CDROM = 3;
    public static final int BOOT_NETWORK = 4;

    public static final int TRANSLATION_NONE = 0;
    public static final int TRANSLATION_LBA = 1;
    public static final int TRANSLATION_LARGE = 2;

    private static final long KIB = 1024;
    private static final long MIB = 1024 * KIB;
    private static final long UNIT_64K = 64 * KIB;
    private static final int BASE_MEMORY = 640;
    private static final int EQUIPMENT_FLOPPY = 0x01;
    private static final int EQUIPMENT_FPU = 0x02;
    private static final int EQUIPMENT_PS2_MOUSE = 0x04;
    private static final int USER_DEFINED_DISK_TYPE = 47;

    private CmosLayout() { }

    /**
     * Memory sizes: {@code belowFourGig} is the RAM mapped under the PCI hole, {@code aboveFourGig} the rest.
     */
    public static void setMemory(Mc146818 rtc, long belowFourGig, long aboveFourGig) {
        writeLe16(rtc, BASE_MEMORY_KB, BASE_MEMORY);
        long extendedKb = Math.min(0xffff, Math.max(0, belowFourGig - MIB) / KIB);
        writeLe16(rtc, EXTENDED_MEMORY_KB, (int) extendedKb);
        writeLe16(rtc, EXTENDED_MEMORY_KB_COPY, (int) extendedKb);
        long above16m = Math.min(0xffff, Math.max(0, belowFourGig - 16 * MIB) / UNIT_64K);
        writeLe16(rtc, MEMORY_ABOVE_16M_64K, (int) above16m);
        long above4g = Math.min(0xffffff, Math.max(0, aboveFourGig) / UNIT_64K);
        writeLe16(rtc, MEMORY_ABOVE_4G_64K, (int) above4g);
        rtc.writeCmos(MEMORY_ABOVE_4G_64K + 2, (int) (above4g >>> 16));
    }

    public static void setCpuCount(Mc146818 rtc, int cpus) {
        rtc.writeCmos(CPU_COUNT_MINUS_ONE, Math.max(0, Math.min(255, cpus - 1)));
    }

    /**
     * Boot order as in {@code -boot order=}: a for floppy, c hard disk, d CD-ROM, n network; up to three
     * devices. Unknown letters are refused. {@code checkFloppySignature} false sets bit 0 of 0x38.
     */
    public static void setBootOrder(Mc146818 rtc, String order, boolean checkFloppySignature) {
        int[] devices = new int[3];
        String lower = order.toLowerCase(Locale.ROOT);
        if (lower.length() > devices.length) {
            throw new IllegalArgumentException("at most 3 boot devices: " + order);
        }
        for (int i = 0; i < lower.length(); i++) {
            devices[i] = switch (lower.charAt(i)) {
                case 'a', 'b' -> BOOT_FLOPPY;
                case 'c' -> BOOT_DISK;
                case 'd' -> BOOT_CDROM;
                case 'n' -> BOOT_NETWORK;
                default -> throw new IllegalArgumentException("invalid boot device '" + order.charAt(i) + "'");
            };
        }
        rtc.writeCmos(BOOT_ORDER, devices[1] << 4 | devices[0]);
        rtc.writeCmos(BOOT_ORDER_THIRD, devices[2] << 4 | (checkFloppySignature ? 0 : 1));
    }

    /** Floppy drive types ({@code FLOPPY_*}) and the equipment byte (FPU, PS/2 mouse, VGA, floppies). */
    public static void setFloppiesAndEquipment(Mc146818 rtc, int driveA, int driveB) {
        rtc.writeCmos(FLOPPY_TYPES, (driveA & 15) << 4 | (driveB & 15));
        int floppies = (driveA != FLOPPY_NONE ? 1 : 0) + (driveB != FLOPPY_NONE ? 1 : 0);
        int equipment = EQUIPMENT_FPU | EQUIPMENT_PS2_MOUSE;
        if (floppies > 0) {
            equipment |= EQUIPMENT_FLOPPY | (floppies - 1) << 6;
        }
        rtc.writeCmos(EQUIPMENT, equipment);
    }

    /**
     * Geometry of IDE disk {@code disk} (0-3: primary master, primary slave, secondary master, secondary
     * slave); only disks 0 and 1 have legacy geometry bytes, every disk has translation bits.
     */
    public static void setHardDisk(Mc146818 rtc, int disk, int cylinders, int heads, int sectors, int translation) {
        if (disk < 0 || disk > 3) {
            throw new IllegalArgumentException("IDE disk index out of range: " + disk);
        }
        int translationReg = disk < 2 ? DISK_TRANSLATION_PRIMARY : DISK_TRANSLATION_SECONDARY;
        int shift = (disk & 1) * 2;
        int bits = rtc.readCmos(translationReg) & ~(3 << shift) | (translation & 3) << shift;
        rtc.writeCmos(translationReg, bits);
        if (disk > 1) {
            return;
        }
        int types = rtc.readCmos(DISK_TYPES);
        types = disk == 0 ? types & 0x0f | 0xf0 : types & 0xf0 | 0x0f;
        rtc.writeCmos(DISK_TYPES, types);
        rtc.writeCmos(DISK0_EXTENDED_TYPE + disk, USER_DEFINED_DISK_TYPE);
        int base = disk == 0 ? DISK0_GEOMETRY : DISK1_GEOMETRY;
        int cyl = Math.max(0, Math.min(0xffff, cylinders));
        writeLe16(rtc, base, cyl);
        rtc.writeCmos(base + 2, heads);
        writeLe16(rtc, base + 3, 0xffff);
        rtc.writeCmos(base + 5, 0xc0 | (heads > 8 ? 0x08 : 0));
        writeLe16(rtc, base + 6, cyl);
        rtc.writeCmos(base + 8, sectors);
    }

    /** The checksum over 0x10-0x2d; call after the other setters. */
    public static void updateChecksum(Mc146818 rtc) {
        int sum = 0;
        for (int i = CHECKSUM_FIRST; i <= CHECKSUM_LAST; i++) {
            sum += rtc.readCmos(i);
        }
        rtc.writeCmos(CHECKSUM_HIGH, sum >>> 8);
        rtc.writeCmos(CHECKSUM_LOW, sum & 0xff);
    }

    /** Century bytes 0x32 and 0x37 in BCD for {@code year}. */
    public static void setCentury(Mc146818 rtc, int year) {
        int century = Math.floorMod(year / 100, 100);
        int bcd = (century / 10) << 4 | century % 10;
        rtc.writeCmos(Mc146818.REG_CENTURY, bcd);
        rtc.writeCmos(CENTURY_PS2, bcd);
    }

    private static void writeLe16(Mc146818 rtc, int offset, int value) {
        rtc.writeCmos(offset, value & 0xff);
        rtc.writeCmos(offset + 1, (value >>> 8) & 0xff);
    }
}
