package org.jqemu.hw;

import java.util.Map;

/** A device as "-device" configured it: its type, id (or null) and every property's value (defaults filled in). */
public record DeviceConfig(DeviceType type, String id, Map<String, Object> values) {
    public DeviceConfig {
        values = Map.copyOf(values);
    }

    public int uint32(String property) { return (int) (long) (Long) values.get(property); }

    /** A string property, or null when unset and without default. */
    public String string(String property) { return (String) values.get(property); }

    public boolean bool(String property) { return (Boolean) values.get(property); }
}
