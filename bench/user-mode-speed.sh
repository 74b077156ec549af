#!/usr/bin/env bash
# User-mode speed: real programs under qemu-i386 (Debian's qemu-user, TCG) and jqemu-i386 (the dynamic
# translator, its default engine), side by side on the same inputs, printing wall-clock seconds and the
# ratio jqemu/qemu (JVM start included). Native i386 cannot run on a host kernel without i386 support
# (such a kernel answers "Exec format error"), so the native column is printed only where it runs.
#
# Workloads: busybox (static i386, from tools/fetch-guests) gzip -9, bzip2 and sha256sum of 16 MB of text,
# a busybox sh arithmetic loop of 1M iterations, and a CPU-bound C program (bench/programs/crunch.c,
# gcc -m32 -O2 -static), and Debian's dynamically linked xz -6 of the same text (xz-utils and its libraries
# in the tools/fetch-sysroot sysroot, run with -L; the row is left out when no sysroot can be made). Outputs
# of both emulators are compared: a difference is reported, not timed away. A second table splits gzip, bzip2
# and sha256sum into a fixed cost per run and a steady state per MB, from a second run on a quarter of the text.
#
# Usage: bench/user-mode-speed.sh [MiB of text, default 16] [sh loop iterations, default 1000000]
# Environment: JQEMU_I386 overrides the jqemu-i386 command (default bin/jqemu-i386), BUSYBOX the busybox
# binary, JQEMU_ENGINE=interp also times the interpreter (-accel interp) in a third column.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
mib=${1:-16}
loop=${2:-1000000}
jqemu=${JQEMU_I386:-$root/bin/jqemu-i386}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

busybox=$("$root/bench/guest-busybox.sh")

# 16 MB of text that compresses like prose (bench/make-text.sh).
"$root/bench/make-text.sh" "$mib" > "$work/text"
gcc -m32 -O2 -static -o "$work/crunch" "$root/bench/programs/crunch.c"

native_ok=no
if "$busybox" true 2>/dev/null; then native_ok=yes; fi

# seconds CMD...: runs CMD with stdin from $input, stdout to $work/out; prints "wall cpu" in seconds (cpu =
# user + system, the JVM's compiler threads included: steadier than wall time on a shared machine)
seconds() {
  local TIMEFORMAT='%R %U %S' t
  t=$({ time "$@" < "$input" > "$work/out"; } 2>&1 >/dev/null | tail -1)
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' <<<"$t"
}

# One untimed run first: after a build, bin/jqemu-launch trains jqemu-i386's AOT cache on first use (a few seconds, once).
$jqemu "$busybox" true </dev/null >/dev/null 2>&1 || true

printf '%-24s %8s %17s %17s %13s %s\n' workload native "qemu-i386 wall/cpu" "jqemu-i386 wall/cpu" "ratio wall/cpu" output
run() {
  local name=$1; shift
  local n=- q j i same
  if [ "$native_ok" = yes ] && [ "$1" != -L ]; then n=$(seconds "$@" | cut -d' ' -f1); fi
  q=($(seconds qemu-i386 "$@")); cp "$work/out" "$work/qemu.out"
  j=($(seconds $jqemu "$@"))
  qemu_wall=${q[0]} jqemu_wall=${j[0]}
  cmp -s "$work/qemu.out" "$work/out" && same=same || same=DIFFERENT
  printf '%-24s %8s %8.2f/%-8.2f %8.2f/%-8.2f %6.1fx/%-6.1fx %s' "$name" "$n" "${q[0]}" "${q[1]}" "${j[0]}" "${j[1]}" \
    "$(echo "${j[0]} / ${q[0]}" | bc -l)" "$(echo "${j[1]} / (${q[1]} + 0.005)" | bc -l)" "$same"
  if [ "${JQEMU_ENGINE:-}" = interp ]; then
    i=($(seconds $jqemu -accel interp "$@"))
    printf ' (interpreter %.2f/%.2f s)' "${i[0]}" "${i[1]}"
  fi
  echo
}

input=$work/text
run "gzip -9 (${mib} MB)" "$busybox" gzip -9 -c; full_gzip="$qemu_wall $jqemu_wall"
run "bzip2 (${mib} MB)" "$busybox" bzip2 -c; full_bzip2="$qemu_wall $jqemu_wall"
run "sha256sum (${mib} MB)" "$busybox" sha256sum; full_sha256sum="$qemu_wall $jqemu_wall"
if sysroot=$("$root/tools/fetch-sysroot" 2>/dev/null); then
  run "xz -6 (${mib} MB, dynamic)" -L "$sysroot" "$sysroot/usr/bin/xz" -6 -c
else
  echo "xz -6: left out (tools/fetch-sysroot could not make the i386 sysroot)"
fi
input=/dev/null
run "sh loop ($loop)" "$busybox" sh -c "i=0; while [ \$i -lt $loop ]; do i=\$((i + 1)); done; echo \$i"
run "crunch.c (500000)" "$work/crunch" 500000

# Start-up and steady state: the bar's three workloads again on the text's first quarter. What the larger run
# took more is the steady state (seconds per MB); the rest of the larger run is the fixed cost of a run (the
# emulator's start, translation and the JIT's warm-up), and busybox `true` is its start alone.
quarter=$(( (mib + 3) / 4 ))
if [ "$quarter" -lt "$mib" ]; then
  head -c $((quarter * 1048576)) "$work/text" > "$work/quarter"
  input=/dev/null
  t_q=$(seconds qemu-i386 "$busybox" true | cut -d' ' -f1); t_j=$(seconds $jqemu "$busybox" true | cut -d' ' -f1)
  echo
  echo "start-up and steady state (wall s; ${quarter} MB against ${mib} MB; busybox true: qemu-i386 $t_q, jqemu-i386 $t_j)"
  printf '%-12s %22s %22s %13s\n' workload "qemu-i386 s/MB fixed" "jqemu-i386 s/MB fixed" "steady ratio"
  input=$work/quarter
  steady() {
    local name=$1 full=($2); shift 2
    local q j
    q=$(seconds qemu-i386 "$@" | cut -d' ' -f1); j=$(seconds $jqemu "$@" | cut -d' ' -f1)
    awk -v n="$name" -v m="$mib" -v k="$quarter" -v qf="${full[0]}" -v jf="${full[1]}" -v qs="$q" -v js="$j" 'BEGIN {
      qr = (qf - qs) / (m - k); jr = (jf - js) / (m - k)
      printf "%-12s %13.4f %8.2f %13.4f %8.2f %12s\n", n, qr, qf - qr * m, jr, jf - jr * m, (qr > 0 ? sprintf("%.2fx", jr / qr) : "-") }'
  }
  steady gzip "$full_gzip" "$busybox" gzip -9 -c
  steady bzip2 "$full_bzip2" "$busybox" bzip2 -c
  steady sha256sum "$full_sha256sum" "$busybox" sha256sum
fi
[ "$native_ok" = yes ] || echo "native: this host kernel cannot run i386 programs (Exec format error), so no native column"
