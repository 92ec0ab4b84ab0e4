#!/bin/sh
# test_late.sh - `sluice stream window --late`: in append mode, every late
# event (all its windows behind the watermark) is counted and, with
# --late sink:URI, written to that sink as it came, once. The reference
# is awk over the files of each committed batch (its offset log entry)
# with the watermark rule: after batch N the watermark is the latest
# event time of batches 1..N less the delay, and an event of batch N+1 is
# late when its 10-minute window ends at or before it. Into file: and
# sqlite: late sinks, batch by batch and after kill -9 at random points;
# then the bad cases.
. "$(dirname "$0")/lib.sh"

# Files of events 20 minutes apart from file to file, a fifth of them
# pushed an hour back (late once the watermark has passed them); users
# with a comma, quoted, so that a late row is its bytes, not its fields.
mkdir -p "$T/stage"
i=1
while [ $i -le 10 ]; do
	awk -v s=$i 'BEGIN { srand(s); print "user,ts,amount"
		for (j = 0; j < 150; j++) {
			t = 1796306400 + s * 1200 + int(rand() * 1200)
			if (rand() < 0.2) t -= 3600
			u = int(rand() * 6)
			if (u == 5) printf "\"u,%d\",%d,%d.%02d\n", s % 3, t,
			    int(rand() * 100), int(rand() * 100)
			else printf "u%d,%d,%d.%02d\n", u, t, int(rand() * 100),
			    int(rand() * 100) } }' >"$T/stage/e$(printf %02d $i).csv"
	i=$((i + 1))
done
WIN="window --key user --time ts --window tumbling:10m --agg count,sum:amount"
DELAY=300 # --watermark 5m, in seconds

