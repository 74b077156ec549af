package org.jqemu.target.i386.oracle;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** The table of undefined results (masks.tsv): which parts of a case's state the oracle does not compare, and why. */
public final class Masks {
    static final Map<String, Integer> EFLAGS_BITS = Map.of("CF", 0x1, "PF", 0x4, "AF", 0x10, "ZF", 0x40, "SF", 0x80, "OF", 0x800);
    static final Map<String, Integer> FSW_BITS = Map.of("C0", 0x100, "C1", 0x200, "C2", 0x400, "C3", 0x4000);

    /** One table row. */
    public record Row(Pattern form, int eflags, int fsw, boolean dest, String items, String reason) { }

    /** The rows that apply to one case, merged. */
    public record Applied(int eflags, int fsw, boolean dest, List<Row> rows) { }

    private final List<Row> rows;

    private Masks(List<Row> rows) {
        this.rows = rows;
    }

    public static Masks load() {
        try (InputStream in = Masks.class.getResourceAsStream("masks.tsv")) {
            List<Row> rows = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t");
                if (f.length != 3) {
                    throw new IllegalStateException("masks.tsv: want 3 tab-separated columns: " + line);
                }
                int eflags = 0, fsw = 0;
                boolean dest = false;
                for (String item : f[1].trim().split(" ")) {
                    if (EFLAGS_BITS.containsKey(item)) {
                        eflags |= EFLAGS_BITS.get(item);
                    } else if (FSW_BITS.containsKey(item)) {
                        fsw |= FSW_BITS.get(item);
                    } else if (item.equals("DEST")) {
                        dest = true;
                    } else {
                        throw new IllegalStateException("masks.tsv: unknown item " + item);
                    }
                }
                rows.add(new Row(Pattern.compile(f[0]), eflags, fsw, dest, f[1].trim(), f[2].trim()));
            }
            return new Masks(List.copyOf(rows));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    public Applied forForm(String form) {
        int eflags = 0, fsw = 0;
        boolean dest = false;
        List<Row> applied = new ArrayList<>();
        for (Row r : rows) {
            if (r.form.matcher(form).find()) {
                eflags |= r.eflags;
                fsw |= r.fsw;
                dest |= r.dest;
                applied.add(r);
            }
        }
        return new Applied(eflags, fsw, dest, applied);
    }

    public List<Row> rows() { return rows; }
}
