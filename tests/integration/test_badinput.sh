#!/bin/sh
# test_badinput.sh - every kind of bad or odd input has its defined outcome
# (docs/input.md, docs/aggregate.md): missing and unopenable files, a fifo,
# a dangling symlink in a directory, no input files at all, an empty file,
# no final newline, CRLF, a 100 MB line, a line over --max-record-size, NUL
# and non-UTF-8 bytes, malformed CSV rows under --bad-records fail and skip,
# unknown columns, non-numbers in a summed column, an output directory that
# already holds a job's output. A failed job never leaves _SUCCESS.
. "$(dirname "$0")/lib.sh"

# wc_ok NAME OUTDIR R FILE... : the last wordcount run succeeded and its
# output is the perl word count (safe for any bytes) of the files.
wc_ok() {
	_wo_name=$1
	_wo_out=$2
	_wo_r=$3
	shift 3
	expect_rc "$_wo_name: exit status" 0 || return
	check_layout "$_wo_name: layout" "$_wo_out" "$_wo_r"
	check_sorted "$_wo_name: parts sorted by word" "$_wo_out" -u
	wc_ref_perl "$@" >"$T/want"
	cat_parts "$_wo_out" | sort >"$T/got"
	check_eq "$_wo_name: counts" "$T/want" "$T/got"
}

