#!/bin/sh
# test_streaming.sh - `sluice run streaming`: external mapper, combiner and
# reducer commands speaking the "key<TAB>value" line protocol (Hadoop
# Streaming). A word count in awk must equal the coreutils word count; the
# reducer sees its keys sorted; a failing or missing command fails the job.
#
# A CMD is split into words without a shell (docs/streaming.md): shell
# syntax needs "sh -c '...'". A reducer's stdout is the part file as it is.
. "$(dirname "$0")/lib.sh"

# The text has only spaces between words: awk's default field splitting
# then finds exactly the words of the word count definition.
MAPPER="awk '{ for (i = 1; i <= NF; i++) print \$i \"\\t1\" }'"
SUMMER="awk -F '\\t' '\$1 != k { if (NR > 1) print k \"\\t\" s; k = \$1; s = 0 }
	{ s += \$2 } END { if (NR > 0) print k \"\\t\" s }'"

gen_text 21 4000 space >"$T/a.txt"
gen_text 22 3000 space >"$T/b.txt"
wc_ref "$T/a.txt" "$T/b.txt" >"$T/ref"

# The reference commands on their own, without sluice: they must agree
# with wc_ref, or the cases below test nothing.
sh -c "$MAPPER" <"$T/a.txt" >"$T/map.a"
sh -c "$MAPPER" <"$T/b.txt" >"$T/map.b"
sort -t "$TAB" -k 1,1 "$T/map.a" "$T/map.b" | sh -c "$SUMMER" >"$T/self"
check_eq "the awk mapper and reducer count words" "$T/ref" "$T/self"

# stream_case NAME OUTDIR R : exit 0, layout, sorted parts, counts.
stream_case() {
	expect_rc "$1: exit status" 0 || return
	check_layout "$1: layout" "$2" "$3"
	check_sorted "$1: parts sorted by word" "$2" -u
	cat_parts "$2" | sort >"$T/got"
	check_eq "$1: counts" "$T/ref" "$T/got"
}

run_sluice run streaming "$T/a.txt" "$T/b.txt" -o "$T/wc" --workers 2 \
	--partitions 3 --mapper "$MAPPER" --reducer "$SUMMER"
stream_case "awk word count" "$T/wc" 3

run_sluice run streaming "$T/a.txt" "$T/b.txt" -o "$T/comb" --workers 2 \
	--partitions 2 --split-size 16K \
	--mapper "$MAPPER" --combiner "$SUMMER" --reducer "$SUMMER"
stream_case "awk word count with a combiner" "$T/comb" 2

# The reducer `cat` shows what reducers get: every mapper line once, keys
# in byte order within each part.
run_sluice run streaming "$T/a.txt" "$T/b.txt" -o "$T/cat" --workers 2 \
	--partitions 3 --mapper "$MAPPER" --reducer cat
expect_rc "reducer cat: exit status" 0
check_layout "reducer cat: layout" "$T/cat" 3
check_sorted "reducer cat: reducer input sorted by key" "$T/cat"
sort "$T/map.a" "$T/map.b" >"$T/want.cat"
cat_parts "$T/cat" | sort >"$T/got"
check_eq "reducer cat: every mapper line once" "$T/want.cat" "$T/got"

# A mapper that fails: the job fails and says how the command ended. The
# status is computed so that the command's text does not hold the number.
run_sluice run streaming "$T/a.txt" -o "$T/fail" --partitions 2 \
	--mapper "sh -c 'exit \$((30 + 7))'" --reducer cat
expect_rc "failing mapper: exit status" 1
expect_sluice_error "failing mapper: status in the error" \
	'(^|[^0-9])37([^0-9]|$)'
expect_no_success "failing mapper: no output" "$T/fail"

# A mapper that reads its input and then fails.
run_sluice run streaming "$T/a.txt" -o "$T/fail2" --partitions 2 \
	--mapper "sh -c 'cat >/dev/null; exit \$((40 + 1))'" --reducer cat
expect_rc "mapper failing after its input: exit status" 1
expect_sluice_error "mapper failing after its input: status in the error" \
	'(^|[^0-9])41([^0-9]|$)'
expect_no_success "mapper failing after its input: no output" "$T/fail2"

# A mapper that does not exist: a clear message that names it.
run_sluice run streaming "$T/a.txt" -o "$T/nocmd" --partitions 2 \
	--mapper "$T/no-such-mapper" --reducer cat
expect_rc "missing mapper: exit status" 1 2
expect_sluice_error "missing mapper: named in the error" 'no-such-mapper'
expect_no_success "missing mapper: no output" "$T/nocmd"

# A command that does not parse is a usage error, before any task runs.
run_sluice run streaming "$T/a.txt" -o "$T/badcmd" --partitions 2 \
	--mapper "awk '{ print }" --reducer cat
expect_rc "unterminated quote in --mapper: exit status" 2
expect_sluice_error "unterminated quote in --mapper: message" "mapper|quote"
expect_no_success "unterminated quote in --mapper: no output" "$T/badcmd"
run_sluice run streaming "$T/a.txt" -o "$T/noreducer" --mapper cat
expect_rc "no --reducer: exit status" 2
expect_sluice_error "no --reducer: message" "missing option '--reducer'"
run_sluice run streaming "$T/a.txt" -o "$T/blankcmd" --mapper " " \
	--reducer cat
expect_rc "blank --mapper: exit status" 2
expect_sluice_error "blank --mapper: message" \
	"empty command in option '--mapper'"

# A reducer that fails. Other reduce tasks may have committed their parts,
# but the job must not commit.
run_sluice run streaming "$T/a.txt" -o "$T/rfail" --partitions 2 \
	--mapper "$MAPPER" \
	--reducer "sh -c 'cat >/dev/null; exit \$((40 + 3))'"
expect_rc "failing reducer: exit status" 1
expect_sluice_error "failing reducer: status in the error" \
	'(^|[^0-9])43([^0-9]|$)'
check_absent "failing reducer: no _SUCCESS" "$T/rfail/_SUCCESS"

finish
