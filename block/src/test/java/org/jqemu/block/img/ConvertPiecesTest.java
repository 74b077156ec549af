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
        assertEquals(1, ConvertCommand.workerThreads(8, false, 2, 0.3), "plain copy on 2 quiet cores: one reader");
        assertEquals(7, ConvertCommand.workerThreads(8, false, 8, 0));
        assertEquals(2, ConvertCommand.workerThreads(3, false, 16, 0), "-m 3: two readers and the writer");
        assertEquals(0, ConvertCommand.workerThreads(1, false, 16, 0), "-m 1: one request at a time");
        assertEquals(0, ConvertCommand.workerThreads(8, false, 1, 0), "one core: the writer reads");
        assertEquals(0, ConvertCommand.workerThreads(8, false, 2, 1.0), "2 cores, one busy: no spare core");
        assertEquals(0, ConvertCommand.workerThreads(8, false, 2, 9.5), "busy machine");
        assertEquals(5, ConvertCommand.workerThreads(8, false, 8, 2.7), "8 cores, load 2.7 (2 busy): 5 spare");
        assertEquals(8, ConvertCommand.workerThreads(8, true, 2, 0), "compression: -m threads");
        assertEquals(1, ConvertCommand.workerThreads(1, true, 2, 0), "-m 1");
    }

    @Test
    void loadAverageParsed() {
        assertEquals(0.52, ConvertCommand.parseLoadAverage("0.52 0.58 0.59 1/467 12345\n"));
        assertEquals(11.25, ConvertCommand.parseLoadAverage("11.25 9.00 7.10 3/500 99"));
        assertEquals(0, ConvertCommand.parseLoadAverage(""));
        assertEquals(0, ConvertCommand.parseLoadAverage("x 1 2"));
        assertEquals(0, ConvertCommand.parseLoadAverage("-1 0 0"));
        assertEquals(0, ConvertCommand.parseLoadAverage("NaN 0 0"));
    }
}
