package org.jqemu.util.opts;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.jqemu.util.FrontEnd.UserError;

/**
 * The schema of one option's argument, like QEMU's QemuOptsList: its name (used in messages), the key a
 * bare first value belongs to, the grammar, and the parameters with their types. A list that
 * {@code acceptsAny} key leaves checking to whoever consumes it (QEMU's -device, -accel, -object).
 */
public final class OptsList {
    /** Parameter types, with the names QEMU's help shows for them. */
    public enum Type {
        STRING("str"), BOOL("bool (on/off)"), NUMBER("num"), SIZE("size");

        final String helpName;

        Type(String helpName) { this.helpName = helpName; }
    }

    /** QEMU parses some options with QemuOpts and others with keyval; their messages differ. */
    public enum Grammar { QEMU_OPTS, KEYVAL }

    public record Param(String name, Type type, String help) { }

    static final String SIZE_HINT = "Optional suffix k, M, G, T, P or E means kilo-, mega-, giga-, tera-, peta-\n"
            + "and exabytes, respectively.";
    static final String ID_HINT = "Identifiers consist of letters, digits, '-', '.', '_', starting with a letter.";

    private final String name;
    private final String impliedKey;
    private final Grammar grammar;
    private final Map<String, Param> params = new LinkedHashMap<>();
    private final boolean acceptsAny;

    private OptsList(String name, String impliedKey, Grammar grammar, boolean acceptsAny) {
        this.name = name;
        this.impliedKey = impliedKey;
        this.grammar = grammar;
        this.acceptsAny = acceptsAny;
    }

    /** A QemuOpts list whose keys are checked against {@link #param}s. */
    public static OptsList qemuOpts(String name, String impliedKey) { return new OptsList(name, impliedKey, Grammar.QEMU_OPTS, false); }

    /** A QemuOpts list that takes any key (the consumer checks them). */
    public static OptsList qemuOptsAnyKey(String name, String impliedKey) { return new OptsList(name, impliedKey, Grammar.QEMU_OPTS, true); }

    /** A keyval list; types and unknown keys are checked by {@link #checkKeyval}, later, as QEMU does. */
    public static OptsList keyval(String name, String impliedKey) { return new OptsList(name, impliedKey, Grammar.KEYVAL, false); }

    public OptsList param(String key, Type type) { return param(key, type, null); }

    public OptsList param(String key, Type type, String help) {
        params.put(key, new Param(key, type, help));
        return this;
    }

    public OptsList params(Type type, String... keys) {
        for (String key : keys) param(key, type);
        return this;
    }

    public String name() { return name; }

    public String impliedKey() { return impliedKey; }

    public Param paramOf(String key) { return params.get(key); }

    /**
     * Parses one argument. QemuOpts lists check every key and value now (errors as QEMU's), print flag
     * warnings through {@code warnings}, and answer a help flag with their parameter list (exit status 1,
     * as QEMU). Keyval lists check only the syntax; a help flag lists the parameters with status 0.
     */
    public Opts parse(String text, Consumer<String> warnings) {
        if (grammar == Grammar.KEYVAL) {
            Opts opts = Opts.parseKeyval(text, impliedKey);
            if (opts.helpWanted()) throw new HelpRequested(help(), 0);
            return opts;
        }
        Opts opts = Opts.parse(text, impliedKey, warnings);
        String id = opts.get("id");
        if (id != null && !Opts.isIdentifier(id)) throw new UserError("Parameter 'id' expects an identifier\n" + ID_HINT);
        if (!acceptsAny) {
            for (Opts.Entry e : opts.entries()) checkQemuOptsEntry(e, warnings);
            if (opts.helpWanted()) throw new HelpRequested(help(), 1);
        } else if (opts.helpWanted()) {
            // Lists that take any key hand a help flag on to their consumer, as a key.
            List<Opts.Entry> entries = new ArrayList<>(opts.entries());
            entries.add(new Opts.Entry("help", "on"));
            opts = Opts.of(entries);
        }
        return opts;
    }

