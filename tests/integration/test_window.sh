#!/bin/sh
# test_window.sh - `sluice run window` against sqlite3: tumbling and
# sliding windows of event time by key, over epoch seconds, ISO 8601 (with
# zones) and epoch milliseconds; count, exact sum, min and max with NULLs;
# the same output with 1 and 4 workers; bad times failed or skipped per
# --bad-records, with their file and line; bad windows refused before
# anything runs (exit 2).
#
# sqlite3 computes every reference with integers only: window starts by
# integer division of the epoch, amounts as integer cents, and the ISO
# bounds with its own strftime.
. "$(dirname "$0")/lib.sh"

command -v sqlite3 >/dev/null 2>&1 ||
	skip "no sqlite3 (apt-get install sqlite3)"

# 30000 events over two hours from 2026-12-03T14:00:00Z (epoch 1796306400)
# for 40 users; about 3% of amounts empty; user u_null has only empty ones.
awk 'BEGIN {
	srand(7)
	print "user,ts,amount"
	for (i = 0; i < 30000; i++) {
		u = sprintf("u%02d", int(rand() * 40))
		ts = 1796306400 + int(rand() * 7200)
		c = int(rand() * 100000)
		a = rand() < 0.03 ? "" : int(c / 100) "." sprintf("%02d", c % 100)
		print u "," ts "," a
	}
	print "u_null,1796306400,"
	print "u_null,1796309999,"
}' >"$T/ev.csv"

# The events in sqlite3: ts as an integer, amount as integer cents.
sqlite3 "$T/ev.db" <<EOF
.mode csv
.import $T/ev.csv raw
CREATE TABLE ev AS SELECT user, CAST(ts AS INTEGER) AS ts,
	CASE WHEN amount = '' THEN NULL
	     ELSE CAST(replace(amount, '.', '') AS INTEGER) END AS cents
	FROM raw;
EOF

# ref SIZE SLIDE : the rows of --window sliding:SIZE,SLIDE (seconds; SIZE
# = SLIDE for tumbling), --agg count,sum:amount,min:amount,max:amount, in
# byte order of the lines.
ref() {
	sqlite3 -separator , "${REF_DB:-$T/ev.db}" "
	WITH RECURSIVE o(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM o
				WHERE k + 1 < ($1 + $2 - 1) / $2),
	w AS (SELECT user, (ts / $2 - k) * $2 AS ws, cents FROM ev, o
	      WHERE (ts / $2 - k) * $2 > ts - $1)
	SELECT user, strftime('%Y-%m-%dT%H:%M:%SZ', ws, 'unixepoch'),
	       strftime('%Y-%m-%dT%H:%M:%SZ', ws + $1, 'unixepoch'), count(*),
	       coalesce((sum(cents) / 100) || '.' || printf('%02d', sum(cents) % 100), ''),
	       coalesce((min(cents) / 100) || '.' || printf('%02d', min(cents) % 100), ''),
	       coalesce((max(cents) / 100) || '.' || printf('%02d', max(cents) % 100), '')
	FROM w GROUP BY user, ws;" | tr -d '\r' | LC_ALL=C sort
}

# rows DIR : the data rows of the part files, in byte order; checks each
# part has the header first.
rows() {
	for _r_p in "$1"/part-*; do
		head -n 1 "$_r_p" >>"$T/headers"
		tail -n +2 "$_r_p"
	done | LC_ALL=C sort
}

AGGS=count,sum:amount,min:amount,max:amount
HEADER="user,window_start,window_end,count,sum_amount,min_amount,max_amount"

run_sluice run window "$T/ev.csv" -o "$T/tum" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --workers 2 --split-size 64K \
	--partitions 3
expect_rc "tumbling 5m: exit status" 0
check_layout "tumbling 5m: layout" "$T/tum" 3
: >"$T/headers"
rows "$T/tum" >"$T/got"
ref 300 300 >"$T/want"
check_eq "tumbling 5m: rows as sqlite3 computes them" "$T/want" "$T/got"
check "tumbling 5m: each part starts with the header" \
	test "$(sort -u "$T/headers")" = "$HEADER"
check "tumbling 5m: a group of NULL amounts has empty aggregates" \
	grep -qx 'u_null,2026-12-03T14:00:00Z,2026-12-03T14:05:00Z,1,,,' \
	"$T/got"
