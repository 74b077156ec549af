package org.jqemu.hw.chr;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jqemu.hw.timer.ManualClock;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Expected behaviour from the NS16550A datasheet (register map, IIR priorities, FIFO, loopback). */
class Serial16550Test {
    private static final int COM1 = 0x3f8;
    private final ManualClock clock = new ManualClock();
    private final List<Integer> sent = new ArrayList<>();
    private int readyCalls;
    private boolean irq;
    private Serial16550 uart;

    @BeforeEach
    void setUp() {
        uart = new Serial16550(COM1, clock, level -> irq = level);
        uart.attach(new CharBackend() {
            @Override public void write(int b) { sent.add(b); }
            @Override public void frontendReady() { readyCalls++; }
        });
    }

    private int reg(int r) {
        return uart.in(COM1 + r, 1);
    }

    private void set(int r, int value) {
        uart.out(COM1 + r, 1, value);
    }

    @Test
    void resetValues() {
        assertEquals(0x00, reg(1));
        assertEquals(0x01, reg(2));
        assertEquals(0x00, reg(3));
        assertEquals(0x00, reg(4));
        assertEquals(0x60, reg(5));
        assertEquals(0xb0, reg(6), "CTS, DSR and DCD asserted by the far end");
        assertFalse(irq);
        assertEquals(List.of(new org.jqemu.hw.isa.PortRange(COM1, 8)), uart.portRanges());
    }

    @Test
    void divisorLatchSharesRegisters0And1() {
        set(3, 0x80);
        set(0, 0x01);
        set(1, 0x02);
        assertEquals(0x01, reg(0));
        assertEquals(0x02, reg(1));
        set(3, 0x03);
        assertEquals(0x00, reg(1), "IER untouched by DLM writes");
        set(0, 'A');
        assertEquals(List.of((int) 'A'), sent, "with DLAB clear register 0 is THR");
    }

    @Test
    void transmitAndThreInterrupt() {
        set(0, 'h');
        set(0, 'i');
        assertEquals(List.of((int) 'h', (int) 'i'), sent);
        assertEquals(0x60, reg(5) & 0x60);
        set(1, 0x02); // ETBEI while THR empty: interrupt at once
        assertTrue(irq);
        assertEquals(0x02, reg(2));
        assertFalse(irq, "reading IIR clears the THRE interrupt");
        assertEquals(0x01, reg(2));
        set(0, 'x');
        assertTrue(irq, "the transmitter emptied again");
    }

    @Test
    void receiveWithoutFifoAndOverrun() {
        set(1, 0x01);
        assertEquals(1, uart.receiveRoom());
        uart.receive('a');
        assertTrue(irq);
        assertEquals(0x04, reg(2));
        assertEquals(0x61, reg(5));
        assertEquals(0, uart.receiveRoom());
        uart.receive('b'); // overrun: the holding register is overwritten
        set(1, 0x05);
        assertEquals(0x06, reg(2), "line status outranks received data");
        assertEquals(0x63, reg(5));
        assertEquals(0x04, reg(2), "LSR read clears OE");
        assertEquals('b', reg(0));
        assertFalse(irq);
        assertEquals(0x60, reg(5));
        assertTrue(readyCalls > 0);
    }

    @Test
    void fifoTriggerLevel() {
        set(2, 0x81); // FIFO on, trigger 8
        set(1, 0x01);
        assertEquals(0xc1, reg(2));
        assertEquals(16, uart.receiveRoom());
        for (int i = 0; i < 7; i++) {
            uart.receive('0' + i);
        }
        assertFalse(irq);
        uart.receive('7');
        assertTrue(irq);
        assertEquals(0xc4, reg(2));
        assertEquals(8, uart.receiveRoom());
        for (int i = 0; i < 8; i++) {
            assertEquals('0' + i, reg(0));
        }
        assertFalse(irq);
        assertEquals(0x60, reg(5));
    }

