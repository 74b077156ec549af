package org.jqemu.system;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.Opts;
import org.jqemu.util.opts.OptsList;

/** The checks QEMU makes on a drive (-drive, -hda..-hdd, -cdrom, -fda, -fdb), with its messages. */
final class Drives {
    /** Drive keys the drive layer itself knows; any other key goes to the image format, which refuses it. */
    private static final Set<String> DRIVE_KEYS = Set.of("file", "if", "index", "bus", "unit", "media", "format",
            "snapshot", "readonly", "read-only", "cache", "aio", "werror", "rerror", "id", "driver", "node-name",
            "discard", "detect-zeroes", "serial", "addr", "copy-on-read", "cache.direct", "cache.no-flush",
            "auto-read-only", "help");
    /** Drive keys that describe where a drive sits, not what backs it: an empty drive may have them. */
    private static final Set<String> DRIVE_PLACEMENT_KEYS = Set.of("if", "index", "bus", "unit", "media", "id",
            "snapshot", "readonly", "read-only", "werror", "rerror", "serial", "addr", "copy-on-read");
    private static final List<String> DRIVE_INTERFACES = List.of("ide", "scsi", "floppy", "pflash", "mtd", "sd",
            "virtio", "none", "xen");
    private static final List<String> IMAGE_FORMATS = List.of("raw", "qcow2");
    private static final byte[] QCOW_MAGIC = {'Q', 'F', 'I', (byte) 0xfb};

    private Drives() { }

    /**
     * Checks one -drive (or -hda, -cdrom...) and adds it to {@code drives}; {@code snapshotAll} is -snapshot,
     * {@code rawOutput} takes QEMU's unprefixed probing warning.
     */
    static void add(Opts opts, List<MachineConfig.Drive> drives, boolean snapshotAll, Consumer<String> rawOutput) {
        for (String key : List.of("read-only", "readonly", "snapshot", "copy-on-read")) {
            String value = opts.get(key);
            if (value != null && OptsList.parseBool(value) == null) {
                throw new UserError("Parameter '" + (key.equals("readonly") ? "read-only" : key) + "' expects 'on' or 'off'");
            }
        }
        String iface = opts.get("if", "ide");
        if (!DRIVE_INTERFACES.contains(iface)) throw new UserError("unsupported bus type '" + iface + "'");
        String media = opts.get("media", "disk");
        if (!media.equals("disk") && !media.equals("cdrom")) throw new UserError("'" + media + "' invalid media");
        String format = opts.get("format");
        if (format != null && !IMAGE_FORMATS.contains(format)) throw new UserError("Unknown driver '" + format + "'");
        String file = opts.get("file");
        if (file == null) {
            if (format != null) throw new UserError("A block device must be specified for \"file\"");
            for (String key : opts.keys()) {
                if (!DRIVE_PLACEMENT_KEYS.contains(key)) throw new UserError("Must specify either driver or file");
            }
        } else {
            String probed = probeFormat(file);
            if (format == null) {
                format = probed;
                // The warning is about writes to block 0: read-only drives (CD-ROMs) do not get it.
                if (format.equals("raw") && !readOnly(opts)) {
                    rawOutput.accept("WARNING: Image format was not specified for '" + file + "' and probing guessed raw.\n"
                            + "         Automatically detecting the format is dangerous for raw images, write operations "
                            + "on block 0 will be restricted.\n"
                            + "         Specify the 'raw' format explicitly to remove the restrictions.");
                }
            }
            for (String key : opts.keys()) {
                if (!DRIVE_KEYS.contains(key)) {
                    throw new UserError("Block format '" + format + "' does not support the option '" + key + "'");
                }
            }
        }
        Integer index = null;
        if (opts.has("index")) {
            Long i = OptsList.parseInteger(opts.get("index"));
            if (i == null || i < 0) throw new UserError("Parameter 'index' expects a number");
            index = (int) (long) i;
            checkDrivePlace(iface, index, drives);
        }
        drives.add(new MachineConfig.Drive(file, format, iface, index, media, readOnly(opts),
                opts.bool("snapshot", snapshotAll), opts.get("id"), Map.of()));
    }

    private static boolean readOnly(Opts drive) {
        return drive.bool("read-only", drive.bool("readonly", "cdrom".equals(drive.get("media"))));
    }

    /** An IDE hard disk cannot be read-only (QEMU refuses when it creates the disk). */
    static void checkReadOnlyDisks(List<MachineConfig.Drive> drives) {
        for (MachineConfig.Drive d : drives) {
            if (d.interfaceType().equals("ide") && d.media().equals("disk") && d.readOnly() && d.file() != null) {
                throw new UserError("Block node is read-only");
            }
        }
    }

    /** IDE: two buses of two units; floppy: one bus of two. */
    private static void checkDrivePlace(String iface, int index, List<MachineConfig.Drive> drives) {
        int unitsPerBus = iface.equals("ide") || iface.equals("floppy") ? 2 : 1;
        int buses = iface.equals("ide") ? 2 : iface.equals("floppy") ? 1 : Integer.MAX_VALUE;
        int bus = index / unitsPerBus;
        int unit = index % unitsPerBus;
        if (bus >= buses) {
            throw new UserError("machine type does not support if=" + iface + ",bus=" + bus + ",unit=" + unit);
        }
        for (MachineConfig.Drive d : drives) {
            if (d.interfaceType().equals(iface) && d.index() != null && d.index() == index) {
                throw new UserError("drive with bus=" + bus + ", unit=" + unit + " (index=" + index + ") exists");
            }
        }
    }

    /** Opens the image like QEMU would and tells its format: qcow2 by its magic, raw otherwise. */
    private static String probeFormat(String file) {
        Path path = Path.of(file);
        try (InputStream in = Files.newInputStream(path)) {
            byte[] magic = in.readNBytes(4);
            return Arrays.equals(magic, QCOW_MAGIC) ? "qcow2" : "raw";
        } catch (NoSuchFileException e) {
            throw new UserError("Could not open '" + file + "': No such file or directory");
        } catch (AccessDeniedException e) {
            throw new UserError("Could not open '" + file + "': Permission denied");
        } catch (IOException e) {
            if (Files.isDirectory(path)) return "raw";
            throw new UserError("Could not open '" + file + "': " + e.getMessage());
        }
    }

}