expect_err "tumbling 5m: the summary counts rows" \
	"30002 records in, $(wc -l <"$T/want") out"

run_sluice run window "$T/ev.csv" -o "$T/tum1" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --workers 1 --split-size 64K \
	--partitions 3
run_sluice run window "$T/ev.csv" -o "$T/tum4" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --workers 4 --split-size 16K \
	--partitions 3
check_same_output "tumbling: 1 and 4 workers, other splits" "$T/tum1" \
	"$T/tum4"
check_same_output "tumbling: 2 workers the same" "$T/tum" "$T/tum4"

run_sluice run window "$T/ev.csv" -o "$T/sl" --key user --time ts \
	--window sliding:10m,4m --agg "$AGGS" --workers 2 --split-size 64K \
	--partitions 2
expect_rc "sliding 10m,4m: exit status" 0
rows "$T/sl" >"$T/got"
ref 600 240 >"$T/want"
check_eq "sliding 10m,4m: each event in each of its windows" "$T/want" \
	"$T/got"
run_sluice run window "$T/ev.csv" -o "$T/gap" --key user --time ts \
	--window sliding:1m,5m --agg "$AGGS" --partitions 1
rows "$T/gap" >"$T/got"
ref 60 300 >"$T/want"
check_eq "sliding 1m,5m: events between windows are in none" "$T/want" \
	"$T/got"

# Sessions: a key's events with less than the gap between one and the
# next; the row's window is its first event to its last plus the gap
# (sqlite3: a new session where the gap to the previous event is 30 s or
# more, numbered by a running sum).
run_sluice run window "$T/ev.csv" -o "$T/ses" --key user --time ts \
	--window session:30s --agg "$AGGS" --workers 2 --split-size 64K \
	--partitions 3
expect_rc "sessions: exit status" 0
rows "$T/ses" >"$T/got"
sqlite3 -separator , "$T/ev.db" "
	WITH o AS (SELECT user, ts, cents, lag(ts) OVER (PARTITION BY user
			ORDER BY ts) AS prev FROM ev),
	s AS (SELECT user, ts, cents, sum(CASE WHEN prev IS NULL OR
			ts - prev >= 30 THEN 1 ELSE 0 END) OVER (PARTITION BY user
			ORDER BY ts ROWS UNBOUNDED PRECEDING) AS sid FROM o)
	SELECT user, strftime('%Y-%m-%dT%H:%M:%SZ', min(ts), 'unixepoch'),
	       strftime('%Y-%m-%dT%H:%M:%SZ', max(ts) + 30, 'unixepoch'),
	       count(*),
	       coalesce((sum(cents) / 100) || '.' || printf('%02d', sum(cents) % 100), ''),
	       coalesce((min(cents) / 100) || '.' || printf('%02d', min(cents) % 100), ''),
	       coalesce((max(cents) / 100) || '.' || printf('%02d', max(cents) % 100), '')
	FROM s GROUP BY user, sid;" | LC_ALL=C sort >"$T/want"
check_eq "sessions of 30 s: the rows sqlite3 computes" "$T/want" "$T/got"
check "sessions: more than one a user, fewer than the events" \
	test "$(wc -l <"$T/got")" -gt 100 -a "$(wc -l <"$T/got")" -lt 20000
run_sluice run window "$T/ev.csv" -o "$T/ses4" --key user --time ts \
	--window session:30s --agg "$AGGS" --workers 4 --split-size 16K \
	--partitions 3
check_same_output "sessions: 2 and 4 workers, other splits" "$T/ses" \
	"$T/ses4"
check "sessions: a user's sessions are in one part file" \
	test "$(cat "$T/ses"/part-* | grep -v '^user,' | cut -d , -f 1 |
		sort -u | wc -l)" -eq "$(for p in "$T/ses"/part-*; do
		tail -n +2 "$p" | cut -d , -f 1 | sort -u; done | wc -l)"

# --where before windowing, --having on the window rows (sqlite3's WHERE
# and HAVING; a NULL amount makes the comparison unknown in both).
run_sluice run window "$T/ev.csv" -o "$T/wh" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --partitions 2 \
	--where "amount * 2 >= 1000.50 and not starts_with(user, 'u1')" \
	--having "count > 3 or sum_amount > 2500"
