/*
 * task.c - one task attempt: the engine side of include/sluice.h.
 *
 * Owns: the sl_ctx of the attempt (job, options, counters, the map
 * output collector or the reduce output file). Runs on one task thread.
 * Costs: map is one pass over the split with no allocation per record
 * (the readers hand out slices of their buffers; the combine table keeps
 * keys inline). Reduce merges the fetched segments of its partition.
 *
 * Memory budget (docs/performance.md): the worker's memory, less the
 * map outputs it holds in memory (env->held), split between its slots,
 * is an attempt's share. A map spills sorted runs (runs.h) before its map
 * output could need more than the share, counting what the spill itself
 * allocates (sl_mapout_peak_bytes), and then writes its final output to
 * a file in the job's spill directory, which the worker serves from
 * disk. So does a map that did not spill when the worker's outputs in
 * memory would pass half the worker's memory. A reduce keeps fetched
 * segments in memory up to half the share and writes each later one into
 * a run file as it arrives, one FETCH reply at a time, so it never holds
 * such a segment whole; the merge reads file runs a block at a time.
 * Spill files of an attempt are removed when it ends, success or not.
 *
 * Late events (sl_emit_late): a stream's map task with a late sink
 * writes the late records of its split, as they came, into a temporary
 * file of its attempt, LATE/_temporary/part-M.jobJ-aA, and the attempt
 * that succeeds renames it to LATE/part-M (durably): every attempt of a
 * map writes the same bytes (the batch and its watermark are fixed), so
 * that a second success (a speculative copy, a map run again for a lost
 * output) puts the same file in place; a failed or killed attempt
 * removes its own. Memory: TASK_LATE_FLUSH bytes.
 */
#include "task.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster/zmsg.h"
#include "common/csv.h"
#include "common/input.h"
#include "common/jsonl.h"
#include "jobs/jobs.h"
#include "shuffle/mapout.h"
#include "shuffle/merge.h"
#include "shuffle/runs.h"
#include "shuffle/spill.h"

#define TASK_OUT_FLUSH (1 << 20)        /* reduce output write size */
#define TASK_LATE_FLUSH (1 << 20)       /* late events' write size */
#define TASK_FETCH_CHUNK (4u << 20)     /* bytes asked for in one FETCH */
#define TASK_MEMORY_MIN ((uint64_t)64 << 20) /* least default budget */

struct sl_ctx {
	const sl_job *job;
	sl_task_kind kind;
	int emit_slow;             /* sl_emit takes task_emit_slow: not a
	                              map, or the map output's memory is due
	                              a check (sl_mapout_watch) */
	uint32_t index;            /* map: split index; reduce: partition */
	const sl_job_spec *spec;   /* options, R, bad-record policy */
	sl_buf *error;             /* the attempt's error message */
	void *data;                /* the job's per-attempt data */
	sl_counter *counters;      /* job counters, by first use */
	uint32_t ncounters;
	size_t counters_alloc;     /* counters allocated */
	/* map */
	const sl_msg *msg;         /* the task */
	const sl_task_env *env;    /* its worker's memory and slots */
	sl_mapout *mo;             /* emitted records, combined */
	sl_runs *runs;             /* spilled runs of mo, or NULL */
	size_t memory;             /* the worker's memory budget, bytes */
	size_t budget;             /* reduce: bytes of data it may hold */
	uint32_t spills;           /* spills so far, for the fault point */
	sl_csv_reader *csv;        /* CSV input, for the header */
	sl_jsonl_reader *jsonl;    /* or JSON lines, for its columns */
	int late_fd;               /* a stream's map with a late sink: the
				      attempt's temporary late file, or -1 */
	sl_buf late;               /* late events not yet written to it */
	sl_buf late_tmp;           /* its name */
	/* reduce */
	int out_fd;                /* temporary part file, or -1 */
	sl_buf out;                /* output not yet written */
	uint64_t bytes_out;
	uint64_t lines_out;        /* newlines written */
	uint64_t header_lines;     /* of those, by sl_write_header */
	int deferred;              /* error met by sl_values_next */
	sl_buf state_acc;          /* a stream's reduce: the key's fold */
	bool state_drop;           /* the key's reduce: sl_state_drop() */
	sl_buf *state;             /* a stream's reduce: the new state */
	uint32_t msg_nmaps;        /* reduce: its runs from maps (then the
				      state's) */
	sl_task_result *res;       /* the attempt's result (event times) */
	/* check */
	uint32_t key_columns;      /* sl_set_key_columns(), 0 for none */
};

struct sl_values {
	sl_merge *merge;         /* NULL: the one value below (a stream) */
	sl_ctx *ctx;
	const void *one;         /* a stream's reduce: the key's folded value */
	size_t one_len;
	bool one_read;
};

/* --- the job API --------------------------------------------------------- */

/* The message of a merge that failed with rv, unless one is set. */
static void
task_merge_fail(sl_ctx *ctx, const sl_merge *merge, int rv)
{
	sl_fail(ctx, "merge of map outputs failed: %s",
		sl_merge_error(merge) ? sl_merge_error(merge)
				      : sl_strerror(rv));
}

int
sl_values_next(sl_values *it, const void **val, size_t *len)
{
	sl_slice v;
	int rv;

	if (it->ctx->deferred)
		return 0;
	if (it->merge == NULL) {
		if (it->one_read)
			return 0;
		it->one_read = true;
		*val = it->one;
		*len = it->one_len;
		return 1;
	}
	rv = sl_merge_next_value(it->merge, &v);
	if (rv < 0) {
		it->ctx->deferred = rv;
		task_merge_fail(it->ctx, it->merge, rv);
		return 0;
	}
	if (rv == 1) {
		*val = v.ptr;
		*len = v.len;
	}
	return rv;
}

static int
task_flush(sl_ctx *ctx)
{
	/* Output lines, for the job's summary, whatever wrote them. */
	ctx->lines_out += sl_count_newlines(ctx->out.buf, ctx->out.len);
	if (sl_write_all(ctx->out_fd, ctx->out.buf, ctx->out.len) != SL_OK)
		return sl_fail(ctx, "cannot write part file: %s",
			       strerror(errno));
	ctx->bytes_out += ctx->out.len;
	sl_buf_reset(&ctx->out);
	return SL_OK;
}

int
sl_write(sl_ctx *ctx, const void *data, size_t len)
{
	if (ctx->kind != SL_TASK_REDUCE)
		return sl_fail(ctx, "sl_write() outside a reduce task");
	if (sl_buf_add(&ctx->out, data, len) != SL_OK)
		return SL_ENOMEM;
	return ctx->out.len >= TASK_OUT_FLUSH ? task_flush(ctx) : SL_OK;
}

void
sl_event_time(sl_ctx *ctx, int64_t ms)
{
	if (ctx->res && ms > ctx->res->event_ms_max)
		ctx->res->event_ms_max = ms;
}

int64_t
sl_batch_time(const sl_ctx *ctx)
{
	return ctx->spec->batch_ms;
}

int
sl_watermark(const sl_ctx *ctx, int64_t *ms)
{
	if (ctx->spec->watermark_ms == SL_NO_WATERMARK)
		return 0;
	*ms = ctx->spec->watermark_ms;
	return 1;
}

void
sl_state_drop(sl_ctx *ctx)
{
	ctx->state_drop = true;
}

