#!/bin/sh
# test_stream.sh - `sluice stream` over a directory of files into a file
# sink: each committed batch holds the result of every file taken so far,
# byte for byte the output of `sluice run` over those files (word count,
# aggregate, window); kill -9 of the stream and its workers at random
# points, many times, then a restart: every committed batch is still
# exactly that, and the last one covers every file once (exactly once).
# Then SIGTERM (stops after the batch in flight) and the bad cases.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
mkdir -p "$SRC"
# --- batches, resumed ---------------------------------------------------------

add_files 1 3
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger available-now --partitions 2 \
	--workers 2
expect_rc "available-now: exit status" 0
check "available-now: one batch of the 3 files" \
	test "$(ls "$T/wc.ck/commits" | wc -l)" -eq 1
add_files 4 5
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger once --partitions 2 --workers 2
expect_rc "once: exit status" 0
add_files 6 6
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger once --partitions 2 --workers 2
check_batches "word count, resumed twice" "$T/wc" "$T/wc.ck" wordcount
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger available-now --partitions 2
expect_rc "nothing new: exit status" 0
check "nothing new: no batch" test "$(ls "$T/wc.ck/commits" | wc -l)" -eq 3

# window (and so aggregate, its code) keeps its state by the same fold
mkdir -p "$T/csrc" "$T/cstage"
i=1
while [ $i -le 4 ]; do
	awk -v s=$i 'BEGIN { srand(s); print "user,ts,amount"
		for (j = 0; j < 500; j++)
			printf "u%d,%d,%d.%02d\n", int(rand() * 20),
			    1796306400 + int(rand() * 3600),
			    int(rand() * 100), int(rand() * 100) }' \
		>"$T/cstage/e$i.csv"
	i=$((i + 1))
done
mv "$T/cstage/e1.csv" "$T/cstage/e2.csv" "$T/csrc/"
WIN="window --key user --time ts --window tumbling:10m --agg count,sum:amount,max:amount"
for b in 1 2 3; do
	# shellcheck disable=SC2086
	run_sluice stream $WIN --source "file:$T/csrc" --sink "file:$T/win" \
		--checkpoint "$T/win.ck" --trigger once --partitions 2 --workers 2
	expect_rc "window, batch $b: exit status" 0
	[ -f "$T/cstage/e$((b + 2)).csv" ] &&
		mv "$T/cstage/e$((b + 2)).csv" "$T/csrc/"
done
SRC_SAVE=$SRC
SRC=$T/csrc
# shellcheck disable=SC2086
check_batches "window, three batches" "$T/win" "$T/win.ck" $WIN
# aggregate: running totals (avg from the state's exact sum and count),
# a batch a file
AGG="aggregate --key user --agg count,sum:amount,avg:amount,min:amount"
# shellcheck disable=SC2086
feed_each "aggregate as a stream" "$T/csrc" "$T/gsrc" $AGG \
	--sink "file:$T/agg" --checkpoint "$T/agg.ck" --partitions 2 --workers 2
SRC=$T/gsrc
# shellcheck disable=SC2086
check_batches "aggregate as a stream" "$T/agg" "$T/agg.ck" $AGG
SRC=$SRC_SAVE

# --- append mode: each window once, when the watermark passes it --------------

# Files of events half an hour apart (base 2026-12-03T14:00:00Z), one of
# late events (long before the watermark), then three far-future single
# events that move the watermark past everything before them. The rows of
# all batches together are the rows of `sluice run window` over the
# files but the late one and the last two (Kappa); no row twice.
mkdir -p "$T/asrc" "$T/astage"
i=1
while [ $i -le 4 ]; do
	awk -v s=$i 'BEGIN { srand(s); print "user,ts,amount"
		for (j = 0; j < 400; j++)
			printf "u%d,%d,%d.%02d\n", int(rand() * 10),
			    1796306400 + (s - 1) * 1800 + int(rand() * 1800),
			    int(rand() * 100), int(rand() * 100) }' \
		>"$T/astage/d$i.csv"
	i=$((i + 1))
