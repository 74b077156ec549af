package org.jqemu.system;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import org.jqemu.hw.DeviceCategory;
import org.jqemu.hw.DeviceConfig;
import org.jqemu.hw.DeviceRegistry;
import org.jqemu.hw.DeviceType;
import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.HelpRequested;
import org.jqemu.util.opts.Opts;
import org.jqemu.util.opts.OptsList;
import org.jqemu.util.opts.Sizes;

/**
 * Collects the options of one command line (the handlers of {@link Options} call in here), then
 * {@link #build() builds} the checked {@link MachineConfig}. Like QEMU, syntax errors surface while the
 * options are read, and the rest afterwards, in the order QEMU checks them (machine, memory, CPUs, boot,
 * accelerator, back ends, drives, network, CPU model, firmware, devices); an error caused by one
 * option names it.
 */
final class CommandLine {
    static final long MiB = 1L << 20;
    static final long DEFAULT_RAM = 128 * MiB;
    /** QEMU rounds RAM up to 8 KiB. */
    static final long RAM_ALIGN = 8192;
    static final long MAX_MEMORY_SLOTS = 256;

    /** QEMU's tcg (here the translator) and jqemu's interp (the interpreter alone, the reference engine). */
    static final List<String> ACCELERATORS = List.of("tcg", "interp");
    static final List<String> CHARDEV_BACKENDS = List.of("stdio", "null", "socket", "file", "pty");
    static final List<String> NETDEV_TYPES = List.of("user");
    static final List<String> NETDEV_USER_KEYS = List.of("id", "type", "ipv4", "ipv6", "net", "host", "restrict",
            "hostname", "dhcpstart", "dns", "dnssearch", "domainname", "ipv6-prefix", "ipv6-prefixlen", "ipv6-host",
            "ipv6-dns", "tftp", "tftp-server-name", "bootfile", "smb", "smbserver", "hostfwd", "guestfwd");
    static final List<String> NETDEV_USER_BOOLS = List.of("ipv4", "ipv6", "restrict");
    static final List<String> DISPLAYS = List.of("none");
    /** -vga: name and help line. */
    static final Map<String, String> VGA_TYPES = new LinkedHashMap<>();
    static {
        VGA_TYPES.put("none", "no graphic card");
        VGA_TYPES.put("std", "standard VGA (default)");
    }
    /** -d log items and what they show. */
    static final Map<String, String> LOG_ITEMS = new LinkedHashMap<>();
    static {
        LOG_ITEMS.put("in_asm", "show target assembly code for each compiled block");
        LOG_ITEMS.put("int", "show interrupts/exceptions in short format");
        LOG_ITEMS.put("exec", "show trace before each executed block");
        LOG_ITEMS.put("cpu", "show CPU registers before entering a block");
        LOG_ITEMS.put("mmu", "log MMU-related activities");
        LOG_ITEMS.put("cpu_reset", "show CPU state before CPU resets");
        LOG_ITEMS.put("unimp", "log unimplemented functionality");
        LOG_ITEMS.put("guest_errors", "log when the guest OS does something invalid (eg accessing a\nnon-existent register)");
        LOG_ITEMS.put("nochain", "do not chain compiled blocks");
    }

    /** The order of the checks after the options are read. */
    enum Phase { HELP, MACHINE, ACCEL, CHARDEV, DRIVE, NETDEV, MONITOR, DEVICE }

    private record Deferred(Phase phase, String location, Runnable check) { }

    private record Located<T>(String location, T value) { }

    /** Where warnings go: QEMU prints them as "program: location: warning: ...", or as given when raw. */
    interface Reporter {
        void warn(String location, String message);

        void raw(String text);
    }

    private final Reporter reporter;
    /** Warnings of the option being handled carry its location. */
    private final Consumer<String> warnings;
    private String location;
    private final DeviceRegistry devices;
    private final List<Deferred> deferred = new ArrayList<>();

