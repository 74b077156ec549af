package org.jqemu.fpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Guest input cannot break the unit: random instructions on random register images (FRSTOR of random
 * bytes, so unsupported encodings, pseudo-denormals and pending exceptions included) never throw and
 * keep the words within their defined bits.
 */
class X87RobustnessTest {
    @Test
    void randomInstructionsOnRandomStatesNeverThrow() {
        Random r = new Random(12345);
        X87BehaviourTest.Ctx ctx = new X87BehaviourTest.Ctx();
        X87 fpu = new X87();
        fpu.execute(ctx, 0xd9, 0xeb, 0, true, false); // FLDPI: computes the constants once, outside the timing
        int executed = 0, undefined = 0;
        long slowest = 0;
        String slowestOp = "";
        for (int i = 0; i < 20000; i++) {
            if (i % 50 == 0) {
                byte[] image = new byte[108];
                r.nextBytes(image);
                System.arraycopy(image, 0, ctx.ram, 0x800, image.length);
                fpu.execute(ctx, 0xdd, 0x20, 0x800, true, false); // FRSTOR
            }
            byte[] mem = new byte[112];
            r.nextBytes(mem);
            System.arraycopy(mem, 0, ctx.ram, 0x100, mem.length);
            ctx.eflags = r.nextInt();
            int opcode = 0xd8 + r.nextInt(8), modrm = r.nextInt(256);
            long t0 = System.nanoTime();
            if (fpu.execute(ctx, opcode, modrm, 0x100, r.nextBoolean(), r.nextInt(4) == 0)) executed++;
            else undefined++;
            long dt = System.nanoTime() - t0;
            if (dt > slowest) {
                slowest = dt;
                slowestOp = String.format("%02x %02x ST0=%s ST1=%s", opcode, modrm, fpu.st(0), fpu.st(1));
            }
            assertEquals(0, fpu.controlWord() & ~0x1f7f, "control word reserved bits");
            assertTrue(fpu.statusWord() >= 0 && fpu.statusWord() <= 0xffff);
        }
        fpu.fxsave(ctx, 0x400);
        fpu.fxrstor(ctx, 0x400);
        System.out.println("robustness: " + executed + " executed, " + undefined + " undefined, " + ctx.faults
                + " math faults; slowest " + slowest / 1000 + " us: " + slowestOp);
        assertTrue(executed > 15000 && undefined > 0 && ctx.faults > 0);
    }
}
