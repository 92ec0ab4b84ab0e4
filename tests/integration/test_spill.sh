#!/bin/sh
# test_spill.sh - bounded memory: with a --memory so small that map outputs
# and fetched segments spill to disk, word count and aggregate give the
# output of an unlimited run, byte for byte; a spill that fails is retried,
# a reduce's run file too; spill files never outlive the job, whether it
# succeeds or fails; and --tmpdir says where they go.
. "$(dirname "$0")/lib.sh"

# About 3 MB of text with some 100 k distinct words, in 3 map tasks.
awk 'BEGIN { srand(11); for (i = 0; i < 60000; i++) {
	line = ""; for (j = 0; j < 8; j++) line = line " w" int(rand() * 100000);
	print line } }' >"$T/in.txt"
awk 'BEGIN { srand(5); print "k,v"; for (i = 0; i < 60000; i++)
	printf "key%d,%d\n", int(rand() * 50000), int(rand() * 1000) }' \
	>"$T/in.csv"
mkdir "$T/spill"
COMMON="--workers 2 --partitions 2 --split-size 1M --tmpdir $T/spill"
AGG="--key k --agg count,sum:v,min:v,max:v,avg:v"

# no_spill_left NAME: the spill directory is empty again.
no_spill_left() {
	_left=$(find "$T/spill" -mindepth 1 | head -n 5)
	if [ -n "$_left" ]; then
		fail "$1" "left behind: $_left"
	else
		pass "$1"
	fi
}

run_sluice run wordcount "$T/in.txt" -o "$T/wc-ref" $COMMON --memory 1G -v
expect_rc "word count with a large budget" 0
# The unspilled run is the baseline of the others: check it first against
# an independent reference.
wc_ref "$T/in.txt" >"$T/wc.want"
cat_parts "$T/wc-ref" | sort >"$T/wc.got"
check_eq "the unspilled word count matches coreutils" "$T/wc.want" \
	"$T/wc.got"
expect_no_err "a large budget does not spill" spilled_runs
run_sluice run wordcount "$T/in.txt" -o "$T/wc-1m" $COMMON --memory 1M -v
expect_rc "word count with --memory 1M" 0
check "a 1M budget spills" grep -q spilled_runs "$T/err"
check_same_output "spilled word count equals the unspilled one" \
	"$T/wc-ref" "$T/wc-1m"
no_spill_left "no spill file after a word count"

# One record of 100 k distinct words (the text as a single line): the
# budget is checked within a record too, every few new keys, so the one
# map task spills many times.
tr '\n' ' ' <"$T/in.txt" >"$T/oneline.txt"
run_sluice run wordcount "$T/oneline.txt" -o "$T/wc-line" --workers 1 \
	--split-size 64M --partitions 2 --tmpdir "$T/spill" --memory 1M -v
expect_rc "word count of one long line with --memory 1M" 0
_spills=$(sed -n 's/.*counter spilled_runs = //p' "$T/err")
check "one record spills many times" [ "${_spills:-0}" -ge 10 ]
check_same_output "the one-line word count equals the unspilled one" \
	"$T/wc-ref" "$T/wc-line"

run_sluice run wordcount "$T/in.txt" -o "$T/wc-p1" $COMMON --partitions 1 \
	--memory 1M
expect_rc "word count into one partition with --memory 1M" 0
cat_parts "$T/wc-ref" | sort >"$T/want"
cat_parts "$T/wc-p1" | sort >"$T/got"
check "one spilled partition holds every word" cmp -s "$T/want" "$T/got"

run_sluice run aggregate "$T/in.csv" -o "$T/agg-ref" $COMMON $AGG \
	--memory 1G
expect_rc "aggregate with a large budget" 0
# awk's reference, in integers (avg rounded half up: the values are >= 0).
awk -F, 'NR > 1 { c[$1]++; s[$1] += $2
	if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2
	if (!($1 in hi) || $2 > hi[$1]) hi[$1] = $2 }
	END { for (k in c) { q = int((2 * s[k] * 1000000 + c[k]) / (2 * c[k]))
		printf "%s,%d,%d,%d,%d,%d.%06d\n", k, c[k], s[k], lo[k], hi[k],
			int(q / 1000000), q % 1000000 } }' "$T/in.csv" |
	sort >"$T/agg.want"
cat_parts "$T/agg-ref" | grep -v '^k,count,' | sort >"$T/agg.got"
check_eq "the unspilled aggregate matches awk" "$T/agg.want" "$T/agg.got"
run_sluice run aggregate "$T/in.csv" -o "$T/agg-1m" $COMMON $AGG \
	--memory 1M -v
expect_rc "aggregate with --memory 1M" 0
check "aggregate with a 1M budget spills" grep -q spilled_runs "$T/err"
check_same_output "spilled aggregate equals the unspilled one" \
	"$T/agg-ref" "$T/agg-1m"
no_spill_left "no spill file after an aggregate"

# Many small maps (64 KiB splits, some 150 KB of output each): their
# outputs fit a 4 MiB worker one by one, but not all together, so past
# half the worker's memory they go to disk too, and are served from it.
run_sluice run wordcount "$T/in.txt" -o "$T/wc-cap" --workers 2 \
	--partitions 2 --split-size 64K --tmpdir "$T/spill" --memory 4M -v
expect_rc "word count of many small maps with --memory 4M" 0
check "the worker's map outputs past its cap go to disk" \
	grep -q map_outputs_on_disk "$T/err"
