package org.jqemu.system;

import java.util.List;

/**
 * An error tied to the command-line option that caused it. QEMU prints each message as
 * "program: -option argument: message"; some errors are two such reports (e.g. a bad -serial).
 */
final class LocatedError extends RuntimeException {
    private final String location;
    private final List<String> messages;

    LocatedError(String location, List<String> messages) {
        super(location + ": " + messages, null, false, false);
        this.location = location;
        this.messages = List.copyOf(messages);
    }

    String location() { return location; }

    List<String> messages() { return messages; }
}
