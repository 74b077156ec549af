package org.jqemu.block;

import java.nio.file.Path;
import org.jqemu.block.qcow.QcowDevice;
import org.jqemu.block.qcow2.Qcow2Create;
import org.jqemu.block.qcow2.Qcow2Device;
import org.jqemu.block.raw.RawDevice;

/** Opening images by name: format probing, the driver registry and backing-chain resolution. */
public final class Images {
    public static final String[] FORMATS = {"qcow2", "raw", "qcow"};
    /** Deeper chains are refused rather than risking the stack (QEMU has no such limit but no use for one). */
    private static final int MAX_CHAIN = 512;

    private Images() { }

    public static boolean isKnownFormat(String format) {
        for (String f : FORMATS) {
            if (f.equals(format)) {
                return true;
            }
        }
        return false;
    }

    /** Guesses the format from the first bytes of the file, as QEMU's probing does. */
    public static String probe(Path path) throws BlockException {
        try (HostFile f = HostFile.open(path, false)) {
            byte[] head = f.read(0, 8);
            if (head[0] == 'Q' && head[1] == 'F' && head[2] == 'I' && (head[3] & 0xff) == 0xfb) {
                return head[4] == 0 && head[5] == 0 && head[6] == 0 && head[7] == 1 ? "qcow" : "qcow2";
            }
            return "raw";
        }
    }

    /**
     * Opens an image; format null means probe. Errors read "Could not open 'name': reason" as QEMU's.
     */
    public static BlockDevice open(String filename, String format, OpenOptions options) throws BlockException {
        return open(filename, format, options, new java.util.ArrayList<>());
    }

    /** above: the real paths of the images above this one in its chain, to refuse loops. */
    private static BlockDevice open(String filename, String format, OpenOptions options, java.util.List<Path> above)
            throws BlockException {
        if (format != null && !isKnownFormat(format)) {
            throw new BlockException("Could not open '" + filename + "': Unknown driver '" + format + "'");
        }
        Path path = Path.of(filename);
        HostFile file;
        try {
            String fmt = format != null ? format : probe(path);
            file = HostFile.open(path, !options.readOnly(), options.writeThrough());
            format = fmt;
            Path real = realPath(path);
            if (above.contains(real)) {
                file.close();
                throw new BlockException("Backing file '" + filename + "' creates an infinite loop.");
            }
            if (above.size() >= MAX_CHAIN) {
                file.close();
                throw new BlockException("Backing chain longer than " + MAX_CHAIN + " images");
            }
            above = new java.util.ArrayList<>(above);
            above.add(real);
            try {
                file.lock(!options.readOnly(), options.forceShare());
            } catch (BlockException e) {
                file.close();
                throw e;
            }
        } catch (BlockException e) {
            throw new BlockException("Could not open '" + filename + "': " + e.getMessage());
        }
        java.util.List<Path> chain = above;
        try {
            return switch (format) {
                case "qcow2" -> Qcow2Device.open(file, filename, options,
                        (name, fmt) -> openBacking(filename, name, fmt, options, chain));
                case "qcow" -> QcowDevice.open(file, filename, options.readOnly(), options.noBacking(),
                        (name, fmt) -> openBacking(filename, name, fmt, options, chain));
                default -> new RawDevice(file, filename, options.readOnly(), options.unsafe());
            };
        } catch (BlockException e) {
            file.close();
            String msg = e.getMessage();
            throw new BlockException(msg.startsWith("Could not open '" + filename + "'") ? msg
                    : "Could not open '" + filename + "': " + msg);
        }
    }

    /**
     * Opens an image with a temporary overlay, as -snapshot does: a new qcow2 image backed by it takes
     * every write, and the image itself is opened read-only, so it never changes. The overlay is
     * created in $TMPDIR (/var/tmp by default, as QEMU's) and unlinked at once: it disappears when
     * closed, or when the process dies.
     */
    public static BlockDevice openWithTemporaryOverlay(String filename, String format) throws BlockException {
        String fmt = format != null ? format : probe(Path.of(filename));
        long size;
        try (BlockDevice base = open(filename, fmt, OpenOptions.READ_ONLY)) {
            size = base.size();
        }
        Path overlay;
        try {
            String tmp = System.getenv("TMPDIR");
            overlay = java.nio.file.Files.createTempFile(Path.of(tmp != null && !tmp.isEmpty() ? tmp : "/var/tmp"),
                    "jqemu-snapshot-", ".qcow2");
        } catch (java.io.IOException e) {
            throw new BlockException("Could not create temporary overlay: " + HostFile.describe(e));
        }
        try {
            Qcow2Create.createOverlay(overlay, realPath(Path.of(filename)).toString(), fmt, size);
            return open(overlay.toString(), "qcow2", OpenOptions.READ_WRITE);
        } finally {
            try {
                java.nio.file.Files.deleteIfExists(overlay);
            } catch (java.io.IOException e) {
                // The open descriptor keeps it usable; a leftover file in the temporary directory is all.
            }
        }
    }

    private static BlockDevice openBacking(String imageName, String backingName, String format,
                                           OpenOptions options, java.util.List<Path> above) throws BlockException {
        String resolved = resolveBacking(imageName, backingName);
        try {
            return open(resolved, format, new OpenOptions(true, options.unsafe(), false, options.forceShare(), false, false), above);
        } catch (BlockException e) {
            throw new BlockException("Could not open backing file: " + e.getMessage());
        }
    }

    private static Path realPath(Path p) {
        try {
            return p.toRealPath();
        } catch (java.io.IOException e) {
            return p.toAbsolutePath().normalize();
        }
    }

    /** A relative backing file name is relative to the directory of the image naming it. */
    public static String resolveBacking(String imageName, String backingName) {
        if (backingName.startsWith("/") || backingName.contains(":")) {
            return backingName;
        }
        int slash = imageName.lastIndexOf('/');
        return slash < 0 ? backingName : imageName.substring(0, slash + 1) + backingName;
    }
}
