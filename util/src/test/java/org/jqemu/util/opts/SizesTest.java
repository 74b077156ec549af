package org.jqemu.util.opts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Expected values follow QEMU's documented size syntax (powers of 1024, B/K/M/G/T/P/E, 0x hex) and what qemu-system-i386 accepted. */
class SizesTest {
    @ParameterizedTest
    @CsvSource({
        "0, 0", "1, 1", "512, 512", "010, 10", "1b, 1", "1B, 1", "1k, 1024", "1K, 1024", "1m, 1048576",
        "1G, 1073741824", "1g, 1073741824", "1T, 1099511627776", "1P, 1125899906842624",
        "1E, 1152921504606846976", "1.5G, 1610612736", "1., 1", "1.k, 1024", "0.1k, 102", "0x10, 16",
        "0X1f, 31", "+2k, 2048", "18446744073709551615b, -1", "15E, -1152921504606846976",
    })
    void accepts(String text, long bytes) throws Exception {
        assertEquals(bytes, Sizes.parseBytes(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "foo", "-1", "-0", "1Z", "1kb", "1KiB", ".5G", "1.5", "0x", "0x1.8G", "1e3", "1.5e3G",
        "G", "1 G", " ", "0.5"})
    void refusesAsInvalid(String text) {
        Sizes.BadSize bad = assertThrows(Sizes.BadSize.class, () -> Sizes.parse(text));
        assertEquals(Sizes.Failure.INVALID, bad.failure());
    }

    @ParameterizedTest
    @ValueSource(strings = {"16E", "18446744073709551616", "18446744073709551616b", "99999999999999999999",
        "17179869184G", "16384P"})
    void refusesAsOutOfRange(String text) {
        Sizes.BadSize bad = assertThrows(Sizes.BadSize.class, () -> Sizes.parse(text));
        assertEquals(Sizes.Failure.OUT_OF_RANGE, bad.failure());
    }

    @Test
    void largestSizeIsTwoToTheSixtyFourMinusOne() throws Exception {
        assertEquals(-1L, Sizes.parseBytes("0xffffffffffffffff"));
        assertEquals(Sizes.Failure.OUT_OF_RANGE,
                assertThrows(Sizes.BadSize.class, () -> Sizes.parse("0x10000000000000000")).failure());
    }

    @Test
    void hexWithSuffixIsFlaggedForTheDeprecationWarning() throws Exception {
        assertTrue(Sizes.parse("0x10M").hexWithSuffix());
        assertEquals(16L << 20, Sizes.parse("0x10M").bytes());
        assertFalse(Sizes.parse("0x10").hexWithSuffix());
        assertFalse(Sizes.parse("10M").hexWithSuffix());
    }

    @ParameterizedTest
    @CsvSource({"0, 0", "42, 42", "0x4, 4", "010, 8", "-1, -1", "18446744073709551615, -1"})
    void numbers(String text, long value) throws Exception {
        assertEquals(value, Sizes.parseNumber(text));
    }

    @Test
    void numberErrors() {
        assertEquals(Sizes.Failure.INVALID, assertThrows(Sizes.BadSize.class, () -> Sizes.parseNumber("x")).failure());
        assertEquals(Sizes.Failure.INVALID, assertThrows(Sizes.BadSize.class, () -> Sizes.parseNumber("1k")).failure());
        assertEquals(Sizes.Failure.INVALID, assertThrows(Sizes.BadSize.class, () -> Sizes.parseNumber("")).failure());
        assertEquals(Sizes.Failure.OUT_OF_RANGE,
                assertThrows(Sizes.BadSize.class, () -> Sizes.parseNumber("99999999999999999999")).failure());
    }
}