/* Writes the late events held back to the attempt's late file. */
static int
task_late_flush(sl_ctx *ctx)
{
	if (sl_write_all(ctx->late_fd, ctx->late.buf, ctx->late.len) != SL_OK)
		return sl_fail(ctx, "cannot write '%s': %s", ctx->late_tmp.buf,
			       strerror(errno));
	sl_buf_reset(&ctx->late);
	return SL_OK;
}

int
sl_emit_late(sl_ctx *ctx, const sl_record *rec)
{
	const sl_slice *l = &rec->line;
	int rv;

	if (ctx->kind != SL_TASK_MAP)
		return sl_fail(ctx, "sl_emit_late() outside a map task");
	if ((rv = sl_counter_add(ctx, "late_records", 1)) != SL_OK ||
	    ctx->late_fd < 0)
		return rv;
	if (sl_buf_add(&ctx->late, l->ptr, l->len) != SL_OK ||
	    ((l->len == 0 || l->ptr[l->len - 1] != '\n') &&
	     sl_buf_addch(&ctx->late, '\n') != SL_OK))
		return SL_ENOMEM;
	return ctx->late.len >= TASK_LATE_FLUSH ? task_late_flush(ctx) : SL_OK;
}

size_t
sl_state_mark(const sl_ctx *ctx)
{
	return ctx->state ? ctx->state->len : 0;
}

void
sl_state_cut(sl_ctx *ctx, size_t mark)
{
	if (ctx->state && mark <= ctx->state->len)
		sl_buf_setlen(ctx->state, mark);
}

void
sl_set_key_columns(sl_ctx *ctx, size_t n)
{
	if (ctx->kind == SL_TASK_CHECK)
		ctx->key_columns = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

int
sl_write_header(sl_ctx *ctx, const void *data, size_t len)
{
	ctx->header_lines += sl_count_newlines(data, len);
	return sl_write(ctx, data, len);
}

/* The failure of sl_combine_sum_u64 for rv (SL_EINVAL or SL_EOVERFLOW). */
static int
task_sum_error(sl_ctx *ctx, int rv, size_t len)
{
	if (rv == SL_EINVAL)
		return sl_fail(ctx, "count of %zu bytes, expected 8", len);
	return sl_fail(ctx, "count overflows 64 bits");
}

/*
 * The message of a map task that failed with rv, unless one is set: the
 * failure of a map-side emit (sl_emit returns its code, the map returns
 * it), or of a flush of the emits the map output held back. The engine's
 * own sum of counts fails as sl_combine_sum_u64 would.
 */
static int
task_emit_error(sl_ctx *ctx, int rv)
{
	bool sum = ctx->job->combine == sl_combine_sum_u64;

	if (ctx->error->len)
		return rv;
	if (rv == SL_EINVAL)
		return sl_fail(ctx, sum ? "emitted a count that is not 8 bytes"
				       : "emitted a value of another length "
					 "than its key's combined value");
	if (rv == SL_EOVERFLOW && sum)
		return task_sum_error(ctx, rv, 8);
	return rv;
}

static int task_map_check(sl_ctx *ctx);

/*
 * sl_emit when ctx->emit_slow: a map's due a check, a reduce's output
 * line, or a misuse.
 */
static __attribute__((noinline)) int
task_emit_slow(sl_ctx *ctx, const void *key, size_t klen, const void *val,
	       size_t vlen)
{
	int rv;

	if (ctx->kind == SL_TASK_MAP) {
		if ((rv = task_map_check(ctx)) != SL_OK)
			return rv;
		return sl_mapout_add(ctx->mo, key, klen, val, vlen);
	}
	if (ctx->kind != SL_TASK_REDUCE)
		return sl_fail(ctx, "sl_emit() outside a task");
	if (sl_buf_grow(&ctx->out, klen + vlen + 2) != SL_OK)
		return SL_ENOMEM;
	sl_buf_add(&ctx->out, key, klen);
	sl_buf_addch(&ctx->out, '\t');
	sl_buf_add(&ctx->out, val, vlen);
	sl_buf_addch(&ctx->out, '\n');
	return ctx->out.len >= TASK_OUT_FLUSH ? task_flush(ctx) : SL_OK;
}

/*
 * The map's add is the path of every emitted word of a word count: a
 * jump to the map output's add; an error is explained when the map
 * returns it (task_emit_error).
 */
int
sl_emit(sl_ctx *ctx, const void *key, size_t klen, const void *val,
	size_t vlen)
{
	if (ctx->emit_slow)
		return task_emit_slow(ctx, key, klen, val, vlen);
	return sl_mapout_add(ctx->mo, key, klen, val, vlen);
}

int
sl_fail(sl_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	/* The first error is the one that explains the others. */
	if (ctx->error->len == 0) {
		va_start(ap, fmt);
		sl_buf_vaddf(ctx->error, fmt, ap);
		va_end(ap);
	}
	return ctx->kind == SL_TASK_CHECK ? SL_EUSAGE : SL_EJOB;
}

int
sl_bad_record(sl_ctx *ctx, const sl_record *rec, const char *fmt, ...)
{
	sl_buf msg = SL_BUF_INIT, lerr = SL_BUF_INIT;
	uint64_t line = 0;
	va_list ap;
	int rv;

	va_start(ap, fmt);
	sl_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (ctx->spec->bad_records == 1) {
		sl_debug("skipped bad record at '%s' byte %llu: %s", rec->file,
			 (unsigned long long)rec->offset, msg.buf);
		rv = sl_counter_add(ctx, "bad_records", 1);
	} else {
		if (sl_line_number(rec->file, rec->offset, &line, &lerr) ==
		    SL_OK)
			sl_fail(ctx, "%s:%llu: byte %llu: %s", rec->file,
				(unsigned long long)line,
				(unsigned long long)rec->offset, msg.buf);
		else
			sl_fail(ctx, "%s: byte %llu: %s", rec->file,
				(unsigned long long)rec->offset, msg.buf);
		rv = SL_EBADRECORD;
	}
	sl_buf_release(&msg);
	sl_buf_release(&lerr);
	return rv;
}

int
sl_counter_add(sl_ctx *ctx, const char *name, int64_t n)
{
	int rv = sl_counters_add(&ctx->counters, &ctx->ncounters,
				 &ctx->counters_alloc, name, n);

	if (rv == SL_ETOOBIG)
		return sl_fail(ctx, "more than %d counters", SL_COUNTERS_MAX);
	return rv;
}

const char *
sl_option(sl_ctx *ctx, const char *name)
{
	uint32_t i;

	/* The last occurrence wins, as on most command lines. */
	for (i = ctx->spec->noptions; i-- > 0;)
		if (strcmp(ctx->spec->options[i].key, name) == 0)
			return ctx->spec->options[i].value;
	return NULL;
}

void *
sl_task_data(sl_ctx *ctx)
{
	return ctx->data;
}

void
sl_set_task_data(sl_ctx *ctx, void *data)
{
	ctx->data = data;
}

sl_task_kind
sl_task_kind_of(sl_ctx *ctx)
{
	return ctx->kind;
}

uint32_t
sl_task_index(sl_ctx *ctx)
{
	return ctx->index;
}

int
sl_csv_header(sl_ctx *ctx, const sl_slice **fields, size_t *nfields)
{
	if (ctx->jsonl) {
		sl_jsonl_header(ctx->jsonl, fields, nfields);
		return SL_OK;
	}
	if (ctx->csv == NULL)
		return SL_EINVAL;
	return sl_csv_reader_header(ctx->csv, fields, nfields);
}

int
sl_input_columns(sl_ctx *ctx, const char *const *names, size_t n)
{
	if (ctx->kind != SL_TASK_MAP || ctx->job->input != SL_INPUT_CSV)
		return SL_EINVAL;
	/* A CSV file is read by its own header. */
	return ctx->jsonl ? sl_jsonl_columns(ctx->jsonl, names, n) : SL_OK;
}

/* --- results ------------------------------------------------------------- */

void
sl_task_result_init(sl_task_result *res)
{
	memset(res, 0, sizeof(*res));
	res->event_ms_max = SL_NO_WATERMARK;
	sl_buf_init(&res->error);
	sl_buf_init(&res->temp_path);
	sl_buf_init(&res->out_path);
}

void
sl_task_result_release(sl_task_result *res)
{
	uint32_t i;

	sl_buf_release(&res->error);
	sl_buf_release(&res->temp_path);
	for (i = 0; i < res->ncounters; i++)
		free(res->counters[i].name);
	free(res->counters);
	for (i = 0; res->segs && i < res->nsegs; i++)
		sl_buf_release(&res->segs[i]);
	free(res->segs);
	/* An output file nobody took over goes with the result. */
	if (res->out_path.len)
		unlink(res->out_path.buf);
	sl_buf_release(&res->out_path);
	free(res->ends);
	sl_task_result_init(res);
}

int
sl_part_path(sl_buf *out, const char *dir, uint32_t r)
{
	sl_buf_reset(out);
	return sl_buf_addf(out, "%s/part-%05u", dir, r);
}

uint64_t
sl_memory_default(uint32_t processes)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size
					     : 0;
	uint64_t m = ram / 2 / (processes ? processes : 1);

	return m < TASK_MEMORY_MIN ? TASK_MEMORY_MIN : m;
}

