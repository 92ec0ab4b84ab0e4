/*
 * sched.h - the scheduler of one job: a pure state machine.
 *
 * The coordinator owns one sl_sched per running job. It feeds events in
 * (workers joined or lost, attempts ended, commit requests and results,
 * fetch failures, always with the current time in ms) and asks for
 * decisions (the next attempt to start and where, whether an attempt may
 * commit, which attempts to kill, when to ask again). The scheduler does
 * no I/O, has no clock and no threads: every rule below is unit-tested
 * without processes or sockets. docs/scheduling.md states the rules.
 *
 * Job model: M map tasks (M may be 0) then R reduce tasks (R >= 1). An
 * attempt is (kind, task index, attempt number from 0). Reduce attempts
 * start only while every map task has an available output. The job
 * succeeds when every reduce partition has committed.
 *
 * Reduce attempt protocol: the attempt asks to commit while it runs
 * (sl_sched_commit_request), renames its output on a go and reports the
 * rename (sl_sched_commit_done), then ends (sl_sched_attempt_done). A
 * reduce attempt that ends with SL_OK without having committed counts as
 * failed. A killed attempt reports its end too (any status): its slot is
 * busy until then.
 *
 * Ownership: the caller keeps every string it passes; the scheduler copies
 * what it keeps. Not thread-safe: one thread (the coordinator's) calls it.
 * Costs: memory O(M + R + attempts + workers). sl_sched_next() is
 * O(queued reruns + running attempts x workers); the other events are
 * O(running attempts + workers), sl_sched_worker_lost() O(M) more.
 */
#ifndef SL_SCHED_H
#define SL_SCHED_H

#include "sl_impl.h"
#include "common/proto.h" /* sl_attempt_state */

#define SL_SCHED_MAX_BACKOFF_MS 30000u /* cap of the retry delay */
#define SL_SCHED_MAX_SLOTS 1024u       /* slots one worker may declare */

typedef struct sl_sched_config {
	uint32_t max_attempts;  /* counted failures that fail a task, and
	                           with it the job; >= 1, default 4 */
	uint64_t backoff_ms;    /* delay before the rerun after the n-th
	                           counted failure: backoff_ms * 2^(n-1), at
	                           most SL_SCHED_MAX_BACKOFF_MS; default 1000 */
	bool speculation;       /* start copies of stragglers; default true */
	double slow_ratio;      /* straggler: runtime > slow_ratio x median
	                           runtime of the stage's finished tasks;
	                           1..1000, default 1.5 */
	double spec_quantile;   /* ...once at least this fraction of the
	                           stage's tasks finished; (0, 1], default
	                           0.75 */
	uint64_t spec_min_ms;   /* ...and runtime > this; default 1000 */
	uint32_t exclude_after; /* counted failures on one worker that
	                           exclude it from the job; 0 never; default
	                           3 */
} sl_sched_config;

void sl_sched_config_default(sl_sched_config *c);

typedef struct sl_sched sl_sched;

typedef enum sl_sched_state {
	SL_SCHED_RUNNING,
	SL_SCHED_SUCCEEDED,
	SL_SCHED_FAILED,
} sl_sched_state;

/* One attempt: to start (sl_sched_next) or to kill (sl_sched_next_kill). */
typedef struct sl_assign {
	uint8_t kind;      /* SL_TASK_MAP or SL_TASK_REDUCE */
	uint32_t task;     /* map: split index; reduce: partition */
	uint32_t attempt;  /* attempt number, from 0 per task */
	uint32_t worker;   /* the worker it runs on */
	bool speculative;  /* started as a copy of a straggler */
} sl_assign;

/*
 * A scheduler for nmaps map tasks and nreduces (>= 1) reduce tasks; cfg
 * NULL means the defaults. SL_OK and *sp, SL_EINVAL (nreduces 0 or a
 * config value out of range), SL_ENOMEM. Free with sl_sched_free().
 */
int sl_sched_new(sl_sched **sp, uint32_t nmaps, uint32_t nreduces,
		 const sl_sched_config *cfg);
/* NULL-safe. */
void sl_sched_free(sl_sched *s);

/*
 * A worker joined with `slots` task slots (1..SL_SCHED_MAX_SLOTS).
 * SL_EINVAL for a bad slot count or an id already known (ids are never
 * reused, not even after a loss), SL_ENOMEM.
 */
int sl_sched_worker_add(sl_sched *s, uint32_t worker, uint32_t slots);

/*
 * The slots this job may hold on `worker` from now on, at least those its
 * attempts hold there: the coordinator shares each worker's slots among
 * the jobs that run at once (sl_share_pick). SL_OK, SL_EINVAL for an
 * unknown worker.
 */
