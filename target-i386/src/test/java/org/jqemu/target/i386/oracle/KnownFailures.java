package org.jqemu.target.i386.oracle;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * known-failures.tsv: jqemu bugs the oracle has found and that are reported to the module owning them.
 * A failing form matching a row is listed, not fatal; a row matching nothing any more is reported so it
 * can be deleted. Everything else that fails fails the test.
 */
final class KnownFailures {
    record Row(Pattern form, String note) { }

    private final List<Row> rows = new ArrayList<>();

    KnownFailures() {
        try (InputStream in = KnownFailures.class.getResourceAsStream("known-failures.tsv")) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank() && !line.startsWith("#")) {
                    String[] f = line.split("\t", 2);
                    rows.add(new Row(Pattern.compile(f[0]), f.length > 1 ? f[1] : ""));
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The failing forms no row explains. */
    List<String> unexpected(Map<String, Integer> failingForms) {
        return failingForms.keySet().stream().filter(f -> rows.stream().noneMatch(r -> r.form.matcher(f).find())).toList();
    }

    /** The rows no failing form matches any more (the bug is fixed: delete the row). */
    List<String> fixed(Map<String, Integer> failingForms) {
        return rows.stream().filter(r -> failingForms.keySet().stream().noneMatch(f -> r.form.matcher(f).find()))
                .map(r -> r.form.pattern()).toList();
    }
}
