# lib.sh - helpers of the integration tests, sourced by every test_*.sh.
#
# The tests run the real `sluice` command (with its real worker processes)
# and compare what it writes with references computed by independent tools
# (coreutils, awk, perl, sqlite3). Each test script is a list of cases:
#
#   . "$(dirname "$0")/lib.sh"
#   run_sluice run wordcount "$T/in.txt" -o "$T/out" --partitions 3
#   expect_rc "wordcount succeeds" 0
#   wc_ref "$T/in.txt" >"$T/want"
#   cat_parts "$T/out" | sort >"$T/got"
#   check_eq "wordcount matches the reference" "$T/want" "$T/got"
#   finish
#
# What it gives:
#   $T            a fresh temporary directory, removed when the script exits
#                 (kept when SLUICE_TEST_KEEP=1)
#   run_sluice    runs "$SLUICE" with a time bound; stdout in $T/out, stderr
#                 in $T/err, exit status in $RC. A hang, a death by signal or
#                 a sanitizer report counts as a failure by itself.
#   check*, expect*  count a pass or a failure; a failure prints a line
#                 "FAIL: NAME: why" and, where useful, the head of a diff or
#                 of sluice's stderr
#   skip          the whole script is skipped (automake's exit 77)
#   finish        prints "RESULT: N passed, N failed", exits 0 or 1
#   wc_ref, wc_ref_perl, wc_top, cat_parts   word count references
#
# Environment (set by `make check`): SLUICE (the command), SLUICE_SRCDIR,
# SLUICE_BUILDDIR. Knob: SLUICE_TEST_TIMEOUT, seconds a sluice run may take
# before it counts as a hang (default 120).
#
# Everything runs with LC_ALL=C: words, sorting and comparison are bytes.
# POSIX sh only: `make check` runs the scripts with /bin/sh (dash on Debian).

LC_ALL=C
export LC_ALL
TAB=$(printf '\t')

# A broken harness is automake's "hard error" (99), not a test failure.
hard_error() {
	printf 'ERROR: %s\n' "$*"
	exit 99
}

