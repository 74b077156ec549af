#!/usr/bin/env bash
# jqemu-img convert against qemu-img convert, side by side on the same files (issue 7's benchmark).
# Source: a 2 GiB qcow2 holding 768 MiB of real file data (96 runs of 8 MiB from a tar of /usr, spread
# over the disk, so it compresses like a real system disk). Three conversions, each run N times (default
# 5) by both tools, printing the median wall time and the ratio jqemu/qemu (bar: <= 1.2), and CPU times.
#   1. qcow2 -> raw          convert -O raw
#   2. raw -> qcow2          convert -O qcow2
#   3. qcow2 -> compressed   convert -c -O qcow2 (jqemu compresses on -m threads, default 8)
# Usage: bench/block-convert.sh [runs] [workdir] [raw|qcow2|compressed ...]
#   workdir default: a fresh directory under /tmp; conversions default: all three.
# JQEMU_BENCH_RT=1 (root only) runs both tools under the round-robin real-time scheduler (chrt -r 10), so
# that on a machine shared with other work they get the cores as on a quiet one (the kernel still leaves
# other work 5% of each second): a way to compare the tools at load 5-8 (block/README.md, session 7).
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
runs=${1:-5}
work=${2:-$(mktemp -d /tmp/jqemu-bench.XXXXXX)}
conversions=("${@:3}")
[ ${#conversions[@]} -gt 0 ] || conversions=(raw qcow2 compressed)
command -v qemu-img >/dev/null || { echo "qemu-img not found (Debian package qemu-utils)" >&2; exit 1; }
. "$root/bin/find-jdk25"
jqemu_find_jdk25 || exit 1
# The module jars, rebuilt whenever a source of block or util is newer (an AOT cache needs jars).
jars=$root/block/target/jqemu-block-0.1.0-SNAPSHOT.jar:$root/util/target/jqemu-util-0.1.0-SNAPSHOT.jar
if [ ! -f "${jars%%:*}" ] || [ ! -f "${jars##*:}" ] \
   || [ -n "$(find "$root/block/src/main" "$root/util/src/main" -newer "${jars%%:*}" -print -quit)" ]; then
  (cd "$root" && JAVA_HOME="$JQEMU_JAVA_HOME" MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" \
     mvn -q -B -o -pl block -am -DskipTests package >&2)
fi
# The JVM flags bin/jqemu-launch gives jqemu-img (C1 only, not for the ClassFile API, transparent huge pages
# where the kernel offers them, serial GC, and an AOT cache of our classes: JDK 25, JEP 483/514, which the
# launcher trains too), without its build check.
# JQEMU_BENCH_AOT=0 measures a plain JVM start instead.
aot_opts=()
jqemu_thp_option
thp_opts=(${JQEMU_THP_OPTION:+"$JQEMU_THP_OPTION"})
java_img() { "$JQEMU_JAVA_HOME/bin/java" "${aot_opts[@]}" -XX:TieredStopAtLevel=1 -XX:CompileCommand=quiet \
               '-XX:CompileCommand=exclude,jdk.internal.classfile.*::*' "${thp_opts[@]}" -XX:+UseSerialGC \
               --enable-native-access=ALL-UNNAMED --add-exports java.base/jdk.internal.misc=ALL-UNNAMED -cp "$jars" "$@"; }
jqemu_img() { java_img org.jqemu.block.img.Main "$@"; }

mkdir -p "$work"
cd "$work"
if [ ! -f src.qcow2 ]; then
  echo "preparing $work/src.raw and src.qcow2 (2 GiB, 768 MiB of data)" >&2
  tar cf - /usr/lib /usr/share 2>/dev/null | head -c $((768 << 20)) > data.bin || true
  truncate -s 2G src.raw
  for i in $(seq 0 95); do
    dd if=data.bin of=src.raw bs=8M skip="$i" seek=$((i * 21 / 10)) count=1 conv=notrunc status=none
  done
  rm -f data.bin
  qemu-img convert -O qcow2 src.raw src.qcow2
fi

if [ "${JQEMU_BENCH_AOT:-1}" != 0 ]; then
  # Training run (the JVM records what it loads and links, and writes the cache at exit): the three
  # conversions measured, on an 8 MiB image of its own, in one JVM (org.jqemu.block.img.Training), as
  # bin/jqemu-launch trains the cache it gives jqemu-img.
  aot=$work/jqemu-img.aot
  if [ ! -f "$aot" ] || [ "$aot" -ot "${jars%%:*}" ]; then
    rm -f "$aot"
    aot_opts=(-XX:AOTCacheOutput="$aot" -Xlog:aot=error -Xlog:cds=error)
    java_img org.jqemu.block.img.Training "$work" >/dev/null 2>&1
  fi
  aot_opts=(-XX:AOTCache="$aot" -Xlog:aot=off -Xlog:cds=off)
fi

# Prints "wall user sys" in milliseconds for one run. The previous output is deleted and synced first, so
# that each tool writes a new file as the other did. CPU time (user, and system: mostly the kernel copying
# to and from the page cache) is steadier than wall time when other work shares the machine.
# Real-time scheduling, if asked: this shell's policy, which every command it starts inherits.
rt=
if [ "${JQEMU_BENCH_RT:-0}" != 0 ]; then
  chrt -r -p 10 $$ >/dev/null 2>&1 || { echo "JQEMU_BENCH_RT needs chrt and root (real-time scheduling)" >&2; exit 1; }
  rt="chrt -r 10"
fi
ms() {
  local TIMEFORMAT='%R %U %S' t
  rm -f out.img
  sync
  t=$({ time "$@" >/dev/null; } 2>&1)
  awk '{ printf "%d %d %d\n", $1 * 1000, $2 * 1000, $3 * 1000 }' <<<"$t"
}
median() { sort -n | awk '{ t[NR] = $1 } END { print t[int((NR + 1) / 2)] }'; }
# Column $2 of a list of "wall user sys" lines: "median" or, with $3 = range, "min-max".
column() {
  local values
  values=$(printf '%s\n' "${@:3}" | cut -d' ' -f"$1" | sort -n)
  if [ "$2" = range ]; then echo "$(head -n 1 <<<"$values")-$(tail -n 1 <<<"$values")"; else median <<<"$values"; fi
}

# Runs alternate (qemu-img first, then jqemu-img first), so that neither tool always follows the
# other's deletion of its output; the figures are medians, with the spread of wall times.
# On a virtual machine whose host reclaims freed guest memory (free page reporting), writing to
# memory freed a few seconds earlier costs much more kernel time; alternating and taking medians
# keeps that from favouring either tool.
bench() {
  local name=$1; shift
  local q=() j=() i
  for ((i = 1; i <= runs; i++)); do
    if ((i % 2)); then
      q+=("$(ms qemu-img convert "$@" out.img)")
      j+=("$(ms jqemu_img convert "$@" out.img)")
    else
      j+=("$(ms jqemu_img convert "$@" out.img)")
      q+=("$(ms qemu-img convert "$@" out.img)")
    fi
  done
  local qw jw
  qw=$(column 1 median "${q[@]}"); jw=$(column 1 median "${j[@]}")
  printf '%-26s wall: qemu-img %5d ms (%s)  jqemu-img %5d ms (%s)  ratio %s\n' "$name" \
    "$qw" "$(column 1 range "${q[@]}")" "$jw" "$(column 1 range "${j[@]}")" "$(awk -v a="$jw" -v b="$qw" 'BEGIN { printf "%.2f", a / b }')"
  printf '%-26s user: qemu-img %5d ms  jqemu-img %5d ms | sys: qemu-img %5d ms  jqemu-img %5d ms\n' "" \
    "$(column 2 median "${q[@]}")" "$(column 2 median "${j[@]}")" "$(column 3 median "${q[@]}")" "$(column 3 median "${j[@]}")"
}

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (wall ratios mean little when the machine is busy)"
echo "median of $runs alternating runs (wall: min-max in brackets), $(nproc) cores, files in $work"
echo "jqemu-img start-up: ${aot_opts[*]:-plain JVM (no AOT cache)}${rt:+; both tools under $rt}"
for c in "${conversions[@]}"; do
  case "$c" in
    raw) bench "qcow2 -> raw" -f qcow2 -O raw src.qcow2 ;;
    qcow2) bench "raw -> qcow2" -f raw -O qcow2 src.raw ;;
    compressed) bench "qcow2 -> qcow2 -c (zlib)" -f qcow2 -c -O qcow2 src.qcow2 ;;
    *) echo "unknown conversion '$c' (raw, qcow2, compressed)" >&2; exit 1 ;;
  esac
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -f out.img
