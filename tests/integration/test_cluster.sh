#!/bin/sh
# test_cluster.sh - a cluster that stays up, with real processes on
# loopback and ports picked at run time: `sluice coordinator`, two
# `sluice worker --connect`, jobs sent with `sluice submit` from this
# shell, asked about with `jobs`, `status`, `workers`, stopped with
# `cancel` and `stop`. Outputs are compared byte for byte with `sluice run`
# of the same job, and the bad cases (no coordinator, unknown ids, a
# missing input, a non-loopback --listen) have their defined outcome. Then
# the journal: kill -9 of the coordinator with a job running and one
# queued, a restart on the same --state: both end with the output they
# would have had, the workers rejoin by themselves, the history stays.
. "$(dirname "$0")/lib.sh"

awk 'BEGIN { srand(11); for (i = 0; i < 60000; i++) {
	line = ""; for (j = 0; j < 8; j++) line = line " w" int(rand() * rand() * 2000);
	print line } }' >"$T/in.txt"
gen_text 5 3000 space >"$T/small.txt"
# A mapper that holds its map task 3 s (streaming commands are split on
# blanks, as Hadoop's are, not run by a shell).
printf '#!/bin/sh\nsleep 3\nexec cat\n' >"$T/slowcat"
chmod +x "$T/slowcat"

# --- bad cases before any coordinator runs ---------------------------------

run_sluice jobs --coordinator tcp://127.0.0.1:1
expect_rc "no coordinator: exit status" 1
expect_sluice_error "no coordinator: the error names it" \
	"no answer .*tcp://127.0.0.1:1"
run_sluice coordinator --listen tcp://0.0.0.0:0
expect_rc "a --listen beyond loopback: refused" 2
expect_sluice_error "a --listen beyond loopback: why" "loopback"

# --- a coordinator and two workers ------------------------------------------

# Never the user's ~/.local/state/sluice.
SLUICE_STATE=$T/state
export SLUICE_STATE

: >"$T/ep"
"$SLUICE" coordinator --listen tcp://127.0.0.1:0 --heartbeat-interval 100 \
	--heartbeat-timeout 2000 --max-running 2 >"$T/ep" 2>"$T/coord.err" &
COORD=$!
poll_for "the coordinator's endpoint" test -s "$T/ep"
EP=$(cat "$T/ep")
check "the coordinator says where it listens" \
	grep -qx 'tcp://127\.0\.0\.1:[0-9][0-9]*' "$T/ep"
"$SLUICE" worker --connect "$EP" --slots 1 --bind none 2>"$T/w1.err" &
W1=$!
"$SLUICE" worker --connect "$EP" --slots 1 --bind none 2>"$T/w2.err" &
W2=$!
workers_joined() {
	[ "$("$SLUICE" workers --json --coordinator "$EP" |
		grep -c '"slots": 1')" -eq 2 ]
}
poll_for "two workers" workers_joined
run_sluice workers --coordinator "$EP"
expect_rc "workers: exit status" 0
check "workers: a table of the two" test "$(grep -c ' 1 ' "$T/out")" -ge 2

# Two jobs submitted at once, a third with --wait: each output is the
# one `sluice run` makes.
run_sluice submit wordcount "$T/in.txt" -o "$T/c1" --coordinator "$EP" \
	--partitions 3 --split-size 1M
expect_rc "submit: exit status" 0
J1=$(cat "$T/out")
check "submit: prints the job id" grep -qx '[0-9][0-9]*' "$T/out"
run_sluice submit aggregate "$SLUICE_SRCDIR/tests/integration/lib.sh" \
	-o "$T/bad" --coordinator "$EP" --key x --agg count
J2=$(cat "$T/out")
run_sluice submit wordcount "$T/small.txt" -o "$T/c3" --coordinator "$EP" \
	--wait
expect_rc "submit --wait: exit status" 0
expect_err "submit --wait: the summary" "job wordcount done"
poll_for "job $J1 to succeed" state_is "$J1" succeeded
poll_for "job $J2 to fail" state_is "$J2" failed
run_sluice run wordcount "$T/in.txt" -o "$T/r1" --partitions 3 \
	--split-size 1M --workers 2
check_same_output "a submitted job's output is sluice run's" "$T/r1" "$T/c1"
run_sluice run wordcount "$T/small.txt" -o "$T/r3" --workers 2
check_same_output "default partitions: one a worker slot, as sluice run" \
	"$T/r3" "$T/c3"
run_sluice status "$J2" --coordinator "$EP"
expect_rc "status of a failed job: exit status" 0
out_lines() {
	cat "$T/out"
}
expect_line "status of a failed job: its error" "^error .*'x'" "stdout line" \
	out_lines
expect_line "status of a failed job: its failed attempt" \
	"^failed  *map task 0 attempt 0 on worker [0-9]*: .*'x'" "stdout line" \
	out_lines
