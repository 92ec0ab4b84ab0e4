/*
 * test_proto.c - unit tests of the msgpack codec of the wire protocol
 * (common/proto.c).
 *
 * Expected encodings are written as text in a JSON-like notation and
 * turned into msgpack by mp() below, which uses msgpack-c's packer
 * directly and knows nothing of proto.c's tables; so the field order and
 * types of every message are checked against an independent statement of
 * the wire format (docs/protocol.md). Malformed inputs are written the
 * same way, or as raw bytes where the text cannot say it.
 */
#include "sl_impl.h"

#include <msgpack.h>
#include <stdlib.h>

#include "common/proto.h"
#include "tests/unit/unit.h"

/* ---- text to msgpack ---- */

static int
mp_write(void *data, const char *buf, size_t len)
{
	return sl_buf_add(data, buf, len) == SL_OK ? 0 : -1;
}

static const char *mp_value(const char *s, msgpack_packer *pk);

static const char *
mp_skip(const char *s)
{
	while (s && (*s == ' ' || *s == ',' || *s == ':'))
		s++;
	return s;
}

/* Packs the values up to `close` as an array (or map, by pairs). */
static const char *
mp_container(const char *s, msgpack_packer *pk, char close)
{
	sl_buf items = SL_BUF_INIT;
	msgpack_packer ipk;
	size_t n = 0;

	msgpack_packer_init(&ipk, &items, mp_write);
	for (s = mp_skip(s); s && *s != close; s = mp_skip(s)) {
		s = mp_value(s, &ipk);
		n++;
	}
	if (s) {
		if (close == ']')
			msgpack_pack_array(pk, n);
		else
			msgpack_pack_map(pk, n / 2);
		mp_write(pk->data, items.buf, items.len);
		s++;
	}
	sl_buf_release(&items);
	return s;
}

/* A string with the escapes \\, \" and \xHH. */
static const char *
mp_str(const char *s, msgpack_packer *pk)
{
	sl_buf str = SL_BUF_INIT;

	for (; *s && *s != '"'; s++) {
		if (*s == '\\' && s[1] == 'x') {
			sl_buf_addch(&str, (int)strtol((char[]){ s[2], s[3], 0 },
						       NULL, 16));
			s += 3;
		} else {
			if (*s == '\\')
				s++;
			sl_buf_addch(&str, *s);
		}
	}
	msgpack_pack_str_with_body(pk, str.buf, str.len);
	sl_buf_release(&str);
	return *s ? s + 1 : NULL;
}

static const char *
mp_value(const char *s, msgpack_packer *pk)
{
	char *end;

	if (s == NULL)
		return NULL;
	if (*s == '[' || *s == '{')
		return mp_container(s + 1, pk, *s == '[' ? ']' : '}');
	if (*s == '"')
		return mp_str(s + 1, pk);
	if (strncmp(s, "nil", 3) == 0)
		return msgpack_pack_nil(pk), s + 3;
	if (strncmp(s, "true", 4) == 0)
		return msgpack_pack_true(pk), s + 4;
	if (*s == '-') {
		long long v = strtoll(s, &end, 10);

		if (*end != '.')
			return msgpack_pack_int64(pk, v), end;
	} else {
		unsigned long long u = strtoull(s, &end, 10);

		if (end == s)
			return NULL;
		if (*end != '.')
			return msgpack_pack_uint64(pk, u), end;
	}
	msgpack_pack_double(pk, strtod(s, &end));
	return end;
}

/* The msgpack of text, appended to a new buffer. */
static sl_buf
mp(const char *text)
{
	sl_buf b = SL_BUF_INIT;
	msgpack_packer pk;
	const char *rest;

	msgpack_packer_init(&pk, &b, mp_write);
	rest = mp_value(text, &pk);
	if (rest == NULL || *rest) {
		fprintf(stderr, "bad test text: %s\n", text);
		CU_FAIL_FATAL("bad test text");
	}
	return b;
}

/* ---- helpers ---- */

static int
is_zeroed(const sl_msg *m)
{
	static const sl_msg zero;

	return memcmp(m, &zero, sizeof(zero)) == 0;
}

/* Decoding [data, len) fails with SL_EPROTO (SL_EVERSION for another
 * version), reason want, m zeroed. */
static void
expect_bad_bytes(const void *data, size_t len, const char *want)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m;

	memset(&m, 0xa5, sizeof(m));
	ASSERT_EQ_INT(sl_msg_decode(data, len, &m, &err),
		      strncmp(want, "unsupported protocol version", 28) == 0
			      ? SL_EVERSION
			      : SL_EPROTO);
	ASSERT_EQ_STR(err.buf, want);
	CU_ASSERT(is_zeroed(&m));
	sl_buf_release(&err);
}

static void
expect_bad(const char *text, const char *want)
{
	sl_buf b = mp(text);

	expect_bad_bytes(b.buf, b.len, want);
	sl_buf_release(&b);
}

/*
 * Encodes m and checks the bytes equal the msgpack of text; decodes them
 * into d (caller releases); checks that every proper prefix of them and
 * the bytes with one trailing byte fail to decode.
 */
static void
round_trip(const sl_msg *m, const char *text, sl_msg *d)
{
	sl_buf want = mp(text), got = SL_BUF_INIT, err = SL_BUF_INIT;
	sl_msg t;
	size_t n;

	ASSERT_EQ_INT(sl_msg_encode(m, &got), SL_OK);
	ASSERT_EQ_MEM(got.buf, got.len, want.buf, want.len);
	ASSERT_EQ_INT(sl_msg_decode(got.buf, got.len, d, &err), SL_OK);
	ASSERT_EQ_STR(err.buf, "");
	ASSERT_EQ_INT(d->type, m->type);

	for (n = 0; n < got.len; n++) {
		sl_buf_reset(&err);
		ASSERT_EQ_INT(sl_msg_decode(got.buf, n, &t, &err), SL_EPROTO);
		CU_ASSERT(is_zeroed(&t));
		CU_ASSERT(strstr(err.buf, n ? "truncated message"
					    : "empty message") != NULL);
	}
	sl_buf_reset(&err);
	sl_buf_addch(&got, 0);
	ASSERT_EQ_INT(sl_msg_decode(got.buf, got.len, &t, &err), SL_EPROTO);
	ASSERT_EQ_STR(err.buf, "1 trailing bytes after the message");
	CU_ASSERT(is_zeroed(&t));

	sl_buf_release(&want);
	sl_buf_release(&got);
	sl_buf_release(&err);
}

static void
assert_id(const sl_attempt_id *id, uint64_t job, int kind, uint32_t task,
	  uint32_t attempt)
{
	CU_ASSERT(id->job == job);
	ASSERT_EQ_INT(id->kind, kind);
	CU_ASSERT(id->task == task);
	CU_ASSERT(id->attempt == attempt);
}

/* A spec used by TASK and SUBMIT, and its wire text. */
static sl_kvpair spec_options[] = {
	{ "lower", "" },
	{ "sep", "\t\x01\x7f\xff" },
};
#define STREAM_TEXT "[\"file:/in\", \"sqlite:/db?table=t\", \"/ck\", " \
	"2, 250, 2, -1, 10, 1, 3, \"file:/late\", 1]"
#define NO_STREAM "[\"\", \"\", \"\", 0, 0, 0, 0, 0, 0, 0, \"\", 0]"

#define SPEC_TEXT "[\"wordcount\", [[\"lower\", \"\"], " \
	"[\"sep\", \"\\x09\\x01\\x7f\\xff\"]], 4294967295, 1, 4, " \
	"18446744073709551615, 1, 18446744073709551615, \"/scratch/tmp\", " \
	"\"/ck/state/1\", \"/ck/state/2\", -5, 1, 77, \"/ck/late/batch-2\"]"

static sl_job_spec
full_spec(void)
{
	return (sl_job_spec){ .job = "wordcount", .options = spec_options,
			      .noptions = 2, .partitions = UINT32_MAX,
			      .bad_records = 1, .max_attempts = 4,
			      .max_record = UINT64_MAX,
			      .shuffle = SL_SHUFFLE_MPI,
			      .memory = UINT64_MAX, .tmpdir = "/scratch/tmp",
			      .state_in = "/ck/state/1",
			      .state_out = "/ck/state/2",
			      .watermark_ms = -5, .update = 1,
			      .batch_ms = 77, .late_dir = "/ck/late/batch-2" };
}

