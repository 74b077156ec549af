package org.jqemu.block.img;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * JSON text exactly as QEMU's pretty printer emits it. QEMU stores objects in a hash table of 512
 * buckets and prints them in bucket order (within a bucket, the most recently inserted key first), so
 * to reproduce its output we order keys the same way: callers insert keys in QAPI schema order into a
 * LinkedHashMap and this class sorts them by bucket. The bucket hash is the well-known TDB string hash.
 */
final class QJson {
    private static final int BUCKETS = 512;

    private QJson() { }

    static int bucket(String key) {
        int value = 0x238F13AF * key.length();
        for (int i = 0; i < key.length(); i++) {
            value += (key.charAt(i) & 0xff) << (i * 5 % 24);
        }
        return Integer.remainderUnsigned(1103515243 * value + 12345, BUCKETS);
    }

    static String pretty(Object value) {
        StringBuilder sb = new StringBuilder();
        write(sb, value, 0);
        return sb.toString();
    }

    /** Keys in QEMU's iteration order. */
    static List<String> orderedKeys(Map<String, ?> map) {
        List<String> keys = new ArrayList<>(map.keySet());
        List<String> insertion = new ArrayList<>(keys);
        keys.sort((a, b) -> {
            int c = Integer.compare(bucket(a), bucket(b));
            return c != 0 ? c : Integer.compare(insertion.indexOf(b), insertion.indexOf(a));
        });
        return keys;
    }

    private static void indent(StringBuilder sb, int level) {
        sb.append("    ".repeat(level));
    }

    @SuppressWarnings("unchecked")
    private static void write(StringBuilder sb, Object v, int level) {
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> map = (Map<String, Object>) m;
            sb.append("{\n");
            List<String> keys = orderedKeys(map);
            for (int i = 0; i < keys.size(); i++) {
                indent(sb, level + 1);
                string(sb, keys.get(i));
                sb.append(": ");
                write(sb, map.get(keys.get(i)), level + 1);
                sb.append(i + 1 < keys.size() ? ",\n" : "\n");
            }
            indent(sb, level);
            sb.append('}');
        } else if (v instanceof List<?> list) {
            sb.append("[\n");
            for (int i = 0; i < list.size(); i++) {
                indent(sb, level + 1);
                write(sb, list.get(i), level + 1);
                sb.append(i + 1 < list.size() ? ",\n" : "\n");
            }
            indent(sb, level);
            sb.append(']');
        } else if (v instanceof String s) {
            string(sb, s);
        } else {
            sb.append(v);
        }
    }

    static void string(StringBuilder sb, String s) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20 || c >= 0x7f) {
                        sb.append(String.format("\\u%04X", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