    // What the options said, before checking.
    private final List<Opts.Entry> machineEntries = new ArrayList<>();
    private final List<Opts.Entry> memoryEntries = new ArrayList<>();
    private final List<Opts.Entry> smpEntries = new ArrayList<>();
    private final List<Opts.Entry> bootEntries = new ArrayList<>();
    private final List<Located<Opts>> accels = new ArrayList<>();
    private boolean kvmRequested;
    private String cpu;
    private String bios;
    private final List<String> dataDirs = new ArrayList<>();
    private String kernel;
    private String initrd;
    private String append;
    private final List<Located<Opts>> driveArgs = new ArrayList<>();
    private boolean snapshot;
    private final Map<String, Opts> netdevs = new LinkedHashMap<>();
    private final List<Opts> nics = new ArrayList<>();
    private final Map<String, Opts> chardevs = new LinkedHashMap<>();
    private final Map<String, String> chardevLocations = new LinkedHashMap<>();
    private final List<Located<String>> serialSpecs = new ArrayList<>();
    private final List<Located<String>> monitorSpecs = new ArrayList<>();
    private final List<String> serials = new ArrayList<>();
    private final List<String> parallels = new ArrayList<>();
    private final List<MachineConfig.Monitor> monitors = new ArrayList<>();
    private final List<String> monitorModes = new ArrayList<>();
    private boolean monitorsGiven;
    private String gdb;
    private final List<DeviceConfig> deviceConfigs = new ArrayList<>();
    private final Set<String> chardevsInUse = new HashSet<>();
    private String display = "default";
    private String vga;
    private boolean nographic;
    private boolean fullScreen;
    private String keyboardLayout;
    private boolean startPaused;
    private boolean noReboot;
    private boolean noShutdown;
    private String name;
    private Opts rtc = Opts.of(List.of());
    private Opts icount;
    private boolean usb;
    private final List<String> usbDevices = new ArrayList<>();
    private boolean defaults = true;
    private final List<Opts> objects = new ArrayList<>();
    private final List<Opts> globals = new ArrayList<>();
    private final List<String> logItems = new ArrayList<>();
    private String logFile;
    private final List<Opts> traces = new ArrayList<>();
    private boolean daemonize;
    private String pidFile;

    CommandLine(Reporter reporter, DeviceRegistry devices) {
        this.reporter = reporter;
        this.warnings = message -> reporter.warn(location, message);
        this.devices = devices;
    }

    /** Where the option being read sends its warnings. */
    Consumer<String> warnings() { return warnings; }

    /** The option now being handled (null while checking things no single option caused). */
    void at(String optionLocation) { location = optionLocation; }

    private void defer(Phase phase, String location, Runnable check) { deferred.add(new Deferred(phase, location, check)); }

    private static void help(String text) { throw new HelpRequested(text, 0); }

    // ---- Handlers: one per option of the table; "location" is the option as written, for later errors.

    void machine(Opts opts, String location) {
        machineEntries.addAll(opts.entries());
        if (Opts.isHelp(opts.get("type", ""))) defer(Phase.HELP, location, () -> help(MachineTypes.help()));
    }

    /** -no-hpet: QEMU turns it into the machine property hpet=off, in command-line order with -machine. */
    void noHpet() {
        machineEntries.add(new Opts.Entry("hpet", "off"));
    }

    void cpu(String arg, String location) {
        cpu = arg;
        if (Opts.isHelp(arg)) defer(Phase.HELP, location, () -> help(CpuModels.help()));
    }

    void accel(Opts opts, String location) {
        accels.add(new Located<>(location, opts));
        if (Opts.isHelp(opts.get("accel", ""))) {
            defer(Phase.HELP, location, () -> help("Accelerators supported in QEMU binary:\n" + String.join("\n", ACCELERATORS) + "\n"));
        }
    }

    void enableKvm() { kvmRequested = true; }

    void smp(Opts opts) { smpEntries.addAll(opts.entries()); }

    void memory(Opts opts) { memoryEntries.addAll(opts.entries()); }

    void boot(Opts opts) { bootEntries.addAll(opts.entries()); }

    void bios(String arg) { bios = arg; }

    void dataDir(String arg) { dataDirs.add(arg); }

    void kernel(String arg) { kernel = arg; }

    void initrd(String arg) { initrd = arg; }

    void append(String arg) { append = arg; }

    void drive(Opts opts, String location) {
        driveArgs.add(new Located<>(location, opts));
    }

    /** -hda..-hdd, -cdrom, -fda, -fdb and a bare image name: a drive at a fixed index. */
    void shortDrive(String file, String location, String interfaceType, int index, String media) {
        List<Opts.Entry> entries = new ArrayList<>(List.of(new Opts.Entry("file", file), new Opts.Entry("index", "" + index)));
        if (interfaceType != null) entries.add(new Opts.Entry("if", interfaceType));
        if (media != null) entries.add(new Opts.Entry("media", media));
        driveArgs.add(new Located<>(location, Opts.of(entries)));
    }

    void snapshot() { snapshot = true; }

    void netdev(Opts opts, String location) {
        if (Opts.isHelp(opts.get("type", ""))) {
            defer(Phase.HELP, location, () -> help("Available netdev backend types:\n" + String.join("\n", NETDEV_TYPES) + "\n"));
            return;
        }
        String id = opts.get("id");
        if (id != null && netdevs.containsKey(id)) throw new UserError("Duplicate ID '" + id + "' for netdev");
        netdevs.put(id == null ? "\0" + netdevs.size() : id, opts);
        defer(Phase.NETDEV, location, () -> checkNetdev(opts));
    }

