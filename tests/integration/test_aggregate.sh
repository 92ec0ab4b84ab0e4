#!/bin/sh
# test_aggregate.sh - `sluice run aggregate` against sqlite3 (and awk for a
# plain case): one and two key columns, the five aggregations, quoted fields
# with commas, quotes and newlines, CRLF, empty (NULL) values, decimals,
# negative numbers, exact sums of large integers and decimals, rounding of
# averages half away from zero.
#
# Every input here has the columns k,c,n,d,note: k and c are keys, n holds
# integers, d decimals with exactly 2 places, note text. sqlite3 computes
# the reference with integers only (d as integer cents), so it is exact.
# Sluice's output goes back through sqlite3's CSV reader before the
# comparison: the tests hold what the CSV means, not one quoting style.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 ||
	skip "no sqlite3 (apt-get install sqlite3)"

ALL_AGGS=count,sum:n,avg:n,min:n,max:n,sum:d,avg:d,min:d,max:d

# gen_csv SEED ROWS [MULTILINE] : rows over 30 k values ("r00".."r29", all
# of one length: memcmp order of any key encoding is then the order of the
# key tuples) and 5 c values; about 5% of n and of d empty; a group "rzz"
# whose n and d are all empty; notes with commas and quotes, and with
# MULTILINE=1 newlines too.
gen_csv() {
	awk -v seed="$1" -v rows="$2" -v multiline="${3:-0}" '
	function dec(cents,   a) {
		a = cents < 0 ? -cents : cents
		return (cents < 0 ? "-" : "") int(a / 100) "." \
		    sprintf("%02d", a % 100)
	}
	BEGIN {
		srand(seed)
		notes[0] = "plain"
		notes[1] = "\"has, a comma\""
		notes[2] = "\"has \"\"quotes\"\"\""
		notes[3] = ""
		notes[4] = multiline ? "\"two\nlines, and \"\"more\"\"\"" : "x"
		print "k,c,n,d,note"
		for (i = 0; i < rows; i++) {
			k = sprintf("r%02d", int(rand() * 30))
			c = "c" int(rand() * 5)
			n = rand() < 0.05 ? "" : int(rand() * 2001) - 1000
			d = int(rand() * 200001) - 100000
			d = rand() < 0.05 ? "" : dec(d)
			print k "," c "," n "," d "," notes[int(rand() * 5)]
		}
		print "rzz,c0,,,all empty"
		print "rzz,c1,,,"
	}'
}

# sql_agg AGG : the sqlite3 expression for one --agg item, over the columns
# of the grouped subquery in agg_ref.
sql_agg() {
	case $1 in
	count) printf '%s\n' "CAST(cnt AS TEXT)" ;;
	sum:n) printf '%s\n' "coalesce(CAST(sn AS TEXT), '')" ;;
	min:n) printf '%s\n' "coalesce(CAST(mnn AS TEXT), '')" ;;
	max:n) printf '%s\n' "coalesce(CAST(mxn AS TEXT), '')" ;;
	avg:n) sql_avg sn cn 1000000 ;;
	sum:d) sql_cents sd ;;
	min:d) sql_cents mnd ;;
	max:d) sql_cents mxd ;;
	avg:d) sql_avg sd cd 10000 ;;
	*) hard_error "sql_agg: no reference for '$1'" ;;
	esac
}

# sql_cents X : integer cents X as a decimal with 2 places; '' for NULL.
sql_cents() {
	printf '%s\n' "CASE WHEN $1 IS NULL THEN '' ELSE
		(CASE WHEN $1 < 0 THEN '-' ELSE '' END) || (abs($1) / 100) ||
		'.' || printf('%02d', abs($1) % 100) END"
}

