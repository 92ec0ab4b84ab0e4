#!/bin/sh
# test_stream_tcp.sh - `sluice stream` over the tcp:// source: producers
# (tests/helpers/sl-tcp-send) send lines to the stream's loopback port and
# read its acks ("ok N": lines durable in the write-ahead log). A word
# count over several producers at once equals the reference (awk, sort,
# uniq); kill -9 of the stream at random points while producers send,
# restarts on the same checkpoint (and port file): every acknowledged
# line is counted exactly once, a line sent and not acknowledged at most
# once (the producers do not send it again), nothing else is counted.
# Then the bad cases: bad URIs, a port or checkpoint in use, an over-long
# line, a connection closed mid-line, bytes that are not text,
# backpressure.
. "$(dirname "$0")/lib.sh"

if [ -n "${SLUICE_BUILDDIR:-}" ]; then
	SEND=$SLUICE_BUILDDIR/tests/helpers/sl-tcp-send
else
	SEND=$(dirname "${SLUICE_PEER:-$SLUICE}")/sl-tcp-send
	[ -x "$SEND" ] || SEND=$(dirname "$SLUICE")/tests/helpers/sl-tcp-send
fi
[ -x "$SEND" ] || hard_error "no sl-tcp-send at '$SEND' (make check builds it)"