expect_rc "--where and --having: exit status" 0
rows "$T/wh" >"$T/got"
sqlite3 -separator , "$T/ev.db" "
	SELECT user, strftime('%Y-%m-%dT%H:%M:%SZ', ts / 300 * 300, 'unixepoch'),
	       strftime('%Y-%m-%dT%H:%M:%SZ', ts / 300 * 300 + 300, 'unixepoch'),
	       count(*),
	       coalesce((sum(cents) / 100) || '.' || printf('%02d', sum(cents) % 100), ''),
	       coalesce((min(cents) / 100) || '.' || printf('%02d', min(cents) % 100), ''),
	       coalesce((max(cents) / 100) || '.' || printf('%02d', max(cents) % 100), '')
	FROM ev WHERE cents * 2 >= 100050 AND user NOT LIKE 'u1%'
	GROUP BY user, ts / 300 HAVING count(*) > 3 OR sum(cents) > 250000;" |
	LC_ALL=C sort >"$T/want"
check_eq "--where and --having: the rows sqlite3 keeps" "$T/want" "$T/got"
check "--where and --having: some rows, not all" \
	test "$(wc -l <"$T/got")" -gt 10 -a \
	"$(wc -l <"$T/got")" -lt "$(($(cat "$T/tum"/part-* | wc -l) - 3))"
usage_error "a bad --where" "--where: at byte 9: expected a value" run window "$T/ev.csv" \
	-o "$T/o" --key user --time ts --window tumbling:5m --agg count \
	--where "amount >"
usage_error "--having over a column the output lacks" \
	"unknown column 'amount' in --having" run window "$T/ev.csv" \
	-o "$T/o" --key user --time ts --window tumbling:5m --agg count \
	--having "amount > 1"
{ cat "$T/ev.csv"; echo "u01,1796306400,lots"; } >"$T/wbad.csv"
run_sluice run window "$T/wbad.csv" -o "$T/wbad" --key user --time ts \
	--window tumbling:5m --agg count --where "amount > 1"
expect_sluice_error "--where on a column that is not a number: a bad record" \
	"wbad.csv:30004: .*--where: column 'amount': 'lots' is not a number"

# The same events with ISO 8601 times in three forms, and in epoch ms.
sqlite3 -separator , "$T/ev.db" "SELECT user,
	CASE rowid % 3
	WHEN 0 THEN strftime('%Y-%m-%dT%H:%M:%SZ', ts, 'unixepoch')
	WHEN 1 THEN strftime('%Y-%m-%d %H:%M:%S', ts, 'unixepoch')
	ELSE strftime('%Y-%m-%dT%H:%M:%S+01:00', ts + 3600, 'unixepoch') END,
	coalesce((cents / 100) || '.' || printf('%02d', cents % 100), '')
	FROM ev;" | tr -d '\r' | { echo "user,ts,amount"; cat; } >"$T/iso.csv"
run_sluice run window "$T/iso.csv" -o "$T/iso" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --partitions 3
expect_rc "ISO 8601 times: exit status" 0
check_same_output "ISO 8601 times, in three forms: the rows of epoch seconds" \
	"$T/tum" "$T/iso"
awk -F, 'NR == 1 { print; next } { srand(NR); printf "%s,%d%03d,%s\n", $1, $2, int(rand() * 1000), $3 }' \
	"$T/ev.csv" >"$T/ms.csv"
run_sluice run window "$T/ms.csv" -o "$T/ms" --key user --time ts \
	--time-unit ms --window tumbling:5m --agg "$AGGS" --partitions 3
check_same_output "epoch ms: the rows of epoch seconds" "$T/tum" "$T/ms"
run_sluice run window "$T/ms.csv" -o "$T/ms10" --key user --time ts \
	--time-unit ms --window tumbling:10s --agg count --partitions 1
sqlite3 "$T/ms.db" <<EOF
.mode csv
.import $T/ms.csv raw
EOF
sqlite3 -separator , "$T/ms.db" "SELECT user,
	strftime('%Y-%m-%dT%H:%M:%SZ', CAST(ts AS INTEGER) / 10000 * 10, 'unixepoch'),
	strftime('%Y-%m-%dT%H:%M:%SZ', CAST(ts AS INTEGER) / 10000 * 10 + 10, 'unixepoch'),
	count(*) FROM raw GROUP BY 1, 2;" | tr -d '\r' | LC_ALL=C sort >"$T/want"
