package org.jqemu.linuxuser;

/** i386 Linux signal numbers, which CPU exception raises which signal, and default actions. */
public final class Signals {
    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
            SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
            SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGURG = 23, SIGWINCH = 28;
    public static final int MAX = 64;

    private Signals() { }

    /** The signal Linux sends for CPU exception {@code vector} raised in user mode (arch/x86/kernel/traps.c). */
    public static int forException(int vector) {
        return switch (vector) {
            case 0, 16, 19 -> SIGFPE;  // #DE, #MF, #XM
            case 1, 3 -> SIGTRAP;      // #DB, #BP
            case 6 -> SIGILL;          // #UD
            case 11, 12, 17 -> SIGBUS; // #NP, #SS, #AC
            default -> SIGSEGV;        // #OF, #BR, #TS, #GP, #PF, and anything else
        };
    }

    /** The signal for {@code INT n} in user mode: INT3 and INT 3 trap; other gates are kernel-only (#GP). */
    public static int forSoftwareInterrupt(int vector) {
        return vector == 3 ? SIGTRAP : SIGSEGV;
    }

    /** Whether the default action ignores the signal (instead of terminating the process). */
    public static boolean ignoredByDefault(int signal) {
        return signal == SIGCHLD || signal == SIGCONT || signal == SIGURG || signal == SIGWINCH;
    }

    /** Whether the default action dumps core, which QEMU reports as "core dumped". */
    public static boolean dumpsCore(int signal) {
        return signal == SIGQUIT || signal == SIGILL || signal == SIGTRAP || signal == SIGABRT || signal == SIGBUS
                || signal == SIGFPE || signal == SIGSEGV;
    }

    /** strsignal(3) text for the signals a guest can die of. */
    public static String describe(int signal) {
        return switch (signal) {
            case SIGHUP -> "Hangup";
            case SIGINT -> "Interrupt";
            case SIGQUIT -> "Quit";
            case SIGILL -> "Illegal instruction";
            case SIGTRAP -> "Trace/breakpoint trap";
            case SIGABRT -> "Aborted";
            case SIGBUS -> "Bus error";
            case SIGFPE -> "Floating point exception";
            case SIGKILL -> "Killed";
            case SIGUSR1 -> "User defined signal 1";
            case SIGSEGV -> "Segmentation fault";
            case SIGUSR2 -> "User defined signal 2";
            case SIGPIPE -> "Broken pipe";
            case SIGALRM -> "Alarm clock";
            case SIGTERM -> "Terminated";
            default -> "Real-time signal " + signal;
        };
    }

    /**
     * QEMU's line for a guest killed by a signal it did not handle, or null: QEMU prints it only for
     * signals whose default action dumps core (the others end it silently, the shell says why).
     */
    public static String uncaughtMessage(int signal) {
        return dumpsCore(signal) ? "jqemu: uncaught target signal " + signal + " (" + describe(signal) + ") - core dumped" : null;
    }
}
