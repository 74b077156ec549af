package org.jqemu.block;

/**
 * How to open an image.
 *
 * @param readOnly  no writes (the host file is opened read-only)
 * @param unsafe    skip host flushes (cache=unsafe: ordering only, as for a new image being converted)
 * @param noBacking do not open the backing file (qemu-img -U/info of a broken chain, rebase -u)
 */
public record OpenOptions(boolean readOnly, boolean unsafe, boolean noBacking) {
    public static final OpenOptions READ_ONLY = new OpenOptions(true, false, false);
    public static final OpenOptions READ_WRITE = new OpenOptions(false, false, false);

    public OpenOptions withNoBacking() {
        return new OpenOptions(readOnly, unsafe, true);
    }

    public OpenOptions withUnsafe() {
        return new OpenOptions(readOnly, true, noBacking);
    }
}
