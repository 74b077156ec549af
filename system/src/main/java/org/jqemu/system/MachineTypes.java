package org.jqemu.system;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.OptsList;
import org.jqemu.util.opts.Sizes;

/** The machine types "-machine" accepts and their properties, with QEMU's names and messages. */
public final class MachineTypes {
    /** Value kinds of machine properties, named as "-machine TYPE,help" shows them. */
    enum PropertyKind { BOOL("bool"), STRING("string"), ON_OFF_AUTO("OnOffAuto"), SIZE("size") ;
        final String helpName;
        PropertyKind(String helpName) { this.helpName = helpName; }
    }

    record Property(String name, PropertyKind kind, String description) { }

    /**
     * A machine type. {@code aliasOf} names the versioned type an alias stands for; {@code qomName} is
     * what QEMU's messages call it ("pc-i440fx-7.2-machine").
     */
    public record MachineType(String name, String description, String aliasOf, boolean isDefault, int maxCpus,
            List<Property> properties) {
        public String qomName() { return name + "-machine"; }

        Property property(String key) {
            for (Property p : properties) if (p.name().equals(key)) return p;
            return null;
        }
    }

    /** Properties every machine has. */
    private static final List<Property> COMMON = List.of(
            new Property("accel", PropertyKind.STRING, "Accelerator list"),
            new Property("append", PropertyKind.STRING, "Linux kernel command line"),
            new Property("dump-guest-core", PropertyKind.BOOL, "Include guest memory in a core dump"),
            new Property("firmware", PropertyKind.STRING, "Firmware image"),
            new Property("graphics", PropertyKind.BOOL, "Set on/off to enable/disable graphics emulation"),
            new Property("initrd", PropertyKind.STRING, "Linux initial ramdisk file"),
            new Property("kernel", PropertyKind.STRING, "Linux kernel image file"),
            new Property("mem-merge", PropertyKind.BOOL, "Enable/disable memory merge support"),
            new Property("memory-backend", PropertyKind.STRING, "Set RAM backend"),
            new Property("usb", PropertyKind.BOOL, "Set on/off to enable/disable usb"));

    private static final List<Property> PC = concat(COMMON, List.of(
            new Property("acpi", PropertyKind.ON_OFF_AUTO, "Enable ACPI"),
            new Property("hpet", PropertyKind.BOOL, "Enable the HPET"),
            new Property("max-ram-below-4g", PropertyKind.SIZE, "Maximum ram below the 4G boundary (32bit boundary)"),
            new Property("pit", PropertyKind.BOOL, "Enable i8254 PIT"),
            new Property("sata", PropertyKind.BOOL, "Enable SATA"),
            new Property("smbus", PropertyKind.BOOL, "Enable/disable SMBus"),
            new Property("vmport", PropertyKind.ON_OFF_AUTO, "Enable vmport (pc & q35)")));

    public static final String PC_VERSIONED = "pc-i440fx-7.2";

    private static final Map<String, MachineType> TYPES = new LinkedHashMap<>();

    static {
        String i440fx = "Standard PC (i440FX + PIIX, 1996)";
        add(new MachineType("pc", i440fx, PC_VERSIONED, false, 255, PC));
        add(new MachineType(PC_VERSIONED, i440fx, null, true, 255, PC));
        add(new MachineType("none", "empty machine", null, false, 1, COMMON));
    }

    private MachineTypes() { }

    private static void add(MachineType t) { TYPES.put(t.name(), t); }

    private static List<Property> concat(List<Property> a, List<Property> b) {
        List<Property> all = new ArrayList<>(a);
        all.addAll(b);
        return List.copyOf(all);
    }

    /** The type a name selects, aliases resolved; null when unknown. */
    public static MachineType resolve(String name) {
        MachineType t = TYPES.get(name);
        return t == null || t.aliasOf() == null ? t : TYPES.get(t.aliasOf());
    }

    public static MachineType defaultType() { return TYPES.get(PC_VERSIONED); }

    /** Checks one property value with QEMU's messages; "accel" is checked by the accelerator code. */
    static void checkProperty(MachineType type, String key, String value) {
        Property p = type.property(key);
        if (p == null) throw new UserError("Property '" + type.qomName() + "." + key + "' not found");
        switch (p.kind()) {
            case STRING -> { }
            case BOOL -> {
                if (OptsList.parseBool(value) == null) throw new UserError("Parameter '" + key + "' expects 'on' or 'off'");
            }
            case ON_OFF_AUTO -> {
                if (!value.equals("on") && !value.equals("off") && !value.equals("auto")) {
                    throw new UserError("Parameter '" + key + "' does not accept value '" + value + "'");
                }
            }
            case SIZE -> {
                try {
                    Sizes.parse(value);
                } catch (Sizes.BadSize bad) {
                    throw new UserError("Parameter '" + key + "' expects size");
                }
            }
        }
    }

    /** The text of "-machine help". */
    public static String help() {
        StringBuilder out = new StringBuilder("Supported machines are:\n");
        for (MachineType t : TYPES.values()) {
            String note = t.aliasOf() != null ? " (alias of " + t.aliasOf() + ")" : t.isDefault() ? " (default)" : "";
            out.append(String.format("%-20s %s%s\n", t.name(), t.description(), note));
        }
        return out.toString();
    }

    /** The text of "-machine TYPE,help". */
    public static String propertiesHelp(MachineType type) {
        StringBuilder out = new StringBuilder(type.qomName()).append(" options:\n");
        type.properties().stream().sorted(Comparator.comparing(Property::name)).forEach(p ->
                out.append(String.format("  %-22s - %s\n", p.name() + "=<" + p.kind().helpName + ">", p.description())));
        return out.toString();
    }
}