const char *
sl_tmpdir(const char *given)
{
	if (given == NULL || *given == '\0')
		given = getenv("TMPDIR");
	return given == NULL || *given == '\0' ? "/tmp" : given;
}

int
sl_task_spill_dir(sl_buf *out, const sl_job_spec *spec, uint64_t job)
{
	char host[SL_HOST_MAX];

	sl_host_id(host);
	sl_buf_reset(out);
	return sl_buf_addf(out, "%s/sluice-%llu-%s-%d",
			   sl_tmpdir(spec->tmpdir), (unsigned long long)job,
			   host, (int)getpid());
}

/* --- fault injection (tests) -------------------------------------------- */

uint64_t
sl_fault(const char *point, uint32_t task, uint32_t attempt)
{
	const char *spec = getenv("SLUICE_FAULT"), *p, *end;
	size_t plen = strlen(point);
	char *rest;

	if (spec == NULL || attempt != 0)
		return 0;
	for (p = spec; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) <= plen || strncmp(p, point, plen) != 0)
			continue;
		rest = (char *)p + plen;
		if (*rest == '@') {
			if (strtoul(rest + 1, &rest, 10) != task)
				continue;
		}
		if (*rest != '=')
			continue;
		return strtoull(rest + 1, NULL, 10);
	}
	return 0;
}

/* Sleeps ms unless the attempt is cancelled first; SL_ECANCELED then. */
static int
task_fault_sleep(const char *point, const sl_msg *t, const sl_task_env *env)
{
	const sl_attempt_id *id = &t->u.task.id;
	uint64_t ms = sl_fault(point, id->task, id->attempt);
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (; ms >= 10; ms -= 10) {
		if (atomic_load(env->cancel))
			return SL_ECANCELED;
		nanosleep(&ts, NULL);
	}
	return SL_OK;
}

/* --- spills ------------------------------------------------------------- */

/*
 * Creates the job's spill directory (it may exist) and sets path to
 * DIR/m<task>-a<attempt> (a map) or DIR/r<task>-a<attempt> (a reduce),
 * the start of this attempt's file names.
 */
static int
task_spill_name(sl_ctx *ctx, const sl_msg *t, sl_buf *path)
{
	const sl_attempt_id *id = &t->u.task.id;

	if (sl_task_spill_dir(path, ctx->spec, id->job) != SL_OK)
		return SL_ENOMEM;
	if (mkdir(path->buf, 0700) != 0 && errno != EEXIST) {
		sl_fail(ctx, "cannot create spill directory '%s': %s",
			path->buf, strerror(errno));
		return SL_EIO;
	}
	return sl_buf_addf(path, "/%c%u-a%u", ctx->kind == SL_TASK_MAP ? 'm'
			   : 'r', id->task, id->attempt);
}

/* Counts a spill; fails it when the fault point spill-fail says so. */
static int
task_spill_fault(sl_ctx *ctx, const sl_msg *t)
{
	const sl_attempt_id *id = &t->u.task.id;

	if (++ctx->spills != sl_fault("spill-fail", id->task, id->attempt))
		return SL_OK;
	sl_fail(ctx, "cannot write spill file: injected fault");
	return SL_EIO;
}

/* Removes the attempt's directory when it is empty (else: no matter). */
static void
task_spill_dir_done(sl_ctx *ctx, const sl_msg *t)
{
	sl_buf dir = SL_BUF_INIT;

	if (sl_task_spill_dir(&dir, ctx->spec, t->u.task.id.job) == SL_OK)
		rmdir(dir.buf);
	sl_buf_release(&dir);
}

/* The worker's memory budget: --memory, else the default. */
static size_t
task_memory(const sl_job_spec *spec)
{
	uint64_t m = spec->memory ? spec->memory
				  : sl_memory_default((uint32_t)
					      sysconf(_SC_NPROCESSORS_ONLN));

	return m > SIZE_MAX ? SIZE_MAX : (size_t)m;
}

/*
 * The attempt's share now: the worker's memory less the map outputs it
 * holds in memory (at most half of it), split between its slots.
 */
static size_t
task_share(const sl_ctx *ctx, const sl_task_env *env)
{
	size_t held = env->held ? atomic_load_explicit(env->held,
						       memory_order_relaxed)
				: 0;

	held = held < ctx->memory ? held : ctx->memory;
	return (ctx->memory - held) / (env->slots ? env->slots : 1);
}

/*
 * Whether the worker may keep `bytes` more of map outputs in memory
 * (all of them within half its memory); reserves them in env->held and
 * sets *held when so.
 */
static bool
task_hold(const sl_ctx *ctx, const sl_task_env *env, size_t bytes,
	  size_t *held)
{
	size_t cap = ctx->memory / 2, old;

	if (env->held == NULL) {
		*held = 0;
		return true;
	}
	old = atomic_load(env->held);
	do {
		if (bytes > cap || old > cap - bytes)
			return false;
	} while (!atomic_compare_exchange_weak(env->held, &old, old + bytes));
	*held = bytes;
	return true;
}

/* --- map ----------------------------------------------------------------- */

int
sl_combine_sum_u64(sl_ctx *ctx, void *acc, const void *val, size_t len)
{
	int rv = sl__fold_sum_u64(NULL, acc, val, len);

	return rv == SL_OK ? SL_OK : task_sum_error(ctx, rv, len);
}

static int
task_fold(void *arg, void *acc, const void *val, size_t len)
{
	sl_ctx *ctx = arg;

	return ctx->job->combine(ctx, acc, val, len);
}

/*
 * The fold of the job's combine for the map output: none, the engine's
 * own sum of counts (folded inline by the combine table), or a call of
 * the job's function.
 */
