package org.jqemu.block.img;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The "-o key=value,key=value" list. A doubled comma stands for a comma inside a value.
 * TODO: switch to org.jqemu.util's QemuOpts parser once it exists (single call site: {@link #parse}).
 */
final class OptionList {
    private OptionList() { }

    static Map<String, String> parse(String list) throws UsageError {
        Map<String, String> result = new LinkedHashMap<>();
        int i = 0;
        int n = list.length();
        while (i < n) {
            StringBuilder key = new StringBuilder();
            while (i < n && list.charAt(i) != '=' && list.charAt(i) != ',') {
                key.append(list.charAt(i++));
            }
            String value = null;
            if (i < n && list.charAt(i) == '=') {
                i++;
                StringBuilder v = new StringBuilder();
                while (i < n) {
                    char c = list.charAt(i);
                    if (c == ',') {
                        if (i + 1 < n && list.charAt(i + 1) == ',') {
                            v.append(',');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    v.append(c);
                    i++;
                }
                value = v.toString();
            }
            if (key.isEmpty()) {
                throw new UsageError("Invalid option list: " + list);
            }
            // A bare key means key=on, as for QemuOpts booleans.
            result.put(key.toString(), value == null ? "on" : value);
            if (i < n && list.charAt(i) == ',') {
                i++;
                if (i == n) {
                    throw new UsageError("Invalid option list: " + list);
                }
            }
        }
        return result;
    }
}
