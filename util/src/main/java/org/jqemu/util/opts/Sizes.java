package org.jqemu.util.opts;

/**
 * Sizes as QEMU's command line writes them: a decimal number, optionally with a decimal fraction, or a
 * hexadecimal number with "0x" (no fraction), then an optional suffix B, K, M, G, T, P or E (any case,
 * powers of 1024). Without a suffix the number counts bytes, and then a non-zero fraction is refused.
 * Values are unsigned 64-bit, held in a Java long.
 */
public final class Sizes {
    /** Why a size was refused: QEMU reports the two differently. */
    public enum Failure { INVALID, OUT_OF_RANGE }

    /** A refused size. */
    public static final class BadSize extends Exception {
        private final Failure failure;

        BadSize(Failure failure) {
            super(failure.name(), null, false, false);
            this.failure = failure;
        }

        public Failure failure() { return failure; }
    }

    /** A parsed size; {@code hexWithSuffix} asks the caller to print QEMU's deprecation warning. */
    public record Parsed(long bytes, boolean hexWithSuffix) { }

    private static final String SUFFIXES = "BKMGTPE";

    private Sizes() { }

    public static long parseBytes(String text) throws BadSize { return parse(text).bytes(); }

    public static Parsed parse(String text) throws BadSize {
        int pos = skipSpaceAndPlus(text);
        int digitsStart = pos;
        boolean hex = false;
        if (text.startsWith("0x", pos) || text.startsWith("0X", pos)) {
            hex = true;
            digitsStart = pos += 2;
            while (pos < text.length() && Character.digit(text.charAt(pos), 16) >= 0) pos++;
        } else {
            while (pos < text.length() && isDigit(text.charAt(pos))) pos++;
        }
        if (pos == digitsStart) throw new BadSize(Failure.INVALID);
        long whole = parseUnsigned(text.substring(digitsStart, pos), hex ? 16 : 10);
        double fraction = 0;
        if (pos < text.length() && text.charAt(pos) == '.') {
            if (hex) throw new BadSize(Failure.INVALID);
            int fracEnd = pos + 1;
            while (fracEnd < text.length() && isDigit(text.charAt(fracEnd))) fracEnd++;
            if (fracEnd < text.length() && (text.charAt(fracEnd) == 'e' || text.charAt(fracEnd) == 'E')) {
                throw new BadSize(Failure.INVALID);
            }
            fraction = fracEnd > pos + 1 ? Double.parseDouble("0" + text.substring(pos, fracEnd)) : 0;
            pos = fracEnd;
        }
        long multiplier = 1;
        boolean suffixed = false;
        if (pos < text.length()) {
            int power = SUFFIXES.indexOf(Character.toUpperCase(text.charAt(pos)));
            if (power < 0 || pos + 1 != text.length()) throw new BadSize(Failure.INVALID);
            multiplier = 1L << (10 * power);
            suffixed = true;
        }
        if (multiplier == 1 && fraction != 0) throw new BadSize(Failure.INVALID);
        long fractionBytes = (long) (fraction * multiplier);
        // whole * multiplier + fractionBytes must stay below 2^64 (unsigned).
        if (Long.compareUnsigned(whole, Long.divideUnsigned(-1L - fractionBytes, multiplier)) > 0) {
            throw new BadSize(Failure.OUT_OF_RANGE);
        }
        return new Parsed(whole * multiplier + fractionBytes, hex && suffixed);
    }

    /** An unsigned 64-bit number as QEMU's option parser reads it (decimal, 0x hex, 0 octal; "-" wraps). */
    public static long parseNumber(String text) throws BadSize {
        int pos = skipSpaceAndPlus(text);
        boolean negative = false;
        if (pos < text.length() && text.charAt(pos) == '-') {
            negative = true;
            pos++;
        }
        String digits = text.substring(pos);
        int radix = 10;
        if (digits.startsWith("0x") || digits.startsWith("0X")) {
            radix = 16;
            digits = digits.substring(2);
        } else if (digits.length() > 1 && digits.charAt(0) == '0') {
            radix = 8;
            digits = digits.substring(1);
        }
        if (digits.isEmpty()) throw new BadSize(Failure.INVALID);
        for (int i = 0; i < digits.length(); i++) {
            if (Character.digit(digits.charAt(i), radix) < 0) throw new BadSize(Failure.INVALID);
        }
        long value = parseUnsigned(digits, radix);
        return negative ? -value : value;
    }

    private static long parseUnsigned(String digits, int radix) throws BadSize {
        try {
            return Long.parseUnsignedLong(digits, radix);
        } catch (NumberFormatException tooLarge) {
            throw new BadSize(Failure.OUT_OF_RANGE);
        }
    }

    private static int skipSpaceAndPlus(String text) {
        int pos = 0;
        while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) pos++;
        if (pos < text.length() && text.charAt(pos) == '+') pos++;
        return pos;
    }

    private static boolean isDigit(char c) { return c >= '0' && c <= '9'; }
}
