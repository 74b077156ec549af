#!/usr/bin/env bash
# User-mode speed: a CPU-bound static i386 program (bench/programs/crunch.c) under jqemu-i386 and qemu-i386.
# Prints wall-clock seconds for each and checks that both print the same result. A figure, not a test.
# JQEMU_I386 overrides the jqemu-i386 command (default bin/jqemu-i386); the first argument is the problem size.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
size=${1:-500000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -m32 -O2 -static -o "$work/crunch" "$root/bench/programs/crunch.c"
seconds() { local s e; s=$(date +%s.%N); "$@" > "$work/out.$$" ; e=$(date +%s.%N); echo "$e - $s" | bc; }
q=$(seconds qemu-i386 "$work/crunch" "$size"); cp "$work/out.$$" "$work/qemu.out"
j=$(seconds ${JQEMU_I386:-$root/bin/jqemu-i386} "$work/crunch" "$size"); cp "$work/out.$$" "$work/jqemu.out"
cmp -s "$work/qemu.out" "$work/jqemu.out" && same=same || same=DIFFERENT
echo "crunch $size: qemu-i386 ${q}s, jqemu-i386 ${j}s, output $same: $(cat "$work/jqemu.out")"
