#!/bin/sh
# test_cli.sh - the `sluice` command line: --help, --version, usage errors
# (exit 2 with a "sluice: ..." line), and a user job written in C against
# include/sluice.h, built as a shared object and run as `sluice run ./x.so`.
. "$(dirname "$0")/lib.sh"

printf 'one two\nthree\n' >"$T/in.txt"

# --- help and version ------------------------------------------------------

# help_mentions NAME WORD... : the last run's stdout names every WORD.
help_mentions() {
	_hm_name=$1
	shift
	_hm_missing=
	for _hm_w in "$@"; do
		grep -q -F -e "$_hm_w" "$T/out" ||
			_hm_missing="$_hm_missing $_hm_w"
	done
	if [ -n "$_hm_missing" ]; then
		fail "$_hm_name" "not mentioned:$_hm_missing"
		show_head "$T/out" 40
	else
		pass "$_hm_name"
	fi
}

# "-o," is the table's "-o, --output": a bare "-o" is in "--output" too.
OPTIONS="-o, --output --workers --partitions --split-size --bad-records
	--max-record-size --overwrite --top --verbose --key --agg --mapper
	--reducer --combiner wordcount aggregate streaming"

# Help asked for is output, not an error: on stdout, exit 0.
for args in "--help" "run --help"; do
	# shellcheck disable=SC2086
	run_sluice $args
	expect_rc "sluice $args: exit status" 0
	# shellcheck disable=SC2086
	help_mentions "sluice $args: every option" $OPTIONS
done

run_sluice --version
expect_rc "--version: exit status" 0
check "--version: 'sluice VERSION' on stdout" \
	grep -q -E '^sluice (version )?[0-9]+\.[0-9]+' "$T/out"

# --- usage errors: exit 2 and a "sluice: ..." line --------------------------

# (usage_error, in lib.sh: `sluice ARGS` exits 2, says why in a line
# "sluice: ..." matching ERE, and writes no output.)
usage_error "no arguments" "missing a command"
usage_error "unknown command" "frobnicate" frobnicate
usage_error "run without a job" "needs a job" run
usage_error "unknown job" "nosuchjob" run nosuchjob "$T/in.txt" -o "$T/o"
usage_error "unknown option" "--frobnicate" \
	run wordcount --frobnicate "$T/in.txt" -o "$T/o"
usage_error "missing -o" "missing the output directory" \
	run wordcount "$T/in.txt"
usage_error "-o without a value" "needs a value" run wordcount "$T/in.txt" -o
usage_error "no input" "missing the input" run wordcount -o "$T/o"
for bad in 0 -1 abc 3x 99999999999999999999; do
	usage_error "--partitions $bad" "partitions" \
		run wordcount "$T/in.txt" -o "$T/o" --partitions "$bad"
done
for bad in 0 abc -5 12Q 1KK; do
	usage_error "--split-size $bad" "split-size" \
		run wordcount "$T/in.txt" -o "$T/o" --split-size "$bad"
done
usage_error "--workers 0" "workers" \
	run wordcount "$T/in.txt" -o "$T/o" --workers 0
usage_error "--workers abc" "workers" \
	run wordcount "$T/in.txt" -o "$T/o" --workers abc
usage_error "--bad-records maybe" "bad-records" \
	run wordcount "$T/in.txt" -o "$T/o" --bad-records maybe
usage_error "--max-record-size abc" "max-record-size" \
	run wordcount "$T/in.txt" -o "$T/o" --max-record-size abc
for bad in 0 abc; do
	usage_error "--top $bad" "top" \
		run wordcount "$T/in.txt" -o "$T/o" --top "$bad"
	usage_error "--memory $bad" "memory" \
		run wordcount "$T/in.txt" -o "$T/o" --memory "$bad"
	usage_error "--max-attempts $bad" "max-attempts" \
		run wordcount "$T/in.txt" -o "$T/o" --max-attempts "$bad"
done
usage_error "--top with aggregate" "works with wordcount" \
	run aggregate "$T/in.txt" -o "$T/o" --key a --agg count --top 3
usage_error "--speculation maybe" "speculation" \
	run wordcount "$T/in.txt" -o "$T/o" --speculation maybe
usage_error "--heartbeat-interval 5" "heartbeat-interval" \
	run wordcount "$T/in.txt" -o "$T/o" --heartbeat-interval 5
usage_error "a heartbeat timeout under twice the interval" \
	"more than twice" run wordcount "$T/in.txt" -o "$T/o" \
	--heartbeat-interval 1000 --heartbeat-timeout 1500
for bad in median:n sum count,, ""; do
	usage_error "--agg '$bad'" "agg" \
		run aggregate "$T/in.txt" -o "$T/o" --key a --agg "$bad"