rows "$T/ms10" >"$T/got"
check_eq "epoch ms, 10 s windows: the rows" "$T/want" "$T/got"

# Bad times: the job fails naming the file, line and value; or, skipped,
# they are counted and the other rows are as without them.
{ cat "$T/ev.csv"; echo "u01,yesterday,1.00"; echo "u02,2026-02-30,1.00"
  echo "u03,253402300800,1.00"; } >"$T/bad.csv"
run_sluice run window "$T/bad.csv" -o "$T/bad" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --partitions 3
expect_rc "a bad time: exit status" 1
expect_sluice_error "a bad time: file, line and value" \
	"bad.csv:30004: .*column 'ts': 'yesterday' is not a time"
expect_no_success "a bad time: no output" "$T/bad"
run_sluice run window "$T/bad.csv" -o "$T/bad" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --partitions 3 --bad-records skip
expect_rc "bad times skipped: exit status" 0
expect_err "bad times skipped: counted" "skipped 3 bad records"
check_same_output "bad times skipped: the other rows" "$T/tum" "$T/bad"
{ echo "user,ts,amount"; echo "u01,253402300800,1.00"; } >"$T/far.csv"
run_sluice run window "$T/far.csv" -o "$T/far" --key user --time ts \
	--window tumbling:5m --agg count
expect_sluice_error "a time past the year 9999: why" \
	"'253402300800' is outside the years 0001 to 9999"

# Bad options: exit 2 before anything runs.
for w in hopping:5m tumbling:0s tumbling:5 tumbling: sliding:10m \
	sliding:10m,0s sliding:10m,10 session: session:0s session:5 ''; do
	usage_error "--window '$w'" "window" run window "$T/ev.csv" \
		-o "$T/o" --key user --time ts --window "$w" --agg count
done
usage_error "sliding: more than 1000 windows an event" "1000 windows" \
	run window "$T/ev.csv" -o "$T/o" --key user --time ts \
	--window sliding:1d,1s --agg count
usage_error "no --time" "--time" run window "$T/ev.csv" -o "$T/o" \
	--key user --window tumbling:5m --agg count
usage_error "a bad --time-unit" "time-unit" run window "$T/ev.csv" \
	-o "$T/o" --key user --time ts --time-unit us --window tumbling:5m \
	--agg count
usage_error "an output column twice" "duplicate output column" \
	run window "$T/ev.csv" -o "$T/o" --key window_start --time ts \
	--window tumbling:5m --agg count
run_sluice run window "$T/ev.csv" -o "$T/o" --key user --time nope \
	--window tumbling:5m --agg count
expect_sluice_error "an unknown --time column" "unknown column 'nope' in --time"

# --- JSON lines ---------------------------------------------------------------

# The same events as JSON objects (sqlite3 writes them from the CSV's
# text, so no number goes through a double): members in two orders, the
# time and the amount sometimes strings, an empty amount null or absent.
sqlite3 "$T/ev.db" "SELECT CASE rowid % 3
	WHEN 0 THEN '{\"user\":' || json_quote(user) || ',\"ts\":' || ts ||
		',\"amount\":' || CASE WHEN amount = '' THEN 'null' ELSE amount
		END || '}'
	WHEN 1 THEN '{' || CASE WHEN amount = '' THEN '' ELSE '\"amount\":\"' ||
		amount || '\", ' END || '\"ts\":\"' || ts || '\",\"user\":' ||
		json_quote(user) || ',\"x\":[{\"y\":1}]}'
	ELSE '{\"ts\":' || ts || ',\"user\":' || json_quote(user) ||
		CASE WHEN amount = '' THEN '' ELSE ',\"amount\":' || amount END ||
		'}' END FROM raw ORDER BY rowid;" >"$T/ev.jsonl"
check "JSON lines: a line an event" test "$(wc -l <"$T/ev.jsonl")" -eq 30002
run_sluice run window "$T/ev.jsonl" -o "$T/jtum" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --workers 2 --split-size 64K \
	--partitions 3
expect_rc "JSON lines, tumbling: exit status" 0
check_same_output "JSON lines, tumbling: the bytes of the CSV run" "$T/tum" \
	"$T/jtum"