# sql_avg SUM COUNT F : SUM / COUNT to 6 decimals, rounded half away from
# zero, all in integers; F scales SUM to millionths (10^6 for integers,
# 10^4 for cents). q = round(|SUM| * F / COUNT) = (2|SUM|F + COUNT) / 2COUNT.
sql_avg() {
	_sa_q="((2 * abs($1) * $3 + $2) / (2 * $2))"
	printf '%s\n' "CASE WHEN $2 = 0 THEN '' ELSE
		(CASE WHEN $1 < 0 AND $_sa_q > 0 THEN '-' ELSE '' END) ||
		($_sa_q / 1000000) || '.' ||
		printf('%06d', $_sa_q % 1000000) END"
}

# esc X : text X on one line: backslash, tab, newline and CR escaped with
# a backslash (written as char() to keep shell quoting out of it).
esc() {
	printf '%s\n' "replace(replace(replace(replace($1,
		char(92), char(92, 92)), char(9), char(92, 116)),
		char(10), char(92, 110)), char(13), char(92, 114))"
}

# agg_ref KEYS AGGS CSV... >WANT : the expected rows, one a line, columns
# escaped and separated by tabs, ordered by the keys; $REF_WHERE and
# $REF_HAVING, when set, are SQL conditions on the rows and the groups.
agg_ref() {
	_ar_keys=$1
	_ar_aggs=$2
	shift 2
	_ar_sel=
	for _ar_k in $(echo "$_ar_keys" | tr , ' '); do
		_ar_sel="$_ar_sel$(esc "$_ar_k"), "
	done
	for _ar_a in $(echo "$_ar_aggs" | tr , ' '); do
		_ar_sel="$_ar_sel$(sql_agg "$_ar_a"), "
	done
	{
		echo "CREATE TABLE src(k TEXT, c TEXT, n INTEGER, d TEXT,
			note TEXT);"
		for _ar_f in "$@"; do
			echo ".import --csv --skip 1 '$_ar_f' src"
		done
		# sqlite3 imports an empty field as '', not NULL.
		echo "UPDATE src SET n = NULL WHERE n = '';"
		echo "UPDATE src SET d = NULL WHERE d = '';"
		echo "CREATE VIEW v AS SELECT k, c, n,
			CAST(replace(d, '.', '') AS INTEGER) AS dc FROM src;"
		echo ".mode list"
		printf '%s\n' '.separator "\t"'
		printf '%s\n' "SELECT ${_ar_sel%, } FROM (SELECT $_ar_keys,
			count(*) AS cnt, sum(n) AS sn, count(n) AS cn,
			min(n) AS mnn, max(n) AS mxn, sum(dc) AS sd,
			count(dc) AS cd, min(dc) AS mnd, max(dc) AS mxd
			FROM v WHERE ${REF_WHERE:-1} GROUP BY $_ar_keys
			HAVING ${REF_HAVING:-1}) ORDER BY $_ar_keys;"
	} | sqlite3 -batch :memory: 2>"$T/sqlite.err"
	[ ! -s "$T/sqlite.err" ] ||
		hard_error "sqlite3 reference: $(head -n 3 "$T/sqlite.err")"
}

# agg_got NKEYS NCOLS OUTDIR : sluice's rows read back with sqlite3's CSV
# reader, in the form of agg_ref's, ordered by the keys. Also writes
# $T/agg.order: a line for each row of a part whose keys are not strictly
# greater than those of the row before.
agg_got() {
	_ag_cols=
	_ag_dump=
	_ag_i=1
	while [ "$_ag_i" -le "$2" ]; do
		_ag_cols="$_ag_cols${_ag_cols:+, }c$_ag_i"
		# A missing column is NULL: show it, unlike an empty one.
		_ag_dump="$_ag_dump${_ag_dump:+, }coalesce($(esc "c$_ag_i"),
			'<missing>')"
		_ag_i=$((_ag_i + 1))
	done
	_ag_kcols=$(echo "$_ag_cols" | cut -d , -f "1-$1")
	_ag_prev=$(echo "$_ag_kcols" | sed 's/c\([0-9]*\)/p\1/g')
	_ag_lag=$(echo "$_ag_kcols" |
		sed 's/c\([0-9]*\)/lag(c\1) OVER w AS p\1/g')
	{
		echo "CREATE TABLE got($_ag_cols);"
		echo ".output '$T/agg.order'"
		for _ag_p in "$3"/part-*; do
			echo "CREATE TABLE p($_ag_cols);"
			echo ".import --csv --skip 1 '$_ag_p' p"
			echo "SELECT '${_ag_p##*/}: ' || $(esc c1) FROM
				(SELECT *, $_ag_lag FROM p
				WINDOW w AS (ORDER BY rowid))
				WHERE ($_ag_prev) >= ($_ag_kcols);"
			echo "INSERT INTO got SELECT * FROM p;"
			echo "DROP TABLE p;"
		done
		echo ".output stdout"
		echo ".mode list"
		printf '%s\n' '.separator "\t"'
		echo "SELECT $_ag_dump FROM got ORDER BY $_ag_kcols;"
	} | sqlite3 -batch :memory: 2>"$T/sqlite.err"
}