static void
assert_full_spec(const sl_job_spec *s)
{
	ASSERT_EQ_STR(s->job, "wordcount");
	ASSERT_EQ_INT(s->noptions, 2);
	ASSERT_EQ_STR(s->options[0].key, "lower");
	ASSERT_EQ_STR(s->options[0].value, "");
	ASSERT_EQ_STR(s->options[1].key, "sep");
	ASSERT_EQ_STR(s->options[1].value, "\t\x01\x7f\xff");
	CU_ASSERT(s->partitions == UINT32_MAX);
	ASSERT_EQ_INT(s->bad_records, 1);
	ASSERT_EQ_INT(s->max_attempts, 4);
	CU_ASSERT(s->max_record == UINT64_MAX);
	ASSERT_EQ_INT(s->shuffle, SL_SHUFFLE_MPI);
	CU_ASSERT(s->memory == UINT64_MAX);
	ASSERT_EQ_STR(s->tmpdir, "/scratch/tmp");
	ASSERT_EQ_STR(s->state_in, "/ck/state/1");
	ASSERT_EQ_STR(s->state_out, "/ck/state/2");
	CU_ASSERT(s->watermark_ms == -5);
	ASSERT_EQ_INT(s->update, 1);
	CU_ASSERT(s->batch_ms == 77);
	ASSERT_EQ_STR(s->late_dir, "/ck/late/batch-2");
}

/* ---- round trips ---- */

static void
test_hello_round_trips(void)
{
	sl_msg m = { .type = SL_MSG_HELLO, .u.hello = {
		.name = "host-01:4242", .pid = UINT32_MAX, .slots = 1,
		.shuffle_endpoint = "tcp://10.0.0.1:5555" } };
	sl_msg d;

	round_trip(&m, "[6, 1, \"host-01:4242\", 4294967295, 1, "
		   "\"tcp://10.0.0.1:5555\"]", &d);
	ASSERT_EQ_STR(d.u.hello.name, "host-01:4242");
	CU_ASSERT(d.u.hello.pid == UINT32_MAX);
	ASSERT_EQ_INT(d.u.hello.slots, 1);
	ASSERT_EQ_STR(d.u.hello.shuffle_endpoint, "tcp://10.0.0.1:5555");
	sl_msg_release(&d);
	CU_ASSERT(is_zeroed(&d));
}

static void
test_worker_lost_round_trips(void)
{
	sl_msg m = { .type = SL_MSG_WORKER_LOST, .u.worker_lost = {
		.worker = 7, .pid = 4242, .name = "host-01:4242",
		.endpoint = "ipc:///tmp/x/shuffle-1", .why = "no heartbeat" } };
	sl_msg d;

	round_trip(&m, "[6, 23, 7, 4242, \"host-01:4242\", "
		   "\"ipc:///tmp/x/shuffle-1\", \"no heartbeat\"]", &d);
	ASSERT_EQ_INT(d.u.worker_lost.worker, 7);
	ASSERT_EQ_INT(d.u.worker_lost.pid, 4242);
	ASSERT_EQ_STR(d.u.worker_lost.name, "host-01:4242");
	ASSERT_EQ_STR(d.u.worker_lost.endpoint, "ipc:///tmp/x/shuffle-1");
	ASSERT_EQ_STR(d.u.worker_lost.why, "no heartbeat");
	sl_msg_release(&d);
	CU_ASSERT(is_zeroed(&d));
	/* worker ids start at 1 */
	expect_bad("[6, 23, 0, 1, \"n\", \"e\", \"w\"]",
		   "WORKER_LOST: field 'worker': 0 is out of range "
		   "[1, 4294967295]");
}

static void
test_client_requests_and_answers_round_trip(void)
{
	sl_job_info jobs[2] = {
		{ .id = 1, .job = "wordcount", .state = SL_JOB_RUNNING,
		  .submitted_ms = 1700000000000ull, .started_ms = 2,
		  .maps = 10, .maps_done = 4, .reduces = 2,
		  .bytes_in = UINT64_MAX, .output_dir = "/o", .error = "",
		  .stream = 1, .batches = 3, .progress = "{}" },
		{ .id = 2, .job = "./x.so", .state = SL_JOB_FAILED,
		  .error = "map task 0 failed" },
	};
	sl_worker_info workers[1] = {
		{ .id = 3, .name = "h:1", .endpoint = "tcp://h:2", .slots = 4,
		  .busy = 1, .silent_ms = 250 },
	};
	sl_msg list = { .type = SL_MSG_JOB_LIST,
			.u.job_list = { jobs, 2 } };
	sl_msg wl = { .type = SL_MSG_WORKER_LIST,
		      .u.worker_list = { workers, 1 } };
	sl_msg cancel = { .type = SL_MSG_CANCEL, .u.cancel.job = 9 };
	sl_msg d;

	round_trip(&list, "[6, 27, [[1, \"wordcount\", 1, 1700000000000, 2, "
		   "0, 10, 4, 2, 0, 18446744073709551615, \"/o\", \"\", 1, 3, "
		   "\"{}\"], [2, \"./x.so\", 3, 0, 0, 0, 0, 0, 0, 0, 0, \"\", "
		   "\"map task 0 failed\", 0, 0, \"\"]]]", &d);
	ASSERT_EQ_INT(d.u.job_list.jobs[0].stream, 1);
	ASSERT_EQ_INT(d.u.job_list.jobs[0].batches, 3);
	ASSERT_EQ_STR(d.u.job_list.jobs[0].progress, "{}");
	ASSERT_EQ_INT(d.u.job_list.njobs, 2);
	ASSERT_EQ_STR(d.u.job_list.jobs[0].job, "wordcount");
	ASSERT_EQ_INT(d.u.job_list.jobs[0].maps_done, 4);
	ASSERT_EQ_STR(d.u.job_list.jobs[1].error, "map task 0 failed");
	sl_msg_release(&d);
	round_trip(&wl, "[6, 41, [[3, \"h:1\", \"tcp://h:2\", 4, 1, 250]]]",
		   &d);
	ASSERT_EQ_INT(d.u.worker_list.workers[0].silent_ms, 250);
	sl_msg_release(&d);
	round_trip(&cancel, "[6, 28, 9]", &d);
	ASSERT_EQ_INT(d.u.cancel.job, 9);
	sl_msg_release(&d);
	expect_bad("[6, 27, [[2, \"j\", 5, 0, 0, 0, 0, 0, 0, 0, 0, \"\", "
		   "\"\", 0, 0, \"\"]]]", "JOB_LIST: field 'jobs[0].state': 5 is out of "
		   "range [0, 4]");
	ASSERT_EQ_STR(sl_job_state_name(SL_JOB_CANCELED), "canceled");
	ASSERT_EQ_STR(sl_job_state_name(5), "?");
}

static void
test_the_attempt_log_messages_round_trip_and_check_ranges(void)
{
	sl_attempt_info att[1] = {
		{ .kind = SL_TASK_REDUCE, .task = 3, .attempt = 1, .worker = 2,
		  .started_ms = 5, .ended_ms = 9, .state = SL_ATTEMPT_FAILED,
		  .speculative = 1, .error = "worker lost" },
	};
	sl_counter counters[1] = { { "bad_records", -2 } };
	sl_msg req = { .type = SL_MSG_LOG, .u.log = { 7, 4096 } };
	sl_msg log = { .type = SL_MSG_JOB_LOG,
		       .u.job_log = { .job = 7, .error = "", .total = 4097,
				      .attempts = att, .nattempts = 1,
				      .counters = counters,
				      .ncounters = 1 } };
	sl_msg d;

	round_trip(&req, "[6, 25, 7, 4096]", &d);
	ASSERT_EQ_INT(d.u.log.from, 4096);
	sl_msg_release(&d);
	round_trip(&log, "[6, 42, 7, 0, \"\", 4097, [[2, 3, 1, 2, 5, 9, 2, 1, "
		   "\"worker lost\"]], [[\"bad_records\", -2]]]", &d);
	ASSERT_EQ_INT(d.u.job_log.nattempts, 1);
	ASSERT_EQ_STR(d.u.job_log.attempts[0].error, "worker lost");
	ASSERT_EQ_INT(d.u.job_log.counters[0].value, -2);
	sl_msg_release(&d);
	expect_bad("[6, 42, 7, 0, \"\", 1, [[2, 3, 1, 2, 5, 9, 4, 0, \"\"]], "
		   "[]]", "JOB_LOG: field 'attempts[0].state': 4 is out of "
		   "range [0, 3]");
	expect_bad("[6, 42, 7, 0, \"\", 1, [[0, 3, 1, 2, 5, 9, 1, 0, \"\"]], "
		   "[]]", "JOB_LOG: field 'attempts[0].kind': 0 is out of "
		   "range [1, 2]");
}