[ -n "${SLUICE:-}" ] || hard_error "SLUICE is not set (run through make check)"
[ -x "$SLUICE" ] || hard_error "SLUICE '$SLUICE' is not executable"
SLUICE_SRCDIR=${SLUICE_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SLUICE_TEST_TIMEOUT=${SLUICE_TEST_TIMEOUT:-120}

T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-test.XXXXXX") ||
	hard_error "cannot make a temporary directory"
cleanup() {
	if [ "${SLUICE_TEST_KEEP:-0}" = 1 ]; then
		printf 'kept %s\n' "$T"
	else
		# A test may have made a directory unreadable: undo that first.
		chmod -R u+rwx "$T" 2>/dev/null
		rm -rf "$T"
	fi
}
trap cleanup EXIT
# On a signal, exit so that the EXIT trap removes $T.
trap 'exit 130' INT
trap 'exit 143' TERM

PASS=0
FAIL=0
LAST_CMD=
RC=0

pass() {
	PASS=$((PASS + 1))
	printf 'ok: %s\n' "$1"
}

# fail NAME WHY
fail() {
	FAIL=$((FAIL + 1))
	printf 'FAIL: %s: %s\n' "$1" "$2"
}

# Indented head of a file, for failure reports.
show_head() {
	head -n "${2:-15}" "$1" | cut -c 1-200 | sed 's/^/    | /'
}

# The last sluice run, for failure reports.
show_last_run() {
	printf '    last run: %s (exit %s); its stderr:\n' "$LAST_CMD" "$RC"
	show_head "$T/err" 15
}

# Skip the whole script: automake counts it as SKIP.
skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

finish() {
	printf 'RESULT: %d passed, %d failed\n' "$PASS" "$FAIL"
	[ "$FAIL" -eq 0 ] || exit 1
	exit 0
}

# run_sluice ARGS... : runs "$SLUICE" ARGS, stdin from /dev/null.
# timeout(1) puts the command in its own process group and signals all of
# it, so worker processes of a hung run die with it.
run_sluice() {
	LAST_CMD="sluice $*"
	RC=0
	timeout -k 10 "$SLUICE_TEST_TIMEOUT" "$SLUICE" "$@" \
		</dev/null >"$T/out" 2>"$T/err" || RC=$?
	check_run_status
}

# check_run_status: a hang, a death by signal or a sanitizer report in the
# last run ($RC, $T/err, $LAST_CMD) is a failure by itself. Called by
# run_sluice, and by tests that run sluice their own way (background runs,
# mpirun) once they have set those three.
check_run_status() {
	if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
		fail "$LAST_CMD" "no exit within ${SLUICE_TEST_TIMEOUT}s (hang)"
	elif [ "$RC" -gt 128 ]; then
		fail "$LAST_CMD" "killed by signal $((RC - 128))"
		show_head "$T/err" 15
	fi
	if grep -q -a -e '^==[0-9]*==ERROR: ' -e ': runtime error: ' "$T/err"
	then
		fail "$LAST_CMD" "sanitizer report on stderr"
		grep -a -A 12 -e '^==[0-9]*==ERROR: ' -e ': runtime error: ' \
			"$T/err" | show_head /dev/stdin 25
	fi
}

# check NAME CMD... : passes when CMD exits 0.
check() {
	_ck_name=$1
	shift
	if "$@"; then
		pass "$_ck_name"
	else
		fail "$_ck_name" "command failed: $*"
	fi
}

# check_eq NAME WANT GOT : the two files are byte-identical.
check_eq() {
	if [ ! -f "$2" ] || [ ! -f "$3" ]; then
		fail "$1" "missing file: $2 or $3"
	elif cmp -s "$2" "$3"; then
		pass "$1"
	else
		fail "$1" "$3 differs from $2 (wanted: -, got: +)"
		diff -u -a "$2" "$3" | sed -n '3,22p' | cut -c 1-200 |
			sed 's/^/    /'
	fi
}

# check_text NAME WANT_TEXT GOT_FILE : the file holds exactly WANT_TEXT
# (printf format, so "\n" and "\t" work).
check_text() {
	# shellcheck disable=SC2059
	printf -- "$2" >"$T/check_text.want"
	check_eq "$1" "$T/check_text.want" "$3"
}

# expect_rc NAME WANT... : the last run exited with one of the WANT codes.
expect_rc() {
	_rc_name=$1
	shift
	for _rc_want in "$@"; do
		if [ "$RC" -eq "$_rc_want" ]; then
			pass "$_rc_name"
			return 0
		fi
	done
	fail "$_rc_name" "exit status $RC, wanted $*"
	show_last_run
	return 1
}

# err_lines : the last run's stderr with the path of $T written "$T", so
# that the random letters and digits of its name match nothing by chance.
err_lines() {
	sed "s|$T|\$T|g" "$T/err"
}

# expect_line NAME ERE WHAT CMD : a line that CMD prints matches ERE;
# else the failure says "no WHAT matches /ERE/".
expect_line() {
	if "$4" | grep -q -a -E -e "$2"; then
		pass "$1"
	else
		fail "$1" "no $3 matches /$2/"
		show_last_run
	fi
}

# expect_err NAME ERE : a line of the last run's stderr matches ERE.
expect_err() {
	expect_line "$1" "$2" "stderr line" err_lines
}

# expect_no_err NAME ERE : no line of the last run's stderr matches ERE.
expect_no_err() {
	if err_lines | grep -q -a -E -e "$2"; then
		fail "$1" "stderr lines match /$2/:"
		err_lines | grep -a -E -e "$2" | show_head /dev/stdin 5
	else
		pass "$1"
	fi
}

# error_reports : the "sluice: ..." lines of the last run's stderr, each
# joined with the indented lines that follow it (a failed job lists the
# error of each attempt of the failed task on such lines).
error_reports() {
	err_lines | awk '
		/^sluice: / { if (r != "") print r; r = $0; next }
		/^[ \t]/ && r != "" { r = r " " $0; next }
		{ if (r != "") print r; r = "" }
		END { if (r != "") print r }'
}

# expect_sluice_error NAME ERE : stderr has an error report "sluice: ..."
# (with its indented lines) that matches ERE.
expect_sluice_error() {
	expect_line "$1" "$2" "stderr line 'sluice: ...'" error_reports
}

# expect_empty_stdout NAME : the last run printed nothing on stdout.
expect_empty_stdout() {
	if [ -s "$T/out" ]; then
		fail "$1" "stdout is not empty"
		show_head "$T/out" 5
	else
		pass "$1"
	fi
}

# expect_no_success NAME DIR : a failed job left no _SUCCESS and no part
# file in DIR (which need not exist).
expect_no_success() {
	if [ -e "$2/_SUCCESS" ]; then
		fail "$1" "$2/_SUCCESS exists after a failed job"
	elif [ -n "$(find "$2" -name 'part-*' 2>/dev/null)" ]; then
		fail "$1" "part files left after a failed job: $(
			find "$2" -name 'part-*' | head -n 3 | tr '\n' ' ')"
	else
		pass "$1"
	fi
}

