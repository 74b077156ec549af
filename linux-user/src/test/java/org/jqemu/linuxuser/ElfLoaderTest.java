package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;

import org.jqemu.memory.Page;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Header validation: each malformed field gives its own clear error, and nothing is mapped. */
class ElfLoaderTest {
    private static final int BASE = 0x0804_8000;
    private final GuestMemory memory = new GuestMemory();

    @AfterEach
    void close() { memory.close(); }

    /** A minimal static ET_EXEC: the ELF header, two PT_LOADs (text with the headers, data+bss), a PT_GNU_STACK. */
    static ByteBuffer valid() {
        ByteBuffer b = ByteBuffer.allocate(0x2100).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x464c457f).put(4, (byte) 1).put(5, (byte) 1).put(6, (byte) 1);
        b.putShort(16, (short) 2).putShort(18, (short) 3).putInt(20, 1).putInt(24, BASE + 0x100)
                .putInt(28, 52).putShort(40, (short) 52).putShort(42, (short) 32).putShort(44, (short) 3)
                .putShort(46, (short) 40);
        phdr(b, 0, 1, 0, BASE, 0x1000, 0x1000, 5);
        phdr(b, 1, 1, 0x2000, BASE + 0x2000, 0x100, 0x3000, 6);
        phdr(b, 2, 0x6474e551, 0, 0, 0, 0, 6);
        b.put(0x100, (byte) 0xf4).put(0x2000, (byte) 0x5a);
        return b;
    }

    static void phdr(ByteBuffer b, int i, int type, int offset, int vaddr, int filesz, int memsz, int flags) {
        int at = 52 + 32 * i;
        b.putInt(at, type).putInt(at + 4, offset).putInt(at + 8, vaddr).putInt(at + 12, vaddr)
                .putInt(at + 16, filesz).putInt(at + 20, memsz).putInt(at + 24, flags).putInt(at + 28, 0x1000);
    }

    private String error(Consumer<ByteBuffer> change) {
        ByteBuffer b = valid();
        change.accept(b);
        String message = assertThrows(ElfLoader.InvalidElfException.class, () -> ElfLoader.load(b.array(), memory)).getMessage();
        assertEquals(-1, memory.protection(BASE), "a rejected file maps nothing");
        return message;
    }

    @Test
    void loadsAValidImage() throws Exception {
        ElfLoader.Image image = ElfLoader.load(valid().array(), memory);
        assertEquals(BASE + 0x100, image.entry());
        assertEquals(BASE + 52, image.phdrAddress());
        assertEquals(3, image.phnum());
        assertEquals(BASE + 0x5000, image.brkStart(), "brk starts at the page after the bss");
        assertEquals((byte) 0xf4, memory.readByte(BASE + 0x100));
        assertEquals(0x5a, memory.readByte(BASE + 0x2000));
        assertEquals(0, memory.readByte(BASE + 0x2100), "bss is zero");
        assertEquals(Page.READ | Page.EXEC, memory.protection(BASE));
        assertEquals(Page.READ | Page.WRITE, memory.protection(BASE + 0x4000));
        assertEquals(false, image.executableStack());
    }

    @Test
    void staticPieIsPlacedAtTheKernelsBase() throws Exception {
        ByteBuffer b = valid();
        b.putShort(16, (short) 3).putInt(24, 0x100);
        phdr(b, 0, 1, 0, 0, 0x1000, 0x1000, 5);
        phdr(b, 1, 1, 0x2000, 0x2000, 0x100, 0x3000, 6);
        ElfLoader.Image image = ElfLoader.load(b.array(), memory);
        assertEquals(ElfLoader.STATIC_PIE_BASE + 0x100, image.entry());
        assertEquals(ElfLoader.STATIC_PIE_BASE, image.loadBias());
        assertEquals((byte) 0xf4, memory.readByte(ElfLoader.STATIC_PIE_BASE + 0x100));
    }

    @Test
    void wrongIdentityOrMachineIsTheArchitectureError() {
        String arch = "Invalid ELF image for this architecture";
        assertEquals(arch, error(b -> b.put(0, (byte) 0x7e)), "magic");
        assertEquals(arch, error(b -> b.put(4, (byte) 2)), "ELFCLASS64");
        assertEquals(arch, error(b -> b.put(5, (byte) 2)), "big-endian");
        assertEquals(arch, error(b -> b.put(6, (byte) 0)), "EI_VERSION");
        assertEquals(arch, error(b -> b.putShort(18, (short) 62)), "EM_X86_64");
        assertEquals(arch, error(b -> b.putShort(16, (short) 1)), "ET_REL");
        assertEquals(arch, error(b -> b.putInt(20, 2)), "e_version");
        assertEquals(arch, error(b -> b.putShort(42, (short) 56)), "e_phentsize");
        assertEquals(arch, error(b -> b.putShort(46, (short) 64).putShort(48, (short) 3)), "e_shentsize");
    }

    @Test
    void truncatedFileIsRejected() {
        assertThrows(ElfLoader.InvalidElfException.class, () -> ElfLoader.load(new byte[] {0x7f, 'E', 'L', 'F', 1, 1, 1}, memory));
        assertThrows(ElfLoader.InvalidElfException.class, () -> ElfLoader.load(new byte[0], memory));
    }

    @Test
    void programHeaderTableMustBeInTheFileAndOfSaneSize() {
        assertTrue(error(b -> b.putShort(44, (short) 0)).contains("program header count"));
        assertTrue(error(b -> b.putShort(44, (short) 3000)).contains("program header count"));
        assertTrue(error(b -> b.putInt(28, 0x20f0)).contains("outside the file"));
        assertTrue(error(b -> b.putInt(28, -8)).contains("outside the file"), "offset near 4 GiB must not wrap");
    }

    @Test
    void segmentsAreChecked() {
        assertTrue(error(b -> b.putInt(52 + 32 + 16, 0x4000)).contains("file size larger than its memory size"));
        assertTrue(error(b -> b.putInt(52 + 32 + 4, 0x2000).putInt(52 + 32 + 16, 0x200)).contains("past the end of the file"));
        assertTrue(error(b -> b.putInt(52 + 32 + 4, -0x1000)).contains("past the end of the file"));
        assertTrue(error(b -> b.putInt(52 + 32 + 8, 0xffff_f000).putInt(52 + 32 + 20, 0x3000)).contains("wraps"));
        assertTrue(error(b -> b.putInt(52 + 32 + 8, BASE + 0x2010).putInt(52 + 32 + 28, 0)).contains("different page positions"));
        assertTrue(error(b -> b.putInt(52 + 28, 0x3000)).contains("alignment"));
    }

    @Test
    void segmentsMustBeSortedAndDisjoint() {
        assertTrue(error(b -> phdr(b, 1, 1, 0x1800, BASE + 0x800, 0x100, 0x3000, 6)).contains("overlap"));
        assertTrue(error(b -> b.putInt(52 + 20, 0x2800)).contains("overlap"));
        assertTrue(error(b -> {
            phdr(b, 0, 1, 0x2000, BASE + 0x2000, 0x100, 0x3000, 6);
            phdr(b, 1, 1, 0, BASE, 0x1000, 0x1000, 5);
        }).contains("not sorted"));
    }

    @Test
    void entryMustBeInsideALoadedSegmentAndBelowTheKernel() {
        assertTrue(error(b -> b.putInt(24, 0x1000)).contains("entry point"));
        assertTrue(error(b -> {
            phdr(b, 1, 1, 0x2000, 0xbfff_f000, 0x100, 0x3000, 6);
        }).contains("above 0xc0000000"));
    }

    @Test
    void dynamicProgramsAreReportedAsNotSupported() {
        String message = error(b -> {
            phdr(b, 2, 3, 0x1f00, 0, 14, 14, 4);
            b.put(0x1f00, "/lib/ld.so.2\0\0".getBytes());
        });
        assertTrue(message.contains("dynamically linked programs are not supported yet"), message);
        assertTrue(message.contains("/lib/ld.so.2"), message);
        assertTrue(error(b -> phdr(b, 2, 3, 0x20f0, 0, 0x100, 0x100, 4)).contains("bad PT_INTERP"));
    }
}
