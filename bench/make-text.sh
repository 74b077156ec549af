#!/usr/bin/env bash
# Writes MiB megabytes of text that compresses like prose to stdout: numbered lines of words drawn from a fixed
# list by a fixed pseudo-random sequence, the same bytes on every machine (the user-mode benchmarks' input).
# Usage: bench/make-text.sh MiB > FILE
set -euo pipefail
awk -v bytes=$(( ${1:?usage: make-text.sh MiB} * 1048576 )) 'BEGIN {
  split("the quick brown fox jumps over a lazy dog while seven wizards quietly hex jovial boxers in june", w, " ");
  n = length(w); total = 0; i = 0; seed = 12345;
  while (total < bytes) {
    line = sprintf("%08d", i++);
    for (k = 0; k < 10; k++) { seed = (seed * 1103515245 + 12345) % 2147483648; line = line " " w[1 + int(seed / 65536) % n]; }
    print line; total += length(line) + 1;
  }
}'
