package org.jqemu.hw.pci;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.jqemu.hw.isa.Piix3;
import org.jqemu.memory.IrqLine;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Expected values from the Intel 82441FX datasheet and the PCI local bus specification (mechanism #1). */
class I440fxTest {
    private final List<String> events = new ArrayList<>();
    private int resets;
    private PciBus bus;
    private I440fx host;

    @BeforeEach
    void setUp() {
        bus = new PciBus();
        Piix3 piix3 = new Piix3(bus, 1, irq -> IrqLine.none(), () -> resets++);
        host = new I440fx(bus, piix3.resetControlRegister(), new I440fx.Listener() {
            @Override
            public void pamChanged(long base, int size, boolean readDram, boolean writeDram) {
                events.add(String.format("pam %x+%x %s%s", base, size, readDram ? "r" : "-", writeDram ? "w" : "-"));
            }

            @Override
            public void smramChanged(boolean enabled, boolean open, boolean closed, boolean locked) {
                events.add("smram " + enabled + " " + open + " " + locked);
            }
        });
        events.clear();
    }

    private int config(int device, int fn, int offset, int size) {
        host.out(0xcf8, 4, 0x80000000 | device << 11 | fn << 8 | (offset & 0xfc));
        return host.in(0xcfc + (offset & 3), size);
    }

    private void configWrite(int device, int fn, int offset, int size, int value) {
        host.out(0xcf8, 4, 0x80000000 | device << 11 | fn << 8 | (offset & 0xfc));
        host.out(0xcfc + (offset & 3), size, value);
    }

    @Test
    void hostBridgeIdentity() {
        assertEquals(0x12378086, config(0, 0, 0, 4));
        assertEquals(0x06000002, config(0, 0, 8, 4), "class 06/00/00, revision 02");
        assertEquals(0x1237, config(0, 0, 2, 2));
        assertEquals(0x12, config(0, 0, 3, 1));
        assertEquals(0x70008086, config(1, 0, 0, 4));
        assertEquals(0x80, config(1, 0, 0x0e, 1), "PIIX3 is multi-function");
    }

    @Test
    void absentDevicesAndDisabledMechanismReadAllOnes() {
        assertEquals(-1, config(5, 0, 0, 4));
        assertEquals(0xffff, config(5, 0, 0, 2));
        host.out(0xcf8, 4, 0x00000000);
        assertEquals(-1, host.in(0xcfc, 4), "enable bit clear");
        host.out(0xcf8, 4, 0x80010000);
        assertEquals(-1, host.in(0xcfc, 4), "bus 1 does not exist");
        host.out(0xcf8, 4, 0x80000003 | 0x7f000000);
        assertEquals(0x80000000, host.in(0xcf8, 4), "reserved bits read as 0");
    }

    @Test
    void readOnlyRegistersIgnoreWrites() {
        configWrite(0, 0, 0, 4, 0);
        assertEquals(0x12378086, config(0, 0, 0, 4));
        configWrite(0, 0, 0x06, 2, 0xffff);
        assertEquals(0x0280, config(0, 0, 0x06, 2), "no error bits were set, so writing 1s clears nothing");
    }

    @Test
    void pamRegistersReportShadowingChanges() {
        configWrite(0, 0, 0x59, 1, 0x30);
        assertEquals(List.of("pam f0000+10000 rw"), events);
        events.clear();
        configWrite(0, 0, 0x5a, 1, 0x21);
        assertEquals(List.of("pam c0000+4000 r-", "pam c4000+4000 -w"), events);
        assertTrue(host.pamReadsDram(1));
        assertFalse(host.pamWritesDram(1));
        assertEquals(0x21, config(0, 0, 0x5a, 1));
        events.clear();
        configWrite(0, 0, 0x5c, 4, 0x11111111); // PAM3-6 in one dword write
        assertEquals(8, events.size());
        assertEquals("pam ec000+4000 r-", events.get(7));
    }

    @Test
    void smramLockRules() {
        assertEquals(0x02, config(0, 0, 0x72, 1));
        configWrite(0, 0, 0x72, 1, 0x4a);
        assertEquals(0x4a, config(0, 0, 0x72, 1));
        assertEquals("smram true true false", events.getLast());
        configWrite(0, 0, 0x72, 1, 0x5a); // lock while asking for open: open is forced off
        assertEquals(0x1a, config(0, 0, 0x72, 1));
        configWrite(0, 0, 0x72, 1, 0x40);
        assertEquals(0x12, config(0, 0, 0x72, 1), "D_LCK and D_OPEN are read-only once locked");
        host.reset();
        assertEquals(0x02, config(0, 0, 0x72, 1));
    }

    @Test
    void resetControlAt0xcf9ReachesPiix3() {
        host.out(0xcf9, 1, 0x02);
        assertEquals(0, resets);
        assertEquals(0x02, host.in(0xcf9, 1));
        host.out(0xcf9, 1, 0x06);
        assertEquals(1, resets);
        host.out(0xcf8, 4, 0x80000000);
        assertEquals(0x80000000, host.in(0xcf8, 4), "a byte access to 0xcf9 leaves the address alone");
    }

    @Test
    void snapshotRoundTripAndRefusal() throws IOException {
        configWrite(0, 0, 0x59, 1, 0x30);
        host.out(0xcf8, 4, 0x80000800);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        host.saveState(new DataOutputStream(bytes));
        PciBus otherBus = new PciBus();
        I440fx copy = new I440fx(otherBus, null, null);
        copy.loadState(new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())), 1);
        assertEquals(0x80000800, copy.in(0xcf8, 4));
        copy.out(0xcf8, 4, 0x80000058);
        assertEquals(0x30, copy.in(0xcfd, 1));
        byte[] bad = bytes.toByteArray();
        bad[0] = 0x11; // vendor ID is read-only
        assertThrows(IOException.class,
                () -> copy.loadState(new DataInputStream(new ByteArrayInputStream(bad)), 1));
        assertEquals(0x30, copy.in(0xcfd, 1));
    }

    @Test
    void hostileAccessNeverThrows() {
        Random random = new Random(8);
        for (int i = 0; i < 20000; i++) {
            int port = 0xcf8 + random.nextInt(8);
            int size = 1 << random.nextInt(3);
            if (random.nextBoolean()) {
                host.out(port, size, random.nextInt() | (random.nextBoolean() ? 0x80000000 : 0));
            } else {
                host.in(port, size);
            }
        }
    }
}
