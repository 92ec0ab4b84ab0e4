#!/bin/sh
# test_stream_cluster.sh - streams on a cluster that stays up: `sluice
# submit --stream` to a `sluice coordinator` with two `sluice worker`s;
# `sluice status ID` shows its batches and its last batch's progress,
# `sluice jobs` lists it; kill -9 of the coordinator mid-stream and a
# restart on the same --state: the stream resumes from its checkpoint by
# itself and every committed batch is byte for byte `sluice run` over the
# files of batches 1..N (exactly once); `sluice cancel ID` stops it after
# its batch in flight and lets go of the checkpoint. The bad cases: a bad
# URI, a checkpoint in use, stream options without --stream.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
mkdir -p "$SRC"
SLUICE_STATE=$T/state
export SLUICE_STATE

start_coordinator() { # LISTEN OUTFILE ERRFILE
	"$SLUICE" coordinator --listen "$1" --heartbeat-interval 100 \
		--heartbeat-timeout 2000 -v >"$2" 2>"$3" &
	COORD=$!
}
: >"$T/ep"
start_coordinator tcp://127.0.0.1:0 "$T/ep" "$T/coord.err"
poll_for "the coordinator's endpoint" test -s "$T/ep"
EP=$(cat "$T/ep")
"$SLUICE" worker --connect "$EP" --slots 1 --bind none 2>"$T/w1.err" &
W1=$!
"$SLUICE" worker --connect "$EP" --slots 1 --bind none 2>"$T/w2.err" &
W2=$!
workers_joined() {
	[ "$("$SLUICE" workers --json --coordinator "$EP" |
		grep -c '"slots": 1')" -eq 2 ]
}
poll_for "two workers" workers_joined

# --- bad cases: refused before anything runs -------------------------------

run_sluice submit wordcount --stream --source nope:x --sink "file:$T/o" \
	--checkpoint "$T/bad.ck" --coordinator "$EP"
expect_rc "submit --stream, an unknown source: exit status" 2
expect_sluice_error "submit --stream, an unknown source: why" \
	"unknown source 'nope:x'"
run_sluice submit wordcount --source "file:$SRC" --sink "file:$T/o" \
	--checkpoint "$T/bad.ck" --coordinator "$EP"
expect_rc "stream options without --stream: exit status" 2
expect_sluice_error "stream options without --stream: why" \
	"applies to another command"
run_sluice submit streaming --stream --mapper cat --reducer cat \
	--source "file:$SRC" --sink "file:$T/o" --checkpoint "$T/bad.ck" \
	--coordinator "$EP"
expect_rc "submit --stream of a job without a combine: exit status" 2

# --- a stream on the cluster -----------------------------------------------

add_files 1 3
(cd "$T" && "$SLUICE" submit wordcount --stream --source file:src \
	--sink file:sink --checkpoint ck --trigger 100ms --partitions 2 \
	--coordinator "$EP" >"$T/id" 2>"$T/submit.err")
check "submit --stream: exit status 0" test $? -eq 0
ID=$(cat "$T/id")
check "submit --stream: prints the stream's id" grep -qx '[0-9][0-9]*' "$T/id"
batches() { # the batches committed of stream $ID, from status --json
	"$SLUICE" status "$ID" --json --coordinator "$EP" 2>/dev/null |
		sed -n 's/^  "batches": \([0-9]*\).*/\1/p'
}
batches_at_least() {
	[ "$(batches)" -ge "$1" ] 2>/dev/null
}
poll_for "the stream's first batch" batches_at_least 1
check "the stream runs" state_is "$ID" running
run_sluice status "$ID" --coordinator "$EP"
expect_rc "status of a stream: exit status" 0
out_lines() {
	cat "$T/out"
}
expect_line "status of a stream: its batches" \
	"^stream  *[0-9][0-9]* batch\(es\) committed" "stdout line" out_lines
expect_line "status of a stream: its last batch's progress" \
	'^last batch \{"bad_records":0,"batch":[0-9]' "stdout line" out_lines
expect_line "status of a stream: its sink" "^sink  *file:$T/sink\$" \
	"stdout line" out_lines
run_sluice jobs --coordinator "$EP"
check "jobs lists the stream" grep -q "^ *$ID .*wordcount.*running" "$T/out"
check "the relative paths were made absolute" \
	test -f "$T/sink/_manifest" -a -d "$T/ck/commits"

# Files keep coming; the coordinator is killed mid-stream and started
# again on the same --state: the stream resumes by itself.
add_files 4 8
poll_for "a batch with the new files" batches_at_least 2
add_files 9 12
kill -9 "$COORD"
wait "$COORD" 2>/dev/null
add_files 13 15
start_coordinator "$EP" "$T/ep2" "$T/coord2.err"
poll_for "the stream to resume" grep -q "stream $ID: resumed" "$T/coord2.err"
check "after the restart the stream runs" state_is "$ID" running
all_taken() { # every file of $SRC is in a committed batch
	[ "$(cat "$T/ck/commits"/* >/dev/null 2>&1 &&
		for c in "$T/ck/commits"/*; do
			grep -c '^range ' "$T/ck/offsets/$(basename "$c")"
		done | awk '{ n += $1 } END { print n + 0 }')" -eq 15 ]
}
poll_for "every file in a committed batch" all_taken
check_batches "a stream through a coordinator's kill -9" "$T/sink" "$T/ck" \
	wordcount
check "the stream's checkpoint is in use" \
	test "$(cd "$T" && "$SLUICE" stream wordcount --source file:src \
		--sink file:o2 --checkpoint ck --trigger once --partitions 2 \
		>/dev/null 2>&1; echo $?)" -eq 2

# Cancel: the stream stops after its batch in flight and lets go of its
# checkpoint, which a `sluice stream` then takes on.
run_sluice cancel "$ID" --coordinator "$EP"
expect_rc "cancel of a stream: exit status" 0
poll_for "the stream to be canceled" state_is "$ID" canceled
add_files 16 17
(cd "$T" && "$SLUICE" stream wordcount --source file:src --sink file:sink \
	--checkpoint ck --trigger once --partitions 2 --workers 2 \
	2>"$T/after.err")
check "after the cancel, sluice stream resumes the checkpoint" test $? -eq 0
check_batches "the batches after the cancel" "$T/sink" "$T/ck" wordcount

# A stream of a source with nothing yet waits for it; then the whole
# cluster stops.
mkdir "$T/nothing"
run_sluice submit window --stream --key user --time ts \
	--window tumbling:10m --agg count --source "file:$T/nothing" \
	--sink "file:$T/o3" --checkpoint "$T/ck3" --coordinator "$EP"
expect_rc "submit --stream of a source with nothing yet: accepted" 0
ID3=$(cat "$T/out")
check "a stream waits for its source" state_is "$ID3" running
run_sluice stop --coordinator "$EP"
expect_rc "stop: exit status" 0
wait "$COORD" "$W1" "$W2"
if grep -q -a -e '^==[0-9]*==ERROR: ' -e ': runtime error: ' \
	"$T/coord.err" "$T/coord2.err" "$T/w1.err" "$T/w2.err"; then
	fail "cluster processes" "sanitizer report"
fi

finish
