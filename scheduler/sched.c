/*
 * sched.c - the scheduler of one job: events in, decisions out.
 *
 * State: two stages (maps, reduces), each a fixed array of tasks; each
 * task a growable array of its attempts, by attempt number. A task is
 * done while `ok` names an attempt: for a map the attempt whose output is
 * available, for a reduce the attempt that committed. Three indexes keep
 * the calls cheap: a cursor per stage (tasks below it have been started
 * once; new tasks start in index order), the rerun queue (tasks that need
 * another attempt, each at most once, with the time they may start) and
 * the list of running attempts in start order (the only attempts that
 * occupy slots, become stragglers or get killed).
 *
 * Failure accounting happens in one place, sched_finish(), for every way
 * an attempt can end (its report, its worker's loss); commits only move
 * the commit state. No call allocates after it has changed the state, so
 * SL_ENOMEM always leaves the scheduler as it was.
 *
 * Owner: the coordinator's thread; see sched.h for costs.
 */
#include "sl_impl.h"

#include <stdlib.h>

#include "scheduler/sched.h"

#define SCHED_NONE UINT32_MAX

enum sched_att_state {
	ATT_RUNNING,   /* occupies a slot on its worker */
	ATT_SUCCEEDED, /* made a map output / committed a partition */
	ATT_FAILED,    /* a counted failure */
	ATT_ABORTED,   /* ended without counting: killed, not needed, or
	                  failed because another task's output was lost */
};

/* Who wrote the error text of an attempt, when it has no copied one. */
enum sched_why {
	WHY_STATUS,      /* the reported status: sl_strerror() */
	WHY_WORKER_LOST, /* its worker was lost while it ran */
	WHY_FETCH,       /* its map output could not be fetched */
	WHY_NO_COMMIT,   /* a reduce that ended without committing */
};

typedef struct sched_attempt {
	uint32_t worker;        /* id of the worker it runs or ran on */
	uint64_t start_ms;      /* when sl_sched_next() started it */
	uint64_t end_ms;        /* when it ended; 0 while running */
	uint64_t lost_at_start; /* sl_sched.outputs_lost when it started */
	uint8_t state;          /* enum sched_att_state */
	uint8_t why;            /* enum sched_why, used when error is NULL */
	bool speculative;       /* a copy of a straggler */
	bool obsolete;          /* while running: not needed, to be killed */
	bool kill_sent;         /* returned by sl_sched_next_kill() */
	int status;             /* the failure's status, SL_OK until one */
	char *error;            /* owned copy of the reported error, or NULL */
} sched_attempt;

typedef struct sched_task {
	uint8_t kind;        /* SL_TASK_MAP or SL_TASK_REDUCE */
	uint32_t index;      /* map: split index; reduce: partition */
	sched_attempt *att;  /* attempts by number */
	size_t alloc;        /* attempts room at att */
	uint32_t natt;       /* attempts started */
	uint32_t failures;   /* counted failures */
	uint32_t nlive;      /* running attempts not obsolete */
	uint32_t ok;         /* attempt with the output/commit, SCHED_NONE */
	uint32_t committing; /* reduce: attempt whose commit is in flight */
	bool queued;         /* in the rerun queue */
	bool finished;       /* its first success's runtime is in the stats */
	uint64_t ready_ms;   /* while queued: may start from this time */
} sched_task;

typedef struct sched_stage {
	sched_task *tasks;  /* ntasks tasks by index */
	uint32_t ntasks;
	uint32_t next_new;  /* tasks below this index have been started */
	uint32_t ndone;     /* tasks whose ok is set */
	uint64_t *runtimes; /* ms, sorted: first success of each task that
	                       finished; room for ntasks */
	uint32_t nfinished; /* entries in runtimes */
} sched_stage;

typedef struct sched_worker {
	uint32_t id;       /* the coordinator's worker id */
	uint32_t slots;    /* task slots */
	uint32_t used;     /* slots held by running attempts */
	uint32_t failures; /* counted failures charged to it */
	bool lost;         /* gone for good */
	bool excluded;     /* too many failures: used only when no other is */
} sched_worker;

/* A running attempt: tasks never move, attempts arrays do. */
typedef struct sched_ref {
	sched_task *t;
	uint32_t att;
} sched_ref;

enum sched_fail_kind {
	FAIL_TASK,    /* fail_task ran out of attempts */
	FAIL_ATTEMPT, /* fail_task's attempt fail_att was not retryable */
	FAIL_REASON,  /* sl_sched_fail(reason) */
};

