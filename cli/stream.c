/*
 * stream.c - `sluice stream`: a job over a stream, as a sequence of
 * micro-batches run by the batch engine on workers that stay up.
 *
 *   sluice stream JOB [job options] --source file:DIR --sink URI \
 *       --checkpoint CK [--trigger 1s|once|available-now]
 *       [--output-mode complete | --output-mode append --watermark D]
 *
 * The driver (this file, in the `sluice stream` process, a client of the
 * coordinator on its thread) loops: at each trigger it lists the files of
 * the source that come after the last one taken (name order), writes the
 * batch's offsets (its files) durably to CK/offsets/N, runs batch N as a
 * job whose reduce tasks fold the previous state (CK/state/N-1) with the
 * new map outputs and write the new state (CK/state/N) and the batch's
 * result (in the directory the sink names: the whole result so far in
 * complete mode, the windows the watermark passed in append mode), has
 * the sink take it (connectors/sink.h: exactly once per batch), then
 * durably appends N and the next watermark to the commit log
 * (CK/commits/N). After a crash, a batch in the
 * offset log but not in the commit log runs again with its logged files
 * and state: its output is the same bytes (the engine is deterministic),
 * so the sink holds each batch's result exactly once. docs/stream.md
 * gives the format and the guarantees.
 *
 * Only this file knows the checkpoint's layout. Not thread-safe; one
 * stream per checkpoint (CK/lock).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster/mpi.h"
#include "cluster/zmsg.h" /* sl_now_ms */
#include "common/input.h"
#include "common/procdir.h"
#include "connectors/sink.h"
#include "connectors/source.h"

#define STREAM_FORMAT "sluice-checkpoint 1" /* first line of CK/meta */

/* A stream being run: its paths and where it is. */
typedef struct stream {
	cli_run *r;
	sl_source *source;    /* --source */
	sl_sink *sink;        /* --sink */
	const char *ck;       /* the checkpoint directory */
	int64_t every_ms;     /* trigger interval; 0 for once/available-now */
	bool once;            /* --trigger once */
	uint64_t committed;   /* last batch in the commit log, 0 for none */
	int64_t delay_ms;     /* --watermark, -1 without (complete mode) */
	int64_t wm;           /* the watermark after the last commit, or
				 SL_NO_WATERMARK */
	sl_buf last;          /* the offsets of the last committed batch, ""
				 for none */
	uint64_t plan_ms;     /* the batch's planning: source, offset log */
	uint64_t sink_ms;     /* its sink's commit */
	uint64_t commit_ms;   /* its commit log entry */
	int lock_fd;
} stream;

/* The largest N of the files named by a number in dir, 0 for none. */
static uint64_t
stream_last_entry(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t last = 0, n;
	char *end;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		n = strtoull(e->d_name, &end, 10);
		if (*end == '\0' && n > last)
			last = n;
	}
	closedir(d);
	return last;
}

/*
 * What the checkpoint belongs to: the job, its options and the stream's
 * other settings that change its results. A restart with other ones is
 * refused rather than mixing two streams' state.
 */
static void
stream_meta(const stream *s, sl_buf *out)
{
	const cli_run *r = s->r;
	uint32_t i;

	sl_buf_addf(out, "%s\njob %s\npartitions %u\nsource %s\n",
		    STREAM_FORMAT, r->spec.job, r->spec.partitions, r->source);
	sl_buf_addf(out, "output-mode %s\n", r->append   ? "append"
					    : r->update ? "update"
							: "complete");
	if (s->delay_ms >= 0)
		sl_buf_addf(out, "watermark %lld\n", (long long)s->delay_ms);
	for (i = 0; i < r->nopts; i++)
		sl_buf_addf(out, "option %s=%s\n", r->opts[i].key,
			    r->opts[i].value);
}

/* Opens the checkpoint (its directory made by the caller): the lock, the
 * meta check, the logs. */
