/*
 * stream.c - the micro-batch driver; see stream.h and docs/stream.md.
 *
 * The phases of a stream, each step moving it on:
 *
 *   START   the sink is given the last committed batch again (a file
 *           sink's manifest may lag the commit log), then a batch logged
 *           and not committed runs again, as it was logged;
 *   PLAN    the source says what is new after the last batch's offsets;
 *           nothing: wait a trigger interval (or end: once,
 *           available-now); else batch N's offsets go to the offset log
 *           and its job runs;
 *   RUN     its job ran: on success the next watermark is reckoned;
 *   SINK    the sink takes batch N, then the late sink (--late
 *           sink:URI) its late events (both tried 4 times, 0.1, 0.2 and
 *           0.4 s apart), then N goes to the commit log with the
 *           watermark, batch N-1's state goes, the progress line is
 *           written.
 *
 * Late events: each map task of batch N writes those of its split into
 * the late sink's directory for N (sl_emit_late, worker/task.c), one
 * part file a map task, committed by the attempt that succeeds; the
 * driver only makes and clears that directory and hands it to the late
 * sink, as it does the sink's: it reads no record.
 */
#include "stream.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster/zmsg.h" /* sl_now_ms */
#include "common/input.h"
#include "common/log.h"
#include "common/procdir.h"
#include "connectors/sink.h"
#include "connectors/source.h"
#include "stream/checkpoint.h"

#define STREAM_SINK_TRIES 4 /* attempts of a sink's commit before the
				stream stops */

typedef enum stream_phase { PH_START, PH_PLAN, PH_RUN, PH_SINK } stream_phase;

/* What the job of the batch in flight reported, for its progress line. */
typedef struct stream_figures {
	uint64_t records_in, records_out, elapsed_ms, map_ms, reduce_ms;
	int64_t late, bad, state_rows;
} stream_figures;

struct sl_stream {
	sl_buf proto;           /* the stream's SUBMIT, encoded: each batch's
				   SUBMIT starts as a copy */
	sl_msg submit;          /* the same, decoded */
	const sl_stream_spec *spec; /* its stream part */
	sl_source *source;
	sl_sink *sink;
	sl_sink *late;          /* --late sink:URI's, or NULL */
	uint32_t late_parts;    /* batch n's late part files: its map tasks */
	sl_checkpoint ck;
	stream_phase phase;
	bool stop;              /* sl_stream_stop */
	bool away;              /* the source failed its last plan */
	bool again;             /* PH_SINK of the batch committed already
				   (START) */
	bool replay;            /* the batch in flight is a logged one run
				   again (not the one of --trigger once) */
	int tries;              /* sink commits of batch n tried */
	uint64_t n;             /* the batch in flight */
	sl_buf offsets;         /* its offsets */
	sl_buf last;            /* the last committed batch's offsets */
	size_t nfiles;          /* its input files */
	uint64_t plan_start;    /* when its plan began (monotonic ms) */
	int64_t batch_ms;       /* its time (sl_batch_time), logged with its
				   offsets */
	uint64_t plan_ms, sink_ms;
	int64_t next_wm;        /* the watermark after it */
	stream_figures fig;
	sl_buf progress;        /* the last committed batch's line */
};

/* What the checkpoint belongs to: the job, its options and the settings
 * that change the results. A restart with others is refused. */
static void
stream_identity(const sl_msg *m, sl_buf *out)
{
	const sl_job_spec *spec = &m->u.submit.spec;
	const sl_stream_spec *st = &m->u.submit.stream;
	static const char *const modes[] = { "complete", "update", "append" };
	uint32_t i;

	sl_buf_addf(out, "job %s\npartitions %u\nsource %s\n", spec->job,
		    spec->partitions, st->source);
	sl_buf_addf(out, "output-mode %s\n", modes[st->mode]);
	if (st->delay_ms >= 0)
		sl_buf_addf(out, "watermark %lld\n", (long long)st->delay_ms);
	/* Not its URI, as not the sink's: but a late sink's batches are
	 * all of the stream's or none. */
	if (st->late_sink && st->late_sink[0])
		sl_buf_addstr(out, "late sink\n");
	for (i = 0; i < spec->noptions; i++)
		sl_buf_addf(out, "option %s=%s\n", spec->options[i].key,
			    spec->options[i].value);
}

/* err, an error of the late sink, said to be one. */
static void
stream_late_error(sl_buf *err)
{
	sl_buf b = SL_BUF_INIT;

	sl_buf_addf(&b, "--late: %s", err->buf);
	sl_buf_reset(err);
	sl_buf_addstr(err, b.buf);
	sl_buf_release(&b);
}

