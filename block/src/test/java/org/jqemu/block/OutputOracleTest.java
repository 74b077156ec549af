package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** jqemu-img prints what qemu-img prints (same text, same exit status) for the same images. */
class OutputOracleTest {
    @TempDir
    Path dir;

    private void assertSame(String... args) {
        Oracle.Run q = Oracle.qemuImg(dir, args);
        Oracle.Run j = Oracle.jqemuImg(args);
        String what = String.join(" ", args);
        assertEquals(q.status(), j.status(), what + "\nqemu: " + q.describe() + "\nours: " + j.describe());
        assertEquals(q.out(), j.out(), what);
        assertEquals(q.err(), Oracle.asQemu(j.err()), what);
    }

    private String path(String name) {
        return dir.resolve(name).toString();
    }

    /** A set of images made by qemu: plain, backing chain, v2, zero clusters, compressed. */
    private List<String> images() {
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", path("a.qcow2"), "64M");
        Oracle.qemuIo(dir, "qcow2", path("a.qcow2"), "write -P 0xab 0 100k", "write -z 1M 64k", "write -P 5 2M 4k");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-b", path("a.qcow2"), "-F", "qcow2", path("b.qcow2"));
        Oracle.qemuIo(dir, "qcow2", path("b.qcow2"), "write -P 0xcd 64k 64k", "write -z 2M 64k");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "compat=0.10,cluster_size=4096",
                path("v2.qcow2"), "10M");
        Oracle.qemuIo(dir, "qcow2", path("v2.qcow2"), "write -P 1 8k 20k");
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "refcount_bits=1,cluster_size=512,lazy_refcounts=on",
                path("r1.qcow2"), "3M");
        Oracle.qemuIo(dir, "qcow2", path("r1.qcow2"), "write -P 7 1k 100k");
        Oracle.qemuImg(dir, "convert", "-c", "-O", "qcow2", path("a.qcow2"), path("c.qcow2"));
        Oracle.qemuImg(dir, "create", "-q", "-f", "raw", path("r.raw"), "4M");
        Oracle.qemuIo(dir, "raw", path("r.raw"), "write -P 1 1M 64k");
        return List.of("a.qcow2", "b.qcow2", "v2.qcow2", "r1.qcow2", "c.qcow2", "r.raw");
    }

    @Test
    void infoCheckAndMapMatchQemu() {
        Oracle.require();
        for (String img : images()) {
            String p = path(img);
            assertSame("info", p);
            assertSame("info", "--output=json", p);
            assertSame("check", p);
            assertSame("check", "--output=json", p);
            assertSame("map", "--output=json", p);
            if (!img.equals("c.qcow2")) {
                assertSame("map", p);
            }
        }
        assertSame("info", "--backing-chain", path("b.qcow2"));
        assertSame("info", "--backing-chain", "--output=json", path("b.qcow2"));
    }

    @Test
    void checkFindsLeaksAndErrorsLikeQemu() throws Exception {
        Oracle.require();
        images();
        // leak: raise the refcount of cluster 6 (a data cluster) from 1 to 2, and of cluster 5 to 0
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(path("a.qcow2"), "rw")) {
            f.seek(0x20000 + 2 * 6);
            f.writeShort(2);
        }
        assertSame("check", path("a.qcow2"));
        assertSame("check", "--output=json", path("a.qcow2"));
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(path("a.qcow2"), "rw")) {
            f.seek(0x20000 + 2 * 5);
            f.writeShort(0);
        }
        assertSame("check", path("a.qcow2"));
        assertSame("check", "--output=json", path("a.qcow2"));
        assertSame("check", path("r.raw"));
    }

    @Test
    void createPrintsTheSameFormattingLine() {
        Oracle.require();
        String[][] cases = {
            {"-f", "qcow2", "x1.qcow2", "64M"},
            {"-f", "qcow2", "-o", "cluster_size=2M,compat=1.1,lazy_refcounts=on,refcount_bits=64", "x2.qcow2", "1G"},
            {"-f", "qcow2", "-o", "compat=0.10", "x3.qcow2", "1.5G"},
            {"-f", "qcow2", "-o", "preallocation=metadata", "x4.qcow2", "3M"},
            {"-f", "raw", "x5.raw", "1k"},
            {"-f", "raw", "-o", "preallocation=full", "x6.raw", "100k"},
            {"-f", "qcow2", "-b", "x1.qcow2", "-F", "qcow2", "x7.qcow2"},
            {"-f", "qcow2", "-u", "-b", "nonexistent", "-F", "raw", "x8.qcow2", "5G"},
        };
        for (String[] c : cases) {
            String[] q = c.clone();
            String[] j = c.clone();
            for (int i = 0; i < c.length; i++) {
                if (c[i].startsWith("x") && c[i].contains(".")) {
                    q[i] = path("q" + c[i]);
                    j[i] = path("j" + c[i]);
                }
            }
            String[] qa = concat("create", q);
            String[] ja = concat("create", j);
            Oracle.Run qr = Oracle.qemuImg(dir, qa);
            Oracle.Run jr = Oracle.jqemuImg(ja);
            assertEquals(qr.status(), jr.status(), String.join(" ", c) + jr.describe());
            assertEquals(qr.out().replace(path("q"), path("")), jr.out().replace(path("j"), path("")));
            String created = java.util.Arrays.stream(j).filter(a -> a.startsWith(path("j"))).reduce((a, b) -> b)
                    .orElseThrow();
            Oracle.Run check = Oracle.qemuImg(dir, "check", created);
            if (c[1].equals("qcow2") && !java.util.Arrays.asList(c).contains("-u")) {
                assertEquals(0, check.status(), check.describe());
            }
        }
    }

    private static String[] concat(String first, String[] rest) {
        String[] r = new String[rest.length + 1];
        r[0] = first;
        System.arraycopy(rest, 0, r, 1, rest.length);
        return r;
    }

    @Test
    void errorsAndExitCodesMatchQemu() {
        Oracle.require();
        images();
        String x = path("e.qcow2");
        assertSame("create", "-f", "qcow2", "-o", "cluster_size=3000", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "refcount_bits=3", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "compat=0.10,lazy_refcounts=on", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "compat=0.10,refcount_bits=1", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "compat=0.10,compression_type=zstd", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "compat=0.10,extended_l2=on", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=8k", x, "1M");
        assertSame("create", "-f", "qcow", "-o", "cluster_size=4k", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "preallocation=bogus", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "compat=2", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "foo=1", x, "1M");
        assertSame("create", "-f", "qcow2", "-o", "lazy_refcounts=maybe", x, "1M");
        assertSame("create", "-f", "qcow2", x);
        assertSame("create", "-f", "qcow2", x, "5X");
        assertSame("create", "-f", "foo", x, "1M");
        assertSame("info", "-z", x);
        assertSame("info", "--foo", x);
        assertSame("info", "-f");
        assertSame("info");
        assertSame("info", "--output=xml", x);
        assertSame("info", path("nope"));
        assertSame("info", "-f", "foo", path("a.qcow2"));
        assertSame("frobnicate");
        assertSame("compare", path("a.qcow2"), path("b.qcow2"));
        assertSame("compare", path("a.qcow2"), path("a.qcow2"));
        assertSame("compare", "-s", path("a.qcow2"), path("c.qcow2"));
        assertSame("compare", path("a.qcow2"), path("r.raw"));
        assertSame("compare", "-s", path("a.qcow2"), path("r.raw"));
        assertSame("compare", path("a.qcow2"), path("nope"));
        assertSame("resize", path("v2.qcow2"), "-1M");
    }

    @Test
    void preallocatedImagesHaveQemusLayout() {
        Oracle.require();
        for (String mode : new String[] {"metadata", "falloc", "full"}) {
            for (String cs : new String[] {"4k", "64k"}) {
                String q = path("q-" + mode + cs + ".qcow2");
                String j = path("j-" + mode + cs + ".qcow2");
                String opts = "preallocation=" + mode + ",cluster_size=" + cs;
                assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", opts, q, "5M").status());
                assertEquals(0, Oracle.jqemuImg("create", "-q", "-f", "qcow2", "-o", opts, j, "5M").status());
                assertEquals(0, Oracle.qemuImg(dir, "check", j).status(), opts);
                assertEquals(Oracle.qemuImg(dir, "map", "--output=json", q).out(),
                        Oracle.qemuImg(dir, "map", "--output=json", j).out(), opts);
                assertEquals(Oracle.qemuImg(dir, "map", "--output=json", q).out(),
                        Oracle.jqemuImg("map", "--output=json", q).out(), opts);
                // "disk size" of two files written differently may differ by a file-system block: not compared
                assertEquals(Oracle.qemuImg(dir, "info", q).out().replace(q, "X").replaceAll("disk size: .*\n", ""),
                        Oracle.qemuImg(dir, "info", j).out().replace(j, "X").replaceAll("disk size: .*\n", ""), opts);
            }
        }
    }
}
