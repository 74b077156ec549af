package org.jqemu.linuxuser;

import java.io.FileNotFoundException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import org.jqemu.accel.tcg.Tcg;
import org.jqemu.util.FrontEnd;
import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.Opts;

/**
 * jqemu-i386: runs a static i386 Linux program. Options and their environment variables follow
 * qemu-i386 (QEMU 7.2 linux-user): environment first, then the command line, options before the
 * program name, the rest are the program's arguments.
 */
public final class Main {
    static final String PROGRAM = "jqemu-i386";
    private static final long MAX_EXECUTABLE = 1L << 30;
    /**
     * QEMU's -d items, and jqemu's own jit and rate; we act on those -d help describes, accept the others and produce
     * nothing for them.
     */
    static final Set<String> LOG_ITEMS = Set.of("out_asm", "in_asm", "op", "op_opt", "op_ind", "int", "exec", "cpu",
            "fpu", "mmu", "pcall", "cpu_reset", "unimp", "guest_errors", "page", "nochain", "plugin", "strace", "tid", "jit", RateLog.ITEM);

    /** What the command line and QEMU_* variables asked for. */
    static final class Settings {
        String ldPrefix;
        long stackSize = InitialStack.DEFAULT_SIZE;
        final Map<String, String> setEnv = new LinkedHashMap<>();
        final List<String> unsetEnv = new ArrayList<>();
        String argv0;
        Set<String> logItems = Set.of();
        String logFile;
        boolean strace;
        List<String> programArgs = List.of();
        boolean exitNow;
        /** Engine: the translator unless -accel interp or -Djqemu.engine=interp. */
        boolean interpreter = CpuEngine.interpreterSelected();
        boolean oneInsnPerTb;
        int cacheBlocks = CpuEngine.DEFAULT_CACHE_BLOCKS;
    }

    private Main() { }

    public static void main(String[] args) {
        System.exit(run(args, System.getenv(), System.out, System.err));
    }

