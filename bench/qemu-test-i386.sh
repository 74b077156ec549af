#!/usr/bin/env bash
# QEMU's own i386 instruction test (tests/tcg/i386/test-i386.c from Debian's qemu source package), built as a
# static i386 program and run under jqemu-i386 and under a reference: the host itself when its kernel runs
# i386 programs, else qemu-i386. Prints how many output lines differ and the first differences.
# The source comes from tools/fetch-qemu-tests (a cache outside the repository); it is never committed.
# JQEMU_I386 overrides the command that runs jqemu-i386 (default bin/jqemu-i386, which builds on first use).
# Needs: deb-src entries in the apt sources, dpkg-dev (apt-get source), gcc-multilib, qemu-user.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
build=${JQEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/jqemu}/test-i386-build
mkdir -p "$build"
tests=$("$root/tools/fetch-qemu-tests")/i386
# JQEMU_NO_SEGS=1 leaves out the segment tests (modify_ldt and LDT selectors). linux-user's QemuTestI386Test runs the
# same comparison in CI, with the documented differences of test-i386-differences.tsv.
main_source="$tests/test-i386.c"
if [ "${JQEMU_NO_SEGS:-0}" = 1 ]; then
  sed 's|^#define TEST_SEGS|//#define TEST_SEGS|' "$tests/test-i386.c" > "$tests/test-i386-noseg.c"
  main_source="$tests/test-i386-noseg.c"
fi
gcc -m32 -O2 -static -fno-pie -no-pie -w -Wl,--no-warn-rwx-segments,-z,noexecstack -o "$build/test-i386" \
    "$main_source" "$tests/test-i386-code16.S" "$tests/test-i386-vm86.S" -lm
if "$build/test-i386" > "$build/reference.out" 2>/dev/null; then
  reference="the host CPU"
else
  qemu-i386 "$build/test-i386" > "$build/reference.out" 2>/dev/null || true
  reference="qemu-i386"
fi
start=$(date +%s.%N)
status=0
${JQEMU_I386:-$root/bin/jqemu-i386} "$build/test-i386" > "$build/jqemu.out" 2> "$build/jqemu.err" || status=$?
end=$(date +%s.%N)
total=$(wc -l < "$build/reference.out")
produced=$(wc -l < "$build/jqemu.out")
differing=$(diff "$build/reference.out" "$build/jqemu.out" | grep -c '^<' || true)
echo "test-i386: reference $reference, $total lines; jqemu-i386 wrote $produced lines (exit $status) in $(echo "$end - $start" | bc) s"
echo "test-i386: $differing reference lines missing or different under jqemu-i386"
[ -s "$build/jqemu.err" ] && echo "jqemu-i386 said: $(tail -1 "$build/jqemu.err")"
echo "differing instructions (first word of each differing reference line):"
diff "$build/reference.out" "$build/jqemu.out" | grep '^<' | awk '{print $2}' | sort | uniq -c | sort -rn | head -15
