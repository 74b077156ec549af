package org.jqemu.linuxuser;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * The training run of jqemu-i386's AOT cache (JDK 25, JEP 483/514/515: classes loaded and linked, method
 * profiles), made by bin/jqemu-launch on first use after a build: one JVM runs a small guest through the whole
 * path of a real run (ELF loading, the interpreter, translation with the class-file API, regions, C1 and C2
 * compiling the emulator, system calls), so that later runs start with those classes ready and their hot
 * methods compiled sooner. Usage: {@code Training DIR}: writes the guest to DIR, runs it as
 * {@code jqemu-i386 DIR/aot-training} would, deletes it and exits with its status. Needs nothing but itself.
 */
public final class Training {
    /** src/main/asm/aot-training.asm assembled with nasm -f bin (TrainingTest checks that they match). */
    static final String GUEST_HEX =
            "7f454c460101010000000000000000000200030001000000548004083400000000000000000000003400200001000000"
            + "00000000010000000000000000800408008004084402000004300000070000000010000089e583ec20c7442404000000"
            + "00b805000000bb3a82040831c9cd8089c3b803000000b900900408ba40000000cd8001442404b806000000cd80bb2c01"
            + "0000bf00900408b90010000089d8880783c007474975f7be0090040831d256e8a400000083c4040144240483c64081fe"
            + "00a0040872e8be00900408bf00a00408b900020000fcf3a5be00900408bf00a00408b900080000f3a60f94c00fb6c001"
            + "4424048b4424046bc01f31d2b943420f00f7f189542404e873000000314424044b0f857bffffff8b442404bf38820408"
            + "b90800000089c283e20f8a920a8204088817c1e8044f4975ecb804000000bb01000000b91a820408ba20000000cd80b8"
            + "0100000031dbcd80538b5c240831c0b9400000000fb613c1e00501d0c1c80380fa8072053595e9d15b434975e75bc353"
            + "8b44240ca300b0040889c3f7d3f7dbf71500b00408f71d00b00408871d00b0040887caf00fb11d00b00408f00fc11d00"
            + "b00408ff0500b00408ff0d00b00408f0011d00b00408f0ff0500b00408f0ff0d00b0040889d983e11fd3e3d32d00b004"
            + "08d3fbd3d38b1500b004080fa4da050fadd30fafda85d375014384d3740383c303a100b0040831d85bc3303132333435"
            + "363738396162636465666a71656d752d6933383620747261696e696e67206f6b2030303030303030300a2f6465762f6e"
            + "756c6c00";

    private Training() { }

    /** The training guest: a static i386 ELF executable. */
    static byte[] guest() { return HexFormat.of().parseHex(GUEST_HEX); }

    /** Writes the guest to {@code dir}, runs it as jqemu-i386 would and deletes it; returns its exit status. */
    static int run(Path dir, PrintStream out, PrintStream err) throws IOException {
        Path program = dir.resolve("aot-training");
        Files.write(program, guest());
        try {
            // The host environment as main passes it: reading it loads ~17 JDK classes, which the cache then holds.
            return Main.run(new String[] {program.toString()}, System.getenv(), out, err);
        } finally {
            Files.deleteIfExists(program);
        }
    }

    /**
     * The hot tier's threshold during training, when the launcher turned the tier on: the guest's 18 M instructions,
     * spread over its loops, are too few for a region to surely reach the launcher's 10 M, and a profile in which no
     * region was ever promoted made C2 compile {@code Tcg.dispatch} with a trap on that branch, so that the first
     * promotion of a real run threw the code away and C2 compiled it again, in front of the region's own C2 compile
     * (README-design.md, "Session 14 (hot)").
     */
    static final long TRAINING_HOT_INSTRUCTIONS = 1_000_000;

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: Training DIR");
            System.exit(1);
        }
        if (Long.getLong("jqemu.tcg.hotInstructions", 0) > 0) {
            System.setProperty("jqemu.tcg.hotInstructions", Long.toString(TRAINING_HOT_INSTRUCTIONS));
        }
        System.exit(run(Path.of(args[0]), System.out, System.err));
    }
}