# sqlite3's own reading of the lines (json_extract) as the reference
sqlite3 "$T/jev.db" "CREATE TABLE line(j TEXT);" ".mode ascii" \
	".separator \"\\037\" \"\\n\"" ".import $T/ev.jsonl line" \
	"CREATE TABLE ev AS SELECT json_extract(j, '\$.user') AS user,
		CAST(json_extract(j, '\$.ts') AS INTEGER) AS ts,
		CAST(round(json_extract(j, '\$.amount') * 100) AS INTEGER) AS cents
		FROM line;"
check "JSON lines: sqlite3 read every line" \
	test "$(sqlite3 "$T/jev.db" 'SELECT count(*) FROM ev WHERE ts > 0')" \
	-eq 30002
rows "$T/jtum" >"$T/got"
REF_DB=$T/jev.db
ref 300 300 >"$T/want"
unset REF_DB
check_eq "JSON lines, tumbling: the rows of sqlite3's json_extract" \
	"$T/want" "$T/got"
run_sluice run window "$T/ev.jsonl" -o "$T/jsl" --key user --time ts \
	--window sliding:10m,4m --agg "$AGGS" --workers 4 --split-size 16K \
	--partitions 2
check_same_output "JSON lines, sliding, 4 workers: the CSV run's" "$T/sl" \
	"$T/jsl"
run_sluice run window "$T/ev.jsonl" -o "$T/jses" --key user --time ts \
	--window session:30s --agg "$AGGS" --workers 1 --partitions 3
check_same_output "JSON lines, sessions, 1 worker: the CSV run's" "$T/ses" \
	"$T/jses"

# Bad lines: the job fails naming the file, line and why; skipped, they
# are counted and the other rows are as without them.
cat >"$T/jbad.list" <<'EOF'
{"user":"u01","ts":1796306400,"amount":1.00	not JSON: '}' expected near end of file
"u01,1796306400,1.00"	not a JSON object .a string.
{"user":"u01","ts":{"s":1796306400}}	member 'ts': an object is not a value
{"user":"u01","ts":1796306400,"user":"u02"}	not JSON: duplicate object key
{"user":"u01","ts":"yesterday"}	column 'ts': 'yesterday' is not a time
u01,1796306400,1.00	not JSON: invalid token
EOF
while IFS='	' read -r bad msg; do
	{ cat "$T/ev.jsonl"; printf '%s\n' "$bad"; } >"$T/jbad.jsonl"
	run_sluice run window "$T/jbad.jsonl" -o "$T/jbad" --key user \
		--time ts --window tumbling:5m --agg "$AGGS" --partitions 3
	expect_rc "JSON bad line '$bad': exit status" 1
	expect_sluice_error "JSON bad line '$bad': file, line and why" \
		"jbad.jsonl:30003: byte $(wc -c <"$T/ev.jsonl"): $msg"
done <"$T/jbad.list"
{ cat "$T/ev.jsonl"; cut -f 1 "$T/jbad.list"; } >"$T/jbad.jsonl"
run_sluice run window "$T/jbad.jsonl" -o "$T/jbad" --key user --time ts \
	--window tumbling:5m --agg "$AGGS" --partitions 3 --bad-records skip
expect_err "JSON bad lines skipped: counted" "skipped 6 bad records"
check_same_output "JSON bad lines skipped: the other rows" "$T/tum" \
	"$T/jbad"

# --- count windows ------------------------------------------------------------

# ref_count N : the rows of --window count:N: a user's events in time
# order, ties in the order of the file (sqlite3's rowid), cut into runs
# of N (ROW_NUMBER() / N); only full runs; start its first event, end 1 ms
# after its last.
ref_count() {
	sqlite3 -separator , "${REF_DB:-$T/ev.db}" "
	WITH o AS (SELECT user, ts, cents, (ROW_NUMBER() OVER (PARTITION BY
			user ORDER BY ts, rowid) - 1) / $1 AS w FROM ev),
	g AS (SELECT user, min(ts) AS ws, max(ts) AS we, count(*) AS c,
		sum(cents) AS s, min(cents) AS mn, max(cents) AS mx
		FROM o GROUP BY user, w)
	SELECT user, strftime('%Y-%m-%dT%H:%M:%SZ', ws, 'unixepoch'),
	       strftime('%Y-%m-%dT%H:%M:%S.001Z', we, 'unixepoch'), c,
	       coalesce((s / 100) || '.' || printf('%02d', s % 100), ''),
	       coalesce((mn / 100) || '.' || printf('%02d', mn % 100), ''),
	       coalesce((mx / 100) || '.' || printf('%02d', mx % 100), '')
	FROM g WHERE c = $1;" | tr -d '\r' | LC_ALL=C sort
}
check "count windows: the events have ties of time within a user" \
	test "$(sqlite3 "$T/ev.db" 'SELECT count(*) FROM (SELECT 1 FROM ev
		GROUP BY user, ts HAVING count(*) > 1)')" -gt 100
