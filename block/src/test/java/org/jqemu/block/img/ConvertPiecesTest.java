package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * How convert cuts its work (ConvertCommand.pieceSize, workerThreads): rules that keep a piece a whole
 * number of zero-test units and target clusters, and the threads within -m and the cores.
 */
class ConvertPiecesTest {
    private static final int KIB = 1 << 10;
    private static final int MIB = 1 << 20;

    @Test
    void plainCopyPiecesHoldWholeUnits() {
        assertEquals(512 * KIB, ConvertCommand.pieceSize(1, 4096, false), "raw target, -S 4k");
        assertEquals(512 * KIB, ConvertCommand.pieceSize(64 * KIB, 4096, false), "64 KiB clusters");
        assertEquals(512 * KIB, ConvertCommand.pieceSize(1, 0, false), "-S 0");
        assertEquals(512 * KIB, ConvertCommand.pieceSize(512 * KIB, 4096, false), "a cluster per piece");
        assertEquals(2 * MIB, ConvertCommand.pieceSize(MIB, 4096, false), "1 MiB clusters");
        assertEquals(2 * MIB, ConvertCommand.pieceSize(2 * MIB, 4096, false), "2 MiB clusters");
        assertEquals(2 * MIB, ConvertCommand.pieceSize(1, 3584, false), "a unit that does not divide 512 KiB");
        assertEquals(2 * MIB, ConvertCommand.pieceSize(1, 16 * MIB, false), "-S 16M: cut at the piece's end");
    }

    @Test
    void compressedPiecesAreWholeClusters() {
        assertEquals(512 * KIB, ConvertCommand.pieceSize(64 * KIB, 4096, true));
        assertEquals(512 * KIB, ConvertCommand.pieceSize(512, 4096, true));
        assertEquals(512 * KIB, ConvertCommand.pieceSize(512 * KIB, 4096, true));
        assertEquals(2 * MIB, ConvertCommand.pieceSize(MIB, 4096, true));
        assertEquals(2 * MIB, ConvertCommand.pieceSize(2 * MIB, 4096, true));
    }

    @Test
    void threadsWithinParallelismAndCores() {
        assertEquals(1, ConvertCommand.workerThreads(8, false, 2), "plain copy on 2 cores: one reader");
        assertEquals(7, ConvertCommand.workerThreads(8, false, 8));
        assertEquals(3, ConvertCommand.workerThreads(3, false, 16), "-m 3");
        assertEquals(1, ConvertCommand.workerThreads(8, false, 1), "one core: still one reader");
        assertEquals(8, ConvertCommand.workerThreads(8, true, 2), "compression: -m threads");
        assertEquals(1, ConvertCommand.workerThreads(1, true, 2), "-m 1");
    }
}
