/*
 * test_stream.c - the micro-batch driver (coordinator/stream.c) without a
 * coordinator: a stream over a file: source into a file: sink, in a
 * temporary directory, stepped by hand; the test plays the engine (a
 * batch's JOB_DONE). What it holds: a batch's offsets are logged before
 * its job is asked for; it is committed only after its job succeeded;
 * a failed batch stays logged and runs again, as it was, at the next
 * open; the watermark never goes back; a stop ends the stream; a second
 * stream on the checkpoint, or another stream's, is refused.
 */
#include "unit.h"

#include <unistd.h>

#include "coordinator/stream.h"

/* The SUBMIT of a word count stream (its strings borrowed: not to be
 * released); stream_open() gives it the URIs of TDIR. */
static sl_msg
stream_submit(uint8_t trigger, int64_t delay_ms)
{
	static sl_kvpair none[1];
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SUBMIT;
	m.u.submit.spec = (sl_job_spec){ .job = "wordcount",
					 .options = none,
					 .partitions = 1,
					 .max_attempts = 1,
					 .max_record = 1024,
					 .watermark_ms = SL_NO_WATERMARK };
	m.u.submit.split_size = 1 << 20;
	m.u.submit.stream = (sl_stream_spec){
		.trigger = trigger,
		.interval_ms = 250,
		.mode = delay_ms >= 0 ? SL_MODE_APPEND : SL_MODE_COMPLETE,
		.delay_ms = delay_ms,
	};
	return m;
}

/* Opens the stream of m (its URIs made here); SL_OK or the error. */
static int
stream_open(sl_stream **s, sl_msg *m, sl_buf *err)
{
	char src[PATH_MAX], sink[PATH_MAX], ck[PATH_MAX];
	int rv;

	snprintf(src, sizeof(src), "file:%s", unit_tpath("in"));
	snprintf(sink, sizeof(sink), "file:%s", unit_tpath("out"));
	snprintf(ck, sizeof(ck), "%s", unit_tpath("ck"));
	m->u.submit.stream.source = src;
	m->u.submit.stream.sink = sink;
	m->u.submit.stream.checkpoint = ck;
	rv = sl_stream_open(s, m, err);
	m->u.submit.stream.source = NULL;
	m->u.submit.stream.sink = NULL;
	m->u.submit.stream.checkpoint = NULL;
	return rv;
}

/* What the engine would answer for a batch: a JOB_DONE of status,
 * with the latest event time ev. */
static sl_msg
job_done(int status, const char *error, int64_t ev)
{
	sl_msg d;

	memset(&d, 0, sizeof(d));
	d.type = SL_MSG_JOB_DONE;
	d.u.job_done.status = status;
	d.u.job_done.error = (char *)error;
	d.u.job_done.event_ms_max = ev;
	d.u.job_done.records_in = 1;
	return d;
}

/* Plays the batch's job: its part file and _SUCCESS where it said. */
static void
run_batch(const sl_msg *b)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/part-00000", b->u.submit.output_dir);
	mkdir(b->u.submit.output_dir, 0755);
	unit_write_file(path, "a\t1\n", 4);
	snprintf(path, sizeof(path), "%s/_SUCCESS", b->u.submit.output_dir);
	unit_write_file(path, "", 0);
}

static bool
exists(const char *name)
{
	return access(unit_tpath(name), F_OK) == 0;
}

