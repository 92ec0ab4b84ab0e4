#!/bin/sh
# test_determinism.sh - the same input, job and --partitions give the same
# output bytes whatever the number of workers (1, 2, 4) and the split size
# (16K, 1M, the default): each part file is compared with cmp.
. "$(dirname "$0")/lib.sh"

R=5

# Text of about 2 MB in three files.
for seed in 31 32 33; do
	gen_text "$seed" 7000 >"$T/t$seed.txt"
done
# CSV of about 1 MB: keys of varied lengths, integers and decimals, some
# quoted fields with commas and newlines.
awk 'BEGIN {
	srand(34)
	print "key,n,d,note"
	for (i = 0; i < 25000; i++) {
		k = "key" int(rand() * 400)
		if (rand() < 0.1)
			k = "\"" k ",x\""
		c = int(rand() * 20001) - 10000
		a = c < 0 ? -c : c
		note = rand() < 0.05 ? "\"a\nb\"" : "n"
		print k "," int(rand() * 2001) - 1000 "," (c < 0 ? "-" : "") \
		    int(a / 100) "." sprintf("%02d", a % 100) "," note
	}
}' >"$T/d.csv"

# same_for_all NAME ARGS... : runs `sluice ARGS` with several worker counts
# and split sizes; every output must equal the one of --workers 1, which
# stays in $T/base.
same_for_all() {
	_sa_name=$1
	shift
	rm -rf "$T/base"
	run_sluice "$@" -o "$T/base" --partitions "$R" --workers 1
	expect_rc "$_sa_name, 1 worker: exit status" 0 || return
	check_layout "$_sa_name, 1 worker: layout" "$T/base" "$R"
	for _sa_opts in "--workers 2" "--workers 4" \
		"--workers 2 --split-size 16K" "--workers 4 --split-size 16K" \
		"--workers 2 --split-size 1M"; do
		rm -rf "$T/other"
		# shellcheck disable=SC2086
		run_sluice "$@" -o "$T/other" --partitions "$R" $_sa_opts
		expect_rc "$_sa_name, $_sa_opts: exit status" 0 || continue
		check_same_output "$_sa_name, $_sa_opts: same bytes" \
			"$T/base" "$T/other"
	done
}

same_for_all "wordcount" run wordcount "$T/t31.txt" "$T/t32.txt" "$T/t33.txt"
# The base output is also right, so the runs agree on the right answer.
wc_ref "$T/t31.txt" "$T/t32.txt" "$T/t33.txt" >"$T/want"
cat_parts "$T/base" | sort >"$T/got"
check_eq "wordcount: counts" "$T/want" "$T/got"

same_for_all "aggregate" run aggregate "$T/d.csv" --key key \
	--agg count,sum:n,avg:n,min:n,max:n,sum:d,avg:d,min:d,max:d

same_for_all "streaming" run streaming "$T/t31.txt" "$T/t32.txt" \
	--mapper "awk '{ for (i = 1; i <= NF; i++) print \$i \"\\t1\" }'" \
	--reducer cat

finish
