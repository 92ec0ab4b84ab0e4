/*
 * proto.c - the msgpack codec of the wire protocol (proto.h,
 * docs/protocol.md).
 *
 * One table per message type lists its fields in wire order: name, kind
 * (integer width, str, nested struct, array), offset in sl_msg and, for
 * integers, the allowed range. The encoder, the decoder and
 * sl_msg_release() all walk these tables, so the three cannot disagree on
 * the layout, and the encoder refuses (SL_EINVAL) any message the decoder
 * would reject.
 *
 * Decoding untrusted bytes happens in three steps:
 *   1. pr_prescan() walks the raw bytes without allocating and checks that
 *      they hold exactly one complete msgpack object, that no container
 *      claims more elements than bytes left, nesting depth <= PR_MAX_DEPTH
 *      and at most PR_MAX_OBJECTS objects in all. Only then may msgpack-c
 *      allocate: its unpacker sizes arrays from the headers it reads, and
 *      overflowing its nesting stack reports "out of memory".
 *   2. msgpack_unpack_next() builds the object tree in a zone; str objects
 *      point into the input.
 *   3. pr_unpack_value() checks every field against the table and copies
 *      strings and arrays to the heap, owned by the sl_msg.
 * On any error the partly filled message is released through the same
 * table and zeroed.
 *
 * Costs: encoding is one pass with amortised appends to the caller's
 * sl_buf. Decoding is O(len) and allocates the zone (about 24 bytes a
 * msgpack object, at most PR_MAX_OBJECTS objects), freed before return,
 * plus the decoded strings and arrays.
 * No shared state: any thread may call any function.
 */
#include "sl_impl.h"

#include <inttypes.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdlib.h>

#include "proto.h"

/* The protocol nests 4 deep (message, spec, options, pair); leave room. */
#define PR_MAX_DEPTH 8
/*
 * msgpack objects in one message. The largest legal message, a TASK with
 * SL_PROTO_MAX_ITEMS options (3 objects each) and as many map outputs (4
 * each), has fewer than 7 * SL_PROTO_MAX_ITEMS + 32.
 */
#define PR_MAX_OBJECTS (8 * (uint64_t)SL_PROTO_MAX_ITEMS)

enum pr_kind {
	PR_END = 0, /* ends a field table */
	PR_U8,
	PR_U32,
	PR_U64,
	PR_I32,
	PR_I64,
	PR_STR,    /* char *, NUL-free, <= SL_PROTO_MAX_STR bytes */
	PR_STRUCT, /* nested msgpack array of the fields in sub */
	PR_ARRAY,  /* msgpack array of elements described by sub[0] */
};

typedef struct pr_field pr_field;
struct pr_field {
	const char *name;     /* for error messages; "" for an array element */
	enum pr_kind kind;
	size_t off;           /* of the value in the enclosing struct */
	int64_t min;          /* integers: smallest value allowed */
	uint64_t max;         /* integers: largest value allowed */
	const pr_field *sub;  /* PR_STRUCT: its fields; PR_ARRAY: the element */
	size_t count_off;     /* PR_ARRAY: offset of the uint32_t count */
	size_t elem_size;     /* PR_ARRAY: bytes of one element */
};

#define F_INT(n, k, o, lo, hi) \
	{ .name = n, .kind = k, .off = o, .min = lo, .max = hi }
#define F_U8(n, o, lo, hi) F_INT(n, PR_U8, o, lo, hi)
#define F_U32(n, o) F_INT(n, PR_U32, o, 0, UINT32_MAX)
#define F_U32_POS(n, o) F_INT(n, PR_U32, o, 1, UINT32_MAX)
#define F_U64(n, o) F_INT(n, PR_U64, o, 0, UINT64_MAX)
#define F_U64_POS(n, o) F_INT(n, PR_U64, o, 1, UINT64_MAX)
#define F_I32(n, o) F_INT(n, PR_I32, o, INT32_MIN, INT32_MAX)
#define F_I64(n, o) F_INT(n, PR_I64, o, INT64_MIN, INT64_MAX)
#define F_STR(n, o) { .name = n, .kind = PR_STR, .off = o }
#define F_STRUCT(n, o, fields) \
	{ .name = n, .kind = PR_STRUCT, .off = o, .sub = fields }
#define F_ARRAY(n, o, co, elem, type) \
	{ .name = n, .kind = PR_ARRAY, .off = o, .sub = elem, \
	  .count_off = co, .elem_size = sizeof(type) }
#define F_END { .kind = PR_END }

/* Offset of a field of one message's member of the union. */
#define M(msg, f) offsetof(sl_msg, u.msg.f)

static const pr_field pr_attempt_id[] = {
	F_U64("job", offsetof(sl_attempt_id, job)),
	F_U8("kind", offsetof(sl_attempt_id, kind), SL_TASK_MAP, SL_TASK_REDUCE),
	F_U32("task", offsetof(sl_attempt_id, task)),
	F_U32("attempt", offsetof(sl_attempt_id, attempt)),
	F_END
};

static const pr_field pr_kvpair[] = {
	F_STR("key", offsetof(sl_kvpair, key)),
	F_STR("value", offsetof(sl_kvpair, value)),
	F_END
};
static const pr_field pr_kvpair_elem = F_STRUCT("", 0, pr_kvpair);

static const pr_field pr_counter[] = {
	F_STR("name", offsetof(sl_counter, name)),
	F_I64("value", offsetof(sl_counter, value)),
	F_END
};
static const pr_field pr_counter_elem = F_STRUCT("", 0, pr_counter);

