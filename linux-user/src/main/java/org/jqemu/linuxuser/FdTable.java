package org.jqemu.linuxuser;

import java.util.IdentityHashMap;
import java.util.Map;

/**
 * A process's file descriptor table: descriptor numbers to open file descriptions ({@link GuestFile})
 * plus the per-descriptor close-on-exec flag. Tables are copied by fork and shared by CLONE_FILES;
 * a description is shared by dup and fork, and closed (GuestFile.close) when its last descriptor in any
 * table goes, which the table family's shared reference counts track.
 */
final class FdTable {
    static final int MAX_FILES = 1024;

    /** Reference counts of descriptions, shared by every table copied from one another. */
    private final Map<GuestFile, Integer> references;
    private final GuestFile[] files = new GuestFile[MAX_FILES];
    private final boolean[] closeOnExec = new boolean[MAX_FILES];
    /** Processes using this table (CLONE_FILES shares it); the last one to leave closes everything. */
    private final java.util.concurrent.atomic.AtomicInteger users = new java.util.concurrent.atomic.AtomicInteger(1);

    FdTable() {
        this(new IdentityHashMap<>());
    }

    private FdTable(Map<GuestFile, Integer> references) {
        this.references = references;
    }

    /** fork without CLONE_FILES: the same descriptions under the same numbers. */
    FdTable copy() {
        synchronized (references) {
            FdTable t = new FdTable(references);
            synchronized (this) {
                for (int fd = 0; fd < MAX_FILES; fd++) {
                    if (files[fd] != null) {
                        t.files[fd] = files[fd];
                        t.closeOnExec[fd] = closeOnExec[fd];
                        references.merge(files[fd], 1, Integer::sum);
                    }
                }
            }
            return t;
        }
    }

    synchronized GuestFile get(int fd) {
        return fd >= 0 && fd < MAX_FILES ? files[fd] : null;
    }

    synchronized boolean closeOnExec(int fd) { return closeOnExec[fd]; }

    synchronized void setCloseOnExec(int fd, boolean value) { closeOnExec[fd] = value; }

    /** Installs at the lowest free number at or above {@code minimum}; -EMFILE when full. */
    synchronized int install(GuestFile file, int minimum, boolean cloexec) {
        for (int fd = Math.max(minimum, 0); fd < MAX_FILES; fd++) {
            if (files[fd] == null) {
                put(fd, file, cloexec);
                return fd;
            }
        }
        return -Errno.EMFILE;
    }

    /** dup2/dup3: {@code fd} now names {@code file}; what it named before is closed. */
    int installAt(int fd, GuestFile file, boolean cloexec) {
        GuestFile old;
        synchronized (this) {
            old = files[fd];
            files[fd] = null;
            put(fd, file, cloexec);
        }
        if (old != null) {
            release(old);
        }
        return fd;
    }

    private void put(int fd, GuestFile file, boolean cloexec) {
        synchronized (references) {
            references.merge(file, 1, Integer::sum);
        }
        files[fd] = file;
        closeOnExec[fd] = cloexec;
    }

    /** A reference that is no descriptor: a file in flight in an SCM_RIGHTS message (InFlightFiles). */
    void hold(GuestFile file) {
        synchronized (references) {
            references.merge(file, 1, Integer::sum);
        }
    }

    /** Drops a {@link #hold}; the file closes if nothing else refers to it. */
    void dropHold(GuestFile file) {
        release(file);
    }

    /** Installs a file that arrives with a {@link #hold} (which the new descriptor takes over); -EMFILE drops it. */
    int installHeld(GuestFile file, boolean cloexec) {
        synchronized (this) {
            for (int fd = 0; fd < MAX_FILES; fd++) {
                if (files[fd] == null) {
                    files[fd] = file;
                    closeOnExec[fd] = cloexec;
                    return fd;
                }
            }
        }
        release(file);
        return -Errno.EMFILE;
    }

    /** close(2): 0, or -EBADF. */
    long close(int fd) {
        GuestFile old;
        synchronized (this) {
            old = get(fd);
            if (old == null) {
                return -Errno.EBADF;
            }
            files[fd] = null;
            closeOnExec[fd] = false;
        }
        return release(old);
    }

    private long release(GuestFile file) {
        boolean last;
        synchronized (references) {
            int n = references.merge(file, -1, Integer::sum);
            last = n <= 0;
            if (last) {
                references.remove(file);
            }
        }
        return last ? file.close() : 0;
    }

    /** execve: descriptors marked close-on-exec go. */
    void closeOnExec() {
        for (int fd = 0; fd < MAX_FILES; fd++) {
            if (closeOnExec(fd)) {
                close(fd);
            }
        }
    }

    FdTable share() {
        users.incrementAndGet();
        return this;
    }

    /** A process stops using the table (exit, or exec unsharing it). */
    void leave() {
        if (users.decrementAndGet() == 0) {
            closeAll();
        }
    }

    /** The process is gone (or the table unshared from it): every descriptor closes. */
    void closeAll() {
        for (int fd = 0; fd < MAX_FILES; fd++) {
            if (get(fd) != null) {
                close(fd);
            }
        }
    }
}
