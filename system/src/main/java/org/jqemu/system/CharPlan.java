package org.jqemu.system;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

import org.jqemu.util.FrontEnd.UserError;
import org.jqemu.util.opts.Opts;

/**
 * Which chardevs the machine creates and who uses them: the -chardev ones, then one per -monitor spec
 * (labelled compat_monitorN), then one per -serial spec (serialN; "mon:" makes it a mux shared with a
 * monitor; "chardev:ID" uses an existing one; "none" leaves the port out), in QEMU's order, so that the
 * same errors come first ("cannot use stdio by multiple character devices").
 */
record CharPlan(List<MachineConfig.CharDevice> chardevs, List<String> serialChardevs, List<MachineConfig.Monitor> monitors) {
    static final String NO_PORT = "";

    static final class Builder {
        private final List<MachineConfig.CharDevice> chardevs = new ArrayList<>();
        private final Set<String> ids = new HashSet<>();
        private final List<String> serials = new ArrayList<>();
        private final List<MachineConfig.Monitor> monitors = new ArrayList<>();
        private final List<Runnable> serialSteps = new ArrayList<>();
        private boolean stdioUsed;
        private int monitorCount;

        void chardev(String id, Opts opts, String location) {
            if (opts.get("backend", "").equals("stdio")) stdioUsed = true;
            chardevs.add(new MachineConfig.CharDevice(id, opts, location));
            ids.add(id);
        }

        /** A -monitor (or -qmp) short spec. */
        void monitor(String spec, String location, String mode, Consumer<String> warnings) {
            String id = "compat_monitor" + monitorCount++;
            Opts opts = CharSpecs.toChardev(spec, warnings);
            claimStdio(opts, location, List.of());
            chardev(id, opts, location);
            monitors.add(new MachineConfig.Monitor(id, mode, false));
        }

        /** A -mon on an existing chardev. */
        void monitor(MachineConfig.Monitor monitor) {
            monitors.add(monitor);
        }

        /** A -serial spec; the ports are created after every monitor, as in QEMU. */
        void serial(String spec, String location, String error, Consumer<String> warnings) {
            serialSteps.add(() -> addSerial(spec, location, error, warnings));
        }

        private void addSerial(String spec, String location, String error, Consumer<String> warnings) {
            int index = serials.size();
            if (index >= MachineConfig.MAX_SERIAL_PORTS) return; // QEMU's pc wires four ports and ignores the rest
            if (spec.equals("none")) {
                serials.add(NO_PORT);
                return;
            }
            if (spec.startsWith("chardev:")) {
                String id = spec.substring(8);
                if (!ids.contains(id)) throw new LocatedError(location, List.of(error));
                serials.add(id);
                return;
            }
            boolean withMonitor = spec.startsWith("mon:");
            Opts opts;
            try {
                opts = CharSpecs.toChardev(withMonitor ? spec.substring(4) : spec, warnings);
                if (opts.get("backend", "").equals("socket")) CommandLine.checkSocket(opts);
            } catch (UserError e) {
                throw new LocatedError(location, e.getMessage().equals(CharSpecs.NO_DETAIL) ? List.of(error) : List.of(e.getMessage(), error));
            }
            claimStdio(opts, location, List.of(error));
            String id = "serial" + index;
            if (withMonitor) {
                List<Opts.Entry> entries = new ArrayList<>(opts.entries());
                entries.add(new Opts.Entry("mux", "on"));
                opts = Opts.of(entries);
                monitors.add(new MachineConfig.Monitor(id, "readline", false));
            }
            chardev(id, opts, location);
            serials.add(id);
        }

        private void claimStdio(Opts opts, String location, List<String> more) {
            if (!opts.get("backend", "").equals("stdio")) return;
            if (stdioUsed) {
                List<String> messages = new ArrayList<>(List.of("cannot use stdio by multiple character devices"));
                messages.addAll(more);
                throw new LocatedError(location, messages);
            }
        }

        CharPlan build() {
            serialSteps.forEach(Runnable::run);
            return new CharPlan(List.copyOf(chardevs), List.copyOf(serials), List.copyOf(monitors));
        }
    }
}
