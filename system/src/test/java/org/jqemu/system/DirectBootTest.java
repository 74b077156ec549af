package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The 32-bit boot protocol end to end on the real CPU: a hand-made bzImage whose protected-mode code checks
 * what Documentation/arch/x86/boot.rst promises at code32_start (CS 0x10, DS/ES/SS 0x18, CR0.PE set,
 * paging and interrupts off, ESI = zero page with type_of_loader and the command line pointer, EBP = EDI =
 * EBX = 0) and reports through isa-debug-exit; plus the serial console and ACPI power-off path.
 */
class DirectBootTest {
    private static final int PASS = 0x21;   // exit status (0x21 << 1) | 1 = 67
    private static final int FAIL = 0x10;   // exit status 33

    @TempDir
    Path dir;

    /** A tiny x86 assembler for the handful of instructions the checks need. */
    private static final class Code {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Code bytes(int... b) {
            for (int x : b) out.write(x);
            return this;
        }

        Code imm32(long v) {
            for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)));
            return this;
        }

        int checks;

        /**
         * Fails (exit through isa-debug-exit with FAIL + the check's number) when the condition of Jcc
         * {@code opcode} (0x85 jne, 0x84 jz) holds: the inverse short jump skips the 5-byte fail stub.
         */
        Code jccFail(int opcode) {
            int skip = opcode == 0x85 ? 0x74 : 0x75;
            return bytes(skip, 5, 0xb0, FAIL + ++checks, 0xe6, 0xf4, 0xf4);
        }

        Code jneFail() { return jccFail(0x85); }
    }

    private static byte[] checkingKernel() {
        Code c = new Code();
        c.bytes(0x81, 0xfe).imm32(0x10000).jneFail();           // cmp esi, 0x10000
        c.bytes(0x85, 0xed).jneFail();                          // test ebp, ebp
        c.bytes(0x85, 0xff).jneFail();                          // test edi, edi
        c.bytes(0x85, 0xdb).jneFail();                          // test ebx, ebx
        c.bytes(0x8c, 0xc8, 0x66, 0x3d, 0x10, 0x00).jneFail();  // mov ax, cs; cmp ax, 0x10
        for (int modrm : new int[] {0xd8, 0xc0, 0xd0}) {        // ds, es, ss
            c.bytes(0x8c, modrm, 0x66, 0x3d, 0x18, 0x00).jneFail();
        }
        c.bytes(0x0f, 0x20, 0xc0, 0xa8, 0x01).jccFail(0x84);    // mov eax, cr0; test al, 1; jz fail
        c.bytes(0xa9).imm32(0x8000_0000L).jneFail();            // test eax, PG
        c.bytes(0xbc).imm32(0x8000);                           // mov esp, 0x8000 (the protocol gives no stack)
        c.bytes(0x9c, 0x58, 0xf6, 0xc4, 0x02).jneFail();        // pushf; pop eax; test ah, IF>>8
        c.bytes(0x80, 0xbe).imm32(0x210).bytes(0xff).jneFail(); // cmp byte [esi+0x210], 0xff
        c.bytes(0x8b, 0x86).imm32(0x228);                       // mov eax, [esi+0x228]
        c.bytes(0x80, 0x38, 'h').jneFail();                     // cmp byte [eax], 'h'
        c.bytes(0x80, 0x78, 0x01, 'i').jneFail();               // cmp byte [eax+1], 'i'
        c.bytes(0x80, 0xbe).imm32(0x1e8).bytes(0x00).jccFail(0x84); // e820_entries != 0
        c.bytes(0xb0, PASS, 0xe6, 0xf4, 0xf4);                  // mov al, PASS; out 0xf4, al; hlt
        return c.out.toByteArray();
    }

    /** A bzImage around {@code code} with a protocol 2.15 header (fields per boot.rst). */
    static byte[] bzImage(byte[] code) {
        int payload = (code.length + 15) & ~15;
        ByteBuffer b = ByteBuffer.allocate(1024 + payload).order(ByteOrder.LITTLE_ENDIAN);
        b.put(0x1f1, (byte) 1);                 // setup_sects
        b.putInt(0x1f4, payload / 16);          // syssize
        b.putShort(0x1fe, (short) 0xaa55);
        b.put(0x200, (byte) 0xeb).put(0x201, (byte) 0x66);
        b.putInt(0x202, 0x53726448);            // "HdrS"
        b.putShort(0x206, (short) 0x20f);
        b.put(0x211, (byte) 0x01);              // LOADED_HIGH
        b.putInt(0x214, 0x100000);
        b.putInt(0x22c, 0x7fffffff);
        b.putInt(0x230, 0x200000);
        b.putInt(0x238, 0x7ff);
        b.putLong(0x258, 0x100000);
        b.putInt(0x260, payload);
        b.put(1024, code);
        return b.array();
    }

    private int boot(byte[] kernel, String... extra) throws IOException {
        Path k = dir.resolve("kernel");
        Files.write(k, kernel);
        String[] base = {"-m", "32", "-kernel", k.toString(), "-append", "hi there", "-display", "none",
                "-device", "isa-debug-exit,iobase=0xf4,iosize=4"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        MachineConfig config = Main.parse(args, errStream);
        return PcSystem.run(config, new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), errStream);
    }

    @Test
    void kernelEntryStateFollowsThe32BitBootProtocol() throws IOException {
        assertEquals((PASS << 1) | 1, boot(bzImage(checkingKernel()), "-serial", "null"));
    }

    @Test
    void failingCheckIsReported() throws IOException {
        // Sanity check of the checker itself: a kernel that jumps straight to "fail".
        byte[] code = {(byte) 0xb0, FAIL, (byte) 0xe6, (byte) 0xf4, (byte) 0xf4};
        assertEquals((FAIL << 1) | 1, boot(bzImage(code), "-serial", "null"));
    }

    @Test
    void serialOutputAndAcpiStylePowerOff() throws IOException {
        // Writes "ok\n" to COM1 and then SLP_TYP=0|SLP_EN to PM1a_CNT (0x604): the machine powers off, status 0.
        Code c = new Code();
        c.bytes(0x66, 0xba, 0xf8, 0x03);                       // mov dx, 0x3f8
        for (char ch : "ok\n".toCharArray()) c.bytes(0xb0, ch, 0xee); // mov al, ch; out dx, al
        c.bytes(0x66, 0xba, 0x04, 0x06);                       // mov dx, 0x604
        c.bytes(0x66, 0xb8, 0x00, 0x20, 0x66, 0xef);           // mov ax, 0x2000; out dx, ax
        c.bytes(0xb0, FAIL, 0xe6, 0xf4, 0xf4);
        Path file = dir.resolve("serial.txt");
        assertEquals(0, boot(bzImage(c.out.toByteArray()), "-serial", "file:" + file));
        assertTrue(Files.readString(file).equals("ok\n"), Files.readString(file));
    }
}
