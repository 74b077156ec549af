package org.jqemu.hw.i386;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * A Linux x86 bzImage as the boot protocol (Documentation/arch/x86/boot.rst) describes it: the real-mode
 * setup ({@code setup_sects} 512-byte sectors after the boot sector) with the setup header at 0x1f1, then
 * the protected-mode kernel. {@link #parse} checks every field a loader relies on and refuses anything
 * else with a message naming the field; it never throws anything but {@link InvalidKernelException}.
 */
public record BzImage(byte[] image, int setupSects, long syssize, int protocol, int loadflags, long code32Start,
        long initrdAddrMax, long kernelAlignment, boolean relocatable, int cmdlineSize, long prefAddress,
        long initSize) {

    /** The setup header starts at this offset in the file and in the zero page. */
    public static final int HEADER_OFFSET = 0x1f1;
    public static final int OFF_SETUP_SECTS = 0x1f1;
    public static final int OFF_SYSSIZE = 0x1f4;
    public static final int OFF_BOOT_FLAG = 0x1fe;
    public static final int OFF_JUMP = 0x200;
    public static final int OFF_HEADER = 0x202;
    public static final int OFF_VERSION = 0x206;
    public static final int OFF_TYPE_OF_LOADER = 0x210;
    public static final int OFF_LOADFLAGS = 0x211;
    public static final int OFF_CODE32_START = 0x214;
    public static final int OFF_RAMDISK_IMAGE = 0x218;
    public static final int OFF_RAMDISK_SIZE = 0x21c;
    public static final int OFF_CMD_LINE_PTR = 0x228;
    public static final int OFF_INITRD_ADDR_MAX = 0x22c;
    public static final int OFF_KERNEL_ALIGNMENT = 0x230;
    public static final int OFF_RELOCATABLE = 0x234;
    public static final int OFF_CMDLINE_SIZE = 0x238;
    public static final int OFF_PREF_ADDRESS = 0x258;
    public static final int OFF_INIT_SIZE = 0x260;

    public static final int BOOT_FLAG = 0xaa55;
    public static final int HDRS_MAGIC = 0x53726448; // "HdrS" little-endian
    public static final int MIN_PROTOCOL = 0x206;
    public static final int LOADED_HIGH = 0x01;
    public static final long LOAD_ADDRESS = 0x100000;
    /** When setup_sects reads 0, the real value is 4 (old kernels). */
    private static final int DEFAULT_SETUP_SECTS = 4;
    private static final int SECTOR = 512;
    /** The largest real-mode setup the protocol allows (it must fit below 0x8000 of a 64 KiB segment). */
    private static final int MAX_SETUP_SECTS = 64;

    /** A file that is not a loadable bzImage; the message says which field is wrong. */
    public static final class InvalidKernelException extends Exception {
        public InvalidKernelException(String message) { super(message); }
    }

    /** Parses and validates {@code image}, the whole kernel file. */
    public static BzImage parse(byte[] image) throws InvalidKernelException {
        if (image.length < OFF_INIT_SIZE + 4) {
            throw new InvalidKernelException("file too short for a Linux kernel (" + image.length + " bytes)");
        }
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        if ((b.getShort(OFF_BOOT_FLAG) & 0xffff) != BOOT_FLAG) {
            throw new InvalidKernelException("not a Linux kernel: no boot flag 0xaa55 at 0x1fe");
        }
        if (b.getInt(OFF_HEADER) != HDRS_MAGIC) {
            throw new InvalidKernelException("not a bzImage: no \"HdrS\" setup header magic at 0x202 (a zImage or an ELF vmlinux?)");
        }
        int protocol = b.getShort(OFF_VERSION) & 0xffff;
        if (protocol < MIN_PROTOCOL) {
            throw new InvalidKernelException(String.format("boot protocol %d.%02d is too old (2.06 or later required)",
                    protocol >> 8, protocol & 0xff));
        }
        int setupSects = image[OFF_SETUP_SECTS] & 0xff;
        if (setupSects == 0) {
            setupSects = DEFAULT_SETUP_SECTS;
        }
        if (setupSects > MAX_SETUP_SECTS) {
            throw new InvalidKernelException("setup_sects " + setupSects + " is larger than " + MAX_SETUP_SECTS);
        }
        long setupEnd = (long) (setupSects + 1) * SECTOR;
        long syssize = b.getInt(OFF_SYSSIZE) & 0xffff_ffffL;
        if (syssize == 0 || setupEnd + syssize * 16 > image.length) {
            throw new InvalidKernelException("syssize " + syssize + " (16-byte units) does not fit the file: setup ends at "
                    + setupEnd + ", file has " + image.length + " bytes");
        }
        int jumpEnd = OFF_HEADER + (image[OFF_JUMP + 1] & 0xff);
        if ((image[OFF_JUMP] & 0xff) != 0xeb || jumpEnd < OFF_INIT_SIZE + 4 || jumpEnd > setupEnd) {
            throw new InvalidKernelException("the setup header's jump at 0x200 does not skip a 2.06+ header");
        }
        int loadflags = image[OFF_LOADFLAGS] & 0xff;
        if ((loadflags & LOADED_HIGH) == 0) {
            throw new InvalidKernelException("loadflags 0x" + Integer.toHexString(loadflags) + " lack LOADED_HIGH: zImage kernels are not supported");
        }
        long code32 = b.getInt(OFF_CODE32_START) & 0xffff_ffffL;
        if (code32 != LOAD_ADDRESS) {
            throw new InvalidKernelException("code32_start 0x" + Long.toHexString(code32) + " is not the bzImage load address 0x100000");
        }
        long initrdMax = b.getInt(OFF_INITRD_ADDR_MAX) & 0xffff_ffffL;
        if (initrdMax < LOAD_ADDRESS) {
            throw new InvalidKernelException("initrd_addr_max 0x" + Long.toHexString(initrdMax) + " is below 1 MiB");
        }
        long alignment = b.getInt(OFF_KERNEL_ALIGNMENT) & 0xffff_ffffL;
        boolean relocatable = image[OFF_RELOCATABLE] != 0;
        if (relocatable && (alignment == 0 || Long.bitCount(alignment) != 1)) {
            throw new InvalidKernelException("kernel_alignment 0x" + Long.toHexString(alignment) + " is not a power of two");
        }
        long cmdlineSize = protocol >= 0x206 ? b.getInt(OFF_CMDLINE_SIZE) & 0xffff_ffffL : 255;
        if (cmdlineSize == 0 || cmdlineSize > 0x10000) {
            throw new InvalidKernelException("cmdline_size " + cmdlineSize + " is outside 1..65536");
        }
        long pref = LOAD_ADDRESS;
        long initSize = 0;
        if (protocol >= 0x20a) {
            pref = b.getLong(OFF_PREF_ADDRESS);
            initSize = b.getInt(OFF_INIT_SIZE) & 0xffff_ffffL;
            if (pref < LOAD_ADDRESS || pref >= 1L << 32) {
                throw new InvalidKernelException("pref_address 0x" + Long.toHexString(pref) + " is outside 1 MiB..4 GiB");
            }
            if (initSize < syssize * 16) {
                throw new InvalidKernelException("init_size 0x" + Long.toHexString(initSize) + " is smaller than the kernel");
            }
        }
        return new BzImage(image, setupSects, syssize, protocol, loadflags, code32, initrdMax, alignment, relocatable,
                (int) cmdlineSize, pref, initSize);
    }

    /** File offset of the protected-mode kernel. */
    public int kernelOffset() { return (setupSects + 1) * SECTOR; }

    /** Bytes of the protected-mode kernel. */
    public int kernelSize() { return (int) (syssize * 16); }

    /** The setup header bytes (0x1f1 up to the end the jump at 0x200 skips to), to copy into the zero page. */
    public byte[] setupHeader() {
        int end = OFF_HEADER + (image[OFF_JUMP + 1] & 0xff);
        return Arrays.copyOfRange(image, HEADER_OFFSET, end);
    }

    /**
     * The lowest physical address the kernel occupies once it has decompressed itself: its preferred
     * address (a relocatable kernel never goes below LOAD_PHYSICAL_ADDR, which pref_address is), plus
     * init_size; at least the loaded image at 1 MiB.
     */
    public long runtimeEnd() {
        return Math.max(prefAddress + initSize, LOAD_ADDRESS + kernelSize());
    }
}
