package org.jqemu.linuxuser;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

import org.jqemu.memory.Page;

/**
 * Loads a static i386 ELF executable (ET_EXEC, or ET_DYN without PT_INTERP: static PIE) into a
 * {@link GuestMemory}. Every header field the loader relies on is checked first, so a malformed file
 * gives one clear {@link InvalidElfException} and never a half-loaded process.
 */
public final class ElfLoader {
    static final int EHDR_SIZE = 52;
    static final int PHDR_SIZE = 32;
    static final int SHDR_SIZE = 40;
    static final int ET_EXEC = 2, ET_DYN = 3;
    static final int EM_386 = 3;
    static final int PT_LOAD = 1, PT_INTERP = 3, PT_PHDR = 6, PT_GNU_STACK = 0x6474e551;
    static final int PF_X = 1, PF_W = 2, PF_R = 4;
    /** The kernel refuses program header tables larger than this (ELF_MIN_ALIGN). */
    static final int MAX_PHDR_TABLE = 65536;
    /** Where the kernel puts a 32-bit ET_DYN without interpreter (ELF_ET_DYN_BASE for ia32 tasks). */
    public static final long STATIC_PIE_BASE = 0x0040_0000L;
    /** User addresses end here on i386 with the usual 3 GiB/1 GiB split (TASK_SIZE). */
    public static final long TASK_SIZE = 0xc000_0000L;
    static final String WRONG_ARCH = "Invalid ELF image for this architecture";

    /** A bad executable; the message is what follows "jqemu-i386: program: ". */
    public static final class InvalidElfException extends Exception {
        public InvalidElfException(String message) { super(message, null, false, false); }
    }

    /** Where the image landed: what the initial stack's auxiliary vector and the brk need. */
    public record Image(long entry, long phdrAddress, int phnum, long loadBias, long brkStart,
                        boolean executableStack) { }

    private record Segment(long vaddr, long memsz, long offset, long filesz, int flags) { }

    private ElfLoader() { }

