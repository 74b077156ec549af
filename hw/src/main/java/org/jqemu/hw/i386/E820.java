package org.jqemu.hw.i386;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/** The BIOS memory map (INT 15h E820) of the pc machine, for the zero page and for fw_cfg's etc/e820. */
public final class E820 {
    public static final int TYPE_RAM = 1;
    public static final int TYPE_RESERVED = 2;
    /** Bytes of one entry: u64 address, u64 length, u32 type. */
    public static final int ENTRY_SIZE = 20;

    public record Entry(long address, long length, int type) { }

    private E820() { }

    /**
     * The map for direct Linux boot: conventional RAM up to the EBDA, the BIOS area (where the ACPI
     * tables are) reserved, RAM from 1 MiB, the BIOS ROM under 4 GiB reserved, RAM above 4 GiB.
     */
    public static List<Entry> forRam(long lowSize, long highSize) {
        List<Entry> map = new ArrayList<>();
        map.add(new Entry(0, PcLayout.EBDA, TYPE_RAM));
        map.add(new Entry(PcLayout.EBDA, PcLayout.CONVENTIONAL_END - PcLayout.EBDA, TYPE_RESERVED));
        map.add(new Entry(PcLayout.BIOS_AREA, PcLayout.BIOS_AREA_SIZE, TYPE_RESERVED));
        map.add(new Entry(PcLayout.HIGH_MEMORY, lowSize - PcLayout.HIGH_MEMORY, TYPE_RAM));
        map.add(new Entry(PcLayout.FOUR_GIB - PcLayout.BIOS_ROM_MAX_SIZE, PcLayout.BIOS_ROM_MAX_SIZE, TYPE_RESERVED));
        if (highSize > 0) {
            map.add(new Entry(PcLayout.FOUR_GIB, highSize, TYPE_RAM));
        }
        return map;
    }

    /** Only the RAM entries, as QEMU's fw_cfg file etc/e820 gives them to SeaBIOS. */
    public static List<Entry> ramOnly(long lowSize, long highSize) {
        List<Entry> map = new ArrayList<>();
        map.add(new Entry(0, lowSize, TYPE_RAM));
        if (highSize > 0) {
            map.add(new Entry(PcLayout.FOUR_GIB, highSize, TYPE_RAM));
        }
        return map;
    }

    /** Entries in the packed little-endian form of struct e820entry. */
    public static byte[] encode(List<Entry> map) {
        ByteBuffer b = ByteBuffer.allocate(map.size() * ENTRY_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (Entry e : map) {
            b.putLong(e.address()).putLong(e.length()).putInt(e.type());
        }
        return b.array();
    }
}