    void nic(Opts opts) { nicOrNet(opts, List.of("user", "none")); }

    void net(Opts opts) { nicOrNet(opts, List.of("nic", "user", "none")); }

    private void nicOrNet(Opts opts, List<String> types) {
        String type = opts.get("type", "");
        if (!types.contains(type)) throw new UserError("Parameter 'type' does not accept value '" + type + "'");
        nics.add(opts);
        String model = opts.get("model");
        if (model != null) defer(Phase.NETDEV, null, () -> checkNicModel(model));
    }

    void device(Opts opts, String location) {
        Phase phase = Opts.isHelp(opts.get("driver", "")) || opts.hasHelpKey() ? Phase.HELP : Phase.DEVICE;
        defer(phase, location, () -> deviceConfigs.add(devices.configure(opts, chardevs::containsKey, chardevsInUse)));
    }

    void chardev(Opts opts, String location) {
        String id = opts.get("id");
        if (id != null && chardevs.containsKey(id)) throw new UserError("Duplicate ID '" + id + "' for chardev");
        Phase phase = Opts.isHelp(opts.get("backend", "")) ? Phase.HELP : Phase.CHARDEV;
        defer(phase, location, () -> checkChardev(opts));
        if (id != null) {
            chardevs.put(id, opts);
            chardevLocations.put(id, location);
        }
    }

    void serial(String arg, String location) {
        charSpec(arg, location, serials, serialError(arg));
        serialSpecs.add(new Located<>(location, arg));
        // A monitor shares this port: no default monitor (QEMU's rule for "mon:").
        if (arg.startsWith("mon:")) monitorsGiven = true;
    }

    private static String serialError(String spec) { return "could not connect serial device to character backend '" + spec + "'"; }

    void parallel(String arg, String location) { charSpec(arg, location, parallels, "could not connect parallel device to character backend '" + arg + "'"); }

    void monitor(String arg, String location) { monitorSpec(arg, location, "readline"); }

    void qmp(String arg, String location) { monitorSpec(arg, location, "control"); }

    private void monitorSpec(String arg, String location, String mode) {
        List<String> unused = new ArrayList<>();
        charSpec(arg, location, unused, "parse error: " + arg);
        monitorsGiven = true;
        if (arg.equals("none")) return;
        monitorSpecs.add(new Located<>(location, arg));
        monitorModes.add(mode);
    }

    private void charSpec(String spec, String location, List<String> into, String secondMessage) {
        try {
            CharSpecs.check(spec);
        } catch (UserError e) {
            List<String> messages = e.getMessage().equals(CharSpecs.NO_DETAIL) ? List.of(secondMessage)
                    : List.of(e.getMessage(), secondMessage);
            throw new LocatedError(location, messages);
        }
        into.add(spec);
    }

    void mon(Opts opts, String location) {
        String chardev = opts.get("chardev", "");
        String mode = opts.get("mode", "readline");
        defer(Phase.MONITOR, location, () -> {
            if (!chardevs.containsKey(chardev)) throw new UserError("chardev \"" + chardev + "\" not found");
            if (!mode.equals("readline") && !mode.equals("control")) throw new UserError("unknown monitor mode '" + mode + "'");
        });
        monitors.add(new MachineConfig.Monitor(chardev, mode, opts.bool("pretty", false)));
        monitorsGiven = true;
    }

    void gdb(String arg) {
        CharSpecs.check(arg);
        gdb = arg;
    }

    void gdbDefault() { gdb = "tcp::1234"; }

    void nographic() { nographic = true; }

    void display(Opts opts, String location) {
        if (opts.hasHelpKey()) throw new UserError("Help is not available for this option");
        String type = opts.get("type", "");
        if (Opts.isHelp(type)) {
            defer(Phase.HELP, location, () -> help("Available display backend types:\n" + String.join("\n", DISPLAYS) + "\n"));
            return;
        }
        if (!DISPLAYS.contains(type)) throw new UserError("Parameter 'type' does not accept value '" + type + "'");
        display = type;
    }

    void vga(String arg, String location) {
        if (Opts.isHelp(arg)) {
            StringBuilder text = new StringBuilder();
            VGA_TYPES.forEach((type, what) -> text.append(String.format("%-20s %s\n", type, what)));
            defer(Phase.HELP, location, () -> help(text.toString()));
        }
        vga = arg;
    }

    void fullScreen() { fullScreen = true; }