    public static Image load(byte[] file, GuestMemory memory) throws InvalidElfException {
        ByteBuffer elf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        checkHeader(elf);
        int type = elf.getShort(16) & 0xffff;
        long entry = u32(elf, 24);
        long phoff = u32(elf, 28);
        int phnum = elf.getShort(44) & 0xffff;
        List<Segment> loads = new ArrayList<>();
        boolean executableStack = true; // without PT_GNU_STACK the i386 kernel makes the stack executable
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * PHDR_SIZE);
            int ptype = elf.getInt(at);
            Segment s = new Segment(u32(elf, at + 8), u32(elf, at + 20), u32(elf, at + 4), u32(elf, at + 16), elf.getInt(at + 24));
            if (ptype == PT_INTERP) {
                throw new InvalidElfException("dynamically linked programs are not supported yet (interpreter "
                        + interpreter(file, s) + "); link the program with -static");
            }
            if (ptype == PT_GNU_STACK) {
                executableStack = (s.flags & PF_X) != 0;
            }
            if (ptype == PT_LOAD) {
                checkSegment(file.length, s, u32(elf, at + 28));
                loads.add(s);
            }
        }
        if (loads.isEmpty()) {
            throw new InvalidElfException("Invalid ELF image: no PT_LOAD segment");
        }
        checkOrderAndOverlap(loads);
        long lowest = GuestMemory.pageFloor(loads.getFirst().vaddr);
        long bias = type == ET_DYN ? STATIC_PIE_BASE - lowest : 0;
        Segment last = loads.getLast();
        if (last.vaddr + last.memsz + bias > TASK_SIZE) {
            throw new InvalidElfException("Invalid ELF image: segments end above 0x" + Long.toHexString(TASK_SIZE));
        }
        if (entry + bias >= TASK_SIZE || !insideLoad(loads, entry, 1)) {
            throw new InvalidElfException("Invalid ELF image: entry point 0x" + Long.toHexString(entry) + " is outside the loaded segments");
        }
        for (Segment s : loads) {
            mapSegment(memory, file, s, bias);
        }
        long phdrAddress = phdrAddress(loads, phoff, (long) phnum * PHDR_SIZE);
        long brk = GuestMemory.pageCeil(last.vaddr + last.memsz + bias);
        return new Image(entry + bias, phdrAddress == 0 ? 0 : phdrAddress + bias, phnum, bias, brk, executableStack);
    }

    private static void checkHeader(ByteBuffer elf) throws InvalidElfException {
        int size = elf.capacity();
        if (size < EHDR_SIZE || elf.getInt(0) != 0x464c457f || elf.get(4) != 1 || elf.get(5) != 1 || elf.get(6) != 1) {
            throw new InvalidElfException(WRONG_ARCH);
        }
        int type = elf.getShort(16) & 0xffff;
        if ((type != ET_EXEC && type != ET_DYN) || (elf.getShort(18) & 0xffff) != EM_386 || elf.getInt(20) != 1) {
            throw new InvalidElfException(WRONG_ARCH);
        }
        int phentsize = elf.getShort(42) & 0xffff;
        int shentsize = elf.getShort(46) & 0xffff;
        int shnum = elf.getShort(48) & 0xffff;
        if ((elf.getShort(40) & 0xffff) < EHDR_SIZE || phentsize != PHDR_SIZE || (shnum != 0 && shentsize != SHDR_SIZE)) {
            throw new InvalidElfException(WRONG_ARCH);
        }
        long phoff = u32(elf, 28);
        int phnum = elf.getShort(44) & 0xffff;
        long tableSize = (long) phnum * PHDR_SIZE;
        if (phnum == 0 || tableSize > MAX_PHDR_TABLE) {
            throw new InvalidElfException("Invalid ELF image: bad program header count " + phnum);
        }
        if (phoff + tableSize > size) {
            throw new InvalidElfException("Invalid ELF image: program headers lie outside the file");
        }
    }

    private static void checkSegment(long fileSize, Segment s, long align) throws InvalidElfException {
        String where = "PT_LOAD at 0x" + Long.toHexString(s.vaddr);
        if (s.filesz > s.memsz) {
            throw new InvalidElfException("Invalid ELF image: " + where + " has a file size larger than its memory size");
        }
        if (s.offset + s.filesz > fileSize) {
            throw new InvalidElfException("Invalid ELF image: " + where + " extends past the end of the file");
        }
        if (s.vaddr + s.memsz > GuestMemory.ADDRESS_LIMIT) {
            throw new InvalidElfException("Invalid ELF image: " + where + " wraps around the address space");
        }
        if (align > 1 && (Long.bitCount(align) != 1 || ((s.vaddr - s.offset) & (align - 1)) != 0)) {
            throw new InvalidElfException("Invalid ELF image: " + where + " has an alignment its address and offset do not respect");
        }
        if (((s.vaddr - s.offset) & Page.OFFSET_MASK) != 0) {
            throw new InvalidElfException("Invalid ELF image: " + where + " has address and file offset in different page positions");
        }
    }

    /** The ELF specification wants PT_LOAD entries sorted by address; byte ranges must not overlap. */
    private static void checkOrderAndOverlap(List<Segment> loads) throws InvalidElfException {
        List<Segment> sorted = new ArrayList<>(loads);
        sorted.sort(Comparator.comparingLong(Segment::vaddr));
        if (!sorted.equals(loads)) {
            throw new InvalidElfException("Invalid ELF image: PT_LOAD segments are not sorted by address");
        }
        for (int i = 1; i < loads.size(); i++) {
            Segment previous = loads.get(i - 1);
            if (previous.vaddr + previous.memsz > loads.get(i).vaddr) {
                throw new InvalidElfException("Invalid ELF image: PT_LOAD segments at 0x" + Long.toHexString(previous.vaddr)
                        + " and 0x" + Long.toHexString(loads.get(i).vaddr) + " overlap");
            }
        }
    }

    private static boolean insideLoad(List<Segment> loads, long address, long length) {
        for (Segment s : loads) {
            if (address >= s.vaddr && address + length <= s.vaddr + s.memsz) {
                return true;
            }
        }
        return false;
    }

    /** Pages shared by two segments get the union of their protections, as the kernel's overlapping mmaps allow. */
    private static void mapSegment(GuestMemory memory, byte[] file, Segment s, long bias) {
        long start = GuestMemory.pageFloor(s.vaddr + bias);
        long end = GuestMemory.pageCeil(s.vaddr + bias + s.memsz);
        int prot = protection(s.flags);
        for (long page = start; page < end; page += Page.SIZE) {
            int existing = memory.protection(page);
            if (existing < 0) {
                memory.map(page, Page.SIZE, prot);
            } else {
                memory.protect(page, Page.SIZE, existing | prot);
            }
        }
        memory.write(s.vaddr + bias, file, (int) s.offset, (int) s.filesz);
    }

    static int protection(int flags) {
        return ((flags & PF_R) != 0 ? Page.READ : 0) | ((flags & PF_W) != 0 ? Page.WRITE : 0) | ((flags & PF_X) != 0 ? Page.EXEC : 0);
    }

    /** The program headers' address in memory (for AT_PHDR): inside the PT_LOAD whose file range holds them. */
    private static long phdrAddress(List<Segment> loads, long phoff, long tableSize) {
        for (Segment s : loads) {
            if (phoff >= s.offset && phoff + tableSize <= s.offset + s.filesz) {
                return s.vaddr + (phoff - s.offset);
            }
        }
        return 0;
    }

    private static String interpreter(byte[] file, Segment s) throws InvalidElfException {
        if (s.filesz == 0 || s.filesz > 4096 || s.offset + s.filesz > file.length) {
            throw new InvalidElfException("Invalid ELF image: bad PT_INTERP");
        }
        int length = (int) s.filesz;
        while (length > 0 && file[(int) s.offset + length - 1] == 0) {
            length--;
        }
        return new String(file, (int) s.offset, length, StandardCharsets.UTF_8);
    }

    private static long u32(ByteBuffer elf, int offset) {
        return elf.getInt(offset) & 0xffff_ffffL;
    }
}