struct sl_sched {
	sl_sched_config cfg;
	sched_stage stage[2];   /* [0] maps, [1] reduces */
	sched_worker *workers;  /* in the order they joined */
	uint32_t nworkers;
	size_t walloc;
	uint32_t nalive;        /* workers not lost */
	uint32_t nusable;       /* workers neither lost nor excluded */
	sched_ref *running;     /* running attempts, in start order */
	uint32_t nrunning;
	size_t ralloc;
	sched_task **queue;     /* reruns, in queue order; room for all */
	uint32_t nqueue;
	uint64_t outputs_lost;  /* map outputs lost so far (lost worker or
	                           failed fetch) */
	sl_sched_state state;
	uint8_t fail_kind;      /* enum sched_fail_kind, when FAILED */
	sched_task *fail_task;  /* FAIL_TASK, FAIL_ATTEMPT */
	uint32_t fail_att;      /* FAIL_ATTEMPT */
	char *reason;           /* FAIL_REASON: owned, NULL after ENOMEM */
	uint32_t *reduce_on;    /* by partition: the only worker its attempts
	                           may run on, 0 for any; NULL: no pin yet */
	bool reduces_held;      /* sl_sched_hold_reduces(): no reduce starts */
};

void
sl_sched_config_default(sl_sched_config *c)
{
	c->max_attempts = 4;     /* Hadoop's mapreduce.map.maxattempts */
	c->backoff_ms = 1000;
	c->speculation = true;
	c->slow_ratio = 1.5;     /* Spark's spark.speculation.multiplier */
	c->spec_quantile = 0.75; /* Spark's spark.speculation.quantile */
	c->spec_min_ms = 1000;
	c->exclude_after = 3;    /* Hadoop's maxtaskfailures.per.tracker */
}

static sched_stage *
sched_stage_of(sl_sched *s, uint8_t kind)
{
	return &s->stage[kind == SL_TASK_REDUCE];
}

static sched_task *
sched_task_of(const sl_sched *s, uint8_t kind, uint32_t index)
{
	const sched_stage *st;

	if (kind != SL_TASK_MAP && kind != SL_TASK_REDUCE)
		return NULL;
	st = &s->stage[kind == SL_TASK_REDUCE];
	return index < st->ntasks ? &st->tasks[index] : NULL;
}

/* The running attempt n of t, or NULL (unknown or ended). */
static sched_attempt *
sched_running_att(sched_task *t, uint32_t n)
{
	if (t == NULL || n >= t->natt || t->att[n].state != ATT_RUNNING)
		return NULL;
	return &t->att[n];
}

static sched_worker *
sched_worker_of(const sl_sched *s, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < s->nworkers; i++)
		if (s->workers[i].id == id)
			return &s->workers[i];
	return NULL;
}

/* Exclusion holds only while some worker is not excluded. */
static bool
sched_usable(const sl_sched *s, const sched_worker *w)
{
	return !w->lost && (!w->excluded || s->nusable == 0);
}

/* Reduces start only while every map output is available, unless held. */
static bool
sched_runnable(const sl_sched *s, const sched_task *t)
{
	return t->kind == SL_TASK_MAP ||
	       (!s->reduces_held && sl_sched_maps_done(s));
}

/* The worker reduce t is pinned to, or 0. */
static uint32_t
sched_pin_of(const sl_sched *s, const sched_task *t)
{
	return t->kind == SL_TASK_REDUCE && s->reduce_on ? s->reduce_on[t->index]
							 : 0;
}

static uint64_t
sched_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Delay before the rerun that follows the n-th counted failure. */
static uint64_t
sched_backoff(const sl_sched_config *c, uint32_t failures)
{
	uint64_t d = c->backoff_ms;
	uint32_t i;

	for (i = 1; i < failures && d < SL_SCHED_MAX_BACKOFF_MS; i++)
		d *= 2;
	return d < SL_SCHED_MAX_BACKOFF_MS ? d : SL_SCHED_MAX_BACKOFF_MS;
}

static bool
sched_has_att_on(const sched_task *t, uint32_t worker, uint8_t state)
{
	uint32_t i;

	for (i = 0; i < t->natt; i++)
		if (t->att[i].worker == worker && t->att[i].state == state)
			return true;
	return false;
}

/* A pinned reduce runs on its worker, excluded or not, or nowhere. */
static bool
sched_candidate(const sl_sched *s, const sched_task *t,
		const sched_worker *w, bool avoid_running)
{
	uint32_t pin = sched_pin_of(s, t);

	if (pin != 0 && (w->id != pin || w->lost))
		return false;
	return (pin != 0 || sched_usable(s, w)) &&
	       !(avoid_running && sched_has_att_on(t, w->id, ATT_RUNNING));
}

/*
 * The worker for a new attempt of t, or NULL when no candidate has a free
 * slot. Workers t failed on are skipped while another candidate exists,
 * even a busy one: the rerun waits for its slot rather than return to a
 * worker that failed it.
 */
