/*
 * sluice.h - the public job API of sluice.
 *
 * A job is a table of callbacks (struct sl_job) that the engine calls inside
 * task attempts running on worker processes:
 *
 *   map task:    task_begin -> map (once per input record) -> task_end
 *                values emitted by map go through the in-memory combine
 *                (hash aggregation with job->combine, when set), are
 *                partitioned by key and sorted, and wait for the reducers.
 *   reduce task: task_begin -> reduce (once per key, keys in memcmp order,
 *                values of a key in input order) -> task_end
 *                sl_emit() in a reduce writes "key\tvalue\n" to the part
 *                file, sl_write() writes raw bytes.
 *
 * All callbacks of one task attempt run on one thread. Callbacks return
 * SL_OK or an error code; a failing callback fails the task attempt, and the
 * message set with sl_fail() is the attempt's error.
 *
 * A job built as a shared object exports `const struct sl_job sluice_job`
 * and runs with `sluice run ./myjob.so ...`. The built-in jobs (jobs/)
 * use this same API.
 *
 * Memory: every pointer the engine hands to a callback (records, keys,
 * values, options) is valid only during that callback. Data the engine
 * copies (emitted keys and values) may be freed or reused by the job at once.
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A job's api_version must equal this (jobs/jobs.c refuses others).
 * 2: sl_dec_avg() writes its text, so an average never overflows.
 * 3: sl_job.partition_prefix.
 * 4: SL_INPUT_CSV reads JSON lines too (sl_input_columns), and
 *    partition_prefix takes the task's context. (sl_set_key_columns,
 *    a new function, changes no struct: a job that calls it is refused
 *    at load by a sluice without it, the symbol named; so with
 *    sl_emit_late.) */
#define SL_API_VERSION 4

/*
 * Error codes: SL_OK is 0, the others are negative. SL_ERRNO_MAP makes both
 * the enum and the messages of sl_strerror().
 */
#define SL_ERRNO_MAP(XX)                                                      \
	XX(NOMEM, "out of memory")                                            \
	XX(INVAL, "invalid argument")                                         \
	XX(IO, "input/output error")                                          \
	XX(NOTFOUND, "not found")                                             \
	XX(BADRECORD, "malformed record")                                     \
	XX(OVERFLOW, "numeric overflow")                                      \
	XX(PROTO, "protocol error")                                           \
	XX(TOOBIG, "too large")                                               \
	XX(JOB, "job failed")                                                 \
	XX(CANCELED, "canceled")                                              \
	XX(TIMEOUT, "timed out")                                              \
	XX(LOST, "peer lost")                                                 \
	XX(USAGE, "usage error")                                              \
	XX(INTERNAL, "internal error")                                        \
	XX(VERSION, "another protocol version")

typedef enum sl_err {
	SL_OK = 0,
#define XX(code, _) SL_E##code,
	SL__ERR_FIRST = -100,
	SL_ERRNO_MAP(XX)
#undef XX
} sl_err;

/* Static message for an error code; never NULL. */
const char *sl_strerror(int err);

/* A task attempt in progress; opaque. */
typedef struct sl_ctx sl_ctx;

/* A byte string that is not NUL-terminated. */
typedef struct sl_slice {
	const char *ptr;
	size_t len;
} sl_slice;

/* How the input files are cut into records for map(). */
typedef enum sl_input_format {
	SL_INPUT_LINES = 1, /* one record per line, without "\n" or "\r\n" */
	SL_INPUT_CSV = 2,   /* tables, chosen per file: RFC 4180 rows, the
	                       first row of each file the header, which is
	                       not passed to map(); or JSON lines (a file
	                       whose first byte that is not blank is '{'):
	                       one object a line, its members read by the
	                       names the job gives (sl_input_columns) */
	SL_INPUT_BLOCKS = 3, /* runs of whole lines, up to 256 KiB: one
	                       record holds one or more lines, each with its
	                       "\n" or "\r\n" (the last line of a file may
	                       have none); for a map that takes "\n" as one
	                       more separator, with one call per run instead
	                       of per line. Lines longer than
	                       --max-record-size are bad records, as with
	                       SL_INPUT_LINES. */
} sl_input_format;