static int
stream_open(stream *s, sl_buf *err)
{
	static const char *const sub[] = { "offsets", "commits", "state" };
	sl_buf path = SL_BUF_INIT, want = SL_BUF_INIT, have = SL_BUF_INIT;
	size_t i;
	int rv;

	sl_buf_addf(&path, "%s/lock", s->ck);
	s->lock_fd = open(path.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		sl_buf_addf(err, "checkpoint '%s' is in use by another stream "
			    "(%s is locked)", s->ck, path.buf);
		rv = SL_EUSAGE;
		goto out;
	}
	for (i = 0; i < SL_ARRAY_LEN(sub); i++) {
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/%s", s->ck, sub[i]);
		if ((rv = sl_mkdirs(path.buf, 0755, err)) != SL_OK)
			goto out;
	}
	stream_meta(s, &want);
	sl_buf_reset(&path);
	sl_buf_addf(&path, "%s/meta", s->ck);
	rv = sl_read_file(path.buf, &have, err);
	if (rv == SL_ENOTFOUND)
		rv = sl_write_file(s->ck, "meta", want.buf, want.len, err);
	else if (rv == SL_OK && strcmp(have.buf, want.buf) != 0) {
		sl_buf_addf(err, "checkpoint '%s' belongs to another stream: "
			    "its job, options, partitions or source differ "
			    "(%s/meta); use another --checkpoint", s->ck,
			    s->ck);
		rv = SL_EUSAGE;
	}
	if (rv != SL_OK)
		goto out;
	sl_buf_reset(&path);
	sl_buf_addf(&path, "%s/commits", s->ck);
	s->committed = stream_last_entry(path.buf);
	s->wm = SL_NO_WATERMARK;
	if (s->committed) {
		long long v;

		sl_buf_addf(&path, "/%010llu", (unsigned long long)s->committed);
		if ((rv = sl_read_file(path.buf, &have, err)) != SL_OK)
			goto out;
		if (sscanf(have.buf, "watermark %lld", &v) == 1)
			s->wm = v;
		else if (strcmp(have.buf, "watermark none\n") != 0) {
			sl_buf_addf(err, "checkpoint '%s': '%s' is not a "
				    "commit of this version", s->ck, path.buf);
			rv = SL_EIO;
		}
	}
out:
	sl_buf_release(&path);
	sl_buf_release(&want);
	sl_buf_release(&have);
	return rv;
}

/* The offsets of batch n (the source's text, after the format line). */
static int
stream_offsets(stream *s, uint64_t n, sl_buf *offsets, sl_buf *err)
{
	sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT;
	size_t hl = strlen(STREAM_FORMAT "\n");
	int rv;

	sl_buf_addf(&path, "%s/offsets/%010llu", s->ck, (unsigned long long)n);
	rv = sl_read_file(path.buf, &text, err);
	if (rv == SL_ENOTFOUND) {
		sl_buf_addf(err, "checkpoint '%s': batch %llu is in the commit "
			    "log but not in the offset log", s->ck,
			    (unsigned long long)n);
		rv = SL_EIO;
	} else if (rv == SL_OK && (text.len < hl ||
				   memcmp(text.buf, STREAM_FORMAT "\n", hl))) {
		sl_buf_addf(err, "checkpoint '%s': '%s' is not an offset log "
			    "entry of this version", s->ck, path.buf);
		rv = SL_EIO;
	}
	sl_buf_reset(offsets);
	if (rv == SL_OK)
		sl_buf_addstr(offsets, text.buf + hl);
	sl_buf_release(&path);
	sl_buf_release(&text);
	return rv;
}

#define STREAM_SINK_TRIES 4 /* attempts of a sink's commit, 0.1 s, 0.2 s,
				0.4 s apart, before the stream stops */

static void stream_sleep(int64_t ms);

/*
 * Has the sink take batch n, trying again after a failure (a database
 * busy or briefly unwritable), then giving up with the last reason: the
 * batch stays logged and uncommitted, and a restart tries it again.
 */