    @Test
    void fifoOverrunKeepsFifoContents() {
        set(2, 0x01);
        for (int i = 0; i < 17; i++) {
            uart.receive(i);
        }
        assertEquals(0x63, reg(5));
        for (int i = 0; i < 16; i++) {
            assertEquals(i, reg(0));
        }
    }

    @Test
    void characterTimeoutAfterFourCharacterTimes() {
        set(3, 0x80);
        set(0, 1); // 115200 baud
        set(1, 0);
        set(3, 0x03); // 8N1: 10 bits per character
        set(2, 0xc1); // trigger 14
        set(1, 0x01);
        uart.receive('x');
        uart.receive('y');
        clock.advance(347_000);
        assertFalse(irq);
        clock.advance(300); // 4 * 10 / 115200 s = 347.22 us
        assertTrue(irq);
        assertEquals(0xcc, reg(2));
        assertEquals('x', reg(0));
        assertFalse(irq, "reading RBR clears the timeout");
        clock.advance(400_000);
        assertTrue(irq, "one character left: timeout again");
        assertEquals('y', reg(0));
        assertFalse(irq);
    }

    @Test
    void fifoClearAndDisable() {
        set(2, 0x01);
        uart.receive('q');
        set(2, 0x03);
        assertEquals(0x60, reg(5));
        uart.receive('r');
        set(2, 0x00);
        assertEquals(0x01, reg(2));
        assertEquals(0x60, reg(5), "changing FIFO enable clears it");
    }

    @Test
    void loopbackReturnsDataAndModemLines() {
        set(4, 0x10);
        set(0, 0xff);
        assertEquals(0x1f, reg(0), "power-on LCR selects 5-bit words");
        set(3, 0x03);
        assertEquals(0x00, reg(6) & 0xf0);
        set(0, 'L');
        assertTrue(sent.isEmpty(), "nothing reaches the line in loopback");
        assertEquals(0x61, reg(5));
        assertEquals('L', reg(0));
        assertEquals(0, uart.receiveRoom());
        reg(6);
        set(4, 0x1f);
        assertEquals(0xf0 | 0x03 | 0x08, reg(6), "RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD with deltas");
        set(4, 0x1b);
        assertEquals(0x04, reg(6) & 0x0f, "trailing edge of RI");
    }

    @Test
    void modemStatusInterruptHasLowestPriority() {
        set(1, 0x0a);
        uart.setModemInputs(false, true, false, true);
        assertEquals(0x02, reg(2), "THRE first");
        assertEquals(0x00, reg(2), "then modem status");
        assertTrue(irq);
        assertEquals(0x21 | 0x80, reg(6));
        assertFalse(irq);
        assertEquals(0x01, reg(2));
    }

    @Test
    void snapshotRoundTripAndRefusal() throws IOException {
        set(2, 0x01);
        uart.receive('s');
        uart.receive('t');
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        uart.saveState(new DataOutputStream(bytes));
        Serial16550 copy = new Serial16550(COM1, clock, level -> { });
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertEquals('s', copy.in(COM1, 1));
        assertEquals('t', copy.in(COM1, 1));
        byte[] bad = bytes.toByteArray();
        bad[0] = (byte) 0xff;
        Serial16550 victim = new Serial16550(COM1, clock, level -> { });
        victim.out(COM1 + 7, 1, 0x42);
        assertThrows(IOException.class,
                () -> victim.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
        assertEquals(0x42, victim.in(COM1 + 7, 1));
    }

    @Test
    void hostileAccessNeverThrows() {
        Random random = new Random(4);
        for (int i = 0; i < 20000; i++) {
            int port = COM1 + random.nextInt(8);
            if (random.nextBoolean()) {
                uart.out(port, 1 + random.nextInt(2), random.nextInt());
            } else {
                uart.in(port, 1);
            }
            if (random.nextInt(4) == 0) {
                uart.receive(random.nextInt(256));
            }
            clock.advance(random.nextInt(100_000));
        }
    }
}
