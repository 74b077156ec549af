package org.jqemu.fpu;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The host CPU's x87 as a test oracle: compiles src/test/resources/x87oracle.c once into target/ and
 * feeds it a batch of input lines, one instruction each (see the C source for the line format).
 */
final class HostOracle {
    private static final Path SOURCE = Path.of("src/test/resources/x87oracle.c");
    private static final Path BINARY = Path.of("target/x87oracle");
    private static boolean built;

    private HostOracle() { }

    static synchronized Path binary() throws IOException, InterruptedException {
        if (built) return BINARY;
        if (!Files.exists(BINARY) || Files.getLastModifiedTime(BINARY).compareTo(Files.getLastModifiedTime(SOURCE)) < 0) {
            Files.createDirectories(BINARY.getParent());
            Process p = new ProcessBuilder("gcc", "-static", "-no-pie", "-O1", "-o", BINARY.toString(), SOURCE.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (p.waitFor() != 0) throw new IOException("cannot build the x87 oracle: " + out);
        }
        built = true;
        return BINARY;
    }

    /** Runs every line through the host; returns one output line per input line. */
    static List<String> run(List<String> lines) throws IOException, InterruptedException {
        Path input = Files.createTempFile("x87oracle", ".in");
        try {
            Files.write(input, lines, StandardCharsets.US_ASCII);
            Process p = new ProcessBuilder(binary().toAbsolutePath().toString())
                    .redirectInput(input.toFile()).redirectErrorStream(true).start();
            List<String> out = new ArrayList<>(lines.size());
            try (InputStream in = p.getInputStream()) {
                for (String l : new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n")) {
                    if (!l.isEmpty()) out.add(l);
                }
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
            if (out.size() != lines.size()) throw new IOException("oracle answered " + out.size() + " of " + lines.size() + " lines");
            return out;
        } finally {
            Files.deleteIfExists(input);
        }
    }
}