static sched_worker *
sched_pick(const sl_sched *s, const sched_task *t, bool avoid_running)
{
	sched_worker *w, *best = NULL;
	bool avoid_failed = false;
	uint32_t i, best_free = 0;

	for (i = 0; i < s->nworkers && !avoid_failed; i++) {
		w = &s->workers[i];
		avoid_failed = sched_candidate(s, t, w, avoid_running) &&
			       !sched_has_att_on(t, w->id, ATT_FAILED);
	}
	for (i = 0; i < s->nworkers; i++) {
		uint32_t free_slots;

		w = &s->workers[i];
		free_slots = w->slots - w->used;
		if (free_slots == 0 ||
		    !sched_candidate(s, t, w, avoid_running) ||
		    (avoid_failed && sched_has_att_on(t, w->id, ATT_FAILED)))
			continue;
		if (best == NULL || free_slots > best_free ||
		    (free_slots == best_free && w->id < best->id)) {
			best = w;
			best_free = free_slots;
		}
	}
	return best;
}

/* Describes attempt n of t, for sl_sched_next() and sl_sched_next_kill(). */
static void
sched_assign_of(const sched_task *t, uint32_t n, sl_assign *out)
{
	out->kind = t->kind;
	out->task = t->index;
	out->attempt = n;
	out->worker = t->att[n].worker;
	out->speculative = t->att[n].speculative;
}

/* Starts a new attempt of t on w. SL_OK or SL_ENOMEM (nothing changed). */
static int
sched_start(sl_sched *s, sched_task *t, sched_worker *w, bool speculative,
	    uint64_t now, sl_assign *out)
{
	sched_attempt *a;

	if (sl_array_grow(&t->att, &t->alloc, t->natt + 1,
			  sizeof(*t->att)) != SL_OK ||
	    sl_array_grow(&s->running, &s->ralloc, s->nrunning + 1,
			  sizeof(*s->running)) != SL_OK)
		return SL_ENOMEM;
	a = &t->att[t->natt];
	memset(a, 0, sizeof(*a));
	a->worker = w->id;
	a->start_ms = now;
	a->lost_at_start = s->outputs_lost;
	a->state = ATT_RUNNING;
	a->why = WHY_STATUS;
	a->speculative = speculative;
	a->status = SL_OK;
	s->running[s->nrunning++] = (sched_ref){ t, t->natt };
	sched_assign_of(t, t->natt, out);
	t->natt++;
	t->nlive++;
	w->used++;
	return SL_OK;
}

/*
 * Keeps a copy of the error reported for a; NULL or "" keeps what it had.
 * SL_OK or SL_ENOMEM (nothing changed).
 */
static int
sched_set_error(sched_attempt *a, const char *error)
{
	char *copy;

	if (error == NULL || *error == '\0')
		return SL_OK;
	if ((copy = strdup(error)) == NULL)
		return SL_ENOMEM;
	free(a->error);
	a->error = copy;
	return SL_OK;
}

/* A running attempt is no longer needed: sl_sched_next_kill() returns it. */
static void
sched_obsolete(sched_task *t, sched_attempt *a)
{
	if (a->state == ATT_RUNNING && !a->obsolete) {
		a->obsolete = true;
		t->nlive--;
	}
}

static void
sched_obsolete_others(sched_task *t, uint32_t keep)
{
	uint32_t i;

	for (i = 0; i < t->natt; i++)
		if (i != keep)
			sched_obsolete(t, &t->att[i]);
}

/* Takes the running attempt n of t off its slot, as `state`. */
static void
sched_end(sl_sched *s, sched_task *t, uint32_t n, uint8_t state)
{
	sched_attempt *a = &t->att[n];
	sched_worker *w = sched_worker_of(s, a->worker);
	uint32_t i;

	for (i = 0; i < s->nrunning; i++)
		if (s->running[i].t == t && s->running[i].att == n)
			break;
	memmove(&s->running[i], &s->running[i + 1],
		(s->nrunning - i - 1) * sizeof(s->running[0]));
	s->nrunning--;
	if (!w->lost)
		w->used--;
	if (!a->obsolete)
		t->nlive--;
	if (t->committing == n)
		t->committing = SCHED_NONE;
	a->state = state;
}

/* The job is over: every attempt still working is to be killed. */
static void
sched_job_end(sl_sched *s, sl_sched_state state)
{
	uint32_t i;

	if (s->state != SL_SCHED_RUNNING)
		return;
	s->state = state;
	for (i = 0; i < s->nrunning; i++) {
		sched_task *t = s->running[i].t;

		/* a reduce that committed has nothing left to do */
		if (t->ok != s->running[i].att)
			sched_obsolete(t, &t->att[s->running[i].att]);
	}
}

