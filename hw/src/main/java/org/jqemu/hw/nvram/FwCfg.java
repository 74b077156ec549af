package org.jqemu.hw.nvram;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.jqemu.hw.core.DeviceState;
import org.jqemu.hw.isa.PortDevice;
import org.jqemu.hw.isa.PortRange;
import org.jqemu.hw.pci.DmaMemory;
import org.jqemu.memory.AddressSpace;

/**
 * QEMU's firmware configuration device as docs/specs/fw_cfg.rst defines it, on the x86 I/O ports:
 * selector 0x510 (16-bit), data 0x511 (8-bit, reads advance through the selected item, writes ignored),
 * DMA address 0x514-0x51b (64-bit big-endian; writing the low half at 0x518 starts the transfer; reading
 * gives "QEMU CFG"). Items are byte arrays under 16-bit keys; "files" (keys from 0x20) are listed in the
 * directory item 0x19. DMA transfers go through the {@link AddressSpace} given to the constructor.
 */
public final class FwCfg implements PortDevice, DeviceState {
    // ---- registers and constants ----
    public static final int SELECTOR_PORT = 0x510;
    public static final int DATA_PORT = 0x511;
    public static final int DMA_PORT = 0x514;

    public static final int KEY_SIGNATURE = 0x00;
    public static final int KEY_ID = 0x01;
    public static final int KEY_UUID = 0x02;
    public static final int KEY_RAM_SIZE = 0x03;
    public static final int KEY_NOGRAPHIC = 0x04;
    public static final int KEY_NB_CPUS = 0x05;
    public static final int KEY_MACHINE_ID = 0x06;
    public static final int KEY_KERNEL_ADDR = 0x07;
    public static final int KEY_KERNEL_SIZE = 0x08;
    public static final int KEY_KERNEL_CMDLINE = 0x09;
    public static final int KEY_INITRD_ADDR = 0x0a;
    public static final int KEY_INITRD_SIZE = 0x0b;
    public static final int KEY_BOOT_DEVICE = 0x0c;
    public static final int KEY_NUMA = 0x0d;
    public static final int KEY_BOOT_MENU = 0x0e;
    public static final int KEY_MAX_CPUS = 0x0f;
    public static final int KEY_KERNEL_ENTRY = 0x10;
    public static final int KEY_KERNEL_DATA = 0x11;
    public static final int KEY_INITRD_DATA = 0x12;
    public static final int KEY_CMDLINE_ADDR = 0x13;
    public static final int KEY_CMDLINE_SIZE = 0x14;
    public static final int KEY_CMDLINE_DATA = 0x15;
    public static final int KEY_SETUP_ADDR = 0x16;
    public static final int KEY_SETUP_SIZE = 0x17;
    public static final int KEY_SETUP_DATA = 0x18;
    public static final int KEY_FILE_DIR = 0x19;
    public static final int KEY_FILE_FIRST = 0x20;
    public static final int KEY_ARCH_LOCAL = 0x8000;
    public static final int KEY_ACPI_TABLES = KEY_ARCH_LOCAL;
    public static final int KEY_SMBIOS_ENTRIES = KEY_ARCH_LOCAL + 1;
    public static final int KEY_IRQ0_OVERRIDE = KEY_ARCH_LOCAL + 2;
    public static final int KEY_E820_TABLE = KEY_ARCH_LOCAL + 3;
    public static final int KEY_HPET = KEY_ARCH_LOCAL + 4;

    public static final int FEATURE_TRADITIONAL = 0x01;
    public static final int FEATURE_DMA = 0x02;

    public static final int DMA_ERROR = 0x01;
    public static final int DMA_READ = 0x02;
    public static final int DMA_SKIP = 0x04;
    public static final int DMA_SELECT = 0x08;
    public static final int DMA_WRITE = 0x10;

    /** Bit 14 of the selector asked for write mode in old QEMU; it no longer changes which item is selected. */
    private static final int SELECTOR_WRITE_BIT = 0x4000;
    private static final int KEY_INDEX_MASK = 0x3fff;
    private static final int MAX_KEY_INDEX = KEY_INDEX_MASK;
    private static final int FILE_NAME_SIZE = 56;
    private static final int DIRECTORY_ENTRY_SIZE = 64;
    private static final int DMA_DESCRIPTOR_SIZE = 16;
    private static final int DMA_REGISTER_SIZE = 8;
    private static final int DMA_CHUNK = 64 * 1024;
    private static final byte[] DMA_SIGNATURE = "QEMU CFG".getBytes(StandardCharsets.US_ASCII);
    private static final int NO_ITEM = -1;