static void
test_heartbeat_has_the_documented_bytes(void)
{
	/* fixarray of 4, version 6, type 2, uint16 300, fixint 5 */
	static const char want[] = "\x94\x06\x02\xcd\x01\x2c\x05";
	sl_msg m = { .type = SL_MSG_HEARTBEAT,
		     .u.heartbeat = { .worker = 300, .running = 5 } };
	sl_buf out = SL_BUF_INIT;
	sl_msg d;

	ASSERT_EQ_INT(sl_msg_encode(&m, &out), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, want, sizeof(want) - 1);
	sl_buf_release(&out);
	round_trip(&m, "[6, 2, 300, 5]", &d);
	ASSERT_EQ_INT(d.u.heartbeat.worker, 300);
	ASSERT_EQ_INT(d.u.heartbeat.running, 5);
	sl_msg_release(&d);
}

static void
test_task_done_round_trips(void)
{
	sl_counter counters[] = {
		{ "records", INT64_MIN }, { "", INT64_MAX }, { "b\xc3\xa9", -1 },
	};
	sl_msg m = { .type = SL_MSG_TASK_DONE, .u.task_done = {
		.id = { UINT64_MAX, SL_TASK_REDUCE, 3, UINT32_MAX },
		.status = INT32_MIN,
		.error = "map failed at 'x.txt': caf\xc3\xa9 \xe2\x82\xac",
		.counters = counters, .ncounters = 3,
		.records_in = 1, .bytes_in = UINT64_MAX, .records_out = 0,
		.bytes_out = 1ull << 40, .lost_map = 8, .lost_attempt = 2,
		.event_ms_max = INT64_MIN } };
	sl_msg d;

	round_trip(&m, "[6, 3, [18446744073709551615, 2, 3, 4294967295], "
		   "-2147483648, \"map failed at 'x.txt': caf\\xc3\\xa9 "
		   "\\xe2\\x82\\xac\", [[\"records\", -9223372036854775808], "
		   "[\"\", 9223372036854775807], [\"b\\xc3\\xa9\", -1]], 1, "
		   "18446744073709551615, 0, 1099511627776, 8, 2, "
		   "-9223372036854775808]", &d);
	assert_id(&d.u.task_done.id, UINT64_MAX, SL_TASK_REDUCE, 3, UINT32_MAX);
	ASSERT_EQ_INT(d.u.task_done.status, INT32_MIN);
	ASSERT_EQ_STR(d.u.task_done.error,
		      "map failed at 'x.txt': caf\xc3\xa9 \xe2\x82\xac");
	ASSERT_EQ_INT(d.u.task_done.ncounters, 3);
	ASSERT_EQ_STR(d.u.task_done.counters[0].name, "records");
	CU_ASSERT(d.u.task_done.counters[0].value == INT64_MIN);
	ASSERT_EQ_STR(d.u.task_done.counters[1].name, "");
	CU_ASSERT(d.u.task_done.counters[1].value == INT64_MAX);
	ASSERT_EQ_STR(d.u.task_done.counters[2].name, "b\xc3\xa9");
	CU_ASSERT(d.u.task_done.counters[2].value == -1);
	CU_ASSERT(d.u.task_done.records_in == 1);
	CU_ASSERT(d.u.task_done.bytes_in == UINT64_MAX);
	CU_ASSERT(d.u.task_done.records_out == 0);
	CU_ASSERT(d.u.task_done.bytes_out == 1ull << 40);
	ASSERT_EQ_INT(d.u.task_done.lost_map, 8);
	ASSERT_EQ_INT(d.u.task_done.lost_attempt, 2);
	sl_msg_release(&d);
}

static void
test_attempt_messages_round_trip(void)
{
	static const uint8_t types[] = { SL_MSG_COMMIT_REQ, SL_MSG_COMMIT_GO,
					 SL_MSG_KILL };
	char text[128];
	size_t i;
	sl_msg d;

	for (i = 0; i < SL_ARRAY_LEN(types); i++) {
		sl_msg m = { .type = types[i] };

		m.u.kill.id = (sl_attempt_id){ 9, SL_TASK_MAP, 12, 3 };
		snprintf(text, sizeof(text), "[6, %d, [9, 1, 12, 3]]", types[i]);
		round_trip(&m, text, &d);
		assert_id(&d.u.kill.id, 9, SL_TASK_MAP, 12, 3);
		sl_msg_release(&d);
	}
}

static void
test_commit_done_round_trips(void)
{
	sl_msg m = { .type = SL_MSG_COMMIT_DONE, .u.commit_done = {
		.id = { 1, SL_TASK_REDUCE, 0, 0 }, .status = INT32_MAX,
		.error = "" } };
	sl_msg d;

	round_trip(&m, "[6, 5, [1, 2, 0, 0], 2147483647, \"\"]", &d);
	assert_id(&d.u.commit_done.id, 1, SL_TASK_REDUCE, 0, 0);
	ASSERT_EQ_INT(d.u.commit_done.status, INT32_MAX);
	ASSERT_EQ_STR(d.u.commit_done.error, "");
	sl_msg_release(&d);
}

static void
test_welcome_round_trips(void)
{
	sl_msg m = { .type = SL_MSG_WELCOME, .u.welcome = {
		.worker = 5, .heartbeat_ms = 1000, .timeout_ms = UINT32_MAX } };
	sl_msg d;

	round_trip(&m, "[6, 10, 5, 1000, 4294967295]", &d);
	ASSERT_EQ_INT(d.u.welcome.worker, 5);
	ASSERT_EQ_INT(d.u.welcome.heartbeat_ms, 1000);
	CU_ASSERT(d.u.welcome.timeout_ms == UINT32_MAX);
	sl_msg_release(&d);
}

static void
test_task_round_trips_with_every_field(void)
{
	sl_map_output maps[] = {
		{ 0, 0, "ipc:///tmp/sluice-1" },
		{ UINT32_MAX, 7, "" },
	};
	sl_msg m = { .type = SL_MSG_TASK, .u.task = {
		.id = { 1, SL_TASK_MAP, 0, 0 }, .spec = full_spec(),
		.path = "/data/in/\xc3\xbc.txt", .start = 0, .end = UINT64_MAX,
		.maps = maps, .nmaps = 2, .output_dir = "out/" } };
	sl_msg d;

	round_trip(&m, "[6, 11, [1, 1, 0, 0], " SPEC_TEXT ", "
		   "\"/data/in/\\xc3\\xbc.txt\", 0, 18446744073709551615, "
		   "[[0, 0, \"ipc:///tmp/sluice-1\"], [4294967295, 7, \"\"]], "
		   "\"out/\"]", &d);
	assert_id(&d.u.task.id, 1, SL_TASK_MAP, 0, 0);
	assert_full_spec(&d.u.task.spec);
	ASSERT_EQ_STR(d.u.task.path, "/data/in/\xc3\xbc.txt");
	CU_ASSERT(d.u.task.start == 0);
	CU_ASSERT(d.u.task.end == UINT64_MAX);
	ASSERT_EQ_INT(d.u.task.nmaps, 2);
	ASSERT_EQ_INT(d.u.task.maps[0].map, 0);
	ASSERT_EQ_INT(d.u.task.maps[0].attempt, 0);
	ASSERT_EQ_STR(d.u.task.maps[0].endpoint, "ipc:///tmp/sluice-1");
	CU_ASSERT(d.u.task.maps[1].map == UINT32_MAX);
	ASSERT_EQ_INT(d.u.task.maps[1].attempt, 7);
	ASSERT_EQ_STR(d.u.task.maps[1].endpoint, "");
	ASSERT_EQ_STR(d.u.task.output_dir, "out/");
	sl_msg_release(&d);
}

