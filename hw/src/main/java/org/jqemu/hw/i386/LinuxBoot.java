package org.jqemu.hw.i386;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.jqemu.hw.core.PhysicalMemory;

/**
 * Direct Linux boot without firmware (-kernel): the 32-bit boot protocol of Documentation/arch/x86/boot.rst.
 * SeaBIOS does not run first (QEMU runs it with a linuxboot option ROM; we skip the BIOS entirely, so the
 * kernel sees no BIOS services, which a bzImage entered at code32_start never calls). The loader puts
 * the protected-mode kernel at 1 MiB, the initrd as high as RAM and initrd_addr_max allow, the command
 * line and the zero page (boot_params: setup header copy, e820 map, ACPI RSDP address) in low RAM, and a
 * 16-bit stub at {@link PcLayout#BOOT_STUB} that the CPU starts in, real mode CS:IP = 0000:7000. The stub
 * does what a boot loader does: CLI, LGDT of a flat GDT (0x10 code, 0x18 data, 4 GiB), CR0.PE = 1, far
 * jump to 32-bit code that loads DS/ES/FS/GS/SS with 0x18, sets ESI = zero page, EBP = EDI = EBX = 0 and
 * jumps to code32_start with paging and interrupts off.
 */
public final class LinuxBoot {
    public static final int OFF_ALT_MEM_K = 0x1e0;
    public static final int OFF_E820_ENTRIES = 0x1e8;
    public static final int OFF_E820_TABLE = 0x2d0;
    public static final int OFF_ACPI_RSDP_ADDR = 0x070;
    public static final int E820_MAX = 128;
    public static final int ZERO_PAGE_SIZE = 4096;
    public static final int TYPE_OF_LOADER_UNKNOWN = 0xff;
    private static final long GDT_CODE = 0x00cf_9b00_0000_ffffL;
    private static final long GDT_DATA = 0x00cf_9300_0000_ffffL;
    private static final int GDT_LIMIT = 4 * 8 - 1;
    private static final int SELECTOR_CODE = 0x10;
    private static final int SELECTOR_DATA = 0x18;
    private static final long PAGE = 4096;

    private LinuxBoot() { }

    /** Where things went (for the log and tests). */
    public record Placement(long kernel, long initrd, long initrdSize, long cmdline, long zeroPage, long entryStub) { }

    /** A kernel that does not fit the machine (too little RAM, command line too long). */
    public static final class BootException extends Exception {
        public BootException(String message) { super(message); }
    }

