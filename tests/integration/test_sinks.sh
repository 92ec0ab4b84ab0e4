#!/bin/sh
# test_sinks.sh - the sinks of `sluice stream` beyond the file sink's
# layout (test_stream.sh):
#  - update mode into SQLite for CSV rows (aggregate, tumbling and sliding
#    windows): a file a batch, the table after each batch equal to `sluice
#    run` over the files so far (every key's row once, upserted on the key
#    columns and window), and to sqlite3 over the events; kill -9 at many
#    points, a restart, the same table (exactly once); a table of other
#    columns, a table holding rows of one key twice, session windows
#    (rows without a key) refused with the reason;
#  - the console sink: each batch's rows on stdout after a batch line,
#    the CSV header once, in part-file order; a restart or the replay of
#    a batch printed does not print it again; a crash between print and
#    record prints it again (at least once, as documented); a closed pipe
#    is a sink failure (exit 1), never a crash; bad URIs.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null || skip "no sqlite3"

# Events of 20 users over two hours, a file a seed: files overlap in keys
# and windows, so later batches update earlier rows; the last file has 5
# users only.
mkdir -p "$T/ev"
for i in 1 2 3 4; do
	awk -v s=$i 'BEGIN { srand(s + 10); print "user,ts,amount"
		for (j = 0; j < 300; j++)
			printf "u%d,%d,%d.%02d\n", int(rand() * (s < 4 ? 20 : 5)),
			    1796306400 + int(rand() * 7200),
			    int(rand() * 100), int(rand() * 100) }' \
		>"$T/ev/e$i.csv"
done

# table_rows DB TABLE : the table's rows as CSV, sorted.
table_rows() {
	sqlite3 -csv "$1" "SELECT * FROM $2;" | tr -d '\r' | LC_ALL=C sort
}

# run_rows OUT FILES... : the data rows of `sluice run JOB` ($JOBARGS)
# over the files, sorted (the reference).
run_rows() {
	_rr_out=$1
	shift
	rm -rf "$T/rr.ref"
	# shellcheck disable=SC2086
	"$SLUICE" run $JOBARGS "$@" -o "$T/rr.ref" --partitions 2 \
		--workers 2 2>"$T/rr.err" ||
		fail "reference run" "sluice run $JOBARGS failed"
	for _rr_f in "$T/rr.ref"/part-*; do
		tail -n +2 "$_rr_f"
	done | LC_ALL=C sort >"$_rr_out"
}

# update_each NAME ID : the files of $T/ev a batch each into table t of
# $T/ID.db in update mode (checkpoint $T/ID.ck); after each batch the
# table is the result of `sluice run` over the files so far.
update_each() {
	_ue_src=$T/$2.src
	mkdir -p "$_ue_src"
	_ue_files=
	_ue_ok=0
	for _ue_p in "$T/ev"/*.csv; do
		_ue_f=${_ue_p##*/}
		cp "$T/ev/$_ue_f" "$_ue_src/.$_ue_f" &&
			mv "$_ue_src/.$_ue_f" "$_ue_src/$_ue_f"
		_ue_files="$_ue_files $_ue_src/$_ue_f"
		# shellcheck disable=SC2086
		run_sluice stream $JOBARGS --source "file:$_ue_src" \
			--sink "sqlite:$T/$2.db?table=t" --checkpoint "$T/$2.ck" \
			--trigger once --partitions 2 --workers 2 \
			--output-mode update
		expect_rc "$1, the batch of $_ue_f: exit status" 0
		# shellcheck disable=SC2086
		run_rows "$T/ue.want" $_ue_files
		table_rows "$T/$2.db" t >"$T/ue.got"
		check_eq "$1, after the batch of $_ue_f: the table is sluice run over the files so far" \
			"$T/ue.want" "$T/ue.got"
		_ue_ok=$((_ue_ok + 1))
	done
	check "$1: each batch marked once" test "$(sqlite3 "$T/$2.db" \
		"SELECT count(*) FROM _sluice_batches;")" -eq "$_ue_ok"
}

