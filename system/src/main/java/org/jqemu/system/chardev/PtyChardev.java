package org.jqemu.system.chardev;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.function.Consumer;

/**
 * QEMU's "pty" backend: a pseudo-terminal pair from the C library (posix_openpt, grantpt, unlockpt,
 * ptsname through the FFM API), the slave side in raw mode, its path announced as QEMU does ("char device
 * redirected to /dev/pts/N (label ID)"). A daemon thread reads the master; output is buffered on the
 * machine thread and written by a second daemon thread, dropped beyond {@link #OUTPUT_LIMIT} bytes while
 * nobody has the slave open, so the guest never waits for a terminal.
 */
public final class PtyChardev extends Chardev {
    static final int OUTPUT_LIMIT = 1 << 16;
    private static final int O_RDWR = 2, O_NOCTTY = 0400;
    private static final int TERMIOS_SIZE = 64;
    private static final int TCSANOW = 0;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();

    private final int master;
    private final String path;
    private final byte[] pending = new byte[OUTPUT_LIMIT];
    private int pendingCount;
    private volatile boolean closed;

    private PtyChardev(String id, int master, String path) {
        super(id);
        this.master = master;
        this.path = path;
    }

    private static MethodHandle function(String name, FunctionDescriptor descriptor) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name));
        return LINKER.downcallHandle(symbol, descriptor);
    }

    /** Opens a new pseudo-terminal; {@code announce} gets the slave's path. */
    public static PtyChardev open(String id, Consumer<String> announce) throws ChardevException {
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) function("posix_openpt", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT))
                    .invokeExact(O_RDWR | O_NOCTTY);
            if (fd < 0) throw new ChardevException("Failed to create PTY: posix_openpt failed");
            MethodHandle intOfInt = function("grantpt", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle unlock = function("unlockpt", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle ptsname = function("ptsname", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
            if ((int) intOfInt.invokeExact(fd) != 0 || (int) unlock.invokeExact(fd) != 0) {
                throw new ChardevException("Failed to create PTY: grantpt/unlockpt failed");
            }
            MemorySegment name = (MemorySegment) ptsname.invokeExact(fd);
            String slave = name.reinterpret(4096).getString(0);
            makeRaw(arena, fd);
            PtyChardev pty = new PtyChardev(id, fd, slave);
            announce.accept(slave);
            pty.startThreads();
            return pty;
        } catch (ChardevException e) {
            throw e;
        } catch (Throwable e) {
            throw new ChardevException("Failed to create PTY: " + e.getMessage());
        }
    }

    /** Raw mode on the master (QEMU makes its pty raw so the guest sees every byte unchanged). */
    private static void makeRaw(Arena arena, int fd) throws Throwable {
        MemorySegment termios = arena.allocate(TERMIOS_SIZE);
        int got = (int) function("tcgetattr", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS))
                .invokeExact(fd, termios);
        if (got != 0) return;
        function("cfmakeraw", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS)).invokeExact(termios);
        int set = (int) function("tcsetattr", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS)).invokeExact(fd, TCSANOW, termios);
        if (set != 0) return; // cooked mode still carries bytes
    }

    private void startThreads() {
        Thread reader = new Thread(this::readLoop, "chardev-" + id());
        reader.setDaemon(true);
        reader.start();
        Thread writer = new Thread(this::writeLoop, "chardev-" + id() + "-out");
        writer.setDaemon(true);
        writer.start();
    }

    private static final MethodHandle READ = function("read",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    private static final MethodHandle WRITE = function("write",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));

    private static final MethodHandle CLOSE = function("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

    private void readLoop() {
        byte[] chunk = new byte[1024];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(chunk.length);
            while (!closed) {
                long n = (long) READ.invokeExact(master, buf, (long) chunk.length);
                if (n <= 0) {
                    // EIO while no process has the slave open: wait and try again
                    Thread.sleep(100);
                    continue;
                }
                MemorySegment.copy(buf, ValueLayout.JAVA_BYTE, 0, chunk, 0, (int) n);
                received(chunk, 0, (int) n);
            }
        } catch (Throwable e) {
            // the pty is gone
        }
    }

    private void writeLoop() {
        byte[] chunk = new byte[OUTPUT_LIMIT];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(chunk.length);
            while (true) {
                int n;
                synchronized (this) {
                    while (!closed && pendingCount == 0) wait();
                    if (closed) return;
                    n = pendingCount;
                    System.arraycopy(pending, 0, chunk, 0, n);
                    pendingCount = 0;
                }
                MemorySegment.copy(chunk, 0, buf, ValueLayout.JAVA_BYTE, 0, n);
                long done = 0;
                while (done < n) {
                    long w = (long) WRITE.invokeExact(master, buf.asSlice(done), (long) (n - done));
                    if (w <= 0) break; // nobody reads the slave: drop the rest
                    done += w;
                }
            }
        } catch (Throwable e) {
            // the pty is gone
        }
    }

    @Override
    public synchronized void write(int b) {
        if (pendingCount < pending.length) pending[pendingCount++] = (byte) b;
    }

    @Override
    public synchronized void flush() {
        if (pendingCount > 0) notifyAll();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        notifyAll();
        try {
            int ignored = (int) CLOSE.invokeExact(master);
        } catch (Throwable e) {
            // the descriptor goes with the process anyway
        }
    }

    @Override
    public String filename() { return "pty:" + path; }

    /** The slave's path (/dev/pts/N). */
    public String path() { return path; }
}
