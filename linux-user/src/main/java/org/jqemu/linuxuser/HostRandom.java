package org.jqemu.linuxuser;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.SecureRandom;

/**
 * Random bytes for the guest (AT_RANDOM, getrandom) from the host kernel's /dev/urandom, which is what Java's
 * SecureRandom reads on Linux too: but setting that up (its security providers and services) took ~35 ms of
 * every run's start-up. SecureRandom serves where /dev/urandom cannot be read.
 */
final class HostRandom {
    private HostRandom() { }

    static void fill(byte[] bytes) {
        try (InputStream in = new FileInputStream("/dev/urandom")) {
            if (in.readNBytes(bytes, 0, bytes.length) == bytes.length) {
                return;
            }
        } catch (IOException e) {
            // below
        }
        new SecureRandom().nextBytes(bytes);
    }
}