# The attempt log: every task of a job that succeeded has its attempt that
# succeeded; the failed job's one attempt says why.
run_sluice logs "$J1" --coordinator "$EP"
expect_rc "logs: exit status" 0
tasks_ok() { # tasks with an attempt that succeeded, in $T/out
	awk '$5 == "succeeded" { ok[$1 " " $2] = 1 }
		END { n = 0; for (k in ok) n++; print n }' "$T/out"
}
"$SLUICE" status "$J1" --json --coordinator "$EP" >"$T/j1.json"
j1_tasks=$(sed -n 's/^ *"\(maps\|reduces\)": \([0-9]*\),*$/\2/p' \
	"$T/j1.json" | awk '{ n += $1 } END { print n }')
check "logs: each of the $j1_tasks tasks has an attempt that succeeded" \
	test "$(tasks_ok)" -eq "$j1_tasks"
run_sluice logs "$J2" --coordinator "$EP"
check "logs of a failed job: its attempt and why" \
	grep -q "^map 0 .* failed .*'x'" "$T/out"
run_sluice logs "$J2" --coordinator "$EP" --json
check "logs --json: the attempt's state" grep -q '"state": "failed"' "$T/out"
run_sluice logs 999 --coordinator "$EP"
expect_rc "logs of an unknown id: exit status" 1
expect_sluice_error "logs of an unknown id: message" "no job 999"
run_sluice jobs --coordinator "$EP" --json
check "jobs --json: three jobs" test "$(grep -c '"id":' "$T/out")" -eq 3
run_sluice jobs --coordinator "$EP"
check "jobs: a table with a line a job" test "$(wc -l <"$T/out")" -eq 4

# Fair share: a big job (6 maps of 3 s on the 2 slots) then a small one;
# the small one gets the next slot that frees and ends while the big one
# still runs, instead of waiting for it.
gen_text 6 12000 space >"$T/big.txt"
run_sluice submit streaming "$T/big.txt" -o "$T/big" --coordinator "$EP" \
	--mapper "$T/slowcat" --reducer cat --partitions 2 --split-size 64K
JB=$(cat "$T/out")
poll_for "job $JB to run" state_is "$JB" running
run_sluice submit wordcount "$T/small.txt" -o "$T/fair" --coordinator "$EP" \
	--wait
expect_rc "fair share: the small job behind a big one" 0
check "fair share: it ended while the big job still ran" \
	state_is "$JB" running
check_same_output "fair share: its output" "$T/r3" "$T/fair"
poll_for "job $JB to succeed" state_is "$JB" succeeded
run_sluice run streaming "$T/big.txt" -o "$T/rbig" --mapper cat \
	--reducer cat --partitions 2 --split-size 64K --workers 2
check_same_output "fair share: the big job's output" "$T/rbig" "$T/big"

# Cancel: of a running job (its attempts stop, no output that looks
# complete, state canceled), and of one that waits behind the two that
# run (--max-running 2).
run_sluice submit streaming "$T/small.txt" -o "$T/slow" --coordinator "$EP" \
	--mapper "$T/slowcat" --reducer cat --partitions 1
JS=$(cat "$T/out")
run_sluice submit streaming "$T/small.txt" -o "$T/slow2" \
	--coordinator "$EP" --mapper "$T/slowcat" --reducer cat --partitions 1
JS2=$(cat "$T/out")
run_sluice submit wordcount "$T/small.txt" -o "$T/queued" \
	--coordinator "$EP"
JQ=$(cat "$T/out")
poll_for "job $JS to run" state_is "$JS" running
check "--max-running 2: the third job waits" state_is "$JQ" queued
run_sluice cancel "$JQ" --coordinator "$EP"
expect_rc "cancel of a queued job: exit status" 0
run_sluice cancel "$JS" --coordinator "$EP"
expect_rc "cancel of a running job: exit status" 0
check "cancel: the running job is canceled" state_is "$JS" canceled
check "cancel: the queued job is canceled" state_is "$JQ" canceled
expect_no_success "cancel: no output of the running job" "$T/slow"
check_absent "cancel: no _temporary" "$T/slow/_temporary"
expect_no_success "cancel: no output of the queued job" "$T/queued"
run_sluice cancel "$JS" --coordinator "$EP"
expect_rc "cancel of a job that ended: exit status" 1
expect_sluice_error "cancel of a job that ended: why" "ended already"
poll_for "job $JS2 to succeed" state_is "$JS2" succeeded
# The workers are free again for the next job.
run_sluice submit wordcount "$T/small.txt" -o "$T/after" --coordinator "$EP" \
	--wait
expect_rc "a job after a cancel: exit status" 0
check_same_output "a job after a cancel: its output" "$T/r3" "$T/after"