int
sl_stream_open(sl_stream **out, const sl_msg *m, sl_buf *err)
{
	sl_stream *s = calloc(1, sizeof(*s));
	sl_buf id = SL_BUF_INIT;
	int rv;

	*out = NULL;
	if (s == NULL)
		return SL_ENOMEM;
	sl_buf_init(&s->proto);
	sl_buf_init(&s->offsets);
	sl_buf_init(&s->last);
	sl_buf_init(&s->progress);
	s->ck.lock_fd = -1;
	if ((rv = sl_msg_encode(m, &s->proto)) != SL_OK ||
	    (rv = sl_msg_decode(s->proto.buf, s->proto.len, &s->submit,
				err)) != SL_OK)
		goto fail;
	s->spec = &s->submit.u.submit.stream;
	stream_identity(&s->submit, &id);
	/* The checkpoint's directory first: the sources keep things in it
	 * (rate: its start) */
	if ((rv = sl_mkdirs(s->spec->checkpoint, 0755, err)) != SL_OK ||
	    (rv = sl_source_open(&s->source, s->spec->source,
				 s->spec->checkpoint, err)) != SL_OK ||
	    (rv = sl_sink_open(&s->sink, s->spec->sink, s->spec->checkpoint,
			       err)) != SL_OK ||
	    (rv = sl_ck_open(&s->ck, s->spec->checkpoint, id.buf, err)) !=
		    SL_OK)
		goto fail;
	if (s->spec->late_sink[0]) {
		sl_buf_reset(&id);
		sl_ck_late_dir(&s->ck, &id);
		if ((rv = sl_mkdirs(id.buf, 0755, err)) != SL_OK ||
		    (rv = sl_sink_open(&s->late, s->spec->late_sink, id.buf,
				       err)) != SL_OK) {
			stream_late_error(err);
			goto fail;
		}
	}
	sl_buf_release(&id);
	*out = s;
	return SL_OK;
fail:
	sl_buf_release(&id);
	sl_stream_close(s);
	return rv;
}

void
sl_stream_close(sl_stream *s)
{
	if (s == NULL)
		return;
	sl_sink_close(s->sink);
	sl_sink_close(s->late);
	sl_source_close(s->source);
	sl_ck_close(&s->ck);
	sl_msg_release(&s->submit);
	sl_buf_release(&s->proto);
	sl_buf_release(&s->offsets);
	sl_buf_release(&s->last);
	sl_buf_release(&s->progress);
	free(s);
}

void
sl_stream_stop(sl_stream *s)
{
	s->stop = true;
}

uint64_t
sl_stream_batches(const sl_stream *s)
{
	return s->ck.committed;
}

const char *
sl_stream_progress(const sl_stream *s)
{
	return s->progress.len ? s->progress.buf : "";
}

/* Replaces the string *dst with a copy of src. */
static int
stream_set(char **dst, const char *src)
{
	char *p = strdup(src);

	if (p == NULL)
		return SL_ENOMEM;
	free(*dst);
	*dst = p;
	return SL_OK;
}

/* A copy of the stream's SUBMIT made a batch job's: no stream part, no
 * inputs yet. */
static void
stream_clear(sl_msg *m)
{
	sl_stream_spec *st = &m->u.submit.stream;
	uint32_t i;

	free(st->source);
	free(st->sink);
	free(st->checkpoint);
	free(st->late_sink);
	memset(st, 0, sizeof(*st));
	for (i = 0; i < m->u.submit.ninputs; i++)
		free(m->u.submit.inputs[i]);
	free(m->u.submit.inputs);
	free(m->u.submit.ranges);
	m->u.submit.inputs = NULL;
	m->u.submit.ninputs = 0;
	m->u.submit.ranges = NULL;
	m->u.submit.nranges = 0;
}

/* The batch's input, splits, made the SUBMIT's inputs and their byte
 * ranges (the paths moved out of splits). */
