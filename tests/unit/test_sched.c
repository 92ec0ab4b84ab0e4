/*
 * test_sched.c - the scheduler's rules, driven event by event with times
 * given by hand: every expected assignment, kill, time and message below
 * is worked out from the rules in docs/scheduling.md, not from the code.
 */
#include "sl_impl.h"

#include <math.h>

#include "scheduler/sched.h"
#include "tests/unit/unit.h"

#define MAP SL_TASK_MAP
#define RED SL_TASK_REDUCE

static const char *
kind_name(uint8_t kind)
{
	return kind == MAP ? "map" : kind == RED ? "reduce" : "?";
}

/* Checks one sl_assign against the expected one; prints both if not. */
static void
expect_assign(int line, int rc, const sl_assign *a, uint8_t kind,
	      uint32_t task, uint32_t att, uint32_t worker, bool spec)
{
	int ok = rc == 1 && a->kind == kind && a->task == task &&
		 a->attempt == att && a->worker == worker &&
		 a->speculative == spec;

	if (!ok)
		fprintf(stderr, "line %d: got rc %d: %s %u/%u on %u%s; want "
			"%s %u/%u on %u%s\n", line, rc, kind_name(a->kind),
			a->task, a->attempt, a->worker,
			a->speculative ? " (spec)" : "", kind_name(kind),
			task, att, worker, spec ? " (spec)" : "");
	CU_ASSERT(ok);
}

#define EXPECT_START(s, now, k, t, at, w, spec)                              \
	do {                                                                 \
		sl_assign as_ = { 0 };                                       \
		int rcs_ = sl_sched_next((s), (now), &as_);                  \
		expect_assign(__LINE__, rcs_, &as_, k, t, at, w, spec);      \
	} while (0)
#define EXPECT_NEXT(s, now, k, t, at, w)                                     \
	EXPECT_START(s, now, k, t, at, w, false)
#define EXPECT_SPEC(s, now, k, t, at, w)                                     \
	EXPECT_START(s, now, k, t, at, w, true)
#define EXPECT_NONE(s, now)                                                  \
	do {                                                                 \
		sl_assign as_ = { 0 };                                       \
		ASSERT_EQ_INT(sl_sched_next((s), (now), &as_), 0);           \
	} while (0)
#define EXPECT_KILL(s, k, t, at, w, spec)                                    \
	do {                                                                 \
		sl_assign as_ = { 0 };                                       \
		int rcs_ = sl_sched_next_kill((s), &as_);                    \
		expect_assign(__LINE__, rcs_, &as_, k, t, at, w, spec);      \
	} while (0)
#define EXPECT_NO_KILL(s)                                                    \
	do {                                                                 \
		sl_assign as_ = { 0 };                                       \
		ASSERT_EQ_INT(sl_sched_next_kill((s), &as_), 0);             \
	} while (0)
#define DONE(s, k, t, at, status, now)                                       \
	ASSERT_EQ_INT(sl_sched_attempt_done((s), (k), (t), (at), (status),   \
					    true, NULL, (now)), SL_OK)
#define FAIL(s, k, t, at, err, now)                                          \
	ASSERT_EQ_INT(sl_sched_attempt_done((s), (k), (t), (at), SL_EJOB,    \
					    true, (err), (now)), SL_OK)

static sl_sched_config
config(void)
{
	sl_sched_config c;

	sl_sched_config_default(&c);
	c.speculation = false; /* on only where a test is about it */
	return c;
}

static void
add(sl_sched *s, uint32_t worker, uint32_t slots)
{
	ASSERT_EQ_INT(sl_sched_worker_add(s, worker, slots), SL_OK);
}

/* The slots of workers 1, 2, ... for make(): SLOTS(2, 1). */
#define SLOTS(...) ((const uint32_t[]){ __VA_ARGS__, 0 })

/*
 * A scheduler for nmaps map and nreduces reduce tasks with config c (NULL:
 * config()), which workers 1, 2, ... have joined in that order with
 * slots[0], slots[1], ... slots (a list ending with 0, or NULL for none):
 * make(3, 1, NULL, SLOTS(2, 1)).
 */
static sl_sched *
make(uint32_t nmaps, uint32_t nreduces, const sl_sched_config *c,
     const uint32_t *slots)
{
	sl_sched_config dflt = config();
	sl_sched *s = NULL;
	uint32_t i;

	ASSERT_EQ_INT(sl_sched_new(&s, nmaps, nreduces, c ? c : &dflt),
		      SL_OK);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (i = 0; slots && slots[i]; i++)
		add(s, i + 1, slots[i]);
	return s;
}

/* The whole commit protocol of a reduce attempt that wins. */
static void
commit(sl_sched *s, uint32_t part, uint32_t att, uint64_t now)
{
	ASSERT_EQ_INT(sl_sched_commit_request(s, part, att), 1);
	ASSERT_EQ_INT(sl_sched_commit_done(s, part, att, SL_OK, NULL, now),
		      SL_OK);
	DONE(s, RED, part, att, SL_OK, now);
}

static void
expect_failure(sl_sched *s, const char *want)
{
	sl_buf b = SL_BUF_INIT;

	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_FAILED);
	ASSERT_EQ_INT(sl_sched_failure(s, &b), SL_OK);
	ASSERT_EQ_STR(b.buf, want);
	sl_buf_release(&b);
}

static void
expect_location(sl_sched *s, uint32_t map, uint32_t worker, uint32_t att)
{
	uint32_t w = 0, a = 0;

	ASSERT_EQ_INT(sl_sched_map_location(s, map, &w, &a), SL_OK);
	ASSERT_EQ_INT(w, worker);
	ASSERT_EQ_INT(a, att);
}

static void
expect_no_location(sl_sched *s, uint32_t map)
{
	uint32_t w, a;

	ASSERT_EQ_INT(sl_sched_map_location(s, map, &w, &a), SL_ENOTFOUND);
}

