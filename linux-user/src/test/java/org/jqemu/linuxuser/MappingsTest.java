package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jqemu.target.i386.oracle.HostSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * File-backed mmap (private copies, shared write-back on msync and munmap), mremap, madvise and the /proc/self
 * views, from static guest programs: compared with qemu-i386 where both must agree, and with facts the test
 * reads from the ELF file itself for the layout only jqemu decides.
 */
class MappingsTest {
    private static final List<String> ENV = List.of("LC_ALL=C");
    @TempDir
    static Path dir;
    private static Path mappings, procSelf;

    @BeforeAll
    static void build() throws Exception {
        assumeTrue(HostSupport.has("gcc") && HostSupport.has("qemu-i386"), "needs gcc-multilib and qemu-user");
        mappings = GuestRun.compile("mappings", dir);
        procSelf = GuestRun.compile("procself", dir);
    }

    @Test
    void fileMappingsRemapAndMadviseMatchQemu() throws Exception {
        List<String> argv = List.of(mappings.toString(), dir.resolve("mapped.dat").toString());
        GuestRun.Outcome expected = GuestRun.qemu(null, argv, ENV, null);
        assertTrue(expected.stdout().contains("after munmap the file has: UNMAPPED"), expected.stdout());
        assertEquals(expected, GuestRun.jqemu(null, argv, ENV, null));
    }

    /**
     * -strace of the memory calls QEMU decodes (mmap2's PROT_ and MAP_ names, mprotect, munmap, madvise) against
     * qemu-i386 -strace; addresses differ between the two layouts and are masked.
     */
    @Test
    void straceOfMemoryCallsMatchesQemu() throws Exception {
        List<String> argv = List.of(mappings.toString(), dir.resolve("traced.dat").toString());
        String expected = memoryLines(GuestRun.qemuWith(List.of("-strace"), argv, ENV, null).stderr());
        assertTrue(expected.contains("MAP_SHARED") && expected.contains("madvise("), expected);
        assertEquals(expected, memoryLines(GuestRun.jqemu(null, true, argv, ENV, null).stderr()));
    }

    private static String memoryLines(String strace) {
        return String.join("\n", strace.lines().map(l -> l.replaceFirst("^\\d+ ", ""))
                .filter(l -> l.matches("(mmap2|mprotect|munmap|madvise)\\(.*"))
                .map(l -> l.replaceAll("0x[0-9a-f]{8}", "ADDRESS").replaceAll("errno=(\\d+).*", "errno=$1"))
                .toList());
    }

    @Test
    void sharedMappingReachesTheFileAtExit() throws Exception {
        Path file = dir.resolve("at-exit.dat");
        List<String> argv = List.of(mappings.toString(), file.toString(), "exit");
        GuestRun.Outcome expected = GuestRun.qemu(null, argv, ENV, null);
        byte[] written = Files.readAllBytes(file);
        Files.delete(file);
        assertEquals(expected, GuestRun.jqemu(null, argv, ENV, null));
        assertEquals(new String(written), new String(Files.readAllBytes(file)));
        assertTrue(new String(written).startsWith("written before exit"), "the oracle's file");
    }

    @Test
    void procSelfExeAndCmdlineMatchQemu() throws Exception {
        List<String> argv = List.of(procSelf.toString(), "exe", "two words");
        GuestRun.Outcome expected = GuestRun.qemu(null, argv, ENV, null);
        assertTrue(expected.stdout().contains("exe=" + procSelf), expected.stdout());
        assertEquals(expected, GuestRun.jqemu(null, argv, ENV, null));
    }

    /** The maps line holding main must be the program's text, executable, named by its path; the stack is there too. */
    @Test
    void procSelfMapsDescribesTheGuest() throws Exception {
        GuestRun.Outcome run = GuestRun.jqemu(null, List.of(procSelf.toString(), "maps"), ENV, null);
        assertEquals(0, run.status(), run.stderr());
        String[] lines = run.stdout().split("\n");
        long main = Long.parseLong(lines[0].substring("main=".length()), 16);
        String line = lines[1];
        assertTrue(line.startsWith("line="), run.stdout());
        String[] f = line.substring(5).trim().split("\\s+");
        long start = Long.parseLong(f[0].split("-")[0], 16);
        long end = Long.parseLong(f[0].split("-")[1], 16);
        assertTrue(start <= main && main < end, line);
        assertEquals("r-xp", f[1]);
        assertEquals(procSelf.toString(), f[5]);
        long textOffset = ElfFacts.executableSegmentOffset(Files.readAllBytes(procSelf));
        assertEquals(textOffset & ~0xfffL, Long.parseLong(f[2], 16), "the file offset of the text segment, from its program header");
        assertTrue(run.stdout().contains("[stack]"), run.stdout());
    }

    /** AT_ENTRY, AT_PHNUM and AT_PAGESZ in /proc/self/auxv are what the ELF header says (read by the test). */
    @Test
    void procSelfAuxvHoldsTheElfFacts() throws Exception {
        GuestRun.Outcome run = GuestRun.jqemu(null, List.of(procSelf.toString(), "auxv"), ENV, null);
        assertEquals(0, run.status(), run.stderr());
        byte[] elf = Files.readAllBytes(procSelf);
        long entry = java.nio.ByteBuffer.wrap(elf).order(java.nio.ByteOrder.LITTLE_ENDIAN).getInt(24) & 0xffff_ffffL;
        int phnum = java.nio.ByteBuffer.wrap(elf).order(java.nio.ByteOrder.LITTLE_ENDIAN).getShort(44);
        assertTrue(run.stdout().contains("9=" + Long.toHexString(entry) + "\n"), run.stdout());
        assertTrue(run.stdout().contains("5=" + Integer.toHexString(phnum) + "\n"), run.stdout());
        assertTrue(run.stdout().contains("6=1000\n"), run.stdout());
        assertTrue(run.stdout().contains("getauxval(AT_ENTRY) agrees\n"), run.stdout());
    }

    /** Program headers read straight from the file: the test's own oracle for where the loader put things. */
    static final class ElfFacts {
        private ElfFacts() { }

        static long executableSegmentOffset(byte[] elf) {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(elf).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            int phoff = b.getInt(28);
            for (int i = 0; i < b.getShort(44); i++) {
                int at = phoff + 32 * i;
                if (b.getInt(at) == 1 && (b.getInt(at + 24) & 1) != 0) {
                    return b.getInt(at + 4) & 0xffff_ffffL;
                }
            }
            throw new IllegalStateException("no executable PT_LOAD");
        }
    }
}