static void
sched_fail_task(sl_sched *s, sched_task *t, uint8_t kind, uint32_t att)
{
	if (s->state != SL_SCHED_RUNNING)
		return;
	s->fail_kind = kind;
	s->fail_task = t;
	s->fail_att = att;
	sched_job_end(s, SL_SCHED_FAILED);
}

/* t needs another attempt, from ready_ms on. */
static void
sched_queue(sl_sched *s, sched_task *t, uint64_t ready_ms)
{
	if (t->queued || t->nlive > 0 || t->ok != SCHED_NONE ||
	    s->state != SL_SCHED_RUNNING)
		return;
	t->queued = true;
	t->ready_ms = ready_ms;
	s->queue[s->nqueue++] = t;
}

static void
sched_dequeue(sl_sched *s, uint32_t i)
{
	s->queue[i]->queued = false;
	memmove(&s->queue[i], &s->queue[i + 1],
		(s->nqueue - i - 1) * sizeof(s->queue[0]));
	s->nqueue--;
}

/* A failure charged to a worker; enough of them exclude it. */
static void
sched_charge(sl_sched *s, uint32_t worker)
{
	sched_worker *w = sched_worker_of(s, worker);

	if (w == NULL || w->lost || w->excluded)
		return;
	w->failures++;
	if (s->cfg.exclude_after && w->failures >= s->cfg.exclude_after) {
		w->excluded = true;
		s->nusable--;
	}
}

/* A counted failure of t on worker: rerun after the delay, or fail. */
static void
sched_count_failure(sl_sched *s, sched_task *t, uint32_t worker,
		    uint64_t now)
{
	t->failures++;
	sched_charge(s, worker);
	if (t->failures >= s->cfg.max_attempts)
		sched_fail_task(s, t, FAIL_TASK, SCHED_NONE);
	else
		sched_queue(s, t, sched_add_sat(now,
			    sched_backoff(&s->cfg, t->failures)));
}

/* Keeps the sorted runtimes of the first success of each task. */
static void
sched_record_runtime(sl_sched *s, sched_task *t, uint64_t runtime)
{
	sched_stage *st = sched_stage_of(s, t->kind);
	uint32_t i = st->nfinished;

	if (t->finished)
		return;
	t->finished = true;
	while (i > 0 && st->runtimes[i - 1] > runtime) {
		st->runtimes[i] = st->runtimes[i - 1];
		i--;
	}
	st->runtimes[i] = runtime;
	st->nfinished++;
}

static uint64_t
sched_runtime(const sched_attempt *a, uint64_t now)
{
	return now > a->start_ms ? now - a->start_ms : 0;
}

/* t is done by its attempt n: a map output or a commit. */
static void
sched_task_done(sl_sched *s, sched_task *t, uint32_t n, uint64_t now)
{
	sched_stage *st = sched_stage_of(s, t->kind);

	t->ok = n;
	st->ndone++;
	sched_record_runtime(s, t, sched_runtime(&t->att[n], now));
	sched_obsolete_others(t, n);
	if (t->kind == SL_TASK_REDUCE && st->ndone == st->ntasks)
		sched_job_end(s, SL_SCHED_SUCCEEDED);
}

/*
 * The running attempt n of t ended (its report or its worker's loss):
 * the one place where the rules about an attempt's end are applied.
 */
static void
sched_finish(sl_sched *s, sched_task *t, uint32_t n, bool ok, bool retryable,
	     bool counted, uint64_t now)
{
	sched_attempt *a = &t->att[n];

	a->end_ms = now;
	if (t->ok == n) {
		/* the reduce that committed */
		sched_end(s, t, n, ATT_SUCCEEDED);
	} else if (a->obsolete || t->ok != SCHED_NONE ||
		   s->state != SL_SCHED_RUNNING) {
		sched_end(s, t, n, ATT_ABORTED);
	} else if (ok) {
		sched_end(s, t, n, ATT_SUCCEEDED);
		sched_task_done(s, t, n, now);
	} else if (!counted) {
		sched_end(s, t, n, ATT_ABORTED);
		sched_queue(s, t, now);
	} else {
		sched_end(s, t, n, ATT_FAILED);
		if (retryable)
			sched_count_failure(s, t, a->worker, now);
		else
			sched_fail_task(s, t, FAIL_ATTEMPT, n);
	}
}

