package org.jqemu.hw.pci;

/**
 * PCI bus 0: up to 32 devices of 8 functions, addressed by device/function number. Configuration reads of
 * an empty slot, or of another bus number (there is no PCI-to-PCI bridge), return all ones, which is what
 * tells the firmware nothing is there.
 */
public final class PciBus {
    private static final int DEVFNS = 256;
    private final PciFunction[] functions = new PciFunction[DEVFNS];

    /** Puts {@code function} at {@code device}.{@code fn} of bus 0. */
    public void attach(int device, int fn, PciFunction function) {
        if (device < 0 || device > 31 || fn < 0 || fn > 7) {
            throw new IllegalArgumentException("bad PCI address " + device + "." + fn);
        }
        int devfn = device << 3 | fn;
        if (functions[devfn] != null) {
            throw new IllegalArgumentException("PCI address " + device + "." + fn + " is already in use");
        }
        functions[devfn] = function;
    }

    public PciFunction function(int device, int fn) {
        return functions[(device & 31) << 3 | (fn & 7)];
    }

    public int configRead(int bus, int devfn, int offset, int size) {
        PciFunction f = bus == 0 ? functions[devfn & 0xff] : null;
        if (f == null) {
            return size == 4 ? -1 : (1 << (8 * size)) - 1;
        }
        return f.configRead(offset, size);
    }

    public void configWrite(int bus, int devfn, int offset, int size, int value) {
        PciFunction f = bus == 0 ? functions[devfn & 0xff] : null;
        if (f != null) {
            f.configWrite(offset, size, value);
        }
    }
}
