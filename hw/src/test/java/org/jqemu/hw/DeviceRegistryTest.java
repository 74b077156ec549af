package org.jqemu.hw;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.HelpRequested;
import org.jqemu.util.opts.Opts;
import org.junit.jupiter.api.Test;

/** Expected texts are qemu-system-i386 7.2's output for the same requests. */
class DeviceRegistryTest {
    private static final DeviceRegistry REGISTRY = DeviceRegistry.STANDARD;

    private static DeviceConfig configure(String arg) {
        return REGISTRY.configure(Opts.parse(arg, "driver", w -> { }), id -> id.equals("c0"));
    }

    private static String error(String arg) { return assertThrows(UserError.class, () -> configure(arg)).getMessage(); }

    private static HelpRequested help(String arg) { return assertThrows(HelpRequested.class, () -> configure(arg)); }

    @Test
    void listGroupsByCategoryLikeQemu() {
        assertEquals("Misc devices:\nname \"isa-debug-exit\", bus ISA\nname \"isa-debugcon\", bus ISA\n", REGISTRY.listHelp());
        assertEquals(REGISTRY.listHelp(), help("help").text());
        assertEquals(REGISTRY.listHelp(), help("?").text());
        assertEquals(0, help("help").status());
    }

    @Test
    void listWithSeveralCategoriesSeparatesThemByABlankLine() {
        DeviceType nic = new DeviceType("ne2k_isa", DeviceCategory.NETWORK, "ISA", null, List.of(), c -> { }, null);
        DeviceType vga = new DeviceType("VGA", DeviceCategory.DISPLAY, "PCI", "Standard VGA", List.of(), c -> { }, null);
        DeviceType sga = new DeviceType("sga", DeviceCategory.DISPLAY, "ISA", "Serial Graphics Adapter", List.of(), c -> { }, null);
        assertEquals("Network devices:\nname \"ne2k_isa\", bus ISA\n\nDisplay devices:\n"
                + "name \"sga\", bus ISA, desc \"Serial Graphics Adapter\"\nname \"VGA\", bus PCI, desc \"Standard VGA\"\n",
                new DeviceRegistry(List.of(vga, nic, sga)).listHelp());
    }

    @Test
    void propertyHelpIsQemus() {
        assertEquals("isa-debugcon options:\n"
                + "  chardev=<str>          - ID of a chardev to use as a backend\n"
                + "  iobase=<uint32>        -  (default: 233)\n"
                + "  readback=<uint32>      -  (default: 233)\n", help("isa-debugcon,help").text());
        assertEquals("isa-debug-exit options:\n"
                + "  iobase=<uint32>        -  (default: 1281)\n"
                + "  iosize=<uint32>        -  (default: 2)\n", help("isa-debug-exit,help=foo,iobase=1").text());
        DeviceType bare = new DeviceType("pc-testdev", DeviceCategory.MISC, "ISA", null, List.of(), c -> { }, null);
        assertEquals("There are no options for pc-testdev.\n", bare.propertiesHelp());
    }

    @Test
    void errorsAreQemus() {
        assertEquals("'foo' is not a valid device model name", error("foo"));
        assertEquals("Property 'isa-debugcon.bogus' not found", error("isa-debugcon,bogus=1"));
        assertEquals("Parameter 'iobase' expects integer", error("isa-debug-exit,iobase=foo"));
        assertEquals("Parameter 'iobase' expects uint32_t", error("isa-debug-exit,iobase=0x100000000"));
        assertEquals("Parameter 'iobase' expects uint32_t", error("isa-debug-exit,iobase=-1"));
        assertEquals("Property 'isa-debugcon.chardev' can't find value 'x'", error("isa-debugcon,chardev=x"));
        assertEquals("Can't create debugcon device, empty char device", error("driver=isa-debugcon,iobase=0xe9"));
        assertEquals("Parameter 'driver' is missing", error("id=d0"));
    }

    @Test
    void valuesWithDefaults() {
        DeviceConfig c = configure("isa-debug-exit,iobase=0xf4,iosize=0x04,id=exit0");
        assertEquals(0xf4, c.uint32("iobase"));
        assertEquals(4, c.uint32("iosize"));
        assertEquals("exit0", c.id());
        DeviceConfig d = configure("isa-debugcon,chardev=c0");
        assertEquals(0xe9, d.uint32("iobase"));
        assertEquals("c0", d.string("chardev"));
        assertTrue(REGISTRY.find("isa-debugcon") == d.type());
    }
}