# usage_error NAME ERE ARGS... : sluice ARGS exits 2 with a `sluice:` line
# matching ERE, and makes no output that looks complete.
usage_error() {
	_ue_name=$1
	_ue_ere=$2
	shift 2
	rm -rf "$T/o"
	run_sluice "$@"
	expect_rc "$_ue_name: exit status" 2
	expect_sluice_error "$_ue_name: message" "$_ue_ere"
	check_absent "$_ue_name: no _SUCCESS" "$T/o/_SUCCESS"
}

# check_absent NAME PATH : nothing at PATH.
check_absent() {
	if [ -e "$2" ] || [ -L "$2" ]; then
		fail "$1" "$2 exists"
	else
		pass "$1"
	fi
}

# part_names R : part-00000 ... part-(R-1), one a line.
part_names() {
	_pn_i=0
	while [ "$_pn_i" -lt "$1" ]; do
		printf 'part-%05d\n' "$_pn_i"
		_pn_i=$((_pn_i + 1))
	done
}

# check_layout NAME DIR [R] : DIR holds exactly part-00000..part-(R-1) and
# _SUCCESS, nothing else (no _temporary, no hidden files). Without R, any
# R >= 1 will do, as long as the part numbers have no gap.
check_layout() {
	_ly_r=${3:-$(find "$2" -maxdepth 1 -name 'part-*' | wc -l)}
	[ "$_ly_r" -ge 1 ] || _ly_r=1
	{ part_names "$_ly_r"; echo _SUCCESS; } | sort >"$T/layout.want"
	ls -A "$2" 2>/dev/null | sort >"$T/layout.got"
	check_eq "$1" "$T/layout.want" "$T/layout.got"
}

# cat_parts DIR : the part files of DIR, in part order.
cat_parts() {
	for _cp_p in "$1"/part-*; do
		[ -f "$_cp_p" ] && cat "$_cp_p"
	done
}

# check_sorted NAME DIR [-u] : in each part of DIR, the "key<TAB>value"
# lines are sorted by key bytes; with -u, strictly (no key twice).
# Sorting by the key field, not the whole line: "a\001" > "a" as keys, but
# "a\001\t1" < "a\t1" as lines.
check_sorted() {
	_cs_bad=
	for _cs_p in "$2"/part-*; do
		# shellcheck disable=SC2086
		if ! sort -c ${3:-} -t "$TAB" -k 1,1 "$_cs_p" 2>"$T/sorted.err"
		then
			_cs_bad="$_cs_bad ${_cs_p##*/}"
		fi
	done
	if [ -n "$_cs_bad" ]; then
		fail "$1" "not sorted by key:$_cs_bad"
		show_head "$T/sorted.err" 3
	else
		pass "$1"
	fi
}

# check_same_output NAME DIR1 DIR2 : the same files, byte for byte.
check_same_output() {
	ls -A "$2" | sort >"$T/same.1"
	ls -A "$3" | sort >"$T/same.2"
	if ! cmp -s "$T/same.1" "$T/same.2"; then
		fail "$1" "different files: $(tr '\n' ' ' <"$T/same.1")vs $(
			tr '\n' ' ' <"$T/same.2")"
		return
	fi
	_sm_bad=
	while read -r _sm_f; do
		cmp -s "$2/$_sm_f" "$3/$_sm_f" || _sm_bad="$_sm_bad $_sm_f"
	done <"$T/same.1"
	if [ -n "$_sm_bad" ]; then
		fail "$1" "files differ:$_sm_bad"
	else
		pass "$1"
	fi
}