    /**
     * Loads {@code kernel} (and {@code initrd}, may be null) into {@code memory}.
     * @param acpiRsdp physical address of the RSDP, or 0 when there are no ACPI tables
     */
    public static Placement load(PhysicalMemory memory, BzImage kernel, byte[] initrd, String cmdline,
            List<E820.Entry> e820, long acpiRsdp) throws BootException {
        long lowRam = memory.lowRamSize();
        if (kernel.runtimeEnd() > lowRam) {
            throw new BootException(String.format("the kernel needs RAM up to 0x%x (pref_address + init_size); -m is too small",
                    kernel.runtimeEnd()));
        }
        byte[] cmd = (cmdline == null ? "" : cmdline).getBytes(StandardCharsets.UTF_8);
        if (cmd.length > kernel.cmdlineSize()) {
            throw new BootException("kernel command line is " + cmd.length + " bytes, the kernel accepts " + kernel.cmdlineSize());
        }
        if (e820.size() > E820_MAX) {
            throw new BootException("too many e820 entries");
        }
        memory.writeRam(BzImage.LOAD_ADDRESS, kernel.image(), kernel.kernelOffset(), kernel.kernelSize());
        byte[] cmdz = new byte[cmd.length + 1];
        System.arraycopy(cmd, 0, cmdz, 0, cmd.length);
        memory.writeRam(PcLayout.CMDLINE, cmdz);

        long initrdAddress = 0;
        long initrdSize = initrd == null ? 0 : initrd.length;
        if (initrd != null) {
            long top = Math.min(kernel.initrdAddrMax() + 1, lowRam);
            initrdAddress = (top - initrdSize) & ~(PAGE - 1);
            if (initrdAddress < kernel.runtimeEnd()) {
                throw new BootException(String.format("initrd of %d bytes does not fit between the kernel (end 0x%x) and 0x%x; -m is too small",
                        initrdSize, kernel.runtimeEnd(), top));
            }
            memory.writeRam(initrdAddress, initrd);
        }

        ByteBuffer zp = ByteBuffer.allocate(ZERO_PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        zp.put(BzImage.HEADER_OFFSET, kernel.setupHeader());
        zp.put(BzImage.OFF_TYPE_OF_LOADER, (byte) TYPE_OF_LOADER_UNKNOWN);
        zp.putInt(BzImage.OFF_CMD_LINE_PTR, (int) PcLayout.CMDLINE);
        zp.putInt(BzImage.OFF_RAMDISK_IMAGE, (int) initrdAddress);
        zp.putInt(BzImage.OFF_RAMDISK_SIZE, (int) initrdSize);
        zp.putInt(OFF_ALT_MEM_K, (int) ((lowRam - PcLayout.HIGH_MEMORY) / PcLayout.KIB));
        zp.putLong(OFF_ACPI_RSDP_ADDR, acpiRsdp);
        zp.put(OFF_E820_ENTRIES, (byte) e820.size());
        byte[] table = E820.encode(e820);
        zp.put(OFF_E820_TABLE, table);
        memory.writeRam(PcLayout.ZERO_PAGE, zp.array());

        writeGdtAndStub(memory, kernel.code32Start());
        return new Placement(BzImage.LOAD_ADDRESS, initrdAddress, initrdSize, PcLayout.CMDLINE, PcLayout.ZERO_PAGE,
                PcLayout.BOOT_STUB);
    }

    private static void writeGdtAndStub(PhysicalMemory memory, long entry) {
        ByteBuffer gdt = ByteBuffer.allocate(38).order(ByteOrder.LITTLE_ENDIAN);
        gdt.putLong(SELECTOR_CODE, GDT_CODE).putLong(SELECTOR_DATA, GDT_DATA);
        gdt.putShort(32, (short) GDT_LIMIT).putInt(34, (int) PcLayout.BOOT_GDT);
        memory.writeRam(PcLayout.BOOT_GDT, gdt.array());
        memory.writeRam(PcLayout.BOOT_STUB, stub(PcLayout.BOOT_STUB, entry));
    }

    /** The boot stub's machine code, assembled for address {@code at} (see the class comment). */
    static byte[] stub(long at, long entry) {
        ByteBuffer c = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        c.put((byte) 0xfa);                                           // cli
        c.put(new byte[] {0x66, 0x0f, 0x01, 0x16});                   // lgdt [disp16] (32-bit base)
        c.putShort((short) PcLayout.BOOT_GDT_DESCRIPTOR);
        c.put(new byte[] {0x0f, 0x20, (byte) 0xc0});                  // mov eax, cr0
        c.put(new byte[] {0x66, (byte) 0x83, (byte) 0xc8, 0x01});     // or eax, 1
        c.put(new byte[] {0x0f, 0x22, (byte) 0xc0});                  // mov cr0, eax
        int farJump = c.position();
        c.put(new byte[] {0x66, (byte) 0xea});                        // jmp dword 0x10:pm32
        c.putInt(0);
        c.putShort((short) SELECTOR_CODE);
        int pm32 = c.position();
        c.putInt(farJump + 2, (int) (at + pm32));
        c.put((byte) 0xb8).putInt(SELECTOR_DATA);                     // mov eax, 0x18
        for (int modrm : new int[] {0xd8, 0xc0, 0xe0, 0xe8, 0xd0}) {  // mov ds/es/fs/gs/ss, ax
            c.put((byte) 0x8e).put((byte) modrm);
        }
        c.put((byte) 0xbe).putInt((int) PcLayout.ZERO_PAGE);          // mov esi, zero page
        c.put(new byte[] {0x31, (byte) 0xed, 0x31, (byte) 0xff, 0x31, (byte) 0xdb}); // xor ebp/edi/ebx
        c.put((byte) 0xe9);                                           // jmp rel32 code32_start
        int next = c.position() + 4;
        c.putInt((int) (entry - (at + next)));
        byte[] out = new byte[c.position()];
        c.get(0, out);
        return out;
    }
}
