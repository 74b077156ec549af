package org.jqemu.block;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Raw deflate with the host's zlib (libz.so.1, which qemu-img uses too) through FFM, with QEMU's
 * parameters: level {@link Deflate#LEVEL}, a 4 KiB window (raw: -12) and memLevel 9, so compressed
 * clusters are byte for byte those qemu-img writes. Compressed conversion spends nearly all its time
 * here: the JDK's bundled zlib with its fixed 32 KiB window needs about 20% more CPU for 2-5% smaller
 * output (measured on bench/block-convert.sh's data). Streams (z_stream plus native buffers) are
 * pooled, never freed: at most as many exist as threads ever compressed at once. x86-64 Linux only
 * (the z_stream layout below); elsewhere, or without the library, {@link #available()} is false and
 * {@link Deflate} uses the JDK.
 */
final class HostZlib {
    private static final String LIBRARY = "libz.so.1";
    /** struct z_stream on LP64: next_in, avail_in, total_in, next_out, avail_out, ... 112 bytes. */
    private static final long Z_STREAM_SIZE = 112;
    private static final long NEXT_IN = 0;
    private static final long AVAIL_IN = 8;
    private static final long NEXT_OUT = 24;
    private static final long AVAIL_OUT = 32;
    private static final int Z_DEFLATED = 8;
    private static final int Z_FINISH = 4;
    private static final int Z_STREAM_END = 1;
    private static final int RAW_WINDOW_BITS = -12;
    private static final int MEM_LEVEL = 9;
    private static final int DEFAULT_STRATEGY = 0;

    private static final MethodHandle INIT;
    private static final MethodHandle DEFLATE;
    private static final MethodHandle RESET;

    static {
        MethodHandle[] h = link();
        INIT = h[0];
        DEFLATE = h[1];
        RESET = h[2];
    }

    /** A deflate stream with native input and output buffers large enough for the last cluster seen. */
    private static final class Stream {
        final MemorySegment zs;
        MemorySegment in = MemorySegment.NULL;
        MemorySegment out = MemorySegment.NULL;

        Stream(MemorySegment zs) {
            this.zs = zs;
        }
    }

    private static final ConcurrentLinkedQueue<Stream> POOL = new ConcurrentLinkedQueue<>();

    private HostZlib() { }

    @SuppressWarnings("restricted")
    private static MethodHandle[] link() {
        MethodHandle[] none = new MethodHandle[3];
        if (!"amd64".equals(System.getProperty("os.arch")) || !System.getProperty("os.name").startsWith("Linux")) {
            return none;
        }
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            ValueLayout ptr = ValueLayout.ADDRESS;
            ValueLayout i32 = ValueLayout.JAVA_INT;
            return new MethodHandle[] {
                linker.downcallHandle(lib.findOrThrow("deflateInit2_"),
                        FunctionDescriptor.of(i32, ptr, i32, i32, i32, i32, i32, ptr, i32)),
                linker.downcallHandle(lib.findOrThrow("deflate"), FunctionDescriptor.of(i32, ptr, i32)),
                linker.downcallHandle(lib.findOrThrow("deflateReset"), FunctionDescriptor.of(i32, ptr)),
            };
        } catch (RuntimeException | LinkageError e) {
            return none;
        }
    }

    static boolean available() {
        return INIT != null;
    }

    /** Raw deflate of src's remaining bytes; null if not shorter than maxLen bytes. */
    static byte[] compress(ByteBuffer src, int maxLen) {
        Stream s = POOL.poll();
        try {
            if (s == null) {
                s = open();
            }
            int n = src.remaining();
            MemorySegment input;
            if (src.isDirect()) {
                input = MemorySegment.ofBuffer(src);
            } else {
                if (s.in.byteSize() < n) {
                    s.in = Arena.global().allocate(n);
                }
                input = s.in;
                MemorySegment.copy(MemorySegment.ofBuffer(src), 0, input, 0, n);
            }
            if (s.out.byteSize() < maxLen) {
                s.out = Arena.global().allocate(maxLen);
            }
            if ((int) RESET.invokeExact(s.zs) != 0) {
                throw new IllegalStateException("deflateReset failed");
            }
            s.zs.set(ValueLayout.ADDRESS, NEXT_IN, input);
            s.zs.set(ValueLayout.JAVA_INT, AVAIL_IN, n);
            s.zs.set(ValueLayout.ADDRESS, NEXT_OUT, s.out);
            s.zs.set(ValueLayout.JAVA_INT, AVAIL_OUT, maxLen);
            int r = (int) DEFLATE.invokeExact(s.zs, Z_FINISH);
            int produced = maxLen - s.zs.get(ValueLayout.JAVA_INT, AVAIL_OUT);
            // Out of room (Z_OK / Z_BUF_ERROR): the data does not compress enough.
            return r == Z_STREAM_END && produced < maxLen ? s.out.asSlice(0, produced).toArray(ValueLayout.JAVA_BYTE) : null;
        } catch (Throwable t) {
            throw new IllegalStateException("host zlib: " + t.getMessage(), t);
        } finally {
            if (s != null) {
                s.zs.set(ValueLayout.ADDRESS, NEXT_IN, MemorySegment.NULL); // no pointer into a caller's buffer kept
                POOL.add(s);
            }
        }
    }

    private static Stream open() throws Throwable {
        MemorySegment zs = Arena.global().allocate(Z_STREAM_SIZE, 8); // zeroed: default allocator
        int r = (int) INIT.invokeExact(zs, Deflate.LEVEL, Z_DEFLATED, RAW_WINDOW_BITS, MEM_LEVEL, DEFAULT_STRATEGY,
                Arena.global().allocateFrom("1.2.13"), (int) Z_STREAM_SIZE);
        if (r != 0) {
            throw new IllegalStateException("deflateInit2 failed: " + r);
        }
        return new Stream(zs);
    }
}
