package org.jqemu.system.chardev;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Telnet input decoding per RFC 854 (commands removed, IAC IAC is a data byte 0xff, IAC BREAK a break). */
class TelnetTest {
    private static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) b[i] = (byte) values[i];
        return b;
    }

    @Test
    void commandsAreRemovedAndIacIacIsOneByte() {
        Telnet.Decoder d = new Telnet.Decoder();
        int[] breaks = {0};
        // 'a', IAC DO ECHO, 'b', IAC IAC, IAC BREAK, IAC SB NAWS 0 80 0 24 IAC SE, 'c', IAC NOP, 'd'
        byte[] in = bytes('a', 0xff, 0xfd, 0x01, 'b', 0xff, 0xff, 0xff, 0xf3, 0xff, 0xfa, 0x1f, 0, 80, 0, 24, 0xff, 0xf0,
                'c', 0xff, 0xf1, 'd');
        byte[] out = new byte[in.length];
        int n = d.decode(in, in.length, out, () -> breaks[0]++);
        assertArrayEquals(bytes('a', 'b', 0xff, 'c', 'd'), Arrays.copyOf(out, n));
        assertEquals(1, breaks[0]);
    }

    @Test
    void aCommandSplitBetweenTwoReadsIsStillRemoved() {
        Telnet.Decoder d = new Telnet.Decoder();
        byte[] out = new byte[8];
        assertEquals(1, d.decode(bytes('x', 0xff), 2, out, () -> { }));
        assertEquals('x', out[0]);
        int n = d.decode(bytes(0xfb, 0x03, 'y'), 3, out, () -> { });
        assertArrayEquals(bytes('y'), Arrays.copyOf(out, n));
    }
}