static void
test_a_batch_is_logged_before_its_job_and_committed_after_it(void)
{
	sl_msg m, b, d;
	sl_buf err = SL_BUF_INIT;
	sl_stream *s;
	uint64_t wait;
	int status;

	unit_tdir_make();
	mkdir(unit_tpath("in"), 0755);
	unit_write_file(unit_tpath("in/a"), "a\n", 2);
	m = stream_submit(SL_TRIGGER_ONCE, -1);
	ASSERT_EQ_INT(stream_open(&s, &m, &err), SL_OK);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b, &wait, &status, &err),
		      SL_STREAM_RUN);
	CU_ASSERT(exists("ck/offsets/0000000001"));
	CU_ASSERT(!exists("ck/commits/0000000001"));
	ASSERT_EQ_INT(b.u.submit.ninputs, 1);
	ASSERT_EQ_STR(b.u.submit.inputs[0], unit_tpath("in/a"));
	ASSERT_EQ_STR(b.u.submit.output_dir, unit_tpath("out/batch-0000000001"));
	ASSERT_EQ_STR(b.u.submit.spec.state_in, "");
	ASSERT_EQ_STR(b.u.submit.spec.state_out,
		      unit_tpath("ck/state/0000000001"));
	CU_ASSERT(b.u.submit.stream.source == NULL); /* a batch job's */
	CU_ASSERT(b.u.submit.spec.batch_ms > 0);
	ASSERT_EQ_INT(sl_stream_batches(s), 0);
	run_batch(&b);
	d = job_done(SL_OK, "", SL_NO_WATERMARK);
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b, &wait, &status, &err),
		      SL_STREAM_END);
	ASSERT_EQ_INT(status, SL_OK); /* once: one batch */
	CU_ASSERT(exists("ck/commits/0000000001"));
	CU_ASSERT(exists("out/_manifest"));
	ASSERT_EQ_INT(sl_stream_batches(s), 1);
	CU_ASSERT(strstr(sl_stream_progress(s), "\"batch\":1,") != NULL);
	sl_msg_release(&b);
	sl_stream_close(s);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_a_failed_batch_stays_logged_and_runs_again_as_it_was(void)
{
	sl_msg m, b, b2, d;
	sl_buf err = SL_BUF_INIT;
	sl_stream *s;
	uint64_t wait;
	int status;

	unit_tdir_make();
	mkdir(unit_tpath("in"), 0755);
	unit_write_file(unit_tpath("in/a"), "a\n", 2);
	m = stream_submit(SL_TRIGGER_INTERVAL, -1);
	ASSERT_EQ_INT(stream_open(&s, &m, &err), SL_OK);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b, &wait, &status, &err),
		      SL_STREAM_RUN);
	d = job_done(SL_EJOB, "a task failed", SL_NO_WATERMARK);
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b2, &wait, &status, &err),
		      SL_STREAM_END);
	ASSERT_EQ_INT(status, SL_EJOB);
	CU_ASSERT(strstr(err.buf, "batch 1: a task failed") != NULL);
	CU_ASSERT(!exists("ck/commits/0000000001"));
	sl_stream_close(s);
	/* a new file meanwhile: the batch runs again without it */
	unit_write_file(unit_tpath("in/b"), "b\n", 2);
	sl_buf_reset(&err);
	ASSERT_EQ_INT(stream_open(&s, &m, &err), SL_OK);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b2, &wait, &status, &err),
		      SL_STREAM_RUN);
	ASSERT_EQ_INT(b2.u.submit.ninputs, 1);
	ASSERT_EQ_STR(b2.u.submit.inputs[0], unit_tpath("in/a"));
	ASSERT_EQ_INT(b2.u.submit.spec.batch_ms, b.u.submit.spec.batch_ms);
	run_batch(&b2);
	d = job_done(SL_OK, "", SL_NO_WATERMARK);
	sl_msg_release(&b);
	/* then the next batch takes b, after the interval */
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b, &wait, &status, &err),
		      SL_STREAM_WAIT);
	CU_ASSERT(wait > 0 && wait <= 250);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b, &wait, &status, &err),
		      SL_STREAM_RUN);
	ASSERT_EQ_INT(b.u.submit.ninputs, 1);
	ASSERT_EQ_STR(b.u.submit.inputs[0], unit_tpath("in/b"));
	ASSERT_EQ_STR(b.u.submit.spec.state_in,
		      unit_tpath("ck/state/0000000001"));
	sl_msg_release(&b);
	sl_msg_release(&b2);
	sl_stream_close(s);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_the_watermark_never_goes_back(void)
{
	sl_msg m, b, d;
	sl_buf err = SL_BUF_INIT;
	sl_stream *s;
	uint64_t wait;
	int status;

	unit_tdir_make();
	mkdir(unit_tpath("in"), 0755);
	unit_write_file(unit_tpath("in/a"), "a\n", 2);
	m = stream_submit(SL_TRIGGER_AVAILABLE, 1000);
	ASSERT_EQ_INT(stream_open(&s, &m, &err), SL_OK);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b, &wait, &status, &err),
		      SL_STREAM_RUN);
	/* before any event: a watermark that passes no window */
	ASSERT_EQ_INT(b.u.submit.spec.watermark_ms, SL_WATERMARK_MIN);
	run_batch(&b);
	sl_msg_release(&b);
	unit_write_file(unit_tpath("in/b"), "b\n", 2);
	d = job_done(SL_OK, "", 10000);
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b, &wait, &status, &err),
		      SL_STREAM_RUN); /* available-now: at once */
	ASSERT_EQ_INT(b.u.submit.spec.watermark_ms, 9000);
	run_batch(&b);
	sl_msg_release(&b);
	unit_write_file(unit_tpath("in/c"), "c\n", 2);
	d = job_done(SL_OK, "", 5000); /* older events: no step back */
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b, &wait, &status, &err),
		      SL_STREAM_RUN);
	ASSERT_EQ_INT(b.u.submit.spec.watermark_ms, 9000);
	run_batch(&b);
	sl_msg_release(&b);
	d = job_done(SL_OK, "", SL_NO_WATERMARK);
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b, &wait, &status, &err),
		      SL_STREAM_END);
	ASSERT_EQ_INT(status, SL_OK); /* nothing left */
	ASSERT_EQ_INT(sl_stream_batches(s), 3);
	sl_stream_close(s);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_a_stop_ends_the_stream_at_its_next_step(void)
{
	sl_msg m, b, d;
	sl_buf err = SL_BUF_INIT;
	sl_stream *s;
	uint64_t wait;
	int status;

	unit_tdir_make();
	mkdir(unit_tpath("in"), 0755);
	m = stream_submit(SL_TRIGGER_INTERVAL, -1);
	ASSERT_EQ_INT(stream_open(&s, &m, &err), SL_OK);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b, &wait, &status, &err),
		      SL_STREAM_WAIT); /* nothing yet */
	ASSERT_EQ_INT(wait, 250);
	unit_write_file(unit_tpath("in/a"), "a\n", 2);
	ASSERT_EQ_INT(sl_stream_step(s, NULL, &b, &wait, &status, &err),
		      SL_STREAM_RUN);
	sl_stream_stop(s); /* the batch in flight commits first */
	run_batch(&b);
	d = job_done(SL_OK, "", SL_NO_WATERMARK);
	sl_msg_release(&b);
	ASSERT_EQ_INT(sl_stream_step(s, &d, &b, &wait, &status, &err),
		      SL_STREAM_END);
	ASSERT_EQ_INT(status, SL_ECANCELED);
	CU_ASSERT(exists("ck/commits/0000000001"));
	sl_stream_close(s);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static void
