package org.jqemu.block;

/**
 * How to open an image.
 *
 * @param readOnly  no writes (the host file is opened read-only)
 * @param unsafe    skip host flushes (cache=unsafe: ordering only, as for a new image being converted)
 * @param noBacking do not open the backing file (info of a broken chain, rebase -u)
 * @param forceShare qemu-img -U: read even while another process writes (read-only only; see
 *                   {@link HostFile#lock})
 * @param forCheck  opened by check: metadata that check reports or repairs (a qcow2 snapshot entry
 *                  with too much extra data) does not prevent opening
 * @param writeThrough cache=writethrough: every write to the host file is flushed (fdatasync) before
 *                  it completes; the default is writeback (durable at flush)
 */
public record OpenOptions(boolean readOnly, boolean unsafe, boolean noBacking, boolean forceShare,
                          boolean forCheck, boolean writeThrough) {
    public static final OpenOptions READ_ONLY = new OpenOptions(true, false, false, false, false, false);
    public static final OpenOptions READ_WRITE = new OpenOptions(false, false, false, false, false, false);

    public OpenOptions withNoBacking() {
        return new OpenOptions(readOnly, unsafe, true, forceShare, forCheck, writeThrough);
    }

    public OpenOptions withUnsafe() {
        return new OpenOptions(readOnly, true, noBacking, forceShare, forCheck, false);
    }

    public OpenOptions withForCheck() {
        return new OpenOptions(readOnly, unsafe, noBacking, forceShare, true, writeThrough);
    }

    public OpenOptions withWriteThrough() {
        return new OpenOptions(readOnly, false, noBacking, forceShare, forCheck, true);
    }

    /**
     * A -drive cache= mode: writeback (the default), writethrough, unsafe; "none" and "directsync" (host
     * page cache bypassed with O_DIRECT) are not supported: a clear error.
     */
    public OpenOptions withCache(String mode) throws BlockException {
        return switch (mode) {
            case "writeback" -> this;
            case "writethrough" -> withWriteThrough();
            case "unsafe" -> withUnsafe();
            case "none", "directsync" -> throw new BlockException("cache=" + mode
                    + " (O_DIRECT) is not supported by jqemu; use writeback or writethrough");
            default -> throw new BlockException("Invalid cache option: " + mode);
        };
    }

    /** -U when given; a writable image cannot share (QEMU's rule). */
    public OpenOptions withForceShare(boolean on) throws BlockException {
        if (on && !readOnly) {
            throw new BlockException("force-share=on can only be used with read-only images");
        }
        return new OpenOptions(readOnly, unsafe, noBacking, on, forCheck, writeThrough);
    }
}
