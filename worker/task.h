/*
 * task.h - running one task attempt: the engine side of the job API.
 *
 * A map attempt reads its split record by record, calls the job's map,
 * collects what it emits in an sl_mapout (combine, partition, sort) and
 * returns R sorted segments. A reduce attempt fetches its segment of every
 * map output from the workers holding them (FETCH over ZeroMQ), merges
 * them, calls the job's reduce per key and writes a temporary part file,
 * which the worker renames into place only when the coordinator says
 * this attempt commits.
 *
 * sl_task_run() runs on a task thread of the worker, one attempt per
 * thread; it creates its own ZeroMQ sockets (for fetches) from the shared
 * context. It polls env->cancel between records and stops with
 * SL_ECANCELED when it becomes non-zero.
 */
#ifndef SL_TASK_H
#define SL_TASK_H

#include <stdatomic.h>

#include "sl_impl.h"
#include "proto.h"

typedef struct sl_task_env {
	void *zctx;                 /* ZeroMQ context for fetch sockets */
	const atomic_int *cancel;   /* non-zero: stop as soon as possible */
	uint32_t fetch_timeout_ms;  /* a FETCH with no reply fails after this */
	uint32_t slots;             /* the worker's slots: an attempt's
				       share of spec.memory is (memory -
				       *held) / slots */
	atomic_size_t *held;        /* bytes of map outputs the worker keeps
				       in memory (maps reserve theirs here,
				       up to memory / 2), or NULL */
} sl_task_env;

typedef struct sl_task_result {
	int status;               /* SL_OK or the attempt's error code */
	sl_buf error;             /* the error message, "" on success */
	sl_counter *counters;     /* job counters (owned) */
	uint32_t ncounters;
	uint64_t records_in;      /* map: input records; reduce: keys */
	uint64_t bytes_in;        /* map: input bytes; reduce: fetched */
	uint64_t records_out;     /* map: kv records out; reduce: lines */
	uint64_t bytes_out;       /* map: segment bytes; reduce: file bytes */
	sl_buf *segs;             /* map: one sorted segment per partition,
				     or NULL when in out_path */
	uint32_t nsegs;
	sl_buf out_path;          /* map that spilled: its output file, where
				     segment r ends at ends[r] (see runs.h) */
	uint64_t *ends;           /* R offsets into out_path, or NULL */
	size_t held;              /* map: bytes of segs reserved in
				     env->held; the worker gives them back
				     when it drops the segments */
	sl_buf temp_path;         /* reduce: the part file to commit */
	uint32_t lost_map;        /* reduce: 1 + map whose output could not
				     be fetched (status SL_ELOST), or 0 */
	uint32_t lost_attempt;    /* the attempt of that map output */
	int64_t event_ms_max;     /* map: the latest sl_event_time(), or
				     SL_NO_WATERMARK */
} sl_task_result;

void sl_task_result_init(sl_task_result *res);
void sl_task_result_release(sl_task_result *res);

/* Runs the attempt described by a TASK message; fills *res. */
void sl_task_run(const sl_msg *task, const sl_task_env *env,
		 sl_task_result *res);

/*
 * Runs the job's check() on the submitting host with these options. job:
 * the job spec->job names, already loaded by the caller (and still the
 * caller's), or NULL to load it for the check and unload it after.
 * SL_OK and, when key_columns is not NULL, in *key_columns the leading
 * columns of the job's CSV rows that are a row's key (its check's
 * sl_set_key_columns(), 0 for none); or SL_EUSAGE (or the loader's
 * error) with the reason in err.
 */
int sl_task_check(const sl_job *job, const sl_job_spec *spec,
		  uint32_t *key_columns, sl_buf *err);

/* The final name of partition r in dir: DIR/part-%05u. */
int sl_part_path(sl_buf *out, const char *dir, uint32_t r);

/*
 * Fault injection for tests, from the environment variable SLUICE_FAULT:
 * a comma-separated list of POINT[@TASK]=VALUE. Faults hit only attempt 0
 * of a task (so a retry recovers), and only task TASK when given:
 *   map-hold=MS      a map attempt sleeps MS before it reads its split
 *   map-sleep=MS     a map attempt sleeps MS before it finishes
 *   reduce-sleep=MS  a reduce attempt sleeps MS before it fetches
 *   fetch-sleep=MS   a reduce attempt sleeps MS after each map output
 *   fail=1           the attempt fails with "injected fault"
 *   spill-fail=N     the Nth spill of a map attempt, or of a reduce
 *                    attempt's fetched segments, fails (N >= 1)
 * Sleeps end early when the attempt is cancelled. Returns the value of
 * the point for this attempt, or 0.
 */
uint64_t sl_fault(const char *point, uint32_t task, uint32_t attempt);

/*
 * The default memory budget of one worker process when `processes` run
 * on this machine: physical memory / (2 x processes), at least 64 MiB.
 */
uint64_t sl_memory_default(uint32_t processes);

/*
 * The spill directory of a job on this worker process:
 * TMPDIR/sluice-JOB-HOST-PID, TMPDIR from the spec, else $TMPDIR, else
 * /tmp; HOST is gethostname() with bytes other than [A-Za-z0-9._-] made
 * '_', so that hosts sharing a TMPDIR tell their directories apart.
 */
int sl_task_spill_dir(sl_buf *out, const sl_job_spec *spec, uint64_t job);


/* The directory for temporary files: given (--tmpdir), else $TMPDIR,
 * else /tmp. */
const char *sl_tmpdir(const char *given);


#endif
