package org.jqemu.hw;

import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.OptsList;

/** Types of device properties, with the names "-device NAME,help" shows and QEMU's messages for bad values. */
public enum PropertyType {
    UINT32("uint32") {
        @Override Object parse(String property, String text) {
            Long value = OptsList.parseInteger(text);
            if (value == null) throw new UserError("Parameter '" + property + "' expects integer");
            if (value < 0 || value > 0xffff_ffffL) throw new UserError("Parameter '" + property + "' expects uint32_t");
            return value;
        }
    },
    BOOL("bool") {
        @Override Object parse(String property, String text) {
            Boolean value = OptsList.parseBool(text);
            if (value == null) throw new UserError("Parameter '" + property + "' expects 'on' or 'off'");
            return value;
        }
    },
    STRING("str") {
        @Override Object parse(String property, String text) { return text; }
    },
    /** The id of a -chardev. */
    CHARDEV("str") {
        @Override Object parse(String property, String text) { return text; }
    };

    private final String helpName;

    PropertyType(String helpName) { this.helpName = helpName; }

    public String helpName() { return helpName; }

    /** The value of {@code text}, or a {@link UserError} with QEMU's message. */
    abstract Object parse(String property, String text);
}
