package org.jqemu.block;

import java.io.IOException;

/**
 * A block-layer failure: the message is meant for the user as-is (QEMU style, no trailing period),
 * e.g. "Could not open 'x': No such file or directory" or "qcow2: Image is corrupt: ...".
 */
public class BlockException extends IOException {
    public BlockException(String message) {
        super(message);
    }

    public BlockException(String message, Throwable cause) {
        super(message, cause);
    }

    /** The image is damaged or malformed (qemu-img check maps this to "corruption"). */
    public static final class Corrupt extends BlockException {
        public Corrupt(String message) {
            super(message);
        }
    }
}