static int
stream_sink_commit(stream *s, uint64_t n, sl_buf *err)
{
	const cli_run *r = s->r;
	sl_sink_batch b = { .n = n, .partitions = r->spec.partitions,
			    .output = r->job->output,
			    .complete = !r->append && !r->update,
			    .update = r->update,
			    .key_columns = r->key_columns };
	int tries, rv = SL_OK;

	for (tries = 1; tries <= STREAM_SINK_TRIES; tries++) {
		sl_buf_reset(err);
		if ((rv = sl_sink_commit(s->sink, &b, err)) == SL_OK)
			return SL_OK;
		if (tries < STREAM_SINK_TRIES) {
			sl_warn("stream: batch %llu: %s; trying again",
				(unsigned long long)n, err->buf);
			stream_sleep(100LL << (tries - 1));
		}
	}
	sl_buf_addf(err, " (batch %llu, after %d attempts; it stays logged "
		    "and runs again at the next start)", (unsigned long long)n,
		    STREAM_SINK_TRIES);
	return rv;
}

/* The bytes of the files of dir. */
static uint64_t
stream_dir_bytes(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	sl_buf path = SL_BUF_INIT;
	uint64_t n = 0;

	while (d && (e = readdir(d)) != NULL) {
		sl_buf_reset(&path);
		sl_buf_addf(&path, "%s/%s", dir, e->d_name);
		if (stat(path.buf, &st) == 0 && S_ISREG(st.st_mode))
			n += (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	sl_buf_release(&path);
	return n;
}

/*
 * One line of CK/progress.jsonl for committed batch n: what it read and
 * wrote, how long it took, the watermark it leaves, its state's size,
 * and for a source that knows when its events arrived the latency from
 * then to the commit (of its newest and oldest events).
 * Appended after the commit: a crash in between loses the line, never
 * doubles it.
 */
static void
stream_progress(stream *s, uint64_t n, size_t nfiles, const char *state,
		const char *offsets)
{
	int64_t oldest, newest, now_ms;
	const cli_run *r = s->r;
	struct timespec now;
	sl_buf path = SL_BUF_INIT;
	json_t *o;
	char *line;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	o = json_pack("{sIsIsIsIsIsIsIsIsI}", "batch", (json_int_t)n,
		      "files", (json_int_t)nfiles, "input_rows",
		      (json_int_t)r->last_records_in, "output_rows",
		      (json_int_t)r->last_records_out, "duration_ms",
		      (json_int_t)r->last_elapsed_ms, "late_records",
		      (json_int_t)r->last_late, "bad_records",
		      (json_int_t)r->last_bad, "state_bytes",
		      (json_int_t)stream_dir_bytes(state), "committed_ms",
		      (json_int_t)((int64_t)now.tv_sec * 1000 +
				   now.tv_nsec / 1000000));
	if (o && s->wm != SL_NO_WATERMARK)
		json_object_set_new(o, "watermark_ms", json_integer(s->wm));
	if (o)
		json_object_set_new(o, "phases_ms", json_pack(
			"{sIsIsIsIsI}", "plan", (json_int_t)s->plan_ms, "map",
			(json_int_t)r->last_map_ms, "reduce",
			(json_int_t)r->last_reduce_ms, "sink",
			(json_int_t)s->sink_ms, "commit",
			(json_int_t)s->commit_ms));
	/* Event to sink: from the arrival of the batch's newest and oldest
	 * events to its commit (sources that know when events arrived). */
	now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (o && sl_source_arrivals(s->source, offsets, &oldest, &newest) ==
			 SL_OK) {
		json_object_set_new(o, "latency_min_ms",
				    json_integer(now_ms - newest));
		json_object_set_new(o, "latency_max_ms",
				    json_integer(now_ms - oldest));
	}
	line = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	sl_buf_addf(&path, "%s/progress.jsonl", s->ck);
	fd = open(path.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (line == NULL || fd < 0 ||
	    sl_write_all(fd, line, strlen(line)) != SL_OK ||
	    sl_write_all(fd, "\n", 1) != SL_OK)
		sl_warn("stream: cannot append to '%s'", path.buf);
	if (fd >= 0)
		close(fd);
	if (r->verbose && line)
		sl_info("stream: %s", line);
	free(line);
	json_decref(o);
	sl_buf_release(&path);
}

/*
 * Runs batch n over files (names in the source): its state from batch
 * n-1, its result into SINK/batch-n, then the commit. The exit status.
 */
static int
stream_batch(cli_coord_rt *rt, stream *s, uint64_t n, const char *offsets,
	     sl_local_cluster *lc)
{
	cli_run *r = s->r;
	sl_buf out = SL_BUF_INIT, in = SL_BUF_INIT, so = SL_BUF_INIT;
	sl_buf err = SL_BUF_INIT, name = SL_BUF_INIT, commit = SL_BUF_INIT;
	sl_buf cdir = SL_BUF_INIT;
	sl_strlist files = { 0 };
	uint64_t t;
	int64_t wm;
	int code = EXIT_JOB;

	if (sl_source_inputs(s->source, n, offsets, &files, &err) != SL_OK) {
		sl_error("%s", err.buf);
		goto out;
	}
	sl_sink_batch_dir(s->sink, n, &out);
	if (n > 1)
		sl_buf_addf(&in, "%s/state/%010llu", s->ck,
			    (unsigned long long)(n - 1));
	sl_buf_addf(&so, "%s/state/%010llu", s->ck, (unsigned long long)n);
	if (sl_mkdirs(so.buf, 0755, &err) != SL_OK) {
		sl_error("%s", err.buf);
		goto out;
	}
	r->inputs = files.v;
	r->ninputs = (uint32_t)files.n;
	r->output = out.buf;
	r->overwrite = true; /* a batch run again replaces its own output */
	r->spec.state_in = in.buf;
	r->spec.state_out = so.buf;
	r->spec.update = r->update;
	r->spec.watermark_ms = s->delay_ms < 0 ? SL_NO_WATERMARK
			       : s->wm == SL_NO_WATERMARK ? SL_WATERMARK_MIN
							  : s->wm;
	if ((code = cli_job(rt, r, lc)) != 0)
		goto out;
	/* The next batch's watermark: the latest event time so far, less
	 * the delay; it never goes back. */
	if (s->delay_ms >= 0 && r->event_ms_max != SL_NO_WATERMARK &&
	    (s->wm == SL_NO_WATERMARK || r->event_ms_max - s->delay_ms > s->wm))
		wm = r->event_ms_max - s->delay_ms;
	else
		wm = s->wm;
	/* The commit: the batch's state and output are in place. */
	sl_buf_addf(&name, "%010llu", (unsigned long long)n);
	if (wm == SL_NO_WATERMARK)
		sl_buf_addstr(&commit, "watermark none\n");
	else
		sl_buf_addf(&commit, "watermark %lld\n", (long long)wm);
	code = EXIT_JOB;
	t = sl_now_ms();
	if (sl_write_file(so.buf, "_SUCCESS", "", 0, &err) != SL_OK ||
	    stream_sink_commit(s, n, &err) != SL_OK) {
		sl_error("%s", err.buf);
		goto out;
	}
	s->sink_ms = sl_now_ms() - t;
	t = sl_now_ms();
	sl_buf_addf(&cdir, "%s/commits", s->ck);
	if (sl_write_file(cdir.buf, name.buf, commit.buf, commit.len,
			  &err) != SL_OK) {
		sl_error("%s", err.buf);
		goto out;
	}
	s->commit_ms = sl_now_ms() - t;
	s->committed = n;
	s->wm = wm;
	sl_buf_reset(&s->last);
	sl_buf_addstr(&s->last, offsets);
	sl_source_done(s->source, n);
	/* Batch n-1's state is not needed once n is committed. */
	if (in.len && sl_rmtree(in.buf, &err) != SL_OK)
		sl_warn("%s", err.buf);
	stream_progress(s, n, files.n, so.buf, offsets);
	sl_info("stream: batch %llu committed: %zu input file(s)",
		(unsigned long long)n, files.n);
	code = 0;
out:
	sl_strlist_release(&files);
	r->inputs = NULL;
	r->ninputs = 0;
	r->output = NULL;
	sl_buf_release(&out);
	sl_buf_release(&in);
	sl_buf_release(&so);
	sl_buf_release(&err);
	sl_buf_release(&name);
	sl_buf_release(&commit);
	sl_buf_release(&cdir);
	r->spec.state_in = "";
	r->spec.state_out = "";
	return code;
}

/* Sleeps ms, or less when a signal comes. */
static void
stream_sleep(int64_t ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* The stream's loop, on a running coordinator and its workers. */
static int
stream_loop(cli_coord_rt *rt, cli_run *r, sl_local_cluster *lc)
{
	stream *s = (stream *)r->stream_state;
	sl_buf err = SL_BUF_INIT, next = SL_BUF_INIT, text = SL_BUF_INIT;
	sl_buf dir = SL_BUF_INIT, name = SL_BUF_INIT;
	uint64_t logged, n, t;
	bool away = false; /* the source failed its last plan */
	int code = EXIT_JOB;

	sl_buf_reset(&s->last);
	if (s->committed &&
	    stream_offsets(s, s->committed, &s->last, &err) != SL_OK)
		goto fail;
	/* The sink holds the last committed batch, whatever the last run's
	 * end was (a file sink's manifest may lag its commit log). */
	if (s->committed && stream_sink_commit(s, s->committed, &err) != SL_OK)
		goto fail;
	/* A batch logged but not committed runs again, as it was. */
	sl_buf_addf(&dir, "%s/offsets", s->ck);
	logged = stream_last_entry(dir.buf);
	if (logged > s->committed) {
		n = s->committed + 1;
		if (stream_offsets(s, n, &next, &err) != SL_OK)
			goto fail;
		sl_info("stream: batch %llu again, as logged",
			(unsigned long long)n);
		if ((code = stream_batch(rt, s, n, next.buf, lc)) != 0)
			goto out;
	}
	code = 0;
	while (!cli_stop) {
		t = sl_now_ms();
		if (sl_source_plan(s->source, s->last.buf, r->max_batch_records,
				   &next, &err) != SL_OK) {
			/* A source that is away may come back: a stream that
			 * runs on waits for it, saying so once. */
			if (s->every_ms == 0)
				goto fail;
			if (!away)
				sl_warn("stream: %s; waiting for it", err.buf);
			away = true;
			sl_buf_reset(&err);
			stream_sleep(s->every_ms);
			continue;
		}
		if (away)
			sl_warn("stream: the source is back");
		away = false;
		if (next.len == 0) {
			if (s->every_ms == 0)
				break; /* once, available-now: all taken */
			stream_sleep(s->every_ms);
			continue;
		}
		/* The batch's offsets, durably, before anything of it runs. */
		n = s->committed + 1;
		sl_buf_reset(&text);
		sl_buf_addf(&text, "%s\n%s", STREAM_FORMAT, next.buf);
		sl_buf_reset(&name);
		sl_buf_addf(&name, "%010llu", (unsigned long long)n);
		if (sl_write_file(dir.buf, name.buf, text.buf, text.len,
				  &err) != SL_OK)
			goto fail;
		s->plan_ms = sl_now_ms() - t;
		if ((code = stream_batch(rt, s, n, next.buf, lc)) != 0 ||
		    s->once)
			break;
		if (s->every_ms)
			stream_sleep(s->every_ms);
	}
	goto out;
fail:
	sl_error("%s", err.buf);
	code = EXIT_JOB;
out:
	sl_buf_release(&err);
	sl_buf_release(&next);
	sl_buf_release(&text);
	sl_buf_release(&dir);
	sl_buf_release(&name);
	return code;
}

int
cli_cmd_stream(int argc, char **argv)
{
	stream s = { .last = SL_BUF_INIT, .lock_fd = -1 };
	sl_buf err = SL_BUF_INIT;
	cli_run r;
	sl_job_ref ref;
	int code;

	cli_parse_run(argc, argv, &r, &ref, CLI_STREAM);
	sl_log_set_level(r.verbose ? SL_LOG_INFO + r.verbose - 1 : SL_LOG_WARN);
	free(r.inputs); /* each batch has its own */
	r.inputs = NULL;
	/* The partitions are the state's: fixed by the checkpoint, so the
	 * default (a partition a worker process) is taken now. */
	if (r.workers == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);

		r.workers = cores > 0 ? (uint32_t)cores : 1;
	}
	if (r.spec.partitions == 0)
		r.spec.partitions = r.workers;
	s.r = &r;
	s.ck = r.checkpoint;
	if (r.job->combine == NULL)
		cli_usage_error("job '%s' has no combine: a stream keeps its "
				"state by folding values", r.job->name);
	s.delay_ms = -1;
	if (r.watermark && strcmp(r.watermark, "0") == 0)
		s.delay_ms = 0;
	else if (r.watermark &&
		 sl_duration_parse(r.watermark, &s.delay_ms) != SL_OK)
		cli_usage_error("--watermark: '%s' is not a delay (as 0, 10s, "
				"5m)", r.watermark);
	if (r.append != (r.watermark != NULL))
		cli_usage_error("--output-mode append and --watermark DELAY go "
				"together: a row is final when the watermark "
				"passes it");
	if (r.append && (strcmp(r.job->name, "wordcount") == 0 ||
			 strcmp(r.job->name, "aggregate") == 0))
		cli_usage_error("%s keeps running totals, which are never "
				"final: --output-mode complete (append is for "
				"windows)", r.job->name);
	if (r.trigger == NULL || strcmp(r.trigger, "available-now") != 0) {
		if (r.trigger && strcmp(r.trigger, "once") == 0)
			s.once = true;
		else if (sl_duration_parse(r.trigger ? r.trigger : "1s",
					   &s.every_ms) != SL_OK)
			cli_usage_error("--trigger: '%s' is not a duration (as "
					"1s, 100ms), once or available-now",
					r.trigger);
	}
	if (sl_mpi_launched()) {
		sl_error("'sluice stream' runs its own workers on this machine; "
			 "under mpirun use 'sluice cluster' (a later version "
			 "takes streams there)");
		code = EXIT_USAGE;
	} else if ((code = sl_mkdirs(s.ck, 0755, &err)) != SL_OK ||
		   /* the URIs are checked before the checkpoint is made */
		   (code = sl_source_open(&s.source, r.source, s.ck, &err)) !=
			   SL_OK ||
		   (code = sl_sink_open(&s.sink, r.sink, s.ck, &err)) != SL_OK ||
		   (code = stream_open(&s, &err)) != SL_OK) {
		sl_error("%s", err.buf);
		code = code == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
	} else {
		signal(SIGPIPE, SIG_IGN);
		cli_catch_signals();
		r.stream_state = &s;
		code = cli_run_local(&r, stream_loop);
		if (code == 0 && cli_stop)
			sl_info("stream: stopped by signal %d after batch %llu",
				(int)cli_stop, (unsigned long long)s.committed);
	}
	sl_sink_close(s.sink);
	sl_source_close(s.source);
	if (s.lock_fd >= 0)
		close(s.lock_fd);
	sl_buf_release(&s.last);
	sl_buf_release(&err);
	sl_job_unload(&ref);
	free(r.opts);
	return code;
}
