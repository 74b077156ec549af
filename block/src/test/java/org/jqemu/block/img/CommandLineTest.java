package org.jqemu.block.img;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.jqemu.block.Oracle;
import org.junit.jupiter.api.Test;

/** Command-line pieces checked against qemu-img's documented behaviour (no oracle process needed). */
class CommandLineTest {
    @Test
    void sizesWithSuffixes() {
        assertEquals(1536, Sizes.parse("1.5k", 'B'));
        assertEquals(64L << 20, Sizes.parse("64M", 'B'));
        assertEquals(3L << 30, Sizes.parse("3G", 'B'));
        assertEquals(1L << 40, Sizes.parse("1T", 'B'));
        assertEquals(512, Sizes.parse("512", 'B'));
        assertEquals(-1, Sizes.parse("5X", 'B'));
        assertEquals(-1, Sizes.parse("-5", 'B'));
        assertEquals(-1, Sizes.parse("", 'B'));
        assertEquals(-2, Sizes.parse("9E", 'B'));
    }

    @Test
    void humanSizesLikeQemu() {
        // values as printed by qemu-img info: three significant digits, unit keeps the number below 1000
        assertEquals("196 KiB", Sizes.human(200704));
        assertEquals("64 MiB", Sizes.human(64L << 20));
        assertEquals("1.5 GiB", Sizes.human(3L << 29));
        assertEquals("4 KiB", Sizes.human(4096));
        assertEquals("0 B", Sizes.human(0));
        assertEquals("0.977 KiB", Sizes.human(1000));
        assertEquals("999 B", Sizes.human(999));
    }

    @Test
    void optionLists() throws UsageError {
        assertEquals(Map.of("a", "1", "b", "x,y"), OptionList.parse("a=1,b=x,,y"));
        assertEquals(Map.of("lazy_refcounts", "on"), OptionList.parse("lazy_refcounts"));
        assertThrows(UsageError.class, () -> OptionList.parse(",,"));
        assertThrows(UsageError.class, () -> OptionList.parse("a=1,"));
    }

    @Test
    void getoptPermutesAndClusters() throws UsageError {
        Getopt g = new Getopt("f:qo:", "output:output:1").parse(List.of("img", "-qffoo", "--output", "json", "x"));
        assertEquals(List.of("img", "x"), g.operands);
        assertEquals(List.of(new Getopt.Opt("q", null), new Getopt.Opt("f", "foo"), new Getopt.Opt("output", "json")),
                g.options);
        assertEquals("unrecognized option '--bogus'",
                assertThrows(UsageError.class, () -> new Getopt("f:").parse(List.of("--bogus"))).getMessage());
        assertEquals("missing argument for option '-f'",
                assertThrows(UsageError.class, () -> new Getopt("f:").parse(List.of("-f"))).getMessage());
        // unique prefixes of long options are accepted, as getopt_long does
        assertEquals("output", new Getopt("", "output:output:1").parse(List.of("--out=json")).options.get(0).key());
    }

    @Test
    void helpVersionAndUnknownCommands() {
        Oracle.Run v = Oracle.jqemuImg("--version");
        assertEquals(0, v.status());
        assertTrue(v.out().startsWith("jqemu-img version "), v.out());
        Oracle.Run h = Oracle.jqemuImg("-h");
        assertEquals(0, h.status());
        assertTrue(h.out().contains("usage: jqemu-img [standard options] command [command options]"));
        for (String c : new String[] {"create", "info", "check", "convert", "map", "compare", "resize", "measure",
                "commit", "rebase", "snapshot", "amend", "dd", "bench"}) {
            assertTrue(h.out().contains("\n  " + c + " "), c);
        }
        Oracle.Run none = Oracle.jqemuImg();
        assertEquals(1, none.status());
        assertEquals("jqemu-img: Not enough arguments\nTry 'jqemu-img --help' for more information\n", none.err());
        Oracle.Run bad = Oracle.jqemuImg("frob");
        assertEquals("jqemu-img: Command not found: frob\nTry 'jqemu-img --help' for more information\n", bad.err());
    }

    @Test
    void jsonKeyOrderFollowsQemuHashBuckets() {
        // order printed by qemu-img info --output=json for a raw image
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (String k : new String[] {"filename", "format", "dirty-flag", "actual-size", "virtual-size"}) {
            m.put(k, 0);
        }
        assertEquals(List.of("virtual-size", "filename", "format", "actual-size", "dirty-flag"), QJson.orderedKeys(m));
    }
}
