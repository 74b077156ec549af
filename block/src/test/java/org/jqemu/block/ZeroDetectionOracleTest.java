package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * convert's zero detection (-S) at its boundaries, and what block status reports for freshly written
 * images, against qemu-img: the same bytes and the same sparseness (`qemu-img map --output=json` of
 * both tools' outputs equal).
 */
class ZeroDetectionOracleTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private String path(String n) {
        return dir.resolve(n).toString();
    }

    @BeforeEach
    void oracle() {
        Oracle.require();
    }

    /**
     * A 6 MiB raw source whose data sits at the edges of what convert looks at: single non-zero bytes at
     * the first and last byte of a 4 KiB unit, of a 64 KiB cluster and of a 2 MiB piece; zero units
     * between data; a wholly zero written range; and a tail left as a hole.
     */
    private String edgySource() throws IOException {
        String src = path("edgy.raw");
        try (RandomAccessFile f = new RandomAccessFile(src, "rw")) {
            f.setLength(6L * MIB);
            long[] ones = {0, 4095, 8192 + 4095, 65536, 65536 * 2 - 1, 2L * MIB - 1, 2L * MIB, 3L * MIB + 12288,
                4L * MIB - 8, 4L * MIB + 7};
            for (long p : ones) {
                f.seek(p);
                f.write(0x5a);
            }
            f.seek(5L * MIB);
            f.write(new byte[256 << 10]); // written zeros: data in the file, zeros in the image
        }
        return src;
    }

    private void sameAsQemuImg(String src, String srcFmt, String outFmt, String... options) throws IOException {
        String theirs = path("theirs." + outFmt);
        String ours = path("ours." + outFmt);
        String[] common = new String[options.length + 4];
        common[0] = "-f";
        common[1] = srcFmt;
        common[2] = "-O";
        common[3] = outFmt;
        System.arraycopy(options, 0, common, 4, options.length);
        Oracle.Run q = Oracle.qemuImg(dir, concat(concat(new String[] {"convert"}, common), src, theirs));
        assertEquals(0, q.status(), q.describe());
        Oracle.Run j = Oracle.jqemuImg(concat(concat(new String[] {"convert"}, common), src, ours));
        assertEquals(0, j.status(), j.describe());
        String what = String.join(" ", common);
        assertEquals(Oracle.qemuImg(dir, "map", "--output=json", theirs).out(),
                Oracle.qemuImg(dir, "map", "--output=json", ours).out(), "map after convert " + what);
        assertArrayEquals(Oracle.rawContents(dir, theirs), Oracle.rawContents(dir, ours), "data after " + what);
        Files.delete(Path.of(theirs));
        Files.delete(Path.of(ours));
    }

    private static String[] concat(String[] a, String... b) {
        String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /**
     * Not covered, a known difference: a raw target with -S above 4 KiB from a source with holes between
     * small data blocks (qemu-img skips every hole the source reports whatever -S is; jqemu-img writes each
     * -S unit that holds data whole).
     */
    @Test
    void rawSourceToRawAndQcow2WithEachSparseSize() throws IOException {
        String src = edgySource();
        for (String out : new String[] {"raw", "qcow2"}) {
            sameAsQemuImg(src, "raw", out);
            sameAsQemuImg(src, "raw", out, "-S", "0");
            sameAsQemuImg(src, "raw", out, "-S", "512");
        }
        sameAsQemuImg(src, "raw", "qcow2", "-S", "64k");
    }

    @Test
    void qcow2SourceToRawWithEachSparseSize() throws IOException {
        String src = path("edgy.qcow2");
        Oracle.Run r = Oracle.qemuImg(dir, "convert", "-f", "raw", "-O", "qcow2", "-S", "0", edgySource(), src);
        assertEquals(0, r.status(), r.describe());
        sameAsQemuImg(src, "qcow2", "raw");
        sameAsQemuImg(src, "qcow2", "raw", "-S", "0");
        sameAsQemuImg(src, "qcow2", "raw", "-S", "1M");
    }

    /**
     * A plain copy goes in 512 KiB pieces (2 MiB when the zero-test unit does not divide that: here
     * clusters of 1 MiB and more), read ahead by one thread per spare core: sources smaller than a piece,
     * of exactly one, and of a piece and a bit, with data at a piece's first and last byte, a zero 4 KiB
     * block and a hole, copy as qemu-img copies them whatever -m and the piece size.
     */
    @Test
    void sourcesAroundOnePieceWithEachParallelism() throws IOException {
        int piece = 512 << 10;
        for (long size : new long[] {300 << 10, piece, piece + 8704}) {
            String src = path("piece-" + size + ".raw");
            try (RandomAccessFile f = new RandomAccessFile(src, "rw")) {
                f.setLength(size);
                for (long p : new long[] {0, 4096 + 17, 200 << 10, piece - 1, piece, size - 1}) {
                    if (p < size) {
                        f.seek(p);
                        f.write(0x3c);
                    }
                }
                f.seek(12288);
                f.write(new byte[4096]); // written zeros
            }
            for (String m : new String[] {"1", "2", "16"}) {
                sameAsQemuImg(src, "raw", "raw", "-m", m);
                sameAsQemuImg(src, "raw", "qcow2", "-m", m);
            }
            sameAsQemuImg(src, "raw", "qcow2", "-o", "cluster_size=1M");
            sameAsQemuImg(src, "raw", "qcow2", "-o", "cluster_size=2M", "-m", "1");
        }
    }

    /**
     * Block status of images just written by qemu-io, whose partly written clusters leave holes in the host
     * file: qemu-img treats such an image as metadata-preallocated (and asks the host file about holes)
     * only when noticeably more clusters are referenced than allocated; map must agree either way.
     */
    @Test
    void mapOfFreshlyWrittenImagesMatchesQemu() {
        String partial = path("partial.qcow2");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", partial, "64M");
        Oracle.qemuIo(dir, "qcow2", partial, "write -P 0xab 0 100k", "write -z 1M 64k", "write -P 5 2M 4k");
        assertEquals(Oracle.qemuImg(dir, "map", "--output=json", partial).out(),
                Oracle.jqemuImg("map", "--output=json", partial).out(), "partly written clusters");
        String prealloc = path("prealloc.qcow2");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata", prealloc, "16M");
        Oracle.qemuIo(dir, "qcow2", prealloc, "write -P 7 0 4k", "write -P 8 1M 100k");
        assertEquals(Oracle.qemuImg(dir, "map", "--output=json", prealloc).out(),
                Oracle.jqemuImg("map", "--output=json", prealloc).out(), "preallocation=metadata");
        assertEquals(Oracle.qemuImg(dir, "measure", "-O", "qcow2", partial).out(),
                Oracle.jqemuImg("measure", "-O", "qcow2", partial).out(), "measure");
    }

    /** The header is read as 4 KiB, then as a whole cluster when clusters are bigger: backing names at both ends. */
    @Test
    void headerAndBackingNameWithSmallAndBigClusters() {
        String base = path("base.raw");
        Oracle.qemuImg(dir, "create", "-q", "-f", "raw", base, "4M");
        for (String cluster : new String[] {"512", "4k", "64k", "2M"}) {
            String top = path("top-" + cluster + ".qcow2");
            Oracle.Run c = Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + cluster,
                    "-b", base, "-F", "raw", top);
            assertEquals(0, c.status(), c.describe());
            assertEquals(Oracle.qemuImg(dir, "info", "--output=json", top).out(),
                    Oracle.jqemuImg("info", "--output=json", top).out(), "cluster_size=" + cluster);
        }
    }
}