static const pr_field pr_map_output[] = {
	F_U32("map", offsetof(sl_map_output, map)),
	F_U32("attempt", offsetof(sl_map_output, attempt)),
	F_STR("endpoint", offsetof(sl_map_output, endpoint)),
	F_END
};
static const pr_field pr_map_output_elem = F_STRUCT("", 0, pr_map_output);

static const pr_field pr_str_elem = F_STR("", 0);

static const pr_field pr_job_spec[] = {
	F_STR("job", offsetof(sl_job_spec, job)),
	F_ARRAY("options", offsetof(sl_job_spec, options),
		offsetof(sl_job_spec, noptions), &pr_kvpair_elem, sl_kvpair),
	F_U32_POS("partitions", offsetof(sl_job_spec, partitions)),
	F_U8("bad_records", offsetof(sl_job_spec, bad_records), 0, 1),
	F_U32_POS("max_attempts", offsetof(sl_job_spec, max_attempts)),
	F_U64_POS("max_record", offsetof(sl_job_spec, max_record)),
	F_U8("shuffle", offsetof(sl_job_spec, shuffle), SL_SHUFFLE_ZMQ,
	     SL_SHUFFLE_MPI),
	F_U64("memory", offsetof(sl_job_spec, memory)),
	F_STR("tmpdir", offsetof(sl_job_spec, tmpdir)),
	F_STR("state_in", offsetof(sl_job_spec, state_in)),
	F_STR("state_out", offsetof(sl_job_spec, state_out)),
	F_I64("watermark_ms", offsetof(sl_job_spec, watermark_ms)),
	F_U8("update", offsetof(sl_job_spec, update), 0, 1),
	F_I64("batch_ms", offsetof(sl_job_spec, batch_ms)),
	F_STR("late_dir", offsetof(sl_job_spec, late_dir)),
	F_END
};

static const pr_field pr_hello[] = {
	F_STR("name", M(hello, name)),
	F_U32("pid", M(hello, pid)),
	F_U32_POS("slots", M(hello, slots)),
	F_STR("shuffle_endpoint", M(hello, shuffle_endpoint)),
	F_END
};

static const pr_field pr_heartbeat[] = {
	F_U32("worker", M(heartbeat, worker)),
	F_U32("running", M(heartbeat, running)),
	F_END
};

static const pr_field pr_task_done[] = {
	F_STRUCT("id", M(task_done, id), pr_attempt_id),
	F_I32("status", M(task_done, status)),
	F_STR("error", M(task_done, error)),
	F_ARRAY("counters", M(task_done, counters), M(task_done, ncounters),
		&pr_counter_elem, sl_counter),
	F_U64("records_in", M(task_done, records_in)),
	F_U64("bytes_in", M(task_done, bytes_in)),
	F_U64("records_out", M(task_done, records_out)),
	F_U64("bytes_out", M(task_done, bytes_out)),
	F_U32("lost_map", M(task_done, lost_map)),
	F_U32("lost_attempt", M(task_done, lost_attempt)),
	F_I64("event_ms_max", M(task_done, event_ms_max)),
	F_END
};

/* COMMIT_REQ, COMMIT_GO and KILL share one layout. */
static const pr_field pr_attempt_only[] = {
	F_STRUCT("id", M(kill, id), pr_attempt_id),
	F_END
};

static const pr_field pr_commit_done[] = {
	F_STRUCT("id", M(commit_done, id), pr_attempt_id),
	F_I32("status", M(commit_done, status)),
	F_STR("error", M(commit_done, error)),
	F_END
};

static const pr_field pr_exchanged[] = {
	F_U64("job", M(exchanged, job)),
	F_I32("status", M(exchanged, status)),
	F_STR("error", M(exchanged, error)),
	F_U32("rank", M(exchanged, rank)),
	F_U32("ranks", M(exchanged, ranks)),
	F_END
};

static const pr_field pr_welcome[] = {
	F_U32("worker", M(welcome, worker)),
	F_U32("heartbeat_ms", M(welcome, heartbeat_ms)),
	F_U32("timeout_ms", M(welcome, timeout_ms)),
	F_END
};

static const pr_field pr_task[] = {
	F_STRUCT("id", M(task, id), pr_attempt_id),
	F_STRUCT("spec", M(task, spec), pr_job_spec),
	F_STR("path", M(task, path)),
	F_U64("start", M(task, start)),
	F_U64("end", M(task, end)),
	F_ARRAY("maps", M(task, maps), M(task, nmaps), &pr_map_output_elem,
		sl_map_output),
	F_STR("output_dir", M(task, output_dir)),
	F_END
};

static const pr_field pr_job_only[] = {
	F_U64("job", M(job_end, job)),
	F_END
};

static const pr_field pr_exchange[] = {
	F_U64("job", M(exchange, job)),
	F_U32_POS("partitions", M(exchange, partitions)),
	F_ARRAY("maps", M(exchange, maps), M(exchange, nmaps),
		&pr_map_output_elem, sl_map_output),
	F_END
};

static const pr_field pr_none[] = {
	F_END
};

