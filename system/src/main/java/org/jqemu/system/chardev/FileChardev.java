package org.jqemu.system.chardev;

import java.io.BufferedOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * QEMU's "file" backend (-serial file:PATH, -chardev file,path=PATH[,append=on]): output to a file,
 * created or truncated at start unless appending; no input. Writes are buffered and flushed by the
 * machine loop between slices; a failing disk drops output rather than stopping the guest.
 */
public final class FileChardev extends Chardev {
    private final String path;
    private final OutputStream out;

    private FileChardev(String id, String path, OutputStream out) {
        super(id);
        this.path = path;
        this.out = out;
    }

    /** Opens (creates) the file; the message of the exception is QEMU's. */
    public static FileChardev open(String id, String path, boolean append) throws ChardevException {
        try {
            Path file = Path.of(path);
            if (Files.isDirectory(file)) throw new ChardevException("Could not open '" + path + "': Is a directory");
            return new FileChardev(id, path, new BufferedOutputStream(new FileOutputStream(file.toFile(), append)));
        } catch (IOException e) {
            throw new ChardevException("Could not open '" + path + "': " + reason(Path.of(path)));
        }
    }

    /** The errno text QEMU would print for a file that cannot be created. */
    private static String reason(Path file) {
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) return "No such file or directory";
        return "Permission denied";
    }

    @Override
    public void write(int b) {
        try {
            out.write(b);
        } catch (IOException e) {
            // a full or failing disk: output is dropped, the guest goes on
        }
    }

    @Override
    public void flush() {
        try {
            out.flush();
        } catch (IOException e) {
            // as above
        }
    }

    @Override
    public void close() {
        try {
            out.close();
        } catch (IOException e) {
            // nothing left to save
        }
    }

    @Override
    public String filename() { return "file"; }

    String path() { return path; }
}