# --- update mode into SQLite: aggregate ------------------------------------

JOBARGS="aggregate --key user --agg count,sum:amount,min:amount,max:amount"
update_each "aggregate, update" agg
check "aggregate, update: the table has a unique index on the key" \
	test "$(sqlite3 "$T/agg.db" "SELECT sql FROM sqlite_master WHERE name = '_sluice_key_t';")" \
	= 'CREATE UNIQUE INDEX "_sluice_key_t" ON "t" ("user")'
# A batch writes the rows of the keys it changed (the last file's 5
# users), the upsert keeps the others' rows (20 in all).
check "aggregate, update: the last batch wrote only its changed keys" \
	grep -q '"batch":4,.*"output_rows":5,' "$T/agg.ck/progress.jsonl"
check "aggregate, update: the table keeps the others' rows" \
	test "$(sqlite3 "$T/agg.db" "SELECT count(*) FROM t;")" -eq 20
# An independent reference: sqlite3 over the events themselves.
cat "$T/ev"/e*.csv | grep -v '^user,' >"$T/ev.all"
sqlite3 -csv "$T/ref.db" "CREATE TABLE e (user, ts, amount);" \
	".import $T/ev.all e" \
	"SELECT user, count(*), printf('%.2f', sum(amount)) FROM e GROUP BY user;" |
	tr -d '\r' | LC_ALL=C sort >"$T/agg.sql.want"
sqlite3 -csv "$T/agg.db" "SELECT user, count, sum_amount FROM t;" |
	tr -d '\r' | LC_ALL=C sort >"$T/agg.sql.got"
check_eq "aggregate, update: the table is sqlite3's GROUP BY over the events" \
	"$T/agg.sql.want" "$T/agg.sql.got"

# --- update mode into SQLite: windows ----------------------------------------

JOBARGS="window --key user --time ts --window tumbling:10m --agg count,sum:amount"
update_each "tumbling window, update" win
check "tumbling window, update: the index is on key and window" \
	test "$(sqlite3 "$T/win.db" "SELECT sql FROM sqlite_master WHERE name = '_sluice_key_t';")" \
	= 'CREATE UNIQUE INDEX "_sluice_key_t" ON "t" ("user", "window_start", "window_end")'
sqlite3 -csv "$T/ref.db" \
	"SELECT user, strftime('%Y-%m-%dT%H:%M:%SZ', ts - ts % 600, 'unixepoch'), count(*), printf('%.2f', sum(amount)) FROM e GROUP BY user, ts - ts % 600;" |
	tr -d '\r' | LC_ALL=C sort >"$T/win.sql.want"
sqlite3 -csv "$T/win.db" "SELECT user, window_start, count, sum_amount FROM t;" |
	tr -d '\r' | LC_ALL=C sort >"$T/win.sql.got"
check_eq "tumbling window, update: the table is sqlite3's GROUP BY window over the events" \
	"$T/win.sql.want" "$T/win.sql.got"
JOBARGS="window --key user --time ts --window sliding:20m,10m --agg count,max:amount"
update_each "sliding window, update" slide

# --- kill -9, many times, then a restart: exactly once ----------------------

