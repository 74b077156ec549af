# grep -E, sed, awk, sort, uniq, wc, head, tail, cut, tr, printf, expr, seq
seq 1 50 > n.txt
grep -E '^(1|2)[05]$' n.txt
sed -n '3,5p; 48~1p' n.txt
awk '{s+=$1} END {print "sum", s, "avg", s/NR}' n.txt
printf '%s:%d:%x\n' alpha 42 255 beta 7 16
printf 'c b a\nz y x\n' | awk '{print $3, $2, $1}' | sort -r
echo 'a,b,c,d' | cut -d, -f2,4
echo 'Hello World' | tr -d 'lo' | tr ' ' '_'
tail -n 3 n.txt; head -n 2 n.txt
wc -c n.txt; wc -w < n.txt
expr 6 \* 7; expr length abcdef; expr 10 / 3 + 1
seq 10 -3 1 | tr '\n' ' '; echo
sort -n -r n.txt | head -n 3 | uniq
echo "abc123def" | grep -Eo '[0-9]+'
awk 'BEGIN { for (i = 1; i <= 5; i++) printf "%d^2=%d\n", i, i*i }'
echo missing | grep -q nothing; echo "grep status $?"