    void keyboard(String arg) { keyboardLayout = arg; }

    void noReboot() { noReboot = true; }

    void noShutdown() { noShutdown = true; }

    void startPaused() { startPaused = true; }

    void noDefaults() { defaults = false; }

    void log(String arg) {
        String list = logItemsHelp();
        for (String item : arg.split(",", -1)) {
            // QEMU lists the items and fails, also for "-d help".
            if (!LOG_ITEMS.containsKey(item)) throw new HelpRequested(list, 1);
            logItems.add(item);
        }
    }

    static String logItemsHelp() {
        StringBuilder out = new StringBuilder("Log items (comma separated):\n");
        LOG_ITEMS.forEach((item, what) -> out.append(String.format("%-15s %s\n", item, what)));
        return out.toString();
    }

    void logFile(String arg) { logFile = arg; }

    void name(Opts opts) { name = opts.get("guest"); }

    void rtc(Opts opts) {
        List<Opts.Entry> merged = new ArrayList<>(rtc.entries());
        merged.addAll(opts.entries());
        rtc = Opts.of(merged);
    }

    void icount(Opts opts) {
        String shift = opts.get("shift", "auto");
        if (!shift.equals("auto")) {
            Long value = OptsList.parseInteger(shift);
            if (value == null || value < 0 || value > 10) throw new UserError("icount: Invalid shift value");
        }
        icount = opts;
    }

    void usb() { usb = true; }

    void usbDevice(String arg, String location) {
        // No USB device models exist yet.
        defer(Phase.DEVICE, location, () -> { throw new UserError("could not add USB device '" + arg + "'"); });
        usbDevices.add(arg);
    }

    void object(Opts opts, String location) {
        String type = opts.get("qom-type", "");
        if (Opts.isHelp(type)) {
            defer(Phase.HELP, location, () -> help("List of user creatable objects:\n"));
            return;
        }
        // No user-creatable object types exist yet.
        throw new UserError("Parameter 'qom-type' does not accept value '" + type + "'");
    }

    void global(String arg) {
        int dot = arg.indexOf('.');
        int eq = arg.indexOf('=');
        if (dot > 0 && eq > dot + 1 && arg.indexOf(',') < 0) {
            globals.add(Opts.of(List.of(new Opts.Entry("driver", arg.substring(0, dot)),
                    new Opts.Entry("property", arg.substring(dot + 1, eq)), new Opts.Entry("value", arg.substring(eq + 1)))));
            return;
        }
        globals.add(Options.GLOBAL.parse(arg, warnings));
    }

    void trace(Opts opts) { traces.add(opts); }

    void daemonize() { daemonize = true; }

    void pidFile(String arg) { pidFile = arg; }

    // ---- Checks after reading the options.

    /** Runs the deferred checks in QEMU's order and returns the configuration. */
    MachineConfig build() {
        MachineConfig.Firmware[] firmware = new MachineConfig.Firmware[1];
        MachineTypes.MachineType[] machineType = new MachineTypes.MachineType[1];
        Map<String, String> machineProps = new LinkedHashMap<>();
        MachineConfig.Memory[] memory = new MachineConfig.Memory[1];
        MachineConfig.Smp[] smp = new MachineConfig.Smp[1];
        MachineConfig.Boot[] boot = new MachineConfig.Boot[1];
        MachineConfig.Accelerator[] accelerator = new MachineConfig.Accelerator[1];
        MachineConfig.Cpu[] cpuConfig = new MachineConfig.Cpu[1];
        List<MachineConfig.Drive> drives = new ArrayList<>();
        defer(Phase.MACHINE, null, () -> {
            machineType[0] = checkMachine(machineProps);
            memory[0] = checkMemory();
            smp[0] = checkSmp(machineType[0]);
            boot[0] = checkBoot();
        });
        defer(Phase.ACCEL, null, () -> accelerator[0] = checkAccelerator(machineProps.get("accel")));
        for (Located<Opts> d : driveArgs) defer(Phase.DRIVE, d.location(), () -> Drives.add(d.value(), drives, snapshot, reporter::raw));
        defer(Phase.DRIVE, null, () -> {
            cpuConfig[0] = checkCpu();
            firmware[0] = checkFirmware();
            if (vga != null && !VGA_TYPES.containsKey(vga) && !Opts.isHelp(vga)) throw new UserError("unknown vga type: " + vga);
            checkRtc();
        });
        defer(Phase.DEVICE, null, () -> Drives.checkReadOnlyDisks(drives));
        List<Deferred> ordered = new ArrayList<>(deferred);
        ordered.sort((a, b) -> a.phase().compareTo(b.phase())); // (not Comparator.comparing: its lambda is the JDK's, spun at every start)
        for (Deferred d : ordered) {
            location = d.location();
            if (d.location() == null) {
                d.check().run();
                continue;
            }
            try {
                d.check().run();
            } catch (UserError e) {
                throw new LocatedError(d.location(), List.of(e.getMessage()));
            }
        }
        location = null;
        warnNetdevsWithoutPeer();
        CharPlan chars = planCharDevices();
        // No graphical display exists yet: the default is no display.
        String displayType = display.equals("default") ? "none" : display;
        return new MachineConfig(machineType[0], Map.copyOf(machineProps), accelerator[0], cpuConfig[0], smp[0],
                memory[0], boot[0], firmware[0], List.copyOf(drives), snapshot, List.copyOf(netdevs.values()),
                List.copyOf(nics), chars.chardevs(), List.copyOf(serials), chars.serialChardevs(), List.copyOf(parallels),
                chars.monitors(), gdb, List.copyOf(deviceConfigs),
                new MachineConfig.Display(displayType, vga == null ? "std" : vga, nographic, fullScreen, keyboardLayout),
                new MachineConfig.Run(startPaused, noReboot, noShutdown, name, rtc, icount, usb, List.copyOf(usbDevices),
                        defaults, List.copyOf(objects), List.copyOf(globals)),
                new MachineConfig.Debug(List.copyOf(logItems), logFile, List.copyOf(traces)),
                new MachineConfig.Host(daemonize, pidFile));
    }

