package org.jqemu.util.opts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.jqemu.util.FrontEnd.UserError;
import org.junit.jupiter.api.Test;

/** The two grammars, with the cases QEMU's documentation and qemu-system-i386 show. */
class OptsTest {
    private final List<String> warnings = new ArrayList<>();

    private Opts qemuOpts(String text, String implied) { return Opts.parse(text, implied, warnings::add); }

    @Test
    void doubledCommaIsACommaInsideAValue() {
        Opts o = qemuOpts("file=a,,b.img,format=qcow2,if=ide", null);
        assertEquals("a,b.img", o.get("file"));
        assertEquals("qcow2", o.get("format"));
        assertEquals("ide", o.get("if"));
        assertEquals(List.of("file", "format", "if"), List.copyOf(o.keys()));
    }

    @Test
    void impliedFirstKey() {
        assertEquals("user", qemuOpts("user,id=n0", "type").get("type"));
        assertEquals("n0", qemuOpts("user,id=n0", "type").get("id"));
        assertEquals("e1000", qemuOpts("e1000,netdev=n0", "driver").get("driver"));
        assertEquals("1,2", qemuOpts("1,,2", "size").get("size"));
        // An empty first element is an empty value of the implied key.
        assertEquals("", qemuOpts(",size=1", "size").entries().get(0).value());
        // A first element with '=' is an ordinary key.
        assertEquals("1G", qemuOpts("size=1G", "size").get("size"));
        // The implied value runs to the first single comma, '=' included when a comma comes first.
        assertEquals("a,b=c", qemuOpts("a,,b=c", "x").get("x"));
    }

    @Test
    void lastValueOfARepeatedKeyWins() {
        Opts o = qemuOpts("1,size=2,size=3", "size");
        assertEquals("3", o.get("size"));
        assertEquals(3, o.entries().size());
    }

    @Test
    void flagsMeanOnOrOffAndWarn() {
        Opts o = qemuOpts("socket,server,nowait", "backend");
        assertEquals("on", o.get("server"));
        assertEquals("off", o.get("wait"));
        assertEquals(List.of(
                "warning: short-form boolean option 'server' deprecated\nPlease use server=on instead",
                "warning: short-form boolean option 'nowait' deprecated\nPlease use wait=off instead"), warnings);
    }

    @Test
    void helpFlagStopsParsing() {
        Opts o = qemuOpts("e1000,help,netdev=x", "driver");
        assertTrue(o.helpWanted());
        assertEquals("e1000", o.get("driver"));
        assertNull(o.get("netdev"));
        assertTrue(qemuOpts("a=1,?", null).helpWanted());
        assertTrue(warnings.isEmpty());
        // As the implied value, "help" is just a value: the consumer decides.
        Opts device = qemuOpts("help", "driver");
        assertFalse(device.helpWanted());
        assertEquals("help", device.get("driver"));
    }

    @Test
    void trailingCommaAndEmptyText() {
        assertEquals(1, qemuOpts("null,", "backend").entries().size());
        assertTrue(qemuOpts("", "size").entries().isEmpty());
    }

    @Test
    void keyvalImpliedKeyOnlyFirst() {
        Opts o = Opts.parseKeyval("cd,once=d,menu=on", "order");
        assertEquals("cd", o.get("order"));
        assertEquals("d", o.get("once"));
        assertEquals("on", o.get("menu"));
        assertEquals("c", Opts.parseKeyval("order=cd,order=c", "order").get("order"));
        assertEquals("2,3", Opts.parseKeyval("cpus=2,,3", "cpus").get("cpus"));
    }

    @Test
    void keyvalErrorsAreQemus() {
        assertEquals("Expected '=' after parameter 'foo'",
                assertThrows(UserError.class, () -> Opts.parseKeyval("order=c,foo", "order")).getMessage());
        assertEquals("Invalid parameter ''",
                assertThrows(UserError.class, () -> Opts.parseKeyval(",order=c", "order")).getMessage());
        assertEquals("Invalid parameter ''",
                assertThrows(UserError.class, () -> Opts.parseKeyval("=c", "order")).getMessage());
        assertEquals("Invalid parameter 'a b'",
                assertThrows(UserError.class, () -> Opts.parseKeyval("x,a b=1", "order")).getMessage());
        assertEquals("Expected '=' after parameter 'c'",
                assertThrows(UserError.class, () -> Opts.parseKeyval("c", null)).getMessage());
    }

    @Test
    void keyvalHelpAnywhere() {
        assertTrue(Opts.parseKeyval("help", "order").helpWanted());
        assertTrue(Opts.parseKeyval("2,help", "cpus").helpWanted());
        assertTrue(Opts.parseKeyval("pc,?", "type").helpWanted());
        assertFalse(Opts.parseKeyval("pc,help=1", "type").helpWanted());
    }

    @Test
    void identifiers() {
        assertTrue(Opts.isIdentifier("n0"));
        assertTrue(Opts.isIdentifier("a-b.c_d"));
        assertFalse(Opts.isIdentifier("1x"));
        assertFalse(Opts.isIdentifier(""));
        assertFalse(Opts.isIdentifier("a b"));
        assertFalse(Opts.isIdentifier("_a"));
    }
}