static void
test_assignments_fill_slots_in_order(void)
{
	sl_sched *s = make(5, 1, NULL, NULL);

	/* worker 7 joins first with fewer slots: the most free slots win,
	   ties go to the lowest id, not to the first to join */
	add(s, 7, 1);
	add(s, 3, 3);
	add(s, 5, 1);
	EXPECT_NEXT(s, 0, MAP, 0, 0, 3);  /* 3 has 3 free */
	EXPECT_NEXT(s, 0, MAP, 1, 0, 3);  /* 3 has 2 free */
	EXPECT_NEXT(s, 0, MAP, 2, 0, 3);  /* all have 1 free: lowest id */
	EXPECT_NEXT(s, 0, MAP, 3, 0, 5);
	EXPECT_NEXT(s, 0, MAP, 4, 0, 7);
	EXPECT_NONE(s, 0);
	ASSERT_EQ_INT(sl_sched_running(s), 5);
	DONE(s, MAP, 3, 0, SL_OK, 10);
	expect_location(s, 3, 5, 0);
	EXPECT_NONE(s, 10); /* the reduce waits for the other maps */
	ASSERT_EQ_INT(sl_sched_running(s), 4);
	sl_sched_free(s);
}

static void
test_reduces_wait_for_every_map_output(void)
{
	sl_sched *s = make(2, 2, NULL, SLOTS(4));

	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NONE(s, 0);
	DONE(s, MAP, 1, 0, SL_OK, 5);
	EXPECT_NONE(s, 5);
	expect_no_location(s, 0);
	DONE(s, MAP, 0, 0, SL_OK, 6);
	EXPECT_NEXT(s, 6, RED, 0, 0, 1);
	EXPECT_NEXT(s, 6, RED, 1, 0, 1);
	EXPECT_NONE(s, 6);
	commit(s, 1, 0, 7);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_RUNNING);
	commit(s, 0, 0, 8);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	ASSERT_EQ_INT(sl_sched_running(s), 0);
	EXPECT_NONE(s, 9);
	sl_sched_free(s);
}

static void
test_a_job_without_maps_starts_its_reduces_at_once(void)
{
	sl_sched *s = make(0, 2, NULL, SLOTS(2));
	uint32_t w, a;

	EXPECT_NEXT(s, 0, RED, 0, 0, 1);
	EXPECT_NEXT(s, 0, RED, 1, 0, 1);
	ASSERT_EQ_INT(sl_sched_map_location(s, 0, &w, &a), SL_EINVAL);
	commit(s, 0, 0, 1);
	commit(s, 1, 0, 1);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	sl_sched_free(s);
}

static void
test_held_reduces_start_only_when_released(void)
{
	sl_sched *s = make(1, 1, NULL, SLOTS(2));

	sl_sched_hold_reduces(s, true);
	CU_ASSERT(!sl_sched_maps_done(s));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	DONE(s, MAP, 0, 0, SL_OK, 5);
	CU_ASSERT(sl_sched_maps_done(s));
	EXPECT_NONE(s, 5);         /* every map output is there, but held */
	ASSERT_EQ_INT(sl_sched_next_due(s, 5), UINT64_MAX);
	sl_sched_hold_reduces(s, false);
	EXPECT_NEXT(s, 6, RED, 0, 0, 1);
	sl_sched_free(s);
}

static void
test_a_pinned_reduce_runs_only_on_its_worker(void)
{
	sl_sched *s = make(0, 3, NULL, SLOTS(4, 1, 1));

	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 3, 1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 0, 3), SL_OK);
	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 1, 3), SL_OK);
	/* worker 1 has the most free slots, but 0 and 1 are pinned to 3;
	   new tasks start in index order, so 2 waits behind 1 */
	EXPECT_NEXT(s, 0, RED, 0, 0, 3);
	EXPECT_NONE(s, 0);
	/* a failure reruns on the same worker: there is no other */
	FAIL(s, RED, 0, 0, "disk full", 10);
	EXPECT_NEXT(s, 10, RED, 1, 0, 3);
	EXPECT_NEXT(s, 10, RED, 2, 0, 1);
	commit(s, 1, 0, 20);
	EXPECT_NONE(s, 1009);         /* backoff: 10 + 1000 */
	EXPECT_NEXT(s, 1010, RED, 0, 1, 3);
	/* a lost pinned worker: its reduces wait, nobody else takes them */
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 3, 1020), SL_OK);
	EXPECT_NONE(s, 100000);
	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 0, 0), SL_OK); /* unpinned */
	EXPECT_NEXT(s, 100000, RED, 0, 2, 1);
	EXPECT_NONE(s, 100000);
	sl_sched_free(s);
}

static void
test_a_pinned_reduce_ignores_exclusion_and_gets_no_copy(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.speculation = true;
	c.exclude_after = 1;
	c.spec_min_ms = 10;
	c.spec_quantile = 0.5;
	s = make(0, 3, &c, SLOTS(2, 2));
	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 0, 1), SL_OK);
	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 1, 1), SL_OK);
	ASSERT_EQ_INT(sl_sched_pin_reduce(s, 2, 1), SL_OK);
	EXPECT_NEXT(s, 0, RED, 0, 0, 1);
	EXPECT_NEXT(s, 0, RED, 1, 0, 1);
	EXPECT_NONE(s, 0);
	FAIL(s, RED, 0, 0, "x", 5);    /* worker 1 is now excluded */
	EXPECT_NEXT(s, 5, RED, 2, 0, 1);
	commit(s, 1, 0, 6);
	EXPECT_NEXT(s, 1005, RED, 0, 1, 1);
	/* 2 of 3 finished (median 2 ms, limit 10 ms): 0 is a straggler, but
	   its one worker runs it, so worker 2 gets no copy */
	commit(s, 2, 0, 7);
	EXPECT_NONE(s, 100000);
	sl_sched_free(s);
}

