package org.jqemu.hw.nvram;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jqemu.hw.pci.TestRam;
import org.junit.jupiter.api.Test;

/** Expected behaviour from QEMU's docs/specs/fw_cfg.rst. */
class FwCfgTest {
    private final TestRam ram = new TestRam(64 * 1024);
    private final FwCfg fw = new FwCfg(ram);

    private byte[] readItem(FwCfg dev, int key, int length) {
        dev.out(0x510, 2, key);
        byte[] out = new byte[length];
        for (int i = 0; i < length; i++) {
            out[i] = (byte) dev.in(0x511, 1);
        }
        return out;
    }

    /** Writes a big-endian FWCfgDmaAccess at {@code at} and triggers it as SeaBIOS does. */
    private int dma(int at, int control, int length, long address) {
        ram.put(at, ByteBuffer.allocate(16).putInt(control).putInt(length).putLong(address).array());
        fw.out(0x514, 4, 0);
        fw.out(0x518, 4, Integer.reverseBytes(at));
        return ByteBuffer.wrap(ram.get(at, 4)).getInt();
    }

    @Test
    void signatureAndFeatures() {
        assertEquals("QEMU", new String(readItem(fw, 0, 4), StandardCharsets.US_ASCII));
        assertArrayEquals(new byte[] {3, 0, 0, 0}, readItem(fw, 1, 4), "traditional + DMA");
        assertArrayEquals(new byte[] {1, 0, 0, 0}, readItem(new FwCfg(null), 1, 4));
        readItem(fw, 0, 3);
        assertArrayEquals(new byte[] {'Q', 'E'}, readItem(fw, 0, 2), "selecting resets the offset");
    }

    @Test
    void readsPastTheEndGiveZero() {
        fw.addLe16(FwCfg.KEY_NB_CPUS, 2);
        assertArrayEquals(new byte[] {2, 0, 0, 0}, readItem(fw, FwCfg.KEY_NB_CPUS, 4));
        assertArrayEquals(new byte[] {0, 0}, readItem(fw, 0x1234, 2), "absent item");
    }

    @Test
    void dmaAddressRegisterReadsSignature() {
        assertEquals(0x554d4551, fw.in(0x514, 4), "\"QEMU\" in port order");
        assertEquals(0x47464320, fw.in(0x518, 4), "\" CFG\"");
    }

    @Test
    void fileDirectoryIsBigEndianAndSorted() {
        int b = fw.addFile("etc/b", new byte[] {1, 2, 3});
        byte[] bootorder = "/pci@i0cf8/ide@1,1/drive@1/disk@0\0".getBytes(StandardCharsets.US_ASCII);
        int a = fw.addFile("bootorder", bootorder);
        assertEquals(0x20, b);
        assertEquals(0x21, a);
        ByteBuffer dir = ByteBuffer.wrap(readItem(fw, 0x19, 4 + 2 * 64));
        assertEquals(2, dir.getInt());
        assertEquals(bootorder.length, dir.getInt());
        assertEquals(0x21, dir.getShort());
        assertEquals(0, dir.getShort());
        byte[] name = new byte[56];
        dir.get(name);
        assertEquals("bootorder", new String(name, StandardCharsets.US_ASCII).replace("\0", ""));
        assertEquals(3, dir.getInt());
        assertEquals(0x20, dir.getShort());
        assertArrayEquals(new byte[] {1, 2, 3}, readItem(fw, 0x20, 3));
        assertArrayEquals(new byte[] {1, 2, 3}, readItem(fw, 0x4020, 3), "bit 14 does not change the item");
    }