static void
test_empty_arrays_and_null_strings_round_trip_as_empty(void)
{
	sl_msg m = { .type = SL_MSG_TASK, .u.task = {
		.id = { 2, SL_TASK_REDUCE, 1, 0 },
		.spec = { .partitions = 1, .max_attempts = 1,
			  .max_record = 1 } } };
	sl_msg d;

	round_trip(&m, "[6, 11, [2, 2, 1, 0], [\"\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], \"\", "
		   "0, 0, [], \"\"]", &d);
	ASSERT_EQ_STR(d.u.task.spec.job, "");
	CU_ASSERT(d.u.task.spec.options == NULL);
	ASSERT_EQ_INT(d.u.task.spec.noptions, 0);
	ASSERT_EQ_STR(d.u.task.path, "");
	CU_ASSERT(d.u.task.maps == NULL);
	ASSERT_EQ_INT(d.u.task.nmaps, 0);
	ASSERT_EQ_STR(d.u.task.output_dir, "");
	sl_msg_release(&d);
}

static void
test_job_end_accepted_and_shutdown_round_trip(void)
{
	sl_msg end = { .type = SL_MSG_JOB_END, .u.job_end.job = 42 };
	sl_msg acc = { .type = SL_MSG_ACCEPTED, .u.accepted.job = UINT64_MAX };
	sl_msg bye = { .type = SL_MSG_SHUTDOWN };
	sl_msg d;

	round_trip(&end, "[6, 14, 42]", &d);
	CU_ASSERT(d.u.job_end.job == 42);
	sl_msg_release(&d);
	round_trip(&acc, "[6, 21, 18446744073709551615]", &d);
	CU_ASSERT(d.u.accepted.job == UINT64_MAX);
	sl_msg_release(&d);
	round_trip(&bye, "[6, 15]", &d);
	ASSERT_EQ_INT(d.type, SL_MSG_SHUTDOWN);
	sl_msg_release(&d);
}

static void
test_submit_round_trips(void)
{
	char *inputs[] = { "a.txt", "dir/", "logs/*.csv" };
	sl_range ranges[] = { { 0, 10 }, { 5, 5 }, { 1, 2 } };
	sl_msg m = { .type = SL_MSG_SUBMIT, .u.submit = {
		.spec = full_spec(), .inputs = inputs, .ninputs = 3,
		.ranges = ranges, .nranges = 3,
		.output_dir = "/scratch/out", .split_size = 1,
		.overwrite = 1, .min_workers = UINT32_MAX,
		.stream = { "file:/in", "sqlite:/db?table=t", "/ck",
			    SL_TRIGGER_AVAILABLE, 250, SL_MODE_APPEND, -1, 10,
			    SL_OUTPUT_CSV, 3, "file:/late", SL_OUTPUT_CSV } } };
	sl_msg d;

	round_trip(&m, "[6, 20, " SPEC_TEXT ", [\"a.txt\", \"dir/\", "
		   "\"logs/*.csv\"], [[0, 10], [5, 5], [1, 2]], \"/scratch/out\", 1, 1, "
		   "4294967295, "
		   STREAM_TEXT "]", &d);
	assert_full_spec(&d.u.submit.spec);
	ASSERT_EQ_INT(d.u.submit.ninputs, 3);
	ASSERT_EQ_STR(d.u.submit.inputs[0], "a.txt");
	ASSERT_EQ_STR(d.u.submit.inputs[1], "dir/");
	ASSERT_EQ_STR(d.u.submit.inputs[2], "logs/*.csv");
	ASSERT_EQ_INT(d.u.submit.nranges, 3);
	CU_ASSERT(d.u.submit.ranges[0].end == 10 &&
		  d.u.submit.ranges[2].start == 1);
	ASSERT_EQ_STR(d.u.submit.output_dir, "/scratch/out");
	ASSERT_EQ_STR(d.u.submit.stream.sink, "sqlite:/db?table=t");
	ASSERT_EQ_INT(d.u.submit.stream.trigger, SL_TRIGGER_AVAILABLE);
	ASSERT_EQ_INT(d.u.submit.stream.delay_ms, -1);
	ASSERT_EQ_INT(d.u.submit.stream.key_columns, 3);
	CU_ASSERT(d.u.submit.split_size == 1);
	ASSERT_EQ_INT(d.u.submit.overwrite, 1);
	CU_ASSERT(d.u.submit.min_workers == UINT32_MAX);
	sl_msg_release(&d);

	m.u.submit.ninputs = 0;
	m.u.submit.inputs = NULL;
	m.u.submit.nranges = 0;
	m.u.submit.ranges = NULL;
	m.u.submit.split_size = UINT64_MAX;
	m.u.submit.overwrite = 0;
	m.u.submit.min_workers = 0;
	round_trip(&m, "[6, 20, " SPEC_TEXT ", [], [], \"/scratch/out\", "
		   "18446744073709551615, 0, 0, " STREAM_TEXT "]", &d);
	CU_ASSERT(d.u.submit.inputs == NULL);
	ASSERT_EQ_INT(d.u.submit.ninputs, 0);
	CU_ASSERT(d.u.submit.split_size == UINT64_MAX);
	sl_msg_release(&d);
}

static void
test_job_done_round_trips(void)
{
	sl_counter counters[] = { { "skipped", 3 } };
	sl_msg m = { .type = SL_MSG_JOB_DONE, .u.job_done = {
		.job = 7, .status = -1, .error = "task 'map 3' failed 4 times",
		.counters = counters, .ncounters = 1, .maps = 10,
		.reduces = UINT32_MAX, .bytes_in = 123456789012ull,
		.records_in = 2, .records_out = UINT64_MAX,
		.elapsed_ms = 65536, .event_ms_max = 1796306400000,
		.map_ms = 40, .reduce_ms = 25 } };
	sl_msg d;

	round_trip(&m, "[6, 22, 7, -1, \"task 'map 3' failed 4 times\", "
		   "[[\"skipped\", 3]], 10, 4294967295, 123456789012, 2, "
		   "18446744073709551615, 65536, 1796306400000, 40, 25]", &d);
	CU_ASSERT(d.u.job_done.job == 7);
	ASSERT_EQ_INT(d.u.job_done.status, -1);
	ASSERT_EQ_STR(d.u.job_done.error, "task 'map 3' failed 4 times");
	ASSERT_EQ_INT(d.u.job_done.ncounters, 1);
	ASSERT_EQ_STR(d.u.job_done.counters[0].name, "skipped");
	CU_ASSERT(d.u.job_done.counters[0].value == 3);
	ASSERT_EQ_INT(d.u.job_done.maps, 10);
	CU_ASSERT(d.u.job_done.reduces == UINT32_MAX);
	CU_ASSERT(d.u.job_done.bytes_in == 123456789012ull);
	CU_ASSERT(d.u.job_done.records_in == 2);
	CU_ASSERT(d.u.job_done.records_out == UINT64_MAX);
	CU_ASSERT(d.u.job_done.elapsed_ms == 65536);
	CU_ASSERT(d.u.job_done.event_ms_max == 1796306400000);
	CU_ASSERT(d.u.job_done.map_ms == 40 && d.u.job_done.reduce_ms == 25);
	sl_msg_release(&d);
}

