package org.jqemu.system;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

import org.jqemu.util.opts.HelpRequested;
import org.jqemu.util.opts.Opts;
import org.jqemu.util.opts.OptsList;
import org.jqemu.util.opts.OptsList.Type;

/**
 * QEMU's option table for jqemu-system-i386: each option's name, whether it takes an argument, the
 * grammar of that argument (its {@link OptsList}: QemuOpts or keyval, implied first key, parameters),
 * its help section and text, and the {@link CommandLine} handler it calls. "-opt" and "--opt" are the same.
 */
final class Options {
    // The argument grammars, named as QEMU names them in its messages.
    static final OptsList MACHINE = OptsList.keyval("machine", "type").helpText(Options::machineHelp);
    static final OptsList MEMORY = OptsList.qemuOpts("memory", "size").param("size", Type.SIZE)
            .param("slots", Type.NUMBER).param("maxmem", Type.SIZE);
    static final OptsList SMP = OptsList.keyval("smp-opts", "cpus")
            .params(Type.NUMBER, "cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads");
    static final OptsList BOOT = OptsList.keyval("boot-opts", "order").params(Type.STRING, "order", "once", "splash")
            .params(Type.BOOL, "menu", "strict").params(Type.NUMBER, "splash-time", "reboot-timeout");
    static final OptsList ACCEL = OptsList.qemuOptsAnyKey("accel", "accel");
    static final OptsList DEVICE = OptsList.qemuOptsAnyKey("device", "driver");
    static final OptsList CHARDEV = OptsList.qemuOpts("chardev", "backend")
            .params(Type.STRING, "backend", "chardev", "fd", "host", "localaddr", "localport", "logfile", "name", "path",
                    "port", "tls-authz", "tls-creds")
            .params(Type.BOOL, "abstract", "append", "clipboard", "delay", "ipv4", "ipv6", "logappend", "mouse", "mux",
                    "nodelay", "server", "signal", "telnet", "tight", "tn3270", "wait", "websocket")
            .params(Type.NUMBER, "cols", "debug", "height", "reconnect", "rows", "to", "width").param("size", Type.SIZE);
    static final OptsList DRIVE = OptsList.qemuOptsAnyKey("drive", null);
    static final OptsList NETDEV = OptsList.qemuOptsAnyKey("netdev", "type");
    static final OptsList NIC = OptsList.qemuOptsAnyKey("nic", "type");
    static final OptsList NET = OptsList.qemuOptsAnyKey("net", "type");
    static final OptsList OBJECT = OptsList.qemuOptsAnyKey("object", "qom-type");
    static final OptsList MON = OptsList.qemuOpts("mon", "chardev").params(Type.STRING, "chardev", "mode")
            .param("pretty", Type.BOOL);
    static final OptsList NAME = OptsList.qemuOpts("name", "guest").params(Type.STRING, "guest", "process")
            .param("debug-threads", Type.BOOL);
    static final OptsList RTC = OptsList.qemuOpts("rtc", null).params(Type.STRING, "base", "clock", "driftfix");
    static final OptsList ICOUNT = OptsList.qemuOpts("icount", "shift").params(Type.STRING, "shift", "rr", "rrfile",
            "rrsnapshot").params(Type.BOOL, "align", "sleep");
    static final OptsList TRACE = OptsList.qemuOpts("trace", "enable").params(Type.STRING, "enable", "events", "file");
    static final OptsList GLOBAL = OptsList.qemuOpts("global", null).params(Type.STRING, "driver", "property", "value");
    static final OptsList DISPLAY = OptsList.qemuOptsAnyKey("display", "type");

    /** Help sections, in the order -h prints them. */
    enum Section {
        STANDARD("Standard options"), BLOCK("Block device options"), USB("USB convenience options"),
        DISPLAY("Display options"), NETWORK("Network options"), CHARDEV("Character device options"),
        BOOT("Linux/Multiboot boot specific"), DEBUG("Debug/Expert options");

