#!/usr/bin/env bash
# Boots the tools/fetch-guests fixture (Debian's i386 kernel + busybox initramfs) to its shell, runs a
# trivial command through the initramfs's jqemu.run= switch and powers off (ACPI S5), under
# bin/jqemu-system-i386 (the translator, its default), bin/jqemu-system-i386 -accel interp (the interpreter)
# and qemu-system-i386 -accel tcg, with the same kernel, initrd and command line. Prints wall and CPU
# (user + system) seconds for each, and the host's load average before each run (the machine may be shared).
# Usage: bench/boot-vs-qemu.sh                 one boot each (jqemu, jqemu -accel interp, qemu)
#        bench/boot-vs-qemu.sh N ROOT...      N interleaved rounds: in each, one boot of every ROOT's
#          bin/jqemu-system-i386 (ROOT: a checkout, or a frozen copy of bin/ and dist/target/lib, its AOT cache
#          trained by one run) and one of qemu; compare only such interleaved series on a shared machine
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
. "$root/bin/find-jdk25"
jqemu_find_jdk25 || exit 1
if [ ! -f "$root/dist/target/lib/jqemu-system.jar" ]; then
  (cd "$root" && JAVA_HOME="$JQEMU_JAVA_HOME" MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" \
     mvn -q -B -DskipTests package >&2)
fi
fixture=$("$root/tools/fetch-guests")
vmlinuz=$(sed -n 's/^vmlinuz=//p' <<<"$fixture")
initramfs=$(sed -n 's/^initramfs=//p' <<<"$fixture")
append='console=ttyS0 cryptomgr.notests jqemu.run=true'
common=(-m 128 -nographic -no-reboot -kernel "$vmlinuz" -initrd "$initramfs" -append "$append")

# One boot; prints "name wall cpu" and fails if the guest did not reach its shell command.
run() {
  local name=$1 TIMEFORMAT='%R %U %S' t log load
  shift
  load=$(cut -d' ' -f1 /proc/loadavg)
  log=$(mktemp)
  t=$({ time "$@" "${common[@]}" </dev/null >"$log" 2>&1; } 2>&1) || { echo "$name failed:"; tail -20 "$log"; rm -f "$log"; return 1; }
  if ! grep -q 'jqemu.run: exit status 0' "$log"; then
    echo "$name did not run the command:"; tail -20 "$log"; rm -f "$log"; return 1
  fi
  rm -f "$log"
  awk -v n="$name" -v l="$load" '{ printf "%-36s wall %7.1f s   cpu %7.1f s   load before %s\n", n, $1, $2 + $3, l }' <<<"$t"
}

qemu() {
  if command -v qemu-system-i386 >/dev/null; then
    run "${1}qemu-system-i386 -accel tcg" qemu-system-i386 -accel tcg
  else
    echo "qemu-system-i386 not installed: skipped"
  fi
}

if [ $# -ge 2 ]; then
  rounds=$1; shift
  for r in $(seq 1 "$rounds"); do
    for copy in "$@"; do run "round $r $copy" "$copy/bin/jqemu-system-i386"; done
    qemu "round $r "
  done
  exit 0
fi
run "jqemu-system-i386" "$root/bin/jqemu-system-i386"
run "jqemu-system-i386 -accel interp" "$root/bin/jqemu-system-i386" -accel interp
qemu ""
