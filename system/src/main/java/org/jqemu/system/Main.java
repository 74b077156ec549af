package org.jqemu.system;

import java.io.PrintStream;
import java.util.List;

import org.jqemu.hw.DeviceRegistry;
import org.jqemu.util.FrontEnd;
import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.HelpRequested;
import org.jqemu.util.opts.Opts;

/**
 * jqemu-system-i386: reads QEMU's command line into a {@link MachineConfig}, then {@link #start starts}
 * the machine. Errors read like QEMU 7.2's ("jqemu-system-i386: -m foo: Parameter 'size' expects ...")
 * and end the program with status 1 before anything starts.
 */
public final class Main {
    public static final String PROGRAM = "jqemu-system-i386";

    private Main() { }

    public static void main(String[] args) {
        int status = run(args, System.out, System.err);
        System.out.flush();
        System.exit(status);
    }

    /** Runs the front end; returns the exit status. */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, config -> start(config, err));
    }

    /** As {@link #run(String[], PrintStream, PrintStream)}, with the machine start given (tests check options without booting). */
    static int run(String[] args, PrintStream out, PrintStream err, java.util.function.ToIntFunction<MachineConfig> start) {
        try {
            return start.applyAsInt(parse(args, err));
        } catch (HelpRequested help) {
            out.print(help.text());
            return help.status();
        } catch (LocatedError e) {
            for (String message : e.messages()) FrontEnd.report(err, PROGRAM, e.location() + ": " + message);
            return 1;
        } catch (UserError e) {
            FrontEnd.report(err, PROGRAM, e.getMessage());
            return e.status();
        }
    }

    /** Reads the options in order (syntax errors stop at the option), then checks them all. */
    static MachineConfig parse(String[] args, PrintStream err) {
        CommandLine.Reporter reporter = new CommandLine.Reporter() {
            @Override public void warn(String location, String message) {
                FrontEnd.report(err, PROGRAM, location == null ? message : location + ": " + message);
            }

            @Override public void raw(String text) { err.println(text); }
        };
        CommandLine line = new CommandLine(reporter, DeviceRegistry.STANDARD);
        for (int i = 0; i < args.length; i++) {
            String written = args[i];
            if (!written.startsWith("-")) {
                // A bare name is the image of IDE hard disk 0, as in QEMU.
                line.at(written);
                line.shortDrive(written, written, null, 0, "disk");
                continue;
            }
            String name = written.startsWith("--") ? written.substring(2) : written.substring(1);
            Options.Option option = Options.find(name);
            if (option == null) throw new LocatedError(written, List.of("invalid option"));
            String arg = null;
            String location = written;
            if (option.hasArg()) {
                if (i + 1 >= args.length) throw new LocatedError(written, List.of("requires an argument"));
                arg = args[++i];
                location = written + " " + arg;
            }
            line.at(location);
            try {
                Opts opts = option.grammar() == null ? null : option.grammar().parse(arg, line.warnings());
                option.handler().handle(line, new Options.Argument(arg, opts, location));
            } catch (UserError e) {
                throw new LocatedError(location, List.of(e.getMessage()));
            }
        }
        line.at(null);
        return line.build();
    }

    /** Starts the configured machine and runs it until it powers off or is quit; returns the exit status. */
    static int start(MachineConfig config, PrintStream err) {
        return PcSystem.run(config, System.in, new java.io.FileOutputStream(java.io.FileDescriptor.out), err);
    }

    static String versionText() { return FrontEnd.versionText(PROGRAM); }

    /** The text of -h. */
    static String usage() {
        return versionText() + "usage: " + PROGRAM + " [options] [disk_image]\n\n"
                + "'disk_image' is a raw hard disk image for IDE hard disk 0\n\n" + Options.help();
    }
}