static void
test_retry_after_backoff_on_another_worker(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.backoff_ms = 1000;
	s = make(1, 1, &c, SLOTS(1, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	FAIL(s, MAP, 0, 0, "disk full", 100);
	ASSERT_EQ_INT(sl_sched_running(s), 0);
	EXPECT_NONE(s, 100);
	ASSERT_EQ_INT(sl_sched_next_due(s, 100), 1100); /* 1000 * 2^0 */
	EXPECT_NONE(s, 1099);
	/* worker 1 is free and has the lowest id, but failed this task */
	EXPECT_NEXT(s, 1100, MAP, 0, 1, 2);
	FAIL(s, MAP, 0, 1, "disk full", 2000);
	ASSERT_EQ_INT(sl_sched_next_due(s, 2000), 4000); /* 1000 * 2^1 */
	/* it failed on every worker: any will do */
	EXPECT_NEXT(s, 4000, MAP, 0, 2, 1);
	DONE(s, MAP, 0, 2, SL_OK, 4100);
	EXPECT_NEXT(s, 4100, RED, 0, 0, 1);
	sl_sched_free(s);
}

static void
test_a_rerun_waits_for_a_worker_it_did_not_fail_on(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.backoff_ms = 0;
	s = make(3, 1, &c, SLOTS(2, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 2, 0, 2);
	FAIL(s, MAP, 0, 0, "boom", 10);
	/* worker 1 has a free slot, but map 0 waits for worker 2 */
	EXPECT_NONE(s, 10);
	DONE(s, MAP, 2, 0, SL_OK, 20);
	EXPECT_NEXT(s, 20, MAP, 0, 1, 2);
	sl_sched_free(s);
}

static void
test_running_out_of_attempts_fails_the_job_listing_each_attempt(void)
{
	sl_sched_config c = config();
	char err[32];
	sl_sched *s;

	c.max_attempts = 3;
	c.backoff_ms = 0;
	c.exclude_after = 0;
	s = make(1, 1, &c, SLOTS(1, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	snprintf(err, sizeof(err), "e0");
	FAIL(s, MAP, 0, 0, err, 1);
	snprintf(err, sizeof(err), "overwritten"); /* the error was copied */
	EXPECT_NEXT(s, 1, MAP, 0, 1, 2);
	FAIL(s, MAP, 0, 1, "e1", 2);
	EXPECT_NEXT(s, 2, MAP, 0, 2, 1);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_RUNNING);
	/* no message: the status's own */
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 0, 2, SL_EIO, true, "",
					    3), SL_OK);
	expect_failure(s, "map task 0 failed after 3 attempts:\n"
			  "  attempt 0 on worker 1: e0\n"
			  "  attempt 1 on worker 2: e1\n"
			  "  attempt 2 on worker 1: input/output error");
	EXPECT_NONE(s, 3);
	ASSERT_EQ_INT(sl_sched_next_due(s, 3), UINT64_MAX);
	sl_sched_free(s);
}

static void
test_a_failure_that_is_not_retryable_fails_the_job_at_once(void)
{
	sl_sched *s = make(2, 1, NULL, SLOTS(2));

	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 0, 0, SL_EBADRECORD,
					    false, "in.csv:3: byte 10: bad row",
					    5), SL_OK);
	expect_failure(s, "in.csv:3: byte 10: bad row");
	EXPECT_KILL(s, MAP, 1, 0, 1, false);
	EXPECT_NO_KILL(s);
	EXPECT_NONE(s, 5);
	/* the killed attempt's end frees its slot and changes nothing */
	DONE(s, MAP, 1, 0, SL_ECANCELED, 6);
	ASSERT_EQ_INT(sl_sched_running(s), 0);
	ASSERT_EQ_INT(sl_sched_fail(s, "later reason"), SL_OK);
	expect_failure(s, "in.csv:3: byte 10: bad row");
	sl_sched_free(s);
}

static void
test_a_lost_worker_s_attempts_are_retried_and_its_map_outputs_rerun(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.backoff_ms = 1000;
	s = make(3, 1, &c, SLOTS(2, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 2, 0, 2);
	DONE(s, MAP, 0, 0, SL_OK, 10);
	expect_location(s, 0, 1, 0);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 20), SL_OK);
	ASSERT_EQ_INT(sl_sched_workers(s), 1);
	ASSERT_EQ_INT(sl_sched_running(s), 1); /* map 2 on worker 2 */
	expect_no_location(s, 0);
	EXPECT_NONE(s, 20); /* worker 2 is full */
	add(s, 3, 2);
	/* map 0 lost only its output: at once; map 1 failed: backoff */
	EXPECT_NEXT(s, 20, MAP, 0, 1, 3);
	EXPECT_NONE(s, 20);
	ASSERT_EQ_INT(sl_sched_next_due(s, 20), 1020);
	EXPECT_NEXT(s, 1020, MAP, 1, 1, 3);
	DONE(s, MAP, 0, 1, SL_OK, 1030);
	DONE(s, MAP, 2, 0, SL_OK, 1040);
	EXPECT_NONE(s, 1040);
	DONE(s, MAP, 1, 1, SL_OK, 1050);
	expect_location(s, 0, 3, 1);
	EXPECT_NEXT(s, 1050, RED, 0, 0, 3);
	commit(s, 0, 0, 1060);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	sl_sched_free(s);
}

static void
test_a_worker_loss_counts_as_a_failed_attempt(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.max_attempts = 2;
	c.backoff_ms = 0;
	s = make(1, 1, &c, SLOTS(1, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 5), SL_OK);
	EXPECT_NEXT(s, 5, MAP, 0, 1, 2);
	FAIL(s, MAP, 0, 1, "segfault", 6);
	expect_failure(s, "map task 0 failed after 2 attempts:\n"
			  "  attempt 0 on worker 1: worker lost\n"
			  "  attempt 1 on worker 2: segfault");
	sl_sched_free(s);
}