# Each run has a new file; it is killed once its batch is logged (at once,
# or up to 0.6 s later: in its map, reduce, sink or commit), so that some
# batches are cut between their offsets and their commit.
JOBARGS="window --key user --time ts --window tumbling:10m --agg count,sum:amount,avg:amount"
mkdir -p "$T/ksrc"
i=1
cut=0
while [ $i -le 8 ]; do
	awk -v s=$i 'BEGIN { srand(s + 40); print "user,ts,amount"
		for (j = 0; j < 200; j++)
			printf "u%d,%d,%d.%02d\n", int(rand() * 30),
			    1796306400 + int(rand() * 5400),
			    int(rand() * 100), int(rand() * 100) }' \
		>"$T/ksrc/.k$i.csv"
	mv "$T/ksrc/.k$i.csv" "$T/ksrc/k$i.csv"
	logged=$(ls "$T/kill.ck/offsets" 2>/dev/null | wc -l)
	# shellcheck disable=SC2086
	SLUICE_FAULT=reduce-sleep=300 "$SLUICE" stream $JOBARGS \
		--source "file:$T/ksrc" --sink "sqlite:$T/k.db?table=w" \
		--checkpoint "$T/kill.ck" --trigger 50ms --partitions 2 \
		--workers 2 --output-mode update 2>>"$T/kill.err" &
	pid=$!
	n=0
	while [ "$(ls "$T/kill.ck/offsets" 2>/dev/null | wc -l)" -le "$logged" ] &&
		[ $n -lt 600 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	sleep "$(awk -v s=$i 'BEGIN { srand(s); r = rand() * 0.8 - 0.2
		printf "%.2f", r < 0 ? 0 : r }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ "$(ls "$T/kill.ck/offsets" | wc -l)" -gt \
		"$(ls "$T/kill.ck/commits" 2>/dev/null | wc -l)" ] && cut=$((cut + 1))
	i=$((i + 1))
done
run_sluice stream $JOBARGS --source "file:$T/ksrc" \
	--sink "sqlite:$T/k.db?table=w" --checkpoint "$T/kill.ck" \
	--trigger available-now --partitions 2 --workers 2 --output-mode update
expect_rc "after 8 kill -9: the restart drains the source" 0
check "kills cut batches between their offsets and commits ($cut of 8)" \
	test "$cut" -ge 1
run_rows "$T/k.want" "$T/ksrc"/k*.csv
table_rows "$T/k.db" w >"$T/k.got"
check_eq "after 8 kill -9: the table is sluice run over every file, once" \
	"$T/k.want" "$T/k.got"
check "after 8 kill -9: each committed batch marked once" \
	test "$(sqlite3 "$T/k.db" "SELECT count(*) FROM _sluice_batches;")" \
	-eq "$(ls "$T/kill.ck/commits" | wc -l)"
check "after 8 kill -9: nothing left staged" test -z "$(ls "$T/kill.ck/sink")"
check "the kills left no process behind" \
	test -z "$(pgrep -f "checkpoint $T/kill.ck" || true)"

# --- update mode into SQLite: the bad cases --------------------------------

JOBARGS="aggregate --key user --agg count,sum:amount"
mkdir -p "$T/bsrc"
cp "$T/ev/e1.csv" "$T/bsrc/"
# A table of other columns: the batch is refused after its retries (exit
# 1), logged and not committed; once the table is gone it commits.
sqlite3 "$T/bad.db" "CREATE TABLE t (user, total);"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/bsrc" \
	--sink "sqlite:$T/bad.db?table=t" --checkpoint "$T/bad.ck" \
	--trigger once --partitions 2 --workers 2 --output-mode update
expect_rc "update into a table of other columns: exit status" 1
expect_sluice_error "update into a table of other columns: why" \
	"do its columns match the job's.*after 4 attempts"
check "update into a table of other columns: logged, not committed" \
	test -f "$T/bad.ck/offsets/0000000001" -a \
	! -f "$T/bad.ck/commits/0000000001"
check "update into a table of other columns: its rows untouched" \
	test "$(sqlite3 "$T/bad.db" "SELECT count(*) FROM t;")" -eq 0
sqlite3 "$T/bad.db" "DROP TABLE t;"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/bsrc" \
	--sink "sqlite:$T/bad.db?table=t" --checkpoint "$T/bad.ck" \
	--trigger once --partitions 2 --workers 2 --output-mode update
expect_rc "the table dropped: the restart commits the batch" 0
run_rows "$T/bad.want" "$T/bsrc/e1.csv"
table_rows "$T/bad.db" t >"$T/bad.got"
check_eq "the table dropped: the rows of the batch" "$T/bad.want" "$T/bad.got"
# A table of the job's columns holding two rows of one key (appended
# before): no unique index can be made on the key, and nothing is lost.
sqlite3 "$T/dup.db" "CREATE TABLE t (user, count, sum_amount);" \
	"INSERT INTO t VALUES ('u1', '1', '1.00'), ('u1', '2', '2.00');"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/bsrc" \
	--sink "sqlite:$T/dup.db?table=t" --checkpoint "$T/dup.ck" \
	--trigger once --partitions 2 --workers 2 --output-mode update
