package org.jqemu.block.img;

import java.math.BigDecimal;
import java.math.MathContext;

/** Size parsing (k/M/G/T/P/E suffixes, binary units) and QEMU's human-readable size text. */
final class Sizes {
    private static final String SUFFIXES = "BKMGTPE";
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Sizes() { }

    /**
     * Parses "1024", "1.5G", "64k" (default unit bytes, or the given default suffix); -1 if malformed
     * or too large.
     */
    static long parse(String s, char defaultSuffix) {
        if (s == null || s.isEmpty()) {
            return -1;
        }
        int end = s.length();
        char last = Character.toUpperCase(s.charAt(end - 1));
        int shift;
        String number = s;
        int idx = SUFFIXES.indexOf(last);
        if (idx >= 0 && !Character.isDigit(s.charAt(end - 1))) {
            shift = idx * 10;
            number = s.substring(0, end - 1);
        } else if (Character.isDigit(s.charAt(end - 1)) || s.charAt(end - 1) == '.') {
            shift = SUFFIXES.indexOf(Character.toUpperCase(defaultSuffix)) * 10;
        } else {
            return -1;
        }
        if (number.isEmpty() || !number.matches("[0-9]+(\\.[0-9]*)?")) {
            return -1;
        }
        try {
            BigDecimal v = new BigDecimal(number).multiply(BigDecimal.valueOf(2).pow(shift));
            if (number.contains(".") && shift == 0) {
                return -1;
            }
            BigDecimal whole = v.setScale(0, java.math.RoundingMode.DOWN);
            if (whole.compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0) {
                return -2;
            }
            return whole.longValueExact();
        } catch (ArithmeticException | NumberFormatException e) {
            return -1;
        }
    }

    /** QEMU's size text: the unit keeps the value below 1000, printed with 3 significant digits. */
    static String human(long bytes) {
        int unit = 0;
        double v = bytes;
        while (unit < UNITS.length - 1 && v >= 1000) {
            v /= 1024;
            unit++;
        }
        return g3(v) + " " + UNITS[unit];
    }

    /** C's "%0.3g" for values below 1000. */
    static String g3(double v) {
        if (v == 0) {
            return "0";
        }
        BigDecimal d = new BigDecimal(v).round(new MathContext(3));
        if (d.compareTo(BigDecimal.valueOf(1000)) >= 0) {
            return "1e+03";
        }
        String s = d.stripTrailingZeros().toPlainString();
        return s;
    }
}
