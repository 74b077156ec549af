package org.jqemu.hw.core;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.jqemu.memory.AddressSpace;
import org.jqemu.memory.HostMemory;
import org.jqemu.memory.Mmio;
import org.jqemu.memory.Page;

/**
 * A PC's physical address space: guest RAM (one host allocation made once, so an accelerator can later
 * hand the same memory to KVM; an anonymous mapping, zeroed lazily by the host and released by the GC once
 * the machine is unreachable) split into a part below the PCI hole and a part from 4 GiB up, ROM images,
 * device MMIO regions, the legacy VGA window 0xa0000-0xbffff (unassigned unless a device maps it), and
 * the PAM-decoded window 0xc0000-0xfffff that the chipset switches between DRAM
 * and the ROM side. Addresses nothing claims are unassigned: the CPU reads all ones there and writes are
 * dropped (a null {@link Page}).
 *
 * <p>Lookups below 4 GiB are cached per 4 KiB page; every change of the map clears the changed pages' entries and calls the
 * {@link #onMapChange} hook, which the machine points at the CPUs' TLB flush. ROM pages are RAM slices of a
 * separate host segment marked READ|EXEC (no WRITE).
 */
public final class PhysicalMemory implements AddressSpace {
    private static final long FOUR_GIB = 1L << 32;
    private static final int LOW_PAGES = (int) (FOUR_GIB >>> Page.SHIFT);
    private static final long PAM_START = 0xc0000;
    private static final long PAM_END = 0x100000;
    private static final long VGA_WINDOW = 0xa0000;
    private static final long VGA_WINDOW_END = 0xc0000;
    private static final int PAM_PAGES = (int) ((PAM_END - PAM_START) >>> Page.SHIFT);
    private static final Page UNASSIGNED = Page.mmio(new Mmio() {
        @Override public long read(long offset, int size) { return -1L; }
        @Override public void write(long offset, int size, long value) { }
    }, 0);
    private static final int READ_EXEC = Page.READ | Page.EXEC;

    /** Where PAM sends reads and writes of one page of 0xc0000-0xfffff. */
    public enum PamMode {
        /** Reads and writes go to the ROM side (power-on state). */
        ROM,
        /** Reads from DRAM, writes to the ROM side (dropped): shadowed BIOS, write-protected. */
        READ_DRAM,
        /** Reads from the ROM side, writes to DRAM: how a BIOS copies itself into shadow RAM. */
        WRITE_DRAM,
        /** Reads and writes reach DRAM. */
        DRAM
    }

    private record Region(long base, long size, Page[] pages, String name) {
        boolean contains(long address) { return address >= base && address - base < size; }
        boolean overlaps(long b, long s) { return b < base + size && base < b + s; }
    }

    private final MemorySegment ram;
    private final long lowSize;
    private final long highSize;
    private final Page[] cache = new Page[LOW_PAGES];
    private final List<Region> regions = new ArrayList<>();
    /** The ROM side of the PAM window (the BIOS alias, option ROMs): consulted when PAM says ROM. */
    private final List<Region> romSide = new ArrayList<>();
    private final PamMode[] pam = new PamMode[PAM_PAGES];
    private Runnable onMapChange = () -> { };
    private DmaWriteHook onDmaWrite = (address, length) -> { };

    /** Told of every device DMA write into RAM (the translator drops blocks translated from those bytes). */
    @FunctionalInterface
    public interface DmaWriteHook {
        void written(long address, long length);
    }

    /**
     * @param ramSize -m in bytes (a multiple of 4 KiB)
     * @param lowSize how much of it is mapped from 0 (the rest is mapped from 4 GiB)
     */
    public PhysicalMemory(long ramSize, long lowSize) {
        if (ramSize <= 0 || (ramSize & Page.OFFSET_MASK) != 0 || lowSize > ramSize || lowSize > FOUR_GIB
                || (lowSize & Page.OFFSET_MASK) != 0) {
            throw new IllegalArgumentException("RAM size " + ramSize + " with " + lowSize + " below 4 GiB is not page aligned or too large");
        }
        this.ram = HostMemory.allocateZeroed(ramSize); // zero pages come from the host as the guest touches them
        this.lowSize = lowSize;
        this.highSize = ramSize - lowSize;
        Arrays.fill(pam, PamMode.DRAM);
    }

