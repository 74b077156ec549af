package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.jqemu.util.opts.Opts;
import org.junit.jupiter.api.Test;

/**
 * Which chardevs, serial ports and monitors a command line makes, per QEMU's documentation of -serial,
 * -monitor, -chardev and -nographic (serial and monitor multiplexed on stdio when neither is given).
 */
class CharPlanTest {
    private static MachineConfig parse(String... args) {
        return Main.parse(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    }

    private static Opts chardev(MachineConfig c, String id) {
        return c.chardevs().stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow().opts();
    }

    @Test
    void nographicMultiplexesSerialAndMonitorOnStdio() {
        MachineConfig c = parse("-nographic");
        assertEquals(List.of("serial0"), c.serialChardevs());
        assertEquals("stdio", chardev(c, "serial0").get("backend"));
        assertEquals("on", chardev(c, "serial0").get("mux"));
        assertEquals(List.of(new MachineConfig.Monitor("serial0", "readline", false)), c.monitors());
    }

    @Test
    void nographicWithASerialPutsOnlyTheMonitorOnStdio() {
        MachineConfig c = parse("-nographic", "-serial", "null");
        assertEquals(List.of("serial0"), c.serialChardevs());
        assertEquals("null", chardev(c, "serial0").get("backend"));
        assertEquals("compat_monitor0", c.monitors().get(0).chardev());
        assertEquals("stdio", chardev(c, "compat_monitor0").get("backend"));
        assertEquals(null, chardev(c, "compat_monitor0").get("mux"));
    }

    @Test
    void fourPortsFromShortSpecs() {
        MachineConfig c = parse("-chardev", "file,id=f,path=/tmp/x", "-serial", "tcp:127.0.0.1:4444,server=on,wait=off",
                "-serial", "none", "-serial", "chardev:f", "-serial", "telnet::5555,server,wait=off", "-serial", "null");
        assertEquals(List.of("serial0", "", "f", "serial3"), c.serialChardevs(), "a fifth port is ignored, as pc has four");
        Opts tcp = chardev(c, "serial0");
        assertEquals(List.of("socket", "127.0.0.1", "4444", "on", "off"),
                List.of(tcp.get("backend"), tcp.get("host"), tcp.get("port"), tcp.get("server"), tcp.get("wait")));
        Opts telnet = chardev(c, "serial3");
        assertEquals(List.of("", "5555", "on", "on"), List.of(telnet.get("host"), telnet.get("port"), telnet.get("server"), telnet.get("telnet")));
        assertTrue(c.monitors().isEmpty());
    }

    @Test
    void unixAndFileAndMonitorSpecs() {
        MachineConfig c = parse("-serial", "unix:/tmp/s,server=on,wait=off", "-serial", "file:/tmp/out", "-monitor", "tcp::4445,server=on,wait=off");
        assertEquals("/tmp/s", chardev(c, "serial0").get("path"));
        assertEquals("/tmp/out", chardev(c, "serial1").get("path"));
        assertEquals("file", chardev(c, "serial1").get("backend"));
        assertEquals("compat_monitor0", c.monitors().get(0).chardev());
        assertEquals("4445", chardev(c, "compat_monitor0").get("port"));
    }

    @Test
    void withoutOptionsCom1ExistsOnAVirtualConsole() {
        // qemu-system-i386 -display none: "info chardev" shows serial0: filename=vc, "info qtree" an isa-serial at 0x3f8.
        MachineConfig c = parse("-display", "none");
        assertEquals(List.of("serial0"), c.serialChardevs());
        assertEquals("vc", chardev(c, "serial0").get("backend"));
        assertTrue(parse("-nodefaults").serialChardevs().isEmpty());
    }

    @Test
    void monOnASerialAddsAMonitorOnAMux() {
        MachineConfig c = parse("-serial", "mon:stdio");
        assertEquals("on", chardev(c, "serial0").get("mux"));
        assertEquals("serial0", c.monitors().get(0).chardev());
        // With -nographic too: that monitor replaces the default one (qemu-system-i386 7.2 accepts this line).
        MachineConfig n = parse("-nographic", "-serial", "mon:stdio");
        assertEquals(List.of(new MachineConfig.Monitor("serial0", "readline", false)), n.monitors());
    }

    @Test
    void stdioTwiceIsRefusedAsQemuDoes() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(new String[] {"-serial", "stdio", "-monitor", "stdio"}, new PrintStream(new ByteArrayOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8), config -> 0);
        assertEquals(1, status);
        // qemu-system-i386 7.2 (after printing its monitor banner, which this front end does not reach)
        assertEquals("jqemu-system-i386: -serial stdio: cannot use stdio by multiple character devices\n"
                + "jqemu-system-i386: -serial stdio: could not connect serial device to character backend 'stdio'\n",
                err.toString(StandardCharsets.UTF_8));
    }
}
