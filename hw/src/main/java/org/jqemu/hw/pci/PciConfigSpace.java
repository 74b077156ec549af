package org.jqemu.hw.pci;

import java.io.DataInput;
import java.io.DataOutput;
import java.io.IOException;

/**
 * The 256-byte type 0 configuration header and device-specific area shared by every PCI function model:
 * each byte has a mask of guest-writable bits and a mask of write-1-to-clear bits; everything else is
 * read-only. Device models keep one of these and add side effects to the registers they care about.
 */
public final class PciConfigSpace {
    public static final int SIZE = 256;
    public static final int VENDOR_ID = 0x00;
    public static final int DEVICE_ID = 0x02;
    public static final int COMMAND = 0x04;
    public static final int STATUS = 0x06;
    public static final int REVISION = 0x08;
    public static final int CLASS_PROG = 0x09;
    public static final int LATENCY_TIMER = 0x0d;
    public static final int HEADER_TYPE = 0x0e;
    public static final int SUBSYSTEM_VENDOR_ID = 0x2c;
    public static final int INTERRUPT_LINE = 0x3c;
    public static final int INTERRUPT_PIN = 0x3d;

    public static final int HEADER_MULTI_FUNCTION = 0x80;
    public static final int COMMAND_IO = 0x01;
    public static final int COMMAND_MEMORY = 0x02;
    public static final int COMMAND_BUS_MASTER = 0x04;
    /** Status bits 15-11 and 8 are "write 1 to clear" error flags. */
    private static final int STATUS_CLEARABLE = 0xf900;

    private final byte[] bytes = new byte[SIZE];
    private final byte[] writable = new byte[SIZE];
    private final byte[] clearable = new byte[SIZE];

    /**
     * @param classCode 24 bits: base class, subclass, programming interface
     */
    public PciConfigSpace(int vendor, int device, int revision, int classCode, int headerType) {
        set(VENDOR_ID, 2, vendor);
        set(DEVICE_ID, 2, device);
        set(REVISION, 1, revision);
        set(CLASS_PROG, 1, classCode);
        set(CLASS_PROG + 1, 2, classCode >>> 8);
        set(HEADER_TYPE, 1, headerType);
        setWritable(COMMAND, 2, COMMAND_IO | COMMAND_MEMORY | COMMAND_BUS_MASTER | 0x0100);
        setWritable(LATENCY_TIMER, 1, 0xff);
        setWritable(INTERRUPT_LINE, 1, 0xff);
        setClearable(STATUS, 2, STATUS_CLEARABLE);
    }

    /** Host-side store of {@code size} bytes at {@code offset}, ignoring the masks. */
    public void set(int offset, int size, int value) {
        for (int i = 0; i < size; i++) {
            bytes[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    public int get(int offset, int size) {
        int value = 0;
        for (int i = 0; i < size; i++) {
            value |= (bytes[offset + i] & 0xff) << (8 * i);
        }
        return value;
    }

    public void setWritable(int offset, int size, int mask) {
        for (int i = 0; i < size; i++) {
            writable[offset + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** Marks {@code length} bytes from {@code offset} as fully guest-writable plain storage. */
    public void setWritableRange(int offset, int length) {
        java.util.Arrays.fill(writable, offset, offset + length, (byte) 0xff);
    }

    /** Host-side fill of {@code length} bytes from {@code offset}. */
    public void fill(int offset, int length, int value) {
        java.util.Arrays.fill(bytes, offset, offset + length, (byte) value);
    }

    public void setClearable(int offset, int size, int mask) {
        for (int i = 0; i < size; i++) {
            clearable[offset + i] = (byte) (mask >>> (8 * i));
        }
    }

    /** True when the access stays inside one dword of the 256 bytes, as mechanism #1 guarantees. */
    public static boolean validAccess(int offset, int size) {
        return offset >= 0 && offset + size <= SIZE && (size == 1 || size == 2 || size == 4)
                && (offset & 3) + size <= 4;
    }

    public int read(int offset, int size) {
        if (!validAccess(offset, size)) {
            return size == 4 ? -1 : size == 2 ? 0xffff : 0xff;
        }
        return get(offset, size);
    }

    /** A guest write: writable bits take the new value, write-1-to-clear bits clear where a 1 is written. */
    public void write(int offset, int size, int value) {
        if (!validAccess(offset, size)) {
            return;
        }
        for (int i = 0; i < size; i++) {
            int at = offset + i;
            int v = (value >>> (8 * i)) & 0xff;
            int w = writable[at] & 0xff;
            int c = clearable[at] & 0xff;
            int old = bytes[at] & 0xff;
            bytes[at] = (byte) ((old & ~w | v & w) & ~(v & c));
        }
    }

    public void save(DataOutput out) throws IOException {
        out.write(bytes);
    }

    /**
     * Reads a saved space and checks that its read-only bytes match this device (a snapshot of another
     * device, or a forged one, is refused); returns the bytes for {@link #restore} without applying them.
     */
    public byte[] loadChecked(DataInput in) throws IOException {
        byte[] loaded = new byte[SIZE];
        in.readFully(loaded);
        for (int i = 0; i < SIZE; i++) {
            int fixed = ~(writable[i] | clearable[i]) & 0xff;
            if (((loaded[i] ^ bytes[i]) & fixed) != 0) {
                throw new IOException(String.format("PCI config byte 0x%02x does not match the device", i));
            }
        }
        return loaded;
    }

    public void restore(byte[] loaded) {
        System.arraycopy(loaded, 0, bytes, 0, SIZE);
    }
}