        final String heading;

        Section(String heading) { this.heading = heading; }
    }

    /** What an option's handler gets: the argument as written, parsed by the option's grammar when it has one. */
    record Argument(String text, Opts opts, String location) { }

    @FunctionalInterface
    interface Handler {
        void handle(CommandLine line, Argument arg);
    }

    /**
     * One option. {@code synopsis} is how -h shows the argument (null: the option takes none);
     * {@code grammar} parses it (null: taken as written); {@code help} may span lines.
     */
    record Option(String name, String synopsis, OptsList grammar, Section section, String help, Handler handler) {
        boolean hasArg() { return synopsis != null; }

        /** The key a bare first value belongs to ("-m 1G" is size=1G), or null. */
        String impliedKey() { return grammar == null ? null : grammar.impliedKey(); }
    }

    private static final Map<String, Option> TABLE = new LinkedHashMap<>();

    private static void add(String name, String synopsis, OptsList grammar, Section section, String help, Handler handler) {
        TABLE.put(name, new Option(name, synopsis, grammar, section, help, handler));
    }

    private static void flag(String name, Section section, String help, Handler handler) { add(name, null, null, section, help, handler); }


    static {
        Section s = Section.STANDARD;
        flag("h", s, "display this help and exit", (line, arg) -> { throw new HelpRequested(Main.usage(), 0); });
        TABLE.put("help", TABLE.get("h"));
        flag("version", s, "display version information and exit", (line, arg) -> { throw new HelpRequested(Main.versionText(), 0); });
        String machineHelp = "select the emulated machine ('-machine help' for the list, 'pc,help' for its properties)\n"
                + "property accel=tcg selects the accelerator";
        add("machine", "[type=]name[,prop[=value][,...]]", MACHINE, s, machineHelp, (line, a) -> line.machine(a.opts(), a.location()));
        add("M", "[type=]name[,prop[=value][,...]]", MACHINE, s, "same as -machine", (line, a) -> line.machine(a.opts(), a.location()));
        add("cpu", "cpu", null, s, "select the CPU model ('-cpu help' for the list)", (line, a) -> line.cpu(a.text(), a.location()));
        add("accel", "[accel=]accelerator[,prop[=value][,...]]", ACCEL, s,
                "select the accelerator ('-accel help' for the list)\nthread=single|multi, tb-size=n (MiB), split-wx=on|off",
                (line, a) -> line.accel(a.opts(), a.location()));
        flag("enable-kvm", s, "enable KVM full virtualization support (not available in jqemu)", (line, a) -> line.enableKvm());
        add("smp", "[[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies][,cores=cores][,threads=threads]", SMP, s,
                "set the number of initial CPUs to 'n' [default=1] and the CPU topology", (line, a) -> line.smp(a.opts()));
        add("m", "[size=]megs[,slots=n,maxmem=size]", MEMORY, s,
                "configure guest RAM: size is the initial amount (a number alone counts MiB;\n"
                + "suffixes k, M, G, T, P, E), slots and maxmem set up memory hotplug", (line, a) -> line.memory(a.opts()));
        add("boot", "[order=drives][,once=drives][,menu=on|off][,strict=on|off]", BOOT, s,
                "boot order: floppy (a), hard disk (c), CD-ROM (d), network (n)", (line, a) -> line.boot(a.opts()));
        add("k", "language", null, s, "use keyboard layout 'language' (for example 'fr' for French)", (line, a) -> line.keyboard(a.text()));
        add("device", "driver[,prop[=value][,...]]", DEVICE, s,
                "add a device; '-device help' lists them, '-device driver,help' lists its properties",
                (line, a) -> line.device(a.opts(), a.location()));
        add("name", "string", NAME, s, "set the name of the guest", (line, a) -> line.name(a.opts()));
        add("global", "driver.prop=value", null, s, "set a default value of a driver's property", (line, a) -> line.global(a.text()));

        s = Section.BLOCK;
        add("drive", "[file=file][,if=type][,index=i][,media=d][,format=f][,snapshot=on|off][,readonly=on|off]", DRIVE, s,
                "use 'file' as a drive image (',,' writes a comma in a file name)", (line, a) -> line.drive(a.opts(), a.location()));
        for (int i = 0; i < 4; i++) {
            int index = i;
            add("hd" + (char) ('a' + i), "file", null, s, "use 'file' as IDE hard disk " + i + " image",
                    (line, a) -> line.shortDrive(a.text(), a.location(), null, index, "disk"));
        }
        add("cdrom", "file", null, s, "use 'file' as CD-ROM image", (line, a) -> line.shortDrive(a.text(), a.location(), null, 2, "cdrom"));
        add("fda", "file", null, s, "use 'file' as floppy disk 0 image", (line, a) -> line.shortDrive(a.text(), a.location(), "floppy", 0, null));
        add("fdb", "file", null, s, "use 'file' as floppy disk 1 image", (line, a) -> line.shortDrive(a.text(), a.location(), "floppy", 1, null));
        flag("snapshot", s, "write to temporary files instead of disk image files", (line, a) -> line.snapshot());

        s = Section.USB;
        flag("usb", s, "enable on-board USB host controller (if not enabled by default)", (line, a) -> line.usb());
        add("usbdevice", "name", null, s, "add the host or guest USB device 'name'", (line, a) -> line.usbDevice(a.text(), a.location()));

        s = Section.DISPLAY;
        add("display", "type", DISPLAY, s, "select the display back end type ('-display help' for the list)",
                (line, a) -> line.display(a.opts(), a.location()));
        flag("nographic", s, "disable graphical output and redirect serial I/Os to console", (line, a) -> line.nographic());
        flag("full-screen", s, "start in full screen", (line, a) -> line.fullScreen());
        add("vga", "type", null, s, "select video card type ('-vga help' for the list)", (line, a) -> line.vga(a.text(), a.location()));

        s = Section.NETWORK;
        add("netdev", "user,id=str[,ipv4=on|off][,net=addr[/mask]][,host=addr][,restrict=on|off][,hostfwd=rule]", NETDEV, s,
                "configure a user mode network back end with ID 'str' ('-netdev help' for the types)",
                (line, a) -> line.netdev(a.opts(), a.location()));
        add("nic", "[user|none][,model=type][,mac=addr][,id=str]", NIC, s,
                "initialize an on-board or default NIC and connect it to a new network back end", (line, a) -> line.nic(a.opts()));
        add("net", "nic[,model=type][,mac=addr]|user[,...]|none", NET, s,
                "configure or create an on-board NIC or a network back end (legacy)", (line, a) -> line.net(a.opts()));

        s = Section.CHARDEV;
        add("chardev", "backend,id=id[,prop=value][,...]", CHARDEV, s,
                "create a character device back end: null, stdio, file (path=), socket\n('-chardev help' for the list)",
                (line, a) -> line.chardev(a.opts(), a.location()));
        add("serial", "dev", null, s, "redirect the serial port to char device 'dev'", (line, a) -> line.serial(a.text(), a.location()));
        add("parallel", "dev", null, s, "redirect the parallel port to char device 'dev'", (line, a) -> line.parallel(a.text(), a.location()));
        add("monitor", "dev", null, s, "redirect the monitor to char device 'dev'", (line, a) -> line.monitor(a.text(), a.location()));
        add("qmp", "dev", null, s, "like -monitor but opens in 'control' mode (QMP)", (line, a) -> line.qmp(a.text(), a.location()));
        add("mon", "[chardev=]name[,mode=readline|control][,pretty=on|off]", MON, s,
                "attach a monitor to the character device 'name'", (line, a) -> line.mon(a.opts(), a.location()));

        s = Section.BOOT;
        add("kernel", "bzImage", null, s, "use 'bzImage' as kernel image", (line, a) -> line.kernel(a.text()));
        add("append", "cmdline", null, s, "use 'cmdline' as kernel command line", (line, a) -> line.append(a.text()));
        add("initrd", "file", null, s, "use 'file' as initial ram disk", (line, a) -> line.initrd(a.text()));

        s = Section.DEBUG;
        add("bios", "file", null, s, "set the filename for the BIOS", (line, a) -> line.bios(a.text()));
        add("L", "path", null, s, "set the directory for the BIOS, VGA BIOS and keymaps", (line, a) -> line.dataDir(a.text()));
        flag("no-hpet", s, "disable the HPET (same as -machine hpet=off)", (line, a) -> line.noHpet());
        flag("no-reboot", s, "exit instead of rebooting", (line, a) -> line.noReboot());
        flag("no-shutdown", s, "stop before shutdown", (line, a) -> line.noShutdown());
        flag("S", s, "freeze CPU at startup (use 'c' in the monitor to start execution)", (line, a) -> line.startPaused());
        add("gdb", "dev", null, s, "accept a gdb connection on 'dev'", (line, a) -> line.gdb(a.text()));
        flag("s", s, "shorthand for -gdb tcp::1234", (line, a) -> line.gdbDefault());
        add("d", "item1,...", null, s, "enable logging of specified items (use '-d help' for a list of log items)",
                (line, a) -> line.log(a.text()));
        add("D", "logfile", null, s, "output log to logfile (default stderr)", (line, a) -> line.logFile(a.text()));
        add("rtc", "[base=utc|localtime|date][,clock=host|rt|vm][,driftfix=none|slew]", RTC, s,
                "set the RTC base and clock", (line, a) -> line.rtc(a.opts()));
        add("icount", "[shift=N|auto][,align=on|off][,sleep=on|off]", ICOUNT, s,
                "count executed instructions; one instruction lasts 2^N ns", (line, a) -> line.icount(a.opts()));
        add("trace", "[[enable=]pattern][,events=file][,file=file]", TRACE, s, "specify tracing options", (line, a) -> line.trace(a.opts()));
        flag("nodefaults", s, "don't create default devices", (line, a) -> line.noDefaults());
        flag("daemonize", s, "daemonize the emulator after initializing", (line, a) -> line.daemonize());
        add("pidfile", "file", null, s, "write the process id to 'file'", (line, a) -> line.pidFile(a.text()));
        add("object", "typename[,prop1=value1,...]", OBJECT, s, "create a new object of type 'typename'",
                (line, a) -> line.object(a.opts(), a.location()));
    }

