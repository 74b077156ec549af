package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** -L sysroot as qemu-user applies it: absolute paths that exist under the sysroot win, others are the host's. */
class PathResolverTest {
    @Test
    void absolutePathsPreferTheSysroot(@TempDir Path root) throws Exception {
        Files.createDirectories(root.resolve("lib"));
        Files.writeString(root.resolve("lib/libc.so.6"), "guest libc");
        Files.createSymbolicLink(root.resolve("lib/dangling"), Path.of("/nowhere/at/all"));
        PathResolver paths = new PathResolver(root.toString(), "/x/prog");
        assertEquals(root.resolve("lib/libc.so.6").toString(), paths.hostPath("/lib/libc.so.6"));
        assertEquals(root.resolve("lib/dangling").toString(), paths.hostPath("/lib/dangling"), "the link itself exists");
        assertEquals("/etc/hostname", paths.hostPath("/etc/hostname"), "missing in the sysroot: the host's");
        assertEquals("lib/libc.so.6", paths.hostPath("lib/libc.so.6"), "relative paths follow the guest's cwd");
        assertEquals("/x/prog", paths.hostPath("/proc/self/exe"));
        assertEquals(root.resolve("lib").toString(), paths.hostPath("/lib/"), "a directory counts");
    }

    @Test
    void withoutSysrootPathsPassThrough() {
        PathResolver paths = new PathResolver(null, "/x/prog");
        assertEquals("/lib/libc.so.6", paths.hostPath("/lib/libc.so.6"));
        assertEquals("/x/prog", paths.hostPath("/proc/self/exe"));
        assertEquals(null, paths.sysroot());
        assertEquals("/a\0b", new PathResolver("/", "/p").hostPath("/a\0b"), "a malformed name is left for the host to refuse");
    }

    @Test
    void descriptorPathsNameTheHostDescriptor() {
        PathResolver paths = new PathResolver("/", "/x/prog");
        paths.setProcess(4321, fd -> fd == 3 ? 57 : fd == 0 ? 40 : -1);
        assertEquals("/proc/self/fd/57", paths.hostPath("/proc/4321/fd/3"), "the guest's own pid is /proc/self");
        assertEquals("/x/prog", paths.hostPath("/proc/4321/exe"));
        assertEquals("/proc/4321/exe", paths.hostLinkPath("/proc/4321/exe"));
        assertEquals("/proc/4322/exe", paths.hostPath("/proc/4322/exe"), "another process's is the host's");
        assertEquals("/proc/self/fd/57", paths.hostPath("/proc/self/fd/3"));
        assertEquals("/proc/self/fd/57", paths.hostPath("/dev/fd/3"));
        assertEquals("/proc/self/fd/57/sub", paths.hostPath("/proc/self/fd/3/sub"), "a directory descriptor's contents");
        assertEquals("/proc/self/fd/40", paths.hostPath("/dev/stdin"));
        assertEquals("/proc/self/fd/-1", paths.hostPath("/proc/self/fd/4"), "no host descriptor: a name the host refuses");
        assertEquals("/proc/self/fd/-1", paths.hostPath("/dev/stdout"));
    }
}