static sl_fold_fn
task_fold_fn(const sl_job *job)
{
	if (job->combine == NULL)
		return NULL;
	return job->combine == sl_combine_sum_u64 ? sl__fold_sum_u64
						  : task_fold;
}

/* The job's partition_prefix, with the task's context. */
static size_t
task_partition_prefix(void *arg, const void *key, size_t klen)
{
	sl_ctx *ctx = arg;

	return ctx->job->partition_prefix(ctx, key, klen);
}

/* Makes ctx->runs, where the map output goes to disk, if not yet. */
static int
task_runs_new(sl_ctx *ctx, const sl_msg *t)
{
	sl_buf path = SL_BUF_INIT;
	int rv = SL_OK;

	if (ctx->runs == NULL &&
	    (rv = task_spill_name(ctx, t, &path)) == SL_OK)
		rv = sl_runs_new(&ctx->runs, ctx->spec->partitions, path.buf,
				 task_fold_fn(ctx->job), ctx);
	sl_buf_release(&path);
	return rv;
}

/* Writes the map output held so far as sorted runs, and empties it. */
static int
task_spill(sl_ctx *ctx, const sl_msg *t)
{
	sl_buf err = SL_BUF_INIT;
	int rv;

	if ((rv = task_runs_new(ctx, t)) != SL_OK)
		goto out;
	if ((rv = task_spill_fault(ctx, t)) == SL_OK &&
	    (rv = sl_runs_spill(ctx->runs, ctx->mo, &err)) != SL_OK)
		sl_fail(ctx, "%s", err.len ? err.buf : sl_strerror(rv));
	if (rv == SL_OK)
		rv = sl_counter_add(ctx, "spilled_runs", 1);
	/*
	 * The freed table's arena chunks sit below the worker's mmap
	 * threshold (worker.c): give their pages back, or the next
	 * attempt, on another thread and malloc arena, adds its own.
	 */
	malloc_trim(0);
out:
	sl_buf_release(&err);
	return rv;
}

/*
 * The map output's memory check, after every record and within one when
 * the combine table took SL_COMBINE_GROW_KEYS / 2 keys since the last
 * (sl_emit then comes here): makes the adds held back, spills when the
 * output could pass the attempt's share before the next check
 * (sl_mapout_peak_bytes), and watches the table again.
 */
static int
task_map_check(sl_ctx *ctx)
{
	int rv;

	ctx->emit_slow = 0;
	if ((rv = sl_mapout_flush(ctx->mo)) != SL_OK)
		return rv;
	if (sl_mapout_peak_bytes(ctx->mo) > task_share(ctx, ctx->env) &&
	    (rv = task_spill(ctx, ctx->msg)) != SL_OK)
		return rv;
	sl_mapout_watch(ctx->mo, SL_COMBINE_GROW_KEYS / 2, &ctx->emit_slow);
	return SL_OK;
}

/*
 * A stream's map with a late sink: the attempt's late file, created, its
 * first line the header of a CSV input file as it came (so that a late
 * part is a CSV file as its input was); nothing for another stream.
 */
static int
task_late_open(sl_ctx *ctx, const sl_msg *t)
{
	const char *dir = ctx->spec->late_dir;
	const sl_attempt_id *id = &t->u.task.id;
	sl_slice hdr = { NULL, 0 };

	if (dir == NULL || dir[0] == '\0')
		return SL_OK;
	sl_buf_addf(&ctx->late_tmp, "%s/_temporary", dir);
	if (mkdir(ctx->late_tmp.buf, 0755) != 0 && errno != EEXIST)
		return sl_fail(ctx, "cannot create '%s': %s",
			       ctx->late_tmp.buf, strerror(errno));
	sl_buf_addf(&ctx->late_tmp, "/part-%05u.job%llu-a%u", id->task,
		    (unsigned long long)id->job, id->attempt);
	ctx->late_fd = open(ctx->late_tmp.buf,
			    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ctx->late_fd < 0)
		return sl_fail(ctx, "cannot create '%s': %s",
			       ctx->late_tmp.buf, strerror(errno));
	if (ctx->csv)
		sl_csv_reader_header_raw(ctx->csv, &hdr);
	if (hdr.len && (sl_buf_add(&ctx->late, hdr.ptr, hdr.len) != SL_OK ||
			sl_buf_addch(&ctx->late, '\n') != SL_OK))
		return SL_ENOMEM;
	return SL_OK;
}

/*
 * The end of the attempt's late file: on success (rv SL_OK) its rename
 * to LATE/part-M, durably; else its removal. Returns rv, or the error of
 * the commit.
 */
static int
task_late_end(sl_ctx *ctx, const sl_msg *t, int rv)
{
	sl_buf name = SL_BUF_INIT, err = SL_BUF_INIT;
	int fd = ctx->late_fd;

	ctx->late_fd = -1;
	if (fd < 0)
		goto out;
	if (rv == SL_OK && ctx->late.len) {
		ctx->late_fd = fd;
		rv = task_late_flush(ctx);
		ctx->late_fd = -1;
	}
	if (rv != SL_OK) {
		close(fd);
		unlink(ctx->late_tmp.buf);
		goto out;
	}
	sl_buf_addf(&name, "part-%05u", t->u.task.id.task);
	if ((rv = sl_file_commit(fd, ctx->late_tmp.buf, ctx->spec->late_dir,
				 name.buf, &err)) != SL_OK)
		rv = sl_fail(ctx, "late events: %s", err.buf);
out:
	sl_buf_release(&ctx->late);
	sl_buf_release(&ctx->late_tmp);
	sl_buf_release(&name);
	sl_buf_release(&err);
	return rv;
}