static void
test_fetch_and_fetch_reply_round_trip(void)
{
	sl_msg f = { .type = SL_MSG_FETCH, .u.fetch = {
		.job = 3, .map = 4, .attempt = 1, .partition = UINT32_MAX,
		.offset = 1ull << 33, .max_bytes = 1 << 20 } };
	sl_msg r = { .type = SL_MSG_FETCH_REPLY, .u.fetch_reply = {
		.status = SL_ENOTFOUND, .total = UINT64_MAX, .offset = 17 } };
	char text[128];
	sl_msg d;

	round_trip(&f, "[6, 30, 3, 4, 1, 4294967295, 8589934592, 1048576]", &d);
	CU_ASSERT(d.u.fetch.job == 3);
	ASSERT_EQ_INT(d.u.fetch.map, 4);
	ASSERT_EQ_INT(d.u.fetch.attempt, 1);
	CU_ASSERT(d.u.fetch.partition == UINT32_MAX);
	CU_ASSERT(d.u.fetch.offset == 1ull << 33);
	ASSERT_EQ_INT(d.u.fetch.max_bytes, 1 << 20);
	sl_msg_release(&d);

	snprintf(text, sizeof(text), "[6, 31, %d, 18446744073709551615, 17]",
		 SL_ENOTFOUND);
	round_trip(&r, text, &d);
	ASSERT_EQ_INT(d.u.fetch_reply.status, SL_ENOTFOUND);
	CU_ASSERT(d.u.fetch_reply.total == UINT64_MAX);
	CU_ASSERT(d.u.fetch_reply.offset == 17);
	sl_msg_release(&d);
}

static void
test_exchange_and_exchanged_round_trip(void)
{
	sl_map_output maps[] = { { 0, 2, "tcp://10.0.0.2:4000" },
				 { UINT32_MAX, UINT32_MAX, "" } };
	sl_msg x = { .type = SL_MSG_EXCHANGE, .u.exchange = {
		.job = UINT64_MAX, .partitions = 3, .maps = maps,
		.nmaps = 2 } };
	sl_msg e = { .type = SL_MSG_EXCHANGED, .u.exchanged = {
		.job = 9, .status = SL_EIO, .error = "MPI_Alltoallv failed",
		.rank = 2, .ranks = UINT32_MAX } };
	char text[128];
	sl_msg d;

	round_trip(&x, "[6, 16, 18446744073709551615, 3, "
		   "[[0, 2, \"tcp://10.0.0.2:4000\"], "
		   "[4294967295, 4294967295, \"\"]]]", &d);
	CU_ASSERT(d.u.exchange.job == UINT64_MAX);
	ASSERT_EQ_INT(d.u.exchange.partitions, 3);
	ASSERT_EQ_INT(d.u.exchange.nmaps, 2);
	ASSERT_EQ_INT(d.u.exchange.maps[0].map, 0);
	ASSERT_EQ_INT(d.u.exchange.maps[0].attempt, 2);
	ASSERT_EQ_STR(d.u.exchange.maps[0].endpoint, "tcp://10.0.0.2:4000");
	CU_ASSERT(d.u.exchange.maps[1].map == UINT32_MAX);
	ASSERT_EQ_STR(d.u.exchange.maps[1].endpoint, "");
	sl_msg_release(&d);

	x.u.exchange.maps = NULL;
	x.u.exchange.nmaps = 0;
	round_trip(&x, "[6, 16, 18446744073709551615, 3, []]", &d);
	CU_ASSERT(d.u.exchange.maps == NULL);
	sl_msg_release(&d);

	snprintf(text, sizeof(text), "[6, 6, 9, %d, \"MPI_Alltoallv failed\", "
		 "2, 4294967295]", SL_EIO);
	round_trip(&e, text, &d);
	CU_ASSERT(d.u.exchanged.job == 9);
	ASSERT_EQ_INT(d.u.exchanged.status, SL_EIO);
	ASSERT_EQ_STR(d.u.exchanged.error, "MPI_Alltoallv failed");
	ASSERT_EQ_INT(d.u.exchanged.rank, 2);
	CU_ASSERT(d.u.exchanged.ranks == UINT32_MAX);
	sl_msg_release(&d);
}

/* HELLO whose name is n bytes of 'a', packed by hand. */
static sl_buf
hello_with_name(size_t n)
{
	sl_buf b = SL_BUF_INIT;
	msgpack_packer pk;
	char *name = malloc(n);

	memset(name, 'a', n);
	msgpack_packer_init(&pk, &b, mp_write);
	msgpack_pack_array(&pk, 6);
	msgpack_pack_uint64(&pk, SL_PROTO_VERSION);
	msgpack_pack_uint64(&pk, SL_MSG_HELLO);
	msgpack_pack_str_with_body(&pk, name, n);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_str_with_body(&pk, "", 0);
	free(name);
	return b;
}

static void
test_strings_up_to_the_limit_are_accepted_and_longer_refused(void)
{
	sl_buf ok = hello_with_name(SL_PROTO_MAX_STR);
	sl_buf big = hello_with_name(SL_PROTO_MAX_STR + 1);
	sl_buf out = SL_BUF_INIT;
	char want[128];
	sl_msg d;

	ASSERT_EQ_INT(sl_msg_decode(ok.buf, ok.len, &d, NULL), SL_OK);
	ASSERT_EQ_INT(strlen(d.u.hello.name), SL_PROTO_MAX_STR);
	ASSERT_EQ_INT(sl_msg_encode(&d, &out), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, ok.buf, ok.len);
	sl_msg_release(&d);

	snprintf(want, sizeof(want), "HELLO: field 'name': string of %d bytes "
		 "exceeds the limit of %d", SL_PROTO_MAX_STR + 1,
		 SL_PROTO_MAX_STR);
	expect_bad_bytes(big.buf, big.len, want);
	sl_buf_release(&ok);
	sl_buf_release(&big);
	sl_buf_release(&out);
}

/* JOB_DONE with n counters ["", 0], packed by hand. */
static sl_buf
job_done_with_counters(uint32_t n)
{
	sl_buf b = SL_BUF_INIT;
	msgpack_packer pk;
	uint32_t i;

	msgpack_packer_init(&pk, &b, mp_write);
	msgpack_pack_array(&pk, 15);
	msgpack_pack_uint64(&pk, SL_PROTO_VERSION);
	msgpack_pack_uint64(&pk, SL_MSG_JOB_DONE);
	msgpack_pack_uint64(&pk, 1);
	msgpack_pack_int64(&pk, 0);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++) {
		msgpack_pack_array(&pk, 2);
		msgpack_pack_str_with_body(&pk, "", 0);
		msgpack_pack_int64(&pk, i);
	}
	for (i = 0; i < 9; i++)
		msgpack_pack_uint64(&pk, 0);
	return b;
}

static void
test_arrays_up_to_the_limit_are_accepted_and_longer_refused(void)
{
	sl_buf ok = job_done_with_counters(SL_PROTO_MAX_ITEMS);
	sl_buf big = job_done_with_counters(SL_PROTO_MAX_ITEMS + 1);
	char want[128];
	sl_msg d;

	ASSERT_EQ_INT(sl_msg_decode(ok.buf, ok.len, &d, NULL), SL_OK);
	ASSERT_EQ_INT(d.u.job_done.ncounters, SL_PROTO_MAX_ITEMS);
	ASSERT_EQ_INT(d.u.job_done.counters[SL_PROTO_MAX_ITEMS - 1].value,
		      SL_PROTO_MAX_ITEMS - 1);
	sl_msg_release(&d);

	snprintf(want, sizeof(want), "JOB_DONE: field 'counters': %d elements "
		 "exceed the limit of %d", SL_PROTO_MAX_ITEMS + 1,
		 SL_PROTO_MAX_ITEMS);
	expect_bad_bytes(big.buf, big.len, want);
	sl_buf_release(&ok);
	sl_buf_release(&big);
}

/* ---- malformed input ---- */

static void
test_empty_and_non_array_messages_are_refused(void)
{
	expect_bad_bytes("", 0, "empty message");
	expect_bad("{1: 2}", "message is not an array (got map)");
	expect_bad("5", "message is not an array (got int)");
	expect_bad("\"hello\"", "message is not an array (got str)");
	expect_bad("[]", "message has 0 elements, expected version and type "
		   "first");
	expect_bad("[1]", "message has 1 elements, expected version and type "
		   "first");
}