# late_ref CK SRC OUTDIR: OUTDIR/N holds the late rows of committed batch
# N of checkpoint CK (over the files of SRC it logged), as they came, in
# the order of its files and their lines.
late_ref() {
	rm -rf "$3"
	mkdir -p "$3"
	_lr_max=none
	for _lr_n in $(ls "$1/commits"); do
		# whole files (no --max-batch-records): their names
		_lr_files=$(sed -n 's/^range [0-9]* [0-9]* [0-9]* [0-9]* //p' \
			"$1/offsets/$_lr_n" |
			sed "s|^|$2/|")
		# shellcheck disable=SC2086
		_lr_max=$(awk -F, -v max="$_lr_max" -v d=$DELAY \
			-v out="$3/$_lr_n" '
			FNR == 1 { next }
			{ t = $(NF - 1) }
			max != "none" && int(t / 600) * 600 + 600 <= max - d {
				print >out }
			{ if (m == "" || t > m) m = t }
			END { close(out)
				if (max == "none" || m > max) max = m
				print max }' $_lr_files)
		touch "$3/$_lr_n"
	done
}

# file_late_got LATE OUTDIR: OUTDIR/N, the rows of the file late sink's
# batch N (its part files in order, their header rows dropped).
file_late_got() {
	rm -rf "$2"
	mkdir -p "$2"
	for _fl_d in "$1"/batch-*; do
		_fl_n=${_fl_d##*batch-}
		for _fl_p in "$_fl_d"/part-*; do
			[ -e "$_fl_p" ] && tail -n +2 "$_fl_p"
		done >"$2/$_fl_n"
	done
}

# batches DIR OUT: the files of DIR (one a batch), each after its name.
batches() {
	for _bt_f in $(ls "$1"); do
		echo "== $_bt_f"
		cat "$1/$_bt_f"
	done >"$2"
}

# --- a file late sink, a batch a file ----------------------------------------

# shellcheck disable=SC2086
feed_each "file late sink" "$T/stage" "$T/src" $WIN --sink "file:$T/res" \
	--checkpoint "$T/ck" --partitions 2 --workers 2 --split-size 2K \
	--output-mode append --watermark 5m --late "sink:file:$T/late"
late_ref "$T/ck" "$T/src" "$T/want"
file_late_got "$T/late" "$T/got"
check "file late sink: there are late events to find" \
	test "$(cat "$T/want"/* | wc -l)" -gt 100
batches "$T/want" "$T/want.all"
batches "$T/got" "$T/got.all"
check_eq "file late sink: batch by batch, exactly the late rows, once" \
	"$T/want.all" "$T/got.all"
check "file late sink: a part file a map task (two a file), each under the input's header" \
	test "$(head -qn 1 "$T/late"/batch-*/part-* | grep -cx 'user,ts,amount')" -eq 20
check "file late sink: the manifest lists every batch" \
	test "$(cat "$T/late/_manifest" | wc -l)" -eq 10
check "file late sink: no temporary files left" \
	test -z "$(find "$T/late" -name '_temporary*')"
check "late_records: the progress lines count the same events" \
	test "$(grep -o '"late_records":[0-9]*' "$T/ck/progress.jsonl" |
		awk -F: '{ n += $2 } END { print n }')" -eq \
	"$(cat "$T/want"/* | wc -l)"
# The stream's own rows: those of a batch run over the events not late.
cat "$T/want"/* | LC_ALL=C sort >"$T/late.rows"
for f in "$T/src"/*.csv; do
	tail -n +2 "$f"
done | LC_ALL=C sort | comm -23 - "$T/late.rows" >"$T/ontime.rows"
{ echo "user,ts,amount"; cat "$T/ontime.rows"; } >"$T/ontime.csv"
rm -rf "$T/ref"
# shellcheck disable=SC2086
"$SLUICE" run $WIN "$T/ontime.csv" -o "$T/ref" --partitions 1 2>/dev/null
# the windows the last watermark has passed
wm=$(sed -n 's/watermark //p' "$T/ck/commits/$(ls "$T/ck/commits" | tail -n 1)")
awk -F, 'NR > 1' "$T/ref/part-00000" | LC_ALL=C sort >"$T/ref.rows"
cat "$T/res"/batch-*/part-* | grep -v '^user,' | LC_ALL=C sort >"$T/out.rows"
check "the stream's rows are the batch run's over the events not late" \
	test "$(comm -23 "$T/out.rows" "$T/ref.rows" | wc -l)" -eq 0 -a \
	"$(wc -l <"$T/out.rows")" -gt 0
check "the watermark has passed some windows ($wm ms)" \
	test "$wm" -gt 0

# --- a sqlite late sink ------------------------------------------------------

# shellcheck disable=SC2086
feed_each "sqlite late sink" "$T/stage" "$T/src2" $WIN \
	--sink "file:$T/out2" --checkpoint "$T/ck2" --partitions 2 \
	--workers 2 --split-size 2K --output-mode append --watermark 5m \
	--late "sink:sqlite:$T/late.db?table=late"
late_ref "$T/ck2" "$T/src2" "$T/want2"
# the table's rows as CSV (sqlite3 quotes the field with a comma as it came)
sqlite3 -csv "$T/late.db" "SELECT user, ts, amount FROM late;" |
	LC_ALL=C sort >"$T/db.got"
cat "$T/want2"/* | LC_ALL=C sort >"$T/db.want"
check_eq "sqlite late sink: the table holds exactly the late rows, once" \
	"$T/db.want" "$T/db.got"
check "sqlite late sink: its columns are the input's header" \
	test "$(sqlite3 "$T/late.db" "SELECT group_concat(name) FROM pragma_table_info('late');")" = "user,ts,amount"
check "sqlite late sink: each batch marked once, under the checkpoint's late/" \
	test "$(sqlite3 "$T/late.db" "SELECT count(DISTINCT batch) || ' ' || count(*) || ' ' || min(stream) FROM _sluice_batches;")" = "10 10 $(cd "$T/ck2" && pwd -P)/late"
check "sqlite late sink: nothing left staged" \
	test -z "$(ls "$T/ck2/late/sink")"

# --- kill -9 at random points, then a restart ----------------------------------

# late_kills NAME LATE-URI CK SRC: stages a file a run, kills the stream
# (and its workers) with SIGKILL 0.2 to 1.7 s into the run, 6 times, then
# drains the source. Map tasks sleep, so kills land mid-map (with late
# files half written) as well as mid-reduce and mid-commit.
late_kills() {
	_lk_i=0
	_lk_cut=0 # kills that left a batch logged, not committed
	mkdir -p "$4"
	for _lk_f in $(ls "$T/stage" | head -n 6); do
		cp "$T/stage/$_lk_f" "$4/.$_lk_f" && mv "$4/.$_lk_f" "$4/$_lk_f"
		SLUICE_FAULT=map-sleep=300,reduce-sleep=300 "$SLUICE" stream \
			$WIN --source "file:$4" --sink "file:$3.out" \
			--checkpoint "$3" --trigger 50ms --partitions 2 \
			--workers 2 --split-size 2K --output-mode append \
			--watermark 5m --late "$2" 2>>"$T/kill.err" &
		_lk_pid=$!
		sleep "$(awk -v s=$_lk_i 'BEGIN { srand(s + 7); printf "%.2f", 0.2 + rand() * 1.5 }')"
		kill -9 $_lk_pid 2>/dev/null
		wait $_lk_pid 2>/dev/null
		[ "$(ls "$3/offsets" 2>/dev/null | wc -l)" -gt \
			"$(ls "$3/commits" 2>/dev/null | wc -l)" ] &&
			_lk_cut=$((_lk_cut + 1))
		_lk_i=$((_lk_i + 1))
	done
	for _lk_f in $(ls "$T/stage" | tail -n +7); do
		cp "$T/stage/$_lk_f" "$4/.$_lk_f" && mv "$4/.$_lk_f" "$4/$_lk_f"
	done
	# shellcheck disable=SC2086
	run_sluice stream $WIN --source "file:$4" --sink "file:$3.out" \
		--checkpoint "$3" --trigger available-now --partitions 2 \
		--workers 2 --split-size 2K --output-mode append \
		--watermark 5m --late "$2"
	expect_rc "$1: the restart drains the source" 0
	check "$1: kills cut batches between their offsets and commits ($_lk_cut of 6)" \
		test "$_lk_cut" -ge 1
}

late_kills "kill -9, file late sink" "sink:file:$T/klate" "$T/kck" "$T/ksrc"
late_ref "$T/kck" "$T/ksrc" "$T/kwant"
file_late_got "$T/klate" "$T/kgot"
batches "$T/kwant" "$T/kwant.all"
batches "$T/kgot" "$T/kgot.all"
check_eq "kill -9, file late sink: batch by batch, exactly the late rows, once" \
	"$T/kwant.all" "$T/kgot.all"
check "kill -9, file late sink: every file taken" \
	test "$(cat "$T/kck"/offsets/* | grep -c '^range ')" -eq 10

late_kills "kill -9, sqlite late sink" "sink:sqlite:$T/klate.db?table=late" \
	"$T/sck" "$T/ssrc"
late_ref "$T/sck" "$T/ssrc" "$T/swant"
sqlite3 -csv "$T/klate.db" "SELECT user, ts, amount FROM late;" |
	LC_ALL=C sort >"$T/sdb.got"
cat "$T/swant"/* | LC_ALL=C sort >"$T/sdb.want"
check "kill -9, sqlite late sink: there are late events to find" \
	test -s "$T/sdb.want"
check_eq "kill -9, sqlite late sink: exactly the late rows, once" \
	"$T/sdb.want" "$T/sdb.got"
check "kill -9, sqlite late sink: each committed batch marked once" \
	test "$(sqlite3 "$T/klate.db" "SELECT count(*) FROM _sluice_batches;")" \
	-eq "$(ls "$T/sck/commits" | wc -l)"
check "the kills left no process behind" \
	test -z "$(pgrep -f "checkpoint $T/[ks]ck" || true)"

# --- on a cluster: `sluice submit --stream --late` ------------------------------

SLUICE_STATE=$T/state
export SLUICE_STATE
: >"$T/ep"
"$SLUICE" coordinator --listen tcp://127.0.0.1:0 >"$T/ep" 2>"$T/coord.err" &
COORD=$!
poll_for "the coordinator's endpoint" test -s "$T/ep"
EP=$(cat "$T/ep")
"$SLUICE" worker --connect "$EP" --slots 2 --bind none 2>"$T/w.err" &
WK=$!
mkdir -p "$T/csrc"
# relative URIs, made absolute where the command line is parsed
# shellcheck disable=SC2086
(cd "$T" && "$SLUICE" submit $WIN --stream --source file:csrc \
	--sink file:cres --checkpoint cck --trigger 50ms --partitions 2 \
	--split-size 2K --output-mode append --watermark 5m \
	--late sink:file:clate --coordinator "$EP" >"$T/id" 2>"$T/submit.err")
check "submit --stream --late: exit status 0" test $? -eq 0
committed() {
	[ "$(ls "$T/cck/commits" 2>/dev/null | wc -l)" -ge "$1" ]
}
k=0
for f in $(ls "$T/stage"); do
	k=$((k + 1))
	cp "$T/stage/$f" "$T/csrc/.$f" && mv "$T/csrc/.$f" "$T/csrc/$f"
	poll_for "the cluster's batch $k" committed $k
done
"$SLUICE" cancel "$(cat "$T/id")" --coordinator "$EP" >/dev/null 2>&1
late_ref "$T/cck" "$T/csrc" "$T/cwant"
file_late_got "$T/clate" "$T/cgot"
batches "$T/cwant" "$T/cwant.all"
batches "$T/cgot" "$T/cgot.all"
check_eq "on a cluster: batch by batch, exactly the late rows, once" \
	"$T/cwant.all" "$T/cgot.all"
check "on a cluster: there are late events to find" test -s "$T/cwant.all"
kill "$WK" "$COORD" 2>/dev/null
wait "$WK" "$COORD" 2>/dev/null

# --- count and drop: counted, nothing kept -------------------------------------

for how in count drop; do
	# shellcheck disable=SC2086
	feed_each "--late $how" "$T/stage" "$T/$how.src" $WIN \
		--sink "file:$T/$how.out" --checkpoint "$T/$how.ck" \
		--partitions 2 --workers 2 --split-size 2K \
		--output-mode append --watermark 5m --late $how
	check "--late $how: the late events are counted" \
		test "$(grep -o '"late_records":[0-9]*' "$T/$how.ck/progress.jsonl" |
			awk -F: '{ n += $2 } END { print n }')" -eq \
		"$(cat "$T/want"/* | wc -l)"
	check "--late $how: nothing written for them" \
		test ! -e "$T/$how.ck/late"
done
cat "$T/res"/batch-*/part-* >"$T/sink.rows"
cat "$T/drop.out"/batch-*/part-* >"$T/drop.rows"
check_eq "--late drop: the same rows as with a late sink" \
	"$T/sink.rows" "$T/drop.rows"

# --- JSON lines: the lines as they came; a database wants CSV rows ---------------

mkdir -p "$T/jstage"
printf '{"user":"a","ts":%d,"amount":1}\n' 1796306400 >"$T/jstage/1.json"
printf '{"user":"b", "ts":%d, "amount":2}\n{ "user":"a","ts":%d,"amount":3}\n' \
	1796316400 1796305000 >"$T/jstage/2.json"
# shellcheck disable=SC2086
feed_each "JSON lines, file late sink" "$T/jstage" "$T/jsrc" $WIN \
	--sink "file:$T/jout" --checkpoint "$T/jck" --partitions 1 \
	--workers 1 --output-mode append --watermark 0 \
	--late "sink:file:$T/jlate"
cat "$T/jlate"/batch-0000000002/part-* >"$T/jlate.got"
check_text "JSON lines: the late line as it came, no header" \
	'{ "user":"a","ts":1796305000,"amount":3}\n' "$T/jlate.got"
mkdir -p "$T/jsrc2"
cp "$T/jstage"/*.json "$T/jsrc2"
rm -f "$T/jsrc2/2.json"
# shellcheck disable=SC2086
run_sluice stream $WIN --source "file:$T/jsrc2" --sink "file:$T/jout2" \
	--checkpoint "$T/jck2" --partitions 1 --workers 1 --trigger once \
	--output-mode append --watermark 0 \
	--late "sink:sqlite:$T/j.db?table=late"
expect_rc "JSON lines, sqlite late sink: a batch of no late line commits" 0
cp "$T/jstage/2.json" "$T/jsrc2/2.json"
# shellcheck disable=SC2086
run_sluice stream $WIN --source "file:$T/jsrc2" --sink "file:$T/jout2" \
	--checkpoint "$T/jck2" --partitions 1 --workers 1 --trigger once \
	--output-mode append --watermark 0 \
	--late "sink:sqlite:$T/j.db?table=late"
expect_rc "JSON lines, sqlite late sink: a late line fails the batch" 1
expect_sluice_error "JSON lines, sqlite late sink: says why" \
	"--late: .*holds JSON lines.*file: sink"
check "JSON lines, sqlite late sink: the batch stays uncommitted" \
	test "$(ls "$T/jck2/commits" | wc -l)" -eq 1

# --- bad cases -----------------------------------------------------------------

A="--source file:$T/src --sink file:$T/o --checkpoint $T/o.ck"
# shellcheck disable=SC2086
usage_error "--late sink:nope:x" "--late: unknown sink 'nope:x'" stream $WIN \
	$A --output-mode append --watermark 5m --late sink:nope:x
# shellcheck disable=SC2086
usage_error "--late without append mode" "only --output-mode append" \
	stream $WIN $A --late "sink:file:$T/l"
# shellcheck disable=SC2086
usage_error "--late count without append mode" "only --output-mode append" \
	stream $WIN $A --output-mode update --late count
# shellcheck disable=SC2086
usage_error "--late keep" "'keep' is not count, drop or sink:URI" stream \
	$WIN $A --output-mode append --watermark 5m --late keep
# shellcheck disable=SC2086
usage_error "--late sink:" "is not count, drop or sink:URI" stream \
	$WIN $A --output-mode append --watermark 5m --late sink:
# shellcheck disable=SC2086
usage_error "--late into the stream's own sink" "a sink of their own" \
	stream $WIN $A --output-mode append --watermark 5m \
	--late "sink:file:$T/o"
usage_error "--late for a batch run" "another command" run $WIN \
	"$T/src/e01.csv" -o "$T/o" --late count
check "no late sink was made by a refused stream" test ! -e "$T/l"
# A checkpoint of a stream without a late sink is not one with.
# shellcheck disable=SC2086
usage_error "--late sink: on a checkpoint of --late count" \
	"belongs to another stream" stream $WIN --source "file:$T/count.src" \
	--sink "file:$T/count.out" --checkpoint "$T/count.ck" --partitions 2 \
	--output-mode append --watermark 5m --late "sink:file:$T/l2"

finish