static void
test_reduces_keep_running_while_a_lost_map_output_is_rerun(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.backoff_ms = 1000;
	s = make(1, 2, &c, SLOTS(1, 2));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 2);
	DONE(s, MAP, 0, 0, SL_OK, 10);
	EXPECT_NEXT(s, 10, RED, 0, 0, 2);
	EXPECT_NEXT(s, 10, RED, 1, 0, 1);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 2, 20), SL_OK);
	ASSERT_EQ_INT(sl_sched_running(s), 1); /* reduce 1 on worker 1 */
	EXPECT_NO_KILL(s);
	add(s, 3, 1);
	EXPECT_NEXT(s, 20, MAP, 0, 1, 3);
	EXPECT_NONE(s, 20);
	/* the reduce's backoff ends at 1020, but it waits for map 0 */
	ASSERT_EQ_INT(sl_sched_next_due(s, 20), UINT64_MAX);
	DONE(s, MAP, 0, 1, SL_OK, 30);
	/* the map is back, the reduce's backoff is not over */
	EXPECT_NONE(s, 30);
	ASSERT_EQ_INT(sl_sched_next_due(s, 30), 1020);
	EXPECT_NEXT(s, 1020, RED, 0, 1, 3);
	commit(s, 1, 0, 1030);
	commit(s, 0, 1, 1040);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	sl_sched_free(s);
}

static void
test_losing_a_worker_after_every_reduce_committed_reruns_nothing(void)
{
	sl_sched *s = make(1, 1, NULL, SLOTS(1, 1));

	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	DONE(s, MAP, 0, 0, SL_OK, 10);
	EXPECT_NEXT(s, 10, RED, 0, 0, 1);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 0, 0), 1);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 0, 0, SL_OK, NULL, 20), SL_OK);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	/* the committed reduce is still ending: it is not killed */
	EXPECT_NO_KILL(s);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 30), SL_OK);
	ASSERT_EQ_INT(sl_sched_running(s), 0);
	EXPECT_NONE(s, 30);
	EXPECT_NO_KILL(s);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	ASSERT_EQ_INT(sl_sched_next_due(s, 30), UINT64_MAX);
	sl_sched_free(s);
}

/*
 * Four maps on worker 1 (4 slots) from t=0, worker 2 (1 slot) idle; maps
 * 0 and 1 end at 1000 and map 2 at 1200: runtimes {1000, 1000, 1200},
 * median 1000, limit 1.5 x 1000 = 1500 ms; 3 of 4 finished >= 0.75.
 */
static sl_sched *
straggler(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.speculation = true;
	c.spec_min_ms = 100;
	s = make(4, 1, &c, SLOTS(4, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 2, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 3, 0, 1);
	DONE(s, MAP, 0, 0, SL_OK, 1000);
	DONE(s, MAP, 1, 0, SL_OK, 1000);
	/* map 2 (1000 ms) would be slow, but only half the maps are done */
	EXPECT_NONE(s, 1199);
	ASSERT_EQ_INT(sl_sched_next_due(s, 1199), UINT64_MAX);
	DONE(s, MAP, 2, 0, SL_OK, 1200);
	return s;
}

static void
test_a_straggler_gets_a_speculative_copy_on_another_worker(void)
{
	sl_sched *s = straggler();

	EXPECT_NONE(s, 1200);
	ASSERT_EQ_INT(sl_sched_next_due(s, 1200), 1501);
	EXPECT_NONE(s, 1500); /* runtime 1500 is not > 1500 */
	/* worker 1 has 3 free slots, but runs the original */
	EXPECT_SPEC(s, 1501, MAP, 3, 1, 2);
	EXPECT_NONE(s, 5000); /* one copy at a time */
	ASSERT_EQ_INT(sl_sched_next_due(s, 1501), UINT64_MAX);
	ASSERT_EQ_INT(sl_sched_running(s), 2);
	sl_sched_free(s);
}

static void
test_the_first_success_wins_and_the_other_copy_is_killed(void)
{
	sl_sched *s = straggler();

	EXPECT_SPEC(s, 1501, MAP, 3, 1, 2);
	DONE(s, MAP, 3, 1, SL_OK, 1600);
	expect_location(s, 3, 2, 1);
	EXPECT_KILL(s, MAP, 3, 0, 1, false);
	EXPECT_NO_KILL(s);
	EXPECT_NEXT(s, 1600, RED, 0, 0, 1);
	/* the original's end, even a success, changes nothing */
	DONE(s, MAP, 3, 0, SL_OK, 1700);
	expect_location(s, 3, 2, 1);
	ASSERT_EQ_INT(sl_sched_running(s), 1);
	sl_sched_free(s);
}

/*
 * Partition 1 with two running attempts: 0 on worker 2 from t=0 and a
 * speculative 1 on worker 1 from t=151 (partition 0 took 100 ms: limit
 * 150, spec_min_ms 0, quantile 0.5).
 */
static sl_sched *
two_copies(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.speculation = true;
	c.spec_min_ms = 0;
	c.spec_quantile = 0.5;
	s = make(0, 2, &c, SLOTS(1, 1));
	EXPECT_NEXT(s, 0, RED, 0, 0, 1);
	EXPECT_NEXT(s, 0, RED, 1, 0, 2);
	commit(s, 0, 0, 100);
	EXPECT_NONE(s, 150);
	EXPECT_SPEC(s, 151, RED, 1, 1, 1);
	return s;
}

static void
test_a_second_commit_request_for_a_partition_is_denied(void)
{
	sl_sched *s = two_copies();

	ASSERT_EQ_INT(sl_sched_commit_request(s, 1, 1), 1);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 1, 0), 0);
	EXPECT_KILL(s, RED, 1, 0, 2, false);
	EXPECT_NO_KILL(s);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 1, 1, SL_OK, NULL, 200), SL_OK);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 1, 0), 0);
	EXPECT_NO_KILL(s); /* each attempt once */
	DONE(s, RED, 1, 0, SL_ECANCELED, 210);
	DONE(s, RED, 1, 1, SL_OK, 210);
	ASSERT_EQ_INT(sl_sched_running(s), 0);
	sl_sched_free(s);
}

