package org.jqemu.block;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A host file accessed by position (the "file" protocol layer under every format driver).
 * Positional reads and writes on a FileChannel are thread-safe, so this class needs no lock;
 * reads past the end of the file return zeros, as a sparse tail does.
 */
public final class HostFile implements AutoCloseable {
    private static final int ZERO_CHUNK = 1 << 20;
    /** QEMU's lock byte layout (file-posix): permission bytes, then "not shared" bytes. */
    private static final long PERM_BASE = 100;
    private static final long SHARED_BASE = 200;
    private static final int PERM_CONSISTENT_READ = 1;
    private static final int PERM_WRITE = 2;
    private static final int PERM_RESIZE = 8;
    private static final String[] PERM_NAMES = {"consistent read", "write", "write unchanged", "resize"};

    private final Path path;
    private final FileChannel channel;
    private final boolean writable;
    /**
     * Native descriptor for the calls FileChannel lacks (hole punching, SEEK_DATA, locks): opened on first
     * use (a file that needs none of them, such as one only probed for its format, costs no native call);
     * -1 if unavailable.
     */
    private int nativeFd = FD_NOT_OPEN;
    /** In record-lock mode, the locks this open holds (see lock()); null before. */
    private RecordLocks heldRecordLocks;
    private static final int FD_NOT_OPEN = -2;

    /** cache=writethrough: each write and zeroing is flushed before it returns. */
    private final boolean writeThrough;
    /** For a file this process created: extends it (ftruncate) without a native call; else null. */
    private final RandomAccessFile resizer;

    /**
     * How lock() takes its locks: false, QEMU's open-file-description locks (native calls); true, POSIX
     * record locks through the JDK, tested against /proc/locks (see lock()).
     */
    private static volatile boolean recordLocks;

    private HostFile(Path path, FileChannel channel, boolean writable, boolean writeThrough, RandomAccessFile resizer) {
        this.path = path;
        this.channel = channel;
        this.writable = writable;
        this.writeThrough = writeThrough;
        this.resizer = resizer;
    }

    /**
     * Makes lock() take POSIX record locks (fcntl F_SETLK, through FileChannel) where it takes QEMU's
     * open-file-description locks otherwise, and test for other processes' locks in /proc/locks: what
     * QEMU itself falls back to without OFD locks. Other processes see them alike (record and OFD locks
     * conflict with each other), and no native function needs linking, which costs a short command
     * some 100 ms of CPU. The price is POSIX's: a process holds one set of record locks per file and loses
     * them when it closes any descriptor of that file. For a process that opens each image once and keeps
     * it open until it is done, as jqemu-img does; not for the emulator, whose devices may share images.
     */
    public static void useRecordLocks(boolean on) {
        recordLocks = on;
    }

    /**
     * Starts reading the kernel's lock table for the record locks' tests of the images a command opens in
     * the next second (jqemu-img's main, one command per process): one read, which waits for the kernel
     * (see RecordLocks.prefetch), serves them all and overlaps the command's first steps.
     */
    public static void prefetchRecordLocks() {
        RecordLocks.prefetch();
    }

    /**
     * Links the native calls on a background thread (see Posix), once: for a caller that will want them
     * soon and has other work meanwhile (a raw source of a conversion: see holeSeekingReady).
     */
    public static void linkNativeCallsInBackground() {
        Posix.linkInBackground();
    }

    /**
     * True if the hole-seeking calls (nextChange, isData) would answer without waiting for native calls to
     * be linked: a caller that can do without them (conversion, which tests data for zeros anyway) asks
     * this first, and may have them linked in the background meanwhile (linkNativeCallsInBackground).
     */
    public boolean holeSeekingReady() {
        return nativeCallsReady();
    }

    /** As holeSeekingReady, for any file: whether the native calls are linked (or known unavailable). */
    public static boolean nativeCallsReady() {
        return Posix.ready();
    }

    /** The native descriptor, opened on first use; -1 if unavailable. */
    private synchronized int fd() {
        if (nativeFd == FD_NOT_OPEN) {
            nativeFd = Posix.open(path, writable);
        }
        return nativeFd;
    }

