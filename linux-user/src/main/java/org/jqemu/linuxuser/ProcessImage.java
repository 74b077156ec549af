package org.jqemu.linuxuser;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What execve built for a process and what mmap added, as the kernel remembers it beside the page table:
 * the path resolver (sysroot), the names of file-backed regions (for /proc/self/maps and MAP_SHARED
 * write-back), the auxiliary vector and the command line (for /proc/self/auxv and cmdline).
 */
final class ProcessImage {
    /** {@link Region#writeBack} of a private mapping, and of a read-only shared one (nothing to write back). */
    static final int PRIVATE = -1, SHARED_READ_ONLY = -2;

    /**
     * A file-backed range [start, end) of guest addresses; {@code offset} is the file offset of {@code start}.
     * {@code writeBack} is the host descriptor of a MAP_SHARED writable mapping, else {@link #PRIVATE} or
     * {@link #SHARED_READ_ONLY}.
     */
    record Region(long start, long end, String path, long offset, int writeBack) {
        /** MAP_SHARED, as /proc/self/maps shows it ('s'). */
        boolean shared() { return writeBack != PRIVATE; }

        Region from(long newStart, long newEnd) {
            return new Region(newStart, newEnd, path, offset + (newStart - start), writeBack);
        }
    }

    final PathResolver paths;
    private final TreeMap<Long, Region> regions = new TreeMap<>();
    private byte[] auxv = new byte[0];
    private byte[] cmdline = new byte[0];
    private long initialStack;

    /** Processes using this image: CLONE_VM shares it with the address space; the last release writes back. */
    private final java.util.concurrent.atomic.AtomicInteger users = new java.util.concurrent.atomic.AtomicInteger(1);

    ProcessImage(PathResolver paths) {
        this.paths = paths;
    }

    /** CLONE_VM: the child shares the address space, so it shares what names it too. */
    ProcessImage retain() {
        users.incrementAndGet();
        return this;
    }

    /**
     * fork: the child's copy of the address space gets a copy of the names, the auxiliary vector and the
     * command line; each shared writable region gets its own duplicate write-back descriptor (the child's
     * pages are its own copy, written back when it unmaps them or exits).
     */
    synchronized ProcessImage copy() {
        ProcessImage c = new ProcessImage(new PathResolver(paths.sysroot(), paths.executable()));
        Map<Integer, Integer> duplicates = new java.util.HashMap<>();
        for (Region r : regions.values()) {
            int writeBack = r.writeBack();
            if (writeBack >= 0) {
                writeBack = duplicates.computeIfAbsent(writeBack, fd -> {
                    long copy = HostOs.call(HostOs.DUP, fd);
                    return copy < 0 ? SHARED_READ_ONLY : (int) copy;
                });
            }
            c.regions.put(r.start(), new Region(r.start(), r.end(), r.path(), r.offset(), writeBack));
        }
        c.auxv = auxv;
        c.cmdline = cmdline;
        c.initialStack = initialStack;
        return c;
    }

    /**
     * A process stops using the image (exit, execve): once nobody uses it, shared file mappings still mapped
     * are written back (their data would be in the page cache on Linux) and their descriptors closed.
     * Called before {@code memory} itself is released.
     */
    void release(GuestMemory memory) {
        if (users.decrementAndGet() != 0) {
            return;
        }
        java.util.Set<Integer> closed = new java.util.HashSet<>();
        for (Region r : regionsIn(0, ElfLoader.TASK_SIZE)) {
            if (r.writeBack() >= 0) {
                writeBack(r, memory);
                if (closed.add(r.writeBack())) {
                    HostOs.close(r.writeBack());
                }
            }
        }
        forget(0, ElfLoader.TASK_SIZE);
    }

    /** Writes a shared region's pages to its file, never past the file's current end (the kernel does not extend it). */
    void writeBack(Region r, GuestMemory memory) {
        long fileSize = HostOs.lseek(r.writeBack(), 0, 2);
        for (long a = r.start(); a < r.end(); a += org.jqemu.memory.Page.SIZE) {
            long fileOffset = r.offset() + (a - r.start());
            if (fileOffset >= fileSize) {
                break;
            }
            org.jqemu.memory.Page page = memory.page(a);
            if (page == null || page.ram() == null) {
                continue;
            }
            long n = Math.min(org.jqemu.memory.Page.SIZE, fileSize - fileOffset);
            HostOs.call(HostOs.PWRITE, r.writeBack(), page.ram().asSlice(0, n), n, fileOffset);
        }
    }

    /** Records that [start, end) now holds {@code path} from {@code offset}; what was named there before is forgotten. */
    synchronized void name(long start, long end, String path, long offset, int writeBack) {
        forget(start, end);
        regions.put(start, new Region(start, end, path, offset, writeBack));
    }

    /** Forgets the names of [start, end), splitting regions that straddle its ends; returns the removed parts. */
    synchronized List<Region> forget(long start, long end) {
        List<Region> removed = new ArrayList<>();
        Map.Entry<Long, Region> before = regions.lowerEntry(start);
        if (before != null && before.getValue().end() > start) {
            Region r = before.getValue();
            regions.put(r.start(), r.from(r.start(), start));
            if (r.end() > end) {
                regions.put(end, r.from(end, r.end()));
            }
            removed.add(r.from(start, Math.min(end, r.end())));
        }
        for (Region r : List.copyOf(regions.subMap(start, true, end, false).values())) {
            regions.remove(r.start());
            if (r.end() > end) {
                regions.put(end, r.from(end, r.end()));
            }
            removed.add(r.from(r.start(), Math.min(end, r.end())));
        }
        return removed;
    }

    /** The named region holding {@code address}, or null. */
    synchronized Region regionAt(long address) {
        Map.Entry<Long, Region> e = regions.floorEntry(address);
        return e != null && e.getValue().end() > address ? e.getValue() : null;
    }

    /** Named regions overlapping [start, end), clipped to it. */
    synchronized List<Region> regionsIn(long start, long end) {
        List<Region> out = new ArrayList<>();
        Region first = regionAt(start);
        if (first != null) {
            out.add(first.from(start, Math.min(end, first.end())));
        }
        for (Region r : regions.subMap(start, false, end, false).values()) {
            out.add(r.from(r.start(), Math.min(end, r.end())));
        }
        return out;
    }

    /** Records the initial stack InitialStack built: its ESP (/proc/self/stat's startstack) and auxiliary vector. */
    synchronized void setInitialStack(GuestMemory memory, long sp) {
        initialStack = sp;
        auxv = InitialStack.auxv(memory, sp);
    }

    synchronized long initialStack() { return initialStack; }

    synchronized byte[] auxv() { return auxv.clone(); }

    /** argv as /proc/self/cmdline shows it: each argument followed by a NUL. */
    synchronized void setCmdline(List<String> argv) {
        StringBuilder b = new StringBuilder();
        argv.forEach(a -> b.append(a).append('\0'));
        cmdline = b.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    synchronized byte[] cmdline() { return cmdline.clone(); }
}
