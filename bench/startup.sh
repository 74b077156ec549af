#!/usr/bin/env bash
# Start-up time of the launchers with the AOT cache each program trains after a build (JDK 25, JEP 483/514/515:
# classes loaded and linked, method profiles; bin/jqemu-launch's use_own_aot_cache) against the same launch with
# AOT caches off (JQEMU_JAVA_OPTS=-XX:AOTMode=off). Prints the median wall and CPU time of N alternating runs of
# each command (default 20).
# Usage: bench/startup.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
runs=${1:-20}
cd "$root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
qemu-img create -q -f qcow2 "$work/empty.qcow2" 1G 2>/dev/null || bin/jqemu-img create -q -f qcow2 "$work/empty.qcow2" 1G

# Short commands: versions, an info, and jqemu-system-i386 building a machine and running its first slice
# of instructions (JQEMU_STOP_AFTER=1; SeaBIOS's first instructions: no disk, nothing else to wait for).
commands=("bin/jqemu-img --version" "bin/jqemu-img info $work/empty.qcow2" "bin/jqemu-i386 -version"
          "bin/jqemu-system-i386 -version"
          "env JQEMU_STOP_AFTER=1 bin/jqemu-system-i386 -M pc -m 512 -device isa-debug-exit,iobase=0xf4,iosize=4 -nographic")

# Prints "wall cpu" in milliseconds for one run; CPU time (user + system, children included) is steadier
# than wall time when other work shares the machine.
ms() {
  local TIMEFORMAT='%R %U %S' t
  t=$({ time "$@" </dev/null >/dev/null 2>&1; } 2>&1 || true)
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}
median() { sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
# "wall / cpu" medians of a list of "wall cpu" pairs.
summary() {
  echo "$(printf '%s\n' "$@" | cut -d' ' -f1 | median) / $(printf '%s\n' "$@" | cut -d' ' -f2 | median)"
}

# One untimed run each first: a fresh build trains each program's cache on its first launch.
for c in "${commands[@]}"; do $c </dev/null >/dev/null 2>&1 || true; done

echo "$(nproc) CPUs; load average before: $(cut -d' ' -f1 /proc/loadavg); caches: $(cd dist/target/lib && ls -- *.aot 2>/dev/null | tr '\n' ' ')"
printf '%-22s %-22s %s\n' "no AOT: wall / CPU" "AOT: wall / CPU" "(median of $runs alternating runs, ms)"
for c in "${commands[@]}"; do
  with=() without=()
  for ((i = 0; i < runs; i++)); do
    without+=("$(JQEMU_JAVA_OPTS=-XX:AOTMode=off ms $c)")
    with+=("$(ms $c)")
  done
  printf '%-22s %-22s %s\n' "$(summary "${without[@]}")" "$(summary "${with[@]}")" "$c"
done
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)"