    private MachineTypes.MachineType checkMachine(Map<String, String> props) {
        Opts opts = Opts.of(machineEntries);
        String typeName = opts.get("type");
        MachineTypes.MachineType type = typeName == null ? MachineTypes.defaultType() : MachineTypes.resolve(typeName);
        if (type == null) throw new UserError("unsupported machine type\nUse -machine help to list supported machines");
        if (kernel != null) props.put("kernel", kernel);
        if (initrd != null) props.put("initrd", initrd);
        if (append != null) props.put("append", append);
        if (usb) props.put("usb", "on");
        for (String key : opts.keys()) {
            if (key.equals("type")) continue;
            String value = opts.get(key);
            MachineTypes.checkProperty(type, key, value);
            props.put(key, value);
        }
        return type;
    }

    private MachineConfig.Memory checkMemory() {
        Opts opts = Opts.of(memoryEntries);
        long ram = DEFAULT_RAM;
        String size = opts.get("size");
        if (size != null) {
            // A size without a suffix counts MiB (QEMU's legacy rule for -m).
            String withUnit = !size.isEmpty() && Character.isDigit(size.charAt(size.length() - 1)) ? size + "M" : size;
            long bytes;
            try {
                Sizes.Parsed parsed = Sizes.parse(withUnit);
                if (parsed.hexWithSuffix()) {
                    warnings.accept("warning: Using a multiplier suffix on hex numbers is deprecated: " + withUnit);
                }
                bytes = parsed.bytes();
            } catch (Sizes.BadSize bad) {
                throw new UserError("Parameter 'memory.size' expects size");
            }
            long aligned = (bytes + RAM_ALIGN - 1) & -RAM_ALIGN;
            if (aligned != 0) ram = aligned;
        }
        long slots = opts.has("slots") ? parseNumberChecked(opts.get("slots")) : 0;
        long maxMem = 0;
        if (opts.has("maxmem")) {
            maxMem = parseSizeChecked(opts.get("maxmem"));
            if (Long.compareUnsigned(maxMem, ram) < 0) {
                throw new UserError(String.format("invalid value of maxmem: maximum memory size (0x%x) must be at least "
                        + "the initial memory size (0x%x)", maxMem, ram));
            }
            if (Long.compareUnsigned(slots, MAX_MEMORY_SLOTS) > 0) {
                throw new UserError("unsupported amount of memory slots: " + Long.toUnsignedString(slots));
            }
        } else if (opts.has("slots")) {
            throw new UserError("slots specified but no max-size");
        }
        return new MachineConfig.Memory(ram, maxMem, slots);
    }

    private static long parseNumberChecked(String text) {
        try {
            return Sizes.parseNumber(text);
        } catch (Sizes.BadSize bad) {
            throw new IllegalStateException("checked when parsed", bad);
        }
    }

    private static long parseSizeChecked(String text) {
        try {
            return Sizes.parseBytes(text);
        } catch (Sizes.BadSize bad) {
            throw new IllegalStateException("checked when parsed", bad);
        }
    }

