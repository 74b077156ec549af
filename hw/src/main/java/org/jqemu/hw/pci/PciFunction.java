package org.jqemu.hw.pci;

/**
 * One PCI function's configuration space as the host bridge reaches it: {@code offset} 0-255, {@code size}
 * 1, 2 or 4 with the access inside one dword; values little-endian. Never throws for a guest's access.
 */
public interface PciFunction {
    int configRead(int offset, int size);

    void configWrite(int offset, int size, int value);
}
