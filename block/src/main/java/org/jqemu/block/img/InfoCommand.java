package org.jqemu.block.img;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jqemu.block.BlockDevice;
import org.jqemu.block.BlockException;
import org.jqemu.block.Images;
import org.jqemu.block.OpenOptions;
import org.jqemu.block.qcow.QcowDevice;
import org.jqemu.block.qcow2.Qcow2Device;
import org.jqemu.block.qcow2.Qcow2Snapshots;

/** qemu-img info: human text or JSON (ImageInfo), optionally for the whole backing chain. */
final class InfoCommand {
    private InfoCommand() { }

    static int run(List<String> args, Main.Env env) throws UsageError, BlockException {
        Getopt g = new Getopt("f:hU", "output:output:1", "backing-chain:chain:0", "object:object:1",
                "image-opts:image-opts:0", "force-share:U:0", "help:h:0").parse(args);
        String fmt = null;
        String output = "human";
        boolean chain = false;
        for (Getopt.Opt o : g.options) {
            switch (o.key()) {
                case "f" -> fmt = o.arg();
                case "output" -> output = o.arg();
                case "chain" -> chain = true;
                default -> { }
            }
        }
        if (g.operands.size() != 1) {
            throw UsageError.withHint("Expecting one image file name");
        }
        if (!output.equals("human") && !output.equals("json")) {
            throw new UsageError("--output must be used with human or json as argument.");
        }
        List<Map<String, Object>> infos = new ArrayList<>();
        String name = g.operands.get(0);
        java.util.Set<java.nio.file.Path> seen = new java.util.HashSet<>();
        while (name != null) {
            java.nio.file.Path p = java.nio.file.Path.of(name);
            try {
                p = p.toRealPath();
            } catch (java.io.IOException e) {
                p = p.toAbsolutePath().normalize(); // Images.open reports the missing file
            }
            if (!seen.add(p)) {
                throw new UsageError("Backing file '" + name + "' creates an infinite loop.");
            }
            try (BlockDevice d = Images.open(name, fmt, (OpenOptions.READ_ONLY.withNoBacking()).withForceShare(g.has("U")))) {
                Map<String, Object> info = imageInfo(d);
                infos.add(info);
                String backing = d instanceof Qcow2Device q ? q.backingFile()
                        : d instanceof QcowDevice v1 ? v1.backingFile() : null;
                name = chain && backing != null ? (String) info.get("full-backing-filename") : null;
                fmt = d instanceof Qcow2Device q ? q.backingFormat() : null;
            }
        }
        if (output.equals("json")) {
            env.out.println(QJson.pretty(chain ? infos : infos.get(0)));
        } else {
            for (int i = 0; i < infos.size(); i++) {
                if (i > 0) {
                    env.out.println();
                }
                env.out.print(human(infos.get(i)));
            }
        }
        return 0;
    }