    /** One configuration item; files also have a name, writable ones a callback. */
    private static final class Item {
        byte[] data;
        final String fileName;
        final Consumer<byte[]> onGuestWrite;

        Item(byte[] data, String fileName, Consumer<byte[]> onGuestWrite) {
            this.data = data;
            this.fileName = fileName;
            this.onGuestWrite = onGuestWrite;
        }

        boolean writable() {
            return onGuestWrite != null;
        }
    }

    // ---- state ----
    private final AddressSpace dmaSpace;
    private final Map<Integer, Item> items = new HashMap<>();
    private final Map<String, Integer> fileKeys = new HashMap<>();
    private int nextFileKey = KEY_FILE_FIRST;
    private int selected = NO_ITEM;
    private long offset;
    private final byte[] dmaAddress = new byte[DMA_REGISTER_SIZE];

    /** @param dmaSpace guest physical memory for the DMA interface, or null for a device without DMA */
    public FwCfg(AddressSpace dmaSpace) {
        this.dmaSpace = dmaSpace;
        addBytes(KEY_SIGNATURE, "QEMU".getBytes(StandardCharsets.US_ASCII));
        addLe32(KEY_ID, FEATURE_TRADITIONAL | (dmaSpace != null ? FEATURE_DMA : 0));
        rebuildDirectory();
    }

    @Override
    public List<PortRange> portRanges() {
        return dmaSpace != null
                ? List.of(new PortRange(SELECTOR_PORT, 2), new PortRange(DMA_PORT, DMA_REGISTER_SIZE))
                : List.of(new PortRange(SELECTOR_PORT, 2));
    }

    // ---- the machine's item API ----
    /** Sets item {@code key} (not a file key) to a copy of {@code data}. */
    public void addBytes(int key, byte[] data) {
        int index = key & ~SELECTOR_WRITE_BIT & 0xffff;
        if (index == KEY_FILE_DIR || (index & KEY_INDEX_MASK) >= KEY_FILE_FIRST && index < KEY_ARCH_LOCAL) {
            throw new IllegalArgumentException("fw_cfg key 0x" + Integer.toHexString(key) + " is reserved for files");
        }
        items.put(index, new Item(data.clone(), null, null));
    }

    public void addLe16(int key, int value) {
        addBytes(key, littleEndian(value, 2));
    }

    public void addLe32(int key, int value) {
        addBytes(key, littleEndian(value, 4));
    }

    public void addLe64(int key, long value) {
        addBytes(key, littleEndian(value, 8));
    }

    private static byte[] littleEndian(long value, int size) {
        byte[] bytes = new byte[size];
        for (int i = 0; i < size; i++) {
            bytes[i] = (byte) (value >>> (8 * i));
        }
        return bytes;
    }

    /** Adds a read-only file; returns its key. */
    public int addFile(String name, byte[] data) {
        return addFile(name, data, null);
    }

    /**
     * Adds a file; with {@code onGuestWrite} non-null the guest may overwrite it (same size) through DMA
     * write, and the callback receives the file's contents after each such write. Returns its key.
     */
    public int addFile(String name, byte[] data, Consumer<byte[]> onGuestWrite) {
        byte[] encoded = name.getBytes(StandardCharsets.US_ASCII);
        if (name.isEmpty() || encoded.length >= FILE_NAME_SIZE || !StandardCharsets.US_ASCII.newEncoder().canEncode(name)
                || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("invalid fw_cfg file name: " + name);
        }
        if (fileKeys.containsKey(name)) {
            throw new IllegalArgumentException("fw_cfg file already exists: " + name);
        }
        if (nextFileKey > MAX_KEY_INDEX) {
            throw new IllegalArgumentException("too many fw_cfg files");
        }
        int key = nextFileKey++;
        items.put(key, new Item(data.clone(), name, onGuestWrite));
        fileKeys.put(name, key);
        rebuildDirectory();
        return key;
    }