# agg_case NAME OUTDIR R KEYS AGGS CSV... : the last run succeeded with the
# Hadoop layout, every part starts with the header, rows in each part are
# sorted by key, and the rows equal sqlite3's.
agg_case() {
	_ac_name=$1
	_ac_out=$2
	_ac_r=$3
	_ac_keys=$4
	_ac_aggs=$5
	shift 5
	expect_rc "$_ac_name: exit status" 0 || return
	check_layout "$_ac_name: layout" "$_ac_out" "$_ac_r"
	_ac_hdr="$_ac_keys,$(echo "$_ac_aggs" | sed 's/:/_/g')"
	_ac_bad=
	for _ac_p in "$_ac_out"/part-*; do
		[ "$(head -n 1 "$_ac_p")" = "$_ac_hdr" ] ||
			_ac_bad="$_ac_bad ${_ac_p##*/}"
	done
	if [ -n "$_ac_bad" ]; then
		fail "$_ac_name: header" "wanted '$_ac_hdr' first in:$_ac_bad"
	else
		pass "$_ac_name: header"
	fi
	agg_ref "$_ac_keys" "$_ac_aggs" "$@" >"$T/agg.want"
	_ac_nk=$(echo "$_ac_keys" | tr , '\n' | wc -l)
	_ac_na=$(echo "$_ac_aggs" | tr , '\n' | wc -l)
	agg_got "$_ac_nk" $((_ac_nk + _ac_na)) "$_ac_out" >"$T/agg.got"
	if [ -s "$T/sqlite.err" ]; then
		fail "$_ac_name: CSV output" "sqlite3 could not read it back"
		show_head "$T/sqlite.err" 5
	else
		pass "$_ac_name: CSV output"
	fi
	if [ -s "$T/agg.order" ]; then
		fail "$_ac_name: parts sorted by key" "rows out of order"
		show_head "$T/agg.order" 5
	else
		pass "$_ac_name: parts sorted by key"
	fi
	check_eq "$_ac_name: rows" "$T/agg.want" "$T/agg.got"
}

gen_csv 1 12000 1 >"$T/a.csv"
gen_csv 2 8000 1 >"$T/b.csv"

# One key, every aggregation, two files (each with its header).
run_sluice run aggregate "$T/a.csv" "$T/b.csv" -o "$T/one" --workers 2 \
	--partitions 3 --key k --agg "$ALL_AGGS"
agg_case "one key" "$T/one" 3 k "$ALL_AGGS" "$T/a.csv" "$T/b.csv"
expect_empty_stdout "one key: stdout"

# The same cut into 64 KiB splits: records with quoted newlines must not
# be cut at a split boundary.
run_sluice run aggregate "$T/a.csv" "$T/b.csv" -o "$T/split" --workers 2 \
	--partitions 3 --split-size 64K --key k --agg "$ALL_AGGS"
agg_case "64K splits" "$T/split" 3 k "$ALL_AGGS" "$T/a.csv" "$T/b.csv"
check_same_output "64K splits: same bytes as one split" "$T/one" "$T/split"

