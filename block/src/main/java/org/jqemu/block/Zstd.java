package org.jqemu.block;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * zstd frames, as qcow2 stores compressed clusters with compression_type=zstd: one frame per cluster,
 * possibly followed by padding up to the next sector. Calls the host's libzstd (libzstd.so.1) through
 * the FFM API: the reference implementation, the same library qemu-img uses, and no Maven dependency
 * (see the block POM). Without libzstd every call fails with a clear {@link BlockException}.
 */
public final class Zstd {
    /** zstd's default level, the one QEMU compresses with. */
    private static final int LEVEL = 3;
    private static final String LIBRARY = "libzstd.so.1";

    private static final MethodHandle COMPRESS;
    private static final MethodHandle DECOMPRESS;
    private static final MethodHandle FRAME_SIZE;
    private static final MethodHandle IS_ERROR;
    private static final MethodHandle ERROR_NAME;

    static {
        MethodHandle[] h = link();
        COMPRESS = h[0];
        DECOMPRESS = h[1];
        FRAME_SIZE = h[2];
        IS_ERROR = h[3];
        ERROR_NAME = h[4];
    }

    private Zstd() { }

    @SuppressWarnings("restricted")
    private static MethodHandle[] link() {
        MethodHandle[] none = new MethodHandle[5];
        try {
            Linker linker = Linker.nativeLinker();
            SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
            ValueLayout size = ValueLayout.JAVA_LONG;
            ValueLayout ptr = ValueLayout.ADDRESS;
            return new MethodHandle[] {
                linker.downcallHandle(lib.findOrThrow("ZSTD_compress"),
                        FunctionDescriptor.of(size, ptr, size, ptr, size, ValueLayout.JAVA_INT)),
                linker.downcallHandle(lib.findOrThrow("ZSTD_decompress"),
                        FunctionDescriptor.of(size, ptr, size, ptr, size)),
                linker.downcallHandle(lib.findOrThrow("ZSTD_findFrameCompressedSize"),
                        FunctionDescriptor.of(size, ptr, size)),
                linker.downcallHandle(lib.findOrThrow("ZSTD_isError"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, size)),
                linker.downcallHandle(lib.findOrThrow("ZSTD_getErrorName"),
                        FunctionDescriptor.of(ptr, size)),
            };
        } catch (RuntimeException | LinkageError e) {
            return none;
        }
    }

    /** True when the host's libzstd could be loaded. */
    public static boolean available() {
        return COMPRESS != null;
    }

    private static void requireLibrary() throws BlockException {
        if (!available()) {
            throw new BlockException("zstd compression needs the host library " + LIBRARY
                    + " (Debian package libzstd1), which could not be loaded");
        }
    }

    /**
     * Compresses src into one zstd frame; null if the frame is not shorter than maxLen bytes (the
     * caller then stores the data uncompressed).
     */
    public static byte[] compress(byte[] src, int maxLen) throws BlockException {
        requireLibrary();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(src.length);
            MemorySegment.copy(src, 0, in, ValueLayout.JAVA_BYTE, 0, src.length);
            MemorySegment out = arena.allocate(maxLen);
            long n = (long) COMPRESS.invokeExact(out, (long) maxLen, in, (long) src.length, LEVEL);
            if ((int) IS_ERROR.invokeExact(n) != 0 || n >= maxLen) {
                return null; // destination too small: the data does not compress enough
            }
            return out.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE);
        } catch (Throwable t) {
            throw new BlockException("zstd compression failed: " + t);
        }
    }

    /** Decompresses the frame at the start of in (trailing padding ignored) into exactly out.length bytes. */
    public static void decompress(byte[] in, byte[] out, String where) throws BlockException {
        requireLibrary();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(Math.max(1, in.length));
            MemorySegment.copy(in, 0, src, ValueLayout.JAVA_BYTE, 0, in.length);
            long frame = (long) FRAME_SIZE.invokeExact(src, (long) in.length);
            if ((int) IS_ERROR.invokeExact(frame) != 0) {
                throw new BlockException("Could not read compressed cluster at " + where + ": " + errorName(frame));
            }
            MemorySegment dst = arena.allocate(Math.max(1, out.length));
            long n = (long) DECOMPRESS.invokeExact(dst, (long) out.length, src, frame);
            if ((int) IS_ERROR.invokeExact(n) != 0) {
                throw new BlockException("Could not read compressed cluster at " + where + ": " + errorName(n));
            }
            if (n != out.length) {
                throw new BlockException("Could not read compressed cluster at " + where + ": truncated data");
            }
            MemorySegment.copy(dst, ValueLayout.JAVA_BYTE, 0, out, 0, out.length);
        } catch (BlockException e) {
            throw e;
        } catch (Throwable t) {
            throw new BlockException("Could not read compressed cluster at " + where + ": " + t);
        }
    }

    @SuppressWarnings("restricted")
    private static String errorName(long code) throws Throwable {
        MemorySegment name = (MemorySegment) ERROR_NAME.invokeExact(code);
        return name.reinterpret(256).getString(0);
    }
}
