#!/bin/sh
# test_wordcount.sh - `sluice run wordcount` against the coreutils word count
# (lib.sh wc_ref), on generated text and on the King James Bible: several
# files, a directory, a glob, more partitions than workers, many splits,
# --top, and the Hadoop output layout.
. "$(dirname "$0")/lib.sh"

# wc_case NAME OUTDIR R REF : the run succeeded, wrote exactly R parts and
# _SUCCESS, each part sorted by word with no word twice, and together they
# equal the reference REF. Nothing on stdout without --top.
wc_case() {
	expect_rc "$1: exit status" 0 || return
	check_layout "$1: layout" "$2" "$3"
	check_sorted "$1: parts sorted by word" "$2" -u
	cat_parts "$2" | sort >"$T/got"
	check_eq "$1: counts" "$4" "$T/got"
	expect_empty_stdout "$1: stdout"
}

# Generated text: three files, the last one without its final newline
# (its last word must not merge with anything).
mkdir "$T/d"
gen_text 1 3000 >"$T/d/a.txt"
gen_text 2 2000 >"$T/d/b.txt"
gen_text 3 500 | head -c 20000 >"$T/d/c.txt"
printf 'lonely lonely-without-newline' >>"$T/d/c.txt"
gen_text 4 700 >"$T/d/notes.md"
wc_ref "$T/d/a.txt" "$T/d/b.txt" "$T/d/c.txt" >"$T/ref.abc"
wc_ref "$T/d/a.txt" "$T/d/b.txt" "$T/d/c.txt" "$T/d/notes.md" >"$T/ref.all"

run_sluice run wordcount "$T/d/a.txt" "$T/d/b.txt" "$T/d/c.txt" \
	-o "$T/files" --workers 2 --partitions 3
wc_case "three files" "$T/files" 3 "$T/ref.abc"

# A directory stands for the files in it.
run_sluice run wordcount "$T/d" -o "$T/dir" --workers 2 --partitions 2
wc_case "a directory" "$T/dir" 2 "$T/ref.all"

# A quoted glob is expanded by sluice itself (as Hadoop's input paths are):
# it must pick the .txt files and leave notes.md out.
run_sluice run wordcount "$T/d/*.txt" -o "$T/glob" --workers 2 \
	--partitions 2
wc_case "a glob" "$T/glob" 2 "$T/ref.abc"

# More reduce partitions than workers.
run_sluice run wordcount "$T/d/a.txt" -o "$T/r7" --workers 2 --partitions 7
wc_ref "$T/d/a.txt" >"$T/ref.a"
wc_case "7 partitions on 2 workers" "$T/r7" 7 "$T/ref.a"

# A few MB cut into 64 KiB splits: words across split boundaries must be
# counted once, lines across them too.
: >"$T/big.txt"
for seed in 11 12 13 14 15 16; do
	gen_text "$seed" 15000 >>"$T/big.txt"
done
wc_ref "$T/big.txt" >"$T/ref.big"
run_sluice run wordcount "$T/big.txt" -o "$T/split" --workers 2 \
	--partitions 4 --split-size 64K
wc_case "64K splits of $(($(wc -c <"$T/big.txt") / 1024)) KiB" \
	"$T/split" 4 "$T/ref.big"

# Several workers, default partitions: part numbers without a gap.
run_sluice run wordcount "$T/big.txt" "$T/d" -o "$T/w3" --workers 3 \
	--split-size 256K
wc_ref "$T/big.txt" "$T/d/a.txt" "$T/d/b.txt" "$T/d/c.txt" "$T/d/notes.md" \
	>"$T/ref.w3"
wc_case "3 workers, default partitions" "$T/w3" "" "$T/ref.w3"

# --top K prints the K most frequent words on stdout, nothing else there.
run_sluice run wordcount "$T/big.txt" -o "$T/top" --workers 2 \
	--partitions 3 --top 10
expect_rc "--top 10: exit status" 0
wc_top 10 <"$T/ref.big" >"$T/want.top"
check_eq "--top 10: stdout" "$T/want.top" "$T/out"
check_layout "--top 10: layout" "$T/top" 3

# Ties in --top are broken by word bytes: every word here occurs twice.
printf 'b a d c\nc d a b\n' >"$T/ties.txt"
run_sluice run wordcount "$T/ties.txt" -o "$T/ties" --partitions 2 --top 3
expect_rc "--top with ties: exit status" 0
check_text "--top with ties: by word" 'a\t2\nb\t2\nc\t2\n' "$T/out"

# The King James Bible (Debian's bible-kjv), about 4 MB of real text.
if command -v bible >/dev/null 2>&1; then
	bible -f 'Genesis1:1-Revelation22:21' >"$T/kjv.txt"
	wc_ref "$T/kjv.txt" >"$T/ref.kjv"
	run_sluice run wordcount "$T/kjv.txt" -o "$T/kjv" --workers 2 \
		--partitions 5 --split-size 1M --top 10
	expect_rc "KJV: exit status" 0
	check_layout "KJV: layout" "$T/kjv" 5
	check_sorted "KJV: parts sorted by word" "$T/kjv" -u
	cat_parts "$T/kjv" | sort >"$T/got"
	check_eq "KJV: counts" "$T/ref.kjv" "$T/got"
	wc_top 10 <"$T/ref.kjv" >"$T/want.top"
	check_eq "KJV: --top 10" "$T/want.top" "$T/out"
else
	echo "skip: KJV case (no 'bible' command: apt-get install bible-kjv)"
fi

finish
