# larger pipelines, fd juggling, read loops, exit statuses through pipes and subshells
seq 1 2000 | awk '{ print $1 % 97 }' | sort -n | uniq -c | sort -k1,1nr -k2,2n | head -n 3
seq 1 300 | while read n; do [ $((n % 100)) -eq 0 ] && echo "hundred $n"; done
exec 4<&0 0</dev/null; read line; echo "stdin now empty: $?"; exec 0<&4 4<&-
out=$( { echo out; echo err >&2; } 2>&1 1>/dev/null ); echo "captured: $out"
a=$( (sleep 0.1; echo late) & echo early; wait ); echo $a
set -o pipefail 2>/dev/null; false | true; echo "pipefail status $?"; set +o pipefail
( ( exit 3 ) ); echo "nested $?"
cat < /dev/null | wc -c
printf 'x%.0s' $(seq 1 5000) | wc -c
sh -c 'echo $((1 << 20))'
echo end
