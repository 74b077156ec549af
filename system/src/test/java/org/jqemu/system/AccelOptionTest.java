package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** {@code -accel tcg} properties that configure the translator (QEMU's documented meaning). */
class AccelOptionTest {
    private static MachineConfig.Accelerator accel(String... args) {
        return Main.parse(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)).accelerator();
    }

    @Test
    void oneInsnPerTbAndTbSize() {
        MachineConfig.Accelerator a = accel("-accel", "tcg,one-insn-per-tb=on,tb-size=8");
        assertTrue(a.oneInsnPerTb());
        assertEquals(8L, a.tbSizeMiB());
        assertFalse(accel("-accel", "tcg,one-insn-per-tb=off").oneInsnPerTb());
        MachineConfig.Accelerator defaults = accel();
        assertEquals("tcg", defaults.name());
        assertFalse(defaults.oneInsnPerTb());
        assertNull(defaults.tbSizeMiB());
    }

    @Test
    void interpSelectsTheInterpreter() {
        assertTrue(accel("-accel", "interp").interpreter());
        assertTrue(accel("-machine", "accel=interp").interpreter());
        assertFalse(accel("-accel", "tcg").interpreter());
        assertFalse(accel().interpreter());
    }

    @Test
    void badOneInsnPerTbValueIsAClearError() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(new String[] {"-accel", "tcg,one-insn-per-tb=maybe"},
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(1, status);
        String text = err.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("Parameter 'one-insn-per-tb' expects 'on' or 'off'"), text);
        assertFalse(text.contains("Exception"), text);
    }
}
