package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import org.jqemu.memory.Page;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    /** A position-independent interpreter: the valid image as ET_DYN at address 0, entry at 0x100. */
    static ByteBuffer interpreter() {
        ByteBuffer b = valid();
        b.putShort(16, (short) 3).putInt(24, 0x100);
        phdr(b, 0, 1, 0, 0, 0x1000, 0x1000, 5);
        phdr(b, 1, 1, 0x2000, 0x2000, 0x100, 0x3000, 6);
        b.put(0x100, (byte) 0xcc);
        return b;
    }

    /** The valid program naming {@code path} in a PT_INTERP (in place of its PT_GNU_STACK). */
    static ByteBuffer dynamicProgram(String path) {
        ByteBuffer b = valid();
        byte[] name = (path + "\0").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        phdr(b, 2, 3, 0x1f00, 0, name.length, name.length, 4);
        b.put(0x1f00, name);
        return b;
    }

    private static ProcessImage sysroot(Path root) {
        return new ProcessImage(new PathResolver(root.toString(), "/guest/prog"));
    }

    @Test
    void interpreterIsLoadedFromTheSysrootAndStartsFirst(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("lib"));
        Files.write(root.resolve("lib/ld-test.so.1"), interpreter().array());
        ProcessImage process = sysroot(root);
        ElfLoader.Image image = ElfLoader.load(dynamicProgram("/lib/ld-test.so.1").array(), memory, process);
        assertEquals(ElfLoader.INTERPRETER_BASE, image.interpreterBase(), "AT_BASE: the first free address of the mmap area");
        assertEquals(ElfLoader.INTERPRETER_BASE + 0x100, image.entry(), "the CPU starts in the interpreter");
        assertEquals(BASE + 0x100, image.programEntry(), "AT_ENTRY stays the program's");
        assertEquals((byte) 0xcc, memory.readByte(ElfLoader.INTERPRETER_BASE + 0x100));
        assertEquals((byte) 0xf4, memory.readByte(BASE + 0x100));
        assertEquals(Page.READ | Page.EXEC, memory.protection(ElfLoader.INTERPRETER_BASE));
        assertEquals(Page.READ | Page.WRITE, memory.protection(ElfLoader.INTERPRETER_BASE + 0x4000));
        assertEquals(root.resolve("lib/ld-test.so.1").toString(), process.regionAt(ElfLoader.INTERPRETER_BASE).path());
        assertEquals("/guest/prog", process.regionAt(BASE).path());
        assertEquals(null, process.regionAt(BASE + 0x4000), "bss is anonymous");
        assertEquals(BASE + 0x5000, image.brkStart(), "the brk follows the program, not the interpreter");
    }

    @Test
    void auxiliaryVectorCarriesBaseAndProgramEntry(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("lib"));
        Files.write(root.resolve("lib/ld-test.so.1"), interpreter().array());
        ProcessImage process = sysroot(root);
        ElfLoader.Image image = ElfLoader.load(dynamicProgram("/lib/ld-test.so.1").array(), memory, process);
        long sp = InitialStack.build(memory, image, List.of("p"), List.of(), "p", InitialStack.DEFAULT_SIZE, new byte[16],
                new InitialStack.Credentials(0, 0, 0, 0));
        process.setInitialStack(memory, sp);
        java.nio.ByteBuffer auxv = ByteBuffer.wrap(process.auxv()).order(ByteOrder.LITTLE_ENDIAN);
        java.util.Map<Integer, Long> values = new java.util.HashMap<>();
        for (int i = 0; i + 8 <= auxv.capacity(); i += 8) {
            values.put(auxv.getInt(i), auxv.getInt(i + 4) & 0xffff_ffffL);
        }
        assertEquals(ElfLoader.INTERPRETER_BASE, values.get(InitialStack.AT_BASE));
        assertEquals(BASE + 0x100L, values.get(InitialStack.AT_ENTRY));
        assertEquals(BASE + 52L, values.get(InitialStack.AT_PHDR));
        assertEquals(0L, values.get(InitialStack.AT_NULL), "the vector ends with AT_NULL");
    }

    @Test
    void interpreterProblemsAreClearErrors(@TempDir Path root) throws Exception {
        String missing = assertThrows(ElfLoader.InvalidElfException.class,
                () -> ElfLoader.load(dynamicProgram("/lib/none.so").array(), memory, sysroot(root))).getMessage();
        assertEquals("Could not open '/lib/none.so': No such file or directory", missing);
        Files.createDirectories(root.resolve("lib"));
        assertEquals("Could not open '/dev/zero': Permission denied", assertThrows(ElfLoader.InvalidElfException.class,
                () -> ElfLoader.load(dynamicProgram("/dev/zero").array(), memory, sysroot(root))).getMessage(),
                "a device is refused, not read forever");
        assertEquals("Could not open '/lib': Is a directory", assertThrows(ElfLoader.InvalidElfException.class,
                () -> ElfLoader.load(dynamicProgram("/lib").array(), memory, sysroot(root))).getMessage());
        Files.write(root.resolve("lib/text.so"), "not an ELF file".getBytes());
        assertEquals(ElfLoader.WRONG_ARCH, assertThrows(ElfLoader.InvalidElfException.class,
                () -> ElfLoader.load(dynamicProgram("/lib/text.so").array(), memory, sysroot(root))).getMessage());
        ByteBuffer chained = interpreter();
        phdr(chained, 2, 3, 0x1f00, 0, 6, 6, 4);
        chained.put(0x1f00, "/x.so\0".getBytes());
        Files.write(root.resolve("lib/chained.so"), chained.array());
        assertTrue(assertThrows(ElfLoader.InvalidElfException.class,
                () -> ElfLoader.load(dynamicProgram("/lib/chained.so").array(), memory, sysroot(root))).getMessage()
                .contains("itself names an interpreter"));
        assertEquals(-1, memory.protection(BASE), "nothing was mapped");
        assertEquals(-1, memory.protection(ElfLoader.INTERPRETER_BASE), "nothing was mapped");
    }

    @Test
    void ptInterpIsValidated() {
        assertTrue(error(b -> phdr(b, 2, 3, 0x20f0, 0, 0x100, 0x100, 4)).contains("bad PT_INTERP"), "past the end of the file");
        assertTrue(error(b -> {
            phdr(b, 2, 3, 0x1f00, 0, 4, 4, 4);
            b.put(0x1f00, "/abc".getBytes());
        }).contains("bad PT_INTERP"), "not NUL-terminated");
        assertTrue(error(b -> phdr(b, 2, 3, 0x1f00, 0, 1, 1, 4)).contains("bad PT_INTERP"), "empty");
        assertTrue(error(b -> phdr(b, 2, 3, 0x1f00, 0, 8192, 8192, 4)).contains("bad PT_INTERP"), "longer than PATH_MAX");
        assertTrue(error(b -> {
            phdr(b, 2, 3, 0x1f00, 0, 2, 2, 4);
            b.putShort(44, (short) 4);
            phdr(b, 3, 3, 0x1f00, 0, 2, 2, 4);
            b.put(0x1f00, (byte) 'a').put(0x1f01, (byte) 0);
        }).contains("more than one PT_INTERP"));
    }

    @Test
    void pieWithInterpreterGoesToTheKernelsBase(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("lib"));
        Files.write(root.resolve("lib/ld-test.so.1"), interpreter().array());
        ByteBuffer pie = dynamicProgram("/lib/ld-test.so.1");
        pie.putShort(16, (short) 3).putInt(24, 0x100);
        phdr(pie, 0, 1, 0, 0, 0x1000, 0x1000, 5);
        phdr(pie, 1, 1, 0x2000, 0x2000, 0x100, 0x3000, 6);
        ElfLoader.Image image = ElfLoader.load(pie.array(), memory, sysroot(root));
        assertEquals(ElfLoader.STATIC_PIE_BASE + 0x100, image.programEntry());
        assertEquals(ElfLoader.STATIC_PIE_BASE + 52, image.phdrAddress());
        assertEquals(ElfLoader.INTERPRETER_BASE + 0x100, image.entry());
    }
}