/* What a job writes in its part files. */
typedef enum sl_output_format {
	SL_OUTPUT_LINES = 0, /* "key<TAB>value" lines (sl_emit), or any */
	SL_OUTPUT_CSV = 1,   /* RFC 4180 rows, a header row first in each
	                        part file (sl_write_header) */
} sl_output_format;

/* One input record, as map() sees it. */
typedef struct sl_record {
	sl_slice line;         /* the line; BLOCKS: the lines; CSV: the raw
	                          row */
	const sl_slice *fields; /* SL_INPUT_CSV: the unquoted fields; JSON
	                          lines: the values of the columns of
	                          sl_input_columns, in its order */
	size_t nfields;        /* SL_INPUT_CSV: number of fields */
	const char *file;      /* the input file's path */
	uint64_t offset;       /* byte offset of the record in that file */
} sl_record;

/* An option that a job accepts on the command line (--name VALUE). */
typedef struct sl_job_option {
	const char *name;    /* without the leading "--" */
	const char *arg;     /* the value's name in --help, e.g. "COL,..." */
	const char *help;    /* one line */
} sl_job_option;

/* The values of one key in reduce(), in input order. */
typedef struct sl_values sl_values;

/*
 * Next value of the key: sets *val and *len and returns 1, or returns 0
 * when there are no more. The value is valid until the next call.
 */
int sl_values_next(sl_values *it, const void **val, size_t *len);

typedef struct sl_job {
	int api_version;        /* SL_API_VERSION */
	const char *name;       /* e.g. "wordcount" */
	const char *summary;    /* one line for `sluice run --help` */
	sl_input_format input;
	const sl_job_option *options; /* ends with {NULL}; may be NULL */

	/*
	 * Optional. Validates the job's options before the job is submitted
	 * (on the submitting host, without input data). Returns SL_OK, or
	 * SL_EUSAGE with a message set by sl_fail(): `sluice` exits 2.
	 */
	int (*check)(sl_ctx *ctx);

	/* Optional. Called at the start and end of every task attempt. */
	int (*task_begin)(sl_ctx *ctx);
	int (*task_end)(sl_ctx *ctx);

	/* Required. Called once per input record in a map task. */
	int (*map)(sl_ctx *ctx, const sl_record *rec);

	/*
	 * Optional: the in-memory combine. Folds value `val` into the
	 * accumulated value `acc` of the same key, in place. Both are
	 * `len` bytes: a job with a combine emits values of one fixed length
	 * per key (an emit of a different length for a key already held is an
	 * error). Must be associative and commutative.
	 */
	int (*combine)(sl_ctx *ctx, void *acc, const void *val, size_t len);

	/* Required. Called once per key in a reduce task, keys in order. */
	int (*reduce)(sl_ctx *ctx, const void *key, size_t klen,
		      sl_values *vals);

	/*
	 * Optional: the length of the key's first bytes that choose its
	 * partition (at most klen); NULL: the whole key. Keys of one prefix
	 * then meet in one reduce task, where they come in key order, so
	 * that reduce() can carry state from key to key (the window job's
	 * sessions: key fields, then event time). Called in map tasks, on
	 * their thread, with the task's context, also after task_end (the
	 * engine partitions its combine table when it drains it): read the
	 * options (sl_option) to know how the keys are made, not the task
	 * data, which task_end may have freed.
	 */
	size_t (*partition_prefix)(sl_ctx *ctx, const void *key, size_t klen);

	/* What the lines of its part files are, for the sinks of a stream
	 * that read them (a database's columns). */
	sl_output_format output;
} sl_job;

/*
 * Emit a key and value. In map: into the shuffle (through combine). In
 * reduce: "key\tvalue\n" into the part file. Copies both. Returns SL_OK,
 * SL_ENOMEM, SL_ETOOBIG, or an error from combine; in map, the error may
 * be that of an earlier emit of the same map() call (the engine holds a
 * few counts back to add them together), and map() should return it:
 * the engine then fails the task with a message that explains it.
 */
int sl_emit(sl_ctx *ctx, const void *key, size_t klen,
	    const void *val, size_t vlen);

