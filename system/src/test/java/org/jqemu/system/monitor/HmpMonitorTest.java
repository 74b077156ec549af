package org.jqemu.system.monitor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The monitor's line handling and texts, as qemu-system-i386 7.2's HMP prints them (observed with -monitor stdio). */
class HmpMonitorTest {
    private final List<String> calls = new ArrayList<>();
    private String state = "running";
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private final MachineControl machine = new MachineControl() {
        @Override public String status() { return state; }
        @Override public void stop() { calls.add("stop"); state = "paused"; }
        @Override public void cont() { calls.add("cont"); state = "running"; }
        @Override public void systemReset() { calls.add("reset"); }
        @Override public void systemPowerdown() { calls.add("powerdown"); }
        @Override public void quit() { calls.add("quit"); }
        @Override public String registers() { return "EAX=00000000\n"; }
        @Override public String chardevs() { return "serial0: filename=null\n"; }
    };

    private HmpMonitor monitor() {
        HmpMonitor m = new HmpMonitor(machine);
        m.connect(out::write);
        m.focusChanged(true);
        return m;
    }

    private static void type(HmpMonitor m, String text) {
        for (char c : text.toCharArray()) m.receive(c);
    }

    private String shown() { return out.toString(StandardCharsets.UTF_8); }

    @Test
    void bannerPromptAndStatus() {
        HmpMonitor m = monitor();
        assertEquals("QEMU 7.2.0 monitor - type 'help' for more information\r\n(qemu) ", shown());
        type(m, "info status\r");
        assertTrue(shown().endsWith("info status\r\nVM status: running\r\n(qemu) "), shown());
        type(m, "stop\r\ninfo status\n");
        assertTrue(shown().endsWith("VM status: paused\r\n(qemu) "), shown());
        type(m, "c\rsystem_reset\rsystem_powerdown\rq\r");
        assertEquals(List.of("stop", "cont", "reset", "powerdown", "quit"), calls);
        assertTrue(shown().endsWith("(qemu) q\r\n"), "no prompt after quit: " + shown());
    }

    @Test
    void errorsAsQemuWordsThem() {
        HmpMonitor m = monitor();
        type(m, "foo\r");
        assertTrue(shown().contains("unknown command: 'foo'\r\n"), shown());
        type(m, "info foo\r");
        assertTrue(shown().contains("unknown command: 'info foo'\r\n"), shown());
        type(m, "info status x\r");
        assertTrue(shown().contains("status: extraneous characters at the end of line\r\nTry \"help info status\" for more information\r\n"), shown());
        type(m, "stop x\r");
        assertTrue(shown().contains("stop|s: extraneous characters at the end of line\r\n"), shown());
        assertEquals(List.of(), calls);
    }

    @Test
    void helpLinesAndLineEditing() {
        HmpMonitor m = monitor();
        type(m, "help\r");
        assertTrue(shown().contains("cont|c  -- resume emulation\r\n"), shown());
        assertTrue(shown().contains("stop|s  -- stop emulation\r\nsystem_powerdown  -- send system power down event\r\n"
                + "system_reset  -- reset the system\r\n"), shown());
        type(m, "help info\r");
        assertTrue(shown().contains("info status  -- show the current VM status (running|paused)\r\n"), shown());
        // Backspace and an arrow key's escape sequence edit the line; neither reaches the command.
        type(m, "stoq\u007fp\u001b[A\r");
        assertEquals(List.of("stop"), calls);
        type(m, "info chardev\r");
        assertTrue(shown().contains("serial0: filename=null\r\n"), shown());
    }
}
