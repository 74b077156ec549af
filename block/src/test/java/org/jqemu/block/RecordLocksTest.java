package org.jqemu.block;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * /proc/locks as proc(5) describes it: "id: kind mode type pid major:minor:inode start end", waiting
 * requests marked "->", EOF for a lock to the end of the file; device numbers as glibc's makedev packs them.
 */
class RecordLocksTest {
    private static final String LOCKS = String.join("\n",
            "1: POSIX  ADVISORY  WRITE 4711 08:02:1234 0 EOF",
            "2: OFDLCK ADVISORY  READ  -1 08:02:5678 100 100",
            "2: -> OFDLCK ADVISORY  WRITE -1 08:02:5678 150 150",
            "3: FLOCK  ADVISORY  WRITE 99 08:02:5678 0 EOF",
            "4: POSIX  ADVISORY  READ  42 08:02:5678 201 203",
            "5: POSIX  ADVISORY  READ  777 08:02:5678 300 300",
            "6: OFDLCK ADVISORY  READ  -1 08:03:5678 400 400",
            "7: OFDLCK ADVISORY  READ  -1 08:02:56789 500 500",
            "8: LEASE  ACTIVE    READ  42 08:02:5678 0 EOF",
            "");

    @Test
    void countsOtherProcessesRecordAndOfdLocksOnTheFileOnly() {
        RecordLocks l = RecordLocks.parse(LOCKS, "08:02:5678", 777);
        assertTrue(l.heldByOthers(100), "OFD lock");
        assertFalse(l.heldByOthers(99));
        assertFalse(l.heldByOthers(101));
        assertFalse(l.heldByOthers(150), "a request still waiting holds nothing");
        assertFalse(l.heldByOthers(0), "flock and lease locks are another kind");
        assertTrue(l.heldByOthers(201), "record lock of another process");
        assertTrue(l.heldByOthers(203));
        assertFalse(l.heldByOthers(204));
        assertFalse(l.heldByOthers(300), "this process's own record lock");
        assertFalse(l.heldByOthers(400), "same inode on another device");
        assertFalse(l.heldByOthers(500), "another inode");
    }

    @Test
    void ownPidIsTheProcesssId() {
        assertEquals(ProcessHandle.current().pid(), RecordLocks.ownPid());
    }

    @Test
    void lockToTheEndOfTheFile() {
        RecordLocks l = RecordLocks.parse(LOCKS, "08:02:1234", 777);
        assertTrue(l.heldByOthers(0));
        assertTrue(l.heldByOthers(Long.MAX_VALUE - 1));
    }

    @Test
    void deviceNumbersAsProcPrintsThem() {
        assertEquals("08:02:1234", RecordLocks.id(0x802, 1234)); // makedev(8, 2)
        assertEquals("fe:00:2154534", RecordLocks.id(0xfe00, 2154534)); // makedev(254, 0)
        // makedev(259, 0x12345): major 0x103 in bits 8-19, minor's low byte in bits 0-7, the rest from bit 20
        assertEquals("103:12345:7", RecordLocks.id((0x103L << 8) | 0x45 | (0x123L << 20), 7));
    }
}
