package org.jqemu.target.i386.oracle;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.Map;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;

/**
 * A static ELF32 program's memory for {@link Runner.Cpu}: the PT_LOAD segments (file bytes, zero-filled to their
 * size, protection from their flags) and a stack below {@link #STACK_TOP}, as pages allocated on demand. Only
 * what the oracle's hand-made ELF headers use is accepted; anything else is an IOException.
 */
final class UserImage implements AddressSpace {
    static final long STACK_TOP = 0xc000_0000L;
    private static final long STACK_SIZE = 64 * 1024;
    private static final int PT_LOAD = 1, PF_X = 1, PF_W = 2, PF_R = 4, PHDR_SIZE = 32;

    private final Map<Long, Page> pages = new HashMap<>();
    private final Arena arena = Arena.ofAuto();
    private final long entry;

    private UserImage(long entry) {
        this.entry = entry;
    }

    static UserImage load(byte[] elf) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        if (elf.length < 52 || b.getInt(0) != 0x464c_457f || elf[4] != 1 || b.getShort(18) != 3) {
            throw new IOException("not an ELF32 i386 executable");
        }
        UserImage image = new UserImage(b.getInt(24) & 0xffff_ffffL);
        int phoff = b.getInt(28);
        int count = b.getShort(44) & 0xffff;
        for (int i = 0; i < count; i++) {
            int at = phoff + i * PHDR_SIZE;
            if (at < 0 || at + PHDR_SIZE > elf.length) {
                throw new IOException("program header " + i + " outside the file");
            }
            if (b.getInt(at) != PT_LOAD) {
                continue;
            }
            int offset = b.getInt(at + 4);
            long vaddr = b.getInt(at + 8) & 0xffff_ffffL;
            int fileSize = b.getInt(at + 16);
            long memSize = b.getInt(at + 20) & 0xffff_ffffL;
            int flags = b.getInt(at + 24);
            if (offset < 0 || fileSize < 0 || (long) offset + fileSize > elf.length || fileSize > memSize) {
                throw new IOException("segment " + i + " outside the file");
            }
            int prot = ((flags & PF_R) != 0 ? Page.READ : 0) | ((flags & PF_W) != 0 ? Page.WRITE : 0)
                    | ((flags & PF_X) != 0 ? Page.EXEC : 0);
            image.map(vaddr, memSize, prot);
            image.write(vaddr, elf, offset, fileSize);
        }
        image.map(STACK_TOP - STACK_SIZE, STACK_SIZE, Page.READ | Page.WRITE);
        return image;
    }

    long entry() { return entry; }

    private void map(long start, long size, int prot) {
        for (long page = start >>> Page.SHIFT; page <= (start + size - 1) >>> Page.SHIFT; page++) {
            MemorySegment ram = pages.containsKey(page) ? pages.get(page).ram() : arena.allocate(Page.SIZE, Page.SIZE);
            pages.put(page, Page.ram(ram, prot));
        }
    }

    private void write(long address, byte[] src, int offset, int length) {
        for (int i = 0; i < length; i++) {
            long a = address + i;
            pages.get(a >>> Page.SHIFT).ram().set(ValueLayout.JAVA_BYTE, a & Page.OFFSET_MASK, src[offset + i]);
        }
    }

    /** {@code length} bytes from {@code address} (unmapped bytes read as zero, as the oracle never writes those). */
    byte[] read(long address, int length) {
        byte[] out = new byte[Math.max(0, length)];
        for (int i = 0; i < out.length; i++) {
            Page p = page(address + i);
            out[i] = p == null ? 0 : p.ram().get(ValueLayout.JAVA_BYTE, (address + i) & Page.OFFSET_MASK);
        }
        return out;
    }

    @Override
    public Page page(long address) { return pages.get((address & 0xffff_ffffL) >>> Page.SHIFT); }
}