# wait_until SECONDS CMD... : CMD succeeds within SECONDS (tried every 0.1 s)
wait_until() {
	_wu_n=$(($1 * 10))
	shift
	while ! "$@" 2>/dev/null; do
		_wu_n=$((_wu_n - 1))
		[ "$_wu_n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# listening CK : the stream of CK takes connections (an empty producer is
# acknowledged "ok 0").
listening() {
	[ -f "$1/source/port" ] && "$SEND" "@$1/source/port" </dev/null \
		>/dev/null
}

# start_stream NAME SOURCE CK OUT [ARGS...] : a word count stream in the
# background ($pid), stderr appended to $T/NAME.err, with the environment
# $SS_ENV; waits until it listens.
start_stream() {
	_ss_name=$1
	_ss_src=$2
	_ss_ck=$3
	_ss_out=$4
	shift 4
	# shellcheck disable=SC2086
	env ${SS_ENV:-} "$SLUICE" stream wordcount --source "$_ss_src" --sink "file:$_ss_out" \
		--checkpoint "$_ss_ck" --partitions 2 --workers 2 -v "$@" \
		2>>"$T/$_ss_name.err" &
	pid=$!
	wait_until 60 listening "$_ss_ck" ||
		fail "$_ss_name: the stream listens" "no port in 60 s"
}

# stop_stream NAME : SIGTERM to $pid; it exits 0 after the batch in flight.
stop_stream() {
	kill -TERM "$pid"
	_st_rc=0
	wait "$pid" || _st_rc=$?
	check "$1: the stream stops on SIGTERM (exit 0)" test "$_st_rc" -eq 0
}

# drain NAME CK OUT [SOURCE] : one more run, available-now: what the WAL
# holds goes into a last batch.
drain() {
	run_sluice stream wordcount --source "${4:-tcp://127.0.0.1:0}" \
		--sink "file:$3" --checkpoint "$2" --partitions 2 --workers 2 \
		--trigger available-now
	expect_rc "$1: the WAL drains (available-now)" 0
}

# last_batch OUT : the result of the last committed batch, sorted.
last_batch() {
	cat_parts "$1/$(tail -n 1 "$1/_manifest")" | sort
}

# lines P N : the lines "pP-000000 all" .. "pP-(N-1) all"
lines() {
	awk -v p="$1" -v n="$2" \
		'BEGIN { for (i = 0; i < n; i++) printf "p%d-%06d all\n", p, i }'
}

# check_once NAME COUNTS CONN... : the word counts COUNTS ("word<TAB>n")
# of lines made by `lines`, against what the producers' CONN files
# ("conn START ACKED SENT" lines, producer P's file named *.P) say: each
# acknowledged line counted once, each sent and not acknowledged at most
# once, no other line, and "all" once a line counted.
check_once() {
	_co_name=$1
	_co_counts=$2
	shift 2
	if awk -F "$TAB" '
		FNR == 1 && FILENAME != counts { n = split(FILENAME, f, ".")
			p = f[n] }
		FILENAME != counts {
			if ($1 != "conn")
				next
			for (i = $2; i < $2 + $3; i++)
				st[sprintf("p%d-%06d", p, i)] = "acked"
			for (; i < $2 + $4; i++)
				st[sprintf("p%d-%06d", p, i)] = "maybe"
			next }
		$1 == "all" { all = $2; next }
		{ seen++
		  if (!($1 in st)) { print "never sent: " $1; bad++ }
		  else if ($2 != 1) { print $1 " counted " $2 " times"; bad++ }
		  got[$1] = 1 }
		END {
			for (k in st) if (st[k] == "acked") {
				acked++
				if (!(k in got)) { print "acked, not counted: " k; bad++ }
			}
			if (all != seen) { print "all " all ", lines " seen; bad++ }
			printf "%d acked, %d counted\n", acked, seen > "/dev/stderr"
			exit bad > 0 }' counts="$_co_counts" \
		FS=" " "$@" FS="$TAB" "$_co_counts" >"$T/once.why" 2>"$T/once.n"
	then
		pass "$_co_name ($(cat "$T/once.n"))"
	else
		fail "$_co_name" "$(head -n 3 "$T/once.why" | tr '\n' ';')"
	fi
}

# --- word count, several producers at once -------------------------------------

start_stream wc tcp://127.0.0.1:0 "$T/wc.ck" "$T/wc" --trigger 100ms
check "the port is in CK/source/port" grep -q -E '^[0-9]+$' \
	"$T/wc.ck/source/port"
check "the port is logged" grep -q -E \
	"listening on 127\.0\.0\.1:$(cat "$T/wc.ck/source/port") " "$T/wc.err"
for p in 1 2 3 4; do
	gen_text "$p" 3000 >"$T/wc.in.$p"
	"$SEND" --pace 200,10 "@$T/wc.ck/source/port" <"$T/wc.in.$p" \
		>"$T/wc.conn.$p" &
	eval "send$p=\$!"
done
bad=
for p in 1 2 3 4; do
	eval "wait \$send$p" || bad="$bad $p"
done
check "four producers at once: each line acknowledged" test -z "$bad"
check "a producer's ack counts its lines (3000, of gen_text's)" \
	grep -q "^conn 0 $(grep -c '' "$T/wc.in.1") $(grep -c '' "$T/wc.in.1")\$" \
	"$T/wc.conn.1"
stop_stream wc
drain wc "$T/wc.ck" "$T/wc"
wc_ref "$T"/wc.in.1 "$T"/wc.in.2 "$T"/wc.in.3 "$T"/wc.in.4 >"$T/wc.want"
last_batch "$T/wc" >"$T/wc.got"
check_eq "word count over four producers equals the reference" \
	"$T/wc.want" "$T/wc.got"
check "the batches took every line once (offsets' line counts)" test \
	"$(cat "$T"/wc.ck/offsets/* | awk '$1 == "tcp" { n += $3 } END { print n }')" \
	-eq "$(cat "$T"/wc.in.* | grep -c '')"
check "more than one batch ran" test "$(ls "$T/wc.ck/commits" | wc -l)" -ge 2
check "committed segments leave the WAL" test -z "$(ls -A "$T/wc.ck/source/wal")"
check "progress.jsonl has the lines' arrival-to-commit latency" \
	grep -q '"latency_max_ms":[0-9]*,"latency_min_ms":[0-9]' \
	"$T/wc.ck/progress.jsonl"

# --- kill -9 while producers send, restarts on the same checkpoint -------------

for p in 1 2 3; do
	lines "$p" 6000 >"$T/k.in.$p"
done
# reduce-sleep: a batch lasts long enough for kills to cut some
SS_ENV=SLUICE_FAULT=reduce-sleep=300
start_stream k tcp://127.0.0.1:0 "$T/k.ck" "$T/k" --trigger 100ms
k_port=$(cat "$T/k.ck/source/port")
for p in 1 2 3; do
	"$SEND" --reconnect 120 --pace 20,25 "@$T/k.ck/source/port" \
		<"$T/k.in.$p" >"$T/k.conn.$p" &
	eval "send$p=\$!"
done
i=0
cut=0
while [ $i -lt 6 ]; do
	sleep "$(awk -v s=$i 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 1.2 }')"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ "$(ls "$T/k.ck/offsets" | wc -l)" -gt "$(ls "$T/k.ck/commits" | wc -l)" ] &&
		cut=$((cut + 1))
	i=$((i + 1))
	start_stream k tcp://127.0.0.1:0 "$T/k.ck" "$T/k" --trigger 100ms
done
SS_ENV=
bad=
for p in 1 2 3; do
	eval "wait \$send$p" || bad="$bad $p"
done
check "after 6 kill -9: the producers got every line acknowledged at last" \
	test -z "$bad"
check "the kills cut connections (producers reconnected)" \
	test "$(cat "$T"/k.conn.* | wc -l)" -gt 3
stop_stream k
drain k "$T/k.ck" "$T/k"
check "kills cut batches between their offsets and commits ($cut of 6)" \
	test "$cut" -ge 1
last_batch "$T/k" >"$T/k.got"
check_once "after 6 kill -9: each acked line counted once, unacked at most once" \
	"$T/k.got" "$T"/k.conn.1 "$T"/k.conn.2 "$T"/k.conn.3
check "after the kills, no segment is left" test -z "$(ls -A "$T/k.ck/source/wal")"
check "every restart listened on the first run's port again (port 0)" test \
	"$(grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$T/k.err" | sort -u)" = \
	"listening on 127.0.0.1:$k_port"
