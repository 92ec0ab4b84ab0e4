#!/bin/sh
# test_stream_offsets.sh - the file: source's offsets are byte ranges of
# files ("range FROM TO SIZE MTIME NAME"), and --max-batch-records N caps
# a batch at N lines: a big file is taken by several batches, cut where
# lines end. Each batch is checked against independent tools (the lines
# of its bytes counted with head/tail/wc, its ranges with awk, stat for
# the size and time it logged) and its output against `sluice run` over
# the same bytes; a CSV file's header is known to the batches that start
# mid-file; kill -9 at random points, then a restart: every line counted
# once; a file changed after a batch took it fails the stream clearly;
# offsets of the former form ("file NAME") still read; bad caps refused.
. "$(dirname "$0")/lib.sh"

SRC=$T/src
mkdir -p "$SRC" "$T/stage"

# range_lines FILE FROM TO : the lines in bytes [FROM, TO) of FILE.
range_lines() {
	tail -c +$(($2 + 1)) "$1" | head -c $(($3 - $2)) | awk 'END { print NR }'
}

# batch_lines CK B : the lines of batch B's ranges (of files in $SRC).
batch_lines() {
	_bl_n=0
	while read -r _bl_k _bl_from _bl_to _bl_size _bl_mt _bl_name; do
		[ "$_bl_k" = range ] || continue
		_bl_n=$((_bl_n + $(range_lines "$SRC/$_bl_name" "$_bl_from" "$_bl_to")))
	done <"$1/offsets/$2"
	echo "$_bl_n"
}

# caps_hold CK N [FROM [TO [rows]]] : the batches FROM..TO of CK
# (default: every one) have N lines each, the last at most (or the last
# committed, when TO is not); with rows, each progress line counts them
# as its input rows (wordcount: a record a line).
caps_hold() {
	_ch_last=$(expr "$(ls "$1/commits" | tail -n 1)" + 0)
	_ch_to=${4:-$_ch_last}
	for _ch_b in $(ls "$1/commits"); do
		_ch_i=$(expr "$_ch_b" + 0)
		[ "$_ch_i" -ge "${3:-1}" ] && [ "$_ch_i" -le "$_ch_to" ] ||
			continue
		_ch_n=$(batch_lines "$1" "$_ch_b")
		[ "$_ch_n" -le "$2" ] || return 1
		[ "$_ch_i" -eq "$_ch_to" ] || [ "$_ch_n" -eq "$2" ] || return 1
		[ -z "${5:-}" ] || grep -q \
			"\"batch\":$_ch_i,.*\"input_rows\":$_ch_n," \
			"$1/progress.jsonl" || return 1
	done
}

