package org.jqemu.hw.i386;

/**
 * Every fixed address of the {@code pc} machine, in one place. Physical memory (below 4 GiB):
 * <pre>
 * 0x00000000-0x0009ffff  conventional RAM (640 KiB)
 * 0x000a0000-0x000bffff  VGA window (no VGA yet: unassigned, reads all ones)
 * 0x000c0000-0x000fffff  option ROMs and BIOS: decoded by the i440FX PAM registers, either DRAM or the
 *                        ROM side, where the last 128 KiB of the BIOS image are aliased (0xe0000-0xfffff)
 * 0x00100000-lowmem      RAM; lowmem = -m, or 3 GiB when -m is 3.5 GiB or more (as QEMU's pc)
 * lowmem-0xfebfffff      PCI hole (unassigned until PCI BARs exist)
 * 0xfec00000             IOAPIC (not modelled yet), 0xfed00000 HPET (1 KiB of registers in its own 4 KiB
 *                        page; absent with hpet=off), 0xfee00000 LAPIC (not modelled: the CPU's CPUID
 *                        reports no APIC)
 * 0xfffc0000-0xffffffff  BIOS ROM (bios-256k.bin; smaller images end at 4 GiB as well)
 * 0x100000000-           RAM above 4 GiB (-m minus lowmem)
 * </pre>
 * Direct Linux boot (-kernel) uses low RAM as follows, all below the 640 KiB line:
 * <pre>
 * 0x6000  GDT (null, null, 0x10 flat code, 0x18 flat data) and its 6-byte descriptor at 0x6020
 * 0x7000  the 16-bit boot stub the CPU starts in (it enters protected mode and jumps to the kernel)
 * 0x10000 the zero page (struct boot_params), 0x20000 the kernel command line
 * 0xe0000 ACPI tables (RSDP, RSDT, FADT, FACS, DSDT, HPET), in the BIOS area that e820 reports reserved
 * </pre>
 * I/O ports are those of the QEMU 7.2 pc machine (reference/qemu-7.2-facts.md).
 */
public final class PcLayout {
    private PcLayout() { }

    public static final long KIB = 1024;
    public static final long MIB = 1024 * KIB;
    public static final long GIB = 1024 * MIB;
    public static final long FOUR_GIB = 4 * GIB;

    // ---- physical memory ----
    public static final long CONVENTIONAL_END = 0xa0000;
    public static final long VGA_WINDOW = 0xa0000;
    public static final long VGA_WINDOW_SIZE = 0x20000;
    public static final long EXPANSION_ROM_AREA = 0xc0000;
    public static final long BIOS_AREA = 0xe0000;
    public static final long BIOS_AREA_SIZE = 0x20000;
    public static final long HIGH_MEMORY = 0x100000;
    /** Below this much RAM everything goes under 4 GiB; from it on, only {@link #LOWMEM_SPLIT}. */
    public static final long LOWMEM_LIMIT = 0xe000_0000L;
    public static final long LOWMEM_SPLIT = 0xc000_0000L;
    public static final long PCI_HOLE_END = 0xfec0_0000L;
    public static final long IOAPIC = 0xfec0_0000L;
    public static final long HPET = 0xfed0_0000L;
    public static final long LAPIC = 0xfee0_0000L;
    public static final long BIOS_ROM_MAX_SIZE = 256 * KIB;
    /** Smallest RAM the machine accepts (QEMU's pc refuses nothing; we need room for the low areas). */
    public static final long MIN_RAM = 2 * MIB;

    // ---- direct Linux boot ----
    public static final long BOOT_GDT = 0x6000;
    public static final long BOOT_GDT_DESCRIPTOR = 0x6020;
    public static final long BOOT_STUB = 0x7000;
    public static final long ZERO_PAGE = 0x10000;
    public static final long CMDLINE = 0x20000;
    public static final long ACPI_TABLES = 0xe0000;
    /** The extended BIOS data area starts here in e820 (what SeaBIOS reserves). */
    public static final long EBDA = 0x9fc00;

    // ---- I/O ports ----
    public static final int PORT_PIC_MASTER = 0x20;
    public static final int PORT_PIC_SLAVE = 0xa0;
    public static final int PORT_PIT = 0x40;
    public static final int PORT_KBD_DATA = 0x60;
    public static final int PORT_SYSTEM_B = 0x61;
    public static final int PORT_KBD_COMMAND = 0x64;
    public static final int PORT_RTC = 0x70;
    public static final int PORT_SYSTEM_A = 0x92;
    public static final int PORT_APM_CONTROL = 0xb2;
    public static final int PORT_COM1 = 0x3f8;
    public static final int PORT_ELCR = 0x4d0;
    public static final int PORT_FW_CFG = 0x510;
    /** PIIX4 PM I/O block as the firmware (and our direct boot) programs it into PMBA. */
    public static final int PORT_PM_BASE = 0x600;
    public static final int PORT_PCI_CONFIG = 0xcf8;
    public static final int PORT_GPE0 = 0xafe0;

    // ---- ISA interrupts ----
    public static final int IRQ_PIT = 0;
    public static final int IRQ_KEYBOARD = 1;
    public static final int IRQ_COM1 = 4;
    public static final int IRQ_RTC = 8;
    public static final int IRQ_SCI = 9;
    public static final int IRQ_MOUSE = 12;

    // ---- PCI ----
    public static final int PCI_SLOT_PIIX = 1;
    public static final int PCI_FN_PIIX4_PM = 3;

    /** RAM mapped below 4 GiB for {@code ramSize} bytes of -m. */
    public static long lowMemory(long ramSize) {
        return ramSize >= LOWMEM_LIMIT ? LOWMEM_SPLIT : ramSize;
    }

    /** RAM mapped from 4 GiB up. */
    public static long highMemory(long ramSize) {
        return ramSize - lowMemory(ramSize);
    }
}