int
sl_sched_new(sl_sched **sp, uint32_t nmaps, uint32_t nreduces,
	     const sl_sched_config *cfg)
{
	uint32_t counts[2] = { nmaps, nreduces };
	sl_sched *s;
	int k;

	*sp = NULL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return SL_ENOMEM;
	if (cfg)
		s->cfg = *cfg;
	else
		sl_sched_config_default(&s->cfg);
	if (nreduces == 0 || s->cfg.max_attempts == 0 ||
	    !(s->cfg.slow_ratio >= 1.0 && s->cfg.slow_ratio <= 1000.0) ||
	    !(s->cfg.spec_quantile > 0.0 && s->cfg.spec_quantile <= 1.0)) {
		free(s);
		return SL_EINVAL;
	}
	s->state = SL_SCHED_RUNNING;
	for (k = 0; k < 2; k++) {
		sched_stage *st = &s->stage[k];
		uint32_t i;

		st->ntasks = counts[k];
		if (counts[k] == 0)
			continue;
		st->tasks = calloc(counts[k], sizeof(*st->tasks));
		st->runtimes = calloc(counts[k], sizeof(*st->runtimes));
		if (st->tasks == NULL || st->runtimes == NULL)
			goto nomem;
		for (i = 0; i < counts[k]; i++) {
			st->tasks[i].kind = k ? SL_TASK_REDUCE : SL_TASK_MAP;
			st->tasks[i].index = i;
			st->tasks[i].ok = SCHED_NONE;
			st->tasks[i].committing = SCHED_NONE;
		}
	}
	s->queue = calloc((size_t)nmaps + nreduces, sizeof(*s->queue));
	if (s->queue == NULL)
		goto nomem;
	*sp = s;
	return SL_OK;
nomem:
	sl_sched_free(s);
	return SL_ENOMEM;
}

void
sl_sched_free(sl_sched *s)
{
	uint32_t i;
	int k;

	if (s == NULL)
		return;
	for (k = 0; k < 2; k++) {
		sched_stage *st = &s->stage[k];

		for (i = 0; st->tasks && i < st->ntasks; i++) {
			uint32_t j;

			for (j = 0; j < st->tasks[i].natt; j++)
				free(st->tasks[i].att[j].error);
			free(st->tasks[i].att);
		}
		free(st->tasks);
		free(st->runtimes);
	}
	free(s->workers);
	free(s->running);
	free(s->queue);
	free(s->reason);
	free(s->reduce_on);
	free(s);
}

int
sl_sched_pin_reduce(sl_sched *s, uint32_t partition, uint32_t worker)
{
	if (partition >= s->stage[1].ntasks)
		return SL_EINVAL;
	if (s->reduce_on == NULL) {
		s->reduce_on = calloc(s->stage[1].ntasks, sizeof(*s->reduce_on));
		if (s->reduce_on == NULL)
			return SL_ENOMEM;
	}
	s->reduce_on[partition] = worker;
	return SL_OK;
}

void
sl_sched_hold_reduces(sl_sched *s, bool hold)
{
	s->reduces_held = hold;
}

bool
sl_sched_maps_done(const sl_sched *s)
{
	return s->stage[0].ndone == s->stage[0].ntasks;
}

int
sl_sched_worker_add(sl_sched *s, uint32_t worker, uint32_t slots)
{
	if (slots == 0 || slots > SL_SCHED_MAX_SLOTS ||
	    sched_worker_of(s, worker) != NULL)
		return SL_EINVAL;
	if (sl_array_grow(&s->workers, &s->walloc, s->nworkers + 1,
			  sizeof(*s->workers)) != SL_OK)
		return SL_ENOMEM;
	s->workers[s->nworkers++] = (sched_worker){ .id = worker,
						    .slots = slots };
	s->nalive++;
	s->nusable++;
	return SL_OK;
}

int
sl_sched_worker_capacity(sl_sched *s, uint32_t worker, uint32_t slots)
{
	sched_worker *w = sched_worker_of(s, worker);

	if (w == NULL)
		return SL_EINVAL;
	w->slots = slots > w->used ? slots : w->used;
	return SL_OK;
}

uint32_t
sl_sched_worker_used(const sl_sched *s, uint32_t worker)
{
	const sched_worker *w = sched_worker_of(s, worker);

	return w ? w->used : 0;
}

size_t
sl_share_pick(const uint32_t *running, const bool *wanting, size_t n)
{
	size_t i, best = n;

	for (i = 0; i < n; i++)
		if (wanting[i] && (best == n || running[i] < running[best]))
			best = i;
	return best;
}

