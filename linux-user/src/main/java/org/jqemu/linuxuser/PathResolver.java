package org.jqemu.linuxuser;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * Turns a path the guest names into the host path to use, as qemu-user does with {@code -L sysroot} (or
 * QEMU_LD_PREFIX): an absolute path is looked up under the sysroot first and used from there when it exists
 * (the link itself counts, so a dangling symbolic link in the sysroot still wins); otherwise the host's own
 * path is used. Relative paths are the guest's business (they follow the working directory) and pass unchanged.
 * {@code /proc/self/exe} names the guest program, never the JVM.
 */
final class PathResolver {
    static final String SELF_EXE = "/proc/self/exe";
    private final Path sysroot;
    private final String executable;

    /** {@code sysroot} may be null (no -L); {@code executable} is the guest program's absolute host path. */
    PathResolver(String sysroot, String executable) {
        this.sysroot = sysroot == null || sysroot.isEmpty() ? null : Path.of(sysroot).toAbsolutePath().normalize();
        this.executable = executable;
    }

    /** The guest program's host path: what /proc/self/exe opens and reads as. */
    String executable() { return executable; }

    String sysroot() { return sysroot == null ? null : sysroot.toString(); }

    /** The host path for a path the guest opened, stat-ed, executed... */
    String hostPath(String guestPath) {
        if (guestPath.equals(SELF_EXE)) {
            return executable;
        }
        if (sysroot == null || !guestPath.startsWith("/")) {
            return guestPath;
        }
        try {
            Path inside = Path.of(sysroot.toString(), guestPath);
            return Files.exists(inside, LinkOption.NOFOLLOW_LINKS) ? inside.toString() : guestPath;
        } catch (InvalidPathException e) {
            return guestPath; // a NUL or malformed name: the host call will refuse it with its own errno
        }
    }

    /**
     * The host path for a call that does not follow a final symbolic link (lstat, readlink of a link):
     * /proc/self/exe stays a link, as it is for a native process (its target reads as the guest program).
     */
    String hostLinkPath(String guestPath) {
        return guestPath.equals(SELF_EXE) ? guestPath : hostPath(guestPath);
    }

    /**
     * The host path for the kernel's own lookups (the ELF interpreter named by PT_INTERP): under the sysroot
     * when it is there, else the host path.
     */
    Path interpreter(String guestPath) {
        return Path.of(hostPath(guestPath));
    }
}
