package org.jqemu.hw.pci;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.jqemu.hw.core.PhysicalMemory;
import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.Page;

/**
 * Bus-master access to guest physical memory for devices that DMA (fw_cfg, and PCI bus masters later):
 * byte copies page by page through an {@link AddressSpace}, RAM directly and MMIO one byte at a time.
 * A transfer touching an unmapped page reports failure (the device sets its error status); writes to
 * pages that are not writable (ROM) are dropped as the bus drops them.
 */
public final class DmaMemory {
    private DmaMemory() { }

    /** Copies {@code len} bytes from guest {@code address} into {@code dst}; false if any page is unmapped. */
    public static boolean read(AddressSpace space, long address, byte[] dst, int off, int len) {
        return transfer(space, address, len, (page, at, inPage, done, n) -> {
            if (page.isRam()) {
                MemorySegment.copy(page.ram(), ValueLayout.JAVA_BYTE, inPage, dst, off + done, n);
            } else {
                for (int i = 0; i < n; i++) {
                    dst[off + done + i] = (byte) page.mmio().read(at + i - page.mmioBase(), 1);
                }
            }
        });
    }

    /** Copies {@code len} bytes of {@code src} to guest {@code address}; false if any page is unmapped. */
    public static boolean write(AddressSpace space, long address, byte[] src, int off, int len) {
        return transfer(space, address, len, (page, at, inPage, done, n) -> {
            if (!page.isRam()) {
                for (int i = 0; i < n; i++) {
                    page.mmio().write(at + i - page.mmioBase(), 1, src[off + done + i] & 0xff);
                }
            } else if ((page.prot() & Page.WRITE) != 0) {
                MemorySegment.copy(src, off + done, page.ram(), ValueLayout.JAVA_BYTE, inPage, n);
                if (space instanceof PhysicalMemory physical) {
                    physical.dmaWritten(at, n); // code translated from these bytes is stale now
                }
            }
        });
    }

    /** The part of a transfer inside one page: {@code n} bytes at guest {@code at}, {@code done} bytes into the buffer. */
    private interface Chunk {
        void copy(Page page, long at, int inPage, int done, int n);
    }

    /** Walks {@code [address, address + len)} page by page; false (and stops) at an unmapped page. */
    private static boolean transfer(AddressSpace space, long address, int len, Chunk chunk) {
        int done = 0;
        while (done < len) {
            long at = address + done;
            Page page = space.page(at);
            if (page == null) {
                return false;
            }
            int inPage = (int) (at & Page.OFFSET_MASK);
            int n = Math.min(len - done, Page.SIZE - inPage);
            chunk.copy(page, at, inPage, done, n);
            done += n;
        }
        return true;
    }
}