# submit --wait draws the bar `sluice run` draws.
run_sluice submit streaming "$T/small.txt" -o "$T/barred" --coordinator "$EP" \
	--mapper "$T/slowcat" --reducer cat --partitions 1 --wait --progress on
expect_rc "submit --wait --progress on: exit status" 0
tr '\r' '\n' <"$T/err" >"$T/bar.lines"
check "submit --wait --progress on: the bar of the job" \
	grep -Eq '^job [0-9]+ \[-{20}\] +0% map 0/1 reduce 0/1 ' "$T/bar.lines"

# A worker that joins mid-job takes tasks of it, and one stopped with
# SIGTERM mid-task has its tasks rerun elsewhere: the output is the same.
run_sluice submit streaming "$T/big.txt" -o "$T/big2" --coordinator "$EP" \
	--mapper "$T/slowcat" --reducer cat --partitions 2 --split-size 64K
JB2=$(cat "$T/out")
poll_for "job $JB2 to run" state_is "$JB2" running
"$SLUICE" worker --connect "$EP" --slots 1 --bind none 2>"$T/w3.err" &
W3=$!
w3_busy() {
	"$SLUICE" workers --coordinator "$EP" |
		awk -v pid="$W3" '$2 ~ (":" pid "$") && $4 >= 1 && $5 == "full" { ok = 1 }
			END { exit !ok }'
}
poll_for "the late worker to run a task" w3_busy
kill -TERM "$W1"
RC=0
wait "$W1" || RC=$?
check "SIGTERM: the worker exits 0" test "$RC" -eq 0
poll_for "job $JB2 to succeed" state_is "$JB2" succeeded
check_same_output "a late worker and a stopped one: the output" \
	"$T/rbig" "$T/big2"
# The stopped worker's attempts ran again: its running one failed (worker
# lost), or its map outputs were lost and their maps rerun.
run_sluice logs "$JB2" --coordinator "$EP"
check "a stopped worker: the log has more attempts than tasks" \
	test "$(($(wc -l <"$T/out") - 1))" -gt "$(tasks_ok)"

# Bad requests: exit 1 or 2, the coordinator goes on.
run_sluice status 999 --coordinator "$EP"
expect_rc "status of an unknown id: exit status" 1
expect_sluice_error "status of an unknown id: message" "no job 999"
run_sluice cancel 999 --coordinator "$EP"
expect_rc "cancel of an unknown id: exit status" 1
run_sluice status abc --coordinator "$EP"
expect_rc "status of a bad id: exit status" 2
run_sluice submit wordcount "$T/no-such.txt" -o "$T/x" --coordinator "$EP"
expect_rc "submit of a missing input: exit status" 2
run_sluice submit wordcount "$T/small.txt" -o "$T/x" --coordinator "$EP" \
	--no-such-option
expect_rc "submit with a bad option: exit status" 2
run_sluice submit wordcount "$T/small.txt" -o "$T/x" --coordinator "$EP" \
	--workers 2
expect_rc "submit with a run-only option: exit status" 2
run_sluice jobs --coordinator "$EP" --json
check "bad submits queue nothing" test "$(grep -c '"id":' "$T/out")" -eq 11

# --- the journal --------------------------------------------------------------

run_sluice coordinator --listen tcp://127.0.0.1:0
expect_rc "a second coordinator on the same --state: refused" 2
expect_sluice_error "a second coordinator on the same --state: why" \
	"in use by another coordinator"
mkdir -p "$T/corrupt"
head -c 8192 /dev/urandom >"$T/corrupt/jobs.db"
run_sluice coordinator --listen tcp://127.0.0.1:0 --state "$T/corrupt"
expect_rc "a corrupt job store: exit status" 1
expect_sluice_error "a corrupt job store: names the file" \
	"job store '.*corrupt/jobs.db'"

# When the coordinator is killed: a job amid its commit (a part file
# renamed into place, another partition's reducer held 4 s by the key it
# holds), one running (its maps held 3 s by its mapper) and one queued.
# The restarted coordinator runs the three again.
{ cat "$T/small.txt"; echo sleepy-key; } >"$T/sleepy.txt"
printf '#!/bin/sh\nt=$(mktemp)\ncat >"$t"\n%s\ncat "$t"\nrm -f "$t"\n' \
	'grep -q "^sleepy-key" "$t" && sleep 4' >"$T/sleepyred"
chmod +x "$T/sleepyred"
# Its submitter waits (--wait) across the restart.
"$SLUICE" submit streaming "$T/sleepy.txt" -o "$T/jc" --coordinator "$EP" \
	--mapper cat --reducer "$T/sleepyred" --partitions 3 --wait \
	>"$T/jc.id" 2>"$T/jc.err" &
