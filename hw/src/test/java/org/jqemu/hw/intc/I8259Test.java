package org.jqemu.hw.intc;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Expected values from the Intel 8259A datasheet (ICW/OCW formats, priority and EOI rules). */
class I8259Test {
    private boolean intr;
    private I8259 pic;

    @BeforeEach
    void setUp() {
        pic = new I8259(level -> intr = level);
        initialize(0x11, 0x08, 0x01);
    }

    /** The BIOS sequence: ICW1 edge+ICW4, vector bases 0x08/0x70, cascade on IR2, ICW4 8086 mode. */
    private void initialize(int icw1, int masterBase, int icw4) {
        pic.out(0x20, 1, icw1);
        pic.out(0x21, 1, masterBase);
        pic.out(0x21, 1, 0x04);
        pic.out(0x21, 1, icw4);
        pic.out(0xa0, 1, icw1);
        pic.out(0xa1, 1, 0x70);
        pic.out(0xa1, 1, 0x02);
        pic.out(0xa1, 1, icw4);
    }

    private int masterIsr() {
        pic.out(0x20, 1, 0x0b);
        return pic.in(0x20, 1);
    }

    private int masterIrr() {
        pic.out(0x20, 1, 0x0a);
        return pic.in(0x20, 1);
    }

    private void pulse(int irq) {
        pic.irq(irq).raise();
        pic.irq(irq).lower();
    }

    @Test
    void edgeRequestIsDeliveredWithVectorAndSetsIsr() {
        assertFalse(pic.hasInterrupt());
        pulse(0);
        assertTrue(intr, "INTR follows the pending request");
        assertTrue(pic.hasInterrupt());
        assertEquals(0x01, masterIrr());
        assertEquals(0x08, pic.acknowledge());
        assertFalse(intr);
        assertEquals(0x01, masterIsr());
        assertEquals(0x00, masterIrr());
        pic.out(0x20, 1, 0x20); // non-specific EOI
        assertEquals(0, masterIsr());
    }

    @Test
    void lowerPriorityWaitsForEoiHigherPriorityNests() {
        pulse(3);
        assertEquals(0x0b, pic.acknowledge());
        pulse(5);
        assertFalse(pic.hasInterrupt(), "IR5 is below IR3, which is in service");
        pulse(1);
        assertTrue(pic.hasInterrupt(), "IR1 is above IR3");
        assertEquals(0x09, pic.acknowledge());
        assertEquals(0x0a, masterIsr());
        pic.out(0x20, 1, 0x20); // clears the highest in service: IR1
        assertEquals(0x08, masterIsr());
        assertFalse(pic.hasInterrupt());
        pic.out(0x20, 1, 0x63); // specific EOI for IR3
        assertEquals(0x0d, pic.acknowledge());
    }

    @Test
    void simultaneousRequestsGoInFixedPriorityOrder() {
        pic.irq(4).raise();
        pic.irq(1).raise();
        assertEquals(0x09, pic.acknowledge());
        pic.out(0x20, 1, 0x20);
        assertEquals(0x0c, pic.acknowledge());
    }

    @Test
    void imrMasksAndReadsBack() {
        pic.out(0x21, 1, 0xfe);
        assertEquals(0xfe, pic.in(0x21, 1));
        pulse(1);
        assertFalse(pic.hasInterrupt());
        assertEquals(0x02, masterIrr(), "masked requests still latch in IRR");
        pic.out(0x21, 1, 0x00);
        assertEquals(0x09, pic.acknowledge());
    }

    @Test
    void slaveInterruptCascadesThroughIr2() {
        pulse(10);
        assertTrue(intr);
        assertEquals(0x72, pic.acknowledge());
        assertEquals(0x04, masterIsr());
        pic.out(0xa0, 1, 0x0b);
        assertEquals(0x04, pic.in(0xa0, 1));
        pic.out(0xa0, 1, 0x20);
        pic.out(0x20, 1, 0x20);
        assertEquals(0, masterIsr());
        pic.out(0xa1, 1, 0x00);
        pulse(2); // ISA IRQ2 is wired to IRQ9 on an AT
        assertEquals(0x71, pic.acknowledge());
    }

    @Test
    void spuriousIrq7WhenLevelRequestVanishesBeforeInta() {
        pic.out(0x4d0, 1, 0x20); // IRQ5 level triggered
        pic.irq(5).raise();
        assertTrue(pic.hasInterrupt());
        pic.irq(5).lower();
        assertFalse(pic.hasInterrupt());
        assertEquals(0x0f, pic.acknowledge());
        assertEquals(0, masterIsr(), "a spurious IR7 sets no ISR bit");
    }

    @Test
    void elcrHasOnlyImplementedBits() {
        pic.out(0x4d0, 1, 0xff);
        pic.out(0x4d1, 1, 0xff);
        assertEquals(0xf8, pic.in(0x4d0, 1));
        assertEquals(0xde, pic.in(0x4d1, 1));
        assertEquals(0xdef8, pic.in(0x4d0, 2));
    }

