#!/usr/bin/env bash
# Prints the path of the static i386 busybox the user-mode benchmarks run: $BUSYBOX if set, else the one
# tools/fetch-guests caches (fetching the guests first when there is none yet).
set -euo pipefail
if [ -n "${BUSYBOX:-}" ]; then echo "$BUSYBOX"; exit 0; fi
find_cached() { ls "${XDG_CACHE_HOME:-$HOME/.cache}"/jqemu/guests/*/busybox 2>/dev/null | head -1 || true; }
busybox=$(find_cached)
if [ -z "$busybox" ] || [ ! -x "$busybox" ]; then
  "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../tools/fetch-guests" >/dev/null
  busybox=$(find_cached)
fi
[ -x "$busybox" ] || { echo "guest-busybox.sh: no busybox after tools/fetch-guests" >&2; exit 1; }
echo "$busybox"
