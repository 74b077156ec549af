package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.jqemu.util.FrontEnd;
import org.jqemu.util.opts.HelpRequested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the options turn into; expected values follow QEMU's documented meaning of each option. */
class MainTest {
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private MachineConfig parse(String... args) {
        return Main.parse(args, new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private record Run(int status, String out, String err) { }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void defaults() {
        MachineConfig c = parse();
        assertEquals("pc-i440fx-7.2", c.machine().name());
        assertEquals(128L << 20, c.memory().ramBytes());
        assertEquals(new MachineConfig.Smp(1, 1, 1, 1, 1, 1), c.smp());
        assertEquals("qemu32", c.cpu().model());
        assertEquals("tcg", c.accelerator().name());
        assertEquals("cad", c.boot().order());
        assertTrue(c.drives().isEmpty());
    }

    @Test
    void memorySizes() {
        assertEquals(512L << 20, parse("-m", "512").memory().ramBytes());
        assertEquals(1L << 30, parse("-m", "size=1G").memory().ramBytes());
        assertEquals(1L << 30, parse("-m", "1G").memory().ramBytes());
        assertEquals(3L << 29, parse("-m", "1.5G").memory().ramBytes());
        // 1 KiB rounds up to QEMU's 8 KiB granule; the last -m wins; a hex size without suffix counts MiB.
        assertEquals(8192, parse("-m", "1k").memory().ramBytes());
        assertEquals(2L << 30, parse("-m", "1G", "-m", "2G").memory().ramBytes());
        assertEquals(16L << 20, parse("-m", "0x10").memory().ramBytes());
        assertEquals(128L << 20, parse("-m", "0").memory().ramBytes());
        MachineConfig.Memory hotplug = parse("-m", "512,slots=2,maxmem=1G").memory();
        assertEquals(2, hotplug.slots());
        assertEquals(1L << 30, hotplug.maxMemBytes());
    }

    @Test
    void hexWithSuffixWarns() {
        parse("-m", "0x10M");
        // QEMU warns twice: when it reads the option, and when it sets the machine's memory size.
        assertEquals("jqemu-system-i386: -m 0x10M: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M\n"
                + "jqemu-system-i386: warning: Using a multiplier suffix on hex numbers is deprecated: 0x10M\n",
                err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void smpTopology() {
        assertEquals(new MachineConfig.Smp(4, 4, 1, 1, 4, 1), parse("-smp", "4").smp());
        assertEquals(new MachineConfig.Smp(2, 8, 2, 1, 2, 2), parse("-smp", "2,maxcpus=8,sockets=2,threads=2").smp());
        assertEquals(new MachineConfig.Smp(4, 4, 2, 1, 2, 1), parse("-smp", "cpus=4,cores=2").smp());
        assertEquals(new MachineConfig.Smp(2, 2, 1, 1, 2, 1), parse("-smp", "2,cpus=3", "-smp", "cpus=2").smp());
    }

    @Test
    void hpetIsOnByDefaultAndNoHpetTurnsItOffInCommandLineOrder() {
        assertTrue(parse().hpet(), "QEMU's pc has an HPET by default");
        assertFalse(parse("-no-hpet").hpet());
        assertFalse(parse("-machine", "hpet=off").hpet());
        assertTrue(parse("-machine", "pc,hpet=on").hpet());
        assertTrue(parse("-no-hpet", "-machine", "hpet=on").hpet(), "the later of the two wins, as in QEMU");
        assertFalse(parse("-machine", "hpet=on", "-no-hpet").hpet());
    }

    @Test
    void machineCpuAccelBoot() {
        MachineConfig c = parse("-M", "pc,accel=tcg,usb=on", "-cpu", "pentium3,+sse,-fpu", "-boot", "order=dc,menu=on");
        assertEquals("pc-i440fx-7.2", c.machine().name());
        assertEquals("on", c.machineProperties().get("usb"));
        assertEquals("pentium3", c.cpu().model());
        assertEquals(List.of("+sse", "-fpu"), c.cpu().features());
        assertEquals("dc", c.boot().order());
        assertTrue(c.boot().menu());
        assertEquals("none", parse("-machine", "type=none").machine().name());
        assertEquals("multi", parse("-accel", "tcg,thread=multi,tb-size=64").accelerator().thread());
    }

    @Test
    void drivesAndImages(@TempDir Path dir) throws Exception {
        Path disk = Files.write(dir.resolve("a,b.img"), new byte[512]);
        Path qcow = Files.write(dir.resolve("q.qcow2"), new byte[] {'Q', 'F', 'I', (byte) 0xfb, 0, 0, 0, 3});
        MachineConfig c = parse("-drive", "file=" + disk.toString().replace(",", ",,") + ",format=raw,if=ide",
                "-hdb", qcow.toString(), "-cdrom", disk.toString(), "-snapshot", "-hdd", disk.toString());
        assertEquals(4, c.drives().size());
        assertEquals(disk.toString(), c.drives().get(0).file());
        assertEquals("qcow2", c.drives().get(1).format());
        assertEquals(1, c.drives().get(1).index());
        assertEquals("cdrom", c.drives().get(2).media());
        assertTrue(c.drives().get(2).readOnly());
        assertTrue(c.snapshot());
        // Only the writable raw image without a format (-hdd) gets QEMU's probing warning.
        assertEquals("WARNING: Image format was not specified for '" + disk + "' and probing guessed raw.",
                err.toString(StandardCharsets.UTF_8).lines().findFirst().orElse(""));
        assertEquals(3, err.toString(StandardCharsets.UTF_8).lines().count());
        assertEquals("raw", c.drives().get(3).format());
    }

    @Test
    void devicesChardevsNetworks() {
        MachineConfig c = parse("-chardev", "null,id=c0", "-device", "isa-debugcon,chardev=c0,iobase=0x402",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-netdev", "user,id=n0,hostfwd=tcp::2222-:22",
                "-serial", "mon:stdio", "-mon", "chardev=c0,mode=control");
        assertEquals(2, c.devices().size());
        assertEquals(0x402, c.devices().get(0).uint32("iobase"));
        assertEquals(4, c.devices().get(1).uint32("iosize"));
        assertEquals("n0", c.netdevs().get(0).get("id"));
        assertEquals(List.of("mon:stdio"), c.serials());
        assertEquals("control", c.monitors().get(0).mode());
    }

    @Test
    void switches() {
        MachineConfig c = parse("-nographic", "-no-reboot", "-no-shutdown", "-S", "-s", "-name", "guest1", "-k", "fr",
                "-d", "int,cpu_reset", "-D", "/tmp/log", "-usb", "-full-screen", "-pidfile", "/tmp/pid", "--vga", "std");
        assertTrue(c.display().nographic());
        assertTrue(c.run().noReboot() && c.run().noShutdown() && c.run().startPaused());
        assertEquals("tcp::1234", c.gdb());
        assertEquals("guest1", c.run().name());
        assertEquals(List.of("int", "cpu_reset"), c.debug().logItems());
        assertEquals("on", c.machineProperties().get("usb"));
        assertFalse(c.host().daemonize());
    }

    private static void assertFalse(boolean b) { assertTrue(!b); }

    @Test
    void kernelBoot(@TempDir Path dir) throws Exception {
        Path kernel = Files.write(dir.resolve("vmlinuz"), new byte[16]);
        MachineConfig c = parse("-kernel", kernel.toString(), "-append", "console=ttyS0", "-initrd", kernel.toString());
        assertEquals("console=ttyS0", c.firmware().append());
        assertEquals(kernel.toString(), c.machineProperties().get("kernel"));
        assertNull(c.firmware().bios());
    }

    @Test
    void successfulParseStartsTheMachineWhoseErrorsReadLikeQemus() {
        Run r = run("-m", "256", "-display", "none", "-kernel", "/nonexistent/vmlinuz");
        assertEquals(1, r.status());
        assertEquals("jqemu-system-i386: could not open kernel file '/nonexistent/vmlinuz': No such file or directory\n", r.err());
        assertEquals("", r.out());
    }

    @Test
    void versionAndHelp() {
        Run v = run("-version", "-foo");
        assertEquals(0, v.status());
        assertEquals(FrontEnd.versionText("jqemu-system-i386"), v.out());
        Run h = run("--help");
        assertEquals(0, h.status());
        assertTrue(h.out().contains("usage: jqemu-system-i386 [options] [disk_image]\n"));
        assertTrue(h.out().contains("\nStandard options:\n-h or -help     display this help and exit\n"));
        assertEquals(h.out(), run("-h").out());
        assertTrue(h.out().contains("\n-m [size=]megs[,slots=n,maxmem=size]\n                configure guest RAM"));
        // Every option of the table appears in the help.
        for (Options.Option o : Options.all()) assertTrue(h.out().contains("\n-" + o.name()), o.name());
    }

    @Test
    void impliedKeysAreQemus() {
        String[][] expected = {{"machine", "type"}, {"M", "type"}, {"m", "size"}, {"smp", "cpus"}, {"boot", "order"},
            {"accel", "accel"}, {"device", "driver"}, {"netdev", "type"}, {"nic", "type"}, {"net", "type"},
            {"chardev", "backend"}, {"object", "qom-type"}, {"mon", "chardev"}, {"name", "guest"}, {"icount", "shift"},
            {"trace", "enable"}, {"display", "type"}, {"drive", null}, {"rtc", null}, {"cpu", null}};
        for (String[] e : expected) assertEquals(e[1], Options.find(e[0]).impliedKey(), e[0]);
        assertTrue(Options.find("S").grammar() == null && !Options.find("S").hasArg());
    }

    @Test
    void helpLists() {
        assertEquals("Available CPUs:\n", run("-cpu", "help").out().substring(0, 16));
        assertTrue(run("-cpu", "?").out().contains("x86 pentium2              (alias configured by machine type)\n"));
        assertTrue(run("-machine", "help").out().contains("pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)\n"));
        assertTrue(run("-M", "pc,help").out().startsWith("pc-i440fx-7.2-machine options:\n  accel=<string>"));
        // QEMU's list, plus jqemu's interp (the interpreter alone)
        assertEquals("Accelerators supported in QEMU binary:\ntcg\ninterp\n", run("-accel", "help").out());
        assertEquals("Available netdev backend types:\nuser\n", run("-netdev", "help").out());
        assertTrue(run("-chardev", "help").out().startsWith("Available chardev backend types: \n  stdio\n"));
        assertEquals("Misc devices:\nname \"isa-debug-exit\", bus ISA\nname \"isa-debugcon\", bus ISA\n", run("-device", "?").out());
        Run d = run("-d", "bogus");
        assertEquals(1, d.status());
        assertTrue(d.out().startsWith("Log items (comma separated):\nin_asm "));
        assertEquals(1, run("-d", "help").status());
        // Help comes after the whole line is read: a later syntax error wins.
        Run late = run("-device", "help", "-foo");
        assertEquals("jqemu-system-i386: -foo: invalid option\n", late.err());
    }

    @Test
    void noStackTraceForAnyError() {
        for (String[] args : new String[][] {{"-m", "x"}, {"-hda"}, {"-smp", "0"}, {"-drive", "if=foo"}, {"-device", "isa-debugcon"}}) {
            // A missing kernel makes a command line that parses start nothing (the machine now runs guests).
            String[] withKernel = java.util.Arrays.copyOf(args, args.length + 2);
            withKernel[args.length] = "-kernel";
            withKernel[args.length + 1] = "/nonexistent/vmlinuz";
            Run r = run(args[args.length - 1].startsWith("-") ? args : withKernel);
            assertTrue(!r.err().contains("Exception") && !r.err().contains("\tat "), r.err());
        }
        assertThrows(HelpRequested.class, () -> parse("-h"));
    }
}
