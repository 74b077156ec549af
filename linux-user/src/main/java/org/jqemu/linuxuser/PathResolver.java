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
    private static final java.util.regex.Pattern FD_PATH =
            java.util.regex.Pattern.compile("/(?:proc/self/fd|dev/fd)/(\\d{1,9})(/.*)?");
    private static final String NO_SUCH_DESCRIPTOR = "/proc/self/fd/-1";
    private static final String[] STANDARD_STREAMS = {"/dev/stdin", "/dev/stdout", "/dev/stderr"};
    private final Path sysroot;
    private final String executable;
    /** Guest descriptor → host descriptor (-1 when the file lives in the JVM); set by the system calls. */
    private volatile java.util.function.IntUnaryOperator hostDescriptors = fd -> -1;
    /** "/proc/PID/" for the guest's own pid, which names the same files as /proc/self/. */
    private volatile String ownProcDirectory = "/proc/self/";

    /** {@code sysroot} may be null (no -L); {@code executable} is the guest program's absolute host path. */
    PathResolver(String sysroot, String executable) {
        this.sysroot = sysroot == null || sysroot.isEmpty() ? null : Path.of(sysroot).toAbsolutePath().normalize();
        this.executable = executable;
    }

    /** The guest program's host path: what /proc/self/exe opens and reads as. */
    String executable() { return executable; }

    String sysroot() { return sysroot == null ? null : sysroot.toString(); }

    /**
     * The guest's pid (/proc/PID/ is /proc/self/ to it) and how to find the host descriptor behind a guest
     * descriptor, for /proc/self/fd/N and /dev/fd/N.
     */
    void setProcess(int pid, java.util.function.IntUnaryOperator lookup) {
        ownProcDirectory = "/proc/" + pid + "/";
        hostDescriptors = lookup;
    }

    /** /proc/self/exe, or /proc/PID/exe with the guest's pid (a path resolving /proc/self one link at a time). */
    boolean isSelfExe(String guestPath) {
        return guestPath.equals(SELF_EXE) || guestPath.equals(ownProcDirectory + "exe");
    }

    /** /proc/PID/... with the guest's pid as /proc/self/...; other paths unchanged. */
    private String selfForm(String guestPath) {
        return guestPath.startsWith(ownProcDirectory) ? "/proc/self/" + guestPath.substring(ownProcDirectory.length()) : guestPath;
    }

    /** The host path for a path the guest opened, stat-ed, executed... */
    String hostPath(String guestPath) {
        if (isSelfExe(guestPath)) {
            return executable;
        }
        String descriptor = descriptorPath(selfForm(guestPath));
        if (descriptor != null) {
            return descriptor;
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
     * /proc/self/fd/N, /dev/fd/N and /dev/stdin (stdout, stderr) name the guest's descriptor N, which is
     * another number on the host (the JVM's own N is something else): the host's /proc/self/fd/H for its host
     * descriptor H. A closed descriptor, or one the JVM models, has no host path: it gets a name the host
     * refuses (ENOENT) rather than the JVM's own descriptor N.
     */
    private String descriptorPath(String guestPath) {
        for (int i = 0; i < STANDARD_STREAMS.length; i++) {
            if (guestPath.equals(STANDARD_STREAMS[i])) {
                return descriptorPath("/proc/self/fd/" + i);
            }
        }
        java.util.regex.Matcher m = FD_PATH.matcher(guestPath);
        if (!m.matches()) {
            return null;
        }
        int host = hostDescriptors.applyAsInt(Integer.parseInt(m.group(1)));
        return host < 0 ? NO_SUCH_DESCRIPTOR : "/proc/self/fd/" + host + (m.group(2) == null ? "" : m.group(2));
    }

    /**
     * The host path for a call that does not follow a final symbolic link (lstat, readlink of a link):
     * /proc/self/exe stays a link, as it is for a native process (its target reads as the guest program).
     */
    String hostLinkPath(String guestPath) {
        return isSelfExe(guestPath) ? guestPath : hostPath(guestPath);
    }

    /**
     * The host path for the kernel's own lookups (the ELF interpreter named by PT_INTERP): under the sysroot
     * when it is there, else the host path.
     */
    Path interpreter(String guestPath) {
        return Path.of(hostPath(guestPath));
    }
}