    /** The whole of guest RAM as one host segment (offset 0 = physical 0; the part above 4 GiB follows). */
    public MemorySegment ram() { return ram; }

    public long lowRamSize() { return lowSize; }

    public long highRamSize() { return highSize; }

    /** Called after every change of the map (the machine flushes the CPUs' TLBs). */
    public void onMapChange(Runnable hook) { onMapChange = hook == null ? () -> { } : hook; }

    /** Called after every DMA write into RAM (see {@link org.jqemu.hw.pci.DmaMemory}). */
    public void onDmaWrite(DmaWriteHook hook) { onDmaWrite = hook == null ? (address, length) -> { } : hook; }

    /** A device wrote {@code length} bytes of RAM at physical {@code address} (not through a CPU). */
    public void dmaWritten(long address, long length) { onDmaWrite.written(address, length); }

    /** Maps a device's registers at [base, base + size); page aligned, must not overlap another region. */
    public void addMmio(long base, long size, Mmio mmio, String name) {
        Page page = Page.mmio(mmio, base);
        Page[] pages = new Page[pageCount(size)];
        Arrays.fill(pages, page);
        addRegion(regions, new Region(base, size, pages, name));
    }

    /** Maps a read-only image at {@code base} (its size rounded up to pages, padded with zeros). */
    public void addRom(long base, byte[] image, String name) {
        addRegion(regions, romRegion(base, image, name));
    }

    /** Puts a ROM on the ROM side of the PAM window (used while PAM selects ROM for its pages). */
    public void addPamRom(long base, byte[] image, String name) {
        if (base < PAM_START || base + image.length > PAM_END) {
            throw new IllegalArgumentException(name + " is outside the PAM window 0xc0000-0xfffff");
        }
        addRegion(romSide, romRegion(base, image, name));
    }

    private Region romRegion(long base, byte[] image, String name) {
        int count = pageCount(image.length);
        MemorySegment rom = Arena.ofAuto().allocate((long) count * Page.SIZE, Page.SIZE);
        MemorySegment.copy(image, 0, rom, ValueLayout.JAVA_BYTE, 0, image.length);
        Page[] pages = new Page[count];
        for (int i = 0; i < count; i++) {
            pages[i] = Page.ram(rom.asSlice((long) i * Page.SIZE, Page.SIZE), READ_EXEC);
        }
        return new Region(base, (long) count * Page.SIZE, pages, name);
    }

    private static int pageCount(long size) {
        if (size <= 0 || size > FOUR_GIB) {
            throw new IllegalArgumentException("bad region size " + size);
        }
        return (int) ((size + Page.OFFSET_MASK) >>> Page.SHIFT);
    }

    private void addRegion(List<Region> list, Region region) {
        if ((region.base() & Page.OFFSET_MASK) != 0 || region.base() + region.size() > FOUR_GIB) {
            throw new IllegalArgumentException(region.name() + ": base 0x" + Long.toHexString(region.base())
                    + " is not page aligned or the region passes 4 GiB");
        }
        for (Region other : list) {
            if (other.overlaps(region.base(), region.size())) {
                throw new IllegalArgumentException(region.name() + " overlaps " + other.name());
            }
        }
        list.add(region);
        changed(region.base(), region.size());
    }

    /** Sets how PAM decodes [base, base + size) inside 0xc0000-0xfffff. */
    public void setPam(long base, long size, PamMode mode) {
        if (base < PAM_START || base + size > PAM_END || ((base | size) & Page.OFFSET_MASK) != 0) {
            throw new IllegalArgumentException("PAM range 0x" + Long.toHexString(base) + "+0x" + Long.toHexString(size));
        }
        for (long a = base; a < base + size; a += Page.SIZE) {
            pam[(int) ((a - PAM_START) >>> Page.SHIFT)] = mode;
        }
        changed(base, size);
    }

    public PamMode pam(long address) {
        return pam[(int) ((address - PAM_START) >>> Page.SHIFT)];
    }