# Two keys, one partition: one global order.
run_sluice run aggregate "$T/a.csv" -o "$T/two" --workers 2 \
	--partitions 1 --key k,c --agg "$ALL_AGGS"
agg_case "two keys" "$T/two" 1 k,c "$ALL_AGGS" "$T/a.csv"

# --where before grouping, --having on the groups: sqlite3's WHERE and
# HAVING (REF_WHERE, REF_HAVING) over the same rows.
run_sluice run aggregate "$T/a.csv" -o "$T/wh" --workers 2 --partitions 2 \
	--key k,c --agg "$ALL_AGGS" \
	--where "n > -500 and (c = 'c1' or c = 'c2' or d is null)" \
	--having "count >= 40 and not avg_d < 0"
REF_WHERE="n > -500 AND (c = 'c1' OR c = 'c2' OR dc IS NULL)"
REF_HAVING="count(*) >= 40 AND NOT sum(dc) < 0"
agg_case "--where and --having" "$T/wh" 2 k,c "$ALL_AGGS" "$T/a.csv"
unset REF_WHERE REF_HAVING
check "--where and --having: some groups, not all" \
	test "$(cat "$T/wh"/part-* | wc -l)" -gt 12 -a \
	"$(cat "$T/wh"/part-* | wc -l)" -lt "$(cat "$T/two"/part-* | wc -l)"

# Two keys over 4 partitions, aggregations in another order.
run_sluice run aggregate "$T/b.csv" -o "$T/order" --workers 2 \
	--partitions 4 --key c,k --agg max:d,count,min:n,avg:d
agg_case "aggregations in --agg order" "$T/order" 4 c,k \
	max:d,count,min:n,avg:d "$T/b.csv"

# A CRLF file means what its LF twin means: the same output bytes.
gen_csv 3 5000 >"$T/lf.csv"
sed 's/$/\r/' "$T/lf.csv" >"$T/crlf.csv"
run_sluice run aggregate "$T/lf.csv" -o "$T/lf" --partitions 2 \
	--key k --agg "$ALL_AGGS"
expect_rc "LF twin: exit status" 0
run_sluice run aggregate "$T/crlf.csv" -o "$T/crlf" --partitions 2 \
	--key k --agg "$ALL_AGGS"
agg_case "CRLF" "$T/crlf" 2 k "$ALL_AGGS" "$T/lf.csv"
check_same_output "CRLF: same bytes as LF" "$T/lf" "$T/crlf"

# Quoted fields, by hand: commas, doubled quotes and newlines in keys and
# in text, quoted numbers (a quoted "5" is the number 5), quoted header
# names, negative decimals, empty values.
cat >"$T/quoted.csv" <<'EOF'
"k","c",n,d,note
plain,x,1,1.00,a
"with,comma",x,2,2.50,"b,b"
"with ""quote""",x,3,-0.25,"c ""c"""
"multi
line",x,4,,"d
d"
"with,comma",y,"5","0.75",
plain,y,,3.00,""
"multi
line",y,-6,-1.00,e
"",x,7,0.01,an empty key is a key
,x,8,,
EOF
run_sluice run aggregate "$T/quoted.csv" -o "$T/quoted" --partitions 1 \
	--key k --agg "$ALL_AGGS"
agg_case "quoted fields" "$T/quoted" 1 k "$ALL_AGGS" "$T/quoted.csv"
run_sluice run aggregate "$T/quoted.csv" -o "$T/quoted2" --partitions 3 \
	--key k,c --agg "$ALL_AGGS"
agg_case "quoted fields, two keys" "$T/quoted2" 3 k,c "$ALL_AGGS" \
	"$T/quoted.csv"

# A plain file, checked byte for byte against awk: unquoted output, one
# "\n" a line.
gen_csv 4 3000 | awk -F , 'NR == 1 || ($3 != "" && $1 != "rzz")' |
	cut -d , -f 1-4 >"$T/plain.csv"