# failed_run NAME OUTDIR ERE [CODE...] : the last run failed with exit 1
# (or one of the CODEs), an error line "sluice: ..." that matches ERE, and
# left no output.
failed_run() {
	_fr_name=$1
	_fr_out=$2
	_fr_ere=$3
	shift 3
	[ $# -gt 0 ] || set -- 1
	expect_rc "$_fr_name: exit status" "$@"
	expect_sluice_error "$_fr_name: error message" "$_fr_ere"
	expect_no_success "$_fr_name: no output" "$_fr_out"
}

printf 'some words\nmore words\n' >"$T/ok.txt"

# --- files that cannot be read -------------------------------------------
# Exit 1 (the job failed) or 2 (refused before it started) will do.

run_sluice run wordcount "$T/ok.txt" "$T/missing.txt" -o "$T/missing" \
	--partitions 2
failed_run "missing file" "$T/missing" \
	"missing\\.txt.*No such file or directory" 2

# A symbolic link to itself cannot be opened, even by root.
ln -s loop.txt "$T/loop.txt"
run_sluice run wordcount "$T/ok.txt" "$T/loop.txt" -o "$T/loop" \
	--partitions 2
failed_run "unopenable file (symlink loop)" "$T/loop" "loop\\.txt" 1 2

# Permissions do not stop root: that case only runs as another user.
if [ "$(id -u)" -ne 0 ]; then
	cp "$T/ok.txt" "$T/secret.txt"
	chmod 000 "$T/secret.txt"
	run_sluice run wordcount "$T/secret.txt" -o "$T/secret" --partitions 2
	failed_run "unreadable file" "$T/secret" \
		"secret\\.txt.*Permission denied" 1 2
	mkdir "$T/closed"
	cp "$T/ok.txt" "$T/closed/a.txt"
	chmod 000 "$T/closed"
	run_sluice run wordcount "$T/closed" -o "$T/closedout" --partitions 2
	failed_run "unreadable directory" "$T/closedout" \
		"closed.*Permission denied" 1 2
else
	echo "skip: unreadable file and directory (running as root)"
fi

# --- empty input -----------------------------------------------------------

# No input file at all is an error (docs/input.md), unlike empty files.
mkdir "$T/emptydir"
run_sluice run wordcount "$T/emptydir" -o "$T/emptydirout" --partitions 2
failed_run "directory with no files" "$T/emptydirout" \
	"no input files in '[^']*emptydir'" 1 2
run_sluice run wordcount "$T/emptydir/*.txt" -o "$T/nomatch" --partitions 2
failed_run "glob that matches nothing" "$T/nomatch" \
	"no input files match '[^']*emptydir/\\*\\.txt'" 1 2

# A fifo is not read (it could block for ever): an error, not a hang.
mkfifo "$T/fifo.txt"
run_sluice run wordcount "$T/ok.txt" "$T/fifo.txt" -o "$T/fifo" \
	--partitions 2
failed_run "a fifo" "$T/fifo" "fifo\\.txt.*not a regular file" 1 2

# A dangling symlink inside a directory is an error, not a skipped file.
mkdir "$T/dangling"
cp "$T/ok.txt" "$T/dangling/a.txt"
ln -s nowhere.txt "$T/dangling/b.txt"
run_sluice run wordcount "$T/dangling" -o "$T/danglingout" --partitions 2
failed_run "dangling symlink in a directory" "$T/danglingout" \
	"b\\.txt.*No such file or directory" 1 2

: >"$T/empty.txt"
run_sluice run wordcount "$T/empty.txt" -o "$T/empty" --partitions 3
expect_rc "empty file: exit status" 0
check_layout "empty file: layout" "$T/empty" 3
cat_parts "$T/empty" >"$T/got"
check_text "empty file: empty parts" "" "$T/got"

# A CSV file with only its header: every part holds the header alone.
echo "k,n" >"$T/header.csv"
run_sluice run aggregate "$T/header.csv" -o "$T/header" --partitions 2 \
	--key k --agg count,sum:n
expect_rc "header-only CSV: exit status" 0
check_layout "header-only CSV: layout" "$T/header" 2
check_text "header-only CSV: part 0" 'k,count,sum_n\n' "$T/header/part-00000"
check_text "header-only CSV: part 1" 'k,count,sum_n\n' "$T/header/part-00001"

# --- odd text --------------------------------------------------------------

printf 'first line\nlast line without newline' >"$T/nonl.txt"
printf 'crlf line\r\nanother\r\n\r\nword\r\n' >"$T/crlf.txt"
printf 'a\000b c\377\376 \300\200 a\000b\n\000\n\t\000 e\001 caf\303\251\n' \
	>"$T/binary.txt"
run_sluice run wordcount "$T/nonl.txt" -o "$T/nonl" --partitions 2
wc_ok "no final newline" "$T/nonl" 2 "$T/nonl.txt"
run_sluice run wordcount "$T/crlf.txt" -o "$T/crlf" --partitions 2
wc_ok "CRLF lines" "$T/crlf" 2 "$T/crlf.txt"
run_sluice run wordcount "$T/binary.txt" -o "$T/binary" --partitions 2
wc_ok "NUL and non-UTF-8 bytes" "$T/binary" 2 "$T/binary.txt"
# The reference itself, by hand: NUL is a word byte like any other.
want='\000\t2\na\000b\t2\ncaf\303\251\t1\nc\377\376\t1\n'
want="$want"'e\001\t1\n\300\200\t1\n'
check_text "NUL and non-UTF-8 bytes: the reference" "$want" "$T/want"

# One line of 100 MB: a word, 60 MB of spaces, a word of 10 MB (a key of
# that size through the whole pipeline), 30 MB of tabs, a word.
{
	echo "before the long line"
	printf 'head'
	head -c 60000000 /dev/zero | tr '\000' ' '
	head -c 10000000 /dev/zero | tr '\000' 'x'
	head -c 30000000 /dev/zero | tr '\000' '\t'
	echo "tail"
	echo "after the long line head"
} >"$T/long.txt"
run_sluice run wordcount "$T/long.txt" -o "$T/long" --partitions 2
wc_ok "a line of 100 MB" "$T/long" 2 "$T/long.txt"

# A line longer than --max-record-size is a bad record (line 2, byte 6).
{
	echo "short"
	head -c 2000000 /dev/zero | tr '\000' 'y'
	echo
	echo "short again"
} >"$T/toolong.txt"
run_sluice run wordcount "$T/toolong.txt" -o "$T/toolong" --partitions 2 \
	--max-record-size 1M
failed_run "line over --max-record-size" "$T/toolong" \
	"toolong\\.txt:2: byte 6:"
run_sluice run wordcount "$T/toolong.txt" -o "$T/toolong2" --partitions 2 \
	--max-record-size 1M --bad-records skip
expect_rc "line over --max-record-size, skipped: exit status" 0
expect_err "line over --max-record-size, skipped: reported" \
	"skipped 1 bad record"
cat_parts "$T/toolong2" | sort >"$T/got"
check_text "line over --max-record-size, skipped: the other lines" \
	'again\t1\nshort\t2\n' "$T/got"

# Word count reads runs of lines of a buffer at once: a line over a small
# --max-record-size in the middle of one is still a bad record, alone
# (line 3, byte 10; its CRLF neighbours are within the limit).
printf 'a bb\r\nccc\n0123456789ab\nd e\r\nlast' >"$T/mid.txt"
run_sluice run wordcount "$T/mid.txt" -o "$T/mid" --partitions 1 \
	--max-record-size 10
failed_run "line over a small --max-record-size" "$T/mid" \
	"mid\\.txt:3: byte 10:"
run_sluice run wordcount "$T/mid.txt" -o "$T/mid2" --partitions 1 \
	--max-record-size 10 --bad-records skip
expect_rc "line over a small --max-record-size, skipped: exit status" 0
cat_parts "$T/mid2" >"$T/got"
check_text "line over a small --max-record-size, skipped: the other lines" \
	'a\t1\nbb\t1\nccc\t1\nd\t1\ne\t1\nlast\t1\n' "$T/got"

# --- malformed CSV ---------------------------------------------------------

# Line 4 (byte 12) has a column too few.
printf 'k,n\na,1\nb,2\nc\nd,4\n' >"$T/short.csv"
run_sluice run aggregate "$T/short.csv" -o "$T/short" --partitions 1 \
	--key k --agg count,sum:n
failed_run "CSV row with a missing column" "$T/short" \
	"short\\.csv:4: byte 12:"
run_sluice run aggregate "$T/short.csv" -o "$T/short2" --partitions 1 \
	--key k --agg count,sum:n --bad-records skip
expect_rc "CSV row with a missing column, skipped: exit status" 0
expect_err "CSV row with a missing column, skipped: reported" \
	"skipped 1 bad record"
check_text "CSV row with a missing column, skipped: the other rows" \
	'k,count,sum_n\na,1,1\nb,1,2\nd,1,4\n' "$T/short2/part-00000"

# A value of a summed column that is not a number: line 3, byte 13.
printf 'k,amount\na,1\nb,x2\nb,3\n' >"$T/nan.csv"
run_sluice run aggregate "$T/nan.csv" -o "$T/nan" --partitions 1 \
	--key k --agg count,sum:amount
failed_run "non-numeric value" "$T/nan" "nan\\.csv:3: byte 13: .*amount"
run_sluice run aggregate "$T/nan.csv" -o "$T/nan2" --partitions 1 \
	--key k --agg count,sum:amount --bad-records skip
expect_rc "non-numeric value, skipped: exit status" 0
expect_err "non-numeric value, skipped: reported" "skipped 1 bad record"
check_text "non-numeric value, skipped: the other rows" \
	'k,count,sum_amount\na,1,1\nb,1,3\n' "$T/nan2/part-00000"

# Columns that the header does not have: exit 1 (found when the data is
# read) or 2 (found before), and the column named.
run_sluice run aggregate "$T/nan.csv" -o "$T/nokey" --partitions 1 \
	--key nosuchkey --agg count
failed_run "unknown --key column" "$T/nokey" "nosuchkey" 1 2
run_sluice run aggregate "$T/nan.csv" -o "$T/noagg" --partitions 1 \
	--key k --agg count,sum:nosuchcol
failed_run "unknown --agg column" "$T/noagg" "nosuchcol" 1 2

# --- the output directory --------------------------------------------------

run_sluice run wordcount "$T/ok.txt" -o "$T/done" --partitions 3
expect_rc "first run: exit status" 0
cp -R "$T/done" "$T/done.before"
run_sluice run wordcount "$T/nonl.txt" -o "$T/done" --partitions 2
expect_rc "output holding _SUCCESS: refused" 2
expect_sluice_error "output holding _SUCCESS: message" "_SUCCESS|overwrite"
check_same_output "output holding _SUCCESS: left as it was" \
	"$T/done.before" "$T/done"
# --overwrite removes part files and _SUCCESS, and no other file, also
# none whose name only looks like a part file's.
for f in notes.txt part-+0001 part--0001 'part- 0001' part-0001 part-000001; do
	echo keep >"$T/done/$f"
done
run_sluice run wordcount "$T/nonl.txt" -o "$T/done" --partitions 2 \
	--overwrite
expect_rc "--overwrite: exit status" 0
for f in notes.txt part-+0001 part--0001 'part- 0001' part-0001 part-000001; do
	check "--overwrite keeps '$f'" grep -qx keep "$T/done/$f"
	rm -f "$T/done/$f"
done
wc_ok "--overwrite" "$T/done" 2 "$T/nonl.txt"

# An output directory that holds an input file is refused before anything
# is removed: the input (named part-00000, as the output of an earlier job
# would be) is left as it was, whether the directory is named as it is,
# through a symbolic link, holds the input deeper down, or holds a hard
# link to it.
mkdir -p "$T/in/p" "$T/in/q/sub" "$T/hard"
cp "$T/ok.txt" "$T/in/p/part-00000"
cp "$T/ok.txt" "$T/in/q/sub/x.txt"
ln -s p "$T/in/link"
ln "$T/ok.txt" "$T/hard/part-00000"
for c in "p:$T/in/p:$T/in/p" "link:$T/in/p:$T/in/link" \
	"deeper:$T/in/q/sub:$T/in/q" "hard link:$T/ok.txt:$T/hard"; do
	_io_name=${c%%:*}
	_io_rest=${c#*:}
	_io_in=${_io_rest%%:*}
	_io_out=${_io_rest#*:}
	run_sluice run wordcount "$_io_in" -o "$_io_out" --partitions 1
	expect_rc "input inside the output ($_io_name): refused" 2
	expect_sluice_error "input inside the output ($_io_name): message" \
		"output directory .* holds the input file"
	check_absent "input inside the output ($_io_name): no _temporary" \
		"$_io_out/_temporary"
done
cat "$T/in/p/part-00000" "$T/in/q/sub/x.txt" "$T/hard/part-00000" \
	>"$T/inputs.now"
check_text "input inside the output: the inputs are intact" \
	'some words\nmore words\nsome words\nmore words\nsome words\nmore words\n' \
	"$T/inputs.now"

# More map tasks than a reduce TASK can list (1,048,576): refused at
# planning, before any map runs, with the way out.
head -c 1048577 /dev/zero | tr '\0' 'a' >"$T/many.txt"
run_sluice run wordcount "$T/many.txt" -o "$T/many" --split-size 1 \
	--partitions 1
expect_rc "more than 1048576 map tasks: refused" 2
expect_sluice_error "more than 1048576 map tasks: message" \
	"1048577 map tasks, more than the 1048576 .*--split-size"
expect_no_success "more than 1048576 map tasks: no output" "$T/many"

# -o naming a file, and an input that does not exist: both are usage
# errors, found before anything runs.
run_sluice run wordcount "$T/ok.txt" -o "$T/ok.txt"
expect_rc "-o naming a file: exit status" 2
check_text "-o naming a file: the file is intact" 'some words\nmore words\n' \
	"$T/ok.txt"
run_sluice run wordcount "$T/no-such-input.txt" -o "$T/nosuch"
expect_rc "a missing input: exit status" 2
expect_sluice_error "a missing input: message" \
	"no-such-input\\.txt.*No such file or directory"

finish