    public static HostFile open(Path path, boolean writable) throws BlockException {
        return open(path, writable, false);
    }

    public static HostFile open(Path path, boolean writable, boolean writeThrough) throws BlockException {
        if (Files.isDirectory(path)) {
            throw new BlockException("'file' driver requires '" + path + "' to be a regular file");
        }
        OpenOption[] options = writable
                ? new OpenOption[] {StandardOpenOption.READ, StandardOpenOption.WRITE}
                : new OpenOption[] {StandardOpenOption.READ};
        try {
            return new HostFile(path, FileChannel.open(path, options), writable, writeThrough, null);
        } catch (IOException e) {
            throw new BlockException("Could not open '" + path + "': " + describe(e));
        }
    }

    /**
     * Creates (or truncates) the file, as qemu-img create does. Opened as a RandomAccessFile, whose
     * setLength extends a file sparsely (ftruncate) where FileChannel can only shrink one: creating an
     * image needs no native call.
     */
    public static HostFile create(Path path) throws BlockException {
        if (Files.isDirectory(path)) {
            throw new BlockException("Could not create '" + path + "': Is a directory");
        }
        try {
            RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw");
            try {
                raf.setLength(0);
            } catch (IOException e) {
                raf.close();
                throw e;
            }
            return new HostFile(path, raf.getChannel(), true, false, raf);
        } catch (IOException e) {
            throw new BlockException("Could not create '" + path + "': " + describe(e));
        }
    }

    /** errno-like text for an I/O exception, as strerror would print it. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "No such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "Permission denied";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        String m = e.getMessage();
        if (e instanceof FileNotFoundException && m != null && m.endsWith(")") && m.contains(" (")) {
            return m.substring(m.lastIndexOf(" (") + 2, m.length() - 1); // RandomAccessFile's "name (reason)"
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    public Path path() {
        return path;
    }

    public boolean writable() {
        return writable;
    }

    public long length() throws BlockException {
        try {
            return channel.size();
        } catch (IOException e) {
            throw error("get the size of", e);
        }
    }

    /** Reads exactly len bytes (zeros past the end of the file). */
    public void read(long position, byte[] buf, int off, int len) throws BlockException {
        read(position, ByteBuffer.wrap(buf, off, len));
    }

    /**
     * Fills dst from its position to its limit (zeros past the end of the file); dst's position and limit
     * are left as they were. A direct buffer goes to the kernel as is, a heap one through the JDK's copy.
     */
    public void read(long position, ByteBuffer dst) throws BlockException {
        transfer(position, dst, "read", channel::read);
    }

    /** A positional read or write of a FileChannel. */
    @FunctionalInterface
    private interface Transfer {
        int apply(ByteBuffer b, long position) throws IOException;
    }

    /**
     * Repeats op until buf (from its position to its limit; neither is changed) is done; reaching the end
     * of the file (a read's -1) fills the rest with zeros.
     */
    private void transfer(long position, ByteBuffer buf, String what, Transfer op) throws BlockException {
        ByteBuffer bb = buf.duplicate();
        int start = bb.position();
        try {
            while (bb.hasRemaining()) {
                if (op.apply(bb, position + bb.position() - start) < 0) {
                    zeroFill(bb);
                    return;
                }
            }
        } catch (IOException e) {
            throw error(what, e);
        }
    }

    /** Reads len bytes into buf at index off (buf's position and limit are not used). */
    public void read(long position, ByteBuffer buf, int off, int len) throws BlockException {
        read(position, buf.slice(off, len));
    }

    /** Writes the len bytes of buf at index off (buf's position and limit are not used). */
    public void write(long position, ByteBuffer buf, int off, int len) throws BlockException {
        write(position, buf.slice(off, len));
    }

    private static final byte[] ZERO_BYTES = new byte[64 << 10];

