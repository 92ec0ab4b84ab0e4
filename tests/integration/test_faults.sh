#!/bin/sh
# test_faults.sh - failures of real worker processes, with real signals:
# each job must end with the output of a fault-free run (or, for a fault
# that is there on every attempt, fail with a clear message).
#
# Faults are timed by events, not by sleeps: the run is started in the
# background with -v -v, and the test polls (with a bound) its log for the
# line that says a task went to a worker, then signals that worker's pid,
# which the log gave when the worker joined. SLUICE_FAULT (worker/task.h)
# holds the first attempt of a task long enough for the signal to land.
. "$(dirname "$0")/lib.sh"

# About 6 MB of text in 3 map tasks of 2 MB.
awk 'BEGIN { srand(7); for (i = 0; i < 120000; i++) {
	line = ""; for (j = 0; j < 8; j++) line = line " w" int(rand() * rand() * 3000);
	print line } }' >"$T/in.txt"
wc_ref "$T/in.txt" | sort >"$T/want"
COMMON="--workers 2 --partitions 3 --split-size 2M --heartbeat-interval 100
	--heartbeat-timeout 1500"

# start_bg ARGS...: sluice in the background; its stderr in $T/bg.err.
start_bg() {
	LAST_CMD="sluice $*"
	: >"$T/bg.err"
	timeout -k 10 "$SLUICE_TEST_TIMEOUT" "$SLUICE" "$@" </dev/null \
		>"$T/out" 2>"$T/bg.err" &
	BG=$!
}

# wait_log PATTERN: polls the background run's log, up to 30 s.
wait_log() {
	_wl_n=0
	while ! grep -q -e "$1" "$T/bg.err"; do
		_wl_n=$((_wl_n + 1))
		if [ $_wl_n -gt 600 ]; then
			fail "wait for '$1'" "not in the log after 30 s"
			show_head "$T/bg.err" 20
			return 1
		fi
		sleep 0.05
	done
}

# worker_pid N: the pid of worker N, from its "joined" line.
worker_pid() {
	sed -n "s/.*worker $1 joined: [^:]*:\([0-9]*\),.*/\1/p" "$T/bg.err" |
		head -n 1
}

# task_worker KIND TASK: the worker the first attempt of a task went to.
task_worker() {
	sed -n "s/.*$1 task $2 attempt 0 -> worker \([0-9]*\) .*/\1/p" \
		"$T/bg.err" | head -n 1
}

finish_bg() {
	RC=0
	wait "$BG" || RC=$?
	cp "$T/bg.err" "$T/err"
	check_run_status
}

# same_output NAME DIR: the job succeeded with the fault-free output.
same_output() {
	expect_rc "$1: exit status" 0
	cat_parts "$2" | sort >"$T/got"
	check_eq "$1: output as without the fault" "$T/want" "$T/got"
	check "$1: _SUCCESS" test -f "$2/_SUCCESS"
	check "$1: no _temporary left" test ! -e "$2/_temporary"
}

# start_fault NAME FAULT KIND: a word count into $T/NAME in the
# background with SLUICE_FAULT=FAULT; once the first attempt of task 0 of
# KIND went to a worker, $w is that worker. Fails when it never did.
start_fault() {
	SLUICE_FAULT=$2
	export SLUICE_FAULT
	start_bg run wordcount "$T/in.txt" -o "$T/$1" $COMMON -v -v
	unset SLUICE_FAULT
	wait_log "$3 task 0 attempt 0 -> worker" || return 1
	w=$(task_worker "$3" 0)
}

# kill_case NAME FAULT WAIT_KIND WHO: kill -9 a worker while the first
# attempt of task 0 of WAIT_KIND runs; WHO is "it" (the worker running
# that task) or "other" (the other one).
kill_case() {
	if start_fault "$1" "$2" "$3"; then
		[ "$4" = other ] && w=$((3 - w))
		pid=$(worker_pid "$w")
		if [ -n "$pid" ] && kill -9 "$pid"; then
			pass "$1: killed worker $w (pid $pid)"
		else
			fail "$1: kill" "no pid for worker $w"
		fi
	fi
	finish_bg
	same_output "$1" "$T/$1"
	check "$1: the loss was seen" grep -q "worker [0-9]* (.*) lost" "$T/err"
}