JCW=$!
poll_for "the id of the waiting submit" test -s "$T/jc.id"
JC=$(cat "$T/jc.id")
run_sluice submit streaming "$T/small.txt" -o "$T/j1" --coordinator "$EP" \
	--mapper "$T/slowcat" --reducer cat --partitions 2
JR=$(cat "$T/out")
run_sluice submit wordcount "$T/in.txt" -o "$T/j2" --coordinator "$EP" \
	--partitions 3 --split-size 1M
JQ2=$(cat "$T/out")
part_committed() {
	ls "$T/jc"/part-* >/dev/null 2>&1
}
poll_for "job $JC to commit a part" part_committed
check "the kill comes amid job $JC's commit" state_is "$JC" running
check "the kill comes while job $JR runs" state_is "$JR" running
kill -9 "$COORD"
wait "$COORD" 2>/dev/null
"$SLUICE" coordinator --listen "$EP" --heartbeat-interval 100 \
	--heartbeat-timeout 2000 >"$T/ep2" 2>"$T/coord2.err" &
COORD=$!
poll_for "job $JC to succeed after the restart" state_is "$JC" succeeded
RC=0
wait "$JCW" || RC=$?
check "submit --wait across a restart: exits 0 once the job succeeded" \
	test "$RC" -eq 0
check "submit --wait across a restart: says so" \
	grep -q "job $JC succeeded" "$T/jc.err"
poll_for "job $JR to succeed after the restart" state_is "$JR" succeeded
poll_for "job $JQ2 to succeed after the restart" state_is "$JQ2" succeeded
run_sluice run streaming "$T/small.txt" -o "$T/rj1" --mapper cat \
	--reducer cat --partitions 2 --workers 2
check_same_output "restart: the running job's output" "$T/rj1" "$T/j1"
run_sluice run streaming "$T/sleepy.txt" -o "$T/rjc" --mapper cat \
	--reducer cat --partitions 3 --workers 2
check_same_output "restart amid a commit: the job's output" "$T/rjc" "$T/jc"
check_same_output "restart: the queued job's output" "$T/r1" "$T/j2"
check "restart: the workers rejoined" grep -q "joining again" "$T/w2.err"
run_sluice jobs --coordinator "$EP" --json
check "restart: the history stays" \
	test "$(grep -c '"state": "succeeded"' "$T/out")" -ge 8
check "restart: canceled jobs stay canceled" \
	test "$(grep -c '"state": "canceled"' "$T/out")" -eq 2
run_sluice logs "$J2" --coordinator "$EP"
check "restart: the attempt log of a job that ended before stays" \
	grep -q "^map 0 .* failed .*'x'" "$T/out"
run_sluice logs "$JQ2" --coordinator "$EP"
check "restart: the log of a job run again after it" \
	test "$(tasks_ok)" -ge 4
run_sluice submit wordcount "$T/small.txt" -o "$T/new" --coordinator "$EP" \
	--wait
expect_rc "restart: a new job" 0
check "restart: new ids go on from the old ones" \
	grep -qx "$((JQ2 + 1))" "$T/out"

# Peers of another protocol version: a client's request is answered in
# ours (which its decoder names), and the coordinator says why it refused;
# a worker whose coordinator speaks another version stops, saying so.
"$SLUICE_PEER" old-client "$EP" 2 >"$T/old.out" 2>&1
check_text "an old client is answered" 'answer REJOIN\n' "$T/old.out"
check "the coordinator names the version it refused" \
	grep -q "unsupported protocol version 2 (expected" "$T/coord2.err"
"$SLUICE_PEER" old-coordinator 'tcp://127.0.0.1:*' 99 >"$T/oldc.ep" &
OLDC=$!
poll_for "the old coordinator" test -s "$T/oldc.ep"
run_sluice worker --connect "$(cat "$T/oldc.ep")" --slots 1 --bind none
expect_rc "a worker of another version's coordinator: exit status" 1
expect_sluice_error "a worker of another version's coordinator: why" \
	"speaks another protocol: unsupported protocol version 99"
kill "$OLDC" 2>/dev/null
wait "$OLDC" 2>/dev/null

# Stop: the coordinator and its workers exit.
run_sluice stop --coordinator "$EP" --json
expect_rc "stop: exit status" 0
check "stop --json: says it stopped" grep -q '"state": "stopped"' "$T/out"
RC=0
wait "$COORD" || RC=$?
check "stop: the coordinator exits 0" test "$RC" -eq 0
RC=0
wait "$W2" || RC=$?
check "stop: a worker exits 0" test "$RC" -eq 0
wait "$W3"
if grep -q -a -e '^==[0-9]*==ERROR: ' -e ': runtime error: ' \
	"$T/coord.err" "$T/w1.err" "$T/w2.err" "$T/w3.err"; then
	fail "cluster processes" "sanitizer report"
fi

finish
