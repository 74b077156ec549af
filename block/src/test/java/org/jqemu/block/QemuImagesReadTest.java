package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Images made by qemu-img/qemu-io must read through our drivers exactly as qemu-img convert reads them. */
class QemuImagesReadTest {
    @TempDir
    Path dir;

    private byte[] readAll(String img) throws BlockException {
        try (BlockDevice d = Images.open(img, null, OpenOptions.READ_ONLY)) {
            byte[] b = new byte[(int) d.size()];
            d.read(0, b, 0, b.length);
            return b;
        }
    }

    private String qemuImage(String name, String opts, String size, String... ioCommands) {
        String img = dir.resolve(name).toString();
        Oracle.Run c = Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", opts, img, size);
        assertEquals(0, c.status(), c.describe());
        if (ioCommands.length > 0) {
            Oracle.Run io = Oracle.qemuIo(dir, "qcow2", img, ioCommands);
            assertEquals(0, io.status(), io.describe());
        }
        return img;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
        "cluster_size=512,refcount_bits=1",
        "cluster_size=4096,refcount_bits=8",
        "cluster_size=65536",
        "cluster_size=2M,refcount_bits=64",
        "compat=0.10",
        "cluster_size=16384,lazy_refcounts=on",
    })
    void patternsZeroesAndDiscards(String opts) throws Exception {
        Oracle.require();
        String img = qemuImage("q.qcow2", opts, "5M",
                "write -P 0x41 0 1M", "write -P 0x42 777 3333", "write -z 64k 128k", "write -P 0x43 3M 1M",
                "discard 3M 64k", "write -z -u 4M 512k", "write -P 0x44 4100k 1k");
        assertArrayEquals(Oracle.rawContents(dir, img), readAll(img));
    }

    @Test
    void compressedByQemuImgConvert() throws Exception {
        Oracle.require();
        String src = qemuImage("src.qcow2", "cluster_size=65536", "3M",
                "write -P 0x61 0 1M", "write -P 0x62 1500k 100k", "write -P 0x63 2M 5000");
        String comp = dir.resolve("comp.qcow2").toString();
        assertEquals(0, Oracle.qemuImg(dir, "convert", "-c", "-O", "qcow2", src, comp).status());
        String comp4k = dir.resolve("comp4k.qcow2").toString();
        assertEquals(0, Oracle.qemuImg(dir, "convert", "-c", "-O", "qcow2", "-o", "cluster_size=4096",
                src, comp4k).status());
        byte[] expected = Oracle.rawContents(dir, src);
        assertArrayEquals(expected, readAll(comp));
        assertArrayEquals(expected, readAll(comp4k));
    }

    @Test
    void backingChainOfThree() throws Exception {
        Oracle.require();
        String base = dir.resolve("base.raw").toString();
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "raw", base, "3M").status());
        Oracle.qemuIo(dir, "raw", base, "write -P 0x71 0 3M");
        String mid = dir.resolve("mid.qcow2").toString();
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", mid);
        Oracle.qemuIo(dir, "qcow2", mid, "write -P 0x72 64k 64k", "write -z 1M 64k");
        String top = dir.resolve("top.qcow2").toString();
        Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "cluster_size=4096", "-b", "mid.qcow2",
                "-F", "qcow2", top, "4M");
        Oracle.qemuIo(dir, "qcow2", top, "write -P 0x73 100k 10", "discard 64k 4k", "write -P 0x74 3M 1M");
        assertArrayEquals(Oracle.rawContents(dir, top), readAll(top));
    }

    @Test
    void extendedL2ReadOnly() throws Exception {
        Oracle.require();
        String base = qemuImage("xb.qcow2", "extended_l2=on,cluster_size=64k", "4M", "write -P 1 0 4M");
        String top = dir.resolve("xt.qcow2").toString();
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=32k",
                "-b", base, "-F", "qcow2", top).status());
        Oracle.qemuIo(dir, "qcow2", top, "write -P 2 1k 1k", "write -z 40k 2k", "write -P 3 100k 33k",
                "discard 200k 64k", "write -c -P 4 1M 32k");
        assertArrayEquals(Oracle.rawContents(dir, top), readAll(top));
        for (String[] args : new String[][] {{"info", "--output=json", top}, {"check", top},
                {"map", "--output=json", top}}) {
            assertEquals(Oracle.qemuImg(dir, args).out(), Oracle.jqemuImg(args).out(), String.join(" ", args));
        }
    }

    @Test
    void qcowVersion1() throws Exception {
        Oracle.require();
        String base = dir.resolve("v1.qcow").toString();
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow", base, "5M").status());
        Oracle.qemuIo(dir, "qcow", base, "write -P 7 5000 70000", "write -P 8 3M 4k");
        String top = dir.resolve("v1top.qcow").toString();
        assertEquals(0, Oracle.qemuImg(dir, "create", "-q", "-f", "qcow", "-b", base, "-F", "qcow", top).status());
        Oracle.qemuIo(dir, "qcow", top, "write -P 9 4M 10k");
        assertArrayEquals(Oracle.rawContents(dir, top), readAll(top));
        for (String[] args : new String[][] {{"info", top}, {"info", "--output=json", base},
                {"map", "--output=json", top}, {"info", "--backing-chain", top}}) {
            assertEquals(Oracle.qemuImg(dir, args).out(), Oracle.jqemuImg(args).out(), String.join(" ", args));
        }
    }
}