static void
test_wrong_version_and_unknown_types_are_refused(void)
{
	expect_bad("[4, 2, 0, 0]", "unsupported protocol version 4 "
		   "(expected 6)");
	expect_bad("[0, 2, 0, 0]", "unsupported protocol version 0 "
		   "(expected 6)");
	expect_bad("[\"1\", 2, 0, 0]", "version: expected int, got str");
	expect_bad("[-1, 2, 0, 0]", "version: expected int, got negative int");
	expect_bad("[6, 99]", "unknown message type 99");
	expect_bad("[6, 0]", "unknown message type 0");
	expect_bad("[6, 7]", "unknown message type 7");
	expect_bad("[6, 18]", "unknown message type 18");
	/* 2^32 + 11 must not be taken for 11 (TASK) */
	expect_bad("[6, 4294967307]", "unknown message type 4294967307");
	expect_bad("[6, 267]", "unknown message type 267");
	expect_bad("[6, -1]", "type: expected int, got negative int");
	expect_bad("[6, nil]", "type: expected int, got nil");
}

static void
test_wrong_field_counts_are_refused(void)
{
	expect_bad("[6, 2, 0]", "HEARTBEAT: field count 1, expected 2");
	expect_bad("[6, 2, 0, 0, 0]", "HEARTBEAT: field count 3, expected 2");
	expect_bad("[6, 15, 0]", "SHUTDOWN: field count 1, expected 0");
	expect_bad("[6, 13, [1, 1, 0]]",
		   "KILL: field 'id': field count 3, expected 4");
	expect_bad("[6, 11, [1, 1, 0, 0], [\"wc\", [[\"k\", \"v\", \"x\"]], 1, "
		   "0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], \"\", 0, 0, [], \"\"]",
		   "TASK: field 'spec.options[0]': field count 3, expected 2");
}

static void
test_wrong_field_types_are_refused(void)
{
	expect_bad("[6, 1, 5, 1, 1, \"e\"]",
		   "HELLO: field 'name': expected str, got int");
	expect_bad("[6, 11, [1, 1, 0, 0], [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], 7, 0, 0, [], "
		   "\"\"]", "TASK: field 'path': expected str, got int");
	expect_bad("[6, 2, 1.5, 0]",
		   "HEARTBEAT: field 'worker': expected int, got float");
	expect_bad("[6, 2, true, 0]",
		   "HEARTBEAT: field 'worker': expected int, got bool");
	expect_bad("[6, 2, {1: 2}, 0]",
		   "HEARTBEAT: field 'worker': expected int, got map");
	expect_bad("[6, 2, \"3\", 0]",
		   "HEARTBEAT: field 'worker': expected int, got str");
	expect_bad("[6, 13, 5]", "KILL: field 'id': expected array, got int");
	expect_bad("[6, 11, [1, 1, 0, 0], [\"wc\", [\"k\"], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], \"\", 0, "
		   "0, [], \"\"]",
		   "TASK: field 'spec.options[0]': expected array, got str");
	expect_bad("[6, 11, [1, 1, 0, 0], [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], \"\", 0, 0, "
		   "[[0, 0, \"a\"], [1, 0, 2]], \"\"]",
		   "TASK: field 'maps[1].endpoint': expected str, got int");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [\"a\", \"b\", nil], [], \"o\", "
		   "1, 0, 0, " NO_STREAM "]", "SUBMIT: field 'inputs[2]': expected str, got nil");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", "
		   "1, 0, 0, [\"s\", \"k\", \"c\", 0, 0, 0, -2, 0, 0, 0, \"\", 0]]",
		   "SUBMIT: field 'stream.delay_ms': -2 is out of range "
		   "[-1, 9223372036854775807]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", "
		   "1, 0, 0, [\"s\", \"k\", \"c\", 3, 0, 0, 0, 0, 0, 0, \"\", 0]]",
		   "SUBMIT: field 'stream.trigger': 3 is out of range [0, 2]");
	expect_bad("[6, 3, [1, 1, 0, 0], 0, \"\", [[\"n\", 1.0]], 0, 0, 0, 0, 0, 0, 0]",
		   "TASK_DONE: field 'counters[0].value': expected int, got "
		   "float");
}

static void
test_bin_and_ext_are_not_taken_for_str_or_int(void)
{
	/* HELLO with name as bin8 "A" */
	static const unsigned char bin[] = { 0x96, 0x06, 0x01, 0xc4, 0x01, 'A',
					     0x01, 0x01, 0xa0 };
	/* HEARTBEAT with worker as fixext1 */
	static const unsigned char ext[] = { 0x94, 0x06, 0x02, 0xd4, 0x05,
					     0x07, 0x00 };

	expect_bad_bytes(bin, sizeof(bin),
			 "HELLO: field 'name': expected str, got bin");
	expect_bad_bytes(ext, sizeof(ext),
			 "HEARTBEAT: field 'worker': expected int, got ext");
}

static void
test_integers_out_of_range_are_refused(void)
{
	expect_bad("[6, 2, 4294967296, 0]", "HEARTBEAT: field 'worker': "
		   "4294967296 is out of range [0, 4294967295]");
	expect_bad("[6, 2, -1, 0]", "HEARTBEAT: field 'worker': -1 is out of "
		   "range [0, 4294967295]");
	expect_bad("[6, 14, -5]", "JOB_END: field 'job': -5 is out of range "
		   "[0, 18446744073709551615]");
	expect_bad("[6, 13, [1, 3, 0, 0]]",
		   "KILL: field 'id.kind': 3 is out of range [1, 2]");
	expect_bad("[6, 13, [1, 0, 0, 0]]",
		   "KILL: field 'id.kind': 0 is out of range [1, 2]");
	/* 258 would wrap to 2 (SL_TASK_REDUCE) in a uint8_t */
	expect_bad("[6, 13, [1, 258, 0, 0]]",
		   "KILL: field 'id.kind': 258 is out of range [1, 2]");
	expect_bad("[6, 5, [1, 1, 0, 0], 2147483648, \"\"]",
		   "COMMIT_DONE: field 'status': 2147483648 is out of range "
		   "[-2147483648, 2147483647]");
	expect_bad("[6, 5, [1, 1, 0, 0], -2147483649, \"\"]",
		   "COMMIT_DONE: field 'status': -2147483649 is out of range "
		   "[-2147483648, 2147483647]");
	expect_bad("[6, 22, 1, 0, \"\", [[\"c\", 9223372036854775808]], 0, 0, "
		   "0, 0, 0, 0, 0, 0, 0]", "JOB_DONE: field 'counters[0].value': "
		   "9223372036854775808 is out of range [-9223372036854775808, "
		   "9223372036854775807]");
}

static void
test_semantic_limits_are_enforced(void)
{
	expect_bad("[6, 1, \"h\", 1, 0, \"\"]", "HELLO: field 'slots': 0 is "
		   "out of range [1, 4294967295]");
	expect_bad("[6, 20, [\"wc\", [], 0, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'spec.partitions': 0 is out of range "
		   "[1, 4294967295]");
	expect_bad("[6, 20, [\"wc\", [], 1, 2, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'spec.bad_records': 2 is out of range "
		   "[0, 1]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 0, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'spec.max_attempts': 0 is out of range "
		   "[1, 4294967295]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 0, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'spec.max_record': 0 is out of range "
		   "[1, 18446744073709551615]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1], [], [], \"o\", 1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'spec': field count 5, expected 15");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 0, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'split_size': 0 is out of range "
		   "[1, 18446744073709551615]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 2, 0, " NO_STREAM "]",
		   "SUBMIT: field 'overwrite': 2 is out of range [0, 1]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 2, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'spec.shuffle': 2 is out of range [0, 1]");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [], [], \"o\", 1, 0, -1, " NO_STREAM "]",
		   "SUBMIT: field 'min_workers': -1 is out of range "
		   "[0, 4294967295]");
	expect_bad("[6, 16, 1, 0, []]", "EXCHANGE: field 'partitions': 0 is "
		   "out of range [1, 4294967295]");
	expect_bad("[6, 16, 1, 1, [[0, 0]]]",
		   "EXCHANGE: field 'maps[0]': field count 2, expected 3");
	expect_bad("[6, 6, 1, 0, \"\", 0]",
		   "EXCHANGED: field count 4, expected 5");
}

