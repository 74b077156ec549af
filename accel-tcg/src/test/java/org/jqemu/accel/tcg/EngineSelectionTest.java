package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.jqemu.accel.tcg.Tcg.Engine;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The one reading of {@code jqemu.engine} that both front ends use (values as documented in Tcg). */
class EngineSelectionTest {
    private final String saved = System.getProperty(Tcg.ENGINE_PROPERTY);

    @AfterEach
    void restore() {
        if (saved == null) {
            System.clearProperty(Tcg.ENGINE_PROPERTY);
        } else {
            System.setProperty(Tcg.ENGINE_PROPERTY, saved);
        }
    }

    @Test
    void absentOrUnknownValueGivesTheFrontEndsDefault() {
        System.clearProperty(Tcg.ENGINE_PROPERTY);
        assertEquals(Engine.TRANSLATOR, Tcg.engine(Engine.TRANSLATOR));
        assertEquals(Engine.INTERPRETER, Tcg.engine(Engine.INTERPRETER));
        System.setProperty(Tcg.ENGINE_PROPERTY, "kvm");
        assertEquals(Engine.INTERPRETER, Tcg.engine(Engine.INTERPRETER));
        assertFalse(Tcg.interpreterRequested());
    }

    @Test
    void namedEngineWinsOverTheDefaultInAnyCase() {
        System.setProperty(Tcg.ENGINE_PROPERTY, "TCG");
        assertEquals(Engine.TRANSLATOR, Tcg.engine(Engine.INTERPRETER));
        for (String interp : new String[] {"interp", "Interpreter"}) {
            System.setProperty(Tcg.ENGINE_PROPERTY, interp);
            assertEquals(Engine.INTERPRETER, Tcg.engine(Engine.TRANSLATOR), interp);
            assertTrue(Tcg.interpreterRequested(), interp);
        }
    }
}
