package org.jqemu.block.img;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * GNU getopt_long-style parsing as qemu-img uses it: short options (clustered, argument attached or
 * next), long options (--name=value or --name value, unique prefixes accepted), options and operands
 * in any order, "--" ends options. Errors read like qemu-img's.
 */
final class Getopt {
    /** One parsed option: its key (the short letter or the long name) and argument (or null). */
    record Opt(String key, String arg) { }

    private final Map<Character, Boolean> shorts = new HashMap<>();
    /** long name -> key (short letter or the name itself); arg flag. */
    private final Map<String, String> longKeys = new HashMap<>();
    private final Map<String, Boolean> longArgs = new HashMap<>();
    final List<Opt> options = new ArrayList<>();

    /** True if the option with this key (short letter or long option's key) was given. */
    boolean has(String key) {
        return options.stream().anyMatch(o -> o.key().equals(key));
    }
    final List<String> operands = new ArrayList<>();

    /** shortSpec like "f:o:hq" (colon = takes an argument); longSpec entries "name:key:1" (1 = argument). */
    Getopt(String shortSpec, String... longSpec) {
        for (int i = 0; i < shortSpec.length(); i++) {
            char c = shortSpec.charAt(i);
            boolean arg = i + 1 < shortSpec.length() && shortSpec.charAt(i + 1) == ':';
            shorts.put(c, arg);
            if (arg) {
                i++;
            }
        }
        for (String l : longSpec) {
            String[] p = l.split(":");
            longKeys.put(p[0], p[1]);
            longArgs.put(p[0], p[2].equals("1"));
        }
    }

    Getopt parse(List<String> args) throws UsageError {
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (a.equals("--")) {
                operands.addAll(args.subList(i + 1, args.size()));
                break;
            }
            if (a.startsWith("--")) {
                i = parseLong(args, i);
            } else if (a.startsWith("-") && a.length() > 1) {
                i = parseShort(args, i);
            } else {
                operands.add(a);
            }
        }
        return this;
    }

    private int parseLong(List<String> args, int i) throws UsageError {
        String a = args.get(i).substring(2);
        int eq = a.indexOf('=');
        String name = eq < 0 ? a : a.substring(0, eq);
        String match = longKeys.containsKey(name) ? name : null;
        if (match == null) {
            for (String n : longKeys.keySet()) {
                if (n.startsWith(name)) {
                    if (match != null) {
                        throw UsageError.withHint("unrecognized option '--" + name + "'");
                    }
                    match = n;
                }
            }
        }
        if (match == null) {
            throw UsageError.withHint("unrecognized option '" + args.get(i) + "'");
        }
        String arg = null;
        if (longArgs.get(match)) {
            if (eq >= 0) {
                arg = a.substring(eq + 1);
            } else if (i + 1 < args.size()) {
                arg = args.get(++i);
            } else {
                throw UsageError.withHint("missing argument for option '" + args.get(i) + "'");
            }
        } else if (eq >= 0) {
            throw UsageError.withHint("unrecognized option '" + args.get(i) + "'");
        }
        options.add(new Opt(longKeys.get(match), arg));
        return i;
    }

    private int parseShort(List<String> args, int i) throws UsageError {
        String a = args.get(i);
        for (int k = 1; k < a.length(); k++) {
            char c = a.charAt(k);
            Boolean takesArg = shorts.get(c);
            if (takesArg == null) {
                throw UsageError.withHint("unrecognized option '" + a + "'");
            }
            if (!takesArg) {
                options.add(new Opt(String.valueOf(c), null));
                continue;
            }
            String arg;
            if (k + 1 < a.length()) {
                arg = a.substring(k + 1);
            } else if (i + 1 < args.size()) {
                arg = args.get(++i);
            } else {
                throw UsageError.withHint("missing argument for option '" + a + "'");
            }
            options.add(new Opt(String.valueOf(c), arg));
            return i;
        }
        return i;
    }
}
