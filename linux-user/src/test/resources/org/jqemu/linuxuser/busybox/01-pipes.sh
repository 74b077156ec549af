# pipes, redirections, subshells, command substitution
echo hello | tr a-z A-Z
printf 'b\na\nc\nb\n' | sort | uniq -c | sed 's/^ *//'
seq 1 100 | grep -E '^[1-3]+$' | wc -l
x=$(echo inner $(echo nested))
echo "x=$x"
(cd /; pwd)
pwd | sed "s|$PWD|HERE|"
{ echo to-stderr >&2; echo to-stdout; } 2>err.txt
cat err.txt
echo appended >> err.txt; wc -l < err.txt
exec 3>fd3.txt; echo via-fd3 >&3; exec 3>&-; cat fd3.txt
(exit 7); echo "subshell status $?"
false | true; echo "pipeline status $?"
seq 1 20000 | head -n 2
yes | head -c 10; echo
echo done >&2
