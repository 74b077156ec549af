package org.jqemu.block.img;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow2.Qcow2Device;
import org.jqemu.block.qcow2.Qcow2Snapshots;

/** qemu-img snapshot: -l list, -c create, -a apply, -d delete (internal qcow2 snapshots). */
final class SnapshotCommand {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private SnapshotCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("la:c:d:f:hqU", "object:object:1", "image-opts:image-opts:0",
                "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        String action = null;
        String name = null;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "l", "a", "c", "d" -> {
                    if (action != null) {
                        throw UsageError.withHint("Cannot mix '-l', '-a', '-c', '-d'");
                    }
                    action = o.key();
                    name = o.arg();
                }
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        if (action == null) {
            action = "l";
        }
        OpenOptions oo = action.equals("l") ? OpenOptions.READ_ONLY : OpenOptions.READ_WRITE;
        try (BlockDevice d = Images.open(g.operands.get(0), fmt, (oo.withNoBacking()).withForceShare(g.has("U")))) {
            if (!(d instanceof Qcow2Device q)) {
                if (action.equals("l")) {
                    return 0;
                }
                throw new UsageError("Could not create snapshot '" + name + "': Operation not supported");
            }
            switch (action) {
                case "l" -> env.out.print(table(Qcow2Snapshots.list(q)));
                case "c" -> Qcow2Snapshots.create(q, name);
                case "a" -> Qcow2Snapshots.apply(q, name);
                default -> Qcow2Snapshots.delete(q, name);
            }
        }
        return 0;
    }

    /** The "Snapshot list:" block of qemu-img snapshot -l and info; empty when there are none. */
    static String table(List<Qcow2Snapshots.Snapshot> list) {
        if (list.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder("Snapshot list:\n");
        sb.append(String.format("%-10s%-17s%8s%20s%13s%11s%n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT"));
        for (Qcow2Snapshots.Snapshot s : list) {
            String date = DATE.format(Instant.ofEpochSecond(s.dateSec()).atZone(ZoneId.systemDefault()));
            long ms = s.vmClockNsec() / 1_000_000;
            String clock = String.format("%02d:%02d:%02d.%03d", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60,
                    ms % 1000);
            String icount = s.icount() == -1 ? "" : String.valueOf(s.icount());
            sb.append(String.format("%-9s %-16s %8s%20s%13s%11s%n", s.id(), s.name(), Sizes.human(s.vmStateSize()),
                    date, clock, icount));
        }
        return sb.toString();
    }
}