static void
test_a_failed_commit_lets_another_attempt_commit(void)
{
	sl_sched *s = two_copies();

	ASSERT_EQ_INT(sl_sched_commit_request(s, 1, 1), 1);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 1, 1, SL_EIO,
					   "cannot rename 'p': Permission "
					   "denied",
					   200), SL_OK);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 1, 0), 1);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 1, 0, SL_OK, NULL, 210), SL_OK);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	/* the loser ends as failed: too late to count */
	ASSERT_EQ_INT(sl_sched_attempt_done(s, RED, 1, 1, SL_EIO, true,
					    "commit failed", 220), SL_OK);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_SUCCEEDED);
	sl_sched_free(s);
}

static void
test_a_reduce_that_ends_without_committing_counts_as_failed(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.max_attempts = 2;
	c.backoff_ms = 0;
	s = make(0, 1, &c, SLOTS(1));
	EXPECT_NEXT(s, 0, RED, 0, 0, 1);
	DONE(s, RED, 0, 0, SL_OK, 10);
	EXPECT_NEXT(s, 10, RED, 0, 1, 1);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 0, 1), 1);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 0, 1, SL_EIO,
					   "cannot rename 'p': Permission "
					   "denied",
					   20), SL_OK);
	DONE(s, RED, 0, 1, SL_OK, 30);
	expect_failure(s, "reduce task 0 failed after 2 attempts:\n"
			  "  attempt 0 on worker 1: reduce attempt ended "
			  "without committing its output\n"
			  "  attempt 1 on worker 1: cannot rename 'p': "
			  "Permission denied");
	sl_sched_free(s);
}

static void
test_stale_and_unknown_reports_are_ignored(void)
{
	sl_sched *s = make(2, 1, NULL, SLOTS(2));
	uint32_t w, a;

	ASSERT_EQ_INT(sl_sched_worker_add(s, 1, 2), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_worker_add(s, 2, 0), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_worker_add(s, 2, SL_SCHED_MAX_SLOTS + 1),
		      SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 9, 0), SL_EINVAL);
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 1, 0, SL_OK, true, NULL,
					    1), SL_EINVAL); /* not started */
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 0, 1, SL_OK, true, NULL,
					    1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 2, 0, SL_OK, true, NULL,
					    1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, 7, 0, 0, SL_OK, true, NULL,
					    1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, RED, 0, 0, SL_OK, true, NULL,
					    1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 0, 0), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 1, 0), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 0, 0, SL_OK, NULL, 1),
		      SL_EINVAL);
	/* UINT32_MAX from the wire names no attempt, not even where no
	   commit is in flight (reduce 0) or no output is there (map 1) */
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 0, UINT32_MAX, SL_OK,
					    true, NULL, 1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 0, UINT32_MAX), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_commit_done(s, 0, UINT32_MAX, SL_OK, NULL, 1),
		      SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 1, UINT32_MAX, 1, 1),
		      SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_map_location(s, 2, &w, &a), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_running(s), 1);
	DONE(s, MAP, 0, 0, SL_OK, 2);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, MAP, 0, 0, SL_EJOB, true,
					    "late", 3), SL_EINVAL);
	expect_location(s, 0, 1, 0);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 0, 1, 1, 3), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 0, 0, 2, 3), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 5, 0, 1, 3), SL_EINVAL);
	expect_location(s, 0, 1, 0);
	ASSERT_EQ_INT(sl_sched_failure(s, &(sl_buf)SL_BUF_INIT), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 4), SL_OK);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 4), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_worker_add(s, 1, 2), SL_EINVAL); /* no reuse */
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_RUNNING);
	sl_sched_free(s);
}

static void
test_a_fetch_failure_counts_against_the_map_not_the_reduce(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.max_attempts = 2;
	c.backoff_ms = 1000;
	c.exclude_after = 0;
	s = make(2, 1, &c, SLOTS(2, 2));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 2);
	DONE(s, MAP, 0, 0, SL_OK, 10);
	DONE(s, MAP, 1, 0, SL_OK, 10);
	EXPECT_NEXT(s, 10, RED, 0, 0, 1);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 1, 0, 2, 20), SL_OK);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 1, 0, 2, 20), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, RED, 0, 0, SL_ELOST, true,
					    "cannot fetch map 1", 20), SL_OK);
	expect_no_location(s, 1);
	EXPECT_NONE(s, 20);
	ASSERT_EQ_INT(sl_sched_next_due(s, 20), 1020);
	EXPECT_NEXT(s, 1020, MAP, 1, 1, 1); /* not on worker 2 again */
	EXPECT_NONE(s, 1020);
	DONE(s, MAP, 1, 1, SL_OK, 1030);
	/* not counted: no backoff, no avoidance of worker 1 */
	EXPECT_NEXT(s, 1030, RED, 0, 1, 1);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, RED, 0, 1, SL_ELOST, true,
					    "cannot fetch map 1", 1040), SL_OK);
	/* two uncounted reduce failures did not fail the job; the map's
	   second lost output does */
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_RUNNING);
	ASSERT_EQ_INT(sl_sched_fetch_failed(s, 1, 1, 1, 1040), SL_OK);
	expect_failure(s, "map task 1 failed after 2 attempts:\n"
			  "  attempt 0 on worker 2: output lost: a reduce "
			  "task could not fetch it\n"
			  "  attempt 1 on worker 1: output lost: a reduce "
			  "task could not fetch it");
	sl_sched_free(s);
}

