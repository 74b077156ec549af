package org.jqemu.hw.i386;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import org.jqemu.hw.core.PhysicalMemory;
import org.junit.jupiter.api.Test;

class BzImageTest {
    /** A minimal protocol 2.15 bzImage (fields per Documentation/arch/x86/boot.rst) with a 4 KiB payload. */
    static byte[] image(Consumer<ByteBuffer> edit) {
        ByteBuffer b = ByteBuffer.allocate(1024 + 4096).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) 1);
        b.putInt(0x1f4, 4096 / 16);
        b.putShort(0x1fe, (short) 0xaa55);
        b.put(0x200, (byte) 0xeb).put(0x201, (byte) 0x66);
        b.putInt(0x202, 0x53726448);
        b.putShort(0x206, (short) 0x20f);
        b.put(0x211, (byte) 0x01);
        b.putInt(0x214, 0x100000);
        b.putInt(0x22c, 0x7fffffff);
        b.putInt(0x230, 0x200000);
        b.put(0x234, (byte) 1);
        b.putInt(0x238, 0x7ff);
        b.putLong(0x258, 0x200000);
        b.putInt(0x260, 0x100000);
        b.put(1024, (byte) 0x5a);
        edit.accept(b);
        return b.array();
    }

    private static String error(Consumer<ByteBuffer> edit) {
        return assertThrows(BzImage.InvalidKernelException.class, () -> BzImage.parse(image(edit))).getMessage();
    }

    @Test
    void parsesAWellFormedHeader() throws Exception {
        BzImage k = BzImage.parse(image(b -> { }));
        assertEquals(1024, k.kernelOffset());
        assertEquals(4096, k.kernelSize());
        assertEquals(0x20f, k.protocol());
        assertEquals(0x200000 + 0x100000, k.runtimeEnd());
        assertEquals(0x268 - 0x1f1, k.setupHeader().length);
    }

    @Test
    void refusesMalformedFields() {
        assertTrue(error(b -> b.putShort(0x1fe, (short) 0)).contains("0xaa55"));
        assertTrue(error(b -> b.putInt(0x202, 0)).contains("HdrS"));
        assertTrue(error(b -> b.putShort(0x206, (short) 0x204)).contains("2.04"));
        assertTrue(error(b -> b.putInt(0x1f4, 0x10000)).contains("syssize"));
        assertTrue(error(b -> b.put(0x211, (byte) 0)).contains("LOADED_HIGH"));
        assertTrue(error(b -> b.putInt(0x214, 0x10000)).contains("code32_start"));
        assertTrue(error(b -> b.putInt(0x230, 3)).contains("kernel_alignment"));
        assertTrue(error(b -> b.putInt(0x238, 0)).contains("cmdline_size"));
        assertTrue(error(b -> b.putLong(0x258, 0x1000)).contains("pref_address"));
        assertTrue(error(b -> b.putInt(0x260, 16)).contains("init_size"));
        assertTrue(error(b -> b.put(0x1f1, (byte) 100)).contains("setup_sects"));
        assertThrows(BzImage.InvalidKernelException.class, () -> BzImage.parse(new byte[100]));
    }

    @Test
    void zeroPageHasHeaderLoaderTypeCommandLineInitrdAndE820() throws Exception {
        BzImage k = BzImage.parse(image(b -> { }));
        PhysicalMemory m = new PhysicalMemory(16 << 20, 16 << 20);
        byte[] initrd = new byte[10000];
        initrd[0] = 0x1f;
        List<E820.Entry> e820 = E820.forRam(16 << 20, 0);
        LinuxBoot.Placement p = LinuxBoot.load(m, k, initrd, "console=ttyS0", e820, 0xe0000);
        ByteBuffer zp = ByteBuffer.wrap(m.readRam(PcLayout.ZERO_PAGE, 4096)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0xff, zp.get(0x210) & 0xff, "type_of_loader");
        assertEquals(0x53726448, zp.getInt(0x202), "setup header copied");
        assertEquals(PcLayout.CMDLINE, zp.getInt(0x228));
        assertEquals("console=ttyS0\0", new String(m.readRam(PcLayout.CMDLINE, 14)));
        long initrdAt = zp.getInt(0x218) & 0xffffffffL;
        assertEquals(10000, zp.getInt(0x21c));
        assertEquals(0, initrdAt % 4096);
        assertTrue(initrdAt + 10000 <= 16 << 20 && initrdAt >= (16 << 20) - 16384, "initrd placed high");
        assertEquals(0x1f, m.readRam(initrdAt, 1)[0]);
        assertEquals(p.initrd(), initrdAt);
        assertEquals(0x5a, m.readRam(0x100000, 1)[0], "protected-mode kernel at 1 MiB");
        assertEquals(e820.size(), zp.get(0x1e8));
        assertEquals(0x100000, zp.getLong(0x2d0 + 3 * 20), "fourth e820 entry starts at 1 MiB");
        assertEquals(1, zp.getInt(0x2d0 + 3 * 20 + 16), "and is RAM");
        assertEquals(0xe0000, zp.getLong(0x070), "acpi_rsdp_addr");
    }

    @Test
    void tooLittleRamIsAClearError() throws Exception {
        BzImage k = BzImage.parse(image(b -> { }));
        PhysicalMemory m = new PhysicalMemory(2 << 20, 2 << 20);
        LinuxBoot.BootException e = assertThrows(LinuxBoot.BootException.class,
                () -> LinuxBoot.load(m, k, null, "", E820.forRam(2 << 20, 0), 0));
        assertTrue(e.getMessage().contains("-m is too small"), e.getMessage());
        PhysicalMemory big = new PhysicalMemory(16 << 20, 16 << 20);
        assertThrows(LinuxBoot.BootException.class, () -> LinuxBoot.load(big, k, null, "x".repeat(0x800), E820.forRam(16 << 20, 0), 0));
    }

    /** Debian's real i386 kernel, when tools/fetch-guests has cached it (the system boot test fetches it). */
    @Test
    void parsesDebiansKernel() throws IOException, BzImage.InvalidKernelException {
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "jqemu", "guests");
        Path vmlinuz = null;
        if (Files.isDirectory(cache)) {
            try (var dirs = Files.list(cache)) {
                vmlinuz = dirs.map(d -> d.resolve("vmlinuz")).filter(Files::isRegularFile).findFirst().orElse(null);
            }
        }
        assumeTrue(vmlinuz != null, "no cached Debian kernel (run tools/fetch-guests)");
        byte[] file = Files.readAllBytes(vmlinuz);
        BzImage k = BzImage.parse(file);
        assertTrue(k.protocol() >= 0x20f, "a 6.x kernel speaks protocol 2.15");
        assertTrue(k.relocatable());
        assertTrue(k.kernelOffset() + k.kernelSize() <= file.length);
        // The payload of a bzImage starts with the compressed kernel's startup_32; its ELF-free head is code,
        // while the boot sector's "MZ" (the EFI stub's PE header) sits at offset 0.
        assertEquals('M', file[0]);
        assertEquals('Z', file[1]);
        assertEquals(0x1000000, k.prefAddress(), "LOAD_PHYSICAL_ADDR of Debian's i386 config is 16 MiB");
    }
}
