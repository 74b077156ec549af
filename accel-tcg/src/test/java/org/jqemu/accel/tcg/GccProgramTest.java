package org.jqemu.accel.tcg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jqemu.target.i386.X86Cpu;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Compiler-generated code (gcc -m32 -O2: sorting, a sieve, CRC-32, recursion, 64-bit multiply, division)
 * run in lockstep against the interpreter, and its result checked against the same C compiled for and run
 * on the host.
 */
class GccProgramTest {
    private static Path dir;
    private static String image;
    private static long hostResult;

    @BeforeAll
    static void build() throws Exception {
        dir = Files.createTempDirectory("jqemu-gcc");
        for (String name : List.of("prog.c", "link.ld")) {
            try (InputStream in = GccProgramTest.class.getResourceAsStream("/gcc/" + name)) {
                Files.write(dir.resolve(name), in.readAllBytes());
            }
        }
        run("gcc", "-O2", "-DHOST", "prog.c", "-o", "host");
        hostResult = Long.parseLong(run("./host").trim());
        run("gcc", "-m32", "-O2", "-ffreestanding", "-nostdlib", "-fno-pic", "-no-pie", "-fno-stack-protector",
                "-fno-asynchronous-unwind-tables", "-static", "-Wl,--build-id=none", "-Wl,--no-warn-rwx-segments",
                "-T", "link.ld", "prog.c", "-o", "guest.elf");
        run("objcopy", "-O", "binary", "guest.elf", "guest.bin");
        image = "incbin \"" + dir.resolve("guest.bin") + "\"\n";
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError(command[0] + " is required under CI", e);
            }
            Assumptions.abort(command[0] + " not installed");
            return null;
        }
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new AssertionError(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    @Test
    void lockstepWithEveryBlockTranslatedAtOnce() {
        LockstepTest.Pair p = new LockstepTest.Pair(image, CodeCache.DEFAULT_LIMIT, 0);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.lockstep(10_000_000));
        assertEquals(hostResult, p.a.reg(X86Cpu.EBX));
        assertTrue(p.tcg.stats().blocksTranslated() > 20, p.tcg.stats().toString());
    }

    @Test
    void defaultEngineRunGivesTheHostsResult() {
        LockstepTest.Pair p = new LockstepTest.Pair(image, CodeCache.DEFAULT_LIMIT, CodeCache.DEFAULT_HOT_THRESHOLD);
        assertEquals(X86Cpu.EXIT_INTERRUPT, p.tcg.run(100_000_000));
        assertEquals(hostResult, p.a.reg(X86Cpu.EBX));
        assertTrue(p.tcg.stats().blocksExecuted() > p.tcg.stats().interpreted() / 10, p.tcg.stats().toString());
    }
}
