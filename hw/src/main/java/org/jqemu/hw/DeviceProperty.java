package org.jqemu.hw;

/** One configurable property of a device type; {@code defaultValue} is null when there is none. */
public record DeviceProperty(String name, PropertyType type, Object defaultValue, String description) {
    /** The line "-device NAME,help" prints, as QEMU lays it out. */
    String helpLine() {
        String left = String.format("  %-22s", name + "=<" + type.helpName() + ">");
        String defaults = defaultValue == null ? "" : " (default: " + defaultValue + ")";
        return left + " - " + description + defaults;
    }
}