    /**
     * CPU topology, following QEMU 7.2's documented rules: missing values are derived preferring cores.
     * Counts are unsigned 32-bit, as in QEMU ("-smp -1" asks for 4294967295 CPUs).
     */
    private MachineConfig.Smp checkSmp(MachineTypes.MachineType machine) {
        Opts opts = Opts.of(smpEntries);
        Options.SMP.checkKeyval(opts, "smp");
        String[] keys = {"cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads"};
        int[] v = new int[keys.length];
        boolean zero = false;
        for (int i = 0; i < keys.length; i++) {
            v[i] = opts.has(keys[i]) ? (int) (long) OptsList.parseInteger(opts.get(keys[i])) : 0;
            zero |= opts.has(keys[i]) && v[i] == 0;
        }
        if (zero) {
            warnings.accept("warning: Deprecated CPU topology (considered invalid): "
                    + "CPU topology parameters must be greater than zero");
        }
        int cpus = v[0], maxCpus = v[1], sockets = v[2], dies = v[3], clusters = v[4], cores = v[5], threads = v[6];
        if (clusters > 1) throw new UserError("clusters not supported by this machine's CPU topology");
        dies = dies == 0 ? 1 : dies;
        threads = threads == 0 ? 1 : threads;
        if (cpus == 0 && maxCpus == 0) {
            sockets = sockets == 0 ? 1 : sockets;
            cores = cores == 0 ? 1 : cores;
        } else {
            maxCpus = maxCpus == 0 ? cpus : maxCpus;
            if (cores == 0) {
                sockets = sockets == 0 ? 1 : sockets;
                cores = divide(maxCpus, sockets * dies * threads);
            } else if (sockets == 0) {
                sockets = divide(maxCpus, dies * cores * threads);
            }
        }
        int product = sockets * dies * cores * threads;
        maxCpus = maxCpus == 0 ? product : maxCpus;
        cpus = cpus == 0 ? maxCpus : cpus;
        String topology = "sockets (" + u(sockets) + ") * dies (" + u(dies) + ") * cores (" + u(cores) + ") * threads ("
                + u(threads) + ")";
        if (product != maxCpus) {
            throw new UserError("Invalid CPU topology: product of the hierarchy must match maxcpus: " + topology
                    + " != maxcpus (" + u(maxCpus) + ")");
        }
        if (Integer.compareUnsigned(maxCpus, cpus) < 0) {
            throw new UserError("Invalid CPU topology: maxcpus must be equal to or greater than smp: " + topology
                    + " == maxcpus (" + u(maxCpus) + ") < smp_cpus (" + u(cpus) + ")");
        }
        if (Integer.compareUnsigned(maxCpus, machine.maxCpus()) > 0) {
            throw new UserError("Invalid SMP CPUs " + maxCpus + ". The max CPUs supported by machine '" + machine.name()
                    + "' is " + machine.maxCpus());
        }
        return new MachineConfig.Smp(cpus, maxCpus, sockets, dies, cores, threads);
    }

    private static int divide(int dividend, int divisor) { return divisor == 0 ? 0 : Integer.divideUnsigned(dividend, divisor); }

    private static String u(int count) { return Integer.toUnsignedString(count); }

    private MachineConfig.Boot checkBoot() {
        Opts opts = Opts.of(bootEntries);
        Options.BOOT.checkKeyval(opts, "boot");
        String order = opts.get("order", "cad");
        checkBootDevices(order);
        String once = opts.get("once");
        if (once != null) checkBootDevices(once);
        for (String devices : once == null ? List.of(order) : List.of(order, once)) {
            for (char c : devices.toCharArray()) {
                if ("abcdn".indexOf(c) < 0) throw new UserError("Invalid boot device for PC: '" + c + "'");
            }
        }
        return new MachineConfig.Boot(order, once, opts.bool("menu", false), opts.bool("strict", false),
                opts.get("splash"), longOr(opts.get("splash-time"), -1), longOr(opts.get("reboot-timeout"), -1));
    }

    private static long longOr(String text, long fallback) { return text == null ? fallback : OptsList.parseInteger(text); }

    /** Boot letters: 'a' to 'p', each at most once. */
    private static void checkBootDevices(String devices) {
        Set<Character> seen = new HashSet<>();
        for (char c : devices.toCharArray()) {
            if (c < 'a' || c > 'p') throw new UserError("Invalid boot device '" + c + "'");
            if (!seen.add(c)) throw new UserError("Boot device '" + c + "' was given twice");
        }
    }