static const pr_field pr_stream_spec[] = {
	F_STR("source", offsetof(sl_stream_spec, source)),
	F_STR("sink", offsetof(sl_stream_spec, sink)),
	F_STR("checkpoint", offsetof(sl_stream_spec, checkpoint)),
	F_U8("trigger", offsetof(sl_stream_spec, trigger), SL_TRIGGER_INTERVAL,
	     SL_TRIGGER_AVAILABLE),
	F_U64("interval_ms", offsetof(sl_stream_spec, interval_ms)),
	F_U8("mode", offsetof(sl_stream_spec, mode), SL_MODE_COMPLETE,
	     SL_MODE_APPEND),
	F_INT("delay_ms", PR_I64, offsetof(sl_stream_spec, delay_ms), -1,
	      INT64_MAX),
	F_U64("max_batch_records", offsetof(sl_stream_spec, max_batch_records)),
	F_U8("output", offsetof(sl_stream_spec, output), SL_OUTPUT_LINES,
	     SL_OUTPUT_CSV),
	F_U32("key_columns", offsetof(sl_stream_spec, key_columns)),
	F_STR("late_sink", offsetof(sl_stream_spec, late_sink)),
	F_U8("late_output", offsetof(sl_stream_spec, late_output),
	     SL_OUTPUT_LINES, SL_OUTPUT_CSV),
	F_END
};

static const pr_field pr_range[] = {
	F_U64("start", offsetof(sl_range, start)),
	F_U64("end", offsetof(sl_range, end)),
	F_END
};
static const pr_field pr_range_elem = F_STRUCT("", 0, pr_range);

static const pr_field pr_submit[] = {
	F_STRUCT("spec", M(submit, spec), pr_job_spec),
	F_ARRAY("inputs", M(submit, inputs), M(submit, ninputs), &pr_str_elem,
		char *),
	F_ARRAY("ranges", M(submit, ranges), M(submit, nranges),
		&pr_range_elem, sl_range),
	F_STR("output_dir", M(submit, output_dir)),
	F_U64_POS("split_size", M(submit, split_size)),
	F_U8("overwrite", M(submit, overwrite), 0, 1),
	F_U32("min_workers", M(submit, min_workers)),
	F_STRUCT("stream", M(submit, stream), pr_stream_spec),
	F_END
};

static const pr_field pr_job_done[] = {
	F_U64("job", M(job_done, job)),
	F_I32("status", M(job_done, status)),
	F_STR("error", M(job_done, error)),
	F_ARRAY("counters", M(job_done, counters), M(job_done, ncounters),
		&pr_counter_elem, sl_counter),
	F_U32("maps", M(job_done, maps)),
	F_U32("reduces", M(job_done, reduces)),
	F_U64("bytes_in", M(job_done, bytes_in)),
	F_U64("records_in", M(job_done, records_in)),
	F_U64("records_out", M(job_done, records_out)),
	F_U64("elapsed_ms", M(job_done, elapsed_ms)),
	F_I64("event_ms_max", M(job_done, event_ms_max)),
	F_U64("map_ms", M(job_done, map_ms)),
	F_U64("reduce_ms", M(job_done, reduce_ms)),
	F_END
};

static const pr_field pr_worker_lost[] = {
	F_U32_POS("worker", M(worker_lost, worker)),
	F_U32("pid", M(worker_lost, pid)),
	F_STR("name", M(worker_lost, name)),
	F_STR("endpoint", M(worker_lost, endpoint)),
	F_STR("why", M(worker_lost, why)),
	F_END
};

static const pr_field pr_job_info[] = {
	F_U64("id", offsetof(sl_job_info, id)),
	F_STR("job", offsetof(sl_job_info, job)),
	F_U8("state", offsetof(sl_job_info, state), SL_JOB_QUEUED,
	     SL_JOB_CANCELED),
	F_U64("submitted_ms", offsetof(sl_job_info, submitted_ms)),
	F_U64("started_ms", offsetof(sl_job_info, started_ms)),
	F_U64("ended_ms", offsetof(sl_job_info, ended_ms)),
	F_U32("maps", offsetof(sl_job_info, maps)),
	F_U32("maps_done", offsetof(sl_job_info, maps_done)),
	F_U32("reduces", offsetof(sl_job_info, reduces)),
	F_U32("reduces_done", offsetof(sl_job_info, reduces_done)),
	F_U64("bytes_in", offsetof(sl_job_info, bytes_in)),
	F_STR("output_dir", offsetof(sl_job_info, output_dir)),
	F_STR("error", offsetof(sl_job_info, error)),
	F_U8("stream", offsetof(sl_job_info, stream), 0, 1),
	F_U64("batches", offsetof(sl_job_info, batches)),
	F_STR("progress", offsetof(sl_job_info, progress)),
	F_END
};
static const pr_field pr_job_info_elem = F_STRUCT("", 0, pr_job_info);

static const pr_field pr_worker_info[] = {
	F_U32_POS("id", offsetof(sl_worker_info, id)),
	F_STR("name", offsetof(sl_worker_info, name)),
	F_STR("endpoint", offsetof(sl_worker_info, endpoint)),
	F_U32("slots", offsetof(sl_worker_info, slots)),
	F_U32("busy", offsetof(sl_worker_info, busy)),
	F_U64("silent_ms", offsetof(sl_worker_info, silent_ms)),
	F_END
};
static const pr_field pr_worker_info_elem = F_STRUCT("", 0, pr_worker_info);

static const pr_field pr_attempt_info[] = {
	F_U8("kind", offsetof(sl_attempt_info, kind), SL_TASK_MAP,
	     SL_TASK_REDUCE),
	F_U32("task", offsetof(sl_attempt_info, task)),
	F_U32("attempt", offsetof(sl_attempt_info, attempt)),
	F_U32("worker", offsetof(sl_attempt_info, worker)),
	F_U64("started_ms", offsetof(sl_attempt_info, started_ms)),
	F_U64("ended_ms", offsetof(sl_attempt_info, ended_ms)),
	F_U8("state", offsetof(sl_attempt_info, state), SL_ATTEMPT_RUNNING,
	     SL_ATTEMPT_ABORTED),
	F_U8("speculative", offsetof(sl_attempt_info, speculative), 0, 1),
	F_STR("error", offsetof(sl_attempt_info, error)),
	F_END
};
static const pr_field pr_attempt_info_elem =
	F_STRUCT("", 0, pr_attempt_info);

