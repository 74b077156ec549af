package org.jqemu.block.img;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import org.jqemu.block.BlockException;
import org.jqemu.util.FrontEnd;

/** jqemu-img: qemu-img's command line (syntax, output text and exit codes of QEMU 7.2). */
public final class Main {
    static final String PROGRAM = "jqemu-img";

    /** A subcommand: returns the exit status. */
    @FunctionalInterface
    interface Command {
        int run(List<String> args, Env env) throws UsageError, BlockException;
    }

    private static final String[][] COMMANDS = {
        {"create", "create [--object objectdef] [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] [-o options] filename [size]"},
        {"info", "info [--object objectdef] [--image-opts] [-f fmt] [--output=ofmt] [--backing-chain] [-U] filename"},
        {"check", "check [--object objectdef] [--image-opts] [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] [-T src_cache] [-U] filename"},
        {"convert", "convert [--object objectdef] [--image-opts] [--target-image-opts] [--target-is-zero] [--bitmaps] [-U] [-C] [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] [-O output_fmt] [-B backing_file [-F backing_fmt]] [-o options] [-l snapshot_param] [-S sparse_size] [-r rate_limit] [-m num_coroutines] [-W] [--salvage] filename [filename2 [...]] output_filename"},
        {"map", "map [--object objectdef] [--image-opts] [-f fmt] [--start-offset=offset] [--max-length=len] [--output=ofmt] [-U] filename"},
        {"compare", "compare [--object objectdef] [--image-opts] [-f fmt] [-F fmt] [-T src_cache] [-p] [-q] [-s] [-U] filename1 filename2"},
        {"resize", "resize [--object objectdef] [--image-opts] [-f fmt] [--preallocation=prealloc] [-q] [--shrink] filename [+ | -]size"},
        {"measure", "measure [--output=ofmt] [-O output_fmt] [-o options] [--size N | [--object objectdef] [--image-opts] [-f fmt] [-l snapshot_param] filename]"},
        {"commit", "commit [--object objectdef] [--image-opts] [-q] [-f fmt] [-t cache] [-b base] [-r rate_limit] [-d] [-p] filename"},
        {"rebase", "rebase [--object objectdef] [--image-opts] [-U] [-q] [-f fmt] [-t cache] [-T src_cache] [-p] [-u] -b backing_file [-F backing_fmt] filename"},
        {"amend", "amend [--object objectdef] [--image-opts] [-p] [-q] [-f fmt] [-t cache] [--force] -o options filename"},
        {"dd", "dd [--image-opts] [-U] [-f fmt] [-O output_fmt] [bs=block_size] [count=blocks] [skip=blocks] if=input of=output"},
        {"snapshot", "snapshot [--object objectdef] [--image-opts] [-U] [-q] [-l | -a snapshot | -c snapshot | -d snapshot] filename"},
        {"bench", "bench [-c count] [-d depth] [-f fmt] [--flush-interval=flush_interval] [-i aio] [-n] [--no-drain] [-o offset] [--pattern=pattern] [-q] [-s buffer_size] [-S step_size] [-t cache] [-w] [-U] filename"},
    };

    private Main() { }

    public static void main(String[] args) {
        org.jqemu.block.HostFile.useRecordLocks(true); // one process, each image opened once
        if (args.length > 0 && opensImages(args[0])) {
            org.jqemu.block.HostFile.prefetchRecordLocks(); // for the images this command opens
        }
        System.out.flush();
        int status = run(Arrays.asList(args), new Env(System.out, System.err));
        exit(status);
    }

    /**
     * Ends the process. System.exit first looks up a System.Logger to log the call (JDK 21+, logger
     * "java.lang.Runtime"), which bootstraps the logging back end: a service lookup that opens and inflates
     * every jar of the class path, and java.util.logging's set-up, some 15-25 ms of a 100 ms command
     * (block/README.md, session 11). jqemu-img registers no shutdown hook and has closed every image by now,
     * so it halts the JVM once both streams are flushed, unless a JFR recording was asked for on the command
     * line (JFR writes it from a shutdown hook).
     */
    static void exit(int status) {
        System.out.flush();
        System.err.flush();
        if (ShutdownHooks.wanted()) {
            System.exit(status);
        }
        Runtime.getRuntime().halt(status);
    }

    /** Whether the JVM was started with options whose work is done by shutdown hooks (a flight recording). */
    static final class ShutdownHooks {
        private ShutdownHooks() { }