static int
stream_inputs(sl_msg *batch, sl_split_list *splits, sl_buf *err)
{
	size_t i, n = splits->n;

	if (n > SL_PROTO_MAX_ITEMS) {
		sl_buf_addf(err, "a batch of %zu input files, more than the "
			    "%u a job may have", n,
			    (unsigned)SL_PROTO_MAX_ITEMS);
		return SL_EINVAL;
	}
	batch->u.submit.inputs = calloc(n ? n : 1, sizeof(char *));
	batch->u.submit.ranges = calloc(n ? n : 1, sizeof(sl_range));
	if (!batch->u.submit.inputs || !batch->u.submit.ranges)
		return SL_ENOMEM; /* the caller releases the message */
	for (i = 0; i < n; i++) {
		batch->u.submit.inputs[i] = splits->v[i].path;
		splits->v[i].path = NULL;
		batch->u.submit.ranges[i] = (sl_range){ splits->v[i].start,
							splits->v[i].end };
	}
	batch->u.submit.ninputs = batch->u.submit.nranges = (uint32_t)n;
	return SL_OK;
}

/*
 * Batch s->n's SUBMIT, into *batch: the stream's job over the files (or
 * the parts of files) of its offsets, its part files into the sink's
 * directory for it, its state from batch n-1's into batch n's, with the
 * watermark so far; its late events into the late sink's directory for
 * it, emptied first (a batch not committed: what an earlier run of it
 * left there).
 */
static int
stream_batch(sl_stream *s, sl_msg *batch, sl_buf *err)
{
	sl_buf dir = SL_BUF_INIT, in = SL_BUF_INIT, so = SL_BUF_INIT;
	sl_buf late = SL_BUF_INIT;
	sl_split_list splits = SL_SPLIT_LIST_INIT;
	sl_job_spec *spec;
	int rv;

	memset(batch, 0, sizeof(*batch));
	if ((rv = sl_source_inputs(s->source, s->n, s->offsets.buf, &splits,
				   err)) != SL_OK)
		goto out;
	sl_sink_batch_dir(s->sink, s->n, &dir);
	sl_ck_state_dir(&s->ck, s->n - 1, &in);
	sl_ck_state_dir(&s->ck, s->n, &so);
	if (s->late) {
		sl_sink_batch_dir(s->late, s->n, &late);
		if ((rv = sl_rmtree(late.buf, err)) != SL_OK ||
		    (rv = sl_mkdirs(late.buf, 0755, err)) != SL_OK)
			goto out;
	}
	if ((rv = sl_mkdirs(so.buf, 0755, err)) != SL_OK ||
	    (rv = sl_msg_decode(s->proto.buf, s->proto.len, batch, err)) !=
		    SL_OK)
		goto out;
	s->nfiles = splits.n;
	stream_clear(batch);
	if ((rv = stream_inputs(batch, &splits, err)) != SL_OK)
		goto out;
	batch->u.submit.overwrite = 1; /* a batch run again replaces its own
					  output */
	spec = &batch->u.submit.spec;
	spec->update = s->spec->mode == SL_MODE_UPDATE;
	spec->batch_ms = s->batch_ms;
	spec->watermark_ms = s->spec->delay_ms < 0 ? SL_NO_WATERMARK
			     : s->ck.wm == SL_NO_WATERMARK ? SL_WATERMARK_MIN
							   : s->ck.wm;
	if (stream_set(&batch->u.submit.output_dir, dir.buf) != SL_OK ||
	    stream_set(&spec->state_in, in.len ? in.buf : "") != SL_OK ||
	    stream_set(&spec->state_out, so.buf) != SL_OK ||
	    stream_set(&spec->late_dir, late.len ? late.buf : "") != SL_OK)
		rv = SL_ENOMEM;
out:
	if (rv != SL_OK)
		sl_msg_release(batch);
	sl_split_list_release(&splits);
	sl_buf_release(&dir);
	sl_buf_release(&in);
	sl_buf_release(&so);
	sl_buf_release(&late);
	return rv;
}

/* The figures of a batch's JOB_DONE, and the watermark after it: the
 * latest event time so far less the delay; it never goes back. */
static void
stream_ran(sl_stream *s, const sl_msg *done)
{
	int64_t ev = done->u.job_done.event_ms_max;
	uint32_t i;

	s->fig = (stream_figures){
		.records_in = done->u.job_done.records_in,
		.records_out = done->u.job_done.records_out,
		.elapsed_ms = done->u.job_done.elapsed_ms,
		.map_ms = done->u.job_done.map_ms,
		.reduce_ms = done->u.job_done.reduce_ms,
	};
	s->late_parts = done->u.job_done.maps;
	for (i = 0; i < done->u.job_done.ncounters; i++) {
		const sl_counter *c = &done->u.job_done.counters[i];

		if (strcmp(c->name, "late_records") == 0)
			s->fig.late = c->value;
		else if (strcmp(c->name, "bad_records") == 0)
			s->fig.bad = c->value;
		else if (strcmp(c->name, "state_rows") == 0)
			s->fig.state_rows = c->value;
	}
	s->next_wm = s->ck.wm;
	if (s->spec->delay_ms >= 0 && ev != SL_NO_WATERMARK &&
	    (s->ck.wm == SL_NO_WATERMARK || ev - s->spec->delay_ms > s->ck.wm))
		s->next_wm = ev - s->spec->delay_ms;
}