run_sluice run window "$T/ev.csv" -o "$T/cnt" --key user --time ts \
	--window count:7 --agg "$AGGS" --workers 2 --split-size 64K \
	--partitions 3
expect_rc "count:7: exit status" 0
check_layout "count:7: layout" "$T/cnt" 3
rows "$T/cnt" >"$T/got"
ref_count 7 >"$T/want"
check_eq "count:7: the rows of sqlite3's ROW_NUMBER()" "$T/want" "$T/got"
check "count:7: a row for each 7 events of a user" \
	test "$(wc -l <"$T/got")" -eq "$(sqlite3 "$T/ev.db" 'SELECT sum(c / 7)
		FROM (SELECT count(*) AS c FROM ev GROUP BY user)')"
expect_err "count:7: the events of incomplete windows are counted" \
	"counter incomplete_window_records = $(sqlite3 "$T/ev.db" 'SELECT
		sum(c % 7) FROM (SELECT count(*) AS c FROM ev GROUP BY user)')"
check "count:7: a user's windows are in one part file" \
	test "$(cat "$T/cnt"/part-* | grep -v '^user,' | cut -d , -f 1 |
		sort -u | wc -l)" -eq "$(for p in "$T/cnt"/part-*; do
		tail -n +2 "$p" | cut -d , -f 1 | sort -u; done | wc -l)"
run_sluice run window "$T/ev.csv" -o "$T/cnt1" --key user --time ts \
	--window count:7 --agg "$AGGS" --workers 1 --partitions 3
run_sluice run window "$T/ev.csv" -o "$T/cnt4" --key user --time ts \
	--window count:7 --agg "$AGGS" --workers 4 --split-size 16K \
	--partitions 3
check_same_output "count:7: 1 worker, one split" "$T/cnt" "$T/cnt1"
check_same_output "count:7: 4 workers, 16K splits" "$T/cnt" "$T/cnt4"
run_sluice run window "$T/ev.jsonl" -o "$T/jcnt" --key user --time ts \
	--window count:7 --agg "$AGGS" --workers 2 --split-size 64K \
	--partitions 3
check_same_output "count:7 over JSON lines: the CSV run's" "$T/cnt" \
	"$T/jcnt"
# Ties across files go in the order of the files' names: the events cut
# into three files in order give the windows of the one file.
mkdir -p "$T/evdir"
awk -v d="$T/evdir" 'NR == 1 { h = $0; next }
	{ f = sprintf("%s/ev-%d.csv", d, int((NR - 2) / 10001))
	  if (!(f in seen)) { print h >f; seen[f] = 1 } print >f }' "$T/ev.csv"
check "count:7: three files" test "$(ls "$T/evdir" | wc -l)" -eq 3
run_sluice run window "$T/evdir" -o "$T/cntdir" --key user --time ts \
	--window count:7 --agg "$AGGS" --workers 2 --partitions 3
check_same_output "count:7 over the events in three files: the same" \
	"$T/cnt" "$T/cntdir"
run_sluice run window "$T/ev.csv" -o "$T/cntkk" --key user,amount \
	--time ts --window count:2 --agg count --partitions 1
rows "$T/cntkk" >"$T/got"
sqlite3 -separator , "$T/ev.db" "
	WITH o AS (SELECT user, raw_amount AS a, ts, (ROW_NUMBER() OVER
		(PARTITION BY user, raw_amount ORDER BY ts, rowid) - 1) / 2 AS w
		FROM (SELECT ev.*, raw.amount AS raw_amount FROM ev JOIN raw ON
		raw.rowid = ev.rowid))
	SELECT user, a, strftime('%Y-%m-%dT%H:%M:%SZ', min(ts), 'unixepoch'),
	       strftime('%Y-%m-%dT%H:%M:%S.001Z', max(ts), 'unixepoch'), 2
	FROM o GROUP BY user, a, w HAVING count(*) = 2;" | LC_ALL=C sort \
	>"$T/want"
