package org.jqemu.target.i386.oracle;

import java.util.List;

/**
 * One generated test: the instruction(s) under test as NASM lines (assembled in BITS 32 for both
 * runners), the registers and EFLAGS loaded before, and the 64-byte scratch area's initial contents.
 *
 * @param form      what masks.tsv matches, e.g. "shl r/m8,cl [n>1]": mnemonic, operand shape, count class
 * @param neutral   the bytes mean the same in 64-bit mode, so the host CPU (x86_64) can run them natively;
 *                  false for i386-only encodings (BCD, PUSHA, 32-bit PUSH/POP, INC r32 short forms...)
 * @param x87       the case uses the FPU: its state is saved with FNSAVE and compared
 * @param fault     the case is expected to raise an exception: it goes last in its program, which then
 *                  dies of the signal; only the signal is compared
 * @param dest      record byte ranges (offset, length pairs) holding the destination, for "DEST" masks
 */
public record OracleCase(String form, List<String> body, int[] regs, int eflags, byte[] scratch,
                         boolean neutral, boolean x87, boolean fault, int[] dest) {
    public OracleCase {
        body = List.copyOf(body);
    }

    /** A short description of the inputs, for failure reports. */
    public String inputs() {
        StringBuilder s = new StringBuilder();
        for (int r = 0; r < 8; r++) {
            s.append(Record.REG_NAMES[r]).append('=').append(String.format("%08x ", regs[r]));
        }
        s.append(String.format("eflags=%08x scratch=", eflags));
        for (byte b : scratch) {
            s.append(String.format("%02x", b));
        }
        return s.toString();
    }
}