    private Options() { }

    /** "-machine help" lists the types; "-machine TYPE,help" lists that type's properties. */
    private static String machineHelp(Opts parsed) {
        String type = parsed.get("type");
        MachineTypes.MachineType t = type == null ? null : MachineTypes.resolve(type);
        return t == null ? MachineTypes.help() : MachineTypes.propertiesHelp(t);
    }

    /** The option named {@code name} (without dashes), or null. */
    static Option find(String name) { return TABLE.get(name); }

    /** Every option once (-help is -h). */
    static List<Option> all() { return List.copyOf(new LinkedHashSet<>(TABLE.values())); }

    /** The option sections of -h: "-opt arg" padded to 16 columns, or on a line of its own when longer. */
    static String help() {
        StringBuilder out = new StringBuilder();
        for (Section section : Section.values()) {
            out.append(section.heading).append(":\n");
            for (Option o : new LinkedHashSet<>(TABLE.values())) {
                if (o.section() != section) continue;
                String synopsis = o.name().equals("h") ? "-h or -help" : "-" + o.name() + (o.hasArg() ? " " + o.synopsis() : "");
                String text = o.help().replace("\n", "\n" + " ".repeat(16));
                if (synopsis.length() < 16) {
                    out.append(String.format("%-16s%s\n", synopsis, text));
                } else {
                    out.append(synopsis).append('\n').append(" ".repeat(16)).append(text).append('\n');
                }
            }
            out.append('\n');
        }
        return out.toString();
    }
}