static int64_t
stream_wall_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * The progress line of batch s->n, just committed: what it read and
 * wrote, how long each phase took, the watermark it leaves, its state's
 * size, and for a source that knows when its events arrived the latency
 * from then to the commit: of its newest and oldest events, and p50 and
 * p99 as if the arrivals spread evenly between (exact for rate:); for a
 * source that can tell, the records there and not taken yet (its lag).
 * Appended after the commit: a crash in between loses the line, never
 * doubles it.
 */
static void
stream_progress(sl_stream *s, uint64_t commit_ms)
{
	int64_t oldest, newest, now = stream_wall_ms();
	uint64_t lag, ms = s->fig.elapsed_ms ? s->fig.elapsed_ms : 1;
	json_t *o;
	char *line;

	o = json_pack("{sIsIsIsIsIsIsIsIsI}", "batch", (json_int_t)s->n,
		      "files", (json_int_t)s->nfiles, "input_rows",
		      (json_int_t)s->fig.records_in, "output_rows",
		      (json_int_t)s->fig.records_out, "duration_ms",
		      (json_int_t)s->fig.elapsed_ms, "late_records",
		      (json_int_t)s->fig.late, "bad_records",
		      (json_int_t)s->fig.bad, "state_bytes",
		      (json_int_t)sl_ck_state_bytes(&s->ck, s->n),
		      "committed_ms", (json_int_t)now);
	if (o) {
		json_object_set_new(o, "state_rows",
				    json_integer(s->fig.state_rows));
		json_object_set_new(o, "input_rows_per_s", json_integer(
			(json_int_t)(s->fig.records_in * 1000 / ms)));
	}
	if (o && sl_source_lag(s->source, s->offsets.buf, &lag) == SL_OK)
		json_object_set_new(o, "source_lag_rows",
				    json_integer((json_int_t)lag));
	if (o && s->ck.wm != SL_NO_WATERMARK)
		json_object_set_new(o, "watermark_ms", json_integer(s->ck.wm));
	if (o)
		json_object_set_new(o, "phases_ms", json_pack(
			"{sIsIsIsIsI}", "plan", (json_int_t)s->plan_ms, "map",
			(json_int_t)s->fig.map_ms, "reduce",
			(json_int_t)s->fig.reduce_ms, "sink",
			(json_int_t)s->sink_ms, "commit",
			(json_int_t)commit_ms));
	if (o && sl_source_arrivals(s->source, s->offsets.buf, &oldest,
				    &newest) == SL_OK) {
		json_object_set_new(o, "latency_min_ms",
				    json_integer(now - newest));
		json_object_set_new(o, "latency_max_ms",
				    json_integer(now - oldest));
		json_object_set_new(o, "latency_p50_ms", json_integer(
			now - (oldest + (newest - oldest) / 2)));
		json_object_set_new(o, "latency_p99_ms", json_integer(
			now - (oldest + (newest - oldest) / 100)));
	}
	line = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	sl_buf_reset(&s->progress);
	if (line == NULL) {
		sl_warn("stream: out of memory for batch %llu's progress",
			(unsigned long long)s->n);
		return;
	}
	sl_buf_addstr(&s->progress, line);
	free(line);
	sl_ck_progress(&s->ck, s->progress.buf);
	sl_info("stream: %s", s->progress.buf);
}

/*
 * The late part files of batch s->n in the late sink's directory
 * (part-NNNNN), for a batch committed before this start: its map tasks
 * are not known now. A listing: no record is read.
 */
