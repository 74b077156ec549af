package org.jqemu.system;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import org.jqemu.util.opts.HelpRequested;

/**
 * QEMU's option table for jqemu-system-i386: each option's name, argument (null when it takes none),
 * help section and text, and the {@link CommandLine} handler it calls. "-opt" and "--opt" are the same.
 */
final class Options {
    /** Help sections, in the order -h prints them. */
    enum Section {
        STANDARD("Standard options"), BLOCK("Block device options"), USB("USB convenience options"),
        DISPLAY("Display options"), NETWORK("Network options"), CHARDEV("Character device options"),
        BOOT("Linux/Multiboot boot specific"), DEBUG("Debug/Expert options");

        final String heading;

        Section(String heading) { this.heading = heading; }
    }

    @FunctionalInterface
    interface Handler {
        void handle(CommandLine line, String arg, String location);
    }

    /** One option. {@code synopsis} is how -h shows its argument; {@code help} may span lines. */
    record Option(String name, boolean hasArg, Section section, String synopsis, String help, Handler handler) { }

    private static final Map<String, Option> TABLE = new LinkedHashMap<>();

    private static void option(String name, String synopsis, Section section, String help, Handler handler) {
        TABLE.put(name, new Option(name, synopsis != null, section, "-" + name + (synopsis == null ? "" : " " + synopsis), help, handler));
    }

    /** An option that only sets something on the command line. */
    private interface Setter { void set(CommandLine line, String arg); }

    private static void simple(String name, String synopsis, Section section, String help, Setter setter) {
        option(name, synopsis, section, help, (line, arg, location) -> setter.set(line, arg));
    }

    private static void noArg(String name, Section section, String help, Consumer<CommandLine> effect) {
        option(name, null, section, help, (line, arg, location) -> effect.accept(line));
    }