check "the kills left no process behind" \
	test -z "$(pgrep -f "checkpoint $T/k.ck" || true)"

# --- bad URIs: exit 2 before anything starts -----------------------------------

for uri in "tcp:127.0.0.1:9000" "tcp://127.0.0.1" "tcp://127.0.0.1:" \
	"tcp://:9000" "tcp://127.0.0.1:x" "tcp://127.0.0.1:-1" \
	"tcp://[::1]9000"; do
	usage_error "bad URI '$uri'" "is not tcp://HOST:PORT|the port is 0" \
		stream wordcount --source "$uri" --sink "file:$T/o" \
		--checkpoint "$T/bad.ck"
done
usage_error "port out of range" "the port is 0 \(any free port\) to 65535" \
	stream wordcount --source tcp://127.0.0.1:65536 --sink "file:$T/o" \
	--checkpoint "$T/bad.ck"
for host in 10.0.0.1 0.0.0.0 192.168.1.1 example.com "[::]" "[::ffff:127.0.0.1]"; do
	usage_error "non-loopback host $host" \
		"is not a loopback address .*authentication" stream wordcount \
		--source "tcp://$host:9000" --sink "file:$T/o" \
		--checkpoint "$T/bad.ck"
done
usage_error "a bad option" "the one option is max-pending=SIZE" stream \
	wordcount --source "tcp://127.0.0.1:0?max-pending=lots" \
	--sink "file:$T/o" --checkpoint "$T/bad.ck"
check "a bad URI starts nothing (no meta, no WAL)" \
	test ! -e "$T/bad.ck/meta" -a ! -e "$T/bad.ck/source"
check "the bad URIs left no process behind" \
	test -z "$(pgrep -f "checkpoint $T/bad.ck" || true)"

# --- a port, a checkpoint in use ----------------------------------------------

start_stream use tcp://localhost:0 "$T/use.ck" "$T/use" --trigger 100ms
port=$(cat "$T/use.ck/source/port")
usage_error "a port in use" "cannot listen: Address already in use" stream \
	wordcount --source "tcp://127.0.0.1:$port" --sink "file:$T/o" \
	--checkpoint "$T/use2.ck"
usage_error "a checkpoint in use" "in use by another stream" stream \
	wordcount --source tcp://localhost:0 --sink "file:$T/o" \
	--checkpoint "$T/use.ck"

# --- an over-long line, a line cut by the close, any bytes ---------------------

# Into the stream that holds the port and checkpoint above: it goes on.
{ echo "good1 good2"; awk 'BEGIN { while (i++ < 1048576) printf "L"; print "" }'
} >"$T/long.ok"
"$SEND" "@$T/use.ck/source/port" <"$T/long.ok" >"$T/long.ok.conn"
check "a line of 1048576 bytes is taken" test $? -eq 0
{ echo "good3"; awk 'BEGIN { while (i++ < 1048577) printf "X"; print "" }'
  echo "after1"; } >"$T/long.bad"
rc=0
"$SEND" "@$T/use.ck/source/port" <"$T/long.bad" >"$T/long.bad.conn" || rc=$?
check "a longer line: the producer is refused" test "$rc" -eq 1
check "a longer line: the lines before it are acknowledged, it is not" \
	grep -q '^conn 0 1 ' "$T/long.bad.conn"
check "a longer line: the stream says why" \
	grep -q '^stream: error line longer than 1048576 bytes$' "$T/long.bad.conn"
check "a longer line: logged" grep -q "sent a line longer than 1048576" \
	"$T/use.err"