/* Reads the split and calls map() for each record. */
static int
task_map_records(sl_ctx *ctx, const sl_msg *t, const sl_task_env *env,
		 sl_task_result *res)
{
	const sl_job *job = ctx->job;
	sl_line_reader *lines = NULL;
	sl_buf rerr = SL_BUF_INIT;
	sl_record rec;
	bool json = false;
	int rv;

	memset(&rec, 0, sizeof(rec));
	rec.file = t->u.task.path;
	if (job->input != SL_INPUT_CSV)
		rv = sl_line_reader_open(&lines, t->u.task.path,
					 t->u.task.start, t->u.task.end,
					 (size_t)ctx->spec->max_record, &rerr);
	else if ((rv = sl_jsonl_detect(t->u.task.path, &json, &rerr)) ==
		 SL_OK && json) /* docs/input.md, "JSON lines" */
		rv = sl_jsonl_open(&ctx->jsonl, t->u.task.path,
				   t->u.task.start, t->u.task.end,
				   (size_t)ctx->spec->max_record, &rerr);
	else if (rv == SL_OK)
		rv = sl_csv_open(&ctx->csv, t->u.task.path, t->u.task.start,
				 t->u.task.end, (size_t)ctx->spec->max_record,
				 &rerr);
	if (rv != SL_OK) {
		sl_fail(ctx, "%s", rerr.buf);
		goto out;
	}
	if ((rv = task_late_open(ctx, t)) != SL_OK ||
	    (job->task_begin && (rv = job->task_begin(ctx)) != SL_OK))
		goto out;
	for (;;) {
		sl_buf_reset(&rerr);
		if (job->input == SL_INPUT_LINES)
			rv = sl_line_reader_next(lines, &rec.line, &rec.offset,
						 &rerr);
		else if (job->input == SL_INPUT_BLOCKS)
			rv = sl_line_reader_lines(lines, &rec.line,
						  &rec.offset, &rerr);
		else if (ctx->jsonl)
			rv = sl_jsonl_next(ctx->jsonl, &rec.fields,
					   &rec.nfields, &rec.line, &rec.offset,
					   &rerr);
		else
			rv = sl_csv_next(ctx->csv, &rec.fields, &rec.nfields,
					 &rec.line, &rec.offset, &rerr);
		if (rv == 0)
			break;
		if (rv == SL_ETOOBIG || rv == SL_EBADRECORD) {
			if (rv == SL_ETOOBIG && rerr.len == 0)
				sl_buf_addf(&rerr, "record longer than "
					    "--max-record-size (%llu bytes)",
					    (unsigned long long)
						    ctx->spec->max_record);
			if ((rv = sl_bad_record(ctx, &rec, "%s", rerr.buf)) !=
			    SL_OK)
				break;
			continue;
		}
		if (rv < 0) {
			sl_fail(ctx, "%s", rerr.len ? rerr.buf : sl_strerror(rv));
			break;
		}
		/* A block holds whole lines: the summary counts lines. */
		if (job->input == SL_INPUT_BLOCKS)
			res->records_in +=
				sl_count_newlines(rec.line.ptr, rec.line.len) +
				(rec.line.ptr[rec.line.len - 1] != '\n');
		else
			res->records_in++;
		if (lines) /* keys in the line are read in whole words */
			sl_mapout_readable(ctx->mo, rec.line.ptr,
					   rec.line.ptr + rec.line.len +
						   SL_LINE_READER_PAD);
		if ((rv = job->map(ctx, &rec)) != SL_OK ||
		    (rv = task_map_check(ctx)) != SL_OK)
			break;
		/* A record can be a run of 256 KiB: look at every one. */
		if (atomic_load_explicit(env->cancel, memory_order_relaxed)) {
			rv = SL_ECANCELED;
			break;
		}
	}
	sl_mapout_readable(ctx->mo, NULL, NULL);
	if (job->task_end) {
		int erv = job->task_end(ctx);

		if (rv == SL_OK)
			rv = erv;
	}
	if (rv == SL_OK)
		rv = sl_mapout_flush(ctx->mo);
out:
	if (rv != SL_OK)
		rv = task_emit_error(ctx, rv);
	res->bytes_in = lines ? sl_line_reader_bytes(lines)
			: ctx->csv ? sl_csv_bytes_read(ctx->csv)
			: ctx->jsonl ? sl_jsonl_bytes_read(ctx->jsonl) : 0;
	sl_line_reader_close(lines);
	sl_csv_close(ctx->csv);
	ctx->csv = NULL;
	sl_jsonl_close(ctx->jsonl);
	ctx->jsonl = NULL;
	sl_buf_release(&rerr);
	return rv;
}

/*
 * Under the MPI shuffle the worker exchanges map outputs from memory:
 * reads the output file back into one segment per partition.
 */
static int
task_map_load(sl_ctx *ctx, sl_task_result *res)
{
	const char *path = res->out_path.buf;
	sl_buf err = SL_BUF_INIT;
	uint64_t start = 0;
	uint32_t r;
	size_t got;
	int fd, rv = SL_OK;

	if (sl_open_read(path, &fd, &err) != SL_OK) {
		rv = sl_fail(ctx, "%s", err.buf);
		sl_buf_release(&err);
		return rv;
	}
	for (r = 0; r < res->nsegs && rv == SL_OK; r++) {
		size_t len = (size_t)(res->ends[r] - start);

		if ((rv = sl_buf_grow(&res->segs[r], len)) != SL_OK)
			break;
		if (sl_pread(fd, path, res->segs[r].buf, len, start, &got,
			     &err) != SL_OK || got != len) {
			sl_fail(ctx, "%s", err.len ? err.buf : "map output "
				"file shorter than its segments");
			rv = SL_EIO;
			break;
		}
		res->segs[r].len = len;
		res->segs[r].buf[len] = '\0';
		start = res->ends[r];
	}
	close(fd);
	sl_buf_release(&err);
	unlink(path);
	sl_buf_reset(&res->out_path);
	free(res->ends);
	res->ends = NULL;
	return rv;
}

/* Merges the spilled runs and the rest into the attempt's output file. */
static int
task_map_to_file(sl_ctx *ctx, const sl_msg *t, sl_task_result *res)
{
	sl_buf err = SL_BUF_INIT;
	int rv;

	res->ends = calloc(res->nsegs, sizeof(*res->ends));
	if (res->ends == NULL)
		return SL_ENOMEM;
	if ((rv = task_spill_name(ctx, t, &res->out_path)) != SL_OK ||
	    (rv = sl_buf_addstr(&res->out_path, ".out")) != SL_OK)
		goto out;
	rv = sl_runs_finish(ctx->runs, ctx->mo, res->out_path.buf, res->ends,
			    &err);
	if (rv != SL_OK) {
		sl_fail(ctx, "%s", err.len ? err.buf : sl_strerror(rv));
		sl_buf_reset(&res->out_path); /* removed by finish */
		goto out;
	}
	res->bytes_out = res->ends[res->nsegs - 1];
	if (ctx->spec->shuffle == SL_SHUFFLE_MPI)
		rv = task_map_load(ctx, res);
out:
	sl_buf_release(&err);
	return rv;
}

static int
task_map(sl_ctx *ctx, const sl_msg *t, const sl_task_env *env,
	 sl_task_result *res)
{
	uint32_t r = ctx->spec->partitions, i;
	int rv;

	ctx->memory = task_memory(ctx->spec);
	ctx->msg = t;
	ctx->env = env;
	if ((rv = sl_mapout_new(&ctx->mo, r, task_fold_fn(ctx->job),
				ctx)) != SL_OK)
		return rv;
	if (ctx->job->partition_prefix)
		sl_mapout_partition_by(ctx->mo, task_partition_prefix, ctx);
	sl_mapout_watch(ctx->mo, SL_COMBINE_GROW_KEYS / 2, &ctx->emit_slow);
	res->segs = calloc(r, sizeof(*res->segs));
	if (res->segs == NULL) {
		rv = SL_ENOMEM;
		goto out;
	}
	res->nsegs = r;
	for (i = 0; i < r; i++)
		sl_buf_init(&res->segs[i]);
	if ((rv = task_fault_sleep("map-hold", t, env)) != SL_OK ||
	    (rv = task_map_records(ctx, t, env, res)) != SL_OK ||
	    (rv = task_fault_sleep("map-sleep", t, env)) != SL_OK)
		goto out;
	res->records_out = sl_mapout_records_in(ctx->mo);
	/* Under --shuffle mpi every output is exchanged from memory. */
	if (ctx->runs == NULL && ctx->spec->shuffle != SL_SHUFFLE_MPI &&
	    !task_hold(ctx, env, sl_mapout_out_bytes(ctx->mo), &res->held) &&
	    ((rv = task_runs_new(ctx, t)) != SL_OK ||
	     (rv = sl_counter_add(ctx, "map_outputs_on_disk", 1)) != SL_OK))
		goto out;
	if (ctx->runs) {
		rv = task_map_to_file(ctx, t, res);
		goto out;
	}
	if ((rv = sl_mapout_finish(ctx->mo, res->segs)) != SL_OK) {
		sl_fail(ctx, "cannot sort map output: %s", sl_strerror(rv));
		goto out;
	}
	for (i = 0; i < r; i++)
		res->bytes_out += res->segs[i].len;
out:
	/* last: a failure before leaves no late part of this attempt */
	rv = task_late_end(ctx, t, rv);
	sl_mapout_free(ctx->mo);
	ctx->mo = NULL;
	if (ctx->runs) {
		sl_runs_free(ctx->runs);
		ctx->runs = NULL;
		task_spill_dir_done(ctx, t);
		malloc_trim(0); /* as after a spill: the merge's windows too */
	}
	return rv;
}

