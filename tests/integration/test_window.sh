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
	sqlite3 -separator , "$T/ev.db" "
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

finish
