#!/usr/bin/env python3
"""CPU seconds per thread of one command: which of a jqemu run's threads (the guest's, HotSpot's C1 and C2
compilers, the translator) spent what, on a machine where wall time is noise.

Usage: bench/thread-cpu.py OUT IN CMD...   (CMD's stdin from IN, stdout to OUT; its stderr's "jit:" lines, from
jqemu-i386 -d jit, are printed too). Polls /proc/PID/task/*/stat every 20 ms and prints, at exit, the wall time and
each thread name's user+system seconds (trailing digits dropped, so "C2 CompilerThread0" and "...1" add up); the
last 20 ms of each thread are missed. The launcher execs the JVM, so PID is the JVM's. Used for
accel-tcg/README-design.md, "Session 10 (usermode)".
"""
import collections
import os
import re
import subprocess
import sys
import time


def main():
    out, inp, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    ticks = os.sysconf('SC_CLK_TCK')
    start = time.time()
    with open(inp) as stdin, open(out, 'w') as stdout:
        p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
        last = {}
        while p.poll() is None:
            sample(p.pid, ticks, last)
            time.sleep(0.02)
        wall = time.time() - start
        err = p.stderr.read().decode(errors='replace')
    groups = collections.defaultdict(float)
    for name, cpu in last.values():
        groups[re.sub(r'\d+$', '', name)] += cpu
    print(f"wall {wall:.2f} cpu~{sum(groups.values()):.2f} "
          + " ".join(f"{k}={v:.2f}" for k, v in sorted(groups.items(), key=lambda x: -x[1]) if v >= 0.01))
    for line in err.splitlines():
        if line.startswith('jit:'):
            print(line)


def sample(pid, ticks, last):
    """Records each live thread's name and user+system seconds so far."""
    try:
        tasks = os.listdir(f'/proc/{pid}/task')
    except OSError:
        return
    for t in tasks:
        try:
            with open(f'/proc/{pid}/task/{t}/stat') as f:
                s = f.read()
        except OSError:
            continue
        name = s[s.index('(') + 1:s.rindex(')')]
        fields = s[s.rindex(')') + 2:].split()
        last[t] = (name, (int(fields[11]) + int(fields[12])) / ticks)


if __name__ == '__main__':
    main()