static void
test_a_lost_peer_counts_when_no_map_output_was_lost(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.max_attempts = 2;
	c.backoff_ms = 0;
	s = make(1, 1, &c, SLOTS(1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	DONE(s, MAP, 0, 0, SL_OK, 10);
	EXPECT_NEXT(s, 10, RED, 0, 0, 1);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, RED, 0, 0, SL_ELOST, true,
					    "peer lost", 20), SL_OK);
	expect_location(s, 0, 1, 0); /* nobody reported the map output */
	EXPECT_NEXT(s, 20, RED, 0, 1, 1);
	ASSERT_EQ_INT(sl_sched_attempt_done(s, RED, 0, 1, SL_ELOST, true,
					    NULL, 30), SL_OK);
	expect_failure(s, "reduce task 0 failed after 2 attempts:\n"
			  "  attempt 0 on worker 1: peer lost\n"
			  "  attempt 1 on worker 1: peer lost");
	sl_sched_free(s);
}

/* Worker 1 (2 slots) fails maps 0 and 1; worker 2 (1 slot) runs map 2. */
static sl_sched *
two_failures_on_worker_1(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.backoff_ms = 0;
	c.exclude_after = 2;
	s = make(4, 1, &c, SLOTS(2, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 2, 0, 2);
	FAIL(s, MAP, 0, 0, "boom", 10);
	FAIL(s, MAP, 1, 0, "boom", 10);
	return s;
}

static void
test_a_worker_is_excluded_after_repeated_failures(void)
{
	sl_sched *s = two_failures_on_worker_1();

	/* worker 1 has two free slots, and even map 3 never ran there */
	EXPECT_NONE(s, 10);
	DONE(s, MAP, 2, 0, SL_OK, 20);
	EXPECT_NEXT(s, 20, MAP, 0, 1, 2);
	EXPECT_NONE(s, 20);
	DONE(s, MAP, 0, 1, SL_OK, 30);
	EXPECT_NEXT(s, 30, MAP, 1, 1, 2);
	DONE(s, MAP, 1, 1, SL_OK, 40);
	EXPECT_NEXT(s, 40, MAP, 3, 0, 2);
	sl_sched_free(s);
}

static void
test_exclusion_lifts_when_only_excluded_workers_are_left(void)
{
	sl_sched *s = two_failures_on_worker_1();

	ASSERT_EQ_INT(sl_sched_worker_lost(s, 2, 20), SL_OK);
	ASSERT_EQ_INT(sl_sched_workers(s), 1);
	/* reruns in queue order: map 0, map 1, then map 2 (lost) */
	EXPECT_NEXT(s, 20, MAP, 0, 1, 1);
	EXPECT_NEXT(s, 20, MAP, 1, 1, 1);
	EXPECT_NONE(s, 20);
	sl_sched_free(s);
}

static void
test_when_every_worker_is_lost_the_coordinator_fails_the_job(void)
{
	sl_sched *s = make(1, 1, NULL, SLOTS(1));

	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 10), SL_OK);
	ASSERT_EQ_INT(sl_sched_workers(s), 0);
	ASSERT_EQ_INT(sl_sched_running(s), 0);
	EXPECT_NONE(s, 5000);
	ASSERT_EQ_INT(sl_sched_state_of(s), SL_SCHED_RUNNING);
	ASSERT_EQ_INT(sl_sched_fail(s, "no worker left"), SL_OK);
	expect_failure(s, "no worker left");
	EXPECT_NO_KILL(s);
	ASSERT_EQ_INT(sl_sched_next_due(s, 5000), UINT64_MAX);
	sl_sched_free(s);
}

static void
test_failing_the_job_kills_every_running_attempt(void)
{
	sl_sched *s = make(0, 2, NULL, SLOTS(1, 1));

	EXPECT_NEXT(s, 0, RED, 0, 0, 1);
	EXPECT_NEXT(s, 0, RED, 1, 0, 2);
	ASSERT_EQ_INT(sl_sched_fail(s, "canceled by the user"), SL_OK);
	EXPECT_KILL(s, RED, 0, 0, 1, false);
	EXPECT_KILL(s, RED, 1, 0, 2, false);
	EXPECT_NO_KILL(s);
	ASSERT_EQ_INT(sl_sched_commit_request(s, 0, 0), 0);
	expect_failure(s, "canceled by the user");
	sl_sched_free(s);
}

static void
test_next_due_is_the_earliest_backoff_or_straggler_time(void)
{
	sl_sched_config c = config();
	sl_sched *s;

	c.backoff_ms = 20000;
	c.speculation = true;
	c.spec_quantile = 0.3;
	c.spec_min_ms = 5000;
	s = make(3, 1, &c, SLOTS(3));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 2, 0, 1);
	ASSERT_EQ_INT(sl_sched_next_due(s, 0), UINT64_MAX);
	DONE(s, MAP, 0, 0, SL_OK, 100);
	/* median 100: 1.5 x 100 < spec_min_ms, so maps 1 and 2 become
	   stragglers after 5000 ms */
	ASSERT_EQ_INT(sl_sched_next_due(s, 100), 5001);
	FAIL(s, MAP, 1, 0, "boom", 200);
	ASSERT_EQ_INT(sl_sched_next_due(s, 200), 5001);
	/* map 2 is a straggler, but its only worker runs it */
	EXPECT_NONE(s, 5001);
	ASSERT_EQ_INT(sl_sched_next_due(s, 5001), 20200);
	EXPECT_NEXT(s, 20200, MAP, 1, 1, 1);
	FAIL(s, MAP, 1, 1, "boom", 20300);
	/* 20000 x 2 is capped at 30000 */
	ASSERT_EQ_INT(sl_sched_next_due(s, 20300), 50300);
	sl_sched_free(s);
}

/* sl_sched_new() refuses config() with field = value, and sets *sp NULL. */
#define EXPECT_BAD_CONFIG(field, value)                                      \
	do {                                                                 \
		sl_sched_config c_ = config();                               \
		sl_sched *s_ = (sl_sched *)&c_;                              \
		c_.field = (value);                                          \
		ASSERT_EQ_INT(sl_sched_new(&s_, 1, 1, &c_), SL_EINVAL);      \
		CU_ASSERT_PTR_NULL(s_);                                      \
	} while (0)