static uint32_t
stream_late_listed(sl_stream *s)
{
	sl_buf dir = SL_BUF_INIT;
	struct dirent *e;
	uint32_t n = 0;
	DIR *d;

	sl_sink_batch_dir(s->late, s->n, &dir);
	d = opendir(dir.buf);
	while (d && (e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "part-", 5) == 0 &&
		     strspn(e->d_name + 5, "0123456789") ==
			     strlen(e->d_name + 5) &&
		     e->d_name[5] != '\0';
	if (d)
		closedir(d);
	sl_buf_release(&dir);
	return n;
}

/*
 * The late sink takes batch s->n's late events: the part file of each
 * map task, in the form of its input (docs/stream.md, "Late events").
 * The attempts' temporary files go first (a copy that lost leaves its
 * own there).
 */
static int
stream_late_commit(sl_stream *s, sl_buf *err)
{
	sl_sink_batch b = { .n = s->n, .partitions = s->late_parts,
			    .output = s->spec->late_output };
	sl_buf tmp = SL_BUF_INIT, why = SL_BUF_INIT;
	int rv;

	sl_sink_batch_dir(s->late, s->n, &tmp);
	sl_buf_addstr(&tmp, "/_temporary");
	if (sl_rmtree(tmp.buf, &why) != SL_OK)
		sl_warn("stream: %s", why.buf);
	if ((rv = sl_sink_commit(s->late, &b, err)) != SL_OK)
		stream_late_error(err);
	sl_buf_release(&tmp);
	sl_buf_release(&why);
	return rv;
}

/* The sink takes batch s->n, then the late sink its late events: SL_OK;
 * or the error, with *wait_ms before the next try, or 0 after the last
 * (a try is of both: a sink holding the batch already changes nothing). */
static int
stream_sink(sl_stream *s, uint64_t *wait_ms, sl_buf *err)
{
	sl_sink_batch b = { .n = s->n,
			    .partitions = s->submit.u.submit.spec.partitions,
			    .output = s->spec->output,
			    .key_columns = s->spec->key_columns,
			    .complete = s->spec->mode == SL_MODE_COMPLETE,
			    .update = s->spec->mode == SL_MODE_UPDATE };
	uint64_t t = sl_now_ms();
	int rv;

	sl_buf_reset(err);
	if ((rv = sl_sink_commit(s->sink, &b, err)) == SL_OK &&
	    (s->late == NULL || (rv = stream_late_commit(s, err)) == SL_OK)) {
		s->sink_ms = sl_now_ms() - t;
		return SL_OK;
	}
	if (++s->tries < STREAM_SINK_TRIES) {
		sl_warn("stream: batch %llu: %s; trying again",
			(unsigned long long)s->n, err->buf);
		sl_buf_reset(err);
		*wait_ms = 100ULL << (s->tries - 1);
		return rv;
	}
	sl_buf_addf(err, " (batch %llu, after %d attempts; it stays logged "
		    "and runs again at the next start)",
		    (unsigned long long)s->n, STREAM_SINK_TRIES);
	return rv;
}

/* Batch s->n is in the sink: into the commit log. */
static int
stream_commit(sl_stream *s, sl_buf *err)
{
	uint64_t t = sl_now_ms();
	int rv;

	if ((rv = sl_ck_commit(&s->ck, s->n, s->next_wm, err)) != SL_OK)
		return rv;
	sl_buf_reset(&s->last);
	sl_buf_addstr(&s->last, s->offsets.buf);
	sl_source_done(s->source, s->n);
	stream_progress(s, sl_now_ms() - t);
	sl_info("stream: batch %llu committed: %zu input file(s)",
		(unsigned long long)s->n, s->nfiles);
	return SL_OK;
}

/* The next batch of the source, in PH_PLAN. */
static sl_stream_do
stream_plan(sl_stream *s, sl_msg *batch, uint64_t *wait_ms, int *status,
	    sl_buf *err)
{
	bool ends = s->spec->trigger != SL_TRIGGER_INTERVAL;
	int rv;

	if (s->stop) {
		*status = SL_ECANCELED;
		return SL_STREAM_END;
	}
	s->plan_start = sl_now_ms();
	sl_buf_reset(&s->offsets);
	if ((rv = sl_source_plan(s->source, s->last.buf,
				 s->spec->max_batch_records, &s->offsets,
				 err)) != SL_OK) {
		/* A source that is away (SL_EIO) may come back: a stream that
		 * runs on waits for it, saying so once. Another error (a
		 * file changed that a batch took part of) does not mend. */
		if (ends || rv != SL_EIO) {
			*status = rv;
			return SL_STREAM_END;
		}
		if (!s->away)
			sl_warn("stream: %s; waiting for it", err->buf);
		s->away = true;
		sl_buf_reset(err);
		*wait_ms = s->spec->interval_ms;
		return SL_STREAM_WAIT;
	}
	if (s->away)
		sl_warn("stream: the source is back");
	s->away = false;
	if (s->offsets.len == 0) {
		if (ends) {
			*status = SL_OK;
			return SL_STREAM_END;
		}
		*wait_ms = s->spec->interval_ms;
		return SL_STREAM_WAIT;
	}
	/* The batch's offsets, durably, before anything of it runs. */
	s->n = s->ck.committed + 1;
	s->batch_ms = stream_wall_ms();
	if ((rv = sl_ck_log_offsets(&s->ck, s->n, s->batch_ms, s->offsets.buf,
				    err)) != SL_OK ||
	    (rv = stream_batch(s, batch, err)) != SL_OK) {
		*status = rv;
		return SL_STREAM_END;
	}
	s->plan_ms = sl_now_ms() - s->plan_start;
	s->phase = PH_RUN;
	return SL_STREAM_RUN;
}

/* A logged batch not committed runs again, as it was; else PH_PLAN. */
static sl_stream_do
stream_replay(sl_stream *s, sl_msg *batch, uint64_t *wait_ms, int *status,
	      sl_buf *err)
{
	int rv;

	s->phase = PH_PLAN;
	s->replay = false;
	if (sl_ck_logged(&s->ck) <= s->ck.committed)
		return stream_plan(s, batch, wait_ms, status, err);
	s->replay = true;
	s->n = s->ck.committed + 1;
	s->plan_start = sl_now_ms();
	if ((rv = sl_ck_offsets(&s->ck, s->n, &s->batch_ms, &s->offsets,
				err)) != SL_OK ||
	    (rv = stream_batch(s, batch, err)) != SL_OK) {
		*status = rv;
		return SL_STREAM_END;
	}
	sl_info("stream: batch %llu again, as logged", (unsigned long long)s->n);
	s->plan_ms = sl_now_ms() - s->plan_start;
	s->phase = PH_RUN;
	return SL_STREAM_RUN;
}

sl_stream_do
sl_stream_step(sl_stream *s, const sl_msg *done, sl_msg *batch,
	       uint64_t *wait_ms, int *status, sl_buf *err)
{
	uint64_t spent;
	int rv;

	*status = SL_OK;
	*wait_ms = 0;
	switch (s->phase) {
	case PH_START:
		if (s->ck.committed == 0)
			return stream_replay(s, batch, wait_ms, status, err);
		/* The sink holds the last committed batch, whatever the last
		 * run's end was. */
		s->n = s->ck.committed;
		if ((rv = sl_ck_offsets(&s->ck, s->n, &s->batch_ms, &s->last,
					err)) != SL_OK) {
			*status = rv;
			return SL_STREAM_END;
		}
		if (s->late)
			s->late_parts = stream_late_listed(s);
		s->again = true;
		s->tries = 0;
		s->phase = PH_SINK;
		break;
	case PH_PLAN:
		return stream_plan(s, batch, wait_ms, status, err);
	case PH_RUN:
		if (done == NULL)
			return SL_STREAM_WAIT; /* its job's end steps it */
		if (done->u.job_done.status != SL_OK) {
			sl_buf_addf(err, "batch %llu: %s",
				    (unsigned long long)s->n,
				    done->u.job_done.error);
			*status = done->u.job_done.status;
			return SL_STREAM_END;
		}
		stream_ran(s, done);
		s->again = false;
		s->tries = 0;
		s->phase = PH_SINK;
		break;
	case PH_SINK:
		break;
	}
	/* PH_SINK */
	if ((rv = stream_sink(s, wait_ms, err)) != SL_OK && *wait_ms)
		return SL_STREAM_WAIT;
	if (rv != SL_OK) {
		*status = rv;
		return SL_STREAM_END;
	}
	if (s->again)
		return stream_replay(s, batch, wait_ms, status, err);
	if ((rv = stream_commit(s, err)) != SL_OK) {
		*status = rv;
		return SL_STREAM_END;
	}
	s->phase = PH_PLAN;
	if ((s->spec->trigger == SL_TRIGGER_ONCE && !s->replay) || s->stop) {
		*status = s->stop ? SL_ECANCELED : SL_OK;
		return SL_STREAM_END;
	}
	/* The next plan one interval after this one began (at once when the
	 * batch took longer). */
	spent = sl_now_ms() - s->plan_start;
	if (s->spec->trigger == SL_TRIGGER_INTERVAL &&
	    spent < s->spec->interval_ms) {
		*wait_ms = s->spec->interval_ms - spent;
		return SL_STREAM_WAIT;
	}
	return stream_plan(s, batch, wait_ms, status, err);
}
