package org.jqemu.linuxuser;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.jqemu.target.i386.X86Cpu;

/**
 * modify_ldt(func, ptr, bytecount), as the i386 kernel documents it (modify_ldt(2)): the process's local
 * descriptor table, which the CPU keeps ({@link X86Cpu#setUserLdtEntry}). Func 0 copies the table out,
 * func 2 the (all-zero) default LDT, func 1 (old mode) and 0x11 write one {@code struct user_desc} entry.
 */
final class ModifyLdt {
    /** The i386 system call number. */
    static final int NR = 123;
    static final int READ = 0, WRITE_OLD = 1, READ_DEFAULT = 2, WRITE = 0x11;
    private static final int DESCRIPTOR_SIZE = 8, USER_DESC_SIZE = 16, MAX_ENTRIES = 8192;
    /** The i386 kernel's default LDT has 5 null entries. */
    private static final int DEFAULT_LDT_SIZE = 5 * DESCRIPTOR_SIZE;
    /** user_desc flags: contents (2 bits), seg_not_present; the "empty entry" pattern of LDT_empty. */
    private static final int CONTENTS_SHIFT = 1, CONTENTS_CONFORMING_CODE = 3, NOT_PRESENT = 0x20,
            USEABLE_AVL_BIT = 0x1000, EMPTY_FLAGS = 0x28, DEFINED_FLAGS = 0x7f;

    private ModifyLdt() {
    }

    static long call(X86Cpu cpu, GuestMemory memory, int func, long ptr, long bytecount) {
        return switch (func) {
            case READ -> read(cpu, memory, ptr, bytecount);
            case READ_DEFAULT -> zeroFill(memory, ptr, Math.min(bytecount, DEFAULT_LDT_SIZE));
            case WRITE_OLD -> write(cpu, memory, ptr, bytecount, true);
            case WRITE -> write(cpu, memory, ptr, bytecount, false);
            default -> -Errno.ENOSYS;
        };
    }

    /** Copies the LDT out, zero-filling up to {@code bytecount}; answers 0 when the process has no LDT. */
    private static long read(X86Cpu cpu, GuestMemory memory, long ptr, long bytecount) {
        int entries = cpu.userLdtEntries();
        if (entries == 0) {
            return 0;
        }
        int size = (int) Math.min(bytecount, (long) MAX_ENTRIES * DESCRIPTOR_SIZE);
        ByteBuffer table = ByteBuffer.allocate(Math.max(size, entries * DESCRIPTOR_SIZE)).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < entries; i++) {
            table.putLong(cpu.userLdtEntry(i));
        }
        memory.userWrite(ptr, table.array(), 0, size); // a partial last entry is copied as the kernel does
        return size;
    }

    private static long zeroFill(GuestMemory memory, long ptr, long size) {
        memory.userWrite(ptr, new byte[(int) size]);
        return size;
    }

    private static long write(X86Cpu cpu, GuestMemory memory, long ptr, long bytecount, boolean oldMode) {
        if (bytecount != USER_DESC_SIZE) {
            return -Errno.EINVAL;
        }
        int entry = memory.readInt(ptr);
        int base = memory.readInt(ptr + 4);
        int limit = memory.readInt(ptr + 8);
        int flags = memory.readInt(ptr + 12);
        if (Integer.compareUnsigned(entry, MAX_ENTRIES) >= 0) {
            return -Errno.EINVAL;
        }
        if (((flags >> CONTENTS_SHIFT) & 3) == CONTENTS_CONFORMING_CODE && (oldMode || (flags & NOT_PRESENT) == 0)) {
            return -Errno.EINVAL;
        }
        boolean empty = (oldMode && base == 0 && limit == 0)
                || (base == 0 && limit == 0 && (flags & DEFINED_FLAGS) == EMPTY_FLAGS);
        cpu.setUserLdtEntry(entry, empty ? 0 : descriptor(base, limit, flags, oldMode));
        return 0;
    }

    /** The 8-byte descriptor the kernel's fill_ldt builds (the old mode clears AVL). */
    static long descriptor(int base, int limit, int flags, boolean oldMode) {
        int access = Syscalls.accessBits(flags) & (oldMode ? ~USEABLE_AVL_BIT : -1);
        long b = base & 0xffff_ffffL;
        return (limit & 0xffffL) | ((b & 0xff_ffffL) << 16) | ((long) access << 40)
                | ((limit & 0xf_0000L) << 32) | ((b & 0xff00_0000L) << 32);
    }
}