static void
test_bad_arguments_to_new_are_rejected(void)
{
	sl_sched_config c = config();
	sl_sched *s = (sl_sched *)&c;

	ASSERT_EQ_INT(sl_sched_new(&s, 1, 0, NULL), SL_EINVAL);
	CU_ASSERT_PTR_NULL(s);
	EXPECT_BAD_CONFIG(max_attempts, 0);
	EXPECT_BAD_CONFIG(slow_ratio, 0.5);
	EXPECT_BAD_CONFIG(slow_ratio, 1000.5);
	EXPECT_BAD_CONFIG(slow_ratio, NAN);
	EXPECT_BAD_CONFIG(spec_quantile, 0.0);
	EXPECT_BAD_CONFIG(spec_quantile, 1.5);
	EXPECT_BAD_CONFIG(spec_quantile, NAN);
	/* the bounds themselves are taken */
	c.slow_ratio = 1000.0;
	c.spec_quantile = 1.0;
	sl_sched_free(make(1, 1, &c, NULL));
	ASSERT_EQ_INT(sl_sched_new(&s, 0, 1, NULL), SL_OK);
	CU_ASSERT_PTR_NOT_NULL(s);
	sl_sched_free(s);
	sl_sched_free(NULL);
}

/*
 * The fair-share rule: the job with the fewest running attempts among
 * those that want a slot; ties to the one that started first; none when
 * no job wants one. Played slot by slot, it shares slots equally, and a
 * job that wants fewer leaves its share to the others.
 */
static void
test_the_share_rule_gives_the_next_slot_to_the_job_running_least(void)
{
	uint32_t running[3] = { 5, 2, 2 };
	bool wanting[3] = { true, true, true };
	uint32_t slots, i;

	ASSERT_EQ_INT(sl_share_pick(running, wanting, 3), 1);
	wanting[1] = false;
	ASSERT_EQ_INT(sl_share_pick(running, wanting, 3), 2);
	wanting[0] = wanting[2] = false;
	ASSERT_EQ_INT(sl_share_pick(running, wanting, 3), 3);
	ASSERT_EQ_INT(sl_share_pick(running, wanting, 0), 0);
	/* 10 slots, a big job started first and a small one with 2 tasks:
	 * the small one gets its 2 at once, the big one the other 8 */
	running[0] = running[1] = 0;
	for (slots = 0; slots < 10; slots++) {
		wanting[0] = true;
		wanting[1] = running[1] < 2;
		i = (uint32_t)sl_share_pick(running, wanting, 2);
		CU_ASSERT_FATAL(i < 2);
		running[i]++;
		if (slots == 3) /* the small job is not behind the big one */
			ASSERT_EQ_INT(running[1], 2);
	}
	ASSERT_EQ_INT(running[0], 8);
	ASSERT_EQ_INT(running[1], 2);
	/* three big jobs: equal shares, 4, 4 and 4 of 12 */
	memset(running, 0, sizeof(running));
	wanting[0] = wanting[1] = wanting[2] = true;
	for (slots = 0; slots < 12; slots++)
		running[sl_share_pick(running, wanting, 3)]++;
	ASSERT_EQ_INT(running[0], 4);
	ASSERT_EQ_INT(running[1], 4);
	ASSERT_EQ_INT(running[2], 4);
}

/*
 * A job's capacity on a worker bounds its assignments there: with 2 of
 * a worker's 4 slots left to it, a job with 5 maps starts 2; given more,
 * it starts more; a capacity below what it holds keeps what it holds.
 */
static void
test_a_capacity_bounds_what_a_job_starts_on_a_worker(void)
{
	sl_sched *s;
	sl_assign a;
	int n = 0;

	ASSERT_EQ_INT(sl_sched_new(&s, 5, 1, NULL), SL_OK);
	ASSERT_EQ_INT(sl_sched_worker_add(s, 1, 4), SL_OK);
	ASSERT_EQ_INT(sl_sched_worker_capacity(s, 1, 2), SL_OK);
	while (sl_sched_next(s, 0, &a) == 1)
		n++;
	ASSERT_EQ_INT(n, 2);
	ASSERT_EQ_INT(sl_sched_worker_used(s, 1), 2);
	ASSERT_EQ_INT(sl_sched_worker_capacity(s, 1, 3), SL_OK);
	ASSERT_EQ_INT(sl_sched_next(s, 0, &a), 1);
	ASSERT_EQ_INT(sl_sched_next(s, 0, &a), 0);
	ASSERT_EQ_INT(sl_sched_worker_capacity(s, 1, 0), SL_OK);
	ASSERT_EQ_INT(sl_sched_worker_used(s, 1), 3);
	ASSERT_EQ_INT(sl_sched_next(s, 0, &a), 0);
	ASSERT_EQ_INT(sl_sched_worker_capacity(s, 9, 1), SL_EINVAL);
	ASSERT_EQ_INT(sl_sched_worker_used(s, 9), 0);
	sl_sched_free(s);
}

/* The attempt log as lines "map 1/0 w1 0-20 failed: worker lost". */
static int
log_line(void *arg, const sl_sched_attempt *a)
{
	static const char *const states[] = { "running", "succeeded",
					      "failed", "aborted" };
	sl_buf *b = arg;

	sl_buf_addf(b, "%s %u/%u w%u %llu-%llu %s%s%s%s\n", kind_name(a->kind),
		    a->task, a->attempt, a->worker,
		    (unsigned long long)a->start_ms,
		    (unsigned long long)a->end_ms, states[a->state],
		    a->speculative ? " spec" : "", a->error[0] ? ": " : "",
		    a->error);
	return 0;
}

static int
log_stop_after_two(void *arg, const sl_sched_attempt *a)
{
	int *n = arg;

	(void)a;
	return ++*n == 2 ? 7 : 0;
}