/* --- reduce -------------------------------------------------------------- */

/* One fetch connection a distinct endpoint, reused for its map outputs. */
typedef struct task_peer {
	const char *endpoint;
	void *sock;
} task_peer;

static void *
task_peer_sock(task_peer *peers, uint32_t *npeers, const char *endpoint,
	       void *zctx, sl_buf *err)
{
	uint32_t i;
	void *s;

	for (i = 0; i < *npeers; i++)
		if (strcmp(peers[i].endpoint, endpoint) == 0)
			return peers[i].sock;
	s = sl_zsock_new(zctx, ZMQ_DEALER, (int64_t)TASK_FETCH_CHUNK + 65536,
			 err);
	if (s == NULL)
		return NULL;
	if (zmq_connect(s, endpoint) != 0) {
		sl_buf_addf(err, "cannot connect to '%s': %s", endpoint,
			    zmq_strerror(zmq_errno()));
		sl_zsock_close(s);
		return NULL;
	}
	peers[*npeers].endpoint = endpoint;
	peers[(*npeers)++].sock = s;
	return s;
}

/*
 * Where the chunks of fetched segment i go: into segs[i] in memory while
 * the segments held stay within half the share (*held counts them), else
 * one by one into a run file, DIR/r<task>-a<attempt>-s<i>, named in
 * paths[i] once whole. Chosen at the first reply, which tells the size.
 */
typedef struct task_sink {
	sl_ctx *ctx;
	const sl_msg *t;
	uint32_t i;                /* index of the map output */
	sl_buf *seg;               /* &segs[i] */
	char **path;               /* &paths[i] */
	size_t *held;              /* bytes of the segments in memory */
	bool started;              /* the first chunk came */
	uint64_t got;              /* bytes of the segment received */
	sl_spill_writer *run;      /* the run file it goes to, or NULL */
	sl_buf run_path;           /* that file's name */
	bool local;                /* the error is ours (disk, memory) */
} task_sink;

/* Opens k's run file. */
static int
task_sink_create(task_sink *k)
{
	sl_buf err = SL_BUF_INIT;
	int rv;

	if ((rv = task_spill_fault(k->ctx, k->t)) != SL_OK ||
	    (rv = task_spill_name(k->ctx, k->t, &k->run_path)) != SL_OK ||
	    (rv = sl_buf_addf(&k->run_path, "-s%u", k->i)) != SL_OK)
		return rv;
	if ((rv = sl_spill_create(&k->run, k->run_path.buf, &err)) != SL_OK)
		sl_fail(k->ctx, "%s", err.len ? err.buf : sl_strerror(rv));
	sl_buf_release(&err);
	return rv;
}

/* Takes the n bytes at p, of a segment of total bytes, into k. */
static int
task_sink_put(task_sink *k, uint64_t total, const void *p, size_t n)
{
	sl_buf err = SL_BUF_INIT;
	int rv = SL_OK;

	if (!k->started) {
		k->started = true;
		if (total <= k->ctx->budget / 2 - *k->held)
			*k->held += (size_t)total;
		else
			rv = task_sink_create(k);
	}
	if (rv == SL_OK && k->run == NULL) {
		rv = sl_buf_add(k->seg, p, n);
	} else if (rv == SL_OK &&
		   (rv = sl_spill_append(k->run, p, n, &err)) != SL_OK) {
		k->run = NULL; /* freed, its file removed */
		sl_fail(k->ctx, "%s", err.len ? err.buf : sl_strerror(rv));
	}
	if (rv == SL_OK)
		k->got += n;
	k->local = rv != SL_OK;
	sl_buf_release(&err);
	return rv;
}

/*
 * Ends k after its fetch returned rv: a whole run file is finished and
 * named in paths[i], one of a failed fetch removed. Returns rv, or the
 * error of finishing.
 */
static int
task_sink_end(task_sink *k, int rv)
{
	sl_buf err = SL_BUF_INIT;

	if (k->run == NULL || rv != SL_OK) {
		sl_spill_abort(k->run);
		goto out;
	}
	if ((rv = sl_spill_finish(k->run, &err)) != SL_OK) {
		sl_fail(k->ctx, "%s", err.len ? err.buf : sl_strerror(rv));
		goto out;
	}
	if ((*k->path = strdup(k->run_path.buf)) == NULL) {
		unlink(k->run_path.buf);
		rv = SL_ENOMEM;
		goto out;
	}
	rv = sl_counter_add(k->ctx, "spilled_runs", 1);
out:
	k->run = NULL;
	sl_buf_release(&k->run_path);
	sl_buf_release(&err);
	return rv;
}

/*
 * Fetches partition `part` of one map output into the sink k, chunk by
 * chunk. Every reply is checked against the request: the peer is
 * untrusted. An error of the sink sets k->local.
 */
static int
task_fetch_one(void *sock, const sl_msg *t, const sl_map_output *mo,
	       const sl_task_env *env, task_sink *k, sl_buf *err)
{
	sl_msg req, rep;
	sl_buf data = SL_BUF_INIT;
	uint64_t total = UINT64_MAX;
	zmq_pollitem_t pi = { .socket = sock, .events = ZMQ_POLLIN };
	int rv = SL_OK, n;

	memset(&req, 0, sizeof(req));
	req.type = SL_MSG_FETCH;
	req.u.fetch.job = t->u.task.id.job;
	req.u.fetch.map = mo->map;
	req.u.fetch.attempt = mo->attempt;
	req.u.fetch.partition = t->u.task.id.task;
	req.u.fetch.max_bytes = TASK_FETCH_CHUNK;
	while (k->got < total) {
		req.u.fetch.offset = k->got;
		if ((rv = sl_zsend(sock, NULL, &req, NULL, 0)) != SL_OK) {
			sl_buf_addstr(err, "cannot send request");
			break;
		}
		n = zmq_poll(&pi, 1, (long)env->fetch_timeout_ms);
		if (n <= 0) {
			sl_buf_addstr(err, n == 0 ? "timed out" : "poll failed");
			rv = n == 0 ? SL_ETIMEOUT : SL_EIO;
			break;
		}
		if ((rv = sl_zrecv(sock, false, NULL, &rep, &data, err)) !=
		    SL_OK)
			break;
		if (rep.type != SL_MSG_FETCH_REPLY ||
		    rep.u.fetch_reply.status != SL_OK) {
			sl_buf_addstr(err, rep.type != SL_MSG_FETCH_REPLY
				      ? "unexpected reply" : "no such output");
			rv = rep.type != SL_MSG_FETCH_REPLY ? SL_EPROTO
							    : SL_ENOTFOUND;
		} else if (rep.u.fetch_reply.offset != k->got ||
			   (total != UINT64_MAX &&
			    rep.u.fetch_reply.total != total) ||
			   data.len > TASK_FETCH_CHUNK ||
			   data.len > rep.u.fetch_reply.total - k->got ||
			   rep.u.fetch_reply.total < k->got ||
			   (data.len == 0 &&
			    k->got != rep.u.fetch_reply.total) ||
			   rep.u.fetch_reply.total > SIZE_MAX / 2) {
			sl_buf_addstr(err, "reply does not match the request");
			rv = SL_EPROTO;
		} else {
			total = rep.u.fetch_reply.total;
			rv = task_sink_put(k, total, data.buf, data.len);
		}
		sl_msg_release(&rep);
		if (rv != SL_OK)
			break;
	}
	sl_buf_release(&data);
	return rv;
}