awk -F , 'NR > 1 {
	n[$1]++; s[$1] += $3
	if (!($1 in lo) || $3 < lo[$1]) lo[$1] = $3
	if (!($1 in hi) || $3 > hi[$1]) hi[$1] = $3
} END {
	for (k in n) {
		a = s[k] < 0 ? -s[k] : s[k]
		q = int((2 * a * 1000000 + n[k]) / (2 * n[k]))
		sign = (s[k] < 0 && q > 0) ? "-" : ""
		printf "%s,%d,%d,%s%d.%06d,%d,%d\n", k, n[k], s[k], sign,
		    int(q / 1000000), q % 1000000, lo[k], hi[k]
	}
}' "$T/plain.csv" | sort >"$T/plain.rows"
{ echo "k,count,sum_n,avg_n,min_n,max_n"; cat "$T/plain.rows"; } \
	>"$T/plain.want"
run_sluice run aggregate "$T/plain.csv" -o "$T/plain" --partitions 1 \
	--key k --agg count,sum:n,avg:n,min:n,max:n
expect_rc "plain CSV: exit status" 0
check_eq "plain CSV: same bytes as awk" "$T/plain.want" "$T/plain/part-00000"

# Exactness, by hand: integers above 2^53 (a double loses them), 0.10 +
# 0.20, averages whose 7th decimal is a 5 (1/128 = 0.0078125), -2/3, mixed
# scales (the sum takes the largest; min and max of equal values take the
# one with more decimals), a group with only empty values.
{
	echo "g,v"
	echo "big,9007199254740993"
	echo "big,9007199254740993"
	echo "big,1"
	echo "dec,0.10"
	echo "dec,0.20"
	echo "mix,1.5"
	echo "mix,2.25"
	echo "tie,1.50"
	echo "tie,1.5"
	echo "third,-1"
	echo "third,-1"
	echo "third,0"
	echo "half,1"
	echo "neg,-1"
	i=0
	while [ "$i" -lt 127 ]; do
		echo "half,0"
		echo "neg,0"
		i=$((i + 1))
	done
	echo "null,"
	echo "null,"
} >"$T/exact.csv"
run_sluice run aggregate "$T/exact.csv" -o "$T/exact" --partitions 1 \
	--key g --agg count,sum:v,avg:v,min:v,max:v
expect_rc "exact: exit status" 0
check_text "exact: sums, averages, NULLs" \
'g,count,sum_v,avg_v,min_v,max_v
big,3,18014398509481987,6004799503160662.333333,1,9007199254740993
dec,2,0.30,0.150000,0.10,0.20
half,128,1,0.007813,0,1
mix,2,3.75,1.875000,1.5,2.25
neg,128,-1,-0.007813,-1,0
null,2,,,,
third,3,-2,-0.666667,-1,0
tie,2,3.00,1.500000,1.50,1.50
' "$T/exact/part-00000"

# A sum past 38 digits fails the job: never a wrong number.
_n38=99999999999999999999999999999999999999
printf 'g,v\na,%s\na,%s\n' "$_n38" "$_n38" >"$T/over.csv"
run_sluice run aggregate "$T/over.csv" -o "$T/over" --partitions 1 \
	--key g --agg sum:v
expect_rc "sum past 38 digits: exit status" 1
expect_sluice_error "sum past 38 digits: message" \
	"sum of column 'v' overflows"
expect_no_success "sum past 38 digits: no output" "$T/over"
# The same on every attempt: not retried.
expect_no_err "sum past 38 digits: not retried" "attempt [1-9]|after [0-9]+ attempts"

# An average is never larger than its sum: the avg of one 38-digit value
# is that value, and of two is exact too.
printf 'g,v\na,%s\nb,-%s\nb,1\n' "$_n38" "$_n38" >"$T/avg38.csv"
run_sluice run aggregate "$T/avg38.csv" -o "$T/avg38" --partitions 1 \
	--key g --agg count,avg:v,sum:v
expect_rc "avg of 38 digits: exit status" 0
check_text "avg of 38 digits: exact" \
"g,count,avg_v,sum_v
a,1,$_n38.000000,$_n38
b,2,-49999999999999999999999999999999999999.000000,-99999999999999999999999999999999999998
" "$T/avg38/part-00000"

