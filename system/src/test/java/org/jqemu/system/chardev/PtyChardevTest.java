package org.jqemu.system.chardev;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.jqemu.hw.chr.CharFrontend;
import org.junit.jupiter.api.Test;

/**
 * The pty backend through the host's own pseudo-terminal driver (the oracle): what the guest writes is
 * read on the slave unchanged (raw mode: no CR/LF translation), what a program writes on the slave
 * reaches the frontend, and the slave's path is announced.
 */
class PtyChardevTest {
    @Test
    void bytesCrossThePseudoTerminalBothWays() throws Exception {
        List<String> announced = new ArrayList<>();
        PtyChardev pty = PtyChardev.open("p", announced::add);
        try {
            assertEquals(List.of(pty.path()), announced);
            assertTrue(pty.path().startsWith("/dev/pts/"), pty.path());
            List<Integer> received = new ArrayList<>();
            pty.connect(new CharFrontend() {
                @Override public int receiveRoom() { return 64; }

                @Override public void receive(int b) { received.add(b); }
            });
            CountDownLatch input = new CountDownLatch(1);
            pty.onInput(input::countDown);
            try (FileInputStream slaveIn = new FileInputStream(pty.path()); FileOutputStream slaveOut = new FileOutputStream(pty.path())) {
                for (byte b : "hi\r\n".getBytes(StandardCharsets.US_ASCII)) pty.write(b);
                pty.flush();
                byte[] buf = new byte[4];
                int n = 0;
                while (n < 4) n += slaveIn.read(buf, n, 4 - n);
                assertEquals("hi\r\n", new String(buf, StandardCharsets.US_ASCII));
                slaveOut.write("ok\r".getBytes(StandardCharsets.US_ASCII));
                slaveOut.flush();
                assertTrue(input.await(10, TimeUnit.SECONDS));
                long end = System.currentTimeMillis() + 10_000;
                while (received.size() < 3 && System.currentTimeMillis() < end) {
                    Thread.sleep(20);
                    pty.pump();
                }
                assertEquals(List.of((int) 'o', (int) 'k', (int) '\r'), received);
            }
        } finally {
            pty.close();
        }
    }
}
