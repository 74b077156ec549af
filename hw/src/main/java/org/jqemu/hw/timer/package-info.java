/**
 * Virtual time ({@link org.jqemu.hw.timer.VirtualClock}: host-driven or manual for tests), the i8254 PIT
 * with port 0x61, and the HPET ({@link org.jqemu.hw.timer.Hpet}), which sits between the PIT/RTC and
 * IRQ0/IRQ8 for its LegacyReplacement route.
 */
package org.jqemu.hw.timer;
