package org.jqemu.linuxuser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jqemu.memory.Page;

/**
 * The /proc files that must describe the guest rather than the JVM, made when opened: /proc/self (and
 * /proc/PID for the guest's own pid) maps, cmdline, stat, status, auxv, and /proc/cpuinfo for the emulated
 * CPU. /proc/self/exe is the guest program ({@link PathResolver}). Every other /proc and /sys path is the
 * host's, opened as is.
 */
final class ProcFs {
    /** The guest CPU as target-i386's CPUID describes it: a Pentium Pro (family 6, model 1, stepping 9). */
    static final String CPU_FLAGS = "fpu de pse tsc msr cx8 sep pge cmov fxsr";
    private static final int NAME_COLUMN = 73; // where Linux's (64-bit) and QEMU's maps put the path
    private static final int COMM_LENGTH = 15; // TASK_COMM_LEN - 1

    private final GuestProcess process;
    private final Map<String, long[]> fileIds = new HashMap<>();

    ProcFs(GuestProcess process) {
        this.process = process;
    }

    /** The synthetic file for {@code guestPath}, or null when the host's file should be opened. */
    GuestFile open(String guestPath) {
        byte[] content = content(guestPath);
        return content == null ? null : new MemoryFile(content);
    }

    /** The bytes of a synthetic file, or null for paths that pass through. */
    byte[] content(String guestPath) {
        if (guestPath.equals("/proc/cpuinfo")) {
            return text(cpuinfo());
        }
        String file = selfFile(guestPath);
        if (file == null) {
            return null;
        }
        return switch (file) {
            case "maps" -> text(maps());
            case "cmdline" -> process.image.cmdline();
            case "auxv" -> process.image.auxv();
            case "stat" -> text(stat());
            case "status" -> text(status());
            default -> null;
        };
    }

    /** "maps" for /proc/self/maps or /proc/PID/maps with the guest's pid; null for anything else. */
    private String selfFile(String path) {
        String rest;
        if (path.startsWith("/proc/self/")) {
            rest = path.substring("/proc/self/".length());
        } else if (path.startsWith("/proc/" + process.pid + "/")) {
            rest = path.substring(("/proc/" + process.pid + "/").length());
        } else {
            return null;
        }
        return rest.contains("/") ? null : rest;
    }

