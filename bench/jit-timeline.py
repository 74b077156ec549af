#!/usr/bin/env python3
"""Samples of a jqemu run per time bucket and kind of code: on the guest thread the hot tier's C2 code (TcgHot), C1's
generated blocks and regions (TcgBlock), HotSpot's bytecode interpreter, the engine (Tcg, CodeCache, vtable stubs) and
the rest; on other threads C1, C2 and the others. Shows when a run's generated code gets the guest thread.

Usage: JQEMU_JAVA_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit" perf record -e cpu-clock -F 999 -o DATA \\
           bin/jqemu-i386 PROGRAM...
       bench/jit-timeline.py DATA [bucket seconds, default 0.25]
The guest thread is the one with the most generated-code samples. Used for accel-tcg/README-design.md, "Session 20".
"""
import collections
import re
import subprocess
import sys

data = sys.argv[1]
step = float(sys.argv[2]) if len(sys.argv) > 2 else 0.25
out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,tid,time,ip,sym"], capture_output=True, text=True).stdout
row = re.compile(r"^\s*(.*?)\s+(\d+)\s+([\d.]+):\s+[0-9a-f]+\s*(.*)$")
rows = [(m.group(1), m.group(2), float(m.group(3)), m.group(4).strip()) for m in map(row.match, out.splitlines()) if m]
start = min(r[2] for r in rows)
guest = collections.Counter(r[1] for r in rows if "TcgBlock" in r[3] or "TcgHot" in r[3]).most_common(1)[0][0]


def kind(comm, tid, sym):
    if tid != guest:
        return "C2" if comm.startswith("C2") else "C1" if comm.startswith("C1") else "other"
    if "TcgHot" in sym:
        return "hot"
    if "TcgBlock" in sym:
        return "c1code"
    if "nterpreter" in sym:
        return "interp"
    if "Tcg." in sym or "CodeCache." in sym or "vtable" in sym:
        return "engine"
    return "gother"


kinds = ["hot", "c1code", "interp", "engine", "gother", "C1", "C2", "other"]
buckets = collections.defaultdict(collections.Counter)
total = collections.Counter()
for comm, tid, t, sym in rows:
    k = kind(comm, tid, sym)
    buckets[int((t - start) / step)][k] += 1
    total[k] += 1
print("t      " + " ".join("%7s" % k for k in kinds))
for b in sorted(buckets):
    print("%5.2f  " % (b * step) + " ".join("%7d" % buckets[b][k] for k in kinds))
print("total  " + " ".join("%7d" % total[k] for k in kinds))