# wc_ref FILE... : the word count of the files as "word<TAB>count" lines in
# byte order. Each file on its own: a last word without "\n" must not run
# into the next file's first word. Not for input with NUL bytes.
wc_ref() {
	for _wr_f in "$@"; do
		tr -s ' \t\n\v\f\r' '\n\n\n\n\n\n' <"$_wr_f"
		echo
	done | sed '/^$/d' | sort | uniq -c |
		sed "s/^ *\([0-9][0-9]*\) \(.*\)\$/\2$TAB\1/"
}

# wc_ref_perl FILE... : the same with perl, safe for any bytes (NUL too).
wc_ref_perl() {
	perl -e '
		my %n;
		local $/;
		for my $f (@ARGV) {
			open(my $h, "<:raw", $f) or die "cannot open $f: $!\n";
			my $s = <$h>;
			$n{$_}++ for grep { length }
				split /[ \t\n\x0b\f\r]+/, $s;
		}
		print "$_\t$n{$_}\n" for sort keys %n;
	' "$@"
}

# wc_top K < REF : the K most frequent words of a reference, by count
# descending, then word ascending.
wc_top() {
	sort -t "$TAB" -k 2,2nr -k 1,1 | head -n "$1"
}

# gen_text SEED LINES [WS] : deterministic text. Words from a vocabulary of
# a few thousand (lower and upper case, digits, punctuation), 1 to 12 a line,
# separated by runs of WS characters; WS is "all" (default: space, tab, \v,
# \f, \r, several spaces) or "space" (spaces only, for streaming jobs whose
# mappers split on blanks).
gen_text() {
	awk -v seed="$1" -v lines="$2" -v ws="${3:-all}" 'BEGIN {
		srand(seed)
		nsep = split(" ,\t, \t,  ,\v,\f,\r, ,   ", sep, ",")
		for (i = 0; i < lines; i++) {
			if (rand() < 0.03)
				print ""
			n = 1 + int(rand() * 12)
			line = (rand() < 0.1) ? " " : ""
			for (j = 0; j < n; j++) {
				r = rand()
				# Zipf-like: small ids are frequent.
				id = int(3000 * r * r * r)
				if (id % 3 == 0)
					w = "w" id
				else if (id % 3 == 1)
					w = "Word" id "."
				else
					w = "x-" id "," (id % 7)
				if (j > 0) {
					s = (ws == "all") ? \
					    sep[1 + int(rand() * nsep)] : " "
					line = line s
				}
				line = line w
			}
			if (rand() < 0.1)
				line = line " "
			print line
		}
	}'
}

# --- streams (test_stream*.sh): files appear in $SRC ---------------------

# add_files FROM TO : files f0FROM..f0TO of text, appearing whole (rename)
add_files() {
	_af_i=$1
	while [ "$_af_i" -le "$2" ]; do
		gen_text "$_af_i" 400 space >"$T/.tmp"
		mv "$T/.tmp" "$SRC/$(printf 'f%04d.txt' "$_af_i")"
		_af_i=$((_af_i + 1))
	done
}