static void
test_strings_with_nul_are_refused(void)
{
	expect_bad("[6, 1, \"a\\x00b\", 1, 1, \"\"]",
		   "HELLO: field 'name': string contains a NUL byte");
	expect_bad("[6, 20, [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], [\"\\x00\"], [], \"o\", "
		   "1, 0, 0, " NO_STREAM "]",
		   "SUBMIT: field 'inputs[0]': string contains a NUL byte");
}

static void
test_huge_counts_fail_fast_without_allocating(void)
{
	static const unsigned char arr32[] = { 0xdd, 0x80, 0x00, 0x00, 0x00 };
	static const unsigned char map32[] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
	/* HEARTBEAT whose worker field claims 2^31 elements, then 1 byte */
	static const unsigned char inner[] = { 0x94, 0x06, 0x02, 0xdd, 0x80,
					       0x00, 0x00, 0x00, 0x00 };
	/* str32 claiming 4 GiB */
	static const unsigned char str32[] = { 0x92, 0x01, 0xdb, 0xff, 0xff,
					       0xff, 0xff, 'a' };

	expect_bad_bytes(arr32, sizeof(arr32), "truncated message: "
			 "2147483648 elements claimed in 0 bytes");
	expect_bad_bytes(map32, sizeof(map32), "truncated message: "
			 "8589934590 elements claimed in 0 bytes");
	expect_bad_bytes(inner, sizeof(inner), "truncated message: "
			 "2147483648 elements claimed in 1 bytes");
	expect_bad_bytes(str32, sizeof(str32), "truncated message");
}

static void
test_too_many_objects_in_all_are_refused(void)
{
	/* [6, 2, [nil x (8 Mi + 1)], 0]: 8 MiB, but an object a byte */
	size_t n = 8u * SL_PROTO_MAX_ITEMS + 1, len = 3 + 5 + n + 1;
	unsigned char *b = calloc(1, len);
	char want[64];

	b[0] = 0x94;
	b[1] = 0x06;
	b[2] = 0x02;
	b[3] = 0xdd;
	b[4] = (unsigned char)(n >> 24);
	b[5] = (unsigned char)(n >> 16);
	b[6] = (unsigned char)(n >> 8);
	b[7] = (unsigned char)n;
	memset(b + 8, 0xc0, n);
	snprintf(want, sizeof(want), "more than %d objects",
		 8 * SL_PROTO_MAX_ITEMS);
	expect_bad_bytes(b, len, want);
	free(b);
}

static void
test_nesting_is_limited_before_msgpack_sees_it(void)
{
	char text[256];
	int i;

	/* depth 8 passes the scan and fails as a field */
	expect_bad("[6, 2, [[[[[[[1]]]]]]], 0]",
		   "HEARTBEAT: field 'worker': expected int, got array");
	expect_bad("[6, 2, [[[[[[[[1]]]]]]]], 0]", "nested deeper than 8");
	/* deeper than msgpack-c's own stack (32), which reports no memory */
	strcpy(text, "[6, 2, ");
	for (i = 0; i < 40; i++)
		strcat(text, "[");
	strcat(text, "1");
	for (i = 0; i < 40; i++)
		strcat(text, "]");
	strcat(text, ", 0]");
	expect_bad(text, "nested deeper than 8");
}

static void
test_reserved_byte_and_oversize_messages_are_refused(void)
{
	static const unsigned char c1[] = { 0x92, 0x01, 0xc1 };
	size_t big = (size_t)SL_PROTO_MAX_MSG + 1;
	char *zeros = calloc(1, big);
	char want[128];

	expect_bad_bytes(c1, sizeof(c1), "invalid byte 0xc1 at offset 2");
	snprintf(want, sizeof(want), "message of %zu bytes exceeds the limit "
		 "of %d", big, SL_PROTO_MAX_MSG);
	expect_bad_bytes(zeros, big, want);
	free(zeros);
}

static void
test_a_failure_after_allocations_leaks_nothing(void)
{
	/* path and maps[0] are copied before output_dir fails */
	expect_bad("[6, 11, [1, 1, 0, 0], [\"wc\", [[\"k\", \"v\"]], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], "
		   "\"in.txt\", 0, 10, [[0, 0, \"tcp://a:1\"]], 5]",
		   "TASK: field 'output_dir': expected str, got int");
	/* the second map output fails after the first was copied */
	expect_bad("[6, 11, [1, 1, 0, 0], [\"wc\", [], 1, 0, 1, 1, 0, 0, \"\", \"\", \"\", 0, 0, 0, \"\"], \"\", 0, 0, "
		   "[[0, 0, \"tcp://a:1\"], [1, -1, \"b\"]], \"o\"]",
		   "TASK: field 'maps[1].attempt': -1 is out of range "
		   "[0, 4294967295]");
}

static void
test_reasons_are_appended_and_err_may_be_null(void)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m;

	sl_buf_addstr(&err, "from worker 3: ");
	ASSERT_EQ_INT(sl_msg_decode("\x91\x01", 2, &m, &err), SL_EPROTO);
	ASSERT_EQ_STR(err.buf, "from worker 3: message has 1 elements, "
		      "expected version and type first");
	ASSERT_EQ_INT(sl_msg_decode("\x91\x01", 2, &m, NULL), SL_EPROTO);
	CU_ASSERT(is_zeroed(&m));
	sl_buf_release(&err);
}

static void
test_random_byte_flips_never_crash_or_leak(void)
{
	sl_map_output maps[] = { { 0, 1, "tcp://h:1" }, { 1, 0, "tcp://h:2" } };
	char *inputs[] = { "a", "b/c" };
	sl_counter counters[] = { { "x", -5 }, { "yy", 1 << 20 } };
	sl_msg msgs[3] = {
		{ .type = SL_MSG_TASK, .u.task = { .id = { 1, 2, 3, 4 },
		  .spec = full_spec(), .path = "p", .end = 100, .maps = maps,
		  .nmaps = 2, .output_dir = "o" } },
		{ .type = SL_MSG_SUBMIT, .u.submit = { .spec = full_spec(),
		  .inputs = inputs, .ninputs = 2, .output_dir = "o",
		  .split_size = 1 << 26 } },
		{ .type = SL_MSG_JOB_DONE, .u.job_done = { .job = 1,
		  .status = -3, .error = "e", .counters = counters,
		  .ncounters = 2 } },
	};
	uint64_t seed = 0x5eed5eed12345678ull;
	sl_buf enc = SL_BUF_INIT, err = SL_BUF_INIT;
	int i, j, flips, ok = 0, bad = 0, rv;
	unsigned k;
	sl_msg d;

	for (k = 0; k < SL_ARRAY_LEN(msgs); k++) {
		sl_buf_reset(&enc);
		ASSERT_EQ_INT(sl_msg_encode(&msgs[k], &enc), SL_OK);
		for (i = 0; i < 1500; i++) {
			char *b = malloc(enc.len);

			memcpy(b, enc.buf, enc.len);
			flips = 1 + (int)(unit_rng(&seed) % 3);
			for (j = 0; j < flips; j++)
				b[unit_rng(&seed) % enc.len] =
					(char)unit_rng(&seed);
			sl_buf_reset(&err);
			rv = sl_msg_decode(b, enc.len, &d, &err);
			if (rv == SL_OK) {
				ok++;
				sl_msg_release(&d);
			} else {
				bad++;
				CU_ASSERT(rv == SL_EPROTO || rv == SL_EVERSION);
				CU_ASSERT(is_zeroed(&d));
				CU_ASSERT(err.len > 0 && !strchr(err.buf, '\n'));
			}
			free(b);
		}
	}
	/* both outcomes must occur, or the flips test nothing */
	CU_ASSERT(ok > 0);
	CU_ASSERT(bad > 0);
	sl_buf_release(&enc);
	sl_buf_release(&err);
}

/* ---- encoding errors ---- */

