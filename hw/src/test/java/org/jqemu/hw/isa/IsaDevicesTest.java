package org.jqemu.hw.isa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

import org.jqemu.hw.chr.CharBackend;
import org.jqemu.hw.DeviceConfig;
import org.jqemu.hw.DeviceContext;
import org.jqemu.hw.DeviceRegistry;
import org.jqemu.hw.IoPortBus;
import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.Opts;
import org.junit.jupiter.api.Test;

/** The two test devices, driven through the port bus the way a CPU's IN/OUT would. */
class IsaDevicesTest {
    private final IoPortBus bus = new IoPortBus();
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final List<Integer> exits = new ArrayList<>();
    private final DeviceContext context = new DeviceContext() {
        @Override public IoPortBus ioPorts() { return bus; }
        @Override public CharBackend chardev(String id) { return console::write; }
        @Override public void exit(int status) { exits.add(status); }
    };

    private void create(String deviceArg) {
        Opts opts = Opts.parse(deviceArg, "driver", w -> { });
        DeviceConfig config = DeviceRegistry.STANDARD.configure(opts, id -> id.equals("c0"), new java.util.HashSet<>());
        config.type().factory().create(config, context);
    }

    @Test
    void debugconSendsEveryWrittenByteToItsBackend() {
        create("isa-debugcon,chardev=c0");
        for (byte b : "hi\n".getBytes()) bus.out(0xe9, 1, b);
        assertEquals("hi\n", console.toString());
        // Reading the port tells the guest it is there (Bochs convention).
        assertEquals(0xe9, bus.in(0xe9, 1));
    }

    @Test
    void debugconAtAnotherBaseWithReadback() {
        create("isa-debugcon,chardev=c0,iobase=0x402,readback=0x12");
        bus.out(0x402, 1, 'A');
        assertEquals("A", console.toString());
        assertEquals(0x12, bus.in(0x402, 1));
        assertEquals(0xff, bus.in(0xe9, 1));
    }

    @Test
    void debugExitStatusIsValueShiftedLeftOrOne() {
        create("isa-debug-exit,iobase=0xf4,iosize=4");
        bus.out(0xf4, 4, 0);
        bus.out(0xf6, 1, 1);
        bus.out(0xf4, 1, 0x7f);
        bus.out(0xf4, 2, 0x1234);
        assertEquals(List.of(1, 3, 0xff, 0x2469), exits);
        assertEquals(0, bus.in(0xf4, 4));
        bus.out(0xf8, 1, 5);
        assertEquals(4, exits.size());
    }

    @Test
    void debugExitDefaultsAreQemus() {
        create("isa-debug-exit");
        assertEquals(0, bus.in(0x501, 2));
        assertEquals(0xff, bus.in(0x503, 1));
        bus.out(0x502, 1, 2);
        assertEquals(List.of(5), exits);
    }

    @Test
    void debugconNeedsAChardev() {
        assertEquals("Can't create debugcon device, empty char device",
                assertThrows(UserError.class, () -> create("isa-debugcon,iobase=0x10000")).getMessage());
    }

    @Test
    void resetAndSnapshotKeepBehaviour() throws Exception {
        IsaDebugcon con = new IsaDebugcon(console::write, 0xe9);
        con.reset();
        con.saveState(new java.io.DataOutputStream(new ByteArrayOutputStream()));
        con.write(0, 1, 'x');
        assertEquals("x", console.toString());
    }
}
