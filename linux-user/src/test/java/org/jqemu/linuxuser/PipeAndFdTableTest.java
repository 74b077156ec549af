package org.jqemu.linuxuser;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import org.junit.jupiter.api.Test;

/** In-JVM pipes and descriptor tables against pipe(7), dup(2), fork(2) and execve(2)'s rules. */
class PipeAndFdTableTest {
    private static MemorySegment bytes(Arena arena, int n, byte value) {
        return arena.allocate(n).fill(value);
    }

    @Test
    void readGetsWhatWasWrittenThenEofAfterLastWriterCloses() {
        try (Arena arena = Arena.ofConfined()) {
            Pipe.End[] p = Pipe.create(0);
            assertEquals(3, p[1].write(arena.allocateFrom("abc").asSlice(0, 3)));
            MemorySegment in = arena.allocate(10);
            assertEquals(3, p[0].read(in));
            assertArrayEquals("abc".getBytes(), in.asSlice(0, 3).toArray(ValueLayout.JAVA_BYTE));
            p[1].close();
            assertEquals(0, p[0].read(in), "EOF once no writer is left");
        }
    }

    @Test
    void writeWithoutReaderIsEpipe() {
        try (Arena arena = Arena.ofConfined()) {
            Pipe.End[] p = Pipe.create(0);
            p[0].close();
            assertEquals(-Errno.EPIPE, p[1].write(bytes(arena, 1, (byte) 1)));
        }
    }

    @Test
    void nonBlockingEndsSayEagainAndSmallWritesAreAtomic() {
        try (Arena arena = Arena.ofConfined()) {
            Pipe.End[] p = Pipe.create(Fcntl.O_NONBLOCK);
            assertEquals(-Errno.EAGAIN, p[0].read(arena.allocate(1)));
            assertEquals(Pipe.CAPACITY - 100, p[1].write(bytes(arena, Pipe.CAPACITY - 100, (byte) 2)));
            // 200 bytes <= PIPE_BUF with 100 free: all or nothing, so nothing
            assertEquals(-Errno.EAGAIN, p[1].write(bytes(arena, 200, (byte) 3)));
            // more than PIPE_BUF may be partial
            assertEquals(100, p[1].write(bytes(arena, Pipe.PIPE_BUF + 1, (byte) 4)));
            assertEquals(Fcntl.POLLIN, p[0].poll());
            assertEquals(0, p[1].poll(), "full: not writable");
        }
    }

    @Test
    void blockedReaderWakesForAWriterOnAnotherThread() throws Exception {
        Pipe.End[] p = Pipe.create(0);
        long[] got = new long[1];
        Thread reader = Thread.ofPlatform().start(() -> {
            try (Arena arena = Arena.ofConfined()) {
                got[0] = p[0].read(arena.allocate(16));
            }
        });
        Thread.sleep(50);
        try (Arena arena = Arena.ofConfined()) {
            p[1].write(bytes(arena, 5, (byte) 7));
        }
        reader.join(10_000);
        assertEquals(5, got[0]);
    }

    /** A description that counts how often its last reference closed. */
    private static final class Counting implements GuestFile {
        int closes;

        @Override public long read(MemorySegment buffer) { return 0; }

        @Override public long write(MemorySegment buffer) { return buffer.byteSize(); }

        @Override public int statx(MemorySegment out) { return 0; }

        @Override public int close() {
            closes++;
            return 0;
        }
    }

    @Test
    void descriptionsCloseWithTheirLastDescriptorAcrossDupAndFork() {
        Counting f = new Counting();
        FdTable parent = new FdTable();
        assertEquals(0, parent.install(f, 0, false));
        assertEquals(1, parent.install(f, 0, false), "dup takes the lowest free number");
        FdTable child = parent.copy();
        parent.close(0);
        parent.close(1);
        assertEquals(0, f.closes, "the forked child still holds it");
        assertSame(f, child.get(1));
        child.closeAll();
        assertEquals(1, f.closes);
    }

    @Test
    void closeOnExecAndDup2() {
        Counting kept = new Counting(), dropped = new Counting(), replaced = new Counting();
        FdTable t = new FdTable();
        t.install(kept, 0, false);
        t.install(dropped, 0, true);
        t.install(replaced, 5, false);
        assertEquals(5, t.installAt(5, kept, false), "dup2 onto an open descriptor");
        assertEquals(1, replaced.closes, "dup2 closes what the target named");
        t.closeOnExec();
        assertEquals(1, dropped.closes);
        assertNull(t.get(1));
        assertSame(kept, t.get(0));
        assertEquals(0, kept.closes);
        assertEquals(-Errno.EBADF, t.close(1));
    }
}
