package org.jqemu.hw.chr;

/** The device side of a character connection: what a {@link CharBackend} feeds input into. */
public interface CharFrontend {
    /** How many bytes {@link #receive} accepts now without losing any. */
    int receiveRoom();

    void receive(int b);

    /** A break condition on the line (the serial console's SysRq, for instance). */
    default void receiveBreak() { }

    /** The modem status inputs as the far end drives them. */
    default void setModemInputs(boolean cts, boolean dsr, boolean ri, boolean dcd) { }

    /** A multiplexed line (QEMU's mux, Ctrl-A c) gave this frontend the input focus, or took it away. */
    default void focusChanged(boolean focused) { }
}
