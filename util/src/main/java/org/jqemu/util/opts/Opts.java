package org.jqemu.util.opts;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import org.jqemu.util.FrontEnd.UserError;

/**
 * One option argument split into keys and values, by either of QEMU's two grammars:
 * <ul>
 * <li>{@link #parse QemuOpts}: "key=value,..." where ",," stands for a comma inside a value; a first element
 *     without "=" is the value of the implied key; a later element without "=" is a flag ("foo" means foo=on,
 *     "nofoo" foo=off, both deprecated) and "help" or "?" asks for help;</li>
 * <li>{@link #parseKeyval keyval}: the same, except that only the first element may lack "=", keys are
 *     checked ("Invalid parameter"), and "help" or "?" anywhere asks for help.</li>
 * </ul>
 * When a key repeats, the last value wins, as in QEMU.
 */
public final class Opts {
    /** One key=value pair, in the order written. */
    public record Entry(String key, String value) { }

    private final List<Entry> entries;
    private final boolean helpWanted;

    private Opts(List<Entry> entries, boolean helpWanted) {
        this.entries = Collections.unmodifiableList(entries);
        this.helpWanted = helpWanted;
    }

    public static Opts of(List<Entry> entries) { return new Opts(new ArrayList<>(entries), false); }

    public List<Entry> entries() { return entries; }

    /** True when the grammar saw a bare "help" or "?" element. */
    public boolean helpWanted() { return helpWanted; }

    /** The last value given for {@code key}, or null. */
    public String get(String key) {
        for (int i = entries.size() - 1; i >= 0; i--) {
            if (entries.get(i).key().equals(key)) return entries.get(i).value();
        }
        return null;
    }

    public String get(String key, String fallback) {
        String value = get(key);
        return value == null ? fallback : value;
    }

    public boolean has(String key) { return get(key) != null; }

    /** The last value of a boolean key (already checked by its {@link OptsList}), or {@code fallback}. */
    public boolean bool(String key, boolean fallback) {
        Boolean value = OptsList.parseBool(get(key, ""));
        return value == null ? fallback : value;
    }

    /** Distinct keys in the order first written. */
    public Set<String> keys() {
        Set<String> keys = new LinkedHashSet<>();
        for (Entry e : entries) keys.add(e.key());
        return keys;
    }

    /** True when a key is "help" or "?" (as in "-device e1000,help" or "help=on"). */
    public boolean hasHelpKey() { return has("help") || has("?"); }

    public static boolean isHelp(String word) { return "help".equals(word) || "?".equals(word); }

    /**
     * QemuOpts grammar. Flags produce QEMU's deprecation warning through {@code warnings} (one message,
     * possibly with a hint line). Parsing stops at a help flag.
     */
    public static Opts parse(String text, String impliedKey, Consumer<String> warnings) {
        List<Entry> entries = new ArrayList<>();
        int pos = 0;
        boolean first = true;
        while (pos < text.length()) {
            int nameEnd = endOfName(text, pos);
            if (nameEnd < text.length() && text.charAt(nameEnd) == '=') {
                String name = text.substring(pos, nameEnd);
                StringBuilder value = new StringBuilder();
                pos = readValue(text, nameEnd + 1, value);
                entries.add(new Entry(name, value.toString()));
            } else if (first && impliedKey != null) {
                StringBuilder value = new StringBuilder();
                pos = readValue(text, pos, value);
                entries.add(new Entry(impliedKey, value.toString()));
            } else {
                String written = text.substring(pos, nameEnd);
                boolean negated = written.startsWith("no");
                String name = negated ? written.substring(2) : written;
                if (isHelp(name)) return new Opts(entries, true);
                String value = negated ? "off" : "on";
                warnings.accept("warning: short-form boolean option '" + written + "' deprecated\n"
                        + "Please use " + name + "=" + value + " instead");
                entries.add(new Entry(name, value));
                pos = nameEnd < text.length() ? nameEnd + 1 : nameEnd;
            }
            first = false;
        }
        return new Opts(entries, false);
    }

    /** Keyval grammar; errors are QEMU's ("Expected '=' after parameter 'foo'", "Invalid parameter 'x'"). */
    public static Opts parseKeyval(String text, String impliedKey) {
        List<Entry> entries = new ArrayList<>();
        int pos = 0;
        boolean first = true;
        while (pos < text.length()) {
            int nameEnd = endOfName(text, pos);
            String name = text.substring(pos, nameEnd);
            boolean hasValue = nameEnd < text.length() && text.charAt(nameEnd) == '=';
            if (!hasValue && isHelp(name)) return new Opts(entries, true);
            StringBuilder value = new StringBuilder();
            if (!hasValue && first && impliedKey != null && !name.isEmpty()) {
                pos = readValue(text, pos, value);
                entries.add(new Entry(impliedKey, value.toString()));
            } else {
                if (!isKeyvalKey(name)) throw new UserError("Invalid parameter '" + name + "'");
                if (!hasValue) throw new UserError("Expected '=' after parameter '" + name + "'");
                pos = readValue(text, nameEnd + 1, value);
                entries.add(new Entry(name, value.toString()));
            }
            first = false;
        }
        return new Opts(entries, false);
    }

    /** Where the name starting at {@code pos} ends: at the first '=' or ',' (names cannot hold either). */
    private static int endOfName(String text, int pos) {
        int end = pos;
        while (end < text.length() && text.charAt(end) != '=' && text.charAt(end) != ',') end++;
        return end;
    }

    /** Reads a value up to a single ',' (",," is a comma); returns where the next element starts. */
    private static int readValue(String text, int pos, StringBuilder value) {
        while (pos < text.length()) {
            char c = text.charAt(pos);
            if (c == ',') {
                if (pos + 1 < text.length() && text.charAt(pos + 1) == ',') {
                    value.append(',');
                    pos += 2;
                    continue;
                }
                return pos + 1;
            }
            value.append(c);
            pos++;
        }
        return pos;
    }

    /** Keyval keys: dot-separated fragments of letters, digits, '-' and '_', each starting with a letter or digit. */
    private static boolean isKeyvalKey(String key) {
        if (key.isEmpty()) return false;
        for (String fragment : key.split("\\.", -1)) {
            if (fragment.isEmpty() || !Character.isLetterOrDigit(fragment.charAt(0))) return false;
            for (int i = 0; i < fragment.length(); i++) {
                char c = fragment.charAt(i);
                if (!(c < 128 && (Character.isLetterOrDigit(c) || c == '-' || c == '_'))) return false;
            }
        }
        return true;
    }

    /** QEMU's identifiers (ids of devices, chardevs, netdevs...): a letter, then letters, digits, '-', '.', '_'. */
    public static boolean isIdentifier(String id) {
        if (id.isEmpty() || !isAsciiLetter(id.charAt(0))) return false;
        for (int i = 1; i < id.length(); i++) {
            char c = id.charAt(i);
            if (!(isAsciiLetter(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_')) return false;
        }
        return true;
    }

    private static boolean isAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

    @Override public String toString() { return entries.toString(); }
}