    /** Zeros from b's position to its limit (heap or direct); b's position and limit are left as they were. */
    public static void zeroFill(ByteBuffer b) {
        ByteBuffer d = b.duplicate();
        while (d.hasRemaining()) {
            d.put(ZERO_BYTES, 0, Math.min(d.remaining(), ZERO_BYTES.length));
        }
    }

    public byte[] read(long position, int len) throws BlockException {
        byte[] b = new byte[len];
        read(position, b, 0, len);
        return b;
    }

    public void write(long position, byte[] buf, int off, int len) throws BlockException {
        write(position, ByteBuffer.wrap(buf, off, len));
    }

    /** Writes src from its position to its limit; src's position and limit are left as they were. */
    public void write(long position, ByteBuffer src) throws BlockException {
        transfer(position, src, "write", channel::write);
        if (writeThrough) {
            flush();
        }
    }

    public void write(long position, byte[] buf) throws BlockException {
        write(position, buf, 0, buf.length);
    }

    /** Makes the range read as zeros: a hole where the file system allows, else written zeros. */
    public void zero(long position, long len) throws BlockException {
        long end = Math.min(position + len, length());
        if (position >= end) {
            return;
        }
        if (Posix.punchHole(fd(), position, end - position)) {
            if (writeThrough) {
                flush();
            }
            return;
        }
        byte[] zeros = new byte[(int) Math.min(ZERO_CHUNK, end - position)];
        for (long p = position; p < end; p += zeros.length) {
            write(p, zeros, 0, (int) Math.min(zeros.length, end - p));
        }
    }

    /** Deallocates the range if possible; contents then read as zeros. Best effort, like discard. */
    public void discard(long position, long len) {
        Posix.punchHole(fd(), position, len);
    }

    /** Reserves disk space for the range (preallocation=falloc); false if not supported. */
    public boolean allocate(long position, long len) {
        return Posix.allocate(fd(), position, len);
    }

    /** Extends the file (sparsely) to a multiple of 512 bytes. */
    public void alignLengthToSector() throws BlockException {
        long length = length();
        if ((length & 511) != 0) {
            truncate((length + 511) & ~511L);
        }
    }

    public void truncate(long newLength) throws BlockException {
        try {
            long old = channel.size();
            if (newLength < old) {
                channel.truncate(newLength);
            } else if (newLength > old && resizer != null) {
                resizer.setLength(newLength);
            } else if (newLength > old && !Posix.truncate(fd(), newLength)) {
                // Without ftruncate, writing the last byte extends the file (sparsely but for one block).
                channel.write(ByteBuffer.allocate(1), newLength - 1);
            }
        } catch (IOException e) {
            throw error("resize", e);
        }
    }

    /**
     * Image locking as QEMU's file protocol does it, so that jqemu and QEMU processes see each other's
     * locks: one shared lock byte per permission held at 100 + bit, and one per permission not
     * shared with others at 200 + bit (bits: consistent read, write, write unchanged, resize). A
     * writer holds and refuses to share write and resize; a reader holds consistent read and refuses to
     * share write and resize; with force-share (-U, read-only only) a reader takes only its read byte.
     * A conflict gives QEMU's message. File systems without locks are used unlocked, as QEMU does.
     * The locks are open-file-description locks, or POSIX record locks (see useRecordLocks).
     */
    public void lock(boolean write, boolean forceShare) throws BlockException {
        int held = PERM_CONSISTENT_READ | (write ? PERM_WRITE | PERM_RESIZE : 0);
        int unshared = forceShare ? 0 : PERM_WRITE | PERM_RESIZE;
        Locker locker = recordLocks ? new RecordLocker(recordLocksOf()) : new OfdLocker(fd());
        // Check first (QEMU's order: the permissions we want, then those we refuse to share) ...
        for (int bit = 0; bit < PERM_NAMES.length; bit++) {
            if ((held & (1 << bit)) != 0 && locker.heldByOthers(SHARED_BASE + bit)) {
                throw lockError("Failed to get \"" + PERM_NAMES[bit] + "\" lock");
            }
        }
        for (int bit = 0; bit < PERM_NAMES.length; bit++) {
            if ((unshared & (1 << bit)) != 0 && locker.heldByOthers(PERM_BASE + bit)) {
                throw lockError("Failed to get shared \"" + PERM_NAMES[bit] + "\" lock");
            }
        }
        // ... then take our bytes (shared locks: they only conflict with the tests above).
        for (int bit = 0; bit < PERM_NAMES.length; bit++) {
            if ((held & (1 << bit)) != 0) {
                locker.takeShared(PERM_BASE + bit);
            }
            if ((unshared & (1 << bit)) != 0) {
                locker.takeShared(SHARED_BASE + bit);
            }
        }
    }