# check_batches NAME SINK CK JOB... : every committed batch of SINK is the
# output of `sluice run JOB...` over the input of batches 1..N of CK's
# offset log: whole files ("file NAME", "range" lines to a file's end)
# and, for a file taken in part, its bytes up to where the last range
# ends (a copy of that prefix); the manifest lists 1..C once each; no
# file, no byte in two batches, none skipped (each range of a file
# starts where its last one ended).
check_batches() {
	_cb_name=$1
	_cb_sink=$2
	_cb_ck=$3
	shift 3
	_cb_bad=
	: >"$T/cb.offs"
	_cb_n=0
	for _cb_c in "$_cb_ck"/commits/*; do
		_cb_n=$((_cb_n + 1))
		_cb_b=$(basename "$_cb_c")
		grep -E '^(file|range) ' "$_cb_ck/offsets/$_cb_b" >>"$T/cb.offs"
		rm -rf "$T/cb.ref" "$T/cb.in"
		mkdir -p "$T/cb.in"
		_cb_files=
		for _cb_p in $(cb_parts "$T/cb.offs"); do
			_cb_f=${_cb_p%:*}
			if [ "${_cb_p##*:}" = all ]; then
				_cb_files="$_cb_files $SRC/$_cb_f"
			else
				head -c "${_cb_p##*:}" "$SRC/$_cb_f" \
					>"$T/cb.in/$_cb_f"
				_cb_files="$_cb_files $T/cb.in/$_cb_f"
			fi
		done
		# shellcheck disable=SC2086
		"$SLUICE" run "$@" $_cb_files -o "$T/cb.ref" \
			--workers 2 --partitions 2 2>"$T/cb.err" ||
			_cb_bad="$_cb_bad (run of $_cb_b failed)"
		for _cb_f in "$T/cb.ref"/part-*; do
			cmp -s "$_cb_f" "$_cb_sink/batch-$_cb_b/${_cb_f##*/}" ||
				_cb_bad="$_cb_bad batch-$_cb_b/${_cb_f##*/}"
		done
		[ -f "$_cb_sink/batch-$_cb_b/_SUCCESS" ] ||
			_cb_bad="$_cb_bad batch-$_cb_b/_SUCCESS"
	done
	if [ -n "$_cb_bad" ]; then
		fail "$_cb_name" "differ from sluice run:$_cb_bad"
	elif [ "$_cb_n" -eq 0 ]; then
		fail "$_cb_name" "no batch committed"
	else
		pass "$_cb_name ($_cb_n batches)"
	fi
	ls "$_cb_ck/commits" | sed 's/^/batch-/' >"$T/cb.want"
	check_eq "$_cb_name: the manifest lists the committed batches" \
		"$T/cb.want" "$_cb_sink/_manifest"
	check "$_cb_name: no file, no byte in two batches, none skipped" \
		cb_parts "$T/cb.offs" --check
}

# cb_parts OFFSETS [--check]: the files of the offset lines in OFFSETS,
# in order, one a line as NAME:all (whole so far) or NAME:BYTES (its
# first BYTES bytes so far); with --check, fails unless each file's
# ranges follow each other from byte 0 and no whole file comes twice.
cb_parts() {
	awk -v check="${2:-}" '
	$1 == "file" { n = substr($0, 6); if (n in to) bad = 1
		to[n] = -1; if (!(n in seen)) order[++k] = n; seen[n] = 1 }
	$1 == "range" { n = $6
		if (((n in to) ? to[n] : 0) != $2 || $2 > $3 || $3 > $4) bad = 1
		to[n] = $3; size[n] = $4
		if (!(n in seen)) order[++k] = n; seen[n] = 1 }
	END { if (check != "") exit bad
		for (i = 1; i <= k; i++) { n = order[i]
			print n ":" (to[n] < 0 || to[n] == size[n] ? "all" : to[n]) } }
	' "$1"
}

# feed_each NAME FROM TO ARGS... : each file of FROM, in name order,
# appears whole in TO (by rename), then `sluice stream ARGS... --source
# file:TO --trigger once` runs and must exit 0: a batch a file.
feed_each() {
	_fe_name=$1
	_fe_from=$2
	_fe_to=$3
	shift 3
	mkdir -p "$_fe_to"
	for _fe_f in $(ls "$_fe_from"); do
		cp "$_fe_from/$_fe_f" "$_fe_to/.$_fe_f" &&
			mv "$_fe_to/.$_fe_f" "$_fe_to/$_fe_f"
		run_sluice stream "$@" --source "file:$_fe_to" --trigger once
		expect_rc "$_fe_name, the batch of $_fe_f: exit status" 0
	done
}

# --- clusters (test_cluster.sh, test_stream_cluster.sh): at $EP --------

# poll_for WHAT CMD...: runs CMD every 50 ms until it succeeds, up to 20 s.
poll_for() {
	_pf_what=$1
	shift
	_pf_n=0
	until "$@" >/dev/null 2>&1; do
		_pf_n=$((_pf_n + 1))
		if [ $_pf_n -gt 400 ]; then
			fail "wait for $_pf_what" "not within 20 s"
			return 1
		fi
		sleep 0.05
	done
}

# A job's state, from `sluice status ID --json`.
job_state() {
	"$SLUICE" status "$1" --json --coordinator "$EP" 2>/dev/null |
		sed -n 's/^  "state": "\([a-z]*\)".*/\1/p'
}
state_is() {
	[ "$(job_state "$1")" = "$2" ]
}