    private static byte[] text(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /** The guest's address space, one line per run of pages with the same protection and backing. */
    String maps() {
        StringBuilder out = new StringBuilder();
        GuestMemory memory = process.memory;
        long stackBottom = ElfLoader.TASK_SIZE - GuestMemory.pageCeil(process.config.stackSize());
        long runStart = -1;
        int runProt = 0;
        String runName = null;
        long runOffset = 0;
        ProcessImage.Region runRegion = null;
        for (long a = 0; a <= ElfLoader.TASK_SIZE; a += Page.SIZE) {
            int prot = a < ElfLoader.TASK_SIZE ? memory.protection(a) : -1;
            ProcessImage.Region region = prot < 0 ? null : process.image.regionAt(a);
            String name = region != null ? region.path() : label(a, stackBottom);
            long offset = region != null ? region.offset() + (a - region.start()) : 0;
            boolean continues = runStart >= 0 && prot == runProt && java.util.Objects.equals(name, runName)
                    && (region == null ? runRegion == null : runRegion != null && offset == runOffset + (a - runStart)
                    && region.writeBack() == runRegion.writeBack());
            if (!continues) {
                if (runStart >= 0) {
                    line(out, runStart, a, runProt, runRegion, runOffset, runName);
                }
                runStart = prot < 0 ? -1 : a;
                runProt = prot;
                runName = name;
                runRegion = region;
                runOffset = offset;
            }
        }
        return out.toString();
    }

    private String label(long address, long stackBottom) {
        if (address >= stackBottom) {
            return "[stack]";
        }
        return address >= process.brkStart && address < GuestMemory.pageCeil(process.brk) ? "[heap]" : null;
    }

    private void line(StringBuilder out, long start, long end, int prot, ProcessImage.Region region, long offset, String name) {
        long[] id = region == null ? new long[3] : fileId(region.path());
        int before = out.length();
        out.append(String.format("%08x-%08x %c%c%c%c %08x %02x:%02x %d", start, end,
                (prot & Page.READ) != 0 ? 'r' : '-', (prot & Page.WRITE) != 0 ? 'w' : '-',
                (prot & Page.EXEC) != 0 ? 'x' : '-', region != null && region.shared() ? 's' : 'p',
                offset, id[0], id[1], id[2]));
        if (name != null) {
            out.append(" ".repeat(Math.max(1, NAME_COLUMN - (out.length() - before)))).append(name);
        }
        out.append('\n');
    }

    /** {major, minor, inode} of a host file, as the host's stat gives them (zeros when it cannot be stat-ed). */
    private long[] fileId(String path) {
        return fileIds.computeIfAbsent(path, p -> {
            try {
                long dev = ((Number) Files.getAttribute(Path.of(p), "unix:dev")).longValue();
                long ino = ((Number) Files.getAttribute(Path.of(p), "unix:ino")).longValue();
                return new long[] {((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL), (dev & 0xff) | ((dev >>> 12) & ~0xffL), ino};
            } catch (IOException | RuntimeException e) {
                return new long[3];
            }
        });
    }

    private String comm() {
        String name = Path.of(process.executablePath).getFileName().toString();
        return name.length() > COMM_LENGTH ? name.substring(0, COMM_LENGTH) : name;
    }

    private long parentPid() {
        return process.parentPid();
    }

    private long mappedBytes() {
        long pages = 0;
        for (long a = 0; a < ElfLoader.TASK_SIZE; a += Page.SIZE) {
            if (process.memory.protection(a) >= 0) {
                pages++;
            }
        }
        return pages * Page.SIZE;
    }

    /** proc(5)'s 52 fields; those jqemu does not model are 0, as QEMU leaves them. */
    String stat() {
        long[] f = new long[53];
        f[4] = parentPid();
        String[] host = hostStat();
        for (int i = 7; i <= 8 && host != null; i++) {
            f[i] = Long.parseLong(host[i]); // the terminal and its foreground group are jqemu's
        }
        synchronized (process.kernel.treeLock) {
            f[5] = process.pgid;
            f[6] = process.sid;
        }
        f[18] = 20; // priority
        f[20] = process.threadList().size();
        f[23] = mappedBytes();
        f[24] = process.memory.backedPages();
        f[25] = -1L >>> 32; // RLIM_INFINITY in a 32-bit kernel's unsigned long
        f[28] = process.image.initialStack();
        f[38] = Signals.SIGCHLD;
        f[47] = process.brkStart;
        StringBuilder b = new StringBuilder().append(process.pid).append(" (").append(comm()).append(") R");
        for (int i = 4; i <= 52; i++) {
            b.append(' ').append(f[i]);
        }
        return b.append('\n').toString();
    }

    /** The JVM's own stat fields (split after the command name), for the process group, session and terminal. */
    private static String[] hostStat() {
        try {
            String s = Files.readString(Path.of("/proc/self/stat"));
            String[] rest = s.substring(s.lastIndexOf(')') + 2).split(" ");
            String[] fields = new String[rest.length + 3];
            System.arraycopy(rest, 0, fields, 3, rest.length);
            return fields;
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    String status() {
        Map<String, String> host = new HashMap<>();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    host.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        } catch (IOException e) {
            // the lines taken from the host are then left out
        }
        StringBuilder b = new StringBuilder();
        b.append("Name:\t").append(comm()).append('\n');
        b.append("Umask:\t").append(String.format("%04o", process.fs.umask())).append('\n');
        b.append("State:\tR (running)\n");
        b.append("Tgid:\t").append(process.pid).append("\nNgid:\t0\nPid:\t").append(process.pid)
                .append("\nPPid:\t").append(parentPid()).append("\nTracerPid:\t0\n");
        for (String key : List.of("Uid", "Gid")) {
            b.append(key).append(":\t").append(host.getOrDefault(key, "0\t0\t0\t0").replaceAll("\\s+", "\t")).append('\n');
        }
        b.append("FDSize:\t").append(GuestProcess.MAX_FILES).append('\n');
        b.append("Groups:\t").append(host.getOrDefault("Groups", "")).append('\n');
        b.append("VmSize:\t").append(String.format("%8d", mappedBytes() / 1024)).append(" kB\n");
        b.append("VmRSS:\t").append(String.format("%8d", process.memory.backedPages() * (Page.SIZE / 1024))).append(" kB\n");
        b.append("Threads:\t").append(process.threadList().size()).append('\n');
        return b.toString();
    }

    /** One entry per host CPU (what sched_getaffinity reports), each the emulated Pentium Pro. */
    static String cpuinfo() {
        StringBuilder b = new StringBuilder();
        for (int cpu = 0; cpu < Runtime.getRuntime().availableProcessors(); cpu++) {
            b.append("processor\t: ").append(cpu).append('\n')
                    .append("vendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 1\n")
                    .append("model name\t: Pentium Pro (jqemu)\nstepping\t: 9\n")
                    .append("fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 2\nwp\t\t: yes\n")
                    .append("flags\t\t: ").append(CPU_FLAGS).append('\n')
                    .append("bogomips\t: 0.00\nclflush size\t: 32\ncache_alignment\t: 32\n")
                    .append("address sizes\t: 32 bits physical, 32 bits virtual\npower management:\n\n");
        }
        return b.toString();
    }
}