int
sl_sched_worker_lost(sl_sched *s, uint32_t worker, uint64_t now_ms)
{
	sched_worker *w = sched_worker_of(s, worker);
	sched_stage *maps = &s->stage[0];
	uint32_t i;

	if (w == NULL || w->lost)
		return SL_EINVAL;
	w->lost = true;
	s->nalive--;
	if (!w->excluded)
		s->nusable--;
	w->used = 0;
	for (i = 0; i < s->nrunning;) {
		sched_ref r = s->running[i];
		sched_attempt *a = &r.t->att[r.att];

		if (a->worker != worker) {
			i++;
			continue;
		}
		a->why = WHY_WORKER_LOST;
		a->status = SL_ELOST;
		/* takes running[i] off the list */
		sched_finish(s, r.t, r.att, false, true, true, now_ms);
	}
	if (s->state != SL_SCHED_RUNNING)
		return SL_OK;
	for (i = 0; i < maps->ntasks; i++) {
		sched_task *t = &maps->tasks[i];

		if (t->ok == SCHED_NONE || t->att[t->ok].worker != worker)
			continue;
		t->ok = SCHED_NONE;
		maps->ndone--;
		s->outputs_lost++;
		sched_queue(s, t, now_ms);
	}
	return SL_OK;
}

uint32_t
sl_sched_workers(const sl_sched *s)
{
	return s->nalive;
}

/*
 * Whether the running attempt a of t may get a speculative copy once its
 * runtime exceeds *limit_ms (see docs/scheduling.md).
 */
static bool
sched_spec_limit(const sl_sched *s, const sched_task *t,
		 const sched_attempt *a, uint64_t *limit_ms)
{
	const sched_stage *st = &s->stage[t->kind == SL_TASK_REDUCE];
	double median, limit;

	if (!s->cfg.speculation || a->obsolete || t->nlive != 1 ||
	    t->ok != SCHED_NONE || t->committing != SCHED_NONE ||
	    !sched_runnable(s, t) || st->nfinished == 0 ||
	    (double)st->nfinished < s->cfg.spec_quantile * st->ntasks)
		return false;
	median = (double)st->runtimes[(st->nfinished - 1) / 2];
	limit = s->cfg.slow_ratio * median;
	*limit_ms = limit >= 1.8e19 ? UINT64_MAX : (uint64_t)limit;
	if (*limit_ms < s->cfg.spec_min_ms)
		*limit_ms = s->cfg.spec_min_ms;
	return true;
}

/* A speculative copy of the slowest straggler that has a free slot. */
static int
sched_next_spec(sl_sched *s, uint64_t now, sl_assign *out)
{
	sched_task *best = NULL;
	sched_worker *best_w = NULL;
	uint64_t best_rt = 0, limit;
	uint32_t i;

	for (i = 0; i < s->nrunning; i++) {
		sched_task *t = s->running[i].t;
		sched_attempt *a = &t->att[s->running[i].att];
		uint64_t rt = sched_runtime(a, now);
		sched_worker *w;

		if (!sched_spec_limit(s, t, a, &limit) || rt <= limit ||
		    (best && rt <= best_rt))
			continue;
		w = sched_pick(s, t, true);
		if (w) {
			best = t;
			best_w = w;
			best_rt = rt;
		}
	}
	if (best == NULL)
		return 0;
	if (sched_start(s, best, best_w, true, now, out) != SL_OK)
		return SL_ENOMEM;
	return 1;
}

int
sl_sched_next(sl_sched *s, uint64_t now_ms, sl_assign *out)
{
	sched_worker *w;
	uint32_t i;
	int k;

	if (s->state != SL_SCHED_RUNNING)
		return 0;
	for (i = 0; i < s->nqueue; i++) {
		sched_task *t = s->queue[i];

		if (t->ready_ms > now_ms || !sched_runnable(s, t) ||
		    (w = sched_pick(s, t, false)) == NULL)
			continue;
		if (sched_start(s, t, w, false, now_ms, out) != SL_OK)
			return SL_ENOMEM;
		sched_dequeue(s, i);
		return 1;
	}
	for (k = 0; k < 2; k++) {
		sched_stage *st = &s->stage[k];
		sched_task *t;

		if (st->next_new == st->ntasks)
			continue;
		t = &st->tasks[st->next_new];
		if (!sched_runnable(s, t) ||
		    (w = sched_pick(s, t, false)) == NULL)
			continue;
		if (sched_start(s, t, w, false, now_ms, out) != SL_OK)
			return SL_ENOMEM;
		st->next_new++;
		return 1;
	}
	return sched_next_spec(s, now_ms, out);
}

