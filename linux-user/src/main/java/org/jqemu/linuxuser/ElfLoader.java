package org.jqemu.linuxuser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.memory.Page;

/**
 * Loads an i386 ELF executable into a {@link GuestMemory}: ET_EXEC, or ET_DYN (PIE), static or dynamically
 * linked. For a program with PT_INTERP the interpreter it names (looked up under the sysroot first, as
 * qemu-user's {@code -L} does) is loaded too, as an ET_DYN at the first free address from
 * {@link #INTERPRETER_BASE}, and execution starts at the interpreter's entry; the program's own entry goes
 * to AT_ENTRY and the interpreter's base to AT_BASE. Every header field the loader relies on is checked
 * first, in both files, so a malformed file gives one clear {@link InvalidElfException} and never a
 * half-loaded process.
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
    /** The kernel's limit on the PT_INTERP string (PATH_MAX, its NUL included). */
    static final int MAX_INTERP = 4096;
    /** Interpreters larger than this are refused (ld-linux.so.2 is about 200 KiB). */
    static final long MAX_INTERPRETER_FILE = 64L << 20;
    /** Where the kernel puts a 32-bit ET_DYN program (ELF_ET_DYN_BASE for ia32 tasks). */
    public static final long STATIC_PIE_BASE = 0x0040_0000L;
    /**
     * Where the interpreter goes: the first free range from here, like the kernel's bottom-up (legacy) mmap
     * layout whose base is TASK_UNMAPPED_BASE = TASK_SIZE / 3 on i386; the mmap system call starts there too.
     */
    public static final long INTERPRETER_BASE = 0x4000_0000L;
    /** User addresses end here on i386 with the usual 3 GiB/1 GiB split (TASK_SIZE). */
    public static final long TASK_SIZE = 0xc000_0000L;
    static final String WRONG_ARCH = "Invalid ELF image for this architecture";

    /** A bad executable; the message is what follows "jqemu-i386: program: ". */
    public static final class InvalidElfException extends Exception {
        public InvalidElfException(String message) { super(message, null, false, false); }
    }

    /**
     * Where the image landed: what the initial stack's auxiliary vector and the brk need. {@code entry} is
     * where the CPU starts (the interpreter's entry when there is one); {@code programEntry} is the
     * program's own (AT_ENTRY); {@code interpreterBase} is AT_BASE (0 without interpreter).
     */
    public record Image(long entry, long phdrAddress, int phnum, long loadBias, long brkStart,
                        boolean executableStack, long programEntry, long interpreterBase) {
        /** A program without interpreter: it starts at its own entry. */
        public Image(long entry, long phdrAddress, int phnum, long loadBias, long brkStart, boolean executableStack) {
            this(entry, phdrAddress, phnum, loadBias, brkStart, executableStack, entry, 0);
        }
    }

    private record Segment(long vaddr, long memsz, long offset, long filesz, int flags) { }

    /** A validated file: its type, entry, program headers and loadable segments (sorted, disjoint). */
    private record Parsed(int type, long entry, long phoff, int phnum, List<Segment> loads, boolean executableStack,
                          String interpreter) {
        long lowest() { return GuestMemory.pageFloor(loads.getFirst().vaddr); }

        long span() { return GuestMemory.pageCeil(loads.getLast().vaddr + loads.getLast().memsz) - lowest(); }
    }

    private ElfLoader() { }

    /** Loads a program without a sysroot (the interpreter, if any, is the host path it names). */
    public static Image load(byte[] file, GuestMemory memory) throws InvalidElfException {
        return load(file, memory, new ProcessImage(new PathResolver(null, "")));
    }

    /**
     * Loads the program and its interpreter, naming their regions in {@code process} (for /proc/self/maps);
     * the interpreter is looked up through {@code process.paths}.
     */
    static Image load(byte[] file, GuestMemory memory, ProcessImage process) throws InvalidElfException {
        Parsed program = parse(file);
        byte[] interpreterFile = null;
        Parsed interpreter = null;
        Path interpreterPath = null;
        if (program.interpreter != null) {
            interpreterPath = process.paths.interpreter(program.interpreter);
            interpreterFile = readInterpreter(program.interpreter, interpreterPath);
            interpreter = parse(interpreterFile);
            if (interpreter.interpreter != null) {
                throw new InvalidElfException("Invalid ELF image: the interpreter " + program.interpreter
                        + " itself names an interpreter");
            }
        }
        long bias = program.type == ET_DYN ? STATIC_PIE_BASE - program.lowest() : 0;
        checkPlacement(program, bias);
        long interpreterBias = 0;
        if (interpreter != null) {
            long base = interpreter.type == ET_DYN
                    ? freeRangeAvoiding(memory, interpreter.span(), program, bias) : interpreter.lowest();
            if (base < 0) {
                throw new InvalidElfException("Invalid ELF image: no room for the interpreter");
            }
            interpreterBias = base - interpreter.lowest();
            checkPlacement(interpreter, interpreterBias);
            long programStart = program.lowest() + bias;
            if (base < programStart + program.span() && programStart < base + interpreter.span()) {
                throw new InvalidElfException("Invalid ELF image: the interpreter " + program.interpreter + " overlaps the program");
            }
        }
        String programName = process.paths.executable();
        for (Segment s : program.loads) {
            mapSegment(memory, file, s, bias);
            process.name(GuestMemory.pageFloor(s.vaddr + bias), GuestMemory.pageCeil(s.vaddr + bias + s.filesz),
                    programName, GuestMemory.pageFloor(s.offset), -1);
        }
        if (interpreter != null) {
            for (Segment s : interpreter.loads) {
                mapSegment(memory, interpreterFile, s, interpreterBias);
                process.name(GuestMemory.pageFloor(s.vaddr + interpreterBias),
                        GuestMemory.pageCeil(s.vaddr + interpreterBias + s.filesz),
                        interpreterPath.toAbsolutePath().toString(), GuestMemory.pageFloor(s.offset), -1);
            }
        }
        long phdrAddress = phdrAddress(program.loads, program.phoff, (long) program.phnum * PHDR_SIZE);
        Segment last = program.loads.getLast();
        long brk = GuestMemory.pageCeil(last.vaddr + last.memsz + bias);
        long programEntry = program.entry + bias;
        long start = interpreter == null ? programEntry : interpreter.entry + interpreterBias;
        return new Image(start, phdrAddress == 0 ? 0 : phdrAddress + bias, program.phnum, bias, brk,
                program.executableStack, programEntry, interpreter == null ? 0 : interpreterBias + interpreter.lowest());
    }

    /** The first free range from INTERPRETER_BASE that also stays clear of the program (not mapped yet). */
    private static long freeRangeAvoiding(GuestMemory memory, long size, Parsed program, long bias) {
        long programStart = program.lowest() + bias;
        long programEnd = programStart + program.span();
        long hint = INTERPRETER_BASE;
        while (true) {
            long base = memory.findFree(hint, size, TASK_SIZE);
            if (base < 0 || base + size <= programStart || base >= programEnd) {
                return base;
            }
            hint = programEnd;
        }
    }

    private static byte[] readInterpreter(String named, Path path) throws InvalidElfException {
        try {
            if (Files.isDirectory(path)) {
                throw new InvalidElfException("Could not open '" + named + "': Is a directory");
            }
            if (Files.exists(path) && !Files.isRegularFile(path)) { // a device or FIFO would never end
                throw new InvalidElfException("Could not open '" + named + "': Permission denied");
            }
            if (Files.size(path) > MAX_INTERPRETER_FILE) {
                throw new InvalidElfException("Could not open '" + named + "': file too large");
            }
            return Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw new InvalidElfException("Could not open '" + named + "': No such file or directory");
        } catch (AccessDeniedException e) {
            throw new InvalidElfException("Could not open '" + named + "': Permission denied");
        } catch (IOException e) {
            throw new InvalidElfException("Could not open '" + named + "': " + e.getMessage());
        }
    }

    private static Parsed parse(byte[] file) throws InvalidElfException {
        ByteBuffer elf = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        checkHeader(elf);
        int type = elf.getShort(16) & 0xffff;
        long entry = u32(elf, 24);
        long phoff = u32(elf, 28);
        int phnum = elf.getShort(44) & 0xffff;
        List<Segment> loads = new ArrayList<>();
        boolean executableStack = true; // without PT_GNU_STACK the i386 kernel makes the stack executable
        String interpreter = null;
        for (int i = 0; i < phnum; i++) {
            int at = (int) (phoff + (long) i * PHDR_SIZE);
            int ptype = elf.getInt(at);
            Segment s = new Segment(u32(elf, at + 8), u32(elf, at + 20), u32(elf, at + 4), u32(elf, at + 16), elf.getInt(at + 24));
            if (ptype == PT_INTERP) {
                if (interpreter != null) {
                    throw new InvalidElfException("Invalid ELF image: more than one PT_INTERP");
                }
                interpreter = interpreter(file, s);
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
        if (!insideLoad(loads, entry, 1)) {
            throw new InvalidElfException("Invalid ELF image: entry point 0x" + Long.toHexString(entry) + " is outside the loaded segments");
        }
        return new Parsed(type, entry, phoff, phnum, loads, executableStack, interpreter);
    }

    private static void checkPlacement(Parsed p, long bias) throws InvalidElfException {
        Segment last = p.loads.getLast();
        if (last.vaddr + last.memsz + bias > TASK_SIZE || p.loads.getFirst().vaddr + bias < 0) {
            throw new InvalidElfException("Invalid ELF image: segments end above 0x" + Long.toHexString(TASK_SIZE));
        }
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
        // (not Comparator.comparingLong: the AOT cache does not keep the JDK's lambda inside it, which was spun again
        // at every start; it keeps this one)
        sorted.sort((a, b) -> Long.compare(a.vaddr(), b.vaddr()));
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

    /** The PT_INTERP string: within the file, NUL-terminated, not empty, at most PATH_MAX, an absolute path. */
    private static String interpreter(byte[] file, Segment s) throws InvalidElfException {
        if (s.filesz < 2 || s.filesz > MAX_INTERP || s.offset + s.filesz > file.length
                || file[(int) (s.offset + s.filesz - 1)] != 0) {
            throw new InvalidElfException("Invalid ELF image: bad PT_INTERP");
        }
        int length = 0;
        while (file[(int) s.offset + length] != 0) {
            length++;
        }
        if (length == 0) {
            throw new InvalidElfException("Invalid ELF image: bad PT_INTERP");
        }
        return new String(file, (int) s.offset, length, StandardCharsets.UTF_8);
    }

    private static long u32(ByteBuffer elf, int offset) {
        return elf.getInt(offset) & 0xffff_ffffL;
    }
}
