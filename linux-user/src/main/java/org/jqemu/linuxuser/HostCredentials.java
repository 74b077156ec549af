package org.jqemu.linuxuser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The host process's user and group ids (QEMU passes them through to the guest). */
final class HostCredentials {
    private HostCredentials() { }

    /**
     * Read once: the ids do not change, and guest threads are woken by Thread.interrupt, which would make a
     * later read of /proc fail (interruptible channels close) and silently answer root.
     */
    private static volatile InitialStack.Credentials cached;

    static InitialStack.Credentials current() {
        InitialStack.Credentials c = cached;
        if (c == null) {
            int[] uid = ids("Uid:");
            int[] gid = ids("Gid:");
            c = new InitialStack.Credentials(uid[0], uid[1], gid[0], gid[1]);
            cached = c;
        }
        return c;
    }

    /** /proc/self/status lines "Uid:\treal\teffective\tsaved\tfs"; 0 when unreadable. */
    private static int[] ids(String key) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(key)) {
                    String[] f = line.substring(key.length()).trim().split("\\s+");
                    return new int[] {Integer.parseInt(f[0]), Integer.parseInt(f[1])};
                }
            }
        } catch (IOException | RuntimeException e) {
            // fall through: an unreadable /proc means no better answer than root
        }
        return new int[] {0, 0};
    }
}
