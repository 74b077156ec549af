package org.jqemu.util.opts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.jqemu.util.FrontEnd.UserError;
import org.junit.jupiter.api.Test;

/** Schema checks; the expected messages are qemu-system-i386 7.2's (see the system module's comparison test). */
class OptsListTest {
    private static final OptsList MEMORY = OptsList.qemuOpts("memory", "size")
            .param("size", OptsList.Type.SIZE).param("slots", OptsList.Type.NUMBER).param("maxmem", OptsList.Type.SIZE);
    private static final OptsList CHARDEV = OptsList.qemuOpts("chardev", "backend")
            .params(OptsList.Type.STRING, "backend", "port", "host").params(OptsList.Type.BOOL, "server", "wait");
    private static final OptsList SMP = OptsList.keyval("smp-opts", "cpus").params(OptsList.Type.NUMBER, "cpus", "maxcpus");

    private final List<String> warnings = new ArrayList<>();

    private String error(OptsList list, String text) {
        return assertThrows(UserError.class, () -> list.parse(text, warnings::add)).getMessage();
    }

    @Test
    void sizeMessages() {
        String invalid = "Parameter 'size' expects a non-negative number below 2^64\n"
                + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                + "and exabytes, respectively.";
        assertEquals(invalid, error(MEMORY, "foo"));
        assertEquals(invalid, error(MEMORY, "-1"));
        assertEquals(invalid, error(MEMORY, "help"));
        assertEquals("Value '16E' is out of range for parameter 'size'", error(MEMORY, "16E"));
        assertEquals("Parameter 'maxmem' expects a non-negative number below 2^64\n"
                + "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
                + "and exabytes, respectively.", error(MEMORY, "1G,maxmem=x"));
    }

    @Test
    void numberMessages() {
        assertEquals("Parameter 'slots' expects a number", error(MEMORY, "1G,slots=x"));
        assertEquals("Value '99999999999999999999' is too large for parameter 'slots'",
                error(MEMORY, "1G,slots=99999999999999999999"));
    }

    @Test
    void unknownKeysAndFlags() {
        assertEquals("Invalid parameter 'foo'", error(MEMORY, "size=1G,foo=3"));
        assertEquals("Invalid parameter 'foo'", error(MEMORY, "1,foo"));
        assertEquals(List.of("warning: short-form boolean option 'foo' deprecated\nPlease use foo=on instead"), warnings);
        assertEquals("Invalid parameter ''", error(MEMORY, "=1"));
    }

    @Test
    void booleans() {
        for (String yes : new String[] {"on", "yes", "true", "y"}) assertEquals(Boolean.TRUE, OptsList.parseBool(yes));
        for (String no : new String[] {"off", "no", "false", "n"}) assertEquals(Boolean.FALSE, OptsList.parseBool(no));
        assertEquals("Parameter 'server' expects 'on' or 'off'", error(CHARDEV, "socket,id=c,port=4444,server=maybe,wait=off"));
        assertEquals("Parameter 'server' expects 'on' or 'off'", error(CHARDEV, "socket,id=c,server=ON"));
        Opts o = CHARDEV.parse("socket,id=c,server=yes,wait=no", warnings::add);
        assertEquals(true, o.bool("server", false));
        assertEquals(false, o.bool("wait", true));
        assertEquals(true, o.bool("absent", true));
    }

    @Test
    void identifierIsCheckedFirst() {
        assertEquals("Parameter 'id' expects an identifier\n"
                + "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.", error(CHARDEV, "null,foo=1,id=1x"));
    }

    @Test
    void helpListsParametersSorted() {
        HelpRequested help = assertThrows(HelpRequested.class, () -> MEMORY.parse("1,help", warnings::add));
        assertEquals("memory options:\n  maxmem=<size>\n  size=<size>\n  slots=<num>\n", help.text());
        assertEquals(1, help.status());
        HelpRequested keyvalHelp = assertThrows(HelpRequested.class, () -> SMP.parse("2,help", warnings::add));
        assertEquals(0, keyvalHelp.status());
        assertEquals("smp-opts options:\n  cpus=<num>\n  maxcpus=<num>\n", keyvalHelp.text());
    }

    @Test
    void anyKeyListsPassHelpOn() {
        OptsList device = OptsList.qemuOptsAnyKey("device", "driver");
        Opts o = device.parse("e1000,help", warnings::add);
        assertEquals("on", o.get("help"));
        assertEquals("e1000", o.get("driver"));
        assertEquals("3", device.parse("x,anything=3", warnings::add).get("anything"));
    }

    @Test
    void keyvalChecksComeLater() {
        Opts o = SMP.parse("foo,bar=1", warnings::add);
        assertEquals("Parameter 'smp.cpus' expects integer", assertThrows(UserError.class, () -> SMP.checkKeyval(o, "smp")).getMessage());
        Opts unknown = SMP.parse("2,bar=1", warnings::add);
        assertEquals("Parameter 'smp.bar' is unexpected", assertThrows(UserError.class, () -> SMP.checkKeyval(unknown, "smp")).getMessage());
        SMP.checkKeyval(SMP.parse("2,maxcpus=0x4", warnings::add), "smp");
        assertEquals(Long.valueOf(-1), OptsList.parseInteger("-1"));
        assertEquals(null, OptsList.parseInteger("99999999999999999999"));
    }
}
