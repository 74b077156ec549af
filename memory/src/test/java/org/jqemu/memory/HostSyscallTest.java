package org.jqemu.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one system-call downcall against the host kernel: results, the -errno convention, pointer arguments. */
class HostSyscallTest {
    private static final int SYS_GETPID = 39, EBADF = 9, ENOENT = 2, O_RDONLY = 0, AT_FDCWD = -100;

    @Test
    void getpidIsThisProcess() {
        assumeTrue(HostSyscall.available(), "x86_64 Linux only");
        assertEquals(ProcessHandle.current().pid(), HostSyscall.call(SYS_GETPID));
    }

    @Test
    void failuresComeBackAsMinusErrno() {
        assumeTrue(HostSyscall.available(), "x86_64 Linux only");
        assertEquals(-EBADF, HostSyscall.call(HostSyscall.SYS_CLOSE, -1));
        try (Arena arena = Arena.ofConfined()) {
            long path = arena.allocateFrom("/no/such/file/here").address();
            assertEquals(-ENOENT, HostSyscall.call(HostSyscall.SYS_OPENAT, AT_FDCWD, path, O_RDONLY, 0));
        }
    }

    @Test
    void openReadAndCloseAFileThroughHostAddresses(@TempDir Path dir) throws Exception {
        assumeTrue(HostSyscall.available(), "x86_64 Linux only");
        Path file = dir.resolve("f");
        Files.writeString(file, "jqemu syscall");
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) HostSyscall.call(HostSyscall.SYS_OPENAT, AT_FDCWD, arena.allocateFrom(file.toString()).address(),
                    O_RDONLY, 0);
            assertTrue(fd >= 0, "openat: " + fd);
            MemorySegment buffer = arena.allocate(64);
            long n = HostSyscall.call(HostSyscall.SYS_READ, fd, buffer.address(), buffer.byteSize());
            assertEquals("jqemu syscall", new String(buffer.asSlice(0, n).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE),
                    StandardCharsets.US_ASCII));
            assertEquals(0, HostSyscall.call(HostSyscall.SYS_CLOSE, fd));
        }
    }
}
