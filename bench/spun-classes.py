#!/usr/bin/env python3
"""Hidden classes a jqemu run spins at run time (lambdas, type switches, method-handle species) instead of taking them
from its AOT cache, each with the first emulator frame that caused it: every one costs a start a few milliseconds.

Usage: JQEMU_JAVA_OPTS="-XX:LogClassLoadingCauseFor=* -Xlog:class+load+cause*=info:file=LOG" bin/jqemu-i386 PROGRAM...
       bench/spun-classes.py LOG
Classes from the cache have addresses at 0x800000000 and up; the rest were made by this run. Used for
accel-tcg/README-design.md, "Session 20"; linux-user TrainingTest checks that busybox true spins no lambda.
"""
import re
import sys

lines = open(sys.argv[1], errors="replace").read().splitlines()
i = 0
while i < len(lines):
    m = re.search(r"Java stack when loading (\S+):", lines[i])
    if not m:
        i += 1
        continue
    name, frame, i = m.group(1), None, i + 1
    while i < len(lines) and "Java stack when loading" not in lines[i]:
        f = re.search(r"at (org\.jqemu\.\S+)", lines[i])
        if f and frame is None:
            frame = f.group(1)
        i += 1
    if re.search(r"/0x(?!8000)", name) and re.search(r"\$\$Lambda|\$\$TypeSwitch|Species_", name):
        print(re.sub(r"/0x\w+", "", name), "<-", frame or "(the JDK)")