done
usage_error "aggregate without --key" "needs --key" \
	run aggregate "$T/in.txt" -o "$T/o" --agg count
usage_error "a --key column named like an aggregate" \
	"duplicate output column 'count'" \
	run aggregate "$T/in.txt" -o "$T/o" --key count --agg count

# Size suffixes are accepted.
run_sluice run wordcount "$T/in.txt" -o "$T/sizes" --split-size 1M \
	--max-record-size 64K --partitions 1 --workers 1 -v
expect_rc "size suffixes and -v: exit status" 0
check_text "size suffixes and -v: output" 'one\t1\nthree\t1\ntwo\t1\n' \
	"$T/sizes/part-00000"

# --- a user job as a shared object ------------------------------------------

# sum.h: the reduce of the job below, "KEY<TAB>SUM" of 8-byte counts.
cat >"$T/sum.h" <<'EOF'
#include <sluice.h>
#include <stdio.h>

static int sum_reduce(sl_ctx *ctx, const void *key, size_t klen,
		      sl_values *vals)
{
	const void *val;
	size_t len;
	unsigned long long sum = 0;
	char out[32];
	int n;

	while (sl_values_next(vals, &val, &len)) {
		if (len != 8)
			return sl_fail(ctx, "value of %zu bytes", len);
		sum += sl_u64_get(val);
	}
	n = snprintf(out, sizeof out, "%llu", sum);
	return sl_emit(ctx, key, klen, out, (size_t)n);
}
EOF
# linelen.c: the job of examples/, which builds against the public header
# alone: counts the lines of each length in bytes ("LENGTH<TAB>COUNT").
cp "$SLUICE_SRCDIR/examples/linelen.c" "$T/linelen.c"
# sumerr.c: counts lines with the engine's own sum of counts, but the line
# "big" emits 2^63 (twice overflows 64 bits), and the line "short" emits a
# 4-byte count and ignores the error sl_emit returns.
cat >"$T/sumerr.c" <<'EOF'
#include <sluice.h>
#include <string.h>
#include "sum.h"

static int is(const sl_record *rec, const char *s)
{
	return rec->line.len == strlen(s) &&
	       memcmp(rec->line.ptr, s, rec->line.len) == 0;
}

static int se_map(sl_ctx *ctx, const sl_record *rec)
{
	unsigned char v[8];

	sl_u64_put(v, is(rec, "big") ? (uint64_t)1 << 63 : 1);
	if (is(rec, "short")) {
		(void)sl_emit(ctx, "k", 1, v, 4);
		return SL_OK;
	}
	return sl_emit(ctx, rec->line.ptr, rec->line.len, v, sizeof v);
}

const struct sl_job sluice_job = {
	.api_version = SL_API_VERSION,
	.name = "sumerr",
	.summary = "count lines, failing on purpose",
	.input = SL_INPUT_LINES,
	.map = se_map,
	.combine = sl_combine_sum_u64,
	.reduce = sum_reduce,
};
EOF
# notajob.c: a shared object without a sluice_job.
echo 'int not_a_job = 1;' >"$T/notajob.c"
# oldjob.c: a job for an API version this sluice does not have.
sed 's/\.api_version = SL_API_VERSION/.api_version = SL_API_VERSION + 99/' \
	"$T/linelen.c" >"$T/oldjob.c"

# compile_jobs NAME... : $T/NAME.c to $T/NAME.so.
compile_jobs() {
	for _cj_job in "$@"; do
		"$CC" -std=gnu11 -Wall -Wextra -Werror -shared -fPIC \
			-I"$SLUICE_SRCDIR/include" \
			-o "$T/$_cj_job.so" "$T/$_cj_job.c" || return 1
	done
}

CC=${CC:-cc}
if ! command -v "$CC" >/dev/null 2>&1; then
	echo "skip: user job cases (no C compiler '$CC')"
elif ! compile_jobs linelen sumerr notajob oldjob; then
	fail "user jobs compile against include/sluice.h" "$CC failed"