static int
task_fetch(sl_ctx *ctx, const sl_msg *t, const sl_task_env *env,
	   sl_buf *segs, char **paths, sl_task_result *res)
{
	size_t held = 0;
	uint32_t n = t->u.task.nmaps, npeers = 0, i;
	task_peer *peers = calloc(n ? n : 1, sizeof(*peers));
	sl_buf err = SL_BUF_INIT;
	int rv = SL_OK;
	void *s;

	if (peers == NULL)
		return SL_ENOMEM;
	for (i = 0; i < n && rv == SL_OK; i++) {
		const sl_map_output *mo = &t->u.task.maps[i];
		task_sink k = { .ctx = ctx, .t = t, .i = i, .seg = &segs[i],
				.path = &paths[i], .held = &held,
				.run_path = SL_BUF_INIT };

		if (atomic_load(env->cancel)) {
			rv = SL_ECANCELED;
			break;
		}
		s = task_peer_sock(peers, &npeers, mo->endpoint, env->zctx,
				   &err);
		rv = s ? task_fetch_one(s, t, mo, env, &k, &err) : SL_EIO;
		/* A fault of our own disk or memory is no lost map output. */
		if (rv != SL_OK && !k.local && rv != SL_ECANCELED &&
		    rv != SL_ENOMEM) {
			sl_fail(ctx, "cannot fetch output of map task %u "
				"(attempt %u) from '%s': %s", mo->map,
				mo->attempt, mo->endpoint, err.buf);
			/* The coordinator reruns that map, then us. */
			res->lost_map = mo->map + 1;
			res->lost_attempt = mo->attempt;
			rv = SL_ELOST;
		}
		res->bytes_in += k.got;
		rv = task_sink_end(&k, rv);
		if (rv == SL_OK)
			rv = task_fault_sleep("fetch-sleep", t, env);
	}
	for (i = 0; i < npeers; i++)
		sl_zsock_close(peers[i].sock);
	free(peers);
	sl_buf_release(&err);
	return rv;
}

/*
 * A stream's reduce of one key: its values (the batch's and the state's)
 * folded with the job's combine, the fold appended to the new state, and
 * the job's reduce called with it as the one value (docs/stream.md);
 * the fold goes to the new state unless the reduce dropped it.
 */
static int
task_state_key(sl_ctx *ctx, sl_merge *merge, const sl_slice *key,
	       sl_buf *state, sl_values *vals)
{
	sl_buf *acc = &ctx->state_acc;
	sl_slice v;
	bool first = true, fresh = false; /* a value of this batch's maps */
	int rv;

	while ((rv = sl_merge_next_value(merge, &v)) == 1) {
		fresh = fresh || sl_merge_value_run(merge) < ctx->msg_nmaps;
		if (first) {
			sl_buf_reset(acc);
			if (sl_buf_add(acc, v.ptr, v.len) != SL_OK)
				return SL_ENOMEM;
			first = false;
		} else if (v.len != acc->len) {
			return sl_fail(ctx, "values of %zu and %zu bytes for one "
				       "key: a stream's state needs one length",
				       acc->len, v.len);
		} else if ((rv = ctx->job->combine(ctx, acc->buf, v.ptr,
						   v.len)) != SL_OK) {
			return rv;
		}
	}
	if (rv < 0) {
		task_merge_fail(ctx, merge, rv);
		return rv;
	}
	if (first)
		return SL_OK;
	vals->merge = NULL;
	vals->one = acc->buf;
	vals->one_len = acc->len;
	vals->one_read = false;
	ctx->state_drop = false;
	/* update mode: a key the batch did not touch has no row */
	rv = ctx->spec->update && !fresh
		     ? SL_OK
		     : ctx->job->reduce(ctx, key->ptr, key->len, vals);
	vals->merge = merge;
	if (rv == SL_OK && !ctx->state_drop &&
	    sl_kv_append(state, key->ptr, key->len, acc->buf, acc->len) !=
		    SL_OK)
		rv = SL_ENOMEM;
	return rv;
}

static int
task_reduce_keys(sl_ctx *ctx, sl_buf *segs, char **paths, uint32_t n,
		 sl_buf *state, const sl_task_env *env, sl_task_result *res)
{
	sl_slice *views = calloc(n ? n : 1, sizeof(*views));
	sl_buf err = SL_BUF_INIT;
	sl_merge *merge = NULL;
	sl_values vals;
	sl_slice key;
	uint32_t i;
	int rv;

	if (views == NULL)
		return SL_ENOMEM;
	for (i = 0; i < n; i++) {
		views[i].ptr = segs[i].buf;
		views[i].len = segs[i].len;
	}
	if ((rv = sl_merge_new_runs(&merge, views, (const char *const *)paths,
				    n, &err)) != SL_OK) {
		sl_fail(ctx, "%s", err.len ? err.buf : sl_strerror(rv));
		goto out;
	}
	vals.merge = merge;
	vals.ctx = ctx;
	while ((rv = sl_merge_next_key(merge, &key)) == 1) {
		res->records_in++;
		if (state)
			rv = task_state_key(ctx, merge, &key, state, &vals);
		else
			rv = ctx->job->reduce(ctx, key.ptr, key.len, &vals);
		if (rv != SL_OK)
			break;
		if ((rv = ctx->deferred) != SL_OK)
			break;
		if (atomic_load_explicit(env->cancel, memory_order_relaxed)) {
			rv = SL_ECANCELED;
			break;
		}
	}
	if (rv < 0)
		task_merge_fail(ctx, merge, rv);
out:
	sl_merge_free(merge);
	sl_buf_release(&err);
	free(views);
	return rv > 0 ? SL_OK : rv;
}

/* DIR/part-RRRRR, a stream's state file of this reduce's partition. */
static void
task_state_path(sl_buf *out, const char *dir, const sl_msg *t)
{
	sl_buf_reset(out);
	sl_buf_addf(out, "%s/part-%05u", dir, t->u.task.id.task);
}

/* The state the batch starts from, a sorted kv segment, into seg. */
static int
task_state_read(sl_ctx *ctx, const sl_msg *t, sl_buf *seg)
{
	sl_buf path = SL_BUF_INIT, err = SL_BUF_INIT;
	char chunk[65536];
	ssize_t got;
	int fd = -1, rv;

	task_state_path(&path, ctx->spec->state_in, t);
	if ((rv = sl_open_read(path.buf, &fd, &err)) != SL_OK) {
		sl_fail(ctx, "stream state: %s", err.buf);
		goto out;
	}
	while ((got = read(fd, chunk, sizeof(chunk))) > 0)
		if (sl_buf_add(seg, chunk, (size_t)got) != SL_OK) {
			rv = SL_ENOMEM;
			goto out;
		}
	if (got < 0)
		rv = sl_fail(ctx, "cannot read '%s': %s", path.buf,
			     strerror(errno));
out:
	if (fd >= 0)
		close(fd);
	sl_buf_release(&path);
	sl_buf_release(&err);
	return rv;
}

