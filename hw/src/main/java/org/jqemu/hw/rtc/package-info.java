/** The MC146818 RTC with its CMOS RAM, and {@link org.jqemu.hw.rtc.CmosLayout}: what a PC BIOS reads there. */
package org.jqemu.hw.rtc;