else
	pass "user jobs compile against include/sluice.h"
	cd "$T" || hard_error "cannot cd to $T"
	{
		gen_text 41 3000
		printf '\n\n  \r\nno final newline'
	} >"$T/lines.txt"
	# Lines as the job sees them: without "\n" or "\r\n".
	sed 's/\r$//' "$T/lines.txt" | awk '{ print length($0) }' | sort |
		uniq -c | sed "s/^ *\([0-9]*\) \(.*\)\$/\2$TAB\1/" >"$T/want"
	run_sluice run ./linelen.so "$T/lines.txt" -o "$T/ll" --partitions 3 \
		--workers 2 --split-size 16K
	expect_rc "user job ./linelen.so: exit status" 0
	check_layout "user job ./linelen.so: layout" "$T/ll" 3
	check_sorted "user job ./linelen.so: parts sorted" "$T/ll" -u
	cat_parts "$T/ll" | sort >"$T/got"
	check_eq "user job ./linelen.so: counts" "$T/want" "$T/got"

	# A map-side emit that fails fails the job, also when the map ignores
	# it: the engine adds counts in batches, after the emit returned.
	printf 'a\nb\na\n' >"$T/se_ok.txt"
	run_sluice run ./sumerr.so "$T/se_ok.txt" -o "$T/se_ok" --partitions 1
	expect_rc "sum of counts: exit status" 0
	check_text "sum of counts: output" 'a\t2\nb\t1\n' \
		"$T/se_ok/part-00000"
	printf 'a\nbig\nb\nbig\na\n' >"$T/se_big.txt"
	run_sluice run ./sumerr.so "$T/se_big.txt" -o "$T/se_big" \
		--partitions 1 --max-attempts 1
	expect_rc "a count overflowing in map: exit status" 1
	expect_sluice_error "a count overflowing in map: error message" \
		"count overflows 64 bits"
	expect_no_success "a count overflowing in map: no output" "$T/se_big"
	printf 'a\nshort\nb\n' >"$T/se_short.txt"
	run_sluice run ./sumerr.so "$T/se_short.txt" -o "$T/se_short" \
		--partitions 1 --max-attempts 1
	expect_rc "a failed emit the map ignores: exit status" 1
	expect_sluice_error "a failed emit the map ignores: error message" \
		"emitted a count that is not 8 bytes"
	expect_no_success "a failed emit the map ignores: no output" \
		"$T/se_short"

	usage_error "a .so without sluice_job" "notajob\\.so|sluice_job" \
		run ./notajob.so "$T/lines.txt" -o "$T/o"
	usage_error "a .so of another API version" "oldjob\\.so|version" \
		run ./oldjob.so "$T/lines.txt" -o "$T/o"
	usage_error "a .so that does not exist" "nosuch\\.so" \
		run ./nosuch.so "$T/lines.txt" -o "$T/o"
fi


# The summary counts lines in and records out, whatever map() is given:
# word count reads runs of lines, aggregate writes a header per part.
awk 'BEGIN { for (i = 0; i < 30000; i++) print "w" (i % 977), "x" i }' \
	>"$T/sum.txt"
printf 'last line unended' >>"$T/sum.txt"
run_sluice run wordcount "$T/sum.txt" -o "$T/sum" --workers 2 \
	--split-size 64K --partitions 3
expect_rc "summary: word count exit status" 0
want_in=$(awk 'END { print NR }' "$T/sum.txt")
want_out=$(cat_parts "$T/sum" | wc -l)
check "summary: word count counts lines in ($want_in) and words out" \
	grep -q "$want_in records in, $want_out out" "$T/err"
awk 'BEGIN { print "k,v"; for (i = 0; i < 5000; i++) print "g" (i % 37) "," i }' \
	>"$T/sum.csv"
run_sluice run aggregate --key k --agg sum:v "$T/sum.csv" -o "$T/agg" \
	--workers 2 --split-size 16K --partitions 4
expect_rc "summary: aggregate exit status" 0
check "summary: aggregate counts data rows in and groups out (37)" \
	grep -q "5000 records in, 37 out" "$T/err"


# The progress bar: drawn in place while the job runs with --progress on
# (the default on a terminal), erased before the summary; never when
# stderr is not a terminal and nothing asks for it.
printf '#!/bin/sh\nsleep 1\nexec cat\n' >"$T/slowcat1"
chmod +x "$T/slowcat1"
run_sluice run streaming "$T/sum.txt" -o "$T/bar" --mapper "$T/slowcat1" \
	--reducer cat --workers 2 --split-size 256K --partitions 2 \
	--progress on
expect_rc "progress bar: exit status" 0
tr '\r' '\n' <"$T/err" >"$T/bar.lines"
check "progress bar: a line of tasks done of total, bytes, rate, ETA" \
	grep -Eq '^job 1 \[[#-]{20}\] +[0-9]+% map [0-9]/2 reduce [0-2]/2 [0-9.]+ [kMG]?B [0-9.]+ [kMG]?B/s ETA' \
	"$T/bar.lines"
check "progress bar: erased before the summary" \
	grep -q "$(printf '\033\\[K')sluice: job streaming done" "$T/bar.lines"
run_sluice run wordcount "$T/sum.txt" -o "$T/nobar" --workers 2
check "progress bar: none when stderr is no terminal" \
	test -z "$(tr -cd '\r' <"$T/err")"
usage_error "progress bar: a bad --progress" "progress" \
	run wordcount "$T/sum.txt" -o "$T/o" --progress maybe

finish