    /**
     * [base, base + size) maps differently now: only those pages' cached lookups go (a page's lookup depends on
     * nothing outside it; clearing all 1 M entries cost ~5 ms a time, 25 times per boot's start-up).
     */
    private void changed(long base, long size) {
        Arrays.fill(cache, (int) (base >>> Page.SHIFT), (int) ((base + size + Page.OFFSET_MASK) >>> Page.SHIFT), null);
        onMapChange.run();
    }

    @Override
    public Page page(long address) {
        if (address >>> 32 != 0) {
            long offset = address - FOUR_GIB;
            return offset >= 0 && offset < highSize ? ramPage(lowSize + (offset & ~Page.OFFSET_MASK)) : null;
        }
        int index = (int) (address >>> Page.SHIFT);
        Page p = cache[index];
        if (p == null) {
            p = resolve(address & ~Page.OFFSET_MASK);
            cache[index] = p;
        }
        return p == UNASSIGNED ? null : p;
    }

    private Page ramPage(long offset) {
        return Page.ram(ram.asSlice(offset, Page.SIZE), Page.RWX);
    }

    private Page resolve(long pageAddress) {
        Page region = find(regions, pageAddress);
        if (region != null) {
            return region;
        }
        if (pageAddress >= VGA_WINDOW && pageAddress < VGA_WINDOW_END) {
            return UNASSIGNED;
        }
        if (pageAddress >= PAM_START && pageAddress < PAM_END && pageAddress < lowSize) {
            return pamPage(pageAddress);
        }
        return pageAddress < lowSize ? ramPage(pageAddress) : UNASSIGNED;
    }

    private static Page find(List<Region> list, long address) {
        for (Region r : list) {
            if (r.contains(address)) {
                return r.pages()[(int) ((address - r.base()) >>> Page.SHIFT)];
            }
        }
        return null;
    }

    private Page pamPage(long pageAddress) {
        Page rom = find(romSide, pageAddress);
        return switch (pam(pageAddress)) {
            case DRAM -> ramPage(pageAddress);
            case READ_DRAM -> Page.ram(ram.asSlice(pageAddress, Page.SIZE), READ_EXEC);
            case ROM -> rom == null ? UNASSIGNED : rom;
            case WRITE_DRAM -> Page.mmio(new ShadowWrite(rom, ram.asSlice(pageAddress, Page.SIZE)), pageAddress);
        };
    }

    /** PAM "write DRAM, read ROM": reads come from the ROM page (or all ones), writes land in RAM. */
    private record ShadowWrite(Page rom, MemorySegment dram) implements Mmio {
        @Override
        public long read(long offset, int size) {
            if (rom == null) {
                return -1L;
            }
            long v = 0;
            for (int i = 0; i < size; i++) {
                v |= (rom.ram().get(ValueLayout.JAVA_BYTE, offset + i) & 0xffL) << (8 * i);
            }
            return v;
        }

        @Override
        public void write(long offset, int size, long value) {
            for (int i = 0; i < size; i++) {
                dram.set(ValueLayout.JAVA_BYTE, offset + i, (byte) (value >>> (8 * i)));
            }
        }
    }

    // ---- host-side access (loaders, firmware tables) ----

    /** Copies {@code data} into RAM at physical {@code address} (RAM only; throws if it is not all RAM). */
    public void writeRam(long address, byte[] data, int offset, int length) {
        long ramOffset = ramOffset(address, length);
        MemorySegment.copy(data, offset, ram, ValueLayout.JAVA_BYTE, ramOffset, length);
    }

    public void writeRam(long address, byte[] data) { writeRam(address, data, 0, data.length); }

    public byte[] readRam(long address, int length) {
        byte[] out = new byte[length];
        MemorySegment.copy(ram, ValueLayout.JAVA_BYTE, ramOffset(address, length), out, 0, length);
        return out;
    }

    /** Clears all of RAM (power-on). */
    public void clearRam() { ram.fill((byte) 0); }

    private long ramOffset(long address, long length) {
        if (address >= 0 && address + length <= lowSize) {
            return address;
        }
        if (address >= FOUR_GIB && address - FOUR_GIB + length <= highSize) {
            return lowSize + address - FOUR_GIB;
        }
        throw new IllegalArgumentException("0x" + Long.toHexString(address) + "+" + length + " is not RAM");
    }
}
