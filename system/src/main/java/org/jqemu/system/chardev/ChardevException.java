package org.jqemu.system.chardev;

/** A chardev could not be created; the message is QEMU's. */
public final class ChardevException extends Exception {
    public ChardevException(String message) { super(message, null, false, false); }
}