/*
 * The batch's state of this partition, durably (sl_write_file): attempts
 * of one partition write the same bytes (the batch is deterministic), so
 * that a second rename is harmless.
 */
static int
task_state_write(sl_ctx *ctx, const sl_msg *t, const sl_buf *state)
{
	sl_buf name = SL_BUF_INIT, err = SL_BUF_INIT;
	int rv;

	sl_slice k, v;
	size_t pos = 0;
	int64_t rows = 0;

	sl_buf_addf(&name, "part-%05u", t->u.task.id.task);
	rv = sl_write_file(ctx->spec->state_out, name.buf, state->buf,
			   state->len, &err);
	if (rv != SL_OK)
		rv = sl_fail(ctx, "stream state: %s", err.buf);
	/* its keys, for the batch's progress line */
	while (rv == SL_OK &&
	       sl_kv_next(state->buf, state->len, &pos, &k, &v) > 0)
		rows++;
	if (rv == SL_OK)
		rv = sl_counter_add(ctx, "state_rows", rows);
	sl_buf_release(&name);
	sl_buf_release(&err);
	return rv;
}

static int
task_reduce(sl_ctx *ctx, const sl_msg *t, const sl_task_env *env,
	    sl_task_result *res)
{
	uint32_t n = t->u.task.nmaps, nruns = n, i;
	/* a stream's batch: one more run, the state it starts from */
	bool stream = ctx->spec->state_out[0] != '\0';
	sl_buf *segs = calloc(n + 1, sizeof(*segs));
	char **paths = calloc(n + 1, sizeof(*paths));
	sl_buf state = SL_BUF_INIT;
	int rv, erv;

	if (segs == NULL || paths == NULL) {
		free(segs);
		free(paths);
		return SL_ENOMEM;
	}
	for (i = 0; i <= n; i++)
		sl_buf_init(&segs[i]);
	ctx->memory = task_memory(ctx->spec);
	ctx->budget = task_share(ctx, env);
	if ((rv = task_fault_sleep("reduce-sleep", t, env)) != SL_OK ||
	    (rv = task_fetch(ctx, t, env, segs, paths, res)) != SL_OK)
		goto out;
	if (stream && ctx->spec->state_in[0]) {
		if ((rv = task_state_read(ctx, t, &segs[n])) != SL_OK)
			goto out;
		nruns++;
	}
	sl_buf_addf(&res->temp_path, "%s/_temporary/part-%05u.job%llu-a%u",
		    t->u.task.output_dir, t->u.task.id.task,
		    (unsigned long long)t->u.task.id.job, t->u.task.id.attempt);
	ctx->out_fd = open(res->temp_path.buf,
			   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (ctx->out_fd < 0) {
		sl_fail(ctx, "cannot create '%s': %s", res->temp_path.buf,
			strerror(errno));
		rv = SL_EIO;
		goto out;
	}
	if (ctx->job->task_begin && (rv = ctx->job->task_begin(ctx)) != SL_OK)
		goto out;
	ctx->state = stream ? &state : NULL;
	ctx->msg_nmaps = n;
	rv = task_reduce_keys(ctx, segs, paths, nruns, stream ? &state : NULL,
			      env, res);
	if (ctx->job->task_end) {
		erv = ctx->job->task_end(ctx);
		if (rv == SL_OK)
			rv = erv;
	}
	/* after task_end, which may still cut the state (sl_state_cut) */
	if (rv == SL_OK && stream)
		rv = task_state_write(ctx, t, &state);
	if (rv == SL_OK)
		rv = task_flush(ctx);
out:
	if (ctx->out_fd >= 0 && close(ctx->out_fd) != 0 && rv == SL_OK)
		rv = sl_fail(ctx, "cannot write '%s': %s", res->temp_path.buf,
			     strerror(errno));
	ctx->out_fd = -1;
	if (rv != SL_OK && res->temp_path.len)
		unlink(res->temp_path.buf);
	res->records_out = ctx->lines_out - ctx->header_lines;
	res->bytes_out = ctx->bytes_out;
	ctx->state = NULL;
	sl_buf_release(&state);
	sl_buf_release(&ctx->state_acc);
	sl_buf_release(&segs[n]);
	for (i = 0; i < n; i++) {
		sl_buf_release(&segs[i]);
		if (paths[i])
			unlink(paths[i]);
		free(paths[i]);
	}
	if (ctx->spills)
		task_spill_dir_done(ctx, t);
	free(segs);
	free(paths);
	return rv;
}

/* --- entry points -------------------------------------------------------- */

static void
task_ctx_init(sl_ctx *ctx, const sl_job *job, sl_task_kind kind,
	      uint32_t index, const sl_job_spec *spec, sl_buf *error)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->job = job;
	ctx->kind = kind;
	ctx->index = index;
	ctx->spec = spec;
	ctx->error = error;
	ctx->emit_slow = kind != SL_TASK_MAP;
	ctx->out_fd = -1;
	ctx->late_fd = -1;
	sl_buf_init(&ctx->out);
	sl_buf_init(&ctx->state_acc);
	sl_buf_init(&ctx->late);
	sl_buf_init(&ctx->late_tmp);
}

void
sl_task_run(const sl_msg *t, const sl_task_env *env, sl_task_result *res)
{
	sl_job_ref ref;
	sl_ctx ctx;
	int rv;

	if ((rv = sl_job_load(t->u.task.spec.job, &ref, &res->error)) != SL_OK) {
		res->status = rv;
		return;
	}
	task_ctx_init(&ctx, ref.job, (sl_task_kind)t->u.task.id.kind,
		      t->u.task.id.task, &t->u.task.spec, &res->error);
	ctx.res = res;
	if (sl_fault("fail", t->u.task.id.task, t->u.task.id.attempt))
		rv = sl_fail(&ctx, "injected fault");
	else if (ctx.kind == SL_TASK_MAP)
		rv = task_map(&ctx, t, env, res);
	else
		rv = task_reduce(&ctx, t, env, res);
	if (rv != SL_OK && res->error.len == 0)
		sl_buf_addstr(&res->error, sl_strerror(rv));
	res->status = rv;
	res->counters = ctx.counters;
	res->ncounters = ctx.ncounters;
	sl_buf_release(&ctx.out);
	sl_job_unload(&ref);
}

int
sl_task_check(const sl_job *job, const sl_job_spec *spec,
	      uint32_t *key_columns, sl_buf *err)
{
	sl_job_ref ref = { job, NULL }; /* no handle: unloading the caller's
					   job below leaves it loaded */
	sl_ctx ctx;
	uint32_t i;
	int rv = SL_OK;

	if (job == NULL && (rv = sl_job_load(spec->job, &ref, err)) != SL_OK)
		return rv;
	task_ctx_init(&ctx, ref.job, SL_TASK_CHECK, 0, spec, err);
	if (ref.job->check && (rv = ref.job->check(&ctx)) != SL_OK) {
		if (err->len == 0)
			sl_buf_addf(err, "job '%s' refused its options",
				    ref.job->name);
		rv = SL_EUSAGE;
	}
	if (key_columns)
		*key_columns = rv == SL_OK ? ctx.key_columns : 0;
	for (i = 0; i < ctx.ncounters; i++)
		free(ctx.counters[i].name);
	free(ctx.counters);
	sl_job_unload(&ref);
	return rv;
}
