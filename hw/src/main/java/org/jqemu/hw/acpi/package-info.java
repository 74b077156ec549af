/** ACPI power management: the PIIX4 PM function (PM1 registers, PM timer, SCI, sleep states). */
package org.jqemu.hw.acpi;