    /** Replaces the contents of an existing file (the machine regenerates tables, for instance). */
    public void replaceFile(String name, byte[] data) {
        Integer key = fileKeys.get(name);
        if (key == null) {
            throw new IllegalArgumentException("no fw_cfg file " + name);
        }
        items.get(key).data = data.clone();
        rebuildDirectory();
    }

    /** A copy of a file's current contents, or null. */
    public byte[] fileData(String name) {
        Integer key = fileKeys.get(name);
        return key == null ? null : items.get(key).data.clone();
    }

    /** Directory: big-endian count, then 64-byte entries sorted by name. */
    private void rebuildDirectory() {
        List<Map.Entry<String, Integer>> files = new ArrayList<>(fileKeys.entrySet());
        files.sort((a, b) -> a.getKey().compareTo(b.getKey())); // (not Map.Entry.comparingByKey: the JDK's lambda, spun at every start)
        ByteBuffer dir = ByteBuffer.allocate(4 + DIRECTORY_ENTRY_SIZE * files.size()).order(ByteOrder.BIG_ENDIAN);
        dir.putInt(files.size());
        for (Map.Entry<String, Integer> file : files) {
            dir.putInt(items.get(file.getValue()).data.length);
            dir.putShort((short) (int) file.getValue());
            dir.putShort((short) 0);
            byte[] name = file.getKey().getBytes(StandardCharsets.US_ASCII);
            dir.put(name);
            dir.put(new byte[FILE_NAME_SIZE - name.length]);
        }
        items.put(KEY_FILE_DIR, new Item(dir.array(), null, null));
    }