expect_rc "update into a table with a key twice: exit status" 1
expect_sluice_error "update into a table with a key twice: why" \
	"cannot index the table by the rows' key columns.*UNIQUE"
check "update into a table with a key twice: its rows untouched" \
	test "$(sqlite3 "$T/dup.db" "SELECT count(*) FROM t;")" -eq 2
# Sessions: a session is made of several keys of the state, and a batch
# folds only those its events touch: refused before anything runs.
run_sluice stream window --key user --time ts --window session:5m \
	--agg count --source "file:$T/bsrc" \
	--sink "sqlite:$T/ses.db?table=t" --checkpoint "$T/ses.ck" \
	--trigger once --partitions 2 --workers 2 --output-mode update
expect_rc "sessions in update mode: exit status" 2
expect_sluice_error "sessions in update mode: why" \
	"update takes tumbling and sliding windows"
check "sessions in update mode: no database made" test ! -e "$T/ses.db"

# --- the console sink --------------------------------------------------------

# console_want N FILES... : what batch N prints in complete mode: its line,
# then the CSV header once and the rows of `sluice run` over the files,
# part file by part file.
console_want() {
	_cw_n=$1
	shift
	rm -rf "$T/cw.ref"
	# shellcheck disable=SC2086
	"$SLUICE" run $JOBARGS "$@" -o "$T/cw.ref" --partitions 2 \
		--workers 2 2>/dev/null
	printf -- '-------- batch %d --------\n' "$_cw_n"
	awk 'FNR > 1 || NR == 1' "$T/cw.ref"/part-00000 "$T/cw.ref"/part-00001
}

JOBARGS="aggregate --key user --agg count,sum:amount,avg:amount"
mkdir -p "$T/csrc"
files=
b=0
for p in "$T/ev"/*.csv; do
	f=${p##*/}
	b=$((b + 1))
	cp "$T/ev/$f" "$T/csrc/.$f" && mv "$T/csrc/.$f" "$T/csrc/$f"
	files="$files $T/csrc/$f"
	# shellcheck disable=SC2086
	run_sluice stream $JOBARGS --source "file:$T/csrc" --sink console \
		--checkpoint "$T/con.ck" --trigger once --partitions 2 --workers 2
	expect_rc "console, batch $b: exit status" 0
	# shellcheck disable=SC2086
	console_want $b $files >"$T/con.want"
	check_eq "console, batch $b: its line, the header once, the rows in part order" \
		"$T/con.want" "$T/out"
done
check "console: the header once a batch" \
	test "$(grep -c '^user,' "$T/con.want")" -eq 1
check "console: both part files had rows" \
	test "$(tail -n +2 "$T/cw.ref/part-00001" | wc -l)" -gt 0
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/csrc" --sink console \
	--checkpoint "$T/con.ck" --trigger once --partitions 2 --workers 2
expect_rc "console, a restart with nothing new: exit status" 0
expect_empty_stdout "console, a restart: no batch printed again"
check_text "console: the last batch printed is recorded" 'printed 4\n' \
	"$T/con.ck/sink/console"
check "console: nothing left staged" test "$(ls "$T/con.ck/sink")" = console
# The replay of a batch printed but not committed (a crash between the
# record and the commit log): it is not printed again.
mkdir -p "$T/c1src"
cp "$T/ev/e1.csv" "$T/c1src/"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/c1src" --sink console \
	--checkpoint "$T/c1.ck" --trigger once --partitions 2 --workers 2
console_want 1 "$T/c1src/e1.csv" >"$T/c1.want"
check_eq "console, one batch" "$T/c1.want" "$T/out"
rm "$T/c1.ck/commits/0000000001"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/c1src" --sink console \
	--checkpoint "$T/c1.ck" --trigger once --partitions 2 --workers 2 -v