    /** ImageInfo with keys inserted in QAPI schema order. */
    static Map<String, Object> imageInfo(BlockDevice d) throws BlockException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("filename", d.filename());
        m.put("format", d.format());
        m.put("dirty-flag", d instanceof Qcow2Device q && q.dirty());
        m.put("actual-size", d.allocatedBytes());
        m.put("virtual-size", d.size());
        if (d instanceof QcowDevice v1) {
            m.put("cluster-size", v1.clusterSizeBytes());
            if (v1.backingFile() != null) {
                m.put("backing-filename", v1.backingFile());
                m.put("full-backing-filename", Images.resolveBacking(d.filename(), v1.backingFile()));
            }
        }
        if (d instanceof Qcow2Device q) {
            m.put("cluster-size", q.clusterSizeBytes());
            if (q.backingFile() != null) {
                m.put("backing-filename", q.backingFile());
                m.put("full-backing-filename", Images.resolveBacking(d.filename(), q.backingFile()));
                if (q.backingFormat() != null) {
                    m.put("backing-filename-format", q.backingFormat());
                }
            }
            List<Qcow2Snapshots.Snapshot> snaps = Qcow2Snapshots.list(q);
            if (!snaps.isEmpty()) {
                List<Object> list = new ArrayList<>();
                for (Qcow2Snapshots.Snapshot s : snaps) {
                    Map<String, Object> sm = new LinkedHashMap<>();
                    sm.put("id", s.id());
                    sm.put("name", s.name());
                    sm.put("vm-state-size", s.vmStateSize());
                    sm.put("date-sec", s.dateSec());
                    sm.put("date-nsec", s.dateNsec());
                    sm.put("vm-clock-sec", s.vmClockNsec() / 1_000_000_000L);
                    sm.put("vm-clock-nsec", s.vmClockNsec() % 1_000_000_000L);
                    if (s.icount() != -1) {
                        sm.put("icount", s.icount());
                    }
                    list.add(sm);
                }
                m.put("snapshots", list);
            }
            Map<String, Object> data = new LinkedHashMap<>();
            data.put("compat", q.version() >= 3 ? "1.1" : "0.10");
            if (q.version() >= 3) {
                data.put("extended-l2", q.extendedL2());
                data.put("lazy-refcounts", q.lazyRefcounts());
                data.put("corrupt", q.corrupt());
            }
            data.put("refcount-bits", q.refcountBits());
            data.put("compression-type", q.compressionType());
            Map<String, Object> spec = new LinkedHashMap<>();
            spec.put("type", "qcow2");
            spec.put("data", data);
            m.put("format-specific", spec);
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    static String human(Map<String, Object> info) {
        StringBuilder sb = new StringBuilder();
        long vsize = (Long) info.get("virtual-size");
        sb.append("image: ").append(info.get("filename")).append('\n');
        sb.append("file format: ").append(info.get("format")).append('\n');
        sb.append("virtual size: ").append(Sizes.human(vsize)).append(" (").append(vsize).append(" bytes)\n");
        sb.append("disk size: ").append(Sizes.human((Long) info.get("actual-size"))).append('\n');
        if (info.containsKey("cluster-size")) {
            sb.append("cluster_size: ").append(info.get("cluster-size")).append('\n');
        }
        if (Boolean.TRUE.equals(info.get("dirty-flag"))) {
            sb.append("cleanly shut down: no\n");
        }
        if (info.containsKey("backing-filename")) {
            String b = (String) info.get("backing-filename");
            String full = (String) info.get("full-backing-filename");
            sb.append("backing file: ").append(b);
            if (!b.equals(full)) {
                sb.append(" (actual path: ").append(full).append(')');
            }
            sb.append('\n');
            if (info.containsKey("backing-filename-format")) {
                sb.append("backing file format: ").append(info.get("backing-filename-format")).append('\n');
            }
        }
        if (info.containsKey("snapshots")) {
            List<Qcow2Snapshots.Snapshot> snaps = new ArrayList<>();
            for (Object o : (List<Object>) info.get("snapshots")) {
                Map<String, Object> sm = (Map<String, Object>) o;
                snaps.add(new Qcow2Snapshots.Snapshot(0, 0, (String) sm.get("id"), (String) sm.get("name"),
                        (Long) sm.get("date-sec"), (Long) sm.get("date-nsec"),
                        (Long) sm.get("vm-clock-sec") * 1_000_000_000L + (Long) sm.get("vm-clock-nsec"),
                        (Long) sm.get("vm-state-size"), 0, (Long) sm.getOrDefault("icount", -1L)));
            }
            sb.append(SnapshotCommand.table(snaps));
        }
        if (info.containsKey("format-specific")) {
            Map<String, Object> data = (Map<String, Object>) ((Map<String, Object>) info.get("format-specific")).get("data");
            sb.append("Format specific information:\n");
            for (String k : QJson.orderedKeys(data)) {
                sb.append("    ").append(k.replace('-', ' ')).append(": ").append(data.get(k)).append('\n');
            }
        }
        return sb.toString();
    }
}
