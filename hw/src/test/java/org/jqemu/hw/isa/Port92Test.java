package org.jqemu.hw.isa;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class Port92Test {
    private final List<Boolean> a20 = new ArrayList<>();
    private int resets;
    private final Port92 port = new Port92(a20::add, () -> resets++);

    @Test
    void bit1DrivesA20() {
        port.out(0x92, 1, 0x02);
        assertTrue(port.a20Enabled());
        assertEquals(0x02, port.in(0x92, 1));
        port.out(0x92, 1, 0x02);
        port.out(0x92, 1, 0x00);
        assertEquals(List.of(true, false), a20, "one callback per change");
        assertEquals(0, resets);
    }

    @Test
    void risingBit0RequestsReset() {
        port.out(0x92, 1, 0x01);
        assertEquals(1, resets);
        port.out(0x92, 1, 0x01);
        assertEquals(1, resets, "only a 0-to-1 transition resets");
        port.reset();
        assertEquals(0, port.in(0x92, 1) & 1);
        port.out(0x92, 1, 0x03);
        assertEquals(2, resets);
    }
}