printf 'mid1 mid2\nmid3\ncut-off-word' >"$T/mid.in"
"$SEND" "@$T/use.ck/source/port" <"$T/mid.in" >"$T/mid.conn"
check "a close mid-line: the whole lines are acknowledged" \
	grep -q '^conn 0 2 2$' "$T/mid.conn"
check "a close mid-line: the cut line is dropped with a warning" grep -q \
	"closed in the middle of a line: 12 byte(s) dropped" "$T/use.err"
printf 'nul\000in\000word \377\376bad-utf8 caf\303\251\r\n\001\002 ctl\n\n  \t \n' \
	>"$T/bytes.in"
"$SEND" "@$T/use.ck/source/port" <"$T/bytes.in" >"$T/bytes.conn"
check "NUL, invalid UTF-8, control bytes, empty lines: all acknowledged" \
	grep -q '^conn 0 4 4$' "$T/bytes.conn"
stop_stream use
drain use "$T/use.ck" "$T/use" tcp://localhost:0
printf 'good3\nmid1 mid2\nmid3\n' >"$T/use.lines"
cat "$T/long.ok" "$T/use.lines" "$T/bytes.in" >"$T/use.all"
wc_ref_perl "$T/use.all" >"$T/use.want"
last_batch "$T/use" >"$T/use.got"
check_eq "only acknowledged lines are counted, their bytes as they are" \
	"$T/use.want" "$T/use.got"

# --- backpressure: a bounded WAL stops reading; nothing acked is lost ----------

lines 9 40000 >"$T/bp.in" # 600 KB
start_stream bp "tcp://127.0.0.1:0?max-pending=64K" "$T/bp.ck" "$T/bp" \
	--trigger 1h
"$SEND" "@$T/bp.ck/source/port" <"$T/bp.in" >"$T/bp.conn.9" &
send9=$!
# wal_bytes : bytes of the WAL's segments that no batch's offsets name
wal_bytes() {
	_wb_taken=$(cat "$T"/bp.ck/offsets/* 2>/dev/null |
		awk '$1 == "tcp" { printf "%d ", $2 }')
	for _wb_f in "$T"/bp.ck/source/wal/*; do
		[ -f "$_wb_f" ] &&
			echo "${_wb_f##*/} $(wc -c <"$_wb_f" 2>/dev/null || echo 0)"
	done | awk -v taken="$_wb_taken" '
		BEGIN { n = split(taken, v, " "); for (i = 1; i <= n; i++) t[v[i]] = 1 }
		{ split($1, a, "-"); if (!((a[1] + 0) in t)) b += $2 }
		END { print b + 0 }'
}
wal_full() {
	[ "$(wal_bytes)" -ge 65536 ]
}
check "backpressure: the WAL fills to its bound" wait_until 60 wal_full
sleep 1 # a bound holds over time: it is looked at again a second later
check "backpressure: the WAL stays within the bound and a round's reads ($(wal_bytes) bytes)" \
	test "$(wal_bytes)" -le $((65536 + 65536))
check "backpressure: the producer waits" kill -0 $send9
stop_stream bp
wait $send9
check "backpressure: the producer saw the stream go, lines unacknowledged" \
	test $? -eq 1
drain bp "$T/bp.ck" "$T/bp" "tcp://127.0.0.1:0?max-pending=64K"
last_batch "$T/bp" >"$T/bp.got"
check_once "backpressure: each acked line counted once" "$T/bp.got" \
	"$T/bp.conn.9"

# --- a torn last line in the segment being written ----------------------------

# What a kill mid-write leaves: a segment not sealed, ending mid-line. The
# next start seals it without the torn line (never acknowledged).
lines 7 100 >"$T/torn.in"
start_stream torn tcp://127.0.0.1:0 "$T/torn.ck" "$T/torn" --trigger 1h
"$SEND" "@$T/torn.ck/source/port" <"$T/torn.in" >"$T/torn.conn.7"
check "torn: 100 lines acknowledged" grep -q '^conn 0 100 100$' "$T/torn.conn.7"
stop_stream torn
open_seg=$(ls "$T"/torn.ck/source/wal/*.open 2>/dev/null)
check "a stop leaves the segment being written unsealed" test -f "$open_seg"
printf 'p7-torn-line' >>"$open_seg"
drain torn "$T/torn.ck" "$T/torn"
expect_err "torn: the torn line is cut, with a warning" \
	"cut a torn last line of 12 byte\(s\), never acknowledged"
last_batch "$T/torn" >"$T/torn.got"
check_once "torn: the acknowledged lines counted once, the torn one not" \
	"$T/torn.got" "$T/torn.conn.7"

finish