int
sl_sched_attempt_done(sl_sched *s, uint8_t kind, uint32_t task,
		      uint32_t attempt, int status, bool retryable,
		      const char *error, uint64_t now_ms)
{
	sched_task *t = sched_task_of(s, kind, task);
	sched_attempt *a = sched_running_att(t, attempt);
	bool ok = status == SL_OK, counted;

	if (a == NULL)
		return SL_EINVAL;
	if (!ok) {
		if (sched_set_error(a, error) != SL_OK)
			return SL_ENOMEM;
		a->status = status;
	}
	if (ok && kind == SL_TASK_REDUCE && t->ok != attempt) {
		/* its output is not in place: keep a failed commit's error */
		ok = false;
		retryable = true;
		if (a->error == NULL && a->status == SL_OK)
			a->why = WHY_NO_COMMIT;
	}
	/* a reduce that lost a peer is not charged when a map output was
	   lost while it ran; any other one is, so that a peer that keeps
	   failing cannot make it run for ever */
	counted = !(kind == SL_TASK_REDUCE && status == SL_ELOST &&
		    s->outputs_lost != a->lost_at_start);
	sched_finish(s, t, attempt, ok, retryable, counted, now_ms);
	return SL_OK;
}

int
sl_sched_commit_request(sl_sched *s, uint32_t partition, uint32_t attempt)
{
	sched_task *t = sched_task_of(s, SL_TASK_REDUCE, partition);
	sched_attempt *a = sched_running_att(t, attempt);

	if (a == NULL)
		return SL_EINVAL;
	if (s->state == SL_SCHED_RUNNING && !a->obsolete &&
	    t->ok == SCHED_NONE && t->committing == SCHED_NONE) {
		t->committing = attempt;
		return 1;
	}
	sched_obsolete(t, a);
	return 0;
}

int
sl_sched_commit_done(sl_sched *s, uint32_t partition, uint32_t attempt,
		     int status, const char *error, uint64_t now_ms)
{
	sched_task *t = sched_task_of(s, SL_TASK_REDUCE, partition);
	sched_attempt *a;

	if (t == NULL || t->committing != attempt || attempt == SCHED_NONE)
		return SL_EINVAL;
	a = &t->att[attempt];
	if (status != SL_OK && sched_set_error(a, error) != SL_OK)
		return SL_ENOMEM;
	t->committing = SCHED_NONE;
	if (status != SL_OK)
		a->status = status;
	else
		sched_task_done(s, t, attempt, now_ms);
	return SL_OK;
}

int
sl_sched_next_kill(sl_sched *s, sl_assign *out)
{
	uint32_t i;

	for (i = 0; i < s->nrunning; i++) {
		sched_task *t = s->running[i].t;
		sched_attempt *a = &t->att[s->running[i].att];

		if (!a->obsolete || a->kill_sent)
			continue;
		a->kill_sent = true;
		sched_assign_of(t, s->running[i].att, out);
		return 1;
	}
	return 0;
}

int
sl_sched_map_location(const sl_sched *s, uint32_t map, uint32_t *worker,
		      uint32_t *attempt)
{
	const sched_task *t = sched_task_of(s, SL_TASK_MAP, map);

	if (t == NULL)
		return SL_EINVAL;
	if (t->ok == SCHED_NONE)
		return SL_ENOTFOUND;
	*worker = t->att[t->ok].worker;
	*attempt = t->ok;
	return SL_OK;
}

void
sl_sched_progress(const sl_sched *s, uint32_t *maps_done,
		  uint32_t *reduces_done)
{
	*maps_done = s->stage[0].ndone;
	*reduces_done = s->stage[1].ndone;
}

int
sl_sched_attempt_worker(const sl_sched *s, uint8_t kind, uint32_t task,
			uint32_t attempt, uint32_t *worker)
{
	const sched_task *t = sched_task_of(s, kind, task);

	if (t == NULL || attempt >= t->natt)
		return SL_EINVAL;
	*worker = t->att[attempt].worker;
	return SL_OK;
}

int
sl_sched_fetch_failed(sl_sched *s, uint32_t map, uint32_t attempt,
		      uint32_t worker, uint64_t now_ms)
{
	sched_task *t = sched_task_of(s, SL_TASK_MAP, map);
	sched_attempt *a;

	if (t == NULL || t->ok == SCHED_NONE || t->ok != attempt ||
	    t->att[attempt].worker != worker)
		return SL_EINVAL;
	if (s->state != SL_SCHED_RUNNING)
		return SL_OK;
	a = &t->att[attempt];
	a->state = ATT_FAILED;
	a->why = WHY_FETCH;
	a->status = SL_ELOST;
	t->ok = SCHED_NONE;
	s->stage[0].ndone--;
	s->outputs_lost++;
	sched_count_failure(s, t, worker, now_ms);
	return SL_OK;
}

sl_sched_state
sl_sched_state_of(const sl_sched *s)
{
	return s->state;
}

static const char *
sched_att_error(const sched_attempt *a)
{
	if (a->error)
		return a->error;
	switch (a->why) {
	case WHY_WORKER_LOST:
		return "worker lost";
	case WHY_FETCH:
		return "output lost: a reduce task could not fetch it";
	case WHY_NO_COMMIT:
		return "reduce attempt ended without committing its output";
	default:
		return sl_strerror(a->status);
	}
}