static const pr_field pr_log[] = {
	F_U64("job", M(log, job)),
	F_U64("from", M(log, from)),
	F_END
};

static const pr_field pr_job_log[] = {
	F_U64("job", M(job_log, job)),
	F_I32("status", M(job_log, status)),
	F_STR("error", M(job_log, error)),
	F_U64("total", M(job_log, total)),
	F_ARRAY("attempts", M(job_log, attempts), M(job_log, nattempts),
		&pr_attempt_info_elem, sl_attempt_info),
	F_ARRAY("counters", M(job_log, counters), M(job_log, ncounters),
		&pr_counter_elem, sl_counter),
	F_END
};

static const pr_field pr_job_id[] = {
	F_U64("job", M(status, job)),
	F_END
};

static const pr_field pr_canceled[] = {
	F_U64("job", M(canceled, job)),
	F_I32("status", M(canceled, status)),
	F_STR("error", M(canceled, error)),
	F_END
};

static const pr_field pr_job_list[] = {
	F_ARRAY("jobs", M(job_list, jobs), M(job_list, njobs),
		&pr_job_info_elem, sl_job_info),
	F_END
};

static const pr_field pr_worker_list[] = {
	F_ARRAY("workers", M(worker_list, workers), M(worker_list, nworkers),
		&pr_worker_info_elem, sl_worker_info),
	F_END
};

static const pr_field pr_fetch[] = {
	F_U64("job", M(fetch, job)),
	F_U32("map", M(fetch, map)),
	F_U32("attempt", M(fetch, attempt)),
	F_U32("partition", M(fetch, partition)),
	F_U64("offset", M(fetch, offset)),
	F_U32("max_bytes", M(fetch, max_bytes)),
	F_END
};

static const pr_field pr_fetch_reply[] = {
	F_I32("status", M(fetch_reply, status)),
	F_U64("total", M(fetch_reply, total)),
	F_U64("offset", M(fetch_reply, offset)),
	F_END
};

/* STATUS and CANCEL carry only a job id. */
_Static_assert(M(status, job) == M(cancel, job), "job id offsets differ");
/* JOB_END and ACCEPTED carry only a job id, at the same offset. */
_Static_assert(M(job_end, job) == M(accepted, job), "job id offsets differ");
_Static_assert(M(kill, id) == M(commit_req, id) &&
	       M(kill, id) == M(commit_go, id), "attempt id offsets differ");

typedef struct pr_msgdef {
	const char *name;       /* "HELLO", ...; NULL for an unused type */
	const pr_field *fields; /* in wire order */
} pr_msgdef;

static const pr_msgdef pr_msgdefs[] = {
	[SL_MSG_HELLO] = { "HELLO", pr_hello },
	[SL_MSG_HEARTBEAT] = { "HEARTBEAT", pr_heartbeat },
	[SL_MSG_TASK_DONE] = { "TASK_DONE", pr_task_done },
	[SL_MSG_COMMIT_REQ] = { "COMMIT_REQ", pr_attempt_only },
	[SL_MSG_COMMIT_DONE] = { "COMMIT_DONE", pr_commit_done },
	[SL_MSG_EXCHANGED] = { "EXCHANGED", pr_exchanged },
	[SL_MSG_WELCOME] = { "WELCOME", pr_welcome },
	[SL_MSG_TASK] = { "TASK", pr_task },
	[SL_MSG_COMMIT_GO] = { "COMMIT_GO", pr_attempt_only },
	[SL_MSG_KILL] = { "KILL", pr_attempt_only },
	[SL_MSG_JOB_END] = { "JOB_END", pr_job_only },
	[SL_MSG_SHUTDOWN] = { "SHUTDOWN", pr_none },
	[SL_MSG_EXCHANGE] = { "EXCHANGE", pr_exchange },
	[SL_MSG_REJOIN] = { "REJOIN", pr_none },
	[SL_MSG_SUBMIT] = { "SUBMIT", pr_submit },
	[SL_MSG_ACCEPTED] = { "ACCEPTED", pr_job_only },
	[SL_MSG_JOB_DONE] = { "JOB_DONE", pr_job_done },
	[SL_MSG_WORKER_LOST] = { "WORKER_LOST", pr_worker_lost },
	[SL_MSG_STATUS] = { "STATUS", pr_job_id },
	[SL_MSG_LOG] = { "LOG", pr_log },
	[SL_MSG_LIST] = { "LIST", pr_none },
	[SL_MSG_JOB_LIST] = { "JOB_LIST", pr_job_list },
	[SL_MSG_CANCEL] = { "CANCEL", pr_job_id },
	[SL_MSG_CANCELED] = { "CANCELED", pr_canceled },
	[SL_MSG_WORKERS] = { "WORKERS", pr_none },
	[SL_MSG_WORKER_LIST] = { "WORKER_LIST", pr_worker_list },
	[SL_MSG_JOB_LOG] = { "JOB_LOG", pr_job_log },
	[SL_MSG_FETCH] = { "FETCH", pr_fetch },
	[SL_MSG_FETCH_REPLY] = { "FETCH_REPLY", pr_fetch_reply },
};

static const pr_msgdef *
pr_msgdef_of(uint64_t type)
{
	if (type >= SL_ARRAY_LEN(pr_msgdefs) || !pr_msgdefs[type].name)
		return NULL;
	return &pr_msgdefs[type];
}