static void
test_encode_refuses_what_decode_would_refuse(void)
{
	sl_counter c = { "c", 0 };
	sl_msg bad[] = {
		{ .type = 0 },
		{ .type = 99 },
		{ .type = SL_MSG_KILL, .u.kill.id = { 1, 0, 0, 0 } },
		{ .type = SL_MSG_KILL, .u.kill.id = { 1, 3, 0, 0 } },
		{ .type = SL_MSG_HELLO, .u.hello = { .slots = 0 } },
		{ .type = SL_MSG_TASK, .u.task = { .id = { 1, 1, 0, 0 },
		  .spec = { .partitions = 0, .max_attempts = 1,
			    .max_record = 1 } } },
		{ .type = SL_MSG_SUBMIT, .u.submit = { .spec = { .partitions = 1,
		  .max_attempts = 1, .max_record = 0 }, .split_size = 1 } },
		{ .type = SL_MSG_SUBMIT, .u.submit = { .spec = { .partitions = 1,
		  .max_attempts = 1, .max_record = 1 }, .split_size = 1,
		  .overwrite = 2 } },
		{ .type = SL_MSG_SUBMIT, .u.submit = { .spec = { .partitions = 1,
		  .max_attempts = 1, .max_record = 1 }, .split_size = 1,
		  .ninputs = 1 } },
		{ .type = SL_MSG_SUBMIT, .u.submit = { .spec = { .partitions = 1,
		  .max_attempts = 1, .max_record = 1, .shuffle = 2 },
		  .split_size = 1 } },
		{ .type = SL_MSG_EXCHANGE, .u.exchange = { .partitions = 0 } },
		{ .type = SL_MSG_EXCHANGE, .u.exchange = { .partitions = 1,
		  .nmaps = 1 } },
		{ .type = SL_MSG_JOB_DONE, .u.job_done = { .counters = &c,
		  .ncounters = SL_PROTO_MAX_ITEMS + 1 } },
	};
	sl_msg hello = { .type = SL_MSG_HELLO, .u.hello = { .slots = 1 } };
	sl_buf out = SL_BUF_INIT;
	char *name;
	size_t i;

	sl_buf_addstr(&out, "abc");
	for (i = 0; i < SL_ARRAY_LEN(bad); i++) {
		ASSERT_EQ_INT(sl_msg_encode(&bad[i], &out), SL_EINVAL);
		ASSERT_EQ_STR(out.buf, "abc");
	}
	name = malloc(SL_PROTO_MAX_STR + 2);
	memset(name, 'n', SL_PROTO_MAX_STR + 1);
	name[SL_PROTO_MAX_STR + 1] = '\0';
	hello.u.hello.name = name;
	ASSERT_EQ_INT(sl_msg_encode(&hello, &out), SL_EINVAL);
	ASSERT_EQ_STR(out.buf, "abc");
	free(name);
	sl_buf_release(&out);
}

static void
test_encode_appends_to_what_the_buffer_holds(void)
{
	sl_msg m = { .type = SL_MSG_JOB_END, .u.job_end.job = 300 };
	sl_buf out = SL_BUF_INIT;
	sl_msg d;

	sl_buf_addstr(&out, "xy");
	ASSERT_EQ_INT(sl_msg_encode(&m, &out), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, "xy\x93\x06\x0e\xcd\x01\x2c", 8);
	ASSERT_EQ_INT(sl_msg_decode(out.buf + 2, out.len - 2, &d, NULL), SL_OK);
	CU_ASSERT(d.u.job_end.job == 300);
	sl_msg_release(&d);
	sl_buf_release(&out);
}

static void
test_type_names_and_release_of_null(void)
{
	ASSERT_EQ_STR(sl_msg_type_name(SL_MSG_HELLO), "HELLO");
	ASSERT_EQ_STR(sl_msg_type_name(SL_MSG_COMMIT_GO), "COMMIT_GO");
	ASSERT_EQ_STR(sl_msg_type_name(SL_MSG_FETCH_REPLY), "FETCH_REPLY");
	ASSERT_EQ_STR(sl_msg_type_name(SL_MSG_EXCHANGE), "EXCHANGE");
	ASSERT_EQ_STR(sl_msg_type_name(SL_MSG_EXCHANGED), "EXCHANGED");
	ASSERT_EQ_STR(sl_msg_type_name(0), "?");
	ASSERT_EQ_STR(sl_msg_type_name(7), "?");
	ASSERT_EQ_STR(sl_msg_type_name(-1), "?");
	ASSERT_EQ_STR(sl_msg_type_name(1000), "?");
	sl_msg_release(NULL);
}

static const unit_case cases[] = {
	{ "HELLO round-trips", test_hello_round_trips },
	{ "WORKER_LOST round-trips", test_worker_lost_round_trips },
	{ "client requests and answers round-trip",
	  test_client_requests_and_answers_round_trip },
	{ "HEARTBEAT has the documented bytes",
	  test_heartbeat_has_the_documented_bytes },
	{ "TASK_DONE round-trips", test_task_done_round_trips },
	{ "COMMIT_REQ, COMMIT_GO and KILL round-trip",
	  test_attempt_messages_round_trip },
	{ "COMMIT_DONE round-trips", test_commit_done_round_trips },
	{ "WELCOME round-trips", test_welcome_round_trips },
	{ "TASK round-trips with every field",
	  test_task_round_trips_with_every_field },
	{ "empty arrays and NULL strings round-trip as empty",
	  test_empty_arrays_and_null_strings_round_trip_as_empty },
	{ "JOB_END, ACCEPTED and SHUTDOWN round-trip",
	  test_job_end_accepted_and_shutdown_round_trip },
	{ "SUBMIT round-trips", test_submit_round_trips },
	{ "JOB_DONE round-trips", test_job_done_round_trips },
	{ "EXCHANGE and EXCHANGED round-trip",
	  test_exchange_and_exchanged_round_trip },
	{ "FETCH and FETCH_REPLY round-trip",
	  test_fetch_and_fetch_reply_round_trip },
	{ "strings up to the limit are accepted and longer refused",
	  test_strings_up_to_the_limit_are_accepted_and_longer_refused },
	{ "arrays up to the limit are accepted and longer refused",
	  test_arrays_up_to_the_limit_are_accepted_and_longer_refused },
	{ "empty and non-array messages are refused",
	  test_empty_and_non_array_messages_are_refused },
	{ "wrong version and unknown types are refused",
	  test_wrong_version_and_unknown_types_are_refused },
	{ "wrong field counts are refused", test_wrong_field_counts_are_refused },
	{ "wrong field types are refused", test_wrong_field_types_are_refused },
	{ "bin and ext are not taken for str or int",
	  test_bin_and_ext_are_not_taken_for_str_or_int },
	{ "integers out of range are refused",
	  test_integers_out_of_range_are_refused },
	{ "semantic limits are enforced", test_semantic_limits_are_enforced },
	{ "strings with NUL are refused", test_strings_with_nul_are_refused },
	{ "huge counts fail fast without allocating",
	  test_huge_counts_fail_fast_without_allocating },
	{ "too many objects in all are refused",
	  test_too_many_objects_in_all_are_refused },
	{ "nesting is limited before msgpack sees it",
	  test_nesting_is_limited_before_msgpack_sees_it },
	{ "reserved byte and oversize messages are refused",
	  test_reserved_byte_and_oversize_messages_are_refused },
	{ "a failure after allocations leaks nothing",
	  test_a_failure_after_allocations_leaks_nothing },
	{ "reasons are appended and err may be NULL",
	  test_reasons_are_appended_and_err_may_be_null },
	{ "random byte flips never crash or leak",
	  test_random_byte_flips_never_crash_or_leak },
	{ "encode refuses what decode would refuse",
	  test_encode_refuses_what_decode_would_refuse },
	{ "encode appends to what the buffer holds",
	  test_encode_appends_to_what_the_buffer_holds },
	{ "type names, and release of NULL",
	  test_type_names_and_release_of_null },
	{ "the attempt log messages round-trip and check ranges",
	  test_the_attempt_log_messages_round_trip_and_check_ranges },
	{ NULL, NULL }
};

UNIT_MAIN("proto", cases)
