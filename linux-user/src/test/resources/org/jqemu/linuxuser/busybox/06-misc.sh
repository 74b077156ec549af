# date, sleep, kill, exit status, nested shells, here documents, read
t=$(date +%s); [ "$t" -gt 1600000000 ] && echo date-ok
sleep 0.1 && echo slept
cat <<END
here $((3 + 4)) doc
END
echo "a b c" | { read x y z; echo "$z $y $x"; }
i=0; while [ $i -lt 5 ]; do i=$((i + 1)); done; echo "i=$i"
case foo in f*) echo matched;; esac
sh -c 'echo nested $0 $1' zero one
echo 'echo from script file; exit 3' > s.sh; sh s.sh; echo "script: $?"
printf '#!%s sh\necho shebang "$@"\nexit 6\n' "$BB" > run.sh; chmod +x run.sh
./run.sh a 'b c'; echo "shebang status $?"
ls / > /dev/null && echo devnull-ok
kill -0 $$ && echo self-alive
sh -c 'trap "echo term-trapped; exit 9" TERM; kill -TERM $$; sleep 1'; echo "trap sub $?"
nosuchcommand 2>&1 | sed 's/^.*: //'
echo bye; exit 4
