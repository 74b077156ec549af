package org.jqemu.hw.chr;

/**
 * Where a character device's bytes go and come from (stdio, a socket, a file, the monitor mux). The
 * device calls {@link #write} for each byte the guest sends; the backend delivers input by calling the
 * device's {@link CharFrontend#receive} only while {@link CharFrontend#receiveRoom()} is positive, and is
 * told through {@link #frontendReady()} when room appears again (flow control, no byte lost).
 *
 * <p>All calls happen on the machine thread; a backend reading a host stream on another thread hands
 * its bytes over through the machine's event loop.
 */
public interface CharBackend {
    void write(int b);

    /** The frontend has room for input again. */
    default void frontendReady() { }

    /** The guest changed its modem control outputs (a socket backend may ignore them). */
    default void modemControl(boolean dtr, boolean rts) { }

    /** A backend connected to nothing: output is dropped, no input ever comes. */
    static CharBackend none() { return Unconnected.BACKEND; }

    /**
     * Holds {@link #none()}'s backend. As a field of the interface itself it gave the interface a static initializer,
     * and HotSpot's AOT cache keeps no lambda of such an interface's type (as for memory's IrqLine).
     */
    final class Unconnected {
        static final CharBackend BACKEND = b -> { };

        private Unconnected() { }
    }
}
