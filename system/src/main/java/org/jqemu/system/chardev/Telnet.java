package org.jqemu.system.chardev;

/**
 * The little telnet (RFC 854) a telnet=on chardev server speaks: on connection it offers character mode
 * (the server echoes, RFC 857; no go-ahead, RFC 858; binary both ways, RFC 856), as qemu-system-i386 7.2
 * does; on input it removes command sequences, turns IAC IAC into one 0xff byte and IAC BREAK into a
 * break on the line; on output a data byte 0xff goes out as IAC IAC ({@link #ESCAPED_IAC}).
 */
final class Telnet {
    static final int IAC = 0xff;
    static final int DONT = 0xfe, DO = 0xfd, WONT = 0xfc, WILL = 0xfb, SB = 0xfa, SE = 0xf0, BREAK = 0xf3;
    static final int OPT_BINARY = 0, OPT_ECHO = 1, OPT_SGA = 3;

    /** IAC WILL ECHO, IAC WILL SUPPRESS-GO-AHEAD, IAC WILL BINARY, IAC DO BINARY. */
    static final byte[] SERVER_NEGOTIATION = {
        (byte) IAC, (byte) WILL, OPT_ECHO, (byte) IAC, (byte) WILL, OPT_SGA,
        (byte) IAC, (byte) WILL, OPT_BINARY, (byte) IAC, (byte) DO, OPT_BINARY,
    };

    /** A data byte 255 on the wire: IAC IAC. */
    static final byte[] ESCAPED_IAC = {(byte) IAC, (byte) IAC};

    private Telnet() { }

    /** Input side: strips commands; state survives between reads (a command may span two). */
    static final class Decoder {
        private enum State { DATA, COMMAND, OPTION, SUBNEGOTIATION, SUBNEGOTIATION_IAC }

        private State state = State.DATA;

        void reset() { state = State.DATA; }

        /** Decodes {@code length} bytes of {@code in} into {@code out}; returns how many data bytes were kept. */
        int decode(byte[] in, int length, byte[] out, Runnable onBreak) {
            int kept = 0;
            for (int i = 0; i < length; i++) {
                int b = in[i] & 0xff;
                switch (state) {
                    case DATA -> {
                        if (b == IAC) state = State.COMMAND;
                        else out[kept++] = (byte) b;
                    }
                    case COMMAND -> {
                        state = State.DATA;
                        if (b == IAC) out[kept++] = (byte) IAC;
                        else if (b == BREAK) onBreak.run();
                        else if (b >= WILL && b <= DONT) state = State.OPTION;
                        else if (b == SB) state = State.SUBNEGOTIATION;
                    }
                    case OPTION -> state = State.DATA;
                    case SUBNEGOTIATION -> {
                        if (b == IAC) state = State.SUBNEGOTIATION_IAC;
                    }
                    case SUBNEGOTIATION_IAC -> state = b == SE ? State.DATA : State.SUBNEGOTIATION;
                }
            }
            return kept;
        }
    }
}
