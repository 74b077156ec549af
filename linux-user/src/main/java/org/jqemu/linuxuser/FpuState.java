package org.jqemu.linuxuser;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

import org.jqemu.fpu.X87;
import org.jqemu.fpu.X87Context;

/**
 * Copies a thread's x87 state (registers, control, status and tag words, last instruction and operand) to a
 * new thread, as fork and clone do: through the FXSAVE image, written to and read from a host buffer.
 */
final class FpuState implements X87Context {
    private static final int FXSAVE_SIZE = 512;
    private final ByteBuffer image = ByteBuffer.allocate(FXSAVE_SIZE).order(ByteOrder.LITTLE_ENDIAN);

    private FpuState() { }

    static void copy(X87 from, X87 to) {
        FpuState buffer = new FpuState();
        from.fxsave(buffer, 0);
        to.fxrstor(buffer, 0);
    }

    @Override
    public long read(long ea, int size) {
        int at = (int) ea;
        return switch (size) {
            case 1 -> image.get(at) & 0xffL;
            case 2 -> image.getShort(at) & 0xffffL;
            case 4 -> image.getInt(at) & 0xffff_ffffL;
            default -> image.getLong(at);
        };
    }

    @Override
    public void write(long ea, int size, long value) {
        int at = (int) ea;
        switch (size) {
            case 1 -> image.put(at, (byte) value);
            case 2 -> image.putShort(at, (short) value);
            case 4 -> image.putInt(at, (int) value);
            default -> image.putLong(at, value);
        }
    }

    // FXSAVE and FXRSTOR touch only memory; the CPU-side hooks are never called by them.

    @Override
    public int eflags() { return 0; }

    @Override
    public void setCompareFlags(boolean zf, boolean pf, boolean cf) { }

    @Override
    public void setAx(int value) { }

    @Override
    public long instructionPointer() { return 0; }

    @Override
    public int codeSelector() { return 0; }

    @Override
    public int dataSelector() { return 0; }

    @Override
    public void raiseMathFault() { }
}