# cut_in_quotes CSV CK : some range of CK starts after an odd number of
# quotes of CSV: inside a quoted field, a record that spans lines.
cut_in_quotes() {
	awk '$1 == "range" && $2 > 0 { print $2 }' "$2"/offsets/* |
		while read -r _cq_at; do
			head -c "$_cq_at" "$1" | tr -cd '"' | wc -c
		done | grep -q '[13579]$'
}

# ranges_at_line_ends CK : each range ends after a '\n' or at its file's
# end, and logs the file's size and modification time (ns) as stat says.
ranges_at_line_ends() {
	cat "$1"/offsets/* | grep '^range ' |
		while read -r _re_k _re_from _re_to _re_size _re_mt _re_name; do
			_re_f=$SRC/$_re_name
			[ "$(stat -c %s "$_re_f")" = "$_re_size" ] || exit 1
			[ "$(stat -c %.9Y "$_re_f" | tr -d .)" = "$_re_mt" ] ||
				exit 1
			[ "$_re_to" -eq "$_re_size" ] && continue
			[ "$(tail -c +"$_re_to" "$_re_f" | head -c 1 | od -An -c |
				tr -d ' ')" = '\n' ] || exit 1
		done
}

# appear FILE... : the staged files appear whole in $SRC (by rename).
appear() {
	for _ap_f in "$@"; do
		mv "$T/stage/$_ap_f" "$SRC/$_ap_f" || hard_error "cannot stage $_ap_f"
	done
}

# --- a big file taken in several batches ---------------------------------------

gen_text 11 5000 space >"$T/stage/a-big.txt"
: >"$T/stage/b-empty.txt"
gen_text 12 1234 space >"$T/stage/c-mid.txt"
# a last line without its '\n'
gen_text 13 77 space | head -c -1 >"$T/stage/d-unended.txt"
appear a-big.txt b-empty.txt c-mid.txt d-unended.txt
total=$(cat "$SRC"/* | awk 'END { print NR }')
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger available-now --max-batch-records 700 \
	--partitions 2 --workers 2
expect_rc "a capped stream: exit status" 0
check "a capped stream: ceil($total / 700) batches" \
	test "$(ls "$T/wc.ck/commits" | wc -l)" -eq $(((total + 699) / 700))
check "a capped stream: 700 lines a batch, the last at most" \
	caps_hold "$T/wc.ck" 700 1 "" rows
check "a capped stream: ranges end at line ends, with the files' size and time" \
	ranges_at_line_ends "$T/wc.ck"
check "a capped stream: the big file spans batches" \
	test "$(grep -l ' a-big.txt$' "$T/wc.ck"/offsets/* | wc -l)" -ge 7
check "a capped stream: the empty file is one range of no byte" \
	grep -q '^range 0 0 0 [0-9]* b-empty.txt$' "$T/wc.ck"/offsets/*
check_batches "a capped stream: each batch as sluice run over its bytes so far" \
	"$T/wc" "$T/wc.ck" wordcount
rm -rf "$T/wc.ref"
"$SLUICE" run wordcount "$SRC" -o "$T/wc.ref" --partitions 2 --workers 2 \
	2>/dev/null
last=$(ls "$T/wc.ck/commits" | tail -n 1)
check_same_output "a capped stream: the last batch is sluice run over the files" \
	"$T/wc.ref" "$T/wc/batch-$last"

# A new file after the last batch, and a smaller cap: it goes on from
# where the offsets stop.
gen_text 14 900 space >"$T/stage/e-next.txt"
appear e-next.txt
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger available-now --max-batch-records 250 \
	--partitions 2 --workers 2
expect_rc "a new file, another cap: exit status" 0
before=$(((total + 699) / 700))
check "a new file, another cap: four more batches" \
	test "$(ls "$T/wc.ck/commits" | wc -l)" -eq $((before + 4))
check "a new file, another cap: in batches of 250 lines" \
	caps_hold "$T/wc.ck" 250 $((before + 1)) "" rows
check_batches "a new file, another cap" "$T/wc" "$T/wc.ck" wordcount

# No cap: whole files, one batch, as before.
gen_text 15 300 space >"$T/stage/f-whole.txt"
gen_text 16 300 space >"$T/stage/g-whole.txt"
appear f-whole.txt g-whole.txt
run_sluice stream wordcount --source "file:$SRC" --sink "file:$T/wc" \
	--checkpoint "$T/wc.ck" --trigger once --partitions 2 --workers 2
expect_rc "no cap: exit status" 0
last=$(ls "$T/wc.ck/commits" | tail -n 1)
check "no cap: the whole of both files in one batch" \
	test "$(grep -c '^range 0 \([0-9]*\) \1 ' "$T/wc.ck/offsets/$last")" -eq 2
check_batches "no cap" "$T/wc" "$T/wc.ck" wordcount

# --- CSV: the header is known to a batch that starts mid-file ------------------

CSV=$T/csrc
mkdir -p "$CSV"
awk 'BEGIN { srand(7); print "user,ts,amount"
	for (j = 0; j < 2500; j++)
		printf "u%d,%d,%d.%02d\n", int(rand() * 30),
		    1796306400 + int(rand() * 7200),
		    int(rand() * 100), int(rand() * 100) }' >"$T/stage/e.csv"
mv "$T/stage/e.csv" "$CSV/e.csv"
SRC_SAVE=$SRC
SRC=$CSV
AGG="aggregate --key user --agg count,sum:amount,avg:amount,max:amount"
# shellcheck disable=SC2086
run_sluice stream $AGG --source "file:$CSV" --sink "file:$T/agg" \
	--checkpoint "$T/agg.ck" --trigger available-now \
	--max-batch-records 300 --partitions 2 --workers 2
expect_rc "CSV split across batches: exit status" 0
check "CSV split across batches: 300 lines a batch (the header one of them)" \
	caps_hold "$T/agg.ck" 300
check "CSV split across batches: 2501 lines, 9 batches" \
	test "$(ls "$T/agg.ck/commits" | wc -l)" -eq 9
check "CSV split across batches: the input rows add up to the records" \
	awk -F'"input_rows":' '{ split($2, a, ","); n += a[1] }
		END { exit n != 2500 }' "$T/agg.ck/progress.jsonl"
# shellcheck disable=SC2086
check_batches "CSV split across batches" "$T/agg" "$T/agg.ck" $AGG
rm -rf "$T/agg.ref"
# shellcheck disable=SC2086
"$SLUICE" run $AGG "$CSV/e.csv" -o "$T/agg.ref" --partitions 2 --workers 2 \
	2>/dev/null
last=$(ls "$T/agg.ck/commits" | tail -n 1)
check_same_output "CSV split across batches: the last batch is sluice run" \
	"$T/agg.ref" "$T/agg/batch-$last"
# Windows over the same file (complete mode): each batch as the batch
# run over its bytes so far.
WIN="window --key user --time ts --window tumbling:10m --agg count,sum:amount"
# shellcheck disable=SC2086
run_sluice stream $WIN --source "file:$CSV" --sink "file:$T/win" \
	--checkpoint "$T/win.ck" --trigger available-now \
	--max-batch-records 400 --partitions 2 --workers 2
expect_rc "windows, CSV in parts: exit status" 0
# shellcheck disable=SC2086
check_batches "windows, CSV in parts" "$T/win" "$T/win.ck" $WIN
# A quoted field holding a line end, cut by the cap: the record goes
# whole to the batch where it starts (the CSV reader frames records by
# quotes from the file's start), and none is lost or counted twice.
mkdir -p "$T/qsrc"
awk 'BEGIN { print "user,note,amount"
	for (j = 0; j < 400; j++)
		if (j % 7 == 3) printf "u%d,\"two\nlines, \"\"quoted\"\"\",1.%02d\n", j % 9, j % 100
		else printf "u%d,plain,2.%02d\n", j % 9, j % 100 }' >"$T/stage/q.csv"
mv "$T/stage/q.csv" "$T/qsrc/q.csv"
QAGG="aggregate --key user --agg count,sum:amount"
# shellcheck disable=SC2086
run_sluice stream $QAGG --source "file:$T/qsrc" --sink "file:$T/q" \
	--checkpoint "$T/q.ck" --trigger available-now --max-batch-records 53 \
	--partitions 2 --workers 2
expect_rc "quoted line ends cut by the cap: exit status" 0
rm -rf "$T/q.ref"
# shellcheck disable=SC2086
"$SLUICE" run $QAGG "$T/qsrc/q.csv" -o "$T/q.ref" --partitions 2 \
	--workers 2 2>/dev/null
last=$(ls "$T/q.ck/commits" | tail -n 1)
check_same_output "quoted line ends cut by the cap: the last batch is sluice run" \
	"$T/q.ref" "$T/q/batch-$last"
check "quoted line ends cut by the cap: some batch starts inside a record" \
	cut_in_quotes "$T/qsrc/q.csv" "$T/q.ck"
SRC=$SRC_SAVE

# --- kill -9 at random points, then a restart: every line once ------------------

KS=$T/ksrc
mkdir -p "$KS"
gen_text 21 12000 space >"$T/stage/k1.txt"
gen_text 22 6000 space >"$T/stage/k2.txt"
mv "$T/stage/k1.txt" "$T/stage/k2.txt" "$KS/"
SRC_SAVE=$SRC
SRC=$KS
i=0
cut=0 # kills that left a batch logged but not committed
while [ $i -lt 6 ]; do
	SLUICE_FAULT=reduce-sleep=300 "$SLUICE" stream wordcount \
		--source "file:$KS" --sink "file:$T/k" --checkpoint "$T/k.ck" \
		--trigger 50ms --max-batch-records 500 --partitions 2 \
		--workers 2 --split-size 4K 2>>"$T/kill.err" &
	pid=$!
	sleep "$(awk -v s=$i 'BEGIN { srand(s + 3); printf "%.2f", 0.3 + rand() * 1.5 }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ "$(ls "$T/k.ck/offsets" 2>/dev/null | wc -l)" -gt \
		"$(ls "$T/k.ck/commits" 2>/dev/null | wc -l)" ] && cut=$((cut + 1))
	i=$((i + 1))
done
check "kill -9: the kills left batches to do" \
	test "$(ls "$T/k.ck/commits" 2>/dev/null | wc -l)" -lt 36
# the restart, with another cap: a logged batch runs as it was logged
logged=$(ls "$T/k.ck/offsets" | tail -n 1)
run_sluice stream wordcount --source "file:$KS" --sink "file:$T/k" \
	--checkpoint "$T/k.ck" --trigger available-now --max-batch-records 2000 \
	--partitions 2 --workers 2 --split-size 4K
expect_rc "after 6 kill -9: the restart drains the source" 0
check "kills cut batches between their offsets and commits ($cut of 6)" \
	test "$cut" -ge 1
logged=$(expr "$logged" + 0)
check "after the kills: the batches logged before the restart kept 500 lines" \
	caps_hold "$T/k.ck" 500 1 "$logged"
check "after the kills: then 2000 lines a batch" \
	caps_hold "$T/k.ck" 2000 $((logged + 1)) "" rows
check_batches "after 6 kill -9" "$T/k" "$T/k.ck" wordcount
rm -rf "$T/k.ref"
"$SLUICE" run wordcount "$KS" -o "$T/k.ref" --partitions 2 --workers 2 \
	2>/dev/null
last=$(ls "$T/k.ck/commits" | tail -n 1)
check_same_output "after the kills: the last batch counts every line once" \
	"$T/k.ref" "$T/k/batch-$last"
check "the kills left no process behind" \
	test -z "$(pgrep -f "checkpoint $T/k.ck" || true)"
SRC=$SRC_SAVE

# --- a file changed after a batch took it ---------------------------------------

CS=$T/chg
mkdir -p "$CS"
gen_text 31 1000 space >"$T/stage/c.txt"
mv "$T/stage/c.txt" "$CS/c.txt"
run_sluice stream wordcount --source "file:$CS" --sink "file:$T/c" \
	--checkpoint "$T/c.ck" --trigger once --max-batch-records 300 \
	--partitions 2 --workers 2
expect_rc "a file taken in part: exit status" 0
echo "more words" >>"$CS/c.txt"
run_sluice stream wordcount --source "file:$CS" --sink "file:$T/c" \
	--checkpoint "$T/c.ck" --trigger once --max-batch-records 300 \
	--partitions 2 --workers 2
expect_rc "appended to after a batch took part of it: exit status" 1
expect_sluice_error "appended to after a batch took part of it: why" \
	"c.txt' changed after a batch took it .*must appear whole, by rename"
check "appended to: no batch logged after it" \
	test "$(ls "$T/c.ck/offsets" | wc -l)" -eq 1
# a stream on an interval does not wait for it: it stops
run_sluice stream wordcount --source "file:$CS" --sink "file:$T/c" \
	--checkpoint "$T/c.ck" --trigger 100ms --max-batch-records 300 \
	--partitions 2 --workers 2
expect_rc "appended to, a stream on an interval: it stops (exit 1)" 1
expect_sluice_error "appended to, a stream on an interval: why" \
	"changed after a batch took it"
rm "$CS/c.txt"
run_sluice stream wordcount --source "file:$CS" --sink "file:$T/c" \
	--checkpoint "$T/c.ck" --trigger once --max-batch-records 300 \
	--partitions 2 --workers 2
expect_rc "a file gone after a batch took part of it: exit status" 1
expect_sluice_error "a file gone after a batch took part of it: why" \
	"c.txt' is gone, and a batch took its bytes 0 to [0-9]*"

# The replay of a logged batch checks its files too: a sink that refuses
# leaves batch 1 logged, not committed; the file is then replaced by one
# of the same size (other bytes): the replay fails and says why; with the
# file as it was (size and time restored), the replay commits it.
RS=$T/rep
mkdir -p "$RS"
gen_text 41 800 space >"$T/stage/r.txt"
cp -p "$T/stage/r.txt" "$T/r.keep"
mv "$T/stage/r.txt" "$RS/r.txt"
sqlite3 "$T/refuse.db" "CREATE TABLE words (x);"
run_sluice stream wordcount --source "file:$RS" \
	--sink "sqlite:$T/refuse.db?table=words" --checkpoint "$T/r.ck" \
	--trigger once --max-batch-records 300 --partitions 2 --workers 2
expect_rc "a sink that refuses: exit status" 1
check "a sink that refuses: batch 1 logged, not committed" \
	test -f "$T/r.ck/offsets/0000000001" -a ! -f "$T/r.ck/commits/0000000001"
tr 'a-y' 'b-z' <"$T/r.keep" >"$T/stage/r.txt"
mv "$T/stage/r.txt" "$RS/r.txt"
sqlite3 "$T/refuse.db" "DROP TABLE words;"
run_sluice stream wordcount --source "file:$RS" \
	--sink "sqlite:$T/refuse.db?table=words" --checkpoint "$T/r.ck" \
	--trigger once --max-batch-records 300 --partitions 2 --workers 2
expect_rc "a replay over a replaced file: exit status" 1
expect_sluice_error "a replay over a replaced file: why" \
	"r.txt' changed after a batch took it"
check "a replay over a replaced file: nothing in the table" \
	test "$(sqlite3 "$T/refuse.db" "SELECT count(*) FROM sqlite_master WHERE name = 'words';")" -eq 0
cp -p "$T/r.keep" "$RS/r.txt"
run_sluice stream wordcount --source "file:$RS" \
	--sink "sqlite:$T/refuse.db?table=words" --checkpoint "$T/r.ck" \
	--trigger available-now --max-batch-records 300 --partitions 2 \
	--workers 2
expect_rc "the file as it was: the replay and the rest commit" 0
sqlite3 -separator "$TAB" "$T/refuse.db" "SELECT key, value FROM words;" |
	LC_ALL=C sort >"$T/r.got"
wc_ref "$RS/r.txt" >"$T/r.want"
check_eq "the file as it was: the table counts each line once" \
	"$T/r.want" "$T/r.got"

# --- offsets of the former form: "file NAME", the whole file -------------------

OS=$T/old
mkdir -p "$OS"
gen_text 51 200 space >"$OS/o1.txt"
gen_text 52 200 space >"$OS/o2.txt"
run_sluice stream wordcount --source "file:$OS" --sink "file:$T/old.out" \
	--checkpoint "$T/old.ck" --trigger once --partitions 2 --workers 2
expect_rc "the former form: a first batch" 0
printf 'sluice-checkpoint 1\nfile o1.txt\nfile o2.txt\n' \
	>"$T/old.ck/offsets/0000000001"
gen_text 53 200 space >"$T/stage/o3.txt"
mv "$T/stage/o3.txt" "$OS/o3.txt"
run_sluice stream wordcount --source "file:$OS" --sink "file:$T/old.out" \
	--checkpoint "$T/old.ck" --trigger once --max-batch-records 100 \
	--partitions 2 --workers 2
expect_rc "the former form: the next batch after its last file" 0
check "the former form: the next batch takes the new file only" \
	grep -q '^range 0 [0-9]* [0-9]* [0-9]* o3.txt$' \
	"$T/old.ck/offsets/0000000002"
SRC_SAVE=$SRC
SRC=$OS
check_batches "the former form" "$T/old.out" "$T/old.ck" wordcount
SRC=$SRC_SAVE
# a logged batch of the former form runs again as its whole files
sqlite3 "$T/refuse2.db" "CREATE TABLE words (x);"
run_sluice stream wordcount --source "file:$OS" \
	--sink "sqlite:$T/refuse2.db?table=words" --checkpoint "$T/old2.ck" \
	--trigger once --partitions 2 --workers 2
expect_rc "the former form, logged: a sink that refuses" 1
printf 'sluice-checkpoint 1\nfile o1.txt\nfile o3.txt\n' \
	>"$T/old2.ck/offsets/0000000001"
sqlite3 "$T/refuse2.db" "DROP TABLE words;"
run_sluice stream wordcount --source "file:$OS" \
	--sink "sqlite:$T/refuse2.db?table=words" --checkpoint "$T/old2.ck" \
	--trigger once --partitions 2 --workers 2
expect_rc "the former form, logged: the replay" 0
sqlite3 -separator "$TAB" "$T/refuse2.db" "SELECT key, value FROM words;" |
	LC_ALL=C sort >"$T/old2.got"
cat "$OS/o1.txt" "$OS/o3.txt" >"$T/old2.in"
wc_ref "$T/old2.in" >"$T/old2.want"
check_eq "the former form, logged: its whole files, as logged" \
	"$T/old2.want" "$T/old2.got"
printf 'sluice-checkpoint 1\nfile o1.txt\nfiles o2.txt\n' \
	>"$T/old2.ck/offsets/0000000002"
run_sluice stream wordcount --source "file:$OS" \
	--sink "sqlite:$T/refuse2.db?table=words" --checkpoint "$T/old2.ck" \
	--trigger once --partitions 2 --workers 2
expect_rc "offsets of no form: exit status" 1
expect_sluice_error "offsets of no form: why" "are not of this source"

# --- a line longer than --max-record ------------------------------------------

LS=$T/long
mkdir -p "$LS"
{ echo "a b c"; head -c 3000 /dev/zero | tr '\0' x; echo; echo "d e"
	echo "f"; } >"$T/stage/l.txt"
mv "$T/stage/l.txt" "$LS/l.txt"
run_sluice stream wordcount --source "file:$LS" --sink "file:$T/l" \
	--checkpoint "$T/l.ck" --trigger available-now --max-batch-records 3 \
	--max-record-size 1000 --partitions 1 --workers 1
expect_rc "a line longer than --max-record: the batch fails" 1
expect_sluice_error "a line longer than --max-record: file and line" \
	"l.txt:2: "
run_sluice stream wordcount --source "file:$LS" --sink "file:$T/l2" \
	--checkpoint "$T/l2.ck" --trigger available-now --max-batch-records 3 \
	--max-record-size 1000 --partitions 1 --workers 1 --bad-records skip
expect_rc "a long line skipped: exit status" 0
check "a long line skipped: it counts as a line of its batch" \
	grep -q '^range 0 3011 ' "$T/l2.ck/offsets/0000000001"
check "a long line skipped: counted as bad" \
	grep -q '"bad_records":1,"batch":1,' "$T/l2.ck/progress.jsonl"
printf 'a\t1\nb\t1\nc\t1\nd\t1\ne\t1\nf\t1\n' >"$T/l.want"
check_eq "a long line skipped: the other lines counted" "$T/l.want" \
	"$T/l2/batch-0000000002/part-00000"

# --- bad values of --max-batch-records -----------------------------------------

for bad in 0 -1 abc 1.5 '' 1e3 99999999999999999999999; do
	usage_error "--max-batch-records '$bad'" "max-batch-records" \
		stream wordcount --source "file:$SRC" --sink "file:$T/o" \
		--checkpoint "$T/o.ck" --max-batch-records "$bad"
done
check "bad caps: no checkpoint made" test ! -e "$T/o.ck"

finish