    private void checkQemuOptsEntry(Opts.Entry e, Consumer<String> warnings) {
        if (e.key().equals("id")) return;
        Param p = params.get(e.key());
        if (p == null) throw new UserError("Invalid parameter '" + e.key() + "'");
        String v = e.value();
        switch (p.type()) {
            case STRING -> { }
            case BOOL -> {
                if (parseBool(v) == null) throw new UserError("Parameter '" + p.name() + "' expects 'on' or 'off'");
            }
            case NUMBER -> {
                try {
                    Sizes.parseNumber(v);
                } catch (Sizes.BadSize bad) {
                    throw new UserError(bad.failure() == Sizes.Failure.INVALID
                            ? "Parameter '" + p.name() + "' expects a number"
                            : "Value '" + v + "' is too large for parameter '" + p.name() + "'");
                }
            }
            case SIZE -> {
                try {
                    if (Sizes.parse(v).hexWithSuffix()) {
                        warnings.accept("warning: Using a multiplier suffix on hex numbers is deprecated: " + v);
                    }
                } catch (Sizes.BadSize bad) {
                    throw new UserError(bad.failure() == Sizes.Failure.INVALID
                            ? "Parameter '" + p.name() + "' expects a non-negative number below 2^64\n" + SIZE_HINT
                            : "Value '" + v + "' is out of range for parameter '" + p.name() + "'");
                }
            }
        }
    }

    /**
     * Keyval lists: checks values in parameter order, then unknown keys, with the messages of QEMU's
     * QAPI input visitor, which name the parameter by {@code path} ("Parameter 'smp.cpus' expects integer",
     * "Parameter 'boot.foo' is unexpected").
     */
    public void checkKeyval(Opts opts, String path) {
        for (Param p : params.values()) {
            String v = opts.get(p.name());
            if (v == null) continue;
            String where = "Parameter '" + path + "." + p.name() + "'";
            switch (p.type()) {
                case STRING -> { }
                case BOOL -> { if (parseBool(v) == null) throw new UserError(where + " expects 'on' or 'off'"); }
                case NUMBER -> { if (parseInteger(v) == null) throw new UserError(where + " expects integer"); }
                case SIZE -> {
                    try {
                        Sizes.parse(v);
                    } catch (Sizes.BadSize bad) {
                        throw new UserError(where + " expects size");
                    }
                }
            }
        }
        for (String key : opts.keys()) {
            if (!params.containsKey(key)) throw new UserError("Parameter '" + path + "." + key + "' is unexpected");
        }
    }

    /** QEMU's "NAME options:" list: one "  key=<type>" line per parameter, sorted. */
    public String help() {
        StringBuilder out = new StringBuilder(name).append(" options:\n");
        params.values().stream().sorted(Comparator.comparing(Param::name)).forEach(p -> {
            String left = "  " + p.name() + "=<" + p.type().helpName + ">";
            out.append(p.help() == null ? left : String.format("%-24s - %s", left, p.help())).append('\n');
        });
        return out.toString();
    }

    /** QEMU's booleans: on/yes/true/y and off/no/false/n (case matters); null for anything else. */
    public static Boolean parseBool(String value) {
        return switch (value) {
            case "on", "yes", "true", "y" -> Boolean.TRUE;
            case "off", "no", "false", "n" -> Boolean.FALSE;
            default -> null;
        };
    }

    /** A signed 64-bit integer as QEMU's QAPI visitor reads it (decimal, 0x hex, 0 octal); null if invalid. */
    public static Long parseInteger(String value) {
        String digits = value.startsWith("-") || value.startsWith("+") ? value.substring(1) : value;
        int radix = 10;
        if (digits.startsWith("0x") || digits.startsWith("0X")) {
            radix = 16;
            digits = digits.substring(2);
        } else if (digits.length() > 1 && digits.startsWith("0")) {
            radix = 8;
        }
        if (digits.isEmpty() || !digits.chars().allMatch(Character::isLetterOrDigit)) return null;
        try {
            long magnitude = Long.parseLong(digits, radix);
            return value.startsWith("-") ? -magnitude : magnitude;
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
