#!/usr/bin/env bash
# Start-up time of the launchers, without and with a JDK 25 AOT cache (JEP 483/514), which bin/jqemu-launch
# uses whenever dist/target/lib/jqemu.aot exists. This script (re)creates that cache with one training run
# of jqemu-system-i386 and prints the median wall time of N runs of each command (default 20).
# Usage: bench/startup.sh [runs]
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
runs=${1:-20}
lib=$root/dist/target/lib
aot=$lib/jqemu.aot
. "$root/bin/find-jdk25"
jqemu_find_jdk25 || exit 1
if [ ! -f "$lib/jqemu-system.jar" ]; then
  (cd "$root" && JAVA_HOME="$JQEMU_JAVA_HOME" MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" \
     mvn -q -B -DskipTests package >&2)
fi

# A realistic command line for training: it reads options, builds the configuration and stops.
training=(-M pc -m 512 -smp 2 -cpu pentium3 -device isa-debug-exit,iobase=0xf4,iosize=4 -nographic)
commands=("bin/jqemu-system-i386 -version" "bin/jqemu-img --version" "bin/jqemu-system-i386 ${training[*]}")

# Prints "wall cpu" in milliseconds for one run; CPU time (user + system, children included) is steadier
# than wall time when other work shares the machine.
ms() {
  local TIMEFORMAT='%R %U %S' t
  t=$({ time "$@" >/dev/null 2>&1; } 2>&1 || true)
  awk '{ printf "%d %d\n", $1 * 1000, ($2 + $3) * 1000 }' <<<"$t"
}

median() { sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }

# "wall / cpu" medians of a list of "wall cpu" pairs.
summary() {
  echo "$(printf '%s\n' "$@" | cut -d' ' -f1 | median) / $(printf '%s\n' "$@" | cut -d' ' -f2 | median)"
}

# Commands whose main class exists in this build (jqemu-img may not yet).
usable=()
cd "$root"
for c in "${commands[@]}"; do
  out=$($c 2>&1 || true)
  if [[ $out == *"Could not find or load main class"* ]]; then echo "skipped (main class not built yet): $c"; else usable+=("$c"); fi
done

# Training run: the JVM records what it loads and links, then writes the cache when the program exits.
rm -f "$aot"
JQEMU_JAVA_OPTS="-XX:AOTCacheOutput=$aot -Xlog:aot=error -Xlog:cds=error" bin/jqemu-system-i386 "${training[@]}" >/dev/null 2>&1 || true
[ -f "$aot" ] || { echo "startup.sh: the training run made no AOT cache" >&2; exit 1; }

echo "JVM: $("$JQEMU_JAVA_HOME/bin/java" -version 2>&1 | head -n 1); $(nproc) CPUs; load average before: $(cut -d' ' -f1 /proc/loadavg)"
echo "AOT cache: $aot ($(($(stat -c %s "$aot") / 1024 / 1024)) MiB), trained with: bin/jqemu-system-i386 ${training[*]}"
printf '%-22s %-22s %s\n' "no AOT: wall / CPU" "AOT: wall / CPU" "(median of $runs alternating runs, ms)"
for c in "${usable[@]}"; do
  with=() without=()
  for ((i = 0; i < runs; i++)); do
    # The launcher uses the cache when the file is there: hide it for the runs without.
    mv "$aot" "$aot.off"; without+=("$(ms $c)"); mv "$aot.off" "$aot"
    with+=("$(ms $c)")
  done
  printf '%-22s %-22s %s\n' "$(summary "${without[@]}")" "$(summary "${with[@]}")" "$c"
done
echo "load average after: $(cut -d' ' -f1 /proc/loadavg)"
