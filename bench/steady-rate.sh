#!/usr/bin/env bash
# Warm-up and steady state of one or more jqemu-i386 builds side by side: busybox gzip -9, bzip2 and sha256sum of
# MiB megabytes of text (bench/make-text.sh), ROUNDS times each, interleaved, with -d rate (linux-user RateLog:
# the guest instructions retired every 50 ms). Per build and workload, the medians over the rounds of:
#   wall    seconds, the JVM's start included;
#   ramp    seconds from the run's start (after the JVM's) until the guest first ran a 250 ms stretch at 90% of
#           the steady rate: translation and the JIT's warm-up;
#   steady  guest M instructions/s over the second half of the run, the rate the run settles at;
#   M insns guest instructions (the same for every build, else the builds did not run the same code).
# The steady rate leaves out the JVM's start and the warm-up, and the machine's variations over a run's first
# seconds, so it compares two translators more closely than wall time does on a busy host.
# Usage: bench/steady-rate.sh [ROUNDS, default 5] [MiB, default 16] [JQEMU-I386 ... (default bin/jqemu-i386)]
# Each JQEMU-I386 is a command, split at spaces: "env JQEMU_JAVA_OPTS=-Dx=y path/bin/jqemu-i386" runs a build with options.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
rounds=${1:-5}
mib=${2:-16}
shift $(( $# < 2 ? $# : 2 ))
builds=("$@")
[ ${#builds[@]} -gt 0 ] || builds=("$root/bin/jqemu-i386")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
busybox=$("$root/bench/guest-busybox.sh")
"$root/bench/make-text.sh" "$mib" > "$work/text"
for b in "${builds[@]}"; do $b "$busybox" true </dev/null >/dev/null 2>&1 || true; done # (AOT cache training, once)

workloads=("gzip -9 -c" "bzip2 -c" "sha256sum")
# analyse LOG: "ramp steady insns" from the rate lines ("rate: MS INSTRUCTIONS")
analyse() {
  awk '$1 == "rate:" { t[n] = $2; c[n] = $3; n++ }
    END {
      if (n < 4) { print "- - " (n ? c[n-1] / 1e6 : "-"); exit }
      last = n - 1; h = 0
      while (t[h] < t[last] / 2) h++
      steady = (c[last] - c[h]) / (t[last] - t[h])            # instructions per ms
      ramp = "-"
      for (j = 1; j <= last && ramp == "-"; j++) {
        i = j; while (i > 0 && t[j] - t[i] < 250) i--
        if (t[j] - t[i] >= 250 && (c[j] - c[i]) / (t[j] - t[i]) >= 0.9 * steady) ramp = sprintf("%.2f", t[i] / 1000)
      }
      printf "%s %.0f %.1f\n", ramp, steady / 1000, c[last] / 1e6
    }' "$1"
}
for ((r = 0; r < rounds; r++)); do
  for w in "${workloads[@]}"; do
    for k in "${!builds[@]}"; do
      start=$(date +%s%N)
      ${builds[$k]} -d rate -D "$work/rate.log" "$busybox" $w < "$work/text" > "$work/out.$k"
      end=$(date +%s%N)
      echo "$(( (end - start) / 1000000 )) $(analyse "$work/rate.log")" >> "$work/${w%% *}.$k"
      [ "$k" = 0 ] || cmp -s "$work/out.0" "$work/out.$k" || echo "${w%% *}: build $k wrote other output than build 0" >&2
    done
  done
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }
printf '%-10s %-5s %8s %8s %10s %10s   %s\n' workload build wall ramp steady "M insns" "(medians of $rounds rounds, ${mib} MB)"
for w in "${workloads[@]}"; do
  for k in "${!builds[@]}"; do
    f="$work/${w%% *}.$k"
    printf '%-10s %-5s %8.2f %8s %10s %10s\n' "${w%% *}" "$k" "$(cut -d' ' -f1 "$f" | median | awk '{ print $1 / 1000 }')" \
      "$(cut -d' ' -f2 "$f" | grep -v '^-$' | median)" "$(cut -d' ' -f3 "$f" | grep -v '^-$' | median)" "$(cut -d' ' -f4 "$f" | median)"
  done
done
for k in "${!builds[@]}"; do echo "build $k: ${builds[$k]}"; done
