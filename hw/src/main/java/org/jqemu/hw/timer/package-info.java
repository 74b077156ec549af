/**
 * Virtual time ({@link org.jqemu.hw.timer.VirtualClock}: host-driven or manual for tests) and the i8254 PIT
 * with port 0x61.
 */
package org.jqemu.hw.timer;
