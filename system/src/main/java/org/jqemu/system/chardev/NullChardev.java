package org.jqemu.system.chardev;

/** QEMU's "null" backend: output vanishes, no input ever comes. */
public final class NullChardev extends Chardev {
    public NullChardev(String id) { super(id); }

    @Override
    public void write(int b) { }

    @Override
    public String filename() { return "null"; }
}