kill_case "kill during map" "map-sleep=3000" map it
kill_case "kill during reduce" "reduce-sleep=3000" reduce it
kill_case "kill during a shuffle fetch" "fetch-sleep=700" reduce other
kill_case "kill after its maps finished" "reduce-sleep=1500" reduce other

# A worker stopped (SIGSTOP) past the heartbeat timeout is declared lost:
# sluice run kills it (it would never exit by itself) and starts another,
# and the job ends with the right output.
if start_fault stop "reduce-sleep=2500" reduce; then
	pid=$(worker_pid "$w")
	kill -STOP "$pid"
	wait_log "worker $w (.*) lost"
fi
finish_bg
same_output "SIGSTOP past the timeout" "$T/stop"
check "SIGSTOP: the stopped worker is killed" \
	grep -q "killed worker process [0-9]* (pid $pid), which was lost" \
	"$T/err"
check "SIGSTOP: a new worker replaces it" \
	grep -q "started a new worker process" "$T/err"
check "SIGSTOP: the stopped process is gone" test ! -e "/proc/$pid"
check "SIGSTOP: stopping our own workers is no error" \
	test -z "$(grep 'killed by signal' "$T/err")"

# stop_all NAME WORKERS: every worker of a run is stopped while map 0 is
# held; they are killed and replaced, and the job ends right.
stop_all() {
	SLUICE_FAULT="map-sleep=3000"
	export SLUICE_FAULT
	start_bg run wordcount "$T/in.txt" -o "$T/$1" --workers "$2" \
		--partitions 3 --split-size 2M --heartbeat-interval 100 \
		--heartbeat-timeout 1500 -v -v
	unset SLUICE_FAULT
	_sa_i=1
	while [ "$_sa_i" -le "$2" ]; do
		wait_log "worker $_sa_i joined" &&
			kill -STOP "$(worker_pid "$_sa_i")"
		_sa_i=$((_sa_i + 1))
	done
	finish_bg
	same_output "$1" "$T/$1"
	check "$1: all were lost" test "$(grep -c ') lost: no heartbeat' \
		"$T/err")" -ge "$2"
}
stop_all "SIGSTOP of the only worker" 1
stop_all "SIGSTOP of both workers" 2

# A peer that sends 100k FETCHes to a worker's shuffle endpoint and never
# reads a reply must not freeze that worker: its replies are dropped, it
# keeps heartbeating (it is not lost) and serves the real reducers.
SLUICE_FAULT="reduce-sleep=2000"
export SLUICE_FAULT
start_bg run wordcount "$T/in.txt" -o "$T/flood" $COMMON -v -v
unset SLUICE_FAULT
if wait_log "reduce task 0 attempt 0 -> worker"; then
	_fl_ep=$(sed -n 's/.*worker 1 joined: .*shuffle at \(.*\)$/\1/p' \
		"$T/bg.err" | head -n 1)
	"$SLUICE_PEER" flood-fetch "$_fl_ep" 100000 >"$T/peer.out" &
	_fl_peer=$!
fi
finish_bg
kill "$_fl_peer" 2>/dev/null
wait "$_fl_peer" 2>/dev/null
check "FETCH flood: the outsider sent them all" grep -qx "sent 100000" \
	"$T/peer.out"
same_output "FETCH flood" "$T/flood"
expect_no_err "FETCH flood: no worker lost" ") lost: "