# --- JSON lines -----------------------------------------------------------

# to_jsonl CSV : the rows of CSV as JSON objects, built by sqlite3 with
# text only (numbers are the CSV's text, so nothing goes through a
# double): members in an order that changes by row, n sometimes a string
# ("12"), an empty value sometimes null and sometimes no member at all,
# and members the job does not read holding arrays and objects.
to_jsonl() {
	rm -f "$T/tojson.db"
	sqlite3 "$T/tojson.db" ".mode csv" ".import $1 r" ".mode list" \
		"SELECT CASE rowid % 3
		 WHEN 0 THEN '{\"k\":' || json_quote(k) || ',\"c\":' ||
			json_quote(c) || ',\"n\":' || CASE WHEN n = '' THEN 'null'
			ELSE n END || ',\"d\":' || CASE WHEN d = '' THEN 'null'
			ELSE d END || ',\"note\":' || json_quote(note) || '}'
		 WHEN 1 THEN '{\"note\":[1,{\"x\":\"}\"}],\"d\":' ||
			CASE WHEN d = '' THEN '\"\"' ELSE d END || ', \"c\" : ' ||
			json_quote(c) || CASE WHEN n = '' THEN '' ELSE
			',\"n\":\"' || n || '\"' END || ',\"k\":' || json_quote(k) ||
			',\"more\":{\"n\":[true,false,null]}}'
		 ELSE '{\"k\":' || json_quote(k) || ',\"c\":' || json_quote(c) ||
			CASE WHEN n = '' THEN '' ELSE ',\"n\":' || n END ||
			CASE WHEN d = '' THEN '' ELSE ',\"d\":' || d END || '}'
		 END FROM r ORDER BY rowid;"
}
to_jsonl "$T/a.csv" >"$T/a.jsonl"
to_jsonl "$T/b.csv" >"$T/b.jsonl"
check "JSON lines: a line a row" test "$(wc -l <"$T/a.jsonl")" -eq 12002
run_sluice run aggregate "$T/a.jsonl" "$T/b.jsonl" -o "$T/json" --workers 2 \
	--partitions 3 --key k --agg "$ALL_AGGS"
agg_case "JSON lines, one key" "$T/json" 3 k "$ALL_AGGS" "$T/a.csv" "$T/b.csv"
check_same_output "JSON lines: the bytes of the CSV run" "$T/one" "$T/json"
run_sluice run aggregate "$T/a.jsonl" "$T/b.csv" -o "$T/mixed" --workers 4 \
	--partitions 3 --split-size 64K --key k --agg "$ALL_AGGS"
check_same_output "JSON lines and CSV in one job, 4 workers, 64K splits" \
	"$T/one" "$T/mixed"
run_sluice run aggregate "$T/a.jsonl" -o "$T/json1" --workers 1 \
	--partitions 1 --key k,c --agg "$ALL_AGGS" \
	--where "n > -500 and (c = 'c1' or c = 'c2' or d is null)"
run_sluice run aggregate "$T/a.csv" -o "$T/csv1" --workers 1 \
	--partitions 1 --key k,c --agg "$ALL_AGGS" \
	--where "n > -500 and (c = 'c1' or c = 'c2' or d is null)"
check_same_output "JSON lines, 1 worker, two keys and --where: as CSV" \
	"$T/csv1" "$T/json1"

# Numbers are their text: exact, never a double's.
{
	i=0
	while [ $i -lt 10 ]; do
		echo '{"g":"tenth","v":0.1}'
		i=$((i + 1))
	done
	echo '{"g":"dec","v":12.10}'
	echo '{"g":"dec","v":-0.000000000000000001}'
	echo "{\"g\":\"big\",\"v\":$_n38}"
	echo '{"g":"big","v":-1}'
	echo '{"g":"str","v":"2.50"}'
	echo '{"g":"null","v":null}'
	echo '{"g":"null"}'
	printf '{"g":"nul\\u0000","v":1}\n'
	echo '{"g":"","v":1}'
} >"$T/exact.jsonl"
run_sluice run aggregate "$T/exact.jsonl" -o "$T/jexact" --partitions 1 \
	--key g --agg count,sum:v,min:v,max:v