/*
 * A combine for the commonest case: adds the 8-byte counts (sl_u64_put
 * layout) acc and val into acc. Set it as a job's .combine: the engine
 * knows it and adds the counts of the map side's combine table inline,
 * without a call per emitted value (word count's fast path). Values
 * emitted in map must then be 8 bytes. Fails (SL_EJOB, with a message)
 * when len is not 8 or the sum overflows 64 bits: never a wrong count.
 */
int sl_combine_sum_u64(sl_ctx *ctx, void *acc, const void *val, size_t len);

/* Reduce (and task_begin/task_end of a reduce): raw bytes to the part file. */
int sl_write(sl_ctx *ctx, const void *data, size_t len);

/*
 * As sl_write, for a header row (a CSV header in each part file): its
 * lines are not counted as output records in the job's summary.
 */
int sl_write_header(sl_ctx *ctx, const void *data, size_t len);

/*
 * Streams (docs/stream.md). In map: the event time of the record, in ms
 * since the epoch; the engine keeps the latest of the batch, from which
 * the stream's watermark advances (that latest, less --watermark). In
 * map and reduce: the watermark the batch runs with: 1 and *ms, or 0
 * when there is none (a batch job; a stream without --watermark). In a
 * stream's reduce (which gets the key's value folded with the state's as
 * its one value): the key's value leaves the state after this reduce,
 * its row being final (append mode); without it, it stays.
 */
void sl_event_time(sl_ctx *ctx, int64_t ms);

/*
 * When the job, or the stream's batch, was planned (ms since the epoch):
 * the processing time of every record of it, the same for all and, for a
 * stream's batch, the same again when the batch is replayed (it is in
 * the offset log), so that processing-time windows stay deterministic.
 */
int64_t sl_batch_time(const sl_ctx *ctx);
int sl_watermark(const sl_ctx *ctx, int64_t *ms);
void sl_state_drop(sl_ctx *ctx);

/*
 * In map: rec, the record map() was given, is late: the windows it
 * belongs to are final already (the watermark has passed them), and it
 * goes into none. The engine counts it in the counter "late_records"
 * and, for a stream with --late sink:URI, writes it to that sink as it
 * came (rec->line, then "\n" unless it ends with one), once: the map
 * task's late records of a batch are one part file of the late sink's
 * batch, committed by the attempt that succeeds, under the header row
 * of its input file when that is CSV (docs/stream.md, "Late events").
 * A job that drops a late record without this call loses it silently:
 * call it instead. SL_OK, SL_ENOMEM, or SL_EJOB (a write failed, or
 * outside a map task) with the message set; map() returns it.
 */
int sl_emit_late(sl_ctx *ctx, const sl_record *rec);

/*
 * A stream's reduce, for rows made of several keys (sessions): the keys
 * go to the new state in order, each after its reduce() returns;
 * sl_state_mark() says where the state is now, and sl_state_cut() (in a
 * later reduce() of the task, or its task_end) takes out every key kept
 * since that mark. 0 and no effect outside a stream's reduce.
 */
size_t sl_state_mark(const sl_ctx *ctx);
void sl_state_cut(sl_ctx *ctx, size_t mark);

/*
 * In check(): the first n columns of the job's CSV rows (.output
 * SL_OUTPUT_CSV) are a row's key: no two rows of one result share them,
 * and a stream's row in update mode replaces the row of its key in the
 * sink (a database upserts on them: docs/stream.md). A job that does not
 * say so has rows without a key, and such a sink refuses update mode. A
 * "key<TAB>value" line's key is its key, without this call. No effect
 * outside check() (its value is computed where the job is submitted, as
 * check() runs, and carried to the sink as a number).
 */
void sl_set_key_columns(sl_ctx *ctx, size_t n);

/*
 * Set the attempt's error message (printf format) and return SL_EJOB,
 * or SL_EUSAGE when called from check().
 */