const char *
sl_msg_type_name(int type)
{
	const pr_msgdef *def = type < 0 ? NULL : pr_msgdef_of((uint64_t)type);

	return def ? def->name : "?";
}

static uint32_t
pr_nfields(const pr_field *fields)
{
	uint32_t n = 0;

	while (fields[n].kind != PR_END)
		n++;
	return n;
}

/* Whether the value (v when neg, else u) lies in f's range. */
static bool
pr_in_range(const pr_field *f, bool neg, int64_t v, uint64_t u)
{
	if (neg)
		return v >= f->min;
	return u <= f->max && (f->min <= 0 || u >= (uint64_t)f->min);
}

/* ---- encoding ---- */

static int
pr_write(void *data, const char *buf, size_t len)
{
	return sl_buf_add(data, buf, len) == SL_OK ? 0 : -1;
}

static int pr_pack_fields(msgpack_packer *pk, const pr_field *fields,
			  const char *base);

/* Packs the integer field at p, which must lie in f's range. */
static int
pr_pack_int(msgpack_packer *pk, const pr_field *f, const char *p)
{
	uint64_t u = 0;
	int64_t v = 0;

	switch (f->kind) {
	case PR_U8: u = *(const uint8_t *)p; break;
	case PR_U32: u = *(const uint32_t *)p; break;
	case PR_U64: u = *(const uint64_t *)p; break;
	case PR_I32: v = *(const int32_t *)p; break;
	default: v = *(const int64_t *)p; break; /* PR_I64 */
	}
	if (v < 0) {
		if (!pr_in_range(f, true, v, 0))
			return SL_EINVAL;
		return msgpack_pack_int64(pk, v) ? SL_ENOMEM : SL_OK;
	}
	if (v > 0)
		u = (uint64_t)v;
	if (!pr_in_range(f, false, 0, u))
		return SL_EINVAL;
	return msgpack_pack_uint64(pk, u) ? SL_ENOMEM : SL_OK;
}

/* Packs the value of f found in the struct at base. */
static int
pr_pack_value(msgpack_packer *pk, const pr_field *f, const char *base)
{
	const char *p = base + f->off;
	const char *s, *elems;
	uint32_t n, i;
	size_t len;
	int rv;

	switch (f->kind) {
	case PR_STR:
		/* NULL is sent as "", so callers may leave unused strings. */
		s = *(char *const *)p;
		s = s ? s : "";
		len = strlen(s);
		if (len > SL_PROTO_MAX_STR)
			return SL_EINVAL;
		return msgpack_pack_str_with_body(pk, s, len) ? SL_ENOMEM
							      : SL_OK;
	case PR_STRUCT:
		if (msgpack_pack_array(pk, pr_nfields(f->sub)))
			return SL_ENOMEM;
		return pr_pack_fields(pk, f->sub, p);
	case PR_ARRAY:
		elems = *(char *const *)p;
		n = *(const uint32_t *)(base + f->count_off);
		if (n > SL_PROTO_MAX_ITEMS || (n && !elems))
			return SL_EINVAL;
		if (msgpack_pack_array(pk, n))
			return SL_ENOMEM;
		for (i = 0; i < n; i++) {
			rv = pr_pack_value(pk, f->sub, elems + i * f->elem_size);
			if (rv != SL_OK)
				return rv;
		}
		return SL_OK;
	default:
		return pr_pack_int(pk, f, p);
	}
}

/* Packs the fields of a struct, without the array header. */
static int
pr_pack_fields(msgpack_packer *pk, const pr_field *fields, const char *base)
{
	int rv;

	for (; fields->kind != PR_END; fields++) {
		rv = pr_pack_value(pk, fields, base);
		if (rv != SL_OK)
			return rv;
	}
	return SL_OK;
}

int
sl_msg_encode(const sl_msg *m, sl_buf *out)
{
	const pr_msgdef *def = pr_msgdef_of(m->type);
	size_t start = out->len;
	msgpack_packer pk;
	int rv;

	if (def == NULL)
		return SL_EINVAL;
	msgpack_packer_init(&pk, out, pr_write);
	rv = SL_ENOMEM;
	if (msgpack_pack_array(&pk, 2 + pr_nfields(def->fields)) ||
	    msgpack_pack_uint64(&pk, SL_PROTO_VERSION) ||
	    msgpack_pack_uint64(&pk, m->type))
		goto fail;
	rv = pr_pack_fields(&pk, def->fields, (const char *)m);
	if (rv != SL_OK)
		goto fail;
	if (out->len - start > SL_PROTO_MAX_MSG) {
		rv = SL_EINVAL;
		goto fail;
	}
	return SL_OK;
fail:
	sl_buf_setlen(out, start);
	return rv;
}

/* ---- releasing ---- */

static void
pr_release_value(const pr_field *f, char *base)
{
	char *p = base + f->off;
	char *elems;
	uint32_t n, i;

	switch (f->kind) {
	case PR_STR:
		free(*(char **)p);
		break;
	case PR_STRUCT:
		for (f = f->sub; f->kind != PR_END; f++)
			pr_release_value(f, p);
		break;
	case PR_ARRAY:
		elems = *(char **)p;
		n = *(uint32_t *)(base + f->count_off);
		for (i = 0; elems && i < n; i++)
			pr_release_value(f->sub, elems + i * f->elem_size);
		free(elems);
		break;
	default:
		break;
	}
}

