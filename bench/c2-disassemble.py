#!/usr/bin/env python3
"""Disassembles one method of a HotSpot -XX:CompileCommand=print log made without hsdis (the machine code as hex), with
objdump, and puts perf's samples beside each instruction when given.

Usage: JQEMU_JAVA_OPTS="-XX:+UnlockDiagnosticVMOptions -XX:+DumpPerfMapAtExit -XX:CompileCommand=quiet \\
           -XX:CompileCommand=print,org.jqemu.target.i386.TcgHot*::execute -XX:+LogVMOutput -XX:LogFile=LOG \\
           -XX:-DisplayVMOutput" perf record -e cpu-clock -F 4999 -o DATA bin/jqemu-i386 PROGRAM...
       bench/c2-disassemble.py LOG            lists the compiled methods in the log
       bench/c2-disassemble.py LOG N [DATA]   disassembles the N-th, with DATA's samples per instruction
Used for accel-tcg/README-design.md, "Session 20".
"""
import collections
import re
import subprocess
import sys
import tempfile

log = open(sys.argv[1], errors="replace").read().splitlines()
methods, sections, current = [], [], None
for line in log:
    if line.startswith("Compiled method"):
        methods.append(line)
    elif line.startswith("[MachCode]"):
        current = []
    elif line.startswith("[/MachCode]"):
        sections.append(current)
        current = None
    elif current is not None:
        current.append(line)
if len(sys.argv) < 3:
    for n, m in enumerate(methods):
        print(n, m)
    sys.exit(0)
code = {}
for line in sections[int(sys.argv[2])]:
    m = re.match(r"^\s*0x([0-9a-f]+):\s*([0-9a-f| ]+)(;.*)?$", line)
    if m:
        digits = "".join(m.group(2).replace("|", " ").split())
        for i in range(0, len(digits) - 1, 2):
            code[int(m.group(1), 16) + i // 2] = int(digits[i:i + 2], 16)
samples = collections.Counter()
if len(sys.argv) > 3:
    script = subprocess.run(["perf", "script", "-i", sys.argv[3], "-F", "ip"], capture_output=True, text=True).stdout
    samples.update(int(ip, 16) for ip in script.split())
low, high = min(code), max(code) + 1
with tempfile.NamedTemporaryFile(suffix=".bin") as blob:
    blob.write(bytes(code.get(a, 0) for a in range(low, high)))
    blob.flush()
    dump = subprocess.run(["objdump", "-D", "-b", "binary", "-mi386:x86-64", "-M", "intel", "--adjust-vma=%#x" % low,
                           blob.name], capture_output=True, text=True).stdout
for line in dump.splitlines():
    m = re.match(r"^\s*([0-9a-f]+):\t", line)
    if m:
        print("%6d %s" % (samples[int(m.group(1), 16)], line))
