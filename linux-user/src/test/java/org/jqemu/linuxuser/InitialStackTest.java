package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jqemu.memory.Page;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The initial stack read back as a C runtime reads it (the i386 System V ABI, Linux's create_elf_tables). */
class InitialStackTest {
    private final GuestMemory memory = new GuestMemory();

    @AfterEach
    void close() { memory.close(); }

    @Test
    void argvEnvpAndAuxvReadBack() throws Exception {
        ElfLoader.Image image = ElfLoader.load(ElfLoaderTest.valid().array(), memory);
        byte[] random = new byte[16];
        for (int i = 0; i < 16; i++) {
            random[i] = (byte) (0xa0 + i);
        }
        List<String> argv = List.of("/bin/prog", "one", "");
        List<String> envp = List.of("A=1", "PATH=/bin");
        long sp = InitialStack.build(memory, image, argv, envp, "prog", InitialStack.DEFAULT_SIZE, random,
                new InitialStack.Credentials(1000, 1001, 100, 101));

        assertEquals(0, sp % 16, "ESP is 16-byte aligned at entry");
        assertTrue(sp < ElfLoader.TASK_SIZE && sp > ElfLoader.TASK_SIZE - InitialStack.DEFAULT_SIZE);
        assertEquals(Page.READ | Page.WRITE, memory.protection(ElfLoader.TASK_SIZE - InitialStack.DEFAULT_SIZE),
                "8 MiB stack below 0xc0000000, not executable with PT_GNU_STACK RW");
        assertEquals(-1, memory.protection(ElfLoader.TASK_SIZE - InitialStack.DEFAULT_SIZE - Page.SIZE));

        assertEquals(3, memory.readInt(sp));
        long p = sp + 4;
        for (String arg : argv) {
            assertEquals(arg, memory.readCString(memory.readInt(p) & 0xffff_ffffL, 4096));
            p += 4;
        }
        assertEquals(0, memory.readInt(p));
        p += 4;
        for (String e : envp) {
            assertEquals(e, memory.readCString(memory.readInt(p) & 0xffff_ffffL, 4096));
            p += 4;
        }
        assertEquals(0, memory.readInt(p));
        p += 4;
        Map<Integer, Long> aux = new HashMap<>();
        while (true) {
            int type = memory.readInt(p);
            long value = memory.readInt(p + 4) & 0xffff_ffffL;
            p += 8;
            if (type == InitialStack.AT_NULL) {
                break;
            }
            aux.put(type, value);
        }
        assertEquals(image.phdrAddress(), aux.get(InitialStack.AT_PHDR));
        assertEquals(32L, aux.get(InitialStack.AT_PHENT));
        assertEquals(3L, aux.get(InitialStack.AT_PHNUM));
        assertEquals(4096L, aux.get(InitialStack.AT_PAGESZ));
        assertEquals(0L, aux.get(InitialStack.AT_BASE));
        assertEquals(image.entry(), aux.get(InitialStack.AT_ENTRY));
        assertEquals(1000L, aux.get(InitialStack.AT_UID));
        assertEquals(1001L, aux.get(InitialStack.AT_EUID));
        assertEquals(100L, aux.get(InitialStack.AT_GID));
        assertEquals(101L, aux.get(InitialStack.AT_EGID));
        assertEquals(1L, aux.get(InitialStack.AT_SECURE), "uid != euid: secure mode");
        assertEquals(100L, aux.get(InitialStack.AT_CLKTCK));
        assertTrue(aux.containsKey(InitialStack.AT_HWCAP));
        assertEquals("i686", memory.readCString(aux.get(InitialStack.AT_PLATFORM), 16));
        assertEquals("prog", memory.readCString(aux.get(InitialStack.AT_EXECFN), 16));
        assertArrayEquals(random, memory.read(aux.get(InitialStack.AT_RANDOM), 16));
        assertEquals(0, memory.readInt(ElfLoader.TASK_SIZE - 4), "the top word stays zero");
    }

    @Test
    void argumentsLargerThanAQuarterOfTheStackAreRefused() throws Exception {
        ElfLoader.Image image = ElfLoader.load(ElfLoaderTest.valid().array(), memory);
        String big = "x".repeat(10000);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> InitialStack.build(memory, image,
                List.of("p", big), List.of(), "p", 65536, new byte[16], new InitialStack.Credentials(0, 0, 0, 0)),
                "Linux limits arguments and environment to a quarter of the stack (E2BIG)");
    }

    @Test
    void stackSizeFollowsTheOption() throws Exception {
        ElfLoader.Image image = ElfLoader.load(ElfLoaderTest.valid().array(), memory);
        InitialStack.build(memory, image, List.of("p"), List.of(), "p", 65536, new byte[16],
                new InitialStack.Credentials(0, 0, 0, 0));
        assertEquals(Page.READ | Page.WRITE, memory.protection(ElfLoader.TASK_SIZE - 65536));
        assertEquals(-1, memory.protection(ElfLoader.TASK_SIZE - 65536 - Page.SIZE));
    }
}