uint64_t
sl_sched_attempts(const sl_sched *s)
{
	uint64_t n = 0;
	uint32_t k, i;

	for (k = 0; k < 2; k++)
		for (i = 0; i < s->stage[k].ntasks; i++)
			n += s->stage[k].tasks[i].natt;
	return n;
}

int
sl_sched_attempt_each(const sl_sched *s, uint64_t from,
		      sl_sched_attempt_fn *fn, void *arg)
{
	static const uint8_t states[] = {
		[ATT_RUNNING] = SL_ATTEMPT_RUNNING,
		[ATT_SUCCEEDED] = SL_ATTEMPT_SUCCEEDED,
		[ATT_FAILED] = SL_ATTEMPT_FAILED,
		[ATT_ABORTED] = SL_ATTEMPT_ABORTED,
	};
	sl_sched_attempt v;
	uint64_t seen = 0;
	uint32_t k, i, n;
	int rv;

	for (k = 0; k < 2; k++) {
		for (i = 0; i < s->stage[k].ntasks; i++) {
			const sched_task *t = &s->stage[k].tasks[i];

			if (seen + t->natt <= from) { /* a page further on */
				seen += t->natt;
				continue;
			}
			for (n = 0; n < t->natt; n++, seen++) {
				const sched_attempt *a = &t->att[n];

				if (seen < from)
					continue;
				v.kind = t->kind;
				v.task = t->index;
				v.attempt = n;
				v.worker = a->worker;
				v.start_ms = a->start_ms;
				v.end_ms = a->state == ATT_RUNNING ? 0
								   : a->end_ms;
				v.state = states[a->state];
				v.speculative = a->speculative;
				v.error = a->state == ATT_FAILED ||
						  (a->state == ATT_ABORTED &&
						   (a->error || a->status))
						  ? sched_att_error(a)
						  : "";
				if ((rv = fn(arg, &v)) != 0)
					return rv;
			}
		}
	}
	return 0;
}

int
sl_sched_failure(const sl_sched *s, sl_buf *out)
{
	const sched_task *t = s->fail_task;
	uint32_t i;
	int rc;

	if (s->state != SL_SCHED_FAILED)
		return SL_EINVAL;
	if (s->fail_kind == FAIL_REASON)
		return sl_buf_addstr(out, s->reason ? s->reason :
				     sl_strerror(SL_ENOMEM));
	if (s->fail_kind == FAIL_ATTEMPT)
		return sl_buf_addstr(out,
				     sched_att_error(&t->att[s->fail_att]));
	rc = sl_buf_addf(out, "%s task %u failed after %u attempt%s:",
			 t->kind == SL_TASK_MAP ? "map" : "reduce", t->index,
			 t->failures, t->failures == 1 ? "" : "s");
	for (i = 0; i < t->natt && rc == SL_OK; i++)
		if (t->att[i].state == ATT_FAILED)
			rc = sl_buf_addf(out, "\n  attempt %u on worker %u: %s",
					 i, t->att[i].worker,
					 sched_att_error(&t->att[i]));
	return rc;
}

int
sl_sched_fail(sl_sched *s, const char *reason)
{
	if (s->state != SL_SCHED_RUNNING)
		return SL_OK;
	s->reason = strdup(reason ? reason : sl_strerror(SL_EJOB));
	s->fail_kind = FAIL_REASON;
	sched_job_end(s, SL_SCHED_FAILED);
	return s->reason ? SL_OK : SL_ENOMEM;
}

uint64_t
sl_sched_next_due(const sl_sched *s, uint64_t now_ms)
{
	uint64_t due = UINT64_MAX, limit, d;
	uint32_t i;

	if (s->state != SL_SCHED_RUNNING)
		return UINT64_MAX;
	for (i = 0; i < s->nqueue; i++) {
		const sched_task *t = s->queue[i];

		if (sched_runnable(s, t) && t->ready_ms > now_ms &&
		    t->ready_ms < due)
			due = t->ready_ms;
	}
	for (i = 0; i < s->nrunning; i++) {
		const sched_task *t = s->running[i].t;
		const sched_attempt *a = &t->att[s->running[i].att];

		if (!sched_spec_limit(s, t, a, &limit))
			continue;
		/* a straggler from the first ms its runtime exceeds limit */
		d = sched_add_sat(sched_add_sat(a->start_ms, limit), 1);
		if (d > now_ms && d < due)
			due = d;
	}
	return due;
}

uint32_t
sl_sched_running(const sl_sched *s)
{
	return s->nrunning;
}