    private MachineConfig.Accelerator checkAccelerator(String machineAccel) {
        if (machineAccel != null && !accels.isEmpty()) {
            throw new UserError("The -accel and \"-machine accel=\" options are incompatible");
        }
        if (kvmRequested) throw new UserError("invalid accelerator kvm");
        if (machineAccel != null) {
            String first = machineAccel.split(":", -1)[0];
            for (String name : machineAccel.split(":", -1)) {
                if (!ACCELERATORS.contains(name)) throw new UserError("invalid accelerator " + name);
            }
            return new MachineConfig.Accelerator(first, "single", null, false);
        }
        if (accels.isEmpty()) return new MachineConfig.Accelerator("tcg", "single", null, false);
        MachineConfig.Accelerator chosen = null;
        for (Located<Opts> a : accels) {
            try {
                MachineConfig.Accelerator one = checkTcg(a.value());
                if (chosen == null) chosen = one;
            } catch (UserError e) {
                throw new LocatedError(a.location(), List.of(e.getMessage()));
            }
        }
        return chosen;
    }

    private static MachineConfig.Accelerator checkTcg(Opts opts) {
        String name = opts.get("accel", "");
        if (!ACCELERATORS.contains(name)) throw new UserError("invalid accelerator " + name);
        String thread = "single";
        Long tbSize = null;
        boolean splitWx = false;
        boolean oneInsnPerTb = false;
        for (String key : opts.keys()) {
            String value = opts.get(key);
            switch (key) {
                case "accel" -> { }
                case "thread" -> {
                    if (!value.equals("single") && !value.equals("multi")) throw new UserError("Invalid 'thread' setting " + value);
                    thread = value;
                }
                case "tb-size" -> {
                    try {
                        tbSize = Sizes.parseNumber(value);
                    } catch (Sizes.BadSize bad) {
                        throw new UserError("Parameter 'tb-size' expects uint64");
                    }
                }
                case "split-wx" -> {
                    Boolean b = OptsList.parseBool(value);
                    if (b == null) throw new UserError("Parameter 'split-wx' expects 'on' or 'off'");
                    splitWx = b;
                }
                case "one-insn-per-tb" -> {
                    Boolean b = OptsList.parseBool(value);
                    if (b == null) throw new UserError("Parameter 'one-insn-per-tb' expects 'on' or 'off'");
                    oneInsnPerTb = b;
                }
                default -> throw new UserError("Property 'tcg-accel." + key + "' not found");
            }
        }
        return new MachineConfig.Accelerator(name, thread, tbSize, splitWx, oneInsnPerTb);
    }

    /** The chardevs, serial ports and monitors after QEMU's defaults (-nographic: serial and monitor muxed on stdio). */
    private CharPlan planCharDevices() {
        CharPlan.Builder plan = new CharPlan.Builder();
        chardevs.forEach((id, opts) -> plan.chardev(id, opts, chardevLocations.get(id)));
        List<Located<String>> serialList = new ArrayList<>(serialSpecs);
        List<Located<String>> monitorList = new ArrayList<>(monitorSpecs);
        List<String> modes = new ArrayList<>(monitorModes);
        boolean defaultSerial = defaults && serialSpecs.isEmpty();
        boolean defaultMonitor = defaults && !monitorsGiven;
        if (nographic && defaultSerial && defaultMonitor) {
            serialList.add(new Located<>("-nographic", "mon:stdio"));
        } else if (nographic) {
            if (defaultSerial) serialList.add(new Located<>("-nographic", "stdio"));
            if (defaultMonitor) {
                monitorList.add(new Located<>("-nographic", "stdio"));
                modes.add("readline");
            }
        } else if (defaultSerial) {
            // QEMU's default COM1 is on a virtual console; with no display that is a null line.
            serialList.add(new Located<>("-serial", "vc:80Cx24C"));
        }
        for (Located<String> s : serialList) plan.serial(s.value(), s.location(), serialError(s.value()), warnings);
        for (int i = 0; i < monitorList.size(); i++) {
            plan.monitor(monitorList.get(i).value(), monitorList.get(i).location(), modes.get(i), warnings);
        }
        for (MachineConfig.Monitor m : monitors) plan.monitor(m);
        return plan.build();
    }

    private void checkChardev(Opts opts) {
        String backend = opts.get("backend");
        if (backend != null && Opts.isHelp(backend)) {
            StringBuilder text = new StringBuilder("Available chardev backend types: \n");
            for (String b : CHARDEV_BACKENDS) text.append("  ").append(b).append('\n');
            help(text.toString());
        }
        if (backend != null && !CHARDEV_BACKENDS.contains(backend)) {
            throw new UserError("'" + backend + "' is not a valid char driver name");
        }
        String id = opts.get("id");
        if (id == null) throw new UserError("chardev: no id specified");
        if (backend == null) throw new UserError("chardev: \"" + id + "\" missing backend");
        if (backend.equals("file")) {
            String path = opts.get("path");
            if (path == null) throw new UserError("chardev: file: no filename given");
            CharSpecs.checkWritable(path);
        }
        if (backend.equals("socket")) checkSocket(opts);
    }

