# background jobs, wait, kill, trap, exit statuses
sleep 0.2 & p=$!
(exit 5) & q=$!
wait $q; echo "wait q: $?"
wait $p; echo "wait p: $?"
# whether ash also prints a job notice ("Terminated") for the killed background job depends on whether its
# SIGCHLD is reaped before `wait` runs: timing, not semantics, so that notice goes to /dev/null
( sleep 10 & s=$!; kill $s; wait $s; echo "killed sleep: $?" ) 2>/dev/null
trap 'echo got USR1' USR1
kill -USR1 $$
echo after-usr1
trap 'echo exiting via trap' EXIT
sh -c 'kill -TERM $$'; echo "child TERM: $?"
sh -c 'exit 42'; echo "child exit: $?"
for i in 1 2 3; do (echo job $i > job$i.txt) & done; wait; cat job1.txt job2.txt job3.txt
echo all-waited