expect_rc "console, a printed batch replayed: exit status" 0
expect_err "console, a printed batch replayed: it ran again" "again, as logged"
expect_empty_stdout "console, a printed batch replayed: not printed again"
check "console, a printed batch replayed: committed" \
	test -f "$T/c1.ck/commits/0000000001"
# A crash between the print and its record: the replay prints the batch
# again (at least once, never lost).
rm "$T/c1.ck/commits/0000000001" "$T/c1.ck/sink/console"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/c1src" --sink console \
	--checkpoint "$T/c1.ck" --trigger once --partitions 2 --workers 2
check_eq "console, printed and not recorded: printed again, the same" \
	"$T/c1.want" "$T/out"
# "key<TAB>value" rows, update mode: the changed words with their totals.
mkdir -p "$T/wsrc"
gen_text 5 200 space >"$T/wsrc/a.txt"
run_sluice stream wordcount --source "file:$T/wsrc" --sink console \
	--checkpoint "$T/wc.ck" --trigger once --partitions 3 --workers 2 \
	--output-mode update
rm -rf "$T/wref"
"$SLUICE" run wordcount "$T/wsrc/a.txt" -o "$T/wref" --partitions 3 \
	2>/dev/null
{
	echo '-------- batch 1 --------'
	cat "$T/wref"/part-00000 "$T/wref"/part-00001 "$T/wref"/part-00002
} >"$T/wc.want"
check_eq "console, word count: the part files in order" "$T/wc.want" "$T/out"

# A closed pipe: EPIPE (SIGPIPE is ignored) is a sink failure with the
# reason, the batch logged and not committed; a restart prints it.
mkdir -p "$T/psrc"
cp "$T/ev/e2.csv" "$T/psrc/"
LAST_CMD="sluice stream (stdout a pipe without reader)"
RC=0
# shellcheck disable=SC2086
perl -e 'pipe(my $r, my $w) or die; close $r;
	open(STDOUT, ">&", $w) or die; close $w; exec @ARGV or die' \
	"$SLUICE" stream $JOBARGS --source "file:$T/psrc" --sink console \
	--checkpoint "$T/pipe.ck" --trigger once --partitions 2 --workers 2 \
	</dev/null 2>"$T/err" || RC=$?
check_run_status
expect_rc "console into a closed pipe: exit status" 1
expect_sluice_error "console into a closed pipe: why" \
	"cannot write to standard output: Broken pipe.*after 4 attempts"
check "console into a closed pipe: logged, not committed" \
	test -f "$T/pipe.ck/offsets/0000000001" -a \
	! -f "$T/pipe.ck/commits/0000000001"
# shellcheck disable=SC2086
run_sluice stream $JOBARGS --source "file:$T/psrc" --sink console \
	--checkpoint "$T/pipe.ck" --trigger once --partitions 2 --workers 2
expect_rc "console, the pipe back: exit status" 0
console_want 1 "$T/psrc/e2.csv" >"$T/pipe.want"
check_eq "console, the pipe back: the batch printed" "$T/pipe.want" "$T/out"

usage_error "console with an argument" "takes nothing after its name" \
	stream wordcount --source "file:$T/wsrc" --sink console:x \
	--checkpoint "$T/o.ck"
LAST_CMD="sluice stream --sink console >&-"
RC=0
"$SLUICE" stream wordcount --source "file:$T/wsrc" --sink console \
	--checkpoint "$T/o2.ck" --trigger once </dev/null >&- 2>"$T/err" ||
	RC=$?
check_run_status
expect_rc "console with stdout closed: exit status" 2
expect_sluice_error "console with stdout closed: why" \
	"standard output is not open for writing"
usage_error "an unknown sink names console" \
	"unknown sink 'kafka:x': one of .*console" \
	stream wordcount --source "file:$T/wsrc" --sink kafka:x \
	--checkpoint "$T/o.ck"

finish
