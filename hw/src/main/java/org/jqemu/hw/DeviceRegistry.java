package org.jqemu.hw;

import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.jqemu.hw.isa.IsaDebugExit;
import org.jqemu.hw.isa.IsaDebugcon;
import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.HelpRequested;
import org.jqemu.util.opts.Opts;

/** The device types "-device" knows; only devices that exist in the code are listed. */
public final class DeviceRegistry {
    /** Every device model of jqemu. */
    public static final DeviceRegistry STANDARD = new DeviceRegistry(List.of(IsaDebugcon.TYPE, IsaDebugExit.TYPE));

    private final Map<String, DeviceType> types = new LinkedHashMap<>();

    public DeviceRegistry(List<DeviceType> deviceTypes) {
        for (DeviceType t : deviceTypes) types.put(t.name(), t);
    }

    public DeviceType find(String name) { return types.get(name); }

    /** The text of "-device help": one block per non-empty category, names sorted ignoring case. */
    public String listHelp() {
        StringBuilder out = new StringBuilder();
        for (DeviceCategory category : DeviceCategory.values()) {
            List<DeviceType> members = types.values().stream().filter(t -> t.category() == category)
                    .sorted(Comparator.comparing(DeviceType::name, String.CASE_INSENSITIVE_ORDER)).toList();
            if (members.isEmpty()) continue;
            if (!out.isEmpty()) out.append('\n');
            out.append(category.heading()).append(":\n");
            for (DeviceType t : members) out.append(t.helpLine()).append('\n');
        }
        return out.toString();
    }

    /**
     * Turns one "-device" argument into a checked configuration, with QEMU's messages. "help" as the
     * driver lists the types, a "help" key lists the type's properties ({@link HelpRequested}, status 0).
     * {@code chardevExists} tells whether a -chardev id was defined.
     */
    public DeviceConfig configure(Opts opts, Predicate<String> chardevExists) {
        String driver = opts.get("driver");
        if (driver == null) throw new UserError("Parameter 'driver' is missing");
        if (Opts.isHelp(driver)) throw new HelpRequested(listHelp(), 0);
        DeviceType type = types.get(driver);
        if (type == null) throw new UserError("'" + driver + "' is not a valid device model name");
        if (opts.helpWanted() || opts.hasHelpKey()) throw new HelpRequested(type.propertiesHelp(), 0);
        Map<String, Object> values = new HashMap<>();
        for (DeviceProperty p : type.properties()) {
            if (p.defaultValue() != null) values.put(p.name(), p.defaultValue());
        }
        for (Opts.Entry e : opts.entries()) {
            if (e.key().equals("driver") || e.key().equals("id")) continue;
            DeviceProperty p = type.property(e.key());
            if (p == null) throw new UserError("Property '" + driver + "." + e.key() + "' not found");
            Object value = p.type().parse(p.name(), e.value());
            if (p.type() == PropertyType.CHARDEV && !chardevExists.test(e.value())) {
                throw new UserError("Property '" + driver + "." + p.name() + "' can't find value '" + e.value() + "'");
            }
            values.put(p.name(), value);
        }
        DeviceConfig config = new DeviceConfig(type, opts.get("id"), values);
        type.realizeCheck().accept(config);
        return config;
    }
}
