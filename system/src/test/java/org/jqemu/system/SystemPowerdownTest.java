package org.jqemu.system;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.jqemu.target.i386.Nasm;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The monitor's {@code system_powerdown} end to end: HMP command, PIIX4 PM power button (PM1_STS.PWRBTN_STS),
 * SCI on IRQ 9, the guest's handler. Neither SeaBIOS nor the Linux fixture can show it (Debian builds the
 * ACPI button driver as a module the busybox initramfs does not have, so the kernel never sets PWRBTN_EN),
 * so a small guest does what an ACPI OS does (ACPI 6.4, 4.8.3.1 and 4.8.2.2.1): it enters ACPI mode through
 * the SMI command port, enables the power button event, routes IRQ 9 (level, as the SCI is), halts with
 * interrupts on; its SCI handler checks PWRBTN_STS, clears it by writing 1, checks that it reads 0, says so
 * on COM1 and powers off (S5). Any failed check exits through isa-debug-exit instead.
 */
class SystemPowerdownTest {
    private static final long GUARD_MS = 60_000;

    private static final String GUEST = """
            bits 32
            org 0x100000                ; code32_start of the bzImage
                mov esp, 0x8000
                mov al, 0x11            ; ICW1: edge, cascade, ICW4 follows
                out 0x20, al
                out 0xa0, al
                mov al, 0x20            ; ICW2: master vectors 0x20-0x27, slave 0x28-0x2f
                out 0x21, al
                mov al, 0x28
                out 0xa1, al
                mov al, 4               ; ICW3: slave on IR2
                out 0x21, al
                mov al, 2
                out 0xa1, al
                mov al, 1               ; ICW4: 8086 mode
                out 0x21, al
                out 0xa1, al
                mov al, 0xfb            ; master: the cascade only
                out 0x21, al
                mov al, 0xfd            ; slave: IRQ 9 (the SCI) only
                out 0xa1, al
                mov dx, 0x4d1           ; ELCR: IRQ 9 level-triggered
                mov al, 0x02
                out dx, al
                mov edi, 0x9000 + 0x29*8 ; IDT at 0x9000: interrupt gate for vector 0x29 (IRQ 9)
                mov eax, sci
                mov [edi], ax
                mov word [edi+2], 0x10
                mov word [edi+4], 0x8e00
                shr eax, 16
                mov [edi+6], ax
                mov word [0x8f00], 0x29*8+7
                mov dword [0x8f02], 0x9000
                lidt [0x8f00]
                mov al, 0xf1            ; ACPI_ENABLE to SMI_CMD: SCI_EN
                out 0xb2, al
                mov dx, 0x602           ; PM1_EN: PWRBTN_EN
                mov ax, 0x0100
                out dx, ax
                mov esi, ready
                call puts
                sti
            idle:
                hlt
                jmp idle
            sci:
                mov dx, 0x600           ; PM1_STS
                in ax, dx
                test ax, 0x0100         ; PWRBTN_STS
                jz fail
                mov ax, 0x0100          ; write 1 to clear
                out dx, ax
                in ax, dx
                test ax, 0x0100
                jnz fail
                mov al, 0x20            ; EOI to slave and master
                out 0xa0, al
                out 0x20, al
                mov esi, pressed
                call puts
                mov dx, 0x604           ; PM1_CNT: SLP_TYP 0 (S5 on this machine) | SLP_EN
                mov ax, 0x2000
                out dx, ax
            fail:
                mov al, 0x10            ; isa-debug-exit: status 33
                out 0xf4, al
                hlt
            puts:
                mov dx, 0x3f8
            .next:
                lodsb
                test al, al
                jz .done
                out dx, al
                jmp .next
            .done:
                ret
            ready: db "ready", 10, 0
            pressed: db "power button", 10, 0
            """;

    @TempDir
    Path dir;

    @Test
    void systemPowerdownPressesTheAcpiPowerButton() throws Exception {
        Path kernel = dir.resolve("kernel");
        Files.write(kernel, DirectBootTest.bzImage(Nasm.assemble(GUEST)));
        Path serial = dir.resolve("serial.txt");
        String[] args = {"-m", "32", "-kernel", kernel.toString(), "-display", "none", "-serial", "file:" + serial,
                "-monitor", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"};
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream errStream = new PrintStream(err, true, StandardCharsets.UTF_8);
        PcSystem system = new PcSystem(Main.parse(args, errStream), errStream);
        PipedOutputStream keys = new PipedOutputStream();
        PipedInputStream stdin = new PipedInputStream(keys, 4096);
        ExecutorService executor = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> status = executor.submit(() -> system.start(stdin, new ByteArrayOutputStream()));
            awaitSerial(serial, "ready\n", status);
            keys.write("system_powerdown\n".getBytes(StandardCharsets.US_ASCII));
            keys.flush();
            assertEquals(0, status.get(GUARD_MS, TimeUnit.MILLISECONDS), "ACPI power-off after the handler; " + err);
            assertEquals("ready\npower button\n", Files.readString(serial));
        } finally {
            system.quit();
            executor.shutdownNow();
        }
    }

    private static void awaitSerial(Path file, String wanted, Future<Integer> machine) throws Exception {
        long end = System.currentTimeMillis() + GUARD_MS;
        while (!read(file).equals(wanted)) {
            if (machine.isDone()) fail("the machine ended (" + machine.get() + ") before the guest said " + wanted + read(file));
            if (System.currentTimeMillis() > end) fail("the guest never said " + wanted + "; serial: " + read(file));
            Thread.sleep(20);
        }
    }

    private static String read(Path file) throws IOException {
        try {
            return Files.readString(file, StandardCharsets.ISO_8859_1);
        } catch (NoSuchFileException e) {
            return "";
        }
    }
}