int sl_fail(sl_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * A malformed input record. Under --bad-records=fail (the default) this
 * sets the error "FILE:LINE: byte OFFSET: MESSAGE" and returns
 * SL_EBADRECORD, which the job returns from map() to fail the job (bad
 * input is not retried). Under --bad-records=skip it counts the record in
 * the "bad_records" counter, logs it, and returns SL_OK.
 */
int sl_bad_record(sl_ctx *ctx, const sl_record *rec, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Add n to the named counter; counters are summed over the job. */
int sl_counter_add(sl_ctx *ctx, const char *name, int64_t n);

/* The value of a job option, or NULL when it was not given. */
const char *sl_option(sl_ctx *ctx, const char *name);

/* Per-attempt data for the job's own use (set in task_begin). */
void *sl_task_data(sl_ctx *ctx);
void sl_set_task_data(sl_ctx *ctx, void *data);

typedef enum sl_task_kind {
	SL_TASK_CHECK = 0,  /* check() on the submitting host */
	SL_TASK_MAP = 1,
	SL_TASK_REDUCE = 2,
} sl_task_kind;

sl_task_kind sl_task_kind_of(sl_ctx *ctx);

/* Reduce: this task's partition, 0..R-1. Map: the split's index. */
uint32_t sl_task_index(sl_ctx *ctx);

/*
 * CSV map tasks: the header row of the current file (valid during the
 * task); for a JSON-lines file, the names given to sl_input_columns (no
 * fields until then). Returns SL_OK, or SL_EINVAL when the input is not
 * SL_INPUT_CSV or no file has been opened yet (in task_begin, the first
 * file is already open).
 */
int sl_csv_header(sl_ctx *ctx, const sl_slice **fields, size_t *nfields);

/*
 * SL_INPUT_CSV map tasks, in task_begin: the columns the job reads, by
 * name (copied; a name may repeat). A JSON-lines file has no header: its
 * records' fields are the values of these members of each line's object,
 * in this order (a string's text, a number's text as written, empty for
 * null or an absent member; true, false, an array or an object is a bad
 * record), and sl_csv_header() gives these names. A CSV file is read as
 * it is. A job that reads a JSON-lines file without naming columns fails
 * the task. SL_OK, SL_ENOMEM, or SL_EINVAL (not such a map task).
 */
int sl_input_columns(sl_ctx *ctx, const char *const *names, size_t n);

/* --- value helpers ------------------------------------------------------ */

/* Fixed 8-byte little-endian unsigned integers, the counts of word count. */
void sl_u64_put(void *dst, uint64_t v);
uint64_t sl_u64_get(const void *src);

/*
 * Exact decimals: value = mant / 10^scale, 128-bit mantissa, scale 0..18.
 * Arithmetic checks for overflow and returns SL_EOVERFLOW, never a wrong
 * number.
 */
__extension__ typedef __int128 sl_i128;

typedef struct sl_decimal {
	sl_i128 mant;    /* signed mantissa */
	uint8_t scale;   /* digits after the decimal point, 0..SL_DEC_MAX_SCALE */
} sl_decimal;

#define SL_DEC_MAX_SCALE 18
#define SL_DEC_STR_MAX 48   /* enough for any formatted sl_decimal + NUL */

/* Parse [+-]digits[.digits]; SL_EINVAL when not a number of that form. */
int sl_dec_parse(const char *s, size_t len, sl_decimal *out);
/* *acc += v, at the larger of the two scales. */
int sl_dec_add(sl_decimal *acc, sl_decimal v);
/* *acc *= v, at the sum of the scales (trailing zeros dropped past
 * SL_DEC_MAX_SCALE); SL_EOVERFLOW past the range or that scale. */
int sl_dec_mul(sl_decimal *acc, sl_decimal v);
/* <0, 0, >0 as a < b numerically. */
int sl_dec_cmp(sl_decimal a, sl_decimal b);
/* Format with exactly d.scale decimals; returns the length written. */
size_t sl_dec_format(sl_decimal d, char buf[SL_DEC_STR_MAX]);
/*
 * sum / count as text with exactly 6 decimals, rounded half away from
 * zero ("-0.000000" is written "0.000000"), into buf, its length in *len.
 * Never overflows: the average of any sum has at most 38 digits before
 * the point. SL_OK, or SL_EINVAL for count 0 or a bad scale.
 */
int sl_dec_avg(sl_decimal sum, uint64_t count, char buf[SL_DEC_STR_MAX],
	       size_t *len);

/*
 * Expressions over named columns (--where, --having), one parser and
 * evaluator for every job (docs/expressions.md):
 *
 *   expr   := expr or expr | expr and expr | not expr | value CMP value
 *           | value is [not] null | starts_with(value, value) | (expr)
 *   value  := value (+ | - | *) value | - value | NUMBER | 'TEXT'
 *           | NAME | "NAME" | (value)
 *   CMP    := = | != | <> | < | <= | > | >=
 *
 * Keywords are case-insensitive; a NAME is [A-Za-z_][A-Za-z0-9_]*, any
 * other column name is written "in double quotes". Values are the
 * columns' text; an empty one is NULL. Arithmetic is exact (sl_decimal).
 * A comparison with a number side compares numbers (the other side must
 * then be a number); two texts that are both numbers compare as numbers,
 * else as bytes. NULL makes a comparison unknown, and unknown is not
 * true (SQL's three-valued logic: not unknown is unknown).
 */
typedef struct sl_expr sl_expr;

#define SL_EXPR_ERR_MAX 256 /* bytes of an expression's error message */

/*
 * Compiles text. SL_OK and *out (free with sl_expr_free); SL_EUSAGE
 * with the reason, naming the byte, in err; SL_ENOMEM.
 */
int sl_expr_compile(const char *text, sl_expr **out,
		    char err[SL_EXPR_ERR_MAX]);
void sl_expr_free(sl_expr *e);

/* The column names e uses, each once, in order of first use: *names
 * (owned by e) and the count. */
size_t sl_expr_columns(const sl_expr *e, const char *const **names);

/*
 * Evaluates e with vals[i] the value of its column i (sl_expr_columns).
 * 1 true; 0 false or unknown; SL_EBADRECORD (a column that is not a
 * number where one is needed) or SL_EOVERFLOW, with the reason in err.
 */
int sl_expr_eval(const sl_expr *e, const sl_slice *vals,
		 char err[SL_EXPR_ERR_MAX]);

/*
 * Event times, as ms since the Unix epoch (UTC), in the range of the
 * years 0001 to 9999 (SL_TIME_MIN_MS .. SL_TIME_MAX_MS).
 */
#define SL_TIME_MIN_MS (-62135596800000LL) /* 0001-01-01T00:00:00Z */
#define SL_TIME_MAX_MS 253402300799999LL   /* 9999-12-31T23:59:59.999Z */
#define SL_TIME_STR_MAX 32 /* a formatted time + NUL */

typedef enum sl_time_unit {
	SL_TIME_AUTO = 0,  /* ISO 8601 (has a '-' after its first digit),
	                      else decimal epoch seconds ("1700000000.25") */
	SL_TIME_MS = 1,    /* integer epoch milliseconds */
} sl_time_unit;

/*
 * Parses the time s[0, len): ISO 8601 "YYYY-MM-DD", then optionally
 * "T" or " ", "hh:mm", ":ss", ".fraction" (digits past ms truncated), and
 * "Z", "+hh:mm", "-hh:mm", "+hhmm" or "+hh" (no zone: UTC); or epoch
 * seconds or ms as unit says. SL_OK and *ms; SL_EINVAL for text that is
 * not a time of that form (a bad month or day too); SL_EOVERFLOW for a
 * time outside the years 0001 to 9999.
 */
int sl_time_parse(const char *s, size_t len, sl_time_unit unit, int64_t *ms);

/*
 * ms as ISO 8601 UTC, "2026-12-03T14:00:00Z", with ".mmm" before the Z
 * when ms is not a whole second; returns the length written. ms must be
 * in SL_TIME_MIN_MS .. SL_TIME_MAX_MS.
 */
size_t sl_time_format(int64_t ms, char buf[SL_TIME_STR_MAX]);

/*
 * A duration "N" followed by ms, s, m, h or d (N a positive integer), as
 * ms: "500ms", "10s", "5m". SL_OK; SL_EINVAL for another form or 0;
 * SL_EOVERFLOW past 10000 days.
 */
int sl_duration_parse(const char *s, int64_t *ms);

#ifdef __cplusplus
}
#endif
#endif /* SLUICE_H */