    // ---- guest-visible read/write ----
    @Override
    public int in(int port, int size) {
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= (inByte(port + i) & 0xff) << (8 * i);
        }
        return value;
    }

    private int inByte(int port) {
        if (port == DATA_PORT) {
            return readDataByte();
        }
        int dmaOffset = port - DMA_PORT;
        if (dmaSpace != null && dmaOffset >= 0 && dmaOffset < DMA_REGISTER_SIZE) {
            return DMA_SIGNATURE[dmaOffset];
        }
        return 0; // the selector is write-only
    }

    private int readDataByte() {
        Item item = selected == NO_ITEM ? null : items.get(selected);
        if (item == null || offset >= item.data.length) {
            return 0;
        }
        return item.data[(int) offset++] & 0xff;
    }

    @Override
    public void out(int port, int size, int value) {
        if (port == SELECTOR_PORT) {
            select(size == 1 ? value & 0xff : value & 0xffff);
            return;
        }
        int dmaOffset = port - DMA_PORT;
        if (dmaSpace == null || dmaOffset < 0 || dmaOffset >= DMA_REGISTER_SIZE) {
            return; // data register writes are ignored since QEMU 2.4
        }
        boolean trigger = false;
        for (int i = 0; i < size && dmaOffset + i < DMA_REGISTER_SIZE; i++) {
            dmaAddress[dmaOffset + i] = (byte) (value >>> (8 * i));
            trigger |= dmaOffset + i == DMA_REGISTER_SIZE - 1;
        }
        if (trigger) {
            long address = ByteBuffer.wrap(dmaAddress).order(ByteOrder.BIG_ENDIAN).getLong();
            Arrays.fill(dmaAddress, (byte) 0);
            runDma(address);
        }
    }

    private void select(int selector) {
        int index = selector & ~SELECTOR_WRITE_BIT & 0xffff;
        selected = items.containsKey(index) ? index : NO_ITEM;
        offset = 0;
    }

    /** Processes one FWCfgDmaAccess descriptor at {@code address} and writes its status back. */
    private void runDma(long address) {
        byte[] descriptor = new byte[DMA_DESCRIPTOR_SIZE];
        if (!DmaMemory.read(dmaSpace, address, descriptor, 0, DMA_DESCRIPTOR_SIZE)) {
            return; // no descriptor to report into
        }
        ByteBuffer d = ByteBuffer.wrap(descriptor).order(ByteOrder.BIG_ENDIAN);
        int control = d.getInt();
        long length = Integer.toUnsignedLong(d.getInt());
        long target = d.getLong();
        if ((control & DMA_SELECT) != 0) {
            select(control >>> 16);
        }
        boolean ok;
        if ((control & DMA_READ) != 0) {
            ok = dmaRead(target, length);
        } else if ((control & DMA_WRITE) != 0) {
            ok = dmaWrite(target, length);
        } else if ((control & DMA_SKIP) != 0) {
            offset = Math.min(offset + length, Integer.MAX_VALUE);
            ok = true;
        } else {
            ok = true;
        }
        byte[] status = ByteBuffer.allocate(4).order(ByteOrder.BIG_ENDIAN).putInt(ok ? 0 : DMA_ERROR).array();
        DmaMemory.write(dmaSpace, address, status, 0, status.length);
    }

    /** Item bytes from the current offset to guest memory; past the item's end the guest gets zeros. */
    private boolean dmaRead(long target, long length) {
        Item item = selected == NO_ITEM ? null : items.get(selected);
        byte[] chunk = new byte[(int) Math.min(length, DMA_CHUNK)];
        long done = 0;
        while (done < length) {
            int n = (int) Math.min(length - done, chunk.length);
            Arrays.fill(chunk, 0, n, (byte) 0);
            if (item != null && offset < item.data.length) {
                int available = (int) Math.min(n, item.data.length - offset);
                System.arraycopy(item.data, (int) offset, chunk, 0, available);
            }
            if (!DmaMemory.write(dmaSpace, target + done, chunk, 0, n)) {
                return false;
            }
            offset = Math.min(offset + n, Integer.MAX_VALUE);
            done += n;
        }
        return true;
    }

    /** Guest memory to the item; refused whole when read-only or when it would run past the item's end. */
    private boolean dmaWrite(long target, long length) {
        Item item = selected == NO_ITEM ? null : items.get(selected);
        if (item == null || !item.writable() || offset + length > item.data.length) {
            return false;
        }
        byte[] incoming = new byte[(int) length];
        if (!DmaMemory.read(dmaSpace, target, incoming, 0, incoming.length)) {
            return false;
        }
        System.arraycopy(incoming, 0, item.data, (int) offset, incoming.length);
        offset += length;
        item.onGuestWrite.accept(item.data.clone());
        return true;
    }

    // ---- reset ----
    @Override
    public void reset() {
        selected = NO_ITEM;
        offset = 0;
        Arrays.fill(dmaAddress, (byte) 0);
    }

    // ---- snapshot state ----
    /** Selector, offset, DMA register, and the contents of guest-writable files (the rest is host config). */
    @Override
    public void saveState(DataOutput out) throws IOException {
        out.writeInt(selected);
        out.writeLong(offset);
        out.write(dmaAddress);
        List<Map.Entry<String, Integer>> writable = new ArrayList<>();
        for (Map.Entry<String, Integer> file : fileKeys.entrySet()) {
            if (items.get(file.getValue()).writable()) {
                writable.add(file);
            }
        }
        writable.sort(Map.Entry.comparingByKey());
        out.writeInt(writable.size());
        for (Map.Entry<String, Integer> file : writable) {
            out.writeUTF(file.getKey());
            byte[] data = items.get(file.getValue()).data;
            out.writeInt(data.length);
            out.write(data);
        }
    }

    @Override
    public void loadState(DataInput in, int version) throws IOException {
        requireStateVersion("fw_cfg", version);
        int newSelected = in.readInt();
        long newOffset = in.readLong();
        byte[] newDma = new byte[DMA_REGISTER_SIZE];
        in.readFully(newDma);
        if ((newSelected != NO_ITEM && !items.containsKey(newSelected)) || newOffset < 0 || newOffset > Integer.MAX_VALUE) {
            throw new IOException("fw_cfg: invalid selector state");
        }
        int count = in.readInt();
        if (count < 0 || count > fileKeys.size()) {
            throw new IOException("fw_cfg: invalid writable file count");
        }
        Map<Integer, byte[]> contents = new HashMap<>();
        for (int i = 0; i < count; i++) {
            String name = in.readUTF();
            Integer key = fileKeys.get(name);
            int length = in.readInt();
            if (key == null || !items.get(key).writable() || length != items.get(key).data.length) {
                throw new IOException("fw_cfg: snapshot file " + name + " does not match this machine");
            }
            byte[] data = new byte[length];
            in.readFully(data);
            contents.put(key, data);
        }
        selected = newSelected;
        offset = newOffset;
        System.arraycopy(newDma, 0, dmaAddress, 0, DMA_REGISTER_SIZE);
        contents.forEach((key, data) -> items.get(key).data = data);
    }
}
