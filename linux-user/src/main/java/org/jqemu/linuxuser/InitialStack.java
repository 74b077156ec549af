package org.jqemu.linuxuser;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.memory.Page;

/**
 * Builds the stack a new i386 process starts with, laid out as Linux's execve does (fs/exec.c and
 * create_elf_tables): from the top, a zero word, the executable's name (AT_EXECFN), the environment and
 * argument strings, the platform string, 16 random bytes; then, 16-byte aligned at ESP: argc, argv[],
 * NULL, envp[], NULL, auxv pairs ending with AT_NULL.
 *
 * <p>Placement: the stack's top is {@link ElfLoader#TASK_SIZE} (0xc0000000, the i386 kernel's end of user
 * space) and it is {@code size} bytes deep, 8 MiB by default like QEMU's {@code -s}. QEMU itself maps the
 * guest stack wherever its host mmap puts it; we choose the native kernel's place so that programs see
 * the addresses they would see on a real i386 machine (without address-space randomisation).
 */
public final class InitialStack {
    public static final long DEFAULT_SIZE = 8L << 20;
    public static final int AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
            AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14, AT_PLATFORM = 15,
            AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_EXECFN = 31;
    /** CPUID.1:EDX bits we advertise: FPU, TSC, CX8, CMOV (the P6 baseline Debian's i686 userland needs). */
    public static final int HWCAP = 1 | (1 << 4) | (1 << 8) | (1 << 15);
    public static final String PLATFORM = "i686";
    static final int CLOCK_TICKS = 100;

    /** Who runs the program, for AT_UID and friends. */
    public record Credentials(int uid, int euid, int gid, int egid) { }

    private InitialStack() { }

    /** Maps the stack and fills it; returns the initial ESP (pointing at argc). */
    public static long build(GuestMemory memory, ElfLoader.Image image, List<String> argv, List<String> envp,
                             String execFn, long size, byte[] random16, Credentials who) {
        long top = ElfLoader.TASK_SIZE;
        long bottom = top - GuestMemory.pageCeil(size);
        long needed = 4096; // headroom for the pointer tables and the auxiliary vector
        for (String s : argv) {
            needed += s.length() * 3L + 5; // UTF-8 worst case, NUL, pointer
        }
        for (String s : envp) {
            needed += s.length() * 3L + 5;
        }
        if (needed + execFn.length() * 3L > size / 4) {
            throw new IllegalArgumentException("Argument list too long for a " + size + "-byte stack (raise it with -s)");
        }
        memory.map(bottom, top - bottom, Page.READ | Page.WRITE | (image.executableStack() ? Page.EXEC : 0));
        long p = top - 4; // the kernel keeps the last word of the stack zero
        p = pushString(memory, p, execFn);
        long execFnAddress = p;
        long[] envAddresses = new long[envp.size()];
        for (int i = envp.size() - 1; i >= 0; i--) {
            p = pushString(memory, p, envp.get(i));
            envAddresses[i] = p;
        }
        long[] argAddresses = new long[argv.size()];
        for (int i = argv.size() - 1; i >= 0; i--) {
            p = pushString(memory, p, argv.get(i));
            argAddresses[i] = p;
        }
        p = pushString(memory, p, PLATFORM);
        long platformAddress = p;
        p -= 16;
        memory.write(p, random16);
        long randomAddress = p;

        List<long[]> auxv = new ArrayList<>();
        auxv.add(new long[] {AT_HWCAP, HWCAP & 0xffff_ffffL});
        auxv.add(new long[] {AT_PAGESZ, Page.SIZE});
        auxv.add(new long[] {AT_CLKTCK, CLOCK_TICKS});
        auxv.add(new long[] {AT_PHDR, image.phdrAddress()});
        auxv.add(new long[] {AT_PHENT, ElfLoader.PHDR_SIZE});
        auxv.add(new long[] {AT_PHNUM, image.phnum()});
        auxv.add(new long[] {AT_BASE, image.interpreterBase()}); // 0 without interpreter
        auxv.add(new long[] {AT_FLAGS, 0});
        auxv.add(new long[] {AT_ENTRY, image.programEntry()});
        auxv.add(new long[] {AT_UID, who.uid()});
        auxv.add(new long[] {AT_EUID, who.euid()});
        auxv.add(new long[] {AT_GID, who.gid()});
        auxv.add(new long[] {AT_EGID, who.egid()});
        auxv.add(new long[] {AT_SECURE, who.uid() != who.euid() || who.gid() != who.egid() ? 1 : 0});
        auxv.add(new long[] {AT_RANDOM, randomAddress});
        auxv.add(new long[] {AT_EXECFN, execFnAddress});
        auxv.add(new long[] {AT_PLATFORM, platformAddress});
        auxv.add(new long[] {AT_NULL, 0});

        long words = 1 + (argv.size() + 1) + (envp.size() + 1) + 2L * auxv.size();
        long sp = (p - 4 * words) & ~15L;
        long w = sp;
        memory.writeInt(w, argv.size());
        w += 4;
        for (long a : argAddresses) {
            memory.writeInt(w, (int) a);
            w += 4;
        }
        memory.writeInt(w, 0);
        w += 4;
        for (long e : envAddresses) {
            memory.writeInt(w, (int) e);
            w += 4;
        }
        memory.writeInt(w, 0);
        w += 4;
        for (long[] pair : auxv) {
            memory.writeInt(w, (int) pair[0]);
            memory.writeInt(w + 4, (int) pair[1]);
            w += 8;
        }
        return sp;
    }

    /**
     * The auxiliary vector of a stack {@link #build} just made, as /proc/self/auxv shows it: the (type, value)
     * pairs from the one after envp's NULL through AT_NULL, 4-byte words.
     */
    public static byte[] auxv(GuestMemory memory, long sp) {
        long p = sp + 4 + 4L * (memory.readInt(sp) + 1);
        while (memory.readInt(p) != 0) {
            p += 4;
        }
        long start = p + 4;
        long end = start;
        while (memory.readInt(end) != AT_NULL) {
            end += 8;
        }
        return memory.read(start, (int) (end + 8 - start));
    }

    private static long pushString(GuestMemory memory, long p, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        p -= bytes.length + 1;
        memory.write(p, bytes);
        memory.writeByte(p + bytes.length, (byte) 0);
        return p;
    }
}