# A file truncated while its map is held: the split reads fewer bytes than
# planned, which fails the task with the file, its size and the split's
# end, never a silent partial result.
cp "$T/in.txt" "$T/trunc.txt"
SLUICE_FAULT="map-hold=1500"
export SLUICE_FAULT
start_bg run wordcount "$T/trunc.txt" -o "$T/trunc" --workers 1 \
	--partitions 1 -v -v
unset SLUICE_FAULT
wait_log "map task 0 attempt 0 -> worker" &&
	truncate -s 1000000 "$T/trunc.txt"
finish_bg
expect_rc "truncated input: exit status" 1
expect_sluice_error "truncated input: the error says so" \
	"trunc\\.txt' is now 1000000 bytes, short of byte [0-9]* where its split ends: the file changed while the job ran"
expect_no_success "truncated input: no output" "$T/trunc"

# sigterm_case NAME SIGNAL CODE: SIGNAL to sluice run while a map is held:
# it exits CODE, and leaves no worker, no directory of the run (ipc
# endpoints, spill root), no _temporary and no part file.
sigterm_case() {
	mkdir -p "$T/tmp.$1"
	SLUICE_FAULT="map-hold=20000"
	export SLUICE_FAULT
	TMPDIR="$T/tmp.$1" start_bg run wordcount "$T/in.txt" -o "$T/$1" \
		$COMMON --memory 1M -v -v
	unset SLUICE_FAULT
	wait_log "map task 0 attempt 0 -> worker" || return
	_sg_w=$(worker_pid 1)
	_sg_pid=$(awk '{ print $4 }' "/proc/$_sg_w/stat")
	kill "-$2" "$_sg_pid"
	RC=0
	wait "$BG" || RC=$?
	cp "$T/bg.err" "$T/err"
	expect_rc "$1: exit status" "$3"
	expect_err "$1: the error says why" "interrupted by signal"
	check "$1: no worker left" test ! -e "/proc/$_sg_w"
	check "$1: no ipc directory left" test -z "$(ls -d \
		/tmp/sluice-run-*-"$_sg_pid".* 2>/dev/null)"
	check "$1: no spill directory left" test -z "$(ls -A "$T/tmp.$1")"
	check_absent "$1: no _temporary" "$T/$1/_temporary"
	expect_no_success "$1: no output" "$T/$1"
}
sigterm_case "SIGTERM" TERM 143
sigterm_case "SIGINT" INT 130

# A map that fails on one record every time: the job fails after 4
# attempts, each listed with its worker and error.
printf 'a b\nPOISON\nc d\n' >"$T/poison.txt"
run_sluice run streaming "$T/poison.txt" -o "$T/poison" --workers 2 \
	--mapper "awk '/^POISON\$/ { print \"poisoned record\" > \"/dev/stderr\"; exit 3 } { print \$1 \"\\t1\" }'" \
	--reducer cat
expect_rc "failing record: exit status" 1
check "failing record: 4 attempts listed" \
	test "$(grep -c '^sluice:   attempt [0-3] on worker [0-9]*: .*status 3' "$T/err")" -eq 4
check "failing record: the error says why" grep -q "poisoned record" "$T/err"
check "failing record: after 4 attempts" grep -q "failed after 4 attempts" "$T/err"
check "failing record: no _SUCCESS" test ! -e "$T/poison/_SUCCESS"

# The first attempt of every task fails: retries make the job succeed.
SLUICE_FAULT="fail=1" run_sluice run wordcount "$T/in.txt" -o "$T/first" \
	$COMMON -v
same_output "first attempts fail" "$T/first"
check "first attempts fail: failures were seen" \
	grep -q "injected fault" "$T/err"

# A straggler: map 0's first attempt is slow; a speculative copy on the
# other worker finishes first, and the job does not wait for the straggler.
SLUICE_FAULT="map-sleep@0=20000" run_sluice run wordcount "$T/in.txt" \
	-o "$T/spec" $COMMON --split-size 1M -v -v
same_output "straggler" "$T/spec"
check "straggler: a speculative copy ran" grep -q "speculative" "$T/err"

finish
