package org.jqemu.linuxuser;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the guest processes of one jqemu-i386 run share, as a kernel would: the pid space, the
 * process and thread tables, the futex table, the terminal's foreground process group, and one lock
 * that guards the process tree (parents, children, exit and wait states).
 */
final class Kernel {
    final GuestProcess.Config config;
    /** Guards the process tree: parent/children links, zombies, process groups; waiters wait on it. */
    final Object treeLock = new Object();
    final Futexes futexes = new Futexes();
    /** The System V shared memory segments (the IPC namespace of this run). */
    final SysvShm shm = new SysvShm();
    /** System calls already reported under -d unimp (once per run, whichever process met them). */
    final java.util.BitSet reportedUnimplemented = new java.util.BitSet();
    private final Map<Integer, GuestProcess> processes = new ConcurrentHashMap<>();
    private final Map<Integer, GuestThread> threads = new ConcurrentHashMap<>();
    private int nextPid;
    /** tcsetpgrp is kept here: host job control would see pgids that do not exist on the host. */
    volatile int foregroundPgid;
    /** How every guest thread's CPU runs (jqemu-i386's -accel, -d, -singlestep); new threads and execve take it. */
    volatile CpuEngine.Options engineOptions = CpuEngine.Options.fromProperties();
    /** Monitor notified whenever a pipe changes state, for poll and select. */
    private static final Object POLL_MONITOR = new Object();

    private final int firstPid;

    Kernel(GuestProcess.Config config, int firstPid) {
        this.config = config;
        this.nextPid = firstPid;
        this.firstPid = firstPid;
    }

    /** The first process's pid: the host pid, as getpid returned before processes were modelled. */
    int firstPid() { return firstPid; }

    /** The host's process group and session of jqemu (fields 5 and 6 of /proc/self/stat), or {pid, pid}. */
    static int[] hostGroupAndSession(int pid) {
        try {
            String stat = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/self/stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return new int[] {Integer.parseInt(f[2]), Integer.parseInt(f[3])};
        } catch (java.io.IOException | RuntimeException e) {
            return new int[] {pid, pid};
        }
    }

    synchronized int allocatePid() {
        int pid;
        do {
            pid = nextPid++;
            if (nextPid > 4_194_304) {
                nextPid = 300;
            }
        } while (processes.containsKey(pid) || threads.containsKey(pid));
        return pid;
    }

    void register(GuestProcess p) { processes.put(p.pid, p); }

    void unregister(GuestProcess p) { processes.remove(p.pid); }

    void register(GuestThread t) { threads.put(t.tid, t); }

    void unregister(GuestThread t) { threads.remove(t.tid); }

    GuestProcess process(int pid) { return processes.get(pid); }

    GuestThread thread(int tid) { return threads.get(tid); }

    List<GuestProcess> processes() { return new ArrayList<>(processes.values()); }

    /** The threads whose CPUs run over {@code memory} (one process's, or CLONE_VM processes'). */
    List<GuestThread> threadsOf(GuestMemory memory) {
        List<GuestThread> out = new ArrayList<>();
        for (GuestThread t : threads.values()) {
            if (t.attachedMemory == memory) {
                out.add(t);
            }
        }
        return out;
    }

    /** A pipe (or anything poll watches) changed: poll and select re-check. */
    static void pollEvent() {
        synchronized (POLL_MONITOR) {
            pollGeneration++;
            POLL_MONITOR.notifyAll();
        }
    }

    private static long pollGeneration;

    static long pollGeneration() {
        synchronized (POLL_MONITOR) {
            return pollGeneration;
        }
    }

    static Object pollMonitor() { return POLL_MONITOR; }
}