static void
test_the_attempt_log_lists_every_attempt_by_task_and_pages(void)
{
	sl_sched_config c = config();
	sl_buf b = SL_BUF_INIT;
	sl_sched *s;
	int n = 0;

	c.backoff_ms = 1000;
	s = make(3, 1, &c, SLOTS(2, 1));
	EXPECT_NEXT(s, 0, MAP, 0, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 1, 0, 1);
	EXPECT_NEXT(s, 0, MAP, 2, 0, 2);
	DONE(s, MAP, 0, 0, SL_OK, 10);
	ASSERT_EQ_INT(sl_sched_worker_lost(s, 1, 20), SL_OK);
	add(s, 3, 2);
	EXPECT_NEXT(s, 20, MAP, 0, 1, 3);
	sl_sched_attempt_each(s, 0, log_line, &b);
	ASSERT_EQ_STR(b.buf, "map 0/0 w1 0-10 succeeded\n"
			     "map 0/1 w3 20-0 running\n"
			     "map 1/0 w1 0-20 failed: worker lost\n"
			     "map 2/0 w2 0-0 running\n");
	EXPECT_NEXT(s, 1020, MAP, 1, 1, 3);
	DONE(s, MAP, 0, 1, SL_OK, 1030);
	DONE(s, MAP, 2, 0, SL_OK, 1040);
	DONE(s, MAP, 1, 1, SL_OK, 1050);
	EXPECT_NEXT(s, 1050, RED, 0, 0, 3);
	commit(s, 0, 0, 1060);
	ASSERT_EQ_INT(sl_sched_attempts(s), 6);
	sl_buf_reset(&b);
	sl_sched_attempt_each(s, 3, log_line, &b); /* a page from the 4th */
	ASSERT_EQ_STR(b.buf, "map 1/1 w3 1020-1050 succeeded\n"
			     "map 2/0 w2 0-1040 succeeded\n"
			     "reduce 0/0 w3 1050-1060 succeeded\n");
	sl_buf_reset(&b);
	sl_sched_attempt_each(s, 6, log_line, &b);
	ASSERT_EQ_INT(b.len, 0);
	/* the walker stops where fn says, with its code */
	ASSERT_EQ_INT(sl_sched_attempt_each(s, 0, log_stop_after_two, &n), 7);
	ASSERT_EQ_INT(n, 2);
	sl_buf_release(&b);
	sl_sched_free(s);
}

static const unit_case cases[] = {
	{ "the share rule gives the next slot to the job running least",
	  test_the_share_rule_gives_the_next_slot_to_the_job_running_least },
	{ "a capacity bounds what a job starts on a worker",
	  test_a_capacity_bounds_what_a_job_starts_on_a_worker },
	{ "assignments fill slots in order",
	  test_assignments_fill_slots_in_order },
	{ "reduces wait for every map output",
	  test_reduces_wait_for_every_map_output },
	{ "a job without maps starts its reduces at once",
	  test_a_job_without_maps_starts_its_reduces_at_once },
	{ "held reduces start only when released",
	  test_held_reduces_start_only_when_released },
	{ "a pinned reduce runs only on its worker",
	  test_a_pinned_reduce_runs_only_on_its_worker },
	{ "a pinned reduce ignores exclusion and gets no copy",
	  test_a_pinned_reduce_ignores_exclusion_and_gets_no_copy },
	{ "a failed attempt is retried after its backoff on another worker",
	  test_retry_after_backoff_on_another_worker },
	{ "a rerun waits for a worker it did not fail on",
	  test_a_rerun_waits_for_a_worker_it_did_not_fail_on },
	{ "running out of attempts fails the job listing each attempt",
	  test_running_out_of_attempts_fails_the_job_listing_each_attempt },
	{ "a failure that is not retryable fails the job at once",
	  test_a_failure_that_is_not_retryable_fails_the_job_at_once },
	{ "a lost worker's attempts are retried and its map outputs rerun",
	  test_a_lost_worker_s_attempts_are_retried_and_its_map_outputs_rerun },
	{ "a worker loss counts as a failed attempt",
	  test_a_worker_loss_counts_as_a_failed_attempt },
	{ "reduces keep running while a lost map output is rerun",
	  test_reduces_keep_running_while_a_lost_map_output_is_rerun },
	{ "losing a worker after every reduce committed reruns nothing",
	  test_losing_a_worker_after_every_reduce_committed_reruns_nothing },
	{ "a straggler gets a speculative copy on another worker",
	  test_a_straggler_gets_a_speculative_copy_on_another_worker },
	{ "the first success wins and the other copy is killed",
	  test_the_first_success_wins_and_the_other_copy_is_killed },
	{ "a second commit request for a partition is denied",
	  test_a_second_commit_request_for_a_partition_is_denied },
	{ "a failed commit lets another attempt commit",
	  test_a_failed_commit_lets_another_attempt_commit },
	{ "a reduce that ends without committing counts as failed",
	  test_a_reduce_that_ends_without_committing_counts_as_failed },
	{ "stale and unknown reports are ignored",
	  test_stale_and_unknown_reports_are_ignored },
	{ "a fetch failure counts against the map, not the reduce",
	  test_a_fetch_failure_counts_against_the_map_not_the_reduce },
	{ "a lost peer counts when no map output was lost",
	  test_a_lost_peer_counts_when_no_map_output_was_lost },
	{ "a worker is excluded after repeated failures",
	  test_a_worker_is_excluded_after_repeated_failures },
	{ "exclusion lifts when only excluded workers are left",
	  test_exclusion_lifts_when_only_excluded_workers_are_left },
	{ "when every worker is lost the coordinator fails the job",
	  test_when_every_worker_is_lost_the_coordinator_fails_the_job },
	{ "failing the job kills every running attempt",
	  test_failing_the_job_kills_every_running_attempt },
	{ "next due is the earliest backoff or straggler time",
	  test_next_due_is_the_earliest_backoff_or_straggler_time },
	{ "bad arguments to new are rejected",
	  test_bad_arguments_to_new_are_rejected },
	{ "the attempt log lists every attempt by task, and pages",
	  test_the_attempt_log_lists_every_attempt_by_task_and_pages },
	{ NULL, NULL }
};

UNIT_MAIN("sched", cases)