        static boolean wanted() {
            // The JVM's own arguments, where visible (jdk.internal.misc is exported to us by bin/jqemu-launch and
            // bench/block-convert.sh); elsewhere (tests, a bare java command) hooks run as usual.
            if (!Object.class.getModule().isExported("jdk.internal.misc", Main.class.getModule())) {
                return true;
            }
            return wanted(jdk.internal.misc.VM.getRuntimeArguments());
        }

        static boolean wanted(String[] jvmArguments) {
            for (String a : jvmArguments) {
                if (a.startsWith("-XX:StartFlightRecording") || a.startsWith("-XX:+FlightRecorder")) {
                    return true;
                }
            }
            return false;
        }
    }

    /**
     * Whether the command opens (and locks) images: only those read the lock table ahead. Another (--version,
     * create) would wait for that read at its exit, which cannot end a thread in the middle of it.
     */
    static boolean opensImages(String name) {
        return command(name) != null && !name.equals("create");
    }

    static Command command(String name) {
        return switch (name) {
            case "create" -> CreateCommand::run;
            case "info" -> InfoCommand::run;
            case "check" -> CheckCommand::run;
            case "convert" -> ConvertCommand::run;
            case "map" -> MapCommand::run;
            case "compare" -> CompareCommand::run;
            case "resize" -> ResizeCommand::run;
            case "measure" -> MeasureCommand::run;
            case "commit" -> CommitCommand::run;
            case "rebase" -> RebaseCommand::run;
            case "amend" -> AmendCommand::run;
            case "dd" -> DdCommand::run;
            case "bench" -> BenchCommand::run;
            case "snapshot" -> SnapshotCommand::run;
            default -> null;
        };
    }

    /** Runs one jqemu-img invocation and returns its exit status; never throws. */
    public static int run(List<String> args, Env env) {
        try {
            if (args.isEmpty()) {
                throw UsageError.withHint("Not enough arguments");
            }
            String first = args.get(0);
            switch (first) {
                case "-h", "--help" -> {
                    env.out.print(help());
                    return 0;
                }
                case "-V", "--version" -> {
                    env.out.print(FrontEnd.versionText(PROGRAM));
                    return 0;
                }
                default -> { }
            }
            if (first.startsWith("-")) {
                throw UsageError.withHint("unrecognized option '" + first + "'");
            }
            Command c = command(first);
            if (c == null) {
                throw UsageError.withHint("Command not found: " + first);
            }
            List<String> rest = args.subList(1, args.size());
            if (rest.contains("-h") || rest.contains("--help")) {
                env.out.print(help());
                return 0;
            }
            return c.run(rest, env);
        } catch (UsageError e) {
            env.error(e.getMessage());
            if (e.hint) {
                env.err.println("Try '" + PROGRAM + " --help' for more information");
            }
            return e.status;
        } catch (BlockException e) {
            env.error(e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            env.error("internal error: " + e);
            return 1;
        }
    }

    static String help() {
        StringBuilder sb = new StringBuilder();
        sb.append(FrontEnd.versionText(PROGRAM));
        sb.append("usage: ").append(PROGRAM).append(" [standard options] command [command options]\n");
        sb.append("QEMU disk image utility\n\n");
        sb.append("    '-h', '--help'       display this help and exit\n");
        sb.append("    '-V', '--version'    output version information and exit\n\n");
        sb.append("Command syntax:\n");
        for (String[] c : COMMANDS) {
            sb.append("  ").append(c[1]).append('\n');
        }
        sb.append("\nSupported formats: qcow2 raw\n");
        return sb.toString();
    }

    /** Output streams and QEMU-style reporting. */
    public static final class Env {
        final PrintStream out;
        final PrintStream err;

        public Env(PrintStream out, PrintStream err) {
            this.out = out;
            this.err = err;
        }

        /** QEMU's warning when an image opened for writing was probed as raw. */
        void warnIfProbedRaw(String filename, String format, org.jqemu.block.BlockDevice d) {
            if (format == null && d.format().equals("raw") && !d.readOnly()) {
                err.println("WARNING: Image format was not specified for '" + filename
                        + "' and probing guessed raw.\n"
                        + "         Automatically detecting the format is dangerous for raw images, write operations "
                        + "on block 0 will be restricted.\n"
                        + "         Specify the 'raw' format explicitly to remove the restrictions.");
            }
        }

        /** Reports an error; only the first line carries the program prefix, as error_report does. */
        void error(String message) {
            FrontEnd.report(err, PROGRAM, message);
        }
    }
}
