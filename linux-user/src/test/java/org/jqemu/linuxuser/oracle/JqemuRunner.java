package org.jqemu.linuxuser.oracle;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.List;

import org.jqemu.linuxuser.CapturedOutput;
import org.jqemu.linuxuser.ElfLoader;
import org.jqemu.linuxuser.GuestProcess;
import org.jqemu.linuxuser.InitialStack;
import org.jqemu.target.i386.oracle.Runner;

/** The oracle's subject through the whole of linux-user (ELF loader, process, system calls, signals), in this JVM. */
public final class JqemuRunner implements Runner {
    @Override public String name() { return "jqemu-i386"; }

    @Override public boolean canRun(Program p) { return true; }

    @Override public Result run(Program p) throws IOException {
        PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
        GuestProcess.Config config = new GuestProcess.Config(p.i386(), List.of(p.i386().toString()), List.of(),
                InitialStack.DEFAULT_SIZE, null, false, false, quiet, quiet);
        CapturedOutput out = new CapturedOutput();
        try {
            GuestProcess process = new GuestProcess(config, Files.readAllBytes(p.i386()), out, out, new CapturedOutput());
            try {
                int status = process.run();
                return new Result(out.toByteArray(), status);
            } catch (GuestProcess.EmulatorBug e) {
                return new Result(out.toByteArray(), -1, e.getMessage());
            } finally {
                process.close();
            }
        } catch (ElfLoader.InvalidElfException e) {
            throw new IOException(e.getMessage());
        }
    }
}