int sl_sched_worker_capacity(sl_sched *s, uint32_t worker, uint32_t slots);

/* The slots this job's attempts hold on `worker` (0 for an unknown one). */
uint32_t sl_sched_worker_used(const sl_sched *s, uint32_t worker);

/*
 * The fair-share rule among the jobs that run at once: of the n jobs, in
 * the order they started, the one that may take the next free slot is
 * the one with the fewest running attempts among those `wanting` one
 * (ties: the one that started first). So running jobs share the slots
 * equally, a job that needs fewer leaves its share to the others, and a
 * small job submitted behind a big one gets the next slot that frees.
 * Returns its index, or n when none wants a slot.
 */
size_t sl_share_pick(const uint32_t *running, const bool *wanting, size_t n);

/*
 * The worker is gone. Its running attempts end as failed (counted, error
 * "worker lost"), and the map outputs it held are lost: those map tasks
 * run again (at once, not counted as failures) unless the job has already
 * succeeded. Reduce attempts fetching from it keep running. SL_OK, or
 * SL_EINVAL for an unknown or already lost worker (nothing changes).
 */
int sl_sched_worker_lost(sl_sched *s, uint32_t worker, uint64_t now_ms);

/*
 * Placement for a shuffle that moved reduce inputs onto chosen workers
 * (--shuffle mpi): every attempt of reduce `partition` runs on `worker`
 * only (0: anywhere again), whether that worker is excluded or not; while
 * it is lost the reduce waits. No speculative copy of a pinned reduce is
 * possible (its one worker runs the attempt). SL_OK, SL_EINVAL for a bad
 * partition, SL_ENOMEM (nothing changed).
 */
int sl_sched_pin_reduce(sl_sched *s, uint32_t partition, uint32_t worker);

/*
 * While held, no reduce attempt starts (new, rerun or copy), even with
 * every map output available: the coordinator holds them until its
 * exchange of map outputs is done. Not held at creation.
 */
void sl_sched_hold_reduces(sl_sched *s, bool hold);

/* Whether every map task has an available output (true when M = 0). */
bool sl_sched_maps_done(const sl_sched *s);

/* Workers not lost (excluded ones included). */
uint32_t sl_sched_workers(const sl_sched *s);

/*
 * The next attempt to start now: 1 and *out, 0 when none, SL_ENOMEM
 * (nothing changed). Call again until 0. Order: reruns whose delay has
 * passed (in the order they were queued), then new tasks in index order
 * (maps, then reduces once every map output is available), then one
 * speculative copy of the slowest straggler. The worker is the usable one
 * with the most free slots (ties: lowest id); a rerun avoids the workers
 * this task failed on while another usable worker exists; a copy never
 * goes to a worker running an attempt of its task.
 */
int sl_sched_next(sl_sched *s, uint64_t now_ms, sl_assign *out);

/*
 * An attempt ended with `status` (SL_OK or an error code) and `error`
 * (NULL or "" for none; copied). SL_OK: a map's output is now available
 * on its worker, and the task's other attempts are to be killed; a reduce
 * had committed. A failure is counted and the task rerun after its delay
 * while failures < max_attempts, else the job fails; a failure that is not
 * `retryable` (bad input, usage) fails the job at once. A reduce that ends
 * with SL_ELOST could not fetch a map output: when a map output was lost
 * while it ran (sl_sched_fetch_failed, sl_sched_worker_lost) it is not
 * counted and reruns once the maps are back; else it counts. The end of
 * an attempt that is no longer needed (killed copy, task done, job
 * over) only frees its slot. SL_OK; SL_EINVAL for a stale report (unknown
 * or already ended attempt: ignored, for the caller to log); SL_ENOMEM
 * (nothing changed).
 */
int sl_sched_attempt_done(sl_sched *s, uint8_t kind, uint32_t task,
			  uint32_t attempt, int status, bool retryable,
			  const char *error, uint64_t now_ms);

/*
 * A running reduce attempt asks to commit partition `partition`. 1: go, it
 * is the first and its commit is now in flight. 0: denied, the partition
 * is committed or committing (or the job is over); the attempt is to be
 * killed (sl_sched_next_kill returns it). SL_EINVAL for an unknown or
 * ended attempt.
 */
int sl_sched_commit_request(sl_sched *s, uint32_t partition,
			    uint32_t attempt);

/*
 * The commit in flight ended. SL_OK status: the partition is done, its
 * other attempts are to be killed, and when it was the last the job has
 * succeeded. A failure (error copied, kept for the attempt's report)
 * makes the partition committable again; the attempt is expected to end
 * as failed. SL_OK; SL_EINVAL when no such commit is in flight; SL_ENOMEM
 * (nothing changed).
 */
