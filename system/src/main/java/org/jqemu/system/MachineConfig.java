package org.jqemu.system;

import java.util.List;
import java.util.Map;

import org.jqemu.hw.DeviceConfig;
import org.jqemu.util.opts.Opts;
import org.jqemu.util.opts.OptsList;

/**
 * Everything the command line asked for, checked and typed: what the machine will be built from.
 * Produced by {@link CommandLine#build()}.
 */
public record MachineConfig(
        MachineTypes.MachineType machine,
        Map<String, String> machineProperties,
        Accelerator accelerator,
        Cpu cpu,
        Smp smp,
        Memory memory,
        Boot boot,
        Firmware firmware,
        List<Drive> drives,
        boolean snapshot,
        List<Opts> netdevs,
        List<Opts> nics,
        List<CharDevice> chardevs,
        List<String> serials,
        List<String> serialChardevs,
        List<String> parallels,
        List<Monitor> monitors,
        String gdb,
        List<DeviceConfig> devices,
        Display display,
        Run run,
        Debug debug,
        Host host) {

    /** At most four ISA serial ports (COM1-COM4), as QEMU's pc machine creates. */
    public static final int MAX_SERIAL_PORTS = 4;

    /** Whether the machine has an HPET: QEMU's pc default, unless hpet=off (or -no-hpet) said otherwise. */
    public boolean hpet() {
        String value = machineProperties.get("hpet");
        return value == null || !Boolean.FALSE.equals(OptsList.parseBool(value));
    }

    /**
     * The accelerator chosen and its properties: {@code -accel tcg,...} (tb-size sets the translator's cache
     * size, one-insn-per-tb its block size) or jqemu's {@code -accel interp} (the interpreter alone).
     */
    public record Accelerator(String name, String thread, Long tbSizeMiB, boolean splitWx, boolean oneInsnPerTb) {
        public Accelerator(String name, String thread, Long tbSizeMiB, boolean splitWx) {
            this(name, thread, tbSizeMiB, splitWx, false);
        }

        /** Whether the interpreter runs alone ({@code -accel interp}). */
        public boolean interpreter() { return "interp".equals(name); }
    }

    /** A CPU model name from {@link CpuModels} and the "+feature,-feature,feature=value" list after it. */
    public record Cpu(String model, List<String> features) { }

    /** CPU topology: sockets * dies * cores * threads == maxCpus >= cpus. */
    public record Smp(int cpus, int maxCpus, int sockets, int dies, int cores, int threads) { }

    /** RAM in bytes (a multiple of 8 KiB); maxMem 0 when no hotplug is configured. */
    public record Memory(long ramBytes, long maxMemBytes, long slots) { }

    /** Boot device letters (a, b floppy; c disk; d CD-ROM; n network) and the firmware menu. */
    public record Boot(String order, String once, boolean menu, boolean strict, String splash,
            long splashTimeMs, long rebootTimeoutMs) { }

    /** -bios, -L, and direct Linux boot (-kernel, -initrd, -append). Null when not given. */
    public record Firmware(String bios, List<String> dataDirs, String kernel, String initrd, String append) { }

    /** A -drive (or -hda..-hdd, -cdrom, -fda, -fdb, a bare image name). */
    public record Drive(String file, String format, String interfaceType, Integer index, String media,
            boolean readOnly, boolean snapshot, String id, Map<String, String> options) { }

    /**
     * A character device to create: its id, its options as -chardev takes them (backend=..., path=...), and
     * the option that asked for it (for located errors). -serial, -monitor and -nographic add chardevs
     * with QEMU's labels (serial0, compat_monitor0).
     */
    public record CharDevice(String id, Opts opts, String location) { }

    /** A monitor: on which chardev (an id of {@link #chardevs()}) and in which mode (readline or control, i.e. QMP). */
    public record Monitor(String chardev, String mode, boolean pretty) { }

    /** Display back end (only "none" exists), VGA card, and the -nographic switch. */
    public record Display(String type, String vga, boolean nographic, boolean fullScreen, String keyboardLayout) { }

    /** Run control: -S, -no-reboot, -no-shutdown, -snapshot-independent switches, -rtc, -icount, -name, -usb. */
    public record Run(boolean startPaused, boolean noReboot, boolean noShutdown, String name, Opts rtc,
            Opts icount, boolean usb, List<String> usbDevices, boolean defaults, List<Opts> objects, List<Opts> globals) { }

    /** -d, -D and -trace. */
    public record Debug(List<String> logItems, String logFile, List<Opts> traces) { }

    /** Host process: -daemonize, -pidfile. */
    public record Host(boolean daemonize, String pidFile) { }
}
