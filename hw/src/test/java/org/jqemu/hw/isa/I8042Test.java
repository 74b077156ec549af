package org.jqemu.hw.isa;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Expected behaviour from the 8042 command set as IBM's AT technical reference documents it. */
class I8042Test {
    private final List<Boolean> a20 = new ArrayList<>();
    private int resets;
    private boolean irq1;
    private boolean irq12;
    private final I8042 kbc = new I8042(l -> irq1 = l, l -> irq12 = l, a20::add, () -> resets++);

    private int status() {
        return kbc.in(0x64, 1);
    }

    private int data() {
        return kbc.in(0x60, 1);
    }

    @Test
    void selfTestSetsSystemFlag() {
        assertEquals(0, status() & 0x05);
        kbc.out(0x64, 1, 0xaa);
        assertEquals(0x01, status() & 0x01);
        assertEquals(0x55, data());
        assertEquals(0x04, status() & 0x05, "SYS set, buffer empty");
        kbc.out(0x64, 1, 0xab);
        assertEquals(0x00, data());
    }

    @Test
    void commandByteReadWrite() {
        kbc.out(0x64, 1, 0x60);
        kbc.out(0x60, 1, 0x65);
        kbc.out(0x64, 1, 0x20);
        assertEquals(0x65, data());
        kbc.out(0x64, 1, 0xad);
        kbc.out(0x64, 1, 0x20);
        assertEquals(0x75, data(), "0xAD sets the keyboard-disable bit");
        kbc.out(0x64, 1, 0xae);
        kbc.out(0x64, 1, 0x20);
        assertEquals(0x65, data());
    }

    @Test
    void outputPortControlsA20AndReset() {
        kbc.out(0x64, 1, 0xd0);
        assertEquals(0x03, data() & 0x03, "power-on: A20 on, reset line high");
        kbc.out(0x64, 1, 0xd1);
        kbc.out(0x60, 1, 0xdd);
        assertEquals(List.of(false), a20);
        assertFalse(kbc.a20Enabled());
        assertEquals(0, resets);
        kbc.out(0x64, 1, 0xdf);
        assertEquals(List.of(false, true), a20);
        kbc.out(0x64, 1, 0xd1);
        kbc.out(0x60, 1, 0xde);
        assertEquals(1, resets, "bit 0 low asserts reset");
    }

    @Test
    void pulseCommandFeResets() {
        kbc.out(0x64, 1, 0xfe);
        assertEquals(1, resets);
        kbc.out(0x64, 1, 0xff);
        assertEquals(1, resets, "0xFF pulses nothing");
    }

    @Test
    void keyboardAnswersAndIrq1() {
        assertFalse(irq1);
        kbc.out(0x60, 1, 0xff);
        assertTrue(irq1);
        assertEquals(0xfa, data());
        assertEquals(0xaa, data());
        assertFalse(irq1);
        kbc.out(0x60, 1, 0xf2);
        assertEquals(0xfa, data());
        assertEquals(0xab, data());
        assertEquals(0x83, data());
        kbc.out(0x60, 1, 0xed);
        assertEquals(0xfa, data());
        kbc.out(0x60, 1, 0x07);
        assertEquals(0xfa, data(), "LED parameter acknowledged");
        kbc.out(0x60, 1, 0xee);
        assertEquals(0xee, data());
    }

    /**
     * The PIC sees IRQ1 and IRQ12 by their rising edges, and an OS reads one byte per interrupt: every byte of
     * a multi-byte answer must come with an edge of its own (a line left high after the ACK's read loses the
     * ID bytes: Linux's keyboard probe then timed out and no keyboard was registered).
     */
    @Test
    void everyQueuedByteRaisesItsOwnInterruptEdge() {
        int[] edges = new int[2];
        boolean[] level = new boolean[2];
        I8042 edged = new I8042(l -> edge(edges, level, 0, l), l -> edge(edges, level, 1, l), l -> { }, () -> { });
        edged.out(0x60, 1, 0xf2); // identify: ACK, 0xAB, 0x83
        for (int expected : new int[] {0xfa, 0xab, 0x83}) {
            assertEquals(expected, edged.in(0x60, 1));
        }
        assertEquals(3, edges[0], "one IRQ1 edge per byte of the keyboard's answer");
        edged.out(0x64, 1, 0xa8);
        edged.out(0x64, 1, 0xd4);
        edged.out(0x60, 1, 0xff); // mouse reset: ACK, 0xAA, ID 0
        for (int expected : new int[] {0xfa, 0xaa, 0x00}) {
            assertEquals(expected, edged.in(0x60, 1));
        }
        assertEquals(3, edges[1], "one IRQ12 edge per byte of the mouse's answer");
        assertFalse(level[0] || level[1], "both lines low once the buffer is empty");
    }

    private static void edge(int[] edges, boolean[] level, int line, boolean raised) {
        if (raised && !level[line]) {
            edges[line]++;
        }
        level[line] = raised;
    }

    @Test
    void mouseCommandsGoThroughD4AndIrq12() {
        kbc.out(0x64, 1, 0xa8);
        kbc.out(0x64, 1, 0xd4);
        kbc.out(0x60, 1, 0xf2);
        assertTrue(irq12);
        assertFalse(irq1);
        assertEquals(0x21, status() & 0x21, "AUX OBF");
        assertEquals(0xfa, data());
        assertEquals(0x00, data());
        assertFalse(irq12);
        kbc.out(0x64, 1, 0xd3);
        kbc.out(0x60, 1, 0x42);
        assertEquals(0x21, status() & 0x21);
        assertEquals(0x42, data());
    }

    @Test
    void interruptsFollowCommandByteEnables() {
        kbc.out(0x64, 1, 0x60);
        kbc.out(0x60, 1, 0x00);
        kbc.keyboardInput(0x1e);
        assertFalse(irq1);
        assertEquals(0x1e, data());
        kbc.out(0x64, 1, 0xad);
        kbc.keyboardInput(0x1e);
        assertEquals(0, status() & 1, "disabled keyboard port drops input");
    }

    @Test
    void snapshotRoundTrip() throws IOException {
        kbc.out(0x64, 1, 0xd2);
        kbc.out(0x60, 1, 0x99);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        kbc.saveState(new DataOutputStream(bytes));
        I8042 copy = new I8042(l -> { }, l -> { }, l -> { }, () -> { });
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertEquals(0x99, copy.in(0x60, 1));
        byte[] bad = bytes.toByteArray();
        bad[0] = 100;
        assertThrows(IOException.class,
                () -> copy.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
    }

    @Test
    void hostileAccessNeverThrows() {
        Random random = new Random(7);
        for (int i = 0; i < 20000; i++) {
            int port = random.nextBoolean() ? 0x60 : 0x64;
            if (random.nextBoolean()) {
                kbc.out(port, 1, random.nextInt());
            } else {
                kbc.in(port, 1);
            }
        }
    }
}