expect_rc "JSON exact: exit status" 0
printf ',1,1,1,1\nbig,2,99999999999999999999999999999999999998,-1,%s\ndec,2,12.099999999999999999,-0.000000000000000001,12.10\nnul\000,1,1,1,1\nnull,2,,,\nstr,1,2.50,2.50,2.50\ntenth,10,1.0,0.1,0.1\n' \
	"$_n38" >"$T/jexact.want"
tail -n +2 "$T/jexact/part-00000" >"$T/jexact.got"
check_eq "JSON exact: 0.1 ten times is 1.0, 38 digits, strings, NULLs, a NUL" \
	"$T/jexact.want" "$T/jexact.got"

# Bad lines: the job fails naming the file, line, byte and why; skipped,
# they are counted and the rest is as without them.
cat >"$T/jbad.list" <<'EOF'
not json	not JSON: invalid token near 'not'
{"k":"r01","n":1	not JSON: '}' expected near end of file
["r01",1]	not a JSON object .an array.
{"k":"r01","n":{"v":1}}	member 'n': an object is not a value
{"k":"r01","n":[1]}	member 'n': an array is not a value
{"k":"r01","n":true}	member 'n': true is not a value
{"k":"r01","k":"r02"}	not JSON: duplicate object key
{"k":"r01","n":1e5}	column 'n': '1e5' is not a number
{"k":"r01","n":"x"}	column 'n': 'x' is not a number
EOF
off=$(head -n 100 "$T/a.jsonl" | wc -c)
while IFS='	' read -r bad msg; do
	{ head -n 100 "$T/a.jsonl"; printf '%s\n' "$bad"
	  tail -n +101 "$T/a.jsonl"; } >"$T/jbad.jsonl"
	run_sluice run aggregate "$T/jbad.jsonl" -o "$T/jbad" --partitions 3 \
		--key k --agg "$ALL_AGGS"
	expect_rc "JSON bad line '$bad': exit status" 1
	expect_sluice_error "JSON bad line '$bad': file, line, byte and why" \
		"jbad.jsonl:101: byte $off: $msg"
	expect_no_success "JSON bad line '$bad': no output" "$T/jbad"
done <"$T/jbad.list"
{ head -n 100 "$T/a.jsonl"; cut -f 1 "$T/jbad.list"
  tail -n +101 "$T/a.jsonl"; } >"$T/jbad.jsonl"
run_sluice run aggregate "$T/jbad.jsonl" -o "$T/jskip" --partitions 3 \
	--key k --agg "$ALL_AGGS" --bad-records skip
expect_rc "JSON bad lines skipped: exit status" 0
expect_err "JSON bad lines skipped: counted" "skipped 9 bad records"
run_sluice run aggregate "$T/a.jsonl" -o "$T/jgood" --partitions 3 \
	--key k --agg "$ALL_AGGS"
check_same_output "JSON bad lines skipped: the other rows" "$T/jgood" \
	"$T/jskip"
# A CSV file whose header starts with '{' is read as JSON lines and
# fails; its header name quoted makes it CSV.
printf '{k},v\na,1\n' >"$T/brace.csv"
run_sluice run aggregate "$T/brace.csv" -o "$T/brace" --partitions 1 \
	--key '{k}' --agg sum:v
expect_sluice_error "a CSV header starting with '{': read as JSON lines" \
	"brace.csv:1: byte 0: not JSON"
printf '"{k}",v\na,1\n' >"$T/brace.csv"
run_sluice run aggregate "$T/brace.csv" -o "$T/brace" --partitions 1 \
	--key '{k}' --agg sum:v
check_text "a CSV header starting with '\"{': CSV" '{k},sum_v
a,1
' "$T/brace/part-00000"

finish