    /** A socket chardev names exactly one of path (Unix) and host (TCP, with a port). */
    static void checkSocket(Opts opts) {
        boolean path = !opts.get("path", "").isEmpty(), host = opts.has("host"), fd = opts.has("fd");
        if ((path ? 1 : 0) + (host ? 1 : 0) + (fd ? 1 : 0) > 1) {
            throw new UserError("None or one of 'path', 'fd' or 'host' option required.");
        }
        if (host && !opts.has("port")) throw new UserError("chardev: socket: no port given");
        if (!path && !host) throw new UserError("Unable to parse FD number " + opts.get("fd", ""));
        if (!opts.bool("server", false) && opts.has("wait")) {
            throw new UserError("'wait' option is incompatible with socket in client connect mode");
        }
    }

    private static void checkNetdev(Opts opts) {
        if (!opts.has("id")) throw new UserError("Parameter 'id' is missing");
        String type = opts.get("type");
        if (type == null) throw new UserError("Parameter 'type' is missing");
        if (!NETDEV_TYPES.contains(type)) throw new UserError("Parameter 'type' does not accept value '" + type + "'");
        for (Opts.Entry e : opts.entries()) {
            if (!NETDEV_USER_KEYS.contains(e.key())) throw new UserError("Invalid parameter '" + e.key() + "'");
            if (NETDEV_USER_BOOLS.contains(e.key()) && OptsList.parseBool(e.value()) == null) {
                throw new UserError("Parameter '" + e.key() + "' expects 'on' or 'off'");
            }
        }
    }

    /** A -netdev no device uses (no NIC model exists yet) gets QEMU's warning. */
    private void warnNetdevsWithoutPeer() {
        Set<Object> used = new HashSet<>();
        for (DeviceConfig d : deviceConfigs) used.add(d.values().get("netdev"));
        for (Opts n : netdevs.values()) {
            if (!used.contains(n.get("id"))) warnings.accept("warning: netdev " + n.get("id") + " has no peer");
        }
    }

    private void checkNicModel(String model) {
        DeviceType type = devices.find(model);
        if (type == null || type.category() != DeviceCategory.NETWORK) throw new UserError("Unsupported NIC model: " + model);
    }

    private MachineConfig.Cpu checkCpu() {
        if (cpu == null) return new MachineConfig.Cpu("qemu32", List.of());
        String[] parts = cpu.split(",", -1);
        CpuModels.check(parts[0]);
        return new MachineConfig.Cpu(parts[0], List.of(parts).subList(1, parts.length));
    }

    private MachineConfig.Firmware checkFirmware() {
        if (append != null && kernel == null) throw new UserError("-append only allowed with -kernel option");
        if (initrd != null && kernel == null) throw new UserError("-initrd only allowed with -kernel option");
        if (bios != null && findDataFile(bios) == null) throw new UserError("could not load PC BIOS '" + bios + "'");
        if (kernel != null && !Files.isReadable(Path.of(kernel))) {
            throw new UserError("could not open kernel file '" + kernel + "': No such file or directory");
        }
        if (initrd != null && !Files.isReadable(Path.of(initrd))) {
            throw new UserError("could not load initial ram disk '" + initrd + "'");
        }
        return new MachineConfig.Firmware(bios, List.copyOf(dataDirs), kernel, initrd, append);
    }

    /** A firmware file: a path as given when it names a folder, else searched in the -L folders. */
    private Path findDataFile(String name) {
        if (name.contains("/")) return Files.isReadable(Path.of(name)) ? Path.of(name) : null;
        for (String dir : dataDirs) {
            Path p = Path.of(dir, name);
            if (Files.isReadable(p)) return p;
        }
        Path here = Path.of(name);
        return Files.isReadable(here) ? here : null;
    }

    private void checkRtc() {
        String base = rtc.get("base");
        if (base != null && !base.equals("utc") && !base.equals("localtime")
                && !base.matches("\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}:\\d{2})?")) {
            throw new UserError("invalid datetime format\nvalid formats: '2006-06-17T16:01:21' or '2006-06-17'");
        }
        String clock = rtc.get("clock");
        if (clock != null && !List.of("host", "rt", "vm").contains(clock)) throw new UserError("invalid option value '" + clock + "'");
        String driftfix = rtc.get("driftfix");
        if (driftfix != null && !List.of("none", "slew").contains(driftfix)) {
            throw new UserError("invalid option value '" + driftfix + "'");
        }
    }
}