    static {
        Section s = Section.STANDARD;
        noArg("h", s, "display this help and exit", line -> { throw new HelpRequested(Main.usage(), 0); });
        noArg("help", s, "display this help and exit", line -> { throw new HelpRequested(Main.usage(), 0); });
        noArg("version", s, "display version information and exit",
                line -> { throw new HelpRequested(Main.versionText(), 0); });
        option("machine", "[type=]name[,prop[=value][,...]]", s,
                "selects the emulated machine ('-machine help' for the list, 'pc,help' for its properties)\n"
                + "property accel=tcg selects the accelerator", CommandLine::machine);
        option("M", "[type=]name[,prop[=value][,...]]", s, "same as -machine", CommandLine::machine);
        option("cpu", "cpu", s, "select the CPU model ('-cpu help' for the list)", CommandLine::cpu);
        option("accel", "[accel=]accelerator[,prop[=value][,...]]", s,
                "select the accelerator ('-accel help' for the list)\n"
                + "thread=single|multi, tb-size=n (MiB), split-wx=on|off", CommandLine::accel);
        noArg("enable-kvm", s, "enable KVM full virtualization support (not available in jqemu)", CommandLine::enableKvm);
        simple("smp", "[[cpus=]n][,maxcpus=maxcpus][,sockets=sockets][,dies=dies][,cores=cores][,threads=threads]", s,
                "set the number of initial CPUs to 'n' [default=1] and the CPU topology", CommandLine::smp);
        simple("m", "[size=]megs[,slots=n,maxmem=size]", s,
                "configure guest RAM: size is the initial amount (a number alone counts MiB;\n"
                + "suffixes k, M, G, T, P, E), slots and maxmem set up memory hotplug", CommandLine::memory);
        simple("boot", "[order=drives][,once=drives][,menu=on|off][,strict=on|off]", s,
                "boot order: floppy (a), hard disk (c), CD-ROM (d), network (n)", CommandLine::boot);
        simple("k", "language", s, "use keyboard layout 'language' (for example 'fr' for French)", CommandLine::keyboard);
        option("device", "driver[,prop[=value][,...]]", s,
                "add a device; '-device help' lists them, '-device driver,help' lists its properties", CommandLine::device);
        simple("name", "string", s, "set the name of the guest", CommandLine::name);
        simple("global", "driver.prop=value", s, "set a default value of a driver's property", CommandLine::global);

        s = Section.BLOCK;
        option("drive", "[file=file][,if=type][,index=i][,media=d][,format=f][,snapshot=on|off][,readonly=on|off]", s,
                "use 'file' as a drive image (',,' writes a comma in a file name)", CommandLine::drive);
        for (int i = 0; i < 4; i++) {
            int index = i;
            option("hd" + (char) ('a' + i), "file", s, "use 'file' as IDE hard disk " + i + " image",
                    (line, arg, location) -> line.shortDrive(arg, location, null, index, "disk"));
        }
        option("cdrom", "file", s, "use 'file' as CD-ROM image",
                (line, arg, location) -> line.shortDrive(arg, location, null, 2, "cdrom"));
        option("fda", "file", s, "use 'file' as floppy disk 0 image",
                (line, arg, location) -> line.shortDrive(arg, location, "floppy", 0, null));
        option("fdb", "file", s, "use 'file' as floppy disk 1 image",
                (line, arg, location) -> line.shortDrive(arg, location, "floppy", 1, null));
        noArg("snapshot", s, "write to temporary files instead of disk image files", CommandLine::snapshot);

        s = Section.USB;
        noArg("usb", s, "enable on-board USB host controller (if not enabled by default)", CommandLine::usb);
        option("usbdevice", "name", s, "add the host or guest USB device 'name'", CommandLine::usbDevice);

        s = Section.DISPLAY;
        option("display", "type", s, "select the display back end type ('-display help' for the list)", CommandLine::display);
        noArg("nographic", s, "disable graphical output and redirect serial I/Os to console", CommandLine::nographic);
        noArg("full-screen", s, "start in full screen", CommandLine::fullScreen);
        option("vga", "type", s, "select video card type ('-vga help' for the list)", CommandLine::vga);

        s = Section.NETWORK;
        option("netdev", "user,id=str[,ipv4=on|off][,net=addr[/mask]][,host=addr][,restrict=on|off][,hostfwd=rule]", s,
                "configure a user mode network back end with ID 'str' ('-netdev help' for the types)", CommandLine::netdev);
        option("nic", "[user|none][,model=type][,mac=addr][,id=str]", s,
                "initialize an on-board or default NIC and connect it to a new network back end", CommandLine::nic);
        option("net", "nic[,model=type][,mac=addr]|user[,...]|none", s,
                "configure or create an on-board NIC or a network back end (legacy)", CommandLine::net);

        s = Section.CHARDEV;
        option("chardev", "backend,id=id[,prop=value][,...]", s,
                "create a character device back end: null, stdio, file (path=), socket\n"
                + "('-chardev help' for the list)", CommandLine::chardev);
        option("serial", "dev", s, "redirect the serial port to char device 'dev'", CommandLine::serial);
        option("parallel", "dev", s, "redirect the parallel port to char device 'dev'", CommandLine::parallel);
        option("monitor", "dev", s, "redirect the monitor to char device 'dev'", CommandLine::monitor);
        option("qmp", "dev", s, "like -monitor but opens in 'control' mode (QMP)", CommandLine::qmp);
        option("mon", "[chardev=]name[,mode=readline|control][,pretty=on|off]", s,
                "attach a monitor to the character device 'name'", CommandLine::mon);

        s = Section.BOOT;
        simple("kernel", "bzImage", s, "use 'bzImage' as kernel image", CommandLine::kernel);
        simple("append", "cmdline", s, "use 'cmdline' as kernel command line", CommandLine::append);
        simple("initrd", "file", s, "use 'file' as initial ram disk", CommandLine::initrd);

        s = Section.DEBUG;
        simple("bios", "file", s, "set the filename for the BIOS", CommandLine::bios);
        simple("L", "path", s, "set the directory for the BIOS, VGA BIOS and keymaps", CommandLine::dataDir);
        noArg("no-reboot", s, "exit instead of rebooting", CommandLine::noReboot);
        noArg("no-shutdown", s, "stop before shutdown", CommandLine::noShutdown);
        noArg("S", s, "freeze CPU at startup (use 'c' in the monitor to start execution)", CommandLine::startPaused);
        simple("gdb", "dev", s, "accept a gdb connection on 'dev'", CommandLine::gdb);
        noArg("s", s, "shorthand for -gdb tcp::1234", CommandLine::gdbDefault);
        simple("d", "item1,...", s, "enable logging of specified items (use '-d help' for a list of log items)", CommandLine::log);
        simple("D", "logfile", s, "output log to logfile (default stderr)", CommandLine::logFile);
        simple("rtc", "[base=utc|localtime|date][,clock=host|rt|vm][,driftfix=none|slew]", s,
                "set the RTC base and clock", CommandLine::rtc);
        simple("icount", "[shift=N|auto][,align=on|off][,sleep=on|off]", s,
                "count executed instructions; one instruction lasts 2^N ns", CommandLine::icount);
        simple("trace", "[[enable=]pattern][,events=file][,file=file]", s, "specify tracing options", CommandLine::trace);
        noArg("nodefaults", s, "don't create default devices", CommandLine::noDefaults);
        noArg("daemonize", s, "daemonize the emulator after initializing", CommandLine::daemonize);
        simple("pidfile", "file", s, "write the process id to 'file'", CommandLine::pidFile);
        option("object", "typename[,prop1=value1,...]", s, "create a new object of type 'typename'", CommandLine::object);
    }

    private Options() { }

    /** The option named {@code name} (without dashes), or null. */
    static Option find(String name) { return TABLE.get(name); }

    static List<Option> all() { return List.copyOf(TABLE.values()); }

    /** The option sections of -h: "-opt arg" padded to 16 columns, or on a line of its own when longer. */
    static String help() {
        StringBuilder out = new StringBuilder();
        for (Section section : Section.values()) {
            out.append(section.heading).append(":\n");
            for (Option o : TABLE.values()) {
                if (o.section() != section) continue;
                String text = o.help().replace("\n", "\n" + " ".repeat(16));
                if (o.synopsis().length() < 16) {
                    out.append(String.format("%-16s%s\n", o.synopsis(), text));
                } else {
                    out.append(o.synopsis()).append('\n').append(" ".repeat(16)).append(text).append('\n');
                }
            }
            out.append('\n');
        }
        return out.toString();
    }
}