int sl_sched_commit_done(sl_sched *s, uint32_t partition, uint32_t attempt,
			 int status, const char *error, uint64_t now_ms);

/*
 * An attempt to kill (a copy that lost, a commit that was denied, every
 * attempt still working when the job ends): 1 and *out, each attempt
 * once; 0 when none.
 */
int sl_sched_next_kill(sl_sched *s, sl_assign *out);

/*
 * Where the output of map task `map` is: the worker and attempt that made
 * it. SL_OK, SL_ENOTFOUND when no output is available now, SL_EINVAL for
 * a bad index.
 */
int sl_sched_map_location(const sl_sched *s, uint32_t map, uint32_t *worker,
			  uint32_t *attempt);

/*
 * The worker that attempt `attempt` of task (kind, task) was started on,
 * whatever the attempt's state now: SL_OK and *worker, SL_EINVAL for an
 * attempt that was never started. The coordinator takes reports on an
 * attempt only from that worker.
 */
int sl_sched_attempt_worker(const sl_sched *s, uint8_t kind, uint32_t task,
			    uint32_t attempt, uint32_t *worker);

/*
 * A reduce could not fetch map `map`'s output of `attempt` from `worker`:
 * that output is lost, the map attempt counts as failed (against the map
 * task's max_attempts and against the worker) and the map runs again after
 * its delay. SL_OK; SL_EINVAL when that is not the current output (a stale
 * or repeated report: ignored).
 */
int sl_sched_fetch_failed(sl_sched *s, uint32_t map, uint32_t attempt,
			  uint32_t worker, uint64_t now_ms);

sl_sched_state sl_sched_state_of(const sl_sched *s);

/* Map and reduce tasks that are done (output available; committed). */
void sl_sched_progress(const sl_sched *s, uint32_t *maps_done,
		       uint32_t *reduces_done);

/*
 * Why the job failed, appended to out: for a task that ran out of
 * attempts, "map task 3 failed after 4 attempts:" and a line
 * "  attempt N on worker W: ERROR" for each failed attempt; for a failure
 * that is not retryable, that error alone; else the reason given to
 * sl_sched_fail(). SL_OK, SL_EINVAL when the job has not failed, SL_ENOMEM.
 */
int sl_sched_failure(const sl_sched *s, sl_buf *out);

/*
 * Fail the running job for `reason` (copied), e.g. when no worker is left
 * and none may join. Every working attempt is to be killed. No effect
 * when the job is already over. SL_OK, or SL_ENOMEM (the job has failed
 * all the same, with "out of memory" as its reason).
 */
int sl_sched_fail(sl_sched *s, const char *reason);

/*
 * The next time after now_ms at which the passing of time alone changes a
 * decision (a rerun's delay expires, a running attempt becomes a
 * straggler), or UINT64_MAX: the coordinator's poll timeout. Events (a
 * slot freed, a worker joined) are not included.
 */
uint64_t sl_sched_next_due(const sl_sched *s, uint64_t now_ms);

/* One attempt, as the walk of sl_sched_attempt_each() shows it. */
typedef struct sl_sched_attempt {
	uint8_t kind;         /* SL_TASK_MAP or SL_TASK_REDUCE */
	uint32_t task;
	uint32_t attempt;
	uint32_t worker;
	uint64_t start_ms;    /* the now_ms of sl_sched_next() */
	uint64_t end_ms;      /* the now_ms of its end; 0 while running */
	uint8_t state;        /* sl_attempt_state */
	bool speculative;
	const char *error;    /* "" but for a failure; the scheduler's,
	                         valid until its next call */
} sl_sched_attempt;

/* Attempts started so far, every task's. */
uint64_t sl_sched_attempts(const sl_sched *s);

/*
 * The attempt log: calls fn for the attempts from the from-th on (0 for
 * all), in the order maps then reduces, by task, by attempt number, which
 * does not change as attempts start (new ones go to their task's end, so
 * a page taken later may hold attempts an earlier page had, never miss
 * one). A non-zero return of fn stops the walk and is returned; else 0.
 * O(tasks + attempts from `from`).
 */
typedef int sl_sched_attempt_fn(void *arg, const sl_sched_attempt *a);
int sl_sched_attempt_each(const sl_sched *s, uint64_t from,
			  sl_sched_attempt_fn *fn, void *arg);

/* Attempts running now, those to be killed included. */
uint32_t sl_sched_running(const sl_sched *s);

#endif
