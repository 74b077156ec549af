package org.jqemu.block.img;

import java.util.List;
import org.jqemu.block.HostFile;

/**
 * The training run of an AOT cache for jqemu-img (bench/block-convert.sh): one JVM goes through the
 * paths the benchmark measures, so the cache holds the classes each of them loads and links (a JDK 25
 * cache records one run). Usage: {@code Training RAW QCOW2 DIR}: converts the qcow2 image to raw, the raw
 * one to qcow2 and the qcow2 one to compressed qcow2, in DIR, then deletes what it made.
 */
public final class Training {
    private Training() { }

    public static void main(String[] args) throws java.io.IOException {
        if (args.length != 3) {
            System.err.println("usage: Training RAW QCOW2 DIR");
            System.exit(1);
        }
        HostFile.useRecordLocks(true);
        String raw = args[0];
        String qcow2 = args[1];
        java.nio.file.Path out = java.nio.file.Path.of(args[2], "training-output.img");
        String[][] commands = {
            {"convert", "-f", "qcow2", "-O", "raw", qcow2, out.toString()},
            {"convert", "-f", "raw", "-O", "qcow2", raw, out.toString()},
            {"convert", "-f", "qcow2", "-c", "-O", "qcow2", qcow2, out.toString()},
            {"info", out.toString()},
        };
        Main.Env env = new Main.Env(System.out, System.err);
        int status = 0;
        for (String[] c : commands) {
            status |= Main.run(List.of(c), env);
        }
        java.nio.file.Files.deleteIfExists(out);
        System.exit(status);
    }
}