check_eq "count:2 by two key columns (one often empty): the rows" \
	"$T/want" "$T/got"
for w in count:0 count:x count:5,2 count: count:-1 count:1000000001 \
	count:1.5 'count:2 '; do
	usage_error "--window '$w'" "count:N" run window "$T/ev.csv" \
		-o "$T/o" --key user --time ts --window "$w" --agg count
done

# --- as a stream --------------------------------------------------------------

# JSON-lines files of events half an hour apart, one of late events, then
# three far-future events of another user that move the watermark past
# everything before them: a batch a file. The rows of all batches are
# those of `sluice run window` over the files but the late one and the
# last two, whose windows are still open (Kappa).
mkdir -p "$T/jstage"
i=1
while [ $i -le 4 ]; do
	awk -v s=$i 'BEGIN { srand(s)
		for (j = 0; j < 300; j++) {
			t = 1796306400 + (s - 1) * 1800 + int(rand() * 1800)
			printf "{\"user\":\"u%d\",\"ts\":%d,\"amount\":%d.%02d}\n",
			    int(rand() * 6), t, int(rand() * 100),
			    int(rand() * 100)
		} }' >"$T/jstage/$i-d.jsonl"
	i=$((i + 1))
done
awk 'BEGIN { for (j = 0; j < 20; j++)
	printf "{\"user\":\"u1\",\"ts\":%d,\"amount\":1}\n", 1796300000 + j }' \
	>"$T/jstage/5-late.jsonl"
for f in 6 7 8; do
	printf '{"user":"zz","ts":%d}\n' $((1796300000 + f * 100000)) \
		>"$T/jstage/$f-f.jsonl"
done
# stream_vs_batch NAME WINDOW : feeds the files to an append-mode stream
# with --watermark 0 and compares its rows with the batch run's.
stream_vs_batch() {
	rm -rf "$T/js" "$T/js.ck" "$T/jsrc" "$T/js.ref"
	feed_each "$1" "$T/jstage" "$T/jsrc" window --key user --time ts \
		--window "$2" --agg "$AGGS" --sink "file:$T/js" \
		--checkpoint "$T/js.ck" --partitions 2 --workers 2 \
		--output-mode append --watermark 0
	cat "$T/js"/batch-*/part-* | grep -v '^user,' | LC_ALL=C sort \
		>"$T/js.got"
	"$SLUICE" run window "$T/jsrc"/*-d.jsonl "$T/jsrc"/6-f.jsonl \
		-o "$T/js.ref" --key user --time ts --window "$2" --agg "$AGGS" \
		--partitions 2 2>/dev/null
	rows "$T/js.ref" >"$T/js.want"
	check_eq "$1: every row once, as the batch run gives it" \
		"$T/js.want" "$T/js.got"
	check "$1: some rows" test "$(wc -l <"$T/js.got")" -gt 20
	check "$1: the late events are counted" \
		grep -q '"batch":5,.*"late_records":20' "$T/js.ck/progress.jsonl"
}
stream_vs_batch "stream over JSON lines, tumbling" tumbling:10m
stream_vs_batch "stream over JSON lines, count:9" count:9
check "stream, count:9: the incomplete windows wait in the state" \
	test "$(cat "$T/js.ck"/state/*/part-* | wc -c)" -gt 0
# Complete mode: each batch's rows are the batch run's over the files so
# far (the state keeps every event of a window not full yet).
rm -rf "$T/jsrc2"
mkdir -p "$T/jsrc2"
for f in 1-d 2-d 3-d; do
	cp "$T/jstage/$f.jsonl" "$T/jsrc2/"
	run_sluice stream window --key user --time ts --window count:9 \
		--agg "$AGGS" --source "file:$T/jsrc2" --sink "file:$T/jc" \
		--checkpoint "$T/jc.ck" --partitions 2 --workers 2 --trigger once
	expect_rc "stream, count:9, complete, the batch of $f: exit status" 0
done
"$SLUICE" run window "$T/jsrc2" -o "$T/jc.ref" --key user --time ts \
	--window count:9 --agg "$AGGS" --partitions 2 2>/dev/null
check_same_output "stream, count:9, complete: the last batch is the batch run" \
	"$T/jc.ref" "$T/jc/batch-0000000003"

finish
