package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * -d int in protected mode: a kernel entered by the 32-bit boot protocol executes UD2. The line is in the
 * layout of qemu-system-i386 7.2's log (observed on SeaBIOS: "%6d: v=.. e=.... i=. cpl=. IP=cs:eip pc=linear
 * SP=ss:esp env->regs[R_EAX]=..."); its values come from the SDM and the boot protocol: vector 6 with no
 * error code, EIP at the UD2 (a fault), CS 0x10 and SS 0x18 (boot.rst's __BOOT_CS and __BOOT_DS), and the
 * ESP and EAX the code set. (QEMU itself cannot be the oracle here: its linuxboot ROM runs this tiny
 * image's real-mode setup sector instead of the 32-bit entry.)
 */
class InterruptLogTest {
    private static final String UD_LINE = "     0: v=06 e=0000 i=0 cpl=0 IP=0010:0010000a pc=0010000a SP=0018:00008000 env->regs[R_EAX]=00001234";

    @Test
    void undefinedOpcodeIsLoggedAsQemuLogsIt(@TempDir Path dir) throws Exception {
        byte[] code = {(byte) 0xbc, 0x00, (byte) 0x80, 0x00, 0x00,   // mov esp, 0x8000
            (byte) 0xb8, 0x34, 0x12, 0x00, 0x00,                      // mov eax, 0x1234
            0x0f, 0x0b};                                               // ud2
        Path kernel = Files.write(dir.resolve("kernel"), DirectBootTest.bzImage(code));
        Path log = dir.resolve("int.log");
        String[] args = {"-m", "32", "-kernel", kernel.toString(), "-display", "none", "-no-reboot", "-serial", "null",
            "-d", "int", "-D", log.toString()};
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        // No IDT: #UD, then #GP, then a double and a triple fault: the machine resets, which -no-reboot ends.
        int status = PcSystem.run(Main.parse(args, errStream), new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), errStream);
        assertEquals(0, status, err.toString(StandardCharsets.UTF_8));
        List<String> lines = Files.readAllLines(log);
        String ours = lines.stream().filter(l -> l.contains(" v=06 ")).findFirst().orElse("(none)\n" + lines);
        assertEquals(UD_LINE, ours);
        assertTrue(lines.get(lines.indexOf(ours) + 1).startsWith("EAX=00001234 "), "registers follow the line");
    }

    @Test
    void cpuAndInAsmLogEachInstruction(@TempDir Path dir) throws Exception {
        byte[] code = {(byte) 0xbc, 0x00, (byte) 0x80, 0x00, 0x00, (byte) 0xb8, 0x34, 0x12, 0x00, 0x00, 0x0f, 0x0b};
        Path kernel = Files.write(dir.resolve("kernel"), DirectBootTest.bzImage(code));
        Path log = dir.resolve("cpu.log");
        String[] args = {"-m", "32", "-kernel", kernel.toString(), "-display", "none", "-no-reboot", "-serial", "null",
            "-d", "cpu,in_asm", "-D", log.toString()};
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(0, PcSystem.run(Main.parse(args, errStream), new ByteArrayInputStream(new byte[0]), new ByteArrayOutputStream(), errStream));
        String text = Files.readString(log);
        // The 32-bit entry of the boot protocol is the start of the protected-mode kernel (0x100000 here);
        // the bytes are this test's own encoding of MOV ESP, imm32 / MOV EAX, imm32 / UD2 (SDM vol. 2).
        // With cpu too, each instruction's registers come between the in_asm lines.
        for (String line : new String[] {"\n0x00100000:  bc 00 80 00 00\n", "\n0x00100005:  b8 34 12 00 00\n", "\n0x0010000a:  0f 0b 00"}) {
            assertTrue(text.contains(line), line + " in\n" + text.substring(0, Math.min(text.length(), 3000)));
        }
        assertTrue(text.contains("EIP=00100000 "), "registers before the first kernel instruction");
        assertTrue(text.contains("EAX=00001234 "), "registers after MOV EAX");
    }
}
