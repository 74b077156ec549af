package org.jqemu.hw;

import org.jqemu.hw.core.DeviceState;

import java.util.List;
import java.util.function.Consumer;

/**
 * A kind of device "-device" can create: its name, help category, bus, properties, the checks QEMU makes
 * when it realizes one, and how to build it.
 */
public record DeviceType(String name, DeviceCategory category, String bus, String description,
        List<DeviceProperty> properties, Consumer<DeviceConfig> realizeCheck, Factory factory) {

    /** Builds a configured device and maps it into the machine. */
    @FunctionalInterface
    public interface Factory {
        DeviceState create(DeviceConfig config, DeviceContext context);
    }

    public DeviceProperty property(String propertyName) {
        for (DeviceProperty p : properties) {
            if (p.name().equals(propertyName)) return p;
        }
        return null;
    }

    /** The line of "-device help": {@code name "isa-debugcon", bus ISA}. */
    public String helpLine() {
        return "name \"" + name + "\"" + (bus == null ? "" : ", bus " + bus)
                + (description == null ? "" : ", desc \"" + description + "\"");
    }

    /** The text of "-device NAME,help". */
    public String propertiesHelp() {
        if (properties.isEmpty()) return "There are no options for " + name + ".\n";
        StringBuilder out = new StringBuilder(name).append(" options:\n");
        // QEMU sorts the printed lines ("splash-time=..." before "splash=...").
        properties.stream().map(DeviceProperty::helpLine).sorted().forEach(line -> out.append(line).append('\n'));
        return out.toString();
    }
}