    @Test
    void invalidFileNamesAndDuplicatesAreRefused() {
        fw.addFile("etc/x", new byte[0]);
        assertThrows(IllegalArgumentException.class, () -> fw.addFile("etc/x", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> fw.addFile("", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> fw.addFile("x".repeat(56), new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> fw.addFile("caf\u00e9", new byte[0]));
        assertThrows(IllegalArgumentException.class, () -> fw.addBytes(0x25, new byte[0]));
    }

    @Test
    void dmaSelectAndRead() {
        byte[] table = new byte[5000];
        new Random(5).nextBytes(table);
        int key = fw.addFile("etc/acpi/tables", table);
        assertEquals(0, dma(0x100, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ, 4000, 0x2000));
        assertEquals(0, dma(0x100, FwCfg.DMA_READ, 1000, 0x2000 + 4000), "continues at the current offset");
        assertArrayEquals(table, ram.get(0x2000, 5000));
        assertEquals(0, dma(0x100, FwCfg.DMA_READ, 8, 0x9000));
        assertArrayEquals(new byte[8], ram.get(0x9000, 8), "past the end: zeros");
        assertEquals(0, fw.in(0x511, 1));
    }

    @Test
    void dmaSkipThenTraditionalRead() {
        int key = fw.addFile("etc/e820", new byte[] {10, 11, 12, 13});
        assertEquals(0, dma(0x100, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_SKIP, 2, 0));
        assertEquals(12, fw.in(0x511, 1));
    }

    @Test
    void dmaWriteRules() {
        List<byte[]> writes = new ArrayList<>();
        int rw = fw.addFile("etc/vmgenid_addr", new byte[8], writes::add);
        int ro = fw.addFile("etc/ro", new byte[8]);
        ram.put(0x3000, (byte) 1, (byte) 2, (byte) 3, (byte) 4, (byte) 5, (byte) 6, (byte) 7, (byte) 8, (byte) 9);
        assertEquals(0, dma(0x100, rw << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 8, 0x3000));
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, fw.fileData("etc/vmgenid_addr"));
        assertEquals(1, writes.size());
        assertEquals(FwCfg.DMA_ERROR, dma(0x100, rw << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 9, 0x3001),
                "a write that would grow the item is dropped whole");
        assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}, fw.fileData("etc/vmgenid_addr"));
        assertEquals(FwCfg.DMA_ERROR, dma(0x100, ro << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 1, 0x3000));
        assertArrayEquals(new byte[8], fw.fileData("etc/ro"));
        assertEquals(1, writes.size());
    }

    @Test
    void dmaIntoUnmappedMemoryReportsError() {
        int key = fw.addFile("etc/x", new byte[16]);
        assertEquals(FwCfg.DMA_ERROR, dma(0x100, key << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_READ, 16, 1L << 40));
        assertEquals(FwCfg.DMA_ERROR, dma(0x100, FwCfg.DMA_READ, 16, 0xfff8));
    }

    @Test
    void descriptorOutsideMemoryIsIgnored() {
        fw.out(0x514, 4, Integer.reverseBytes(0x10));
        fw.out(0x518, 4, 0); // descriptor at 0x10_00000000: unmapped
        assertEquals(0x554d4551, fw.in(0x514, 4));
    }

    @Test
    void snapshotRestoresGuestWrittenFiles() throws IOException {
        int rw = fw.addFile("etc/w", new byte[4], data -> { });
        ram.put(0x3000, (byte) 9, (byte) 8, (byte) 7, (byte) 6);
        dma(0x100, rw << 16 | FwCfg.DMA_SELECT | FwCfg.DMA_WRITE, 4, 0x3000);
        fw.out(0x510, 2, 0);
        fw.in(0x511, 1);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        fw.saveState(new DataOutputStream(bytes));

        FwCfg copy = new FwCfg(ram);
        copy.addFile("etc/w", new byte[4], data -> { });
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertArrayEquals(new byte[] {9, 8, 7, 6}, copy.fileData("etc/w"));
        assertEquals('E', copy.in(0x511, 1));

        FwCfg other = new FwCfg(ram);
        other.addFile("etc/w", new byte[5], data -> { });
        assertThrows(IOException.class,
                () -> other.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1));
        assertArrayEquals(new byte[5], other.fileData("etc/w"));
    }

    @Test
    void hostileDescriptorsNeverThrow() {
        Random random = new Random(6);
        fw.addFile("etc/w", new byte[64], data -> { });
        for (int i = 0; i < 2000; i++) {
            dma(random.nextInt(0x1000), random.nextInt(), random.nextInt(), random.nextLong() & 0xffffL);
            fw.out(0x510 + random.nextInt(12), 1 << random.nextInt(3), random.nextInt());
            fw.in(0x510 + random.nextInt(12), 1 << random.nextInt(3));
        }
    }
}
