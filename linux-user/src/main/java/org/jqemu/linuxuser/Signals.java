package org.jqemu.linuxuser;

/** i386 Linux signal numbers, which CPU exception raises which signal, and default actions. */
public final class Signals {
    public static final int SIGHUP = 1, SIGINT = 2, SIGQUIT = 3, SIGILL = 4, SIGTRAP = 5, SIGABRT = 6, SIGBUS = 7,
            SIGFPE = 8, SIGKILL = 9, SIGUSR1 = 10, SIGSEGV = 11, SIGUSR2 = 12, SIGPIPE = 13, SIGALRM = 14,
            SIGTERM = 15, SIGCHLD = 17, SIGCONT = 18, SIGSTOP = 19, SIGTSTP = 20, SIGTTIN = 21, SIGTTOU = 22,
            SIGURG = 23, SIGWINCH = 28;
    public static final int MAX = 64;

    private Signals() { }

    private static final int SI_KERNEL = 0x80, TRAP_TRACE = 2, FPE_INTDIV = 1, ILL_ILLOPN = 2, SEGV_MAPERR = 1, SEGV_ACCERR = 2,
            BUS_ADRALN = 1, GP = 13;
    /** The page fault vector (#PF). */
    static final int PF = 14;

    /**
     * What Linux tells the guest about CPU exception {@code vector}: the signal, si_code, si_addr, and the
     * sigcontext's trapno and err (arch/x86/kernel/traps.c, fault.c).
     */
    static SignalDelivery.Info exceptionInfo(int vector, int error, long faultAddress, long eip) {
        int signal = forException(vector);
        return switch (vector) {
            case 0 -> new SignalDelivery.Info(signal, FPE_INTDIV, eip, vector, 0);
            case 1 -> new SignalDelivery.Info(signal, TRAP_TRACE, eip, vector, 0); // single step (DR6.BS): send_sigtrap
            case 6 -> new SignalDelivery.Info(signal, ILL_ILLOPN, eip, vector, 0);
            case PF -> new SignalDelivery.Info(signal, (error & 1) != 0 ? SEGV_ACCERR : SEGV_MAPERR, faultAddress, vector, error);
            case 17 -> new SignalDelivery.Info(signal, BUS_ADRALN, 0, vector, error); // do_trap passes no address
            default -> new SignalDelivery.Info(signal, SI_KERNEL, 0, vector, error);
        };
    }

    /** INT n other than INT3/INTO/0x80 hits a kernel-only gate: #GP with the IDT entry as error code. */
    static SignalDelivery.Info softwareInterruptInfo(int vector) {
        if (vector == 3 || vector == 4) {
            return new SignalDelivery.Info(forSoftwareInterrupt(vector), SI_KERNEL, 0, vector, 0);
        }
        return new SignalDelivery.Info(SIGSEGV, SI_KERNEL, 0, GP, (vector << 3) | 2);
    }

    /** HLT (or any privileged instruction) at CPL 3: #GP(0). */
    static SignalDelivery.Info privilegedInfo() {
        return new SignalDelivery.Info(SIGSEGV, SI_KERNEL, 0, GP, 0);
    }

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

    /** Whether the default action ignores the signal (instead of terminating or stopping the process). */
    public static boolean ignoredByDefault(int signal) {
        return signal == SIGCHLD || signal == SIGCONT || signal == SIGURG || signal == SIGWINCH;
    }

    /** SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU: the default action stops the process until SIGCONT. */
    public static boolean stopsByDefault(int signal) {
        return signal >= SIGSTOP && signal <= SIGTTOU;
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
