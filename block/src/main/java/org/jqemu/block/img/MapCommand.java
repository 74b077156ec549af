package org.jqemu.block.img;

import java.util.ArrayList;
import java.util.List;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.BlockStatus;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;

/** qemu-img map: where each guest byte range comes from, through the backing chain. */
final class MapCommand {
    private MapCommand() { }

    /** One merged map entry. */
    record Extent(long start, long length, int depth, boolean present, boolean zero, boolean data,
                  long offset, String file) {
        boolean continues(Extent next) {
            return next.depth == depth && next.present == present && next.zero == zero && next.data == data
                    && next.file.equals(file) && start + length == next.start
                    && (offset < 0 ? next.offset < 0 : next.offset == offset + length);
        }

        Extent extend(long more) {
            return new Extent(start, length + more, depth, present, zero, data, offset, file);
        }
    }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("f:hU", "output:output:1", "start-offset:s:1", "max-length:l:1",
                "object:object:1", "image-opts:image-opts:0", "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        String output = "human";
        long start = 0;
        long maxLength = Long.MAX_VALUE;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "output" -> output = o.arg();
                case "s" -> start = offsetArg(o.arg(), "start offset");
                case "l" -> maxLength = offsetArg(o.arg(), "max length");
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        if (!output.equals("human") && !output.equals("json")) {
            throw new UsageError("--output must be used with human or json as argument.");
        }
        try (BlockDevice d = Images.open(g.operands.get(0), fmt, (OpenOptions.READ_ONLY).withForceShare(g.has("U")))) {
            long end = maxLength == Long.MAX_VALUE ? d.size() : Math.min(d.size(), start + maxLength);
            List<Extent> extents = extents(d, start, end);
            if (output.equals("json")) {
                printJson(env, extents);
                return 0;
            }
            return printHuman(env, extents);
        }
    }

    private static long offsetArg(String s, String what) throws UsageError {
        long v = Sizes.parse(s, 'B');
        if (v < 0) {
            throw new UsageError("Invalid " + what + " specified! You may use k, M, G, T, P or E suffixes for ");
        }
        return v;
    }

    /** Merged extents of [start, end). */
    static List<Extent> extents(BlockDevice top, long start, long end) throws BlockException {
        List<Extent> out = new ArrayList<>();
        long pos = start;
        while (pos < end) {
            Extent e = resolve(top, pos, end - pos, true);
            Extent last = out.isEmpty() ? null : out.get(out.size() - 1);
            if (last != null && last.continues(e)) {
                out.set(out.size() - 1, last.extend(e.length));
            } else {
                out.add(e);
            }
            pos += e.length;
        }
        return out;
    }

    /**
     * Walks down the chain until some layer has the data (or none does). Without wait, for a reader that
     * tests data for zeros itself: see BlockDevice.statusWithoutWaiting.
     */
    static Extent resolve(BlockDevice top, long pos, long len, boolean wait) throws BlockException {
        BlockDevice d = top;
        int depth = 0;
        while (true) {
            if (pos >= d.size()) {
                return new Extent(pos, len, depth, false, true, false, -1, d.filename());
            }
            BlockStatus s = wait ? d.status(pos, Math.min(len, d.size() - pos))
                    : d.statusWithoutWaiting(pos, Math.min(len, d.size() - pos));
            len = s.length();
            if (s.allocated()) {
                return new Extent(pos, len, depth, true, s.zero(), s.data(), s.hostOffset(), d.filename());
            }
            if (d.backing() == null) {
                // An unallocated subcluster of an allocated cluster keeps its host offset, as in QEMU.
                return new Extent(pos, len, depth, false, true, false, s.hostOffset(), d.filename());
            }
            d = d.backing();
            depth++;
        }
    }

    private static void printJson(Main.Env env, List<Extent> extents) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < extents.size(); i++) {
            Extent e = extents.get(i);
            sb.append(i == 0 ? "" : ",\n");
            sb.append("{ \"start\": ").append(e.start).append(", \"length\": ").append(e.length)
                    .append(", \"depth\": ").append(e.depth).append(", \"present\": ").append(e.present)
                    .append(", \"zero\": ").append(e.zero).append(", \"data\": ").append(e.data);
            if (e.offset >= 0) {
                sb.append(", \"offset\": ").append(e.offset);
            }
            sb.append('}');
        }
        sb.append(']');
        env.out.println(sb);
    }

    private static int printHuman(Main.Env env, List<Extent> extents) {
        env.out.printf("%-16s%-16s%-16s%s%n", "Offset", "Length", "Mapped to", "File");
        for (Extent e : extents) {
            if (!e.data) {
                continue;
            }
            if (e.offset < 0) {
                env.error("File contains external, encrypted or compressed clusters.");
                return 1;
            }
            env.out.printf("%-16s%-16s%-16s%s%n", hex(e.start), hex(e.length), hex(e.offset), e.file);
        }
        return 0;
    }

    /** C's "%#x": 0 stays "0". */
    private static String hex(long v) {
        return v == 0 ? "0" : "0x" + Long.toHexString(v);
    }
}