check_same_output "map outputs on disk give the same output" \
	"$T/wc-ref" "$T/wc-cap"
no_spill_left "no map output file left after the job"
run_sluice run wordcount "$T/in.txt" -o "$T/wc-nocap" --workers 2 \
	--partitions 2 --split-size 64K --tmpdir "$T/spill" --memory 1G -v
expect_rc "word count of many small maps with --memory 1G" 0
expect_no_err "a large budget keeps every map output in memory" \
	map_outputs_on_disk

# The second spill of the first attempt of every task fails.
SLUICE_FAULT=spill-fail=2 run_sluice run wordcount "$T/in.txt" \
	-o "$T/wc-fault" $COMMON --memory 1M
expect_rc "a failed spill is retried and the job succeeds" 0
check_same_output "the retried job gives the same output" \
	"$T/wc-ref" "$T/wc-fault"
no_spill_left "no spill file after a failed spill"

# Maps of 64 KiB splits do not spill under 4M, reduces do: a segment
# past half a reduce's share goes into a run file reply by reply. Failing
# that file fails the reduce attempt, which is retried.
SLUICE_FAULT=spill-fail=1 run_sluice run wordcount "$T/in.txt" \
	-o "$T/wc-rfault" --workers 2 --partitions 2 --split-size 64K \
	--tmpdir "$T/spill" --memory 4M -v
expect_rc "a reduce whose run file fails is retried" 0
expect_err "the reduce failed on its run file" \
	"reduce task [0-9]+ attempt 0 .*failed: cannot write spill file"
check_same_output "reduces that wrote runs give the same output" \
	"$T/wc-ref" "$T/wc-rfault"
no_spill_left "no spill file after a failed reduce run"

SLUICE_FAULT=spill-fail=1 run_sluice run wordcount "$T/in.txt" \
	-o "$T/wc-failed" $COMMON --memory 1M --max-attempts 1
expect_rc "a job whose spills fail on every attempt fails" 1
expect_err "the failure says why" "injected fault"
no_spill_left "no spill file after a failed job"

run_sluice run wordcount "$T/in.txt" -o "$T/wc-bad" --workers 1 \
	--memory 1M --tmpdir "$T/no/such/dir"
expect_rc "a missing --tmpdir fails the run" 1
expect_err "the error names the --tmpdir" "in .*/no/such/dir.: "

# A worker killed with SIGKILL leaves its sluice-JOB-HOST-PID directory;
# a worker that starts removes those of dead workers of its host from its
# tmpdir ($TMPDIR here: local workers spill inside a directory of the run,
# but sweep their own tmpdir at start as cluster workers do). Only those:
# not a live PID's, not another host's, not a file, not another name. A
# directory inside one goes with it. `sluice run` sweeps the
# sluice-run-HOST-PID.XXXXXX directories of runs that were killed (its
# spill root holds its workers' spill directories) the same way.
_host=$(uname -n | tr -c 'A-Za-z0-9._\n-' '_')
sh -c 'echo $$' >"$T/dead.pid"   # a PID that has exited: a dead worker's
_dead=$(cat "$T/dead.pid")
_st="$T/stale"
mkdir -p "$_st/sluice-7-$_host-$_dead" "$_st/sluice-7-$_host-$$" \
	"$_st/sluice-7-$_host-1-$_dead" "$_st/sluice-x-$_host-$_dead"
echo spilled >"$_st/sluice-7-$_host-$_dead/m0-a0.1"
echo file >"$_st/sluice-8-$_host-$_dead"
mkdir -p "$_st/sluice-9-$_host-$_dead/sub"
mkdir -p "$_st/sluice-run-$_host-$_dead.AbC123/sluice-1-$_host-$_dead" \
	"$_st/sluice-run-$_host-$$.AbC123" "$_st/sluice-run-$_host-$_dead.ab"
echo spilled >"$_st/sluice-run-$_host-$_dead.AbC123/sluice-1-$_host-$_dead/r0"
TMPDIR=$_st run_sluice run wordcount "$T/in.txt" -o "$T/wc-stale" \
	--workers 2 --partitions 2 --split-size 1M --memory 1M -v
expect_rc "word count after a killed worker" 0
check_same_output "its output is right" "$T/wc-ref" "$T/wc-stale"
check_absent "a dead worker's spill directory of this host is removed" \
	"$_st/sluice-7-$_host-$_dead"
expect_err "the removal is logged" \
	"removed the stale spill directory .*/sluice-7-$_host-$_dead' "
check_absent "a stale spill directory with a directory inside is removed" \
	"$_st/sluice-9-$_host-$_dead"
check_absent "a killed run's directory is removed with what it holds" \
	"$_st/sluice-run-$_host-$_dead.AbC123"
expect_err "that removal is logged" \
	"removed the stale run directory .*/sluice-run-$_host-$_dead.AbC123' "
printf '%s\n' "sluice-7-$_host-$$" "sluice-7-$_host-1-$_dead" \
	"sluice-8-$_host-$_dead" "sluice-x-$_host-$_dead" \
	"sluice-run-$_host-$$.AbC123" "sluice-run-$_host-$_dead.ab" |
	sort >"$T/st.want"
ls -A "$_st" | sort >"$T/st.got"
check_eq "a live PID's, another host's, a file and other names stay" \
	"$T/st.want" "$T/st.got"

finish