    @Test
    void levelTriggeredRequestRepeatsUntilLineDrops() {
        pic.out(0x4d1, 1, 0x08); // IRQ11 level
        pic.irq(11).raise();
        assertEquals(0x73, pic.acknowledge());
        pic.out(0xa0, 1, 0x20);
        pic.out(0x20, 1, 0x20);
        assertTrue(pic.hasInterrupt(), "line still high");
        assertEquals(0x73, pic.acknowledge());
        pic.irq(11).lower();
        pic.out(0xa0, 1, 0x20);
        pic.out(0x20, 1, 0x20);
        assertFalse(pic.hasInterrupt());
    }

    @Test
    void edgeRequestHeldHighIsDeliveredOnce() {
        pic.irq(6).raise();
        assertEquals(0x0e, pic.acknowledge());
        pic.out(0x20, 1, 0x20);
        assertFalse(pic.hasInterrupt());
    }

    @Test
    void ltimInIcw1MakesEveryInputLevelSensitive() {
        initialize(0x19, 0x08, 0x01);
        pic.irq(4).raise();
        pic.irq(4).lower();
        assertFalse(pic.hasInterrupt());
    }

    @Test
    void autoEoiLeavesIsrClear() {
        initialize(0x11, 0x08, 0x03);
        pulse(1);
        assertEquals(0x09, pic.acknowledge());
        assertEquals(0, masterIsr());
        pulse(3);
        assertTrue(pic.hasInterrupt());
    }

    @Test
    void rotateOnNonSpecificEoiMakesServicedLevelLowest() {
        pulse(0);
        assertEquals(0x08, pic.acknowledge());
        pic.out(0x20, 1, 0xa0); // rotate on non-specific EOI: IR0 lowest, IR1 highest
        pic.irq(0).raise();
        pic.irq(7).raise();
        assertEquals(0x0f, pic.acknowledge(), "IR7 now outranks IR0");
    }

    @Test
    void setPriorityCommand() {
        pic.out(0x20, 1, 0xc0 | 3); // IR3 lowest, IR4 highest
        pic.irq(2 + 1).raise();
        pic.irq(5).raise();
        assertEquals(0x0d, pic.acknowledge());
    }

    @Test
    void rotateInAutoEoiMode() {
        initialize(0x11, 0x08, 0x03);
        pic.out(0x20, 1, 0x80);
        pulse(1);
        assertEquals(0x09, pic.acknowledge());
        pic.irq(0).raise();
        pic.irq(2 + 4).raise();
        assertEquals(0x0e, pic.acknowledge(), "after IR1, IR2 is highest: IR6 beats IR0");
    }

    @Test
    void pollModeReturnsLevelAndAcknowledges() {
        pulse(4);
        pic.out(0x20, 1, 0x0c);
        assertEquals(0x84, pic.in(0x20, 1));
        assertEquals(0x10, masterIsr());
        pic.out(0x20, 1, 0x0c);
        assertEquals(0x00, pic.in(0x20, 1), "nothing pending: bit 7 clear");
        assertEquals(0x00, masterIrr(), "after poll the command port reads IRR again");
    }

    @Test
    void specialMaskModeLetsLowerPriorityThrough() {
        pulse(3);
        assertEquals(0x0b, pic.acknowledge());
        pulse(5);
        assertFalse(pic.hasInterrupt());
        pic.out(0x21, 1, 0x08);
        pic.out(0x20, 1, 0x68); // set special mask mode
        assertTrue(pic.hasInterrupt());
        assertEquals(0x0d, pic.acknowledge());
        pic.out(0x20, 1, 0x48); // reset special mask mode
        pic.out(0x20, 1, 0x65);
        pic.out(0x21, 1, 0x00);
        assertEquals(0x08, masterIsr());
    }

    @Test
    void snapshotRoundTripAndRefusal() throws IOException {
        pulse(1);
        pulse(12);
        pic.acknowledge();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        pic.saveState(new DataOutputStream(bytes));
        byte[] saved = bytes.toByteArray();

        I8259 copy = new I8259(level -> { });
        copy.loadState(new DataInputStream(new ByteArrayInputStream(saved)), pic.stateVersion());
        assertEquals(pic.acknowledge(), copy.acknowledge());

        byte[] bad = saved.clone();
        bad[5] = 3; // vector base with low bits set
        I8259 victim = new I8259(level -> { });
        victim.out(0x21, 1, 0x5a);
        assertThrows(IOException.class,
                () -> victim.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
        assertEquals(0x5a, victim.in(0x21, 1), "refused state leaves the device unchanged");
        assertThrows(IOException.class,
                () -> victim.loadState(new DataInputStream(new ByteArrayInputStream(saved)), 99));
    }

    @Test
    void hostileWritesNeverThrow() {
        Random random = new Random(1);
        int[] ports = {0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1};
        for (int i = 0; i < 20000; i++) {
            int port = ports[random.nextInt(ports.length)];
            if (random.nextBoolean()) {
                pic.out(port, 1 << random.nextInt(3), random.nextInt());
            } else {
                pic.in(port, 1);
            }
            pic.irq(random.nextInt(16)).set(random.nextBoolean());
            if (pic.hasInterrupt()) {
                int vector = pic.acknowledge();
                assertTrue(vector >= 0 && vector <= 255);
            }
        }
    }
}