void
sl_msg_release(sl_msg *m)
{
	const pr_msgdef *def;
	const pr_field *f;

	if (m == NULL)
		return;
	def = pr_msgdef_of(m->type);
	for (f = def ? def->fields : pr_none; f->kind != PR_END; f++)
		pr_release_value(f, (char *)m);
	memset(m, 0, sizeof(*m));
}

/* ---- decoding ---- */

typedef struct pr_dec {
	sl_buf *err;       /* where the reason goes; may be NULL */
	const char *msg;   /* message type name once known, else NULL */
	char path[128];    /* the field being decoded, e.g. "maps[3].endpoint" */
} pr_dec;

static int pr_fail(pr_dec *d, int rv, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static size_t pr_path_push(pr_dec *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int pr_unpack_value(pr_dec *d, const pr_field *f,
			   const msgpack_object *o, char *base);
static int pr_unpack_fields(pr_dec *d, const pr_field *fields,
			    const msgpack_object *items, uint32_t n,
			    char *base);

/*
 * Appends "MSG: field 'PATH': reason" (the parts known so far) to d->err;
 * returns rv.
 */
static int
pr_fail(pr_dec *d, int rv, const char *fmt, ...)
{
	va_list ap;

	if (d->err == NULL)
		return rv;
	if (d->msg)
		(void)sl_buf_addf(d->err, "%s: ", d->msg);
	if (d->path[0])
		(void)sl_buf_addf(d->err, "field '%s': ", d->path);
	va_start(ap, fmt);
	(void)sl_buf_vaddf(d->err, fmt, ap);
	va_end(ap);
	return rv;
}

/* Extends d->path by "name" / ".name" / "[i]"; returns the old length. */
static size_t
pr_path_push(pr_dec *d, const char *fmt, ...)
{
	size_t mark = strlen(d->path);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->path + mark, sizeof(d->path) - mark, fmt, ap);
	va_end(ap);
	return mark;
}

static const char *
pr_obj_type(const msgpack_object *o)
{
	switch (o->type) {
	case MSGPACK_OBJECT_NIL: return "nil";
	case MSGPACK_OBJECT_BOOLEAN: return "bool";
	case MSGPACK_OBJECT_POSITIVE_INTEGER: return "int";
	case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "negative int";
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64: return "float";
	case MSGPACK_OBJECT_STR: return "str";
	case MSGPACK_OBJECT_ARRAY: return "array";
	case MSGPACK_OBJECT_MAP: return "map";
	case MSGPACK_OBJECT_BIN: return "bin";
	case MSGPACK_OBJECT_EXT: return "ext";
	}
	return "?";
}

/* Header of the msgpack object at p: see pr_head(). */
enum { PR_HEAD_OK, PR_HEAD_SHORT, PR_HEAD_BAD };

static uint64_t
pr_be(const unsigned char *p, int width)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < width; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * Measures the object whose first byte is at p, avail bytes available:
 * *size is its bytes up to (not including) its elements, *elems the number
 * of objects that follow as its elements (2 per map entry). Returns
 * PR_HEAD_SHORT when those bytes run past avail, PR_HEAD_BAD for the
 * never-used byte 0xc1.
 */
static int
pr_head(const unsigned char *p, size_t avail, uint64_t *size, uint64_t *elems)
{
	enum { LEN_NONE, LEN_PAYLOAD, LEN_ARRAY, LEN_MAP } what = LEN_NONE;
	unsigned c = p[0];
	int width = 0;      /* bytes of the length or count after byte 0 */
	uint64_t fixed = 0; /* further bytes of a fixed-size payload */
	uint64_t len;

	*elems = 0;
	if (c >= 0x80 && c <= 0x8f) /* fixmap */
		*elems = 2 * (uint64_t)(c & 0x0f);
	else if (c >= 0x90 && c <= 0x9f) /* fixarray */
		*elems = c & 0x0f;
	else if (c >= 0xa0 && c <= 0xbf) /* fixstr */
		fixed = c & 0x1f;
	else if (c >= 0xc0 && c <= 0xdf)
		switch (c) {
		case 0xc1: return PR_HEAD_BAD; /* never used */
		case 0xc4: case 0xd9: what = LEN_PAYLOAD; width = 1; break;
		case 0xc5: case 0xda: what = LEN_PAYLOAD; width = 2; break;
		case 0xc6: case 0xdb: what = LEN_PAYLOAD; width = 4; break;
		case 0xc7: what = LEN_PAYLOAD; width = 1; fixed = 1; break;
		case 0xc8: what = LEN_PAYLOAD; width = 2; fixed = 1; break;
		case 0xc9: what = LEN_PAYLOAD; width = 4; fixed = 1; break;
		case 0xca: case 0xce: case 0xd2: fixed = 4; break;
		case 0xcb: case 0xcf: case 0xd3: fixed = 8; break;
		case 0xcc: case 0xd0: fixed = 1; break;
		case 0xcd: case 0xd1: fixed = 2; break;
		case 0xd4: fixed = 2; break; /* fixext: type byte + data */
		case 0xd5: fixed = 3; break;
		case 0xd6: fixed = 5; break;
		case 0xd7: fixed = 9; break;
		case 0xd8: fixed = 17; break;
		case 0xdc: what = LEN_ARRAY; width = 2; break;
		case 0xdd: what = LEN_ARRAY; width = 4; break;
		case 0xde: what = LEN_MAP; width = 2; break;
		case 0xdf: what = LEN_MAP; width = 4; break;
		default: break; /* nil, false, true */
		}
	/* else a positive or negative fixint: the one byte */
	if ((size_t)width >= avail)
		return PR_HEAD_SHORT;
	len = pr_be(p + 1, width);
	if (what == LEN_PAYLOAD)
		fixed += len;
	else if (what == LEN_ARRAY)
		*elems = len;
	else if (what == LEN_MAP)
		*elems = 2 * len;
	*size = 1 + (uint64_t)width + fixed;
	return *size > avail ? PR_HEAD_SHORT : PR_HEAD_OK;
}

/*
 * Checks, without allocating, that [p, p+len) is exactly one complete
 * msgpack object within the depth and object limits, and that no
 * container claims more elements than there are bytes left (each element
 * takes at least one byte).
 */
static int
pr_prescan(pr_dec *d, const unsigned char *p, size_t len)
{
	uint64_t left[PR_MAX_DEPTH]; /* elements still due in each open
	                                container, outermost first */
	uint64_t size, elems, objects = 0;
	size_t pos = 0;
	int depth = 0;

	for (;;) {
		if (pos == len)
			return pr_fail(d, SL_EPROTO, "truncated message");
		switch (pr_head(p + pos, len - pos, &size, &elems)) {
		case PR_HEAD_SHORT:
			return pr_fail(d, SL_EPROTO, "truncated message");
		case PR_HEAD_BAD:
			return pr_fail(d, SL_EPROTO,
				       "invalid byte 0x%02x at offset %zu",
				       p[pos], pos);
		}
		pos += size;
		if (++objects > PR_MAX_OBJECTS)
			return pr_fail(d, SL_EPROTO,
				       "more than %" PRIu64 " objects",
				       PR_MAX_OBJECTS);
		if (elems > len - pos)
			return pr_fail(d, SL_EPROTO, "truncated message: %"
				       PRIu64 " elements claimed in %zu bytes",
				       elems, len - pos);
		if (elems > 0) {
			if (depth == PR_MAX_DEPTH)
				return pr_fail(d, SL_EPROTO,
					       "nested deeper than %d",
					       PR_MAX_DEPTH);
			left[depth++] = elems;
			continue;
		}
		/* An object ended: close the containers it completes. */
		while (depth > 0 && --left[depth - 1] == 0)
			depth--;
		if (depth == 0)
			break;
	}
	if (pos != len)
		return pr_fail(d, SL_EPROTO, "%zu trailing bytes after the message",
			       len - pos);
	return SL_OK;
}

static int
pr_unpack_int(pr_dec *d, const pr_field *f, const msgpack_object *o, char *p)
{
	bool neg = o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
	int64_t v = 0;
	uint64_t u = 0;

	if (!neg && o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return pr_fail(d, SL_EPROTO, "expected int, got %s",
			       pr_obj_type(o));
	if (neg)
		v = o->via.i64;
	else
		u = o->via.u64;
	if (!pr_in_range(f, neg, v, u)) {
		if (neg)
			return pr_fail(d, SL_EPROTO, "%" PRId64 " is out of "
				       "range [%" PRId64 ", %" PRIu64 "]",
				       v, f->min, f->max);
		return pr_fail(d, SL_EPROTO, "%" PRIu64 " is out of range [%"
			       PRId64 ", %" PRIu64 "]", u, f->min, f->max);
	}
	if (!neg && f->min < 0)
		v = (int64_t)u; /* a signed field; in range, so it fits */
	switch (f->kind) {
	case PR_U8: *(uint8_t *)p = (uint8_t)u; break;
	case PR_U32: *(uint32_t *)p = (uint32_t)u; break;
	case PR_U64: *(uint64_t *)p = u; break;
	case PR_I32: *(int32_t *)p = (int32_t)v; break;
	default: *(int64_t *)p = v; break; /* PR_I64 */
	}
	return SL_OK;
}

static int
pr_unpack_str(pr_dec *d, const msgpack_object *o, char **out)
{
	const char *src;
	uint32_t len;

	if (o->type != MSGPACK_OBJECT_STR)
		return pr_fail(d, SL_EPROTO, "expected str, got %s",
			       pr_obj_type(o));
	len = o->via.str.size;
	/* msgpack-c gives an empty str a NULL ptr; mem*() want non-NULL */
	src = len ? o->via.str.ptr : "";
	if (len > SL_PROTO_MAX_STR)
		return pr_fail(d, SL_EPROTO, "string of %" PRIu32 " bytes "
			       "exceeds the limit of %d", len, SL_PROTO_MAX_STR);
	if (memchr(src, '\0', len))
		return pr_fail(d, SL_EPROTO, "string contains a NUL byte");
	*out = malloc((size_t)len + 1);
	if (*out == NULL)
		return pr_fail(d, SL_ENOMEM, "out of memory");
	memcpy(*out, src, len);
	(*out)[len] = '\0';
	return SL_OK;
}

static int
pr_unpack_array(pr_dec *d, const pr_field *f, const msgpack_object *o,
		char *base)
{
	uint32_t n = o->via.array.size, i;
	char *elems;
	size_t mark;
	int rv;

	if (n > SL_PROTO_MAX_ITEMS)
		return pr_fail(d, SL_EPROTO, "%" PRIu32 " elements exceed the "
			       "limit of %d", n, SL_PROTO_MAX_ITEMS);
	if (n == 0)
		return SL_OK; /* stays NULL, 0 */
	elems = calloc(n, f->elem_size);
	if (elems == NULL)
		return pr_fail(d, SL_ENOMEM, "out of memory");
	/* Owned by the message from now on, so release can free a part. */
	*(char **)(base + f->off) = elems;
	*(uint32_t *)(base + f->count_off) = n;
	for (i = 0; i < n; i++) {
		mark = pr_path_push(d, "[%" PRIu32 "]", i);
		rv = pr_unpack_value(d, f->sub, &o->via.array.ptr[i],
				     elems + i * f->elem_size);
		d->path[mark] = '\0';
		if (rv != SL_OK)
			return rv;
	}
	return SL_OK;
}

/* Checks o against f and stores it into the struct at base. */
static int
pr_unpack_value(pr_dec *d, const pr_field *f, const msgpack_object *o,
		char *base)
{
	char *p = base + f->off;

	switch (f->kind) {
	case PR_STR:
		return pr_unpack_str(d, o, (char **)p);
	case PR_STRUCT:
	case PR_ARRAY:
		if (o->type != MSGPACK_OBJECT_ARRAY)
			return pr_fail(d, SL_EPROTO, "expected array, got %s",
				       pr_obj_type(o));
		if (f->kind == PR_ARRAY)
			return pr_unpack_array(d, f, o, base);
		return pr_unpack_fields(d, f->sub, o->via.array.ptr,
					o->via.array.size, p);
	default:
		return pr_unpack_int(d, f, o, p);
	}
}

/* Decodes the n msgpack objects at items as the fields of a struct. */
static int
pr_unpack_fields(pr_dec *d, const pr_field *fields,
		 const msgpack_object *items, uint32_t n, char *base)
{
	uint32_t want = pr_nfields(fields), i;
	size_t mark;
	int rv;

	if (n != want)
		return pr_fail(d, SL_EPROTO, "field count %" PRIu32 ", expected %"
			       PRIu32, n, want);
	for (i = 0; i < n; i++) {
		mark = pr_path_push(d, d->path[0] ? ".%s" : "%s",
				    fields[i].name);
		rv = pr_unpack_value(d, &fields[i], &items[i], base);
		d->path[mark] = '\0';
		if (rv != SL_OK)
			return rv;
	}
	return SL_OK;
}

/* Decodes the root object: [version, type, fields...]. */
static int
pr_unpack_msg(pr_dec *d, const msgpack_object *root, sl_msg *m)
{
	const msgpack_object *items;
	const pr_msgdef *def;

	if (root->type != MSGPACK_OBJECT_ARRAY)
		return pr_fail(d, SL_EPROTO, "message is not an array (got %s)",
			       pr_obj_type(root));
	items = root->via.array.ptr;
	if (root->via.array.size < 2)
		return pr_fail(d, SL_EPROTO, "message has %" PRIu32 " elements, "
			       "expected version and type first",
			       root->via.array.size);
	if (items[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return pr_fail(d, SL_EPROTO, "version: expected int, got %s",
			       pr_obj_type(&items[0]));
	if (items[0].via.u64 != SL_PROTO_VERSION)
		return pr_fail(d, SL_EVERSION, "unsupported protocol version %"
			       PRIu64 " (expected %d)", items[0].via.u64,
			       SL_PROTO_VERSION);
	if (items[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return pr_fail(d, SL_EPROTO, "type: expected int, got %s",
			       pr_obj_type(&items[1]));
	def = pr_msgdef_of(items[1].via.u64);
	if (def == NULL)
		return pr_fail(d, SL_EPROTO, "unknown message type %" PRIu64,
			       items[1].via.u64);
	d->msg = def->name;
	m->type = (uint8_t)items[1].via.u64;
	return pr_unpack_fields(d, def->fields, items + 2,
				root->via.array.size - 2, (char *)m);
}

int
sl_msg_decode(const void *data, size_t len, sl_msg *m, sl_buf *err)
{
	pr_dec d = { .err = err };
	msgpack_unpacked up;
	msgpack_unpack_return ur;
	size_t off = 0;
	int rv;

	memset(m, 0, sizeof(*m));
	if (len == 0)
		return pr_fail(&d, SL_EPROTO, "empty message");
	if (len > SL_PROTO_MAX_MSG)
		return pr_fail(&d, SL_EPROTO, "message of %zu bytes exceeds "
			       "the limit of %d", len, SL_PROTO_MAX_MSG);
	rv = pr_prescan(&d, data, len);
	if (rv != SL_OK)
		return rv;
	msgpack_unpacked_init(&up);
	ur = msgpack_unpack_next(&up, data, len, &off);
	if (ur == MSGPACK_UNPACK_NOMEM_ERROR)
		rv = pr_fail(&d, SL_ENOMEM, "out of memory");
	else if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
		rv = pr_fail(&d, SL_EPROTO, "malformed msgpack");
	else
		rv = pr_unpack_msg(&d, &up.data, m);
	msgpack_unpacked_destroy(&up);
	if (rv != SL_OK)
		sl_msg_release(m);
	return rv;
}

int
sl_counters_add(sl_counter **v, uint32_t *n, size_t *alloc, const char *name,
		int64_t value)
{
	uint32_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*v)[i].name, name) == 0) {
			(*v)[i].value += value;
			return SL_OK;
		}
	}
	if (*n >= SL_COUNTERS_MAX)
		return SL_ETOOBIG;
	if (sl_array_grow(v, alloc, *n + 1, sizeof(**v)) != SL_OK ||
	    ((*v)[*n].name = strdup(name)) == NULL)
		return SL_ENOMEM;
	(*v)[(*n)++].value = value;
	return SL_OK;
}

const char *
sl_job_state_name(int state)
{
	static const char *const names[] = { "queued", "running", "succeeded",
					     "failed", "canceled" };

	return state >= 0 && state < (int)SL_ARRAY_LEN(names) ? names[state]
							       : "?";
}
