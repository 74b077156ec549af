package org.jqemu.fpu;

/**
 * The x87 floating-point unit: registers, control/status/tag words, and every D8-DF instruction.
 *
 * <p>CONTRACT (stub written before the FPU; the FPU work keeps these signatures):
 * the CPU decodes an escape opcode D8-DF and its ModR/M byte, computes the effective address for
 * memory forms (mod != 3), and calls {@link #execute}. 0F AE /0 and /1 call {@link #fxsave}/{@link #fxrstor};
 * WAIT/FWAIT calls {@link #waitCheck}.
 */
public final class X87 {
    /**
     * @param opcode    the escape byte, 0xD8..0xDF
     * @param modrm     the ModR/M byte
     * @param ea        effective address for memory forms (ignored when mod == 3)
     * @param opSize32  operand size is 32 bits (FSTENV/FLDENV/FSAVE/FRSTOR layouts)
     * @param realMode  real or virtual-8086 mode (FSTENV/FSAVE layouts)
     */
    public void execute(X87Context cpu, int opcode, int modrm, long ea, boolean opSize32, boolean realMode) {
        throw new UnsupportedOperationException("x87 not implemented yet");
    }

    public void fxsave(X87Context cpu, long ea) { throw new UnsupportedOperationException("x87 not implemented yet"); }

    public void fxrstor(X87Context cpu, long ea) { throw new UnsupportedOperationException("x87 not implemented yet"); }

    /** WAIT/FWAIT: raises the pending unmasked exception through {@link X87Context#raiseMathFault()}, if any. */
    public void waitCheck(X87Context cpu) { }

    /** FNINIT state, also the state at CPU reset (after INIT the FPU keeps its state; after RESET it is this). */
    public void reset() { }

    public int controlWord() { return 0x037f; }

    public int statusWord() { return 0; }

    public int tagWord() { return 0xffff; }
}