done
awk 'BEGIN { print "user,ts,amount"
	for (j = 0; j < 50; j++) printf "u1,%d,1.00\n", 1796300000 + j }' \
	>"$T/astage/late.csv"
for f in 1 2 3; do
	printf 'user,ts,amount\nzz,%d,1.00\n' $((1796306400 + f * 36000)) \
		>"$T/astage/f$f.csv"
done
AWIN="window --key user --time ts --window tumbling:10m --agg count,sum:amount"
k=0
for f in d1 d2 late d3 d4 f1 f2 f3; do
	k=$((k + 1)) # names in the order they appear
	mv "$T/astage/$f.csv" "$T/asrc/$k-$f.csv" ||
		hard_error "cannot stage $f"
	# shellcheck disable=SC2086
	run_sluice stream $AWIN --source "file:$T/asrc" --sink "file:$T/app" \
		--checkpoint "$T/app.ck" --trigger once --partitions 2 \
		--workers 2 --output-mode append --watermark 5m -v
	expect_rc "append, the batch of $f: exit status" 0
	[ "$f" = late ] && expect_err "append: the late events are counted" \
		'"late_records":50'
done
cat "$T/app"/batch-*/part-* | grep -v '^user,' | LC_ALL=C sort >"$T/app.got"
rm -rf "$T/app.ref"
# shellcheck disable=SC2086
"$SLUICE" run $AWIN "$T/asrc"/*-d?.csv "$T/asrc"/*-f1.csv -o "$T/app.ref" \
	--partitions 2 --workers 2 2>/dev/null
cat "$T/app.ref"/part-* | grep -v '^user,' | LC_ALL=C sort >"$T/app.want"
check_eq "append: every final window once, as a batch run gives it" \
	"$T/app.want" "$T/app.got"
check "progress.jsonl: a line a committed batch" \
	test "$(grep -c '"batch":' "$T/app.ck/progress.jsonl")" -eq 8
check "progress.jsonl: time by phase" \
	grep -q '"phases_ms":{"commit":[0-9]*,"map":[0-9]*,"plan":[0-9]*,"reduce":[0-9]*,"sink":[0-9]*}' \
	"$T/app.ck/progress.jsonl"
check "progress.jsonl: the late batch's line counts them" \
	grep -q '"batch":3,.*"late_records":50' "$T/app.ck/progress.jsonl"
check "progress.jsonl: the watermark advances" \
	grep -q '"batch":8,.*"watermark_ms":1796414100000' \
	"$T/app.ck/progress.jsonl"
check "append: the first batch writes no row (no watermark yet)" \
	test "$(cat "$T/app"/batch-0000000001/part-* | grep -vc '^user,')" -eq 0
# Sessions in append mode: a session is written once the watermark has
# passed its end (its last event plus the gap), its keys then leave the
# state: the same rows as the batch run.
SWIN="window --key user --time ts --window session:5m --agg count,sum:amount"
# shellcheck disable=SC2086
feed_each "sessions, append" "$T/asrc" "$T/ssrc" $SWIN --sink "file:$T/ses" \
	--checkpoint "$T/ses.ck" --partitions 2 --workers 2 \
	--output-mode append --watermark 5m
cat "$T/ses"/batch-*/part-* | grep -v '^user,' | LC_ALL=C sort >"$T/ses.got"
rm -rf "$T/ses.ref"
# shellcheck disable=SC2086
"$SLUICE" run $SWIN "$T/ssrc"/*-d?.csv "$T/ssrc"/*-f1.csv -o "$T/ses.ref" \
	--partitions 2 --workers 2 2>/dev/null
cat "$T/ses.ref"/part-* | grep -v '^user,' | LC_ALL=C sort >"$T/ses.want"
check_eq "sessions, append: each final session once, as a batch run gives it" \
	"$T/ses.want" "$T/ses.got"
check "sessions, append: the open sessions wait (state kept)" \
	test "$(stat -c %s "$T/ses.ck"/state/*/part-00000 \
		"$T/ses.ck"/state/*/part-00001 | awk '{ n += $1 } END { print n }')" -gt 0
usage_error "append without --watermark" "go together" stream $AWIN \
	--source "file:$T/asrc" --sink "file:$T/o" --checkpoint "$T/o.ck" \
	--output-mode append
usage_error "append for running totals" "never final" stream wordcount \
	--source "file:$SRC" --sink "file:$T/o" --checkpoint "$T/o.ck" \
	--output-mode append --watermark 0

# --- kill -9, many times ------------------------------------------------------

add_files 7 30
i=0
cut=0 # kills that left a batch logged but not committed
while [ $i -lt 8 ]; do
	add_files $((31 + i)) $((31 + i)) # each run has a batch to do
	SLUICE_FAULT=reduce-sleep=600 "$SLUICE" stream wordcount \
		--source "file:$SRC" --sink "file:$T/k" --checkpoint "$T/k.ck" \
		--trigger 50ms --partitions 2 --workers 2 \
		--split-size 4K 2>>"$T/kill.err" &
	pid=$!
	# 0.2 s to 1.7 s into the run: during a map, a reduce, a commit
	sleep "$(awk -v s=$i 'BEGIN { srand(s); printf "%.2f", 0.2 + rand() * 1.5 }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ "$(ls "$T/k.ck/offsets" 2>/dev/null | wc -l)" -gt \
		"$(ls "$T/k.ck/commits" 2>/dev/null | wc -l)" ] && cut=$((cut + 1))
	i=$((i + 1))
done
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/k" \
	--checkpoint "$T/k.ck" --trigger available-now --partitions 2 \
	--workers 2 --split-size 4K
expect_rc "after 8 kill -9: the restart drains the source" 0
check "kills cut batches between their offsets and commits ($cut of 8)" \
	test "$cut" -ge 1
check_batches "after 8 kill -9" "$T/k" "$T/k.ck" wordcount
rm -rf "$T/all"
# shellcheck disable=SC2046
"$SLUICE" run wordcount $(ls "$SRC"/f*.txt) -o "$T/all" --partitions 2 \
	--workers 2 2>/dev/null
last=$(ls "$T/k.ck/commits" | tail -n 1)
check_same_output "after the kills: the last batch counts every file once" \
	"$T/all" "$T/k/batch-$last"
check "the kills left no process behind" \
	test -z "$(pgrep -f "checkpoint $T/k.ck" || true)"

# --- kill -9 of a worker mid-batch: the batch engine runs its tasks again ------

add_files 40 43
SLUICE_FAULT=reduce-sleep=800 "$SLUICE" stream wordcount \
	--source "file:$SRC" --sink "file:$T/k" --checkpoint "$T/k.ck" \
	--trigger once --partitions 2 --workers 2 2>"$T/wk.err" &
pid=$!
# a worker process of this stream, once its reduces hold their slots
wk=
n=0
while [ -z "$wk" ] && [ $n -lt 200 ]; do
	sleep 0.05
	wk=$(pgrep -P $pid -f 'sluice worker' | head -n 1)
	n=$((n + 1))
done
sleep 0.5
[ -n "$wk" ] && kill -9 "$wk"
RC=0
wait $pid || RC=$?
check "a worker killed mid-batch: one was found and killed" \
	grep -q "killed by signal 9" "$T/wk.err"
check "a worker killed mid-batch: the stream goes on (exit 0)" test "$RC" -eq 0
check_batches "a worker killed mid-batch" "$T/k" "$T/k.ck" wordcount

# --- the SQLite sink: rows and the batch's mark in one transaction --------------

# kill -9 again, into a database: the table ends as the batch run over
# every file, and _sluice_batches marks each committed batch once.
i=0
while [ $i -lt 6 ]; do
	SLUICE_FAULT=reduce-sleep=400 "$SLUICE" stream wordcount \
		--source "file:$SRC" --sink "sqlite:$T/db.sqlite?table=words" \
		--checkpoint "$T/sq.ck" --trigger 50ms --partitions 2 \
		--workers 2 --split-size 4K 2>>"$T/kill.err" &
	pid=$!
	sleep "$(awk -v s=$i 'BEGIN { srand(s + 50); printf "%.2f", 0.2 + rand() * 1.0 }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	i=$((i + 1))
done
run_sluice stream wordcount --source "file:$SRC" \
	--sink "sqlite:$T/db.sqlite?table=words" --checkpoint "$T/sq.ck" \
	--trigger available-now --partitions 2 --workers 2
expect_rc "sqlite sink after 6 kill -9: the restart drains the source" 0
sqlite3 -separator "$TAB" "$T/db.sqlite" \
	"SELECT key, value FROM words;" | LC_ALL=C sort >"$T/sq.got"
rm -rf "$T/all"
# shellcheck disable=SC2046
"$SLUICE" run wordcount $(ls "$SRC"/f*.txt) -o "$T/all" --partitions 2 \
	--workers 2 2>/dev/null
cat_parts "$T/all" | LC_ALL=C sort >"$T/sq.want"
check_eq "sqlite sink: the table is the count of every file once" \
	"$T/sq.want" "$T/sq.got"
check "sqlite sink: each committed batch marked once" \
	test "$(sqlite3 "$T/db.sqlite" "SELECT count(*) FROM _sluice_batches;")" \
	-eq "$(ls "$T/sq.ck/commits" | wc -l)"
check "sqlite sink: nothing left staged" \
	test -z "$(ls "$T/sq.ck/sink")"

# Append mode into a table: the rows of the file sink's append test.
# shellcheck disable=SC2086
feed_each "sqlite sink, append" "$T/asrc" "$T/asrc2" $AWIN \
	--sink "sqlite:$T/db.sqlite?table=win" --checkpoint "$T/sqa.ck" \
	--partitions 2 --workers 2 --output-mode append --watermark 5m
sqlite3 -csv "$T/db.sqlite" "SELECT * FROM win;" | tr -d '\r' |
	LC_ALL=C sort >"$T/sqa.got"
check_eq "sqlite sink, append: each final window once" "$T/app.want" \
	"$T/sqa.got"
usage_error "a sqlite sink without table" "not sqlite:PATH.table=T" \
	stream wordcount --source "file:$SRC" --sink "sqlite:$T/db.sqlite" \
	--checkpoint "$T/o.ck"
usage_error "a sqlite table of sluice's" "not _sluice" \
	stream wordcount --source "file:$SRC" \
	--sink "sqlite:$T/db.sqlite?table=_sluice_batches" \
	--checkpoint "$T/o.ck"

# --- update mode: the rows a batch changed, with their totals ---------------

mkdir -p "$T/usrc"
: >"$T/u.files"
for i in 1 2 3; do
	gen_text $((90 + i)) 200 space >"$T/usrc/.u$i.txt"
	mv "$T/usrc/.u$i.txt" "$T/usrc/u$i.txt"
	echo "$T/usrc/u$i.txt" >>"$T/u.files"
	run_sluice stream wordcount --source "file:$T/usrc" \
		--sink "file:$T/upd" --checkpoint "$T/upd.ck" --trigger once \
		--partitions 2 --workers 2 --output-mode update
	run_sluice stream wordcount --source "file:$T/usrc" \
		--sink "sqlite:$T/upd.db?table=words" --checkpoint "$T/updq.ck" \
		--trigger once --partitions 2 --workers 2 --output-mode update
	# the batch's rows: the words of file i, with their counts over 1..i
	rm -rf "$T/uref" "$T/uwords"
	# shellcheck disable=SC2046
	"$SLUICE" run wordcount $(cat "$T/u.files") -o "$T/uref" \
		--partitions 1 2>/dev/null
	"$SLUICE" run wordcount "$T/usrc/u$i.txt" -o "$T/uwords" \
		--partitions 1 2>/dev/null
	cut -f 1 "$T/uwords/part-00000" | LC_ALL=C sort >"$T/uwords.keys"
	LC_ALL=C sort "$T/uref/part-00000" |
		LC_ALL=C join -t "$TAB" - "$T/uwords.keys" >"$T/upd.want"
	cat_parts "$T/upd/batch-000000000$i" | LC_ALL=C sort >"$T/upd.got"
	check_eq "update mode, batch $i: the changed words, with their totals" \
		"$T/upd.want" "$T/upd.got"
done
sqlite3 -separator "$TAB" "$T/upd.db" "SELECT key, value FROM words;" |
	LC_ALL=C sort >"$T/updq.got"
LC_ALL=C sort "$T/uref/part-00000" >"$T/updq.want"
check_eq "update mode into sqlite: a row a word, its total" "$T/updq.want" \
	"$T/updq.got"

# --- a sink that refuses, a source that goes away ---------------------------

# A table of other columns refuses the batch's rows: after its retries the
# stream stops (exit 1), the batch logged and not committed; once the
# table is gone, a restart commits it, each file once.
mkdir -p "$T/rsrc"
gen_text 77 300 space >"$T/rsrc/a.txt"
gen_text 78 300 space >"$T/rsrc/b.txt"
sqlite3 "$T/refuse.db" "CREATE TABLE words (x);"
run_sluice stream wordcount --source "file:$T/rsrc" \
	--sink "sqlite:$T/refuse.db?table=words" --checkpoint "$T/refuse.ck" \
	--trigger once --partitions 2 --workers 2
expect_rc "a sink that refuses: exit status" 1
expect_sluice_error "a sink that refuses: why, after its retries" \
	"words.*after 4 attempts"
check "a sink that refuses: the batch is logged, not committed" \
	test -f "$T/refuse.ck/offsets/0000000001" -a \
	! -f "$T/refuse.ck/commits/0000000001"
sqlite3 "$T/refuse.db" "DROP TABLE words;"
run_sluice stream wordcount --source "file:$T/rsrc" \
	--sink "sqlite:$T/refuse.db?table=words" --checkpoint "$T/refuse.ck" \
	--trigger once --partitions 2 --workers 2
expect_rc "the sink fixed: the restart commits the batch" 0
rm -rf "$T/rref"
"$SLUICE" run wordcount "$T/rsrc/a.txt" "$T/rsrc/b.txt" -o "$T/rref" \
	--partitions 2 2>/dev/null
cat_parts "$T/rref" | LC_ALL=C sort >"$T/refuse.want"
sqlite3 -separator "$TAB" "$T/refuse.db" "SELECT key, value FROM words;" |
	LC_ALL=C sort >"$T/refuse.got"
check_eq "the sink fixed: each file once" "$T/refuse.want" "$T/refuse.got"

# The source directory goes away and comes back with a new file: the
# stream waits, says so, and takes the file.
"$SLUICE" stream wordcount --source "file:$T/rsrc" --sink "file:$T/away" \
	--checkpoint "$T/away.ck" --trigger 100ms --partitions 2 --workers 2 \
	2>"$T/away.err" &
pid=$!
n=0
until [ -f "$T/away.ck/commits/0000000001" ] || [ $n -gt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done
mv "$T/rsrc" "$T/rsrc.gone"
sleep 0.5
gen_text 79 300 space >"$T/rsrc.gone/c.txt"
mv "$T/rsrc.gone" "$T/rsrc"
n=0
until [ -f "$T/away.ck/commits/0000000002" ] || [ $n -gt 200 ]; do
	sleep 0.05
	n=$((n + 1))
done
kill -TERM $pid
RC=0
wait $pid || RC=$?
check "a source away and back: the stream went on (exit 0)" test "$RC" -eq 0
check "a source away and back: it said so" grep -q "waiting for it" "$T/away.err"
SRC_SAVE=$SRC
SRC=$T/rsrc
check_batches "a source away and back" "$T/away" "$T/away.ck" wordcount
SRC=$SRC_SAVE

# Bad events follow --bad-records: a batch with an unparseable time fails
# the stream (exit 1, the file and line named) unless they are skipped,
# then counted in progress.jsonl.
mkdir -p "$T/bsrc"
printf 'user,ts,amount\nu1,1796306400,1.00\nu2,yesterday,2.00\n' \
	>"$T/bsrc/a.csv"
BW="window --key user --time ts --window tumbling:1m --agg count"
# shellcheck disable=SC2086
run_sluice stream $BW --source "file:$T/bsrc" --sink "file:$T/bad" \
	--checkpoint "$T/bad.ck" --trigger once --partitions 1 --workers 1
expect_rc "a bad event: exit status" 1
expect_sluice_error "a bad event: file and line" "a.csv:3: .*'yesterday'"
# shellcheck disable=SC2086
run_sluice stream $BW --source "file:$T/bsrc" --sink "file:$T/bad2" \
	--checkpoint "$T/bad2.ck" --trigger once --partitions 1 --workers 1 \
	--bad-records skip
expect_rc "bad events skipped: exit status" 0
check "bad events skipped: counted in progress.jsonl" \
	grep -q '"bad_records":1' "$T/bad2.ck/progress.jsonl"

# --- the rate source: generated events, replayable from their offsets --------

# 3000 events a second into 1 s windows, batches of at most 400, a kill -9
# in the middle, then SIGTERM: the last batch (complete mode) counts each
# event of the offset log once: its counts add up to the last offset, its
# sums of value (i % 1000) to the sum over those events.
RATE="window --key key --time ts --time-unit ms --window tumbling:1s --agg count,sum:value"
rate_run() {
	# shellcheck disable=SC2086
	"$SLUICE" stream $RATE --source rate:3000,keys=50 \
		--sink "file:$T/rate" --checkpoint "$T/rate.ck" --trigger 100ms \
		--max-batch-records 400 --partitions 2 --workers 2 \
		2>>"$T/rate.err" &
	pid=$!
	sleep "$1"
	kill "$2" $pid
	wait $pid 2>/dev/null
}
rate_run 1.2 -9
rate_run 1.2 -TERM
last=$(ls "$T/rate.ck/commits" | tail -n 1)
cat "$T/rate.ck"/offsets/* | grep '^rate ' >"$T/rate.offs"
check "rate: the offsets follow each other, 400 events a batch at most" \
	awk '{ if (NR > 1 && $3 != to) exit 1; if ($4 - $3 > 400) exit 1;
		if ($2 != start && NR > 1) exit 1; start = $2; to = $4 }' \
	"$T/rate.offs"
to=$(sed -n "s/^rate [0-9]* [0-9]* \([0-9]*\)$/\1/p" \
	"$T/rate.ck/offsets/$last")
cat "$T/rate/batch-$last"/part-* | grep -v '^key,' |
	awk -F, '{ n += $4; v += $5 } END { print n, v }' >"$T/rate.got"
awk -v to="$to" 'BEGIN { for (i = 0; i < to; i++) v += i % 1000; print to, v }' \
	>"$T/rate.want"
check "rate: the last batch took events ($to)" test "${to:-0}" -gt 400
check_eq "rate: after a kill -9 and SIGTERM, each event counted once" \
	"$T/rate.want" "$T/rate.got"
check "rate: more than a few batches ran" test "$(ls "$T/rate.ck/commits" | wc -l)" -ge 3
check "rate: progress.jsonl has each batch's event-to-sink latency" \
	awk -F'[:,}]' '{ lo = -1; hi = -1
		for (i = 1; i < NF; i++) {
			if ($i == "\"latency_min_ms\"") lo = $(i + 1)
			if ($i == "\"latency_max_ms\"") hi = $(i + 1) }
		if (lo < 0 || hi < lo) exit 1 }' "$T/rate.ck/progress.jsonl"
check "rate: p50 and p99 latency between the newest's and the oldest's" \
	awk -F'[:,}]' '{ lo = hi = p50 = p99 = -1
		for (i = 1; i < NF; i++) {
			if ($i == "\"latency_min_ms\"") lo = $(i + 1)
			if ($i == "\"latency_max_ms\"") hi = $(i + 1)
			if ($i == "\"latency_p50_ms\"") p50 = $(i + 1)
			if ($i == "\"latency_p99_ms\"") p99 = $(i + 1) }
		if (p50 < lo || p99 < p50 || p99 > hi) exit 1 }' \
	"$T/rate.ck/progress.jsonl"
# The state's rows are its keys: those of the last batch's output rows.
check "rate: the state's rows, the lag and the rate in the last line" \
	awk -v want="$(cat "$T/rate/batch-$last"/part-* | grep -vc '^key,')" \
	-F'[:,}]' 'END { rows = lag = rate = -1
		for (i = 1; i < NF; i++) {
			if ($i == "\"state_rows\"") rows = $(i + 1)
			if ($i == "\"source_lag_rows\"") lag = $(i + 1)
			if ($i == "\"input_rows_per_s\"") rate = $(i + 1) }
		if (rows != want || lag < 0 || rate <= 0) exit 1 }' \
	"$T/rate.ck/progress.jsonl"
check "rate: the generated inputs go once committed" \
	test "$(ls "$T/rate.ck/source" | grep -c '\.csv$')" -le 1
for bad in rate:0 rate:x rate:10,keys=0 rate:10,k=3 rate:-5; do
	usage_error "source '$bad'" "rate:N" stream wordcount --source "$bad" \
		--sink "file:$T/o" --checkpoint "$T/o2.ck"
done

# --- processing time: the batch's, logged with its offsets ------------------

# Each batch's rows fall in the window of the time the batch was planned,
# as CK/offsets/N records it; a batch run again (its commit removed) uses
# the logged time, so writes the same bytes.
mkdir -p "$T/psrc"
printf 'user,amount\nu1,3\nu2,4\nu1,5\n' >"$T/psrc/1.csv"
PWIN="window --key user --time proc --window tumbling:1s --agg count,sum:amount"
# shellcheck disable=SC2086
run_sluice stream $PWIN --source "file:$T/psrc" --sink "file:$T/proc" \
	--checkpoint "$T/proc.ck" --trigger once --partitions 1 --workers 1
expect_rc "processing time: exit status" 0
bt=$(sed -n 's/^batch-time \([0-9]*\)$/\1/p' "$T/proc.ck/offsets/0000000001")
ws=$(awk -v t="$bt" 'BEGIN { print int(t / 1000) }')
want_start=$(date -u -d "@$ws" +%Y-%m-%dT%H:%M:%SZ)
want_end=$(date -u -d "@$((ws + 1))" +%Y-%m-%dT%H:%M:%SZ)
printf 'user,window_start,window_end,count,sum_amount\nu1,%s,%s,2,8\nu2,%s,%s,1,4\n' \
	"$want_start" "$want_end" "$want_start" "$want_end" >"$T/proc.want"
check_eq "processing time: the window of the logged batch time" \
	"$T/proc.want" "$T/proc/batch-0000000001/part-00000"
cp "$T/proc/batch-0000000001/part-00000" "$T/proc.first"
rm "$T/proc.ck/commits/0000000001"
sleep 1.1 # another window: only the logged time gives the same bytes
# shellcheck disable=SC2086
run_sluice stream $PWIN --source "file:$T/psrc" --sink "file:$T/proc" \
	--checkpoint "$T/proc.ck" --trigger once --partitions 1 --workers 1 -v
expect_rc "processing time, the batch again: exit status" 0
expect_err "processing time, the batch again: as logged" \
	"batch 1 again, as logged"
check_eq "processing time, the batch again: the same bytes" \
	"$T/proc.first" "$T/proc/batch-0000000001/part-00000"

# --- SIGTERM: the batch in flight commits, then the stream stops --------------

add_files 50 52
SLUICE_FAULT=reduce-sleep=500 "$SLUICE" stream wordcount \
	--source "file:$SRC" --sink "file:$T/k" --checkpoint "$T/k.ck" \
	--trigger 100ms --partitions 2 --workers 2 2>"$T/term.err" &
pid=$!
sleep 0.4
kill -TERM $pid
RC=0
wait $pid || RC=$?
check "SIGTERM: exit status 0" test "$RC" -eq 0
check_batches "SIGTERM: the batch in flight committed" "$T/k" "$T/k.ck" \
	wordcount

# --- bad cases ------------------------------------------------------------------

usage_error "an unknown source" "unknown source 'kafka:x'" stream wordcount \
	--source "kafka:x" --sink "file:$T/o" --checkpoint "$T/o.ck"
usage_error "an unknown sink" "unknown sink 'kafka:x'" stream wordcount \
	--source "file:$SRC" --sink "kafka:x" --checkpoint "$T/o.ck"
usage_error "a source that is not a directory" "not a directory" \
	stream wordcount --source "file:$T/nope" --sink "file:$T/o" \
	--checkpoint "$T/o.ck"
usage_error "no --checkpoint" "--checkpoint" stream wordcount \
	--source "file:$SRC" --sink "file:$T/o"
usage_error "inputs given to a stream" "no INPUT" stream wordcount \
	"$SRC/f0001.txt" --source "file:$SRC" --sink "file:$T/o" \
	--checkpoint "$T/o.ck"
usage_error "a job without combine" "no combine" stream streaming \
	--mapper cat --reducer cat --source "file:$SRC" --sink "file:$T/o" \
	--checkpoint "$T/o.ck"
usage_error "a bad --trigger" "--trigger" stream wordcount \
	--source "file:$SRC" --sink "file:$T/o" --checkpoint "$T/o.ck" \
	--trigger soon
usage_error "an unknown output mode" "output-mode" stream wordcount \
	--source "file:$SRC" --sink "file:$T/o" --checkpoint "$T/o.ck" \
	--output-mode sometimes
usage_error "a stream option given to run" "another command" \
	run wordcount "$SRC/f0001.txt" -o "$T/o" --checkpoint "$T/o.ck"
usage_error "the checkpoint of another job" "belongs to another stream" \
	stream wordcount --source "file:$SRC" --sink "file:$T/k" \
	--checkpoint "$T/k.ck" --partitions 3
usage_error "the checkpoint of other job options" "belongs to another stream" \
	stream window --key user --time ts --window tumbling:5m --agg count \
	--source "file:$T/csrc" --sink "file:$T/win" --checkpoint "$T/win.ck" \
	--partitions 2
"$SLUICE" stream wordcount --source "file:$SRC" --sink "file:$T/k" \
	--checkpoint "$T/k.ck" --trigger 1s --partitions 2 --workers 1 \
	2>/dev/null &
pid=$!
sleep 0.5
usage_error "a second stream on a checkpoint in use" "in use by another" \
	stream wordcount --source "file:$SRC" --sink "file:$T/k" \
	--checkpoint "$T/k.ck" --partitions 2
kill -TERM $pid
wait $pid 2>/dev/null

finish
