package org.jqemu.system.monitor;

/**
 * What the monitor may ask of the machine. Every call comes on the machine thread (the monitor is a
 * chardev frontend, fed by the machine loop), between CPU slices.
 */
public interface MachineControl {
    /** QEMU's run state as "info status" words it: "running", "paused", "paused (prelaunch)", "paused (shutdown)". */
    String status();

    void stop();

    void cont();

    void systemReset();

    /** Presses the ACPI power button (PIIX4 PM); the guest decides what to do. */
    void systemPowerdown();

    void quit();

    /** The CPU state in the layout of QEMU's "info registers". */
    String registers();

    /** One line per chardev: "id: filename=...". */
    String chardevs();
}