    /** Everything main does, with the exit status returned instead of exiting (tests call this). */
    static int run(String[] args, Map<String, String> hostEnv, PrintStream out, PrintStream err) {
        try {
            Settings s = parse(args, hostEnv, out);
            if (s.exitNow) {
                return 0;
            }
            return execute(s, hostEnv, err);
        } catch (UserError e) {
            FrontEnd.report(err, PROGRAM, e.getMessage());
            return e.status();
        } catch (GuestProcess.EmulatorBug e) {
            FrontEnd.report(err, PROGRAM, e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            FrontEnd.report(err, PROGRAM, "internal error: " + e);
            return 1;
        }
    }

    static Settings parse(String[] args, Map<String, String> env, PrintStream out) {
        Settings s = new Settings();
        applyEnvironment(s, env);
        int i = 0;
        while (i < args.length && args[i].startsWith("-") && args[i].length() > 1) {
            String option = args[i].startsWith("--") ? args[i].substring(2) : args[i].substring(1);
            i++;
            switch (option) {
                case "h", "help" -> {
                    out.print(usage());
                    s.exitNow = true;
                    return s;
                }
                case "version" -> {
                    out.print(FrontEnd.versionText(PROGRAM));
                    s.exitNow = true;
                    return s;
                }
                case "strace" -> s.strace = true;
                case "singlestep", "one-insn-per-tb" -> s.oneInsnPerTb = true; // QEMU 7.2's name, then 8.1's
                case "L", "s", "E", "U", "0", "d", "D", "cpu", "r", "B", "R", "p", "seed", "g", "trace", "plugin", "dfilter",
                     "accel" -> {
                    if (i >= args.length) {
                        throw new UserError("missing argument for option '" + option + "'");
                    }
                    applyOption(s, option, args[i++], out);
                    if (s.exitNow) {
                        return s;
                    }
                }
                default -> throw new UserError("unknown option '" + option + "'");
            }
        }
        if (i >= args.length) {
            throw new UserError("no user program specified");
        }
        s.programArgs = List.of(args).subList(i, args.length);
        return s;
    }

    private static void applyEnvironment(Settings s, Map<String, String> env) {
        String[][] variables = {{"QEMU_LD_PREFIX", "L"}, {"QEMU_STACK_SIZE", "s"}, {"QEMU_SET_ENV", "E"},
                {"QEMU_UNSET_ENV", "U"}, {"QEMU_ARGV0", "0"}, {"QEMU_LOG", "d"}, {"QEMU_LOG_FILENAME", "D"}};
        for (String[] v : variables) {
            String value = env.get(v[0]);
            if (value != null) {
                applyOption(s, v[1], value, System.out);
            }
        }
        if (env.get("QEMU_STRACE") != null) {
            s.strace = true;
        }
        if (env.get("QEMU_SINGLESTEP") != null) {
            s.oneInsnPerTb = true;
        }
    }

    private static void applyOption(Settings s, String option, String value, PrintStream out) {
        switch (option) {
            case "L" -> s.ldPrefix = value;
            case "s" -> s.stackSize = parseSize(value);
            case "E" -> {
                for (String assignment : value.split(",")) {
                    int eq = assignment.indexOf('=');
                    if (eq <= 0) {
                        throw new UserError("invalid environment assignment '" + assignment + "' (use -E var=value)");
                    }
                    s.setEnv.put(assignment.substring(0, eq), assignment.substring(eq + 1));
                }
            }
            case "U" -> s.unsetEnv.addAll(List.of(value.split(",")));
            case "0" -> s.argv0 = value;
            case "d" -> s.logItems = parseLogItems(value, out, s);
            case "D" -> s.logFile = value;
            case "p" -> {
                if (!value.equals("4096")) {
                    throw new UserError("page size must be 4096 (the i386 page size)");
                }
            }
            case "accel" -> parseAccel(s, value);
            case "g" -> throw new UserError("the gdb stub (-g) is not supported yet");
            case "plugin" -> throw new UserError("TCG plugins are not supported (jqemu has no TCG)");
            default -> { } // -cpu, -r, -B, -R, -seed, -trace, -dfilter: accepted, no effect yet
        }
    }

    /**
     * {@code -accel tcg[,one-insn-per-tb=on|off][,tb-size=MiB]} as QEMU's system emulator spells it, or
     * {@code -accel interp} (jqemu: the interpreter). tb-size bounds the translation cache
     * ({@link Tcg#cacheLimitForTbSize}: about 256 blocks per MiB, as in system mode).
     */
    private static void parseAccel(Settings s, String value) {
        Opts opts = Opts.parse(value, "accel", w -> { });
        String accel = opts.get("accel", "tcg");
        switch (accel) {
            case "tcg" -> s.interpreter = false;
            case "interp" -> s.interpreter = true;
            case "help" -> throw new UserError("accelerators: tcg (default), interp (the interpreter)");
            default -> throw new UserError("invalid accelerator " + accel);
        }
        for (Opts.Entry e : opts.entries()) {
            switch (e.key()) {
                case "accel" -> { }
                case "one-insn-per-tb" -> s.oneInsnPerTb = switch (e.value()) {
                    case "on", "yes", "true" -> true;
                    case "off", "no", "false" -> false;
                    default -> throw new UserError("Parameter 'one-insn-per-tb' expects 'on' or 'off'");
                };
                case "tb-size" -> {
                    long mib;
                    try {
                        mib = Long.parseLong(e.value());
                    } catch (NumberFormatException ex) {
                        mib = -1;
                    }
                    if (mib < 1 || mib > 4096) {
                        throw new UserError("Parameter 'tb-size' expects a size in MiB from 1 to 4096");
                    }
                    s.cacheBlocks = Tcg.cacheLimitForTbSize(mib);
                }
                default -> throw new UserError("Invalid parameter '" + e.key() + "'");
            }
        }
    }

    private static Set<String> parseLogItems(String value, PrintStream out, Settings s) {
        if (value.equals("help")) {
            out.print(logHelp());
            s.exitNow = true;
            return Set.of();
        }
        for (String item : value.split(",")) {
            if (!LOG_ITEMS.contains(item) && !item.startsWith("trace:")) {
                throw new UserError("unknown log item '" + item + "' (see -d help)");
            }
        }
        return Set.of(value.split(","));
    }

    /** A size as QEMU's -s takes it: bytes, or with a k/M/G suffix (binary multiples). */
    static long parseSize(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        long multiplier = 1;
        if (!t.isEmpty() && "kmgb".indexOf(t.charAt(t.length() - 1)) >= 0) {
            multiplier = switch (t.charAt(t.length() - 1)) {
                case 'k' -> 1L << 10;
                case 'm' -> 1L << 20;
                case 'g' -> 1L << 30;
                default -> 1;
            };
            t = t.substring(0, t.length() - 1);
        }
        try {
            long size = Long.parseLong(t) * multiplier;
            if (size <= 0 || size > (1L << 30)) {
                throw new NumberFormatException();
            }
            return size;
        } catch (NumberFormatException e) {
            throw new UserError("invalid stack size '" + text + "' (bytes, or with a k, M or G suffix, at most 1G)");
        }
    }

    private static int execute(Settings s, Map<String, String> hostEnv, PrintStream err) {
        Path executable = Path.of(s.programArgs.getFirst());
        byte[] bytes = readExecutable(executable);
        List<String> argv = new ArrayList<>(s.programArgs);
        if (s.argv0 != null) {
            argv.set(0, s.argv0);
        }
        Map<String, String> env = new LinkedHashMap<>(hostEnv);
        s.unsetEnv.forEach(env::remove);
        env.putAll(s.setEnv);
        List<String> envp = new ArrayList<>();
        env.forEach((k, v) -> envp.add(String.join("=", k, v))); // a concatenation here bootstrapped at every start (~10 classes)
        try (PrintStream log = openLog(s.logFile, err)) {
            GuestProcess.Config config = new GuestProcess.Config(executable, argv, envp, s.stackSize, s.ldPrefix,
                    s.strace || s.logItems.contains("strace"), s.logItems.contains("unimp"), log, err);
            GuestProcess process;
            try {
                process = new GuestProcess(config, bytes, new HostFile(0, false), new HostFile(1, false), new HostFile(2, false));
            } catch (ElfLoader.InvalidElfException | IllegalArgumentException e) {
                throw new UserError(executable + ": " + e.getMessage());
            }
            HostSignals.install(process);
            FsContext.takeOverHostUmask();
            process.useEngine(new CpuEngine.Options(s.interpreter, s.oneInsnPerTb, s.cacheBlocks,
                    Integer.getInteger(CpuEngine.HOT_PROPERTY, CpuEngine.DEFAULT_HOT_THRESHOLD),
                    s.logItems.contains("nochain"), s.logItems, s.logItems.contains("jit"), log));
            try (RateLog rate = s.logItems.contains(RateLog.ITEM) ? RateLog.start(log, process::instructionsRetired) : null) {
                return process.run();
            } finally {
                log.flush();
                process.close();
            }
        }
    }

    private static byte[] readExecutable(Path executable) {
        try {
            if (Files.isDirectory(executable)) {
                throw new UserError("Error while loading " + executable + ": Is a directory");
            }
            if (Files.size(executable) > MAX_EXECUTABLE) {
                throw new UserError("Error while loading " + executable + ": file too large");
            }
            return Files.readAllBytes(executable);
        } catch (NoSuchFileException e) {
            throw new UserError("Error while loading " + executable + ": No such file or directory");
        } catch (AccessDeniedException e) {
            throw new UserError("Error while loading " + executable + ": Permission denied");
        } catch (IOException e) {
            throw new UserError("Error while loading " + executable + ": " + e.getMessage());
        }
    }

    /** -D file, or stderr; the returned stream is closed after the run (stderr is wrapped, not closed). */
    private static PrintStream openLog(String logFile, PrintStream err) {
        if (logFile == null) {
            return new PrintStream(err, true) {
                @Override public void close() { flush(); }
            };
        }
        try {
            return new PrintStream(new FileOutputStream(logFile), true);
        } catch (FileNotFoundException e) {
            throw new UserError("could not open log file '" + logFile + "': " + e.getMessage());
        }
    }

    static String logHelp() {
        return """
                Log items (comma separated):
                unimp           log unimplemented functionality (system calls jqemu does not have)
                strace          log every user-mode syscall, its input, and its result
                in_asm          show the guest instructions of each translated block
                out_asm         show the JVM bytecode generated for each translated block
                exec            show a line before each translated block runs (lots of logs)
                nochain         do not chain translated blocks (each exit looks its successor up)
                jit             print the translator's statistics at exit (blocks translated, invalidations,
                                chain hits, flushes)
                rate            every 50 ms, the milliseconds since the start and the guest instructions
                                the first thread has retired (jqemu only: warm-up and steady speed)
                Accepted for compatibility, no output yet: op op_opt op_ind int cpu fpu
                mmu pcall cpu_reset guest_errors page plugin tid trace:PATTERN
                """;
    }

    static String usage() {
        return """
                usage: jqemu-i386 [options] program [arguments...]
                Linux CPU emulator (compiled for i386 emulation)

                Options and associated environment variables:

                Argument             Env-variable      Description
                -h                                     print this help
                -help
                -L path              QEMU_LD_PREFIX    set the elf interpreter prefix to 'path'
                -s size              QEMU_STACK_SIZE   set the stack size to 'size' bytes
                -cpu model           QEMU_CPU          select CPU (accepted, no effect yet)
                -E var=value         QEMU_SET_ENV      sets targets environment variable (see below)
                -U var               QEMU_UNSET_ENV    unsets targets environment variable (see below)
                -0 argv0             QEMU_ARGV0        forces target process argv[0] to be 'argv0'
                -d item[,...]        QEMU_LOG          enable logging of specified items (use '-d help' for a list of items)
                -D logfile           QEMU_LOG_FILENAME write logs to 'logfile' (default stderr)
                -p pagesize                            set the host page size to 'pagesize' (4096 only)
                -accel tcg[,one-insn-per-tb=on][,tb-size=MiB]  the dynamic translator (default)
                -accel interp                          run the interpreter instead (also -Djqemu.engine=interp)
                -singlestep          QEMU_SINGLESTEP   run in singlestep mode (one instruction per translated block)
                -one-insn-per-tb                       the same (QEMU 8.1's name)
                -strace              QEMU_STRACE       log system calls
                -version                               display version information and exit

                Defaults:
                QEMU_STACK_SIZE = 8388608 byte

                You can use -E and -U options or the QEMU_SET_ENV and
                QEMU_UNSET_ENV environment variables to set and unset
                environment variables for the target process.
                It is possible to provide several variables by separating them
                by commas in getsubopt(3) style. Additionally it is possible to
                provide the -E and -U options multiple times.
                """;
    }
}
