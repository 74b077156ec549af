package org.jqemu.linuxuser;

import java.lang.foreign.MemorySegment;

/**
 * Signals the host sends to jqemu-i386, passed on to the guest as the terminal driver and kill(1) would
 * deliver them: SIGINT (Ctrl-C) to every guest process of the foreground process group (the guest's
 * tcsetpgrp choice, else the first process's group), SIGTERM and SIGHUP to the first process.
 * Uses sun.misc.Signal (module jdk.unsupported), the JDK's only public hook for host signals. A signal that
 * jqemu-i386's parent left ignored (a background job of a shell without job control ignores SIGINT) is reset to
 * its default first, as qemu-i386 does: the JVM installs no handler for a signal ignored when it registers one, and
 * Ctrl-C was lost.
 */
final class HostSignals {
    private static volatile GuestProcess first;
    private static boolean installed;

    private HostSignals() { }

    static synchronized void install(GuestProcess process) {
        first = process;
        if (installed) {
            return;
        }
        installed = true;
        handle("INT", Signals.SIGINT, true);
        handle("TERM", Signals.SIGTERM, false);
        handle("HUP", Signals.SIGHUP, false);
    }

    private static void handle(String name, int guestSignal, boolean foregroundGroup) {
        sun.misc.Signal signal = new sun.misc.Signal(name);
        sun.misc.SignalHandler handler = s -> forward(guestSignal, foregroundGroup);
        try {
            if (sun.misc.Signal.handle(signal, handler) == sun.misc.SignalHandler.SIG_IGN
                    && HostOs.call(HostOs.SIGNAL, signal.getNumber(), MemorySegment.NULL) >= 0) {
                sun.misc.Signal.handle(signal, handler); // ignored by the parent: the JVM installed nothing
            }
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            // the JVM reserves this signal (or runs with -Xrs): the host's default action stays
        }
    }

    private static void forward(int signal, boolean foregroundGroup) {
        GuestProcess p = first;
        if (p == null) {
            return;
        }
        SignalDelivery.Info info = new SignalDelivery.Info(signal, 0x80 /* SI_KERNEL */, 0, 0, 0);
        if (!foregroundGroup) {
            p.sendSignal(info);
            return;
        }
        int group = p.kernel.foregroundPgid;
        boolean any = false;
        for (GuestProcess q : p.kernel.processes()) {
            if (q.pgid == group && !q.isZombie()) {
                q.sendSignal(info);
                any = true;
            }
        }
        if (!any) {
            p.sendSignal(info);
        }
    }
}