test_a_checkpoint_in_use_or_of_another_stream_is_refused(void)
{
	sl_msg m, other;
	sl_buf err = SL_BUF_INIT;
	sl_stream *s, *s2;

	unit_tdir_make();
	mkdir(unit_tpath("in"), 0755);
	m = stream_submit(SL_TRIGGER_ONCE, -1);
	ASSERT_EQ_INT(stream_open(&s, &m, &err), SL_OK);
	ASSERT_EQ_INT(stream_open(&s2, &m, &err), SL_EUSAGE);
	CU_ASSERT(strstr(err.buf, "in use by another stream") != NULL);
	sl_stream_close(s);
	other = stream_submit(SL_TRIGGER_ONCE, -1);
	other.u.submit.spec.partitions = 2;
	sl_buf_reset(&err);
	ASSERT_EQ_INT(stream_open(&s2, &other, &err), SL_EUSAGE);
	CU_ASSERT(strstr(err.buf, "belongs to another stream") != NULL);
	sl_buf_release(&err);
	unit_tdir_remove();
}

static const unit_case cases[] = {
	{ "a batch is logged before its job and committed after it",
	  test_a_batch_is_logged_before_its_job_and_committed_after_it },
	{ "a failed batch stays logged and runs again as it was",
	  test_a_failed_batch_stays_logged_and_runs_again_as_it_was },
	{ "the watermark never goes back", test_the_watermark_never_goes_back },
	{ "a stop ends the stream at its next step",
	  test_a_stop_ends_the_stream_at_its_next_step },
	{ "a checkpoint in use or of another stream is refused",
	  test_a_checkpoint_in_use_or_of_another_stream_is_refused },
	{ NULL, NULL }
};

UNIT_MAIN("stream", cases)