    /** The record locks on this file (read anew), and those this open takes from now on. */
    private synchronized RecordLocks recordLocksOf() {
        if (heldRecordLocks != null) {
            heldRecordLocks.release(); // locked again: what it takes now replaces what it held
        }
        heldRecordLocks = RecordLocks.of(path);
        return heldRecordLocks;
    }

    /** One way of testing for and taking lock bytes. */
    private interface Locker {
        /** True if another holder's lock covers the byte (a write lock on it would be refused). */
        boolean heldByOthers(long offset);

        /** Takes a shared lock on the byte; best effort, as its test went before. */
        void takeShared(long offset);
    }

    /** Open-file-description locks through fcntl(2). */
    private record OfdLocker(int fd) implements Locker {
        @Override
        public boolean heldByOthers(long offset) {
            return Posix.lockByte(fd, offset, Posix.F_WRLCK, false) == Posix.LockResult.CONFLICT;
        }

        @Override
        public void takeShared(long offset) {
            Posix.lockByte(fd, offset, Posix.F_RDLCK, true);
        }
    }

    /** POSIX record locks through the channel, tested against /proc/locks. */
    private final class RecordLocker implements Locker {
        private final RecordLocks others;

        RecordLocker(RecordLocks others) {
            this.others = others;
        }

        @Override
        public boolean heldByOthers(long offset) {
            return others.heldByOthers(offset);
        }

        @Override
        public void takeShared(long offset) {
            try {
                channel.tryLock(offset, 1, true); // held until the channel closes
            } catch (IOException | OverlappingFileLockException e) {
                // Unsupported, or this process holds the byte already (an image opened twice): as OFD's.
            }
            others.took(offset);
        }
    }

    private BlockException lockError(String what) {
        return new BlockException(what + "\nIs another process using the image [" + path + "]?");
    }

    public void flush() throws BlockException {
        try {
            channel.force(false);
        } catch (IOException e) {
            throw error("flush", e);
        }
    }

    /** Bytes used on disk (st_blocks * 512); the file length when unknown. */
    public long allocatedBytes() throws BlockException {
        long n = Posix.allocatedBytes(fd());
        return n >= 0 ? n : length();
    }

    /**
     * Where the current extent ends: from inside data, the next hole (SEEK_HOLE); from inside a hole,
     * the next data (SEEK_DATA). -1 if unknown or no further change before the end of the file.
     */
    public long nextChange(long position, boolean inData) {
        return Posix.seek(fd(), position, inData ? Posix.SEEK_HOLE : Posix.SEEK_DATA);
    }

    /** True if position lies in allocated data (or the file system cannot tell). */
    public boolean isData(long position) {
        int fd = fd();
        return fd < 0 || Posix.seek(fd, position, Posix.SEEK_DATA) == position;
    }

    public boolean canSeekHoles() {
        return fd() >= 0;
    }

    @Override
    public void close() throws BlockException {
        synchronized (this) {
            Posix.close(nativeFd); // ignores FD_NOT_OPEN and -1
            nativeFd = -1;
            if (heldRecordLocks != null) {
                heldRecordLocks.release();
            }
        }
        try {
            channel.close();
        } catch (IOException e) {
            throw error("close", e);
        }
    }

    private BlockException error(String what, IOException e) {
        return new BlockException("Could not " + what + " '" + path + "': " + describe(e));
    }
}
