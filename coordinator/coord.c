/*
 * coord.c - the coordinator's event loop; see coord.h.
 *
 * A job's life: SUBMIT -> ACCEPTED (queued) -> its turn: inputs and
 * output directory checked (the job's options were checked by its
 * client), splits planned, a scheduler made -> TASK
 * messages as the scheduler decides -> TASK_DONE / COMMIT_REQ fed back ->
 * when every partition committed: _SUCCESS written last, JOB_DONE to the
 * client, JOB_END to the workers (they free the map outputs). On failure
 * the committed parts and the temporary directory are removed, so a
 * failed job never leaves output that looks complete.
 */
#include "coord.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster/loop.h"
#include "cluster/zmsg.h"
#include "common/input.h"
#include "common/proto.h"
#include "store.h"
#include "stream.h"

/*
 * A worker that joined. The table (sl_coord.workers) holds the live ones
 * only, in id order (ids grow and are never reused), at most
 * cfg.max_workers: a lost worker is marked dead where it is found lost
 * and removed by coord_workers_compact() once the event is handled, so
 * that HELLOs from ever-new identities (each one a worker that falls
 * silent) cannot grow the table. Nothing else points into it: a job keeps
 * copies of the shuffle endpoints it needs.
 */
typedef struct coord_worker {
	uint32_t id;            /* from 1 */
	sl_buf peer;            /* ROUTER identity */
	char *name;             /* host:pid */
	uint32_t pid;           /* as its HELLO gave it */
	char *endpoint;         /* shuffle endpoint */
	uint32_t slots;
	uint64_t last_heard_ms;
	uint32_t busy;          /* attempts running, from its heartbeat */
	bool alive;             /* false: lost, to be removed */
} coord_worker;

/* What the successful attempt of a task reported. */
typedef struct coord_task_stats {
	sl_counter *counters;
	uint32_t ncounters;
	size_t counters_alloc;   /* counters allocated */
	uint64_t records_in;
	uint64_t bytes_in;
	uint64_t records_out;
	int64_t event_ms_max;    /* map: its latest event time */
} coord_task_stats;

typedef struct coord_stream coord_stream;

typedef struct coord_job {
	uint64_t id;
	coord_stream *stream;    /* the stream whose batch this is, or NULL:
				    such a job has no client, is not
				    journaled, and its end steps the stream */
	sl_buf client;           /* the submitter's ROUTER identity */
	sl_msg submit;           /* the SUBMIT message (owned) */
	sl_split_list splits;
	sl_sched *sched;
	coord_task_stats *maps;  /* by map index */
	coord_task_stats *reduces; /* by partition */
	/* By map index: its current output (attempt, holder's endpoint, a
	 * copy owned here), as every reduce TASK and the EXCHANGE carry it.
	 * An entry is set when its map succeeds, so all are once the map
	 * stage is done; a map output lost and rerun sets its entry anew
	 * (coord_output_update). */
	sl_map_output *outputs;
	uint64_t submit_ms;      /* when SUBMIT arrived */
	uint64_t start_ms;
	uint64_t maps_done_ms;   /* when every map output was first in
				    place, 0 until then */
	uint64_t submitted_wall_ms; /* the same two on the wall clock, for */
	uint64_t started_wall_ms;   /* clients (ms since the epoch) */
	/* --shuffle mpi */
	bool ex_sent;            /* EXCHANGE went to the workers */
	uint32_t ex_ranks;       /* workers it went to: W */
	uint32_t ex_pending;     /* EXCHANGED still due */
	uint32_t *ex_worker;     /* by worker rank: its worker id */
	struct coord_job *next;  /* queue, then the running list */
} coord_job;

/*
 * A stream (stream.h): its driver, stepped when it is due and when its
 * batch job ends. Its id is a job id; clients see it as a job.
 */
struct coord_stream {
	uint64_t id;
	sl_buf client;           /* the submitter's identity ("" after a
				    restart: nobody waits) */
	sl_msg submit;           /* its SUBMIT (owned) */
	sl_stream *drv;
	uint64_t due_ms;         /* when to step it (monotonic ms);
				    UINT64_MAX while its batch runs */
	uint64_t submitted_wall_ms;
	uint64_t started_wall_ms;
	coord_stream *next;
};

struct sl_coord {
	sl_coord_config cfg;
	void *sock;              /* ROUTER */
	coord_worker *workers;   /* live workers, by id (see coord_worker) */
	uint32_t nworkers;
	uint32_t last_worker_id; /* ids handed out so far */
	size_t walloc;           /* workers allocated */
	coord_job *jobs;         /* running, in the order they started */
	uint32_t njobs;          /* running */
	coord_job *queue;        /* waiting, in order */
	coord_stream *streams;   /* running, in the order submitted */
	sl_job_info *history;    /* jobs that ended, oldest first, at most
				    COORD_HISTORY (strings owned) */
	size_t nhistory;
	size_t halloc;
	uint64_t next_job_id;
	sl_loop *loop;           /* its event loop (sl_coord_run) */
	int due_timer;           /* loop timer at the scheduler's next due */
	bool stop;
	sl_buf stopper;          /* the client whose SHUTDOWN stopped it */
	sl_store *store;         /* the job store, or NULL (sluice run) */
	bool stopping;           /* sl_coord_run is ending: no journaling */
};

#define COORD_HISTORY 1000 /* ended jobs a coordinator tells clients of */
#define COORD_MAX_RUNNING 64 /* jobs at once, whatever max_running says */

static uint64_t
coord_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
sl_coord_config_default(sl_coord_config *cfg)
{
	cfg->heartbeat_ms = 500;
	cfg->timeout_ms = 10000;
	cfg->join_timeout_ms = 30000;
	cfg->max_workers = SL_COORD_MAX_WORKERS;
	cfg->stop = NULL;
	cfg->state_dir = NULL;
	cfg->max_running = 4;
	sl_sched_config_default(&cfg->sched);
}

/* --- sending ------------------------------------------------------------- */

static int
coord_send(sl_coord *c, const sl_buf *peer, const sl_msg *m)
{
	int rv = sl_zsend(c->sock, peer, m, NULL, 0);

	if (rv != SL_OK)
		sl_debug("coordinator: cannot send %s: %s",
			 sl_msg_type_name(m->type), sl_strerror(rv));
	return rv;
}

static int
coord_send_simple(sl_coord *c, const sl_buf *peer, int type, uint64_t job)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	m.u.job_end.job = job;
	return coord_send(c, peer, &m);
}

/* The live worker of this id, or NULL. */
static coord_worker *
coord_worker_of(sl_coord *c, uint32_t id)
{
	uint32_t lo = 0, hi = c->nworkers, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->workers[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->nworkers && c->workers[lo].id == id &&
	    c->workers[lo].alive)
		return &c->workers[lo];
	return NULL;
}

static void coord_worker_lost(sl_coord *c, coord_worker *w, const char *why);

/*
 * Sends m to a worker. A worker whose connection is gone, or whose queue
 * is full because it stopped reading (sends never block the loop), is
 * lost: it cannot take part any more.
 */
static int
coord_send_worker(sl_coord *c, coord_worker *w, const sl_msg *m)
{
	int rv = coord_send(c, &w->peer, m);

	if (rv == SL_ELOST)
		coord_worker_lost(c, w, "connection closed or not reading");
	return rv;
}

static void
coord_send_attempt(sl_coord *c, uint32_t worker, int type, uint64_t job,
		   uint8_t kind, uint32_t task, uint32_t attempt)
{
	coord_worker *w = coord_worker_of(c, worker);
	sl_msg m;

	if (w == NULL)
		return;
	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	m.u.kill.id = (sl_attempt_id){ job, kind, task, attempt };
	coord_send_worker(c, w, &m);
}

/* --- output directory ---------------------------------------------------- */

static int
coord_path(sl_buf *b, const char *dir, const char *name)
{
	sl_buf_reset(b);
	return sl_buf_addf(b, "%s/%s", dir, name);
}

/* Removes DIR/_temporary (one level: it holds only attempt files). */
static void
coord_rm_temporary(const char *dir)
{
	sl_buf p = SL_BUF_INIT, err = SL_BUF_INIT;

	coord_path(&p, dir, "_temporary");
	if (sl_rmtree(p.buf, &err) != SL_OK)
		sl_warn("%s", err.buf);
	sl_buf_release(&p);
	sl_buf_release(&err);
}

/* Whether name is exactly "part-" and five digits (sscanf's %u would take
 * "part-+0001" or "part- 0001" too). */
static bool
coord_is_part_name(const char *name)
{
	return strncmp(name, "part-", 5) == 0 &&
	       strspn(name + 5, "0123456789") == 5 && name[10] == '\0';
}

/* Removes part-NNNNN files and _SUCCESS: never any other file. */
static void
coord_rm_parts(const char *dir)
{
	sl_buf f = SL_BUF_INIT;
	struct dirent *de;
	DIR *d;

	coord_path(&f, dir, "_SUCCESS");
	unlink(f.buf);
	if ((d = opendir(dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (!coord_is_part_name(de->d_name))
				continue;
			coord_path(&f, dir, de->d_name);
			unlink(f.buf);
		}
		closedir(d);
	}
	sl_buf_release(&f);
}

/*
 * Refuses an output directory that holds an input file: preparing it
 * removes part files and _temporary, and the job's output would be read
 * as its input. Compared by real path (symbolic links resolved), and by
 * device and inode for the part files that would be removed (a hard link
 * to an input). An output directory that does not exist yet holds nothing.
 */
static int
coord_check_inputs(const char *dir, const sl_strlist *files, sl_buf *err)
{
	char *real = realpath(dir, NULL), *f = NULL;
	struct stat *parts = NULL, st;
	size_t i, k, nparts = 0, alloc = 0, len;
	struct dirent *de;
	DIR *d;
	int rv = SL_OK;

	if (real == NULL)
		return SL_OK;
	len = strlen(real);
	if ((d = opendir(real)) != NULL) {
		while ((de = readdir(d)) != NULL && rv == SL_OK)
			if (coord_is_part_name(de->d_name) &&
			    fstatat(dirfd(d), de->d_name, &st, 0) == 0 &&
			    (rv = sl_array_grow(&parts, &alloc, nparts + 1,
						sizeof(*parts))) == SL_OK)
				parts[nparts++] = st;
		closedir(d);
	}
	for (i = 0; i < files->n && rv == SL_OK; i++) {
		if ((f = realpath(files->v[i], NULL)) == NULL ||
		    stat(f, &st) != 0) {
			free(f);
			continue; /* planning says why it cannot be read */
		}
		if (strncmp(f, real, len) == 0 &&
		    (f[len] == '/' || (len == 1 && real[0] == '/')))
			rv = SL_EUSAGE;
		for (k = 0; k < nparts; k++)
			if (parts[k].st_dev == st.st_dev &&
			    parts[k].st_ino == st.st_ino)
				rv = SL_EUSAGE;
		free(f);
		if (rv != SL_OK)
			sl_buf_addf(err, "output directory '%s' holds the input "
				    "file '%s': choose another output "
				    "directory", dir, files->v[i]);
	}
	free(real);
	free(parts);
	return rv;
}

/*
 * Makes the output directory ready: refuses a complete output unless
 * overwrite, removes what an earlier run left, creates _temporary.
 */
static int
coord_prepare_output(const sl_msg *s, sl_buf *err)
{
	const char *dir = s->u.submit.output_dir;
	sl_buf p = SL_BUF_INIT;
	struct stat st;
	int rv = SL_OK;

	coord_path(&p, dir, "_SUCCESS");
	if (stat(p.buf, &st) == 0 && !s->u.submit.overwrite) {
		sl_buf_addf(err, "output directory '%s' already holds a "
			    "complete output (_SUCCESS); use --overwrite to "
			    "replace it", dir);
		rv = SL_EUSAGE;
		goto out;
	}
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
		sl_buf_addf(err, "output '%s' is not a directory", dir);
		rv = SL_EUSAGE;
		goto out;
	}
	if ((rv = sl_mkdirs(dir, 0755, err)) != SL_OK)
		goto out;
	coord_rm_parts(dir);
	coord_rm_temporary(dir);
	coord_path(&p, dir, "_temporary");
	if (mkdir(p.buf, 0755) != 0) {
		sl_buf_addf(err, "cannot create directory '%s': %s", p.buf,
			    strerror(errno));
		rv = SL_EIO;
	}
out:
	sl_buf_release(&p);
	return rv;
}

static int
coord_write_success(const char *dir, sl_buf *err)
{
	sl_buf p = SL_BUF_INIT;
	int fd, rv = SL_OK;

	coord_path(&p, dir, "_SUCCESS");
	fd = open(p.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || close(fd) != 0) {
		sl_buf_addf(err, "cannot create '%s': %s", p.buf,
			    strerror(errno));
		rv = SL_EIO;
	}
	sl_buf_release(&p);
	return rv;
}

/* --- jobs ---------------------------------------------------------------- */

static void
coord_stats_release(coord_task_stats *s)
{
	uint32_t i;

	for (i = 0; i < s->ncounters; i++)
		free(s->counters[i].name);
	free(s->counters);
	memset(s, 0, sizeof(*s));
}

static void
coord_job_free(coord_job *j)
{
	size_t i, nmaps;

	if (j == NULL)
		return;
	nmaps = j->splits.n;
	for (i = 0; j->maps && i < nmaps; i++)
		coord_stats_release(&j->maps[i]);
	for (i = 0; j->reduces && i < j->submit.u.submit.spec.partitions; i++)
		coord_stats_release(&j->reduces[i]);
	for (i = 0; j->outputs && i < nmaps; i++)
		free(j->outputs[i].endpoint);
	free(j->maps);
	free(j->reduces);
	free(j->outputs);
	free(j->ex_worker);
	sl_sched_free(j->sched);
	sl_split_list_release(&j->splits);
	sl_msg_release(&j->submit);
	sl_buf_release(&j->client);
	free(j);
}

/*
 * Adds the counters of src into dst's (by name). The list is capped
 * (SL_COUNTERS_MAX): counters come from the network.
 */
static int
coord_counters_add(coord_task_stats *dst, const sl_counter *src,
		   uint32_t nsrc)
{
	uint32_t i;
	int rv = SL_OK;

	for (i = 0; i < nsrc && rv == SL_OK; i++)
		rv = sl_counters_add(&dst->counters, &dst->ncounters,
				     &dst->counters_alloc, src[i].name,
				     src[i].value);
	return rv;
}

/* The job's counters, summed over its tasks done (none for a queued job). */
static void
coord_job_counters(const coord_job *j, coord_task_stats *total)
{
	uint32_t i;

	for (i = 0; j->maps && i < j->splits.n; i++)
		coord_counters_add(total, j->maps[i].counters,
				   j->maps[i].ncounters);
	for (i = 0; j->reduces && i < j->submit.u.submit.spec.partitions; i++)
		coord_counters_add(total, j->reduces[i].counters,
				   j->reduces[i].ncounters);
}

/* The JOB_DONE of a job, with the figures of j when it succeeded (the
 * counters in total, to release; the rest borrowed). */
static void
coord_done_msg(uint64_t job, int status, const char *error,
	       const coord_job *j, coord_task_stats *total, sl_msg *out)
{
	sl_msg m;
	uint32_t i;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_JOB_DONE;
	m.u.job_done.job = job;
	m.u.job_done.status = status;
	m.u.job_done.error = (char *)error;
	m.u.job_done.event_ms_max = SL_NO_WATERMARK;
	if (j && status == SL_OK) {
		uint32_t r = j->submit.u.submit.spec.partitions;

		m.u.job_done.maps = (uint32_t)j->splits.n;
		m.u.job_done.reduces = r;
		for (i = 0; i < j->splits.n; i++) {
			m.u.job_done.bytes_in += j->maps[i].bytes_in;
			m.u.job_done.records_in += j->maps[i].records_in;
			if (j->maps[i].event_ms_max > m.u.job_done.event_ms_max)
				m.u.job_done.event_ms_max =
					j->maps[i].event_ms_max;
		}
		for (i = 0; i < r; i++)
			m.u.job_done.records_out += j->reduces[i].records_out;
		coord_job_counters(j, total);
		uint64_t end = sl_now_ms(), mid = j->maps_done_ms
						       ? j->maps_done_ms
						       : j->start_ms;

		m.u.job_done.elapsed_ms = end - j->start_ms;
		m.u.job_done.map_ms = mid - j->start_ms;
		m.u.job_done.reduce_ms = end - mid;
	}
	m.u.job_done.counters = total->counters;
	m.u.job_done.ncounters = total->ncounters;
	*out = m;
}

/* Sends JOB_DONE to the submitter. */
static void
coord_reply_done(sl_coord *c, const sl_buf *client, uint64_t job, int status,
		 const char *error, const coord_job *j)
{
	coord_task_stats total = { 0 }; /* only its counters are used */
	sl_msg m;

	coord_done_msg(job, status, error, j, &total, &m);
	coord_send(c, client, &m);
	coord_stats_release(&total);
}

static void coord_stream_step(sl_coord *c, coord_stream *s,
			      const sl_msg *done);

/*
 * Job j ended (j's figures given when it ran): its submitter is told, and
 * it is journaled; or, a stream's batch, its stream is stepped (not when
 * the coordinator is stopping: the stream stops with it).
 */
static void coord_job_ended(sl_coord *c, const coord_job *j, uint8_t state,
			    const char *error);

static void
coord_job_report(sl_coord *c, coord_job *j, int status, const char *error,
		 bool ran)
{
	coord_task_stats total = { 0 }; /* only its counters are used */
	sl_msg m;

	if (j->stream == NULL) {
		coord_job_ended(c, j,
				status == SL_OK		? SL_JOB_SUCCEEDED
				: status == SL_ECANCELED ? SL_JOB_CANCELED
							 : SL_JOB_FAILED,
				status == SL_OK ? "" : error);
		coord_reply_done(c, &j->client, j->id, status, error,
				 ran ? j : NULL);
		return;
	}
	if (c->stopping)
		return;
	coord_done_msg(j->id, status, error, ran ? j : NULL, &total, &m);
	coord_stream_step(c, j->stream, &m);
	coord_stats_release(&total);
}

/* A simple message (JOB_END, SHUTDOWN) to every live worker. */
static void
coord_send_all(sl_coord *c, int type, uint64_t job)
{
	uint32_t i;
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	m.u.job_end.job = job;
	for (i = 0; i < c->nworkers; i++)
		if (c->workers[i].alive)
			coord_send_worker(c, &c->workers[i], &m);
}

static bool
coord_mpi_shuffle(const coord_job *j)
{
	return j->submit.u.submit.spec.shuffle == SL_SHUFFLE_MPI;
}

static uint32_t
coord_alive(const sl_coord *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->nworkers; i++)
		n += c->workers[i].alive;
	return n;
}

/*
 * What clients are told of job j in state `state` (strings borrowed from
 * j; error "" unless given).
 */
static void
coord_job_info(const coord_job *j, uint8_t state, const char *error,
	       sl_job_info *out)
{
	const sl_msg *s = &j->submit;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->id = j->id;
	out->job = s->u.submit.spec.job;
	out->state = state;
	out->submitted_ms = j->submitted_wall_ms;
	out->started_ms = j->started_wall_ms;
	out->reduces = s->u.submit.spec.partitions;
	out->output_dir = s->u.submit.output_dir;
	out->error = (char *)(error ? error : "");
	if (j->sched == NULL)
		return;
	out->maps = (uint32_t)j->splits.n;
	sl_sched_progress(j->sched, &out->maps_done, &out->reduces_done);
	for (i = 0; i < j->splits.n; i++)
		out->bytes_in += j->maps[i].bytes_in;
}

static void
coord_info_release(sl_job_info *info)
{
	free(info->job);
	free(info->output_dir);
	free(info->error);
	free(info->progress);
}

/* Keeps a copy of info, what clients may still ask of a job that ended. */
static void
coord_history_push(sl_coord *c, const sl_job_info *in)
{
	sl_job_info info = *in;

	info.job = strdup(in->job);
	info.output_dir = strdup(in->output_dir);
	info.error = strdup(in->error);
	info.progress = strdup(in->progress ? in->progress : "");
	if (!info.job || !info.output_dir || !info.error || !info.progress ||
	    (c->nhistory == COORD_HISTORY ? SL_OK
	     : sl_array_grow(&c->history, &c->halloc, c->nhistory + 1,
			     sizeof(*c->history))) != SL_OK) {
		coord_info_release(&info);
		sl_warn("coordinator: out of memory for the history of job "
			"%llu", (unsigned long long)in->id);
		return;
	}
	if (c->nhistory == COORD_HISTORY) {
		coord_info_release(&c->history[0]);
		memmove(c->history, c->history + 1,
			(c->nhistory - 1) * sizeof(*c->history));
		c->nhistory--;
	}
	c->history[c->nhistory++] = info;
}

/* Writes a job's info to the store, if there is one; a failure is
 * logged: the job goes on, but would not survive a restart as it is. */
static void
coord_journal(sl_coord *c, const sl_job_info *info)
{
	sl_buf err = SL_BUF_INIT;

	if (c->store && sl_store_update(c->store, info, &err) != SL_OK)
		sl_warn("%s", err.buf);
	sl_buf_release(&err);
}

/* The page of the attempt log being made (coord_log_page). */
typedef struct coord_log {
	const coord_job *j;
	sl_attempt_info *v;      /* room for max */
	size_t n;
	size_t max;
} coord_log;

/* A time of j's scheduler (monotonic ms) on the wall clock. */
static uint64_t
coord_job_wall_ms(const coord_job *j, uint64_t t)
{
	if (t == 0)
		return 0;
	return j->started_wall_ms + (t > j->start_ms ? t - j->start_ms : 0);
}

static int
coord_log_one(void *arg, const sl_sched_attempt *a)
{
	coord_log *l = arg;

	if (l->n == l->max)
		return 1;
	l->v[l->n++] = (sl_attempt_info){
		.kind = a->kind,
		.task = a->task,
		.attempt = a->attempt,
		.worker = a->worker,
		.started_ms = coord_job_wall_ms(l->j, a->start_ms),
		.ended_ms = coord_job_wall_ms(l->j, a->end_ms),
		.state = a->state,
		.speculative = a->speculative,
		.error = (char *)a->error, /* the scheduler's, borrowed */
	};
	return 0;
}

/*
 * At most max attempts of the log of running job j from the from-th:
 * SL_OK and *out (free() it; the errors are borrowed from the scheduler,
 * valid until its next event) and *n; SL_ENOMEM.
 */
static int
coord_log_page(const coord_job *j, uint64_t from, size_t max,
	       sl_attempt_info **out, size_t *n)
{
	uint64_t total = sl_sched_attempts(j->sched);
	coord_log l = { .j = j };

	l.max = from < total ? (total - from < max ? total - from : max) : 0;
	if ((l.v = calloc(l.max ? l.max : 1, sizeof(*l.v))) == NULL)
		return SL_ENOMEM;
	sl_sched_attempt_each(j->sched, from, coord_log_one, &l);
	*out = l.v;
	*n = l.n;
	return SL_OK;
}

/*
 * Job j ended in state `state`: journaled with its attempt log and
 * counters, and kept for clients. A log that cannot be made is left out:
 * the job's end is what must be journaled.
 */
static void
coord_job_ended(sl_coord *c, const coord_job *j, uint8_t state,
		const char *error)
{
	coord_task_stats total = { 0 }; /* only its counters are used */
	sl_attempt_info *v = NULL;
	sl_buf err = SL_BUF_INIT;
	sl_job_info info;
	size_t n = 0, i;

	coord_job_info(j, state, error, &info);
	info.ended_ms = coord_wall_ms();
	if (c->store && !c->stopping) {
		if (j->sched)
			coord_log_page(j, 0, SIZE_MAX, &v, &n);
		for (i = 0; i < n; i++) /* killed as the job ends */
			if (v[i].state == SL_ATTEMPT_RUNNING) {
				v[i].state = SL_ATTEMPT_ABORTED;
				v[i].ended_ms = info.ended_ms;
				v[i].error = "killed: the job ended";
			}
		coord_job_counters(j, &total);
		if (sl_store_end(c->store, &info, v, n, total.counters,
				 total.ncounters, &err) != SL_OK)
			sl_warn("%s", err.buf);
	}
	free(v);
	coord_stats_release(&total);
	sl_buf_release(&err);
	coord_history_push(c, &info);
}

/* Takes j off the running list. */
static void
coord_job_unlink(sl_coord *c, coord_job *j)
{
	coord_job **pp;

	for (pp = &c->jobs; *pp && *pp != j; pp = &(*pp)->next)
		;
	if (*pp) {
		*pp = j->next;
		c->njobs--;
	}
	j->next = NULL;
}

/* The running job whose id this is, or NULL. */
static coord_job *
coord_running(const sl_coord *c, uint64_t id)
{
	coord_job *j;

	for (j = c->jobs; j && j->id != id; j = j->next)
		;
	return j;
}

/* Running job j ended (success, failure, cancel): report and clean up. */
static void
coord_job_finish(sl_coord *c, coord_job *j, int status, const char *error)
{
	const char *dir = j->submit.u.submit.output_dir;
	sl_buf err = SL_BUF_INIT;

	coord_send_all(c, SL_MSG_JOB_END, j->id);
	coord_rm_temporary(dir);
	if (status == SL_OK &&
	    (status = coord_write_success(dir, &err)) != SL_OK)
		error = err.buf;
	if (status != SL_OK)
		coord_rm_parts(dir);
	sl_info("job %llu %s", (unsigned long long)j->id,
		status == SL_OK ? "succeeded"
		: status == SL_ECANCELED ? "canceled" : "failed");
	coord_job_unlink(c, j);
	coord_job_report(c, j, status, status == SL_OK ? "" : error, true);
	coord_job_free(j);
	sl_buf_release(&err);
}

/*
 * Map `map` reported success on worker w: its entry of j->outputs takes
 * the output the scheduler now points at (a late copy that lost leaves it
 * as it was), with a copy of the holder's endpoint.
 */
static int
coord_output_update(coord_job *j, const coord_worker *w, uint32_t map)
{
	uint32_t holder, att;
	char *ep;

	if (sl_sched_map_location(j->sched, map, &holder, &att) != SL_OK ||
	    holder != w->id)
		return SL_OK;
	if ((ep = strdup(w->endpoint)) == NULL)
		return SL_ENOMEM;
	free(j->outputs[map].endpoint);
	j->outputs[map] = (sl_map_output){ map, att, ep };
	return SL_OK;
}

/*
 * Tells job j's scheduler what it may hold of each worker now: what it
 * holds there, plus the slots no job holds.
 */
static void
coord_capacity(sl_coord *c, coord_job *j)
{
	const coord_job *k;
	uint32_t i, used;

	for (i = 0; i < c->nworkers; i++) {
		const coord_worker *w = &c->workers[i];

		if (!w->alive)
			continue;
		for (used = 0, k = c->jobs; k; k = k->next)
			used += sl_sched_worker_used(k->sched, w->id);
		sl_sched_worker_capacity(j->sched, w->id,
					 (used < w->slots ? w->slots - used
							  : 0) +
						 sl_sched_worker_used(j->sched,
								      w->id));
	}
}

/* Sends the TASK of job j's next assignment, if its scheduler has one
 * within its capacity: 1, else 0. */
static int
coord_dispatch_one(sl_coord *c, coord_job *j, uint64_t now)
{
	const sl_msg *s = &j->submit;
	sl_map_output *local = NULL; /* --shuffle mpi: outputs read locally */
	coord_worker *cw;
	sl_assign a;
	sl_msg m;
	uint32_t i;
	int rv;

	if (sl_sched_next(j->sched, now, &a) != 1)
		return 0;
	if ((cw = coord_worker_of(c, a.worker)) == NULL) {
		/* the scheduler has only live workers: a bug */
		sl_sched_fail(j->sched, "internal error: a task went "
			      "to a worker that is gone");
		return 0;
	}

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TASK;
	m.u.task.id = (sl_attempt_id){ j->id, a.kind, a.task,
				       a.attempt };
	m.u.task.spec = s->u.submit.spec;
	m.u.task.output_dir = s->u.submit.output_dir;
	m.u.task.path = "";
	if (a.kind == SL_TASK_MAP) {
		m.u.task.path = j->splits.v[a.task].path;
		m.u.task.start = j->splits.v[a.task].start;
		m.u.task.end = j->splits.v[a.task].end;
	} else {
		/* Reduces start only once every map is done, so
		 * every entry is set. MPI shuffle: the reducer's own
		 * worker holds its exchanged inputs (the endpoints
		 * are borrowed for the send). */
		m.u.task.maps = j->outputs;
		m.u.task.nmaps = (uint32_t)j->splits.n;
		if (coord_mpi_shuffle(j) &&
		    (local = calloc(j->splits.n ? j->splits.n : 1,
				    sizeof(*local))) == NULL) {
			sl_sched_fail(j->sched, "out of memory");
			return 0;
		}
		for (i = 0; local && i < j->splits.n; i++)
			local[i] = (sl_map_output){
				i, j->outputs[i].attempt,
				cw->endpoint };
		if (local)
			m.u.task.maps = local;
	}
	sl_debug("job %llu: %s task %u attempt %u -> worker %u (%s)%s",
		 (unsigned long long)j->id,
		 a.kind == SL_TASK_MAP ? "map" : "reduce", a.task,
		 a.attempt, a.worker, cw->name,
		 a.speculative ? " speculative" : "");
	rv = coord_send_worker(c, cw, &m);
	if (rv != SL_OK && rv != SL_ELOST)
		sl_sched_attempt_done(j->sched, a.kind, a.task,
				      a.attempt, rv, true,
				      "cannot send the task to its "
				      "worker", now);
	free(local);
	return 1;
}

/*
 * Sends the kills every scheduler asks for, then the TASKs: slot by slot,
 * to the job the fair-share rule picks (sl_share_pick: the fewest running
 * attempts first), until no job has an attempt to start in the slots left.
 */
static void
coord_dispatch(sl_coord *c)
{
	uint32_t running[COORD_MAX_RUNNING], n = 0, i;
	bool wanting[COORD_MAX_RUNNING];
	coord_job *v[COORD_MAX_RUNNING], *j;
	uint64_t now = sl_now_ms();
	sl_assign a;
	size_t pick;

	for (j = c->jobs; j && n < COORD_MAX_RUNNING; j = j->next) {
		while (sl_sched_next_kill(j->sched, &a) == 1)
			coord_send_attempt(c, a.worker, SL_MSG_KILL, j->id,
					   a.kind, a.task, a.attempt);
		v[n] = j;
		running[n] = sl_sched_running(j->sched);
		wanting[n++] = sl_sched_state_of(j->sched) ==
			       SL_SCHED_RUNNING;
	}
	while ((pick = sl_share_pick(running, wanting, n)) < n) {
		coord_capacity(c, v[pick]);
		if (coord_dispatch_one(c, v[pick], now))
			running[pick]++;
		else
			wanting[pick] = false;
		for (i = 0; i < n; i++) /* a send may have lost a worker */
			if (sl_sched_state_of(v[i]->sched) != SL_SCHED_RUNNING)
				wanting[i] = false;
	}
}

/*
 * --shuffle mpi, every map done: EXCHANGE to every worker, naming the
 * output (attempt, holder) of each map. The reduces stay held until every
 * worker has answered.
 */
static void
coord_exchange_start(sl_coord *c, coord_job *j)
{
	uint32_t i;
	sl_msg m;

	j->ex_ranks = coord_alive(c);
	j->ex_worker = calloc(j->ex_ranks ? j->ex_ranks : 1,
			      sizeof(*j->ex_worker));
	if (j->ex_worker == NULL) {
		sl_sched_fail(j->sched, "out of memory");
		return;
	}
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_EXCHANGE;
	m.u.exchange.job = j->id;
	m.u.exchange.partitions = j->submit.u.submit.spec.partitions;
	m.u.exchange.maps = j->outputs; /* every map is done: all set */
	m.u.exchange.nmaps = (uint32_t)j->splits.n;
	for (i = 0; i < c->nworkers; i++)
		if (c->workers[i].alive &&
		    coord_send_worker(c, &c->workers[i], &m) != SL_OK) {
			sl_sched_fail(j->sched, "cannot send EXCHANGE to a "
				      "worker");
			return;
		}
	j->ex_sent = true;
	j->ex_pending = j->ex_ranks;
	sl_info("job %llu: exchanging map outputs among %u worker ranks",
		(unsigned long long)j->id, j->ex_ranks);
}

/* A worker's EXCHANGED: its rank; the last one releases the reduces. */
static void
coord_on_exchanged(sl_coord *c, coord_worker *w, const sl_msg *m)
{
	coord_job *j = coord_running(c, m->u.exchanged.job);
	uint32_t rank = m->u.exchanged.rank, r;
	sl_buf why = SL_BUF_INIT;

	if (j == NULL || !j->ex_sent || j->ex_pending == 0)
		return;
	if (m->u.exchanged.status != SL_OK)
		sl_buf_addf(&why, "exchange of map outputs failed on worker "
			    "%u (%s): %s", w->id, w->name,
			    m->u.exchanged.error);
	else if (m->u.exchanged.ranks != j->ex_ranks ||
		 rank >= j->ex_ranks || j->ex_worker[rank] != 0)
		sl_buf_addf(&why, "worker %u (%s) is rank %u of %u in the "
			    "exchange, but %u workers took part", w->id,
			    w->name, rank, m->u.exchanged.ranks, j->ex_ranks);
	if (why.len) {
		sl_sched_fail(j->sched, why.buf);
		sl_buf_release(&why);
		return;
	}
	j->ex_worker[rank] = w->id;
	if (--j->ex_pending > 0)
		return;
	for (r = 0; r < j->submit.u.submit.spec.partitions; r++)
		if (sl_sched_pin_reduce(j->sched, r,
					j->ex_worker[r % j->ex_ranks]) != SL_OK) {
			sl_sched_fail(j->sched, "out of memory");
			return;
		}
	sl_sched_hold_reduces(j->sched, false);
	sl_info("job %llu: map outputs exchanged", (unsigned long long)j->id);
}

static int coord_start_next(sl_coord *c);
static int coord_streams_due(sl_coord *c);

/*
 * After an event: kills and new attempts go out, an MPI exchange starts
 * once its job's maps are done, jobs that ended are finished, and queued
 * jobs are admitted into the slots that freed; again until nothing
 * changes.
 */
static void
coord_progress(sl_coord *c)
{
	sl_buf msg = SL_BUF_INIT;
	coord_job *j, *next;
	bool again;

	do {
		again = false;
		coord_dispatch(c);
		for (j = c->jobs; j; j = j->next)
			if (coord_mpi_shuffle(j) && !j->ex_sent &&
			    sl_sched_state_of(j->sched) == SL_SCHED_RUNNING &&
			    sl_sched_maps_done(j->sched)) {
				coord_exchange_start(c, j);
				again = true; /* kills, if it failed */
			}
		for (j = c->jobs; j; j = next) {
			next = j->next;
			switch (sl_sched_state_of(j->sched)) {
			case SL_SCHED_SUCCEEDED:
				coord_job_finish(c, j, SL_OK, "");
				again = true;
				break;
			case SL_SCHED_FAILED:
				sl_buf_reset(&msg);
				sl_sched_failure(j->sched, &msg);
				coord_job_finish(c, j, SL_EJOB, msg.buf);
				again = true;
				break;
			default:
				break;
			}
		}
		if (coord_streams_due(c) > 0)
			again = true;
		if (coord_start_next(c) > 0)
			again = true;
	} while (again);
	sl_buf_release(&msg);
}

/*
 * The input files of SUBMIT s, into files: its inputs expanded (files,
 * directories, globs); or, when it gives ranges (a stream's batch, each
 * a part of one file), its inputs as they are, one a range, in order.
 */
static int
coord_job_inputs(const sl_msg *s, sl_strlist *files, sl_buf *err)
{
	uint32_t i;
	int rv = SL_OK;

	if (s->u.submit.nranges == 0) {
		rv = sl_input_expand(s->u.submit.inputs, s->u.submit.ninputs,
				     files, err);
		/* a missing input is found before anything runs: a usage
		 * error, like a bad option */
		return rv == SL_ENOTFOUND ? SL_EUSAGE : rv;
	}
	if (s->u.submit.nranges != s->u.submit.ninputs) {
		sl_buf_addf(err, "a job of %u inputs with %u ranges: one a "
			    "file, or none", s->u.submit.ninputs,
			    s->u.submit.nranges);
		return SL_EUSAGE;
	}
	for (i = 0; i < s->u.submit.ninputs && rv == SL_OK; i++)
		rv = sl_strlist_add(files, s->u.submit.inputs[i]);
	return rv;
}

/* Plans and starts a queued job; refuses it (JOB_DONE) when it cannot. */
static int
coord_job_start(sl_coord *c, coord_job *j, sl_buf *err)
{
	const sl_msg *s = &j->submit;
	sl_strlist files = { 0 };
	sl_sched_config sched;
	uint32_t r = s->u.submit.spec.partitions, i;
	int rv;

	/* The job's options were checked by the client that submitted it
	 * (its check() is user code: a crash there must cost only that
	 * submission, not the coordinator); a task whose job refuses them
	 * fails on its worker. */
	if ((rv = coord_job_inputs(s, &files, err)) != SL_OK)
		goto out;
	if ((rv = coord_check_inputs(s->u.submit.output_dir, &files,
				     err)) != SL_OK)
		goto out;
	if ((rv = sl_input_plan(&files, s->u.submit.nranges ?
					s->u.submit.ranges : NULL,
				s->u.submit.split_size, &j->splits,
				err)) != SL_OK)
		goto out;
	/* Each reduce TASK lists every map output, in one array field. */
	if (j->splits.n > SL_PROTO_MAX_ITEMS) {
		sl_buf_addf(err, "the input makes %zu map tasks, more than "
			    "the %u a job may have: use a larger --split-size",
			    j->splits.n, (unsigned)SL_PROTO_MAX_ITEMS);
		rv = SL_EUSAGE;
		goto out;
	}
	if ((rv = coord_prepare_output(s, err)) != SL_OK)
		goto out;
	j->maps = calloc(j->splits.n ? j->splits.n : 1, sizeof(*j->maps));
	j->reduces = calloc(r, sizeof(*j->reduces));
	j->outputs = calloc(j->splits.n ? j->splits.n : 1,
			    sizeof(*j->outputs));
	if (!j->maps || !j->reduces || !j->outputs) {
		rv = SL_ENOMEM;
		goto out;
	}
	sched = c->cfg.sched;
	sched.max_attempts = s->u.submit.spec.max_attempts;
	if ((rv = sl_sched_new(&j->sched, (uint32_t)j->splits.n, r,
			       &sched)) != SL_OK)
		goto out;
	sl_sched_hold_reduces(j->sched, coord_mpi_shuffle(j));
	for (i = 0; i < c->nworkers; i++)
		if (c->workers[i].alive &&
		    (rv = sl_sched_worker_add(j->sched, c->workers[i].id,
					      c->workers[i].slots)) != SL_OK)
			goto out;
	j->start_ms = sl_now_ms();
	j->started_wall_ms = coord_wall_ms();
	if (j->submit.u.submit.spec.batch_ms == 0) /* its processing time */
		j->submit.u.submit.spec.batch_ms = (int64_t)j->started_wall_ms;
	sl_info("job %llu: %zu map tasks, %u reduce tasks",
		(unsigned long long)j->id, j->splits.n, r);
out:
	sl_strlist_release(&files);
	return rv;
}

/*
 * Admits queued jobs, in submission order, while fewer than max_running
 * run: each gets a scheduler over every worker, and the fair-share rule
 * of coord_dispatch gives it its slots. A --shuffle mpi job runs alone:
 * its collective spans every worker rank. Returns how many started.
 */
static int
coord_start_next(sl_coord *c)
{
	sl_buf err = SL_BUF_INIT;
	sl_job_info info;
	coord_job *j, **tail;
	int rv, started = 0;

	while ((j = c->queue) != NULL && c->njobs < c->cfg.max_running &&
	       c->njobs < COORD_MAX_RUNNING &&
	       !(c->jobs && (coord_mpi_shuffle(j) ||
			     coord_mpi_shuffle(c->jobs)))) {
		uint32_t want = j->submit.u.submit.min_workers;
		uint32_t alive = coord_alive(c);

		sl_buf_reset(&err);
		if (alive < want &&
		    sl_now_ms() - j->submit_ms < c->cfg.join_timeout_ms)
			break; /* wait: coord_tick and HELLO call again */
		c->queue = j->next;
		if (alive < want) {
			rv = SL_ETIMEOUT;
			sl_buf_addf(&err, "only %u of %u workers joined within "
				    "%u ms", alive, want,
				    c->cfg.join_timeout_ms);
		} else {
			rv = coord_job_start(c, j, &err);
		}
		if (rv != SL_OK) {
			if (err.len == 0)
				sl_buf_addstr(&err, sl_strerror(rv));
			coord_job_report(c, j, rv, err.buf, false);
			coord_job_free(j);
			continue;
		}
		for (tail = &c->jobs; *tail; tail = &(*tail)->next)
			;
		j->next = NULL;
		*tail = j;
		c->njobs++;
		started++;
		if (j->stream)
			continue;
		coord_job_info(j, SL_JOB_RUNNING, NULL, &info);
		coord_journal(c, &info);
	}
	sl_buf_release(&err);
	return started;
}

/* --- streams ------------------------------------------------------------ */

/* What clients are told of stream s (strings borrowed from s). */
static void
coord_stream_info(const coord_stream *s, uint8_t state, const char *error,
		  sl_job_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = s->id;
	out->job = s->submit.u.submit.spec.job;
	out->state = state;
	out->submitted_ms = s->submitted_wall_ms;
	out->started_ms = s->started_wall_ms;
	out->reduces = s->submit.u.submit.spec.partitions;
	out->output_dir = s->submit.u.submit.stream.sink;
	out->error = (char *)(error ? error : "");
	out->stream = 1;
	out->batches = s->drv ? sl_stream_batches(s->drv) : 0;
	out->progress = (char *)(s->drv ? sl_stream_progress(s->drv) : "");
}

static void
coord_stream_free(coord_stream *s)
{
	sl_stream_close(s->drv);
	sl_msg_release(&s->submit);
	sl_buf_release(&s->client);
	free(s);
}

/*
 * Stream s ended (status SL_OK: its trigger's end; SL_ECANCELED: stopped):
 * journaled, kept for clients, its submitter told; then freed.
 */
static void
coord_stream_end(sl_coord *c, coord_stream *s, int status, const char *error)
{
	sl_buf err = SL_BUF_INIT;
	sl_job_info info;
	coord_stream **pp;
	uint8_t state = status == SL_OK		? SL_JOB_SUCCEEDED
			: status == SL_ECANCELED ? SL_JOB_CANCELED
						 : SL_JOB_FAILED;

	if (status != SL_OK && status != SL_ECANCELED)
		sl_error("stream %llu: %s", (unsigned long long)s->id, error);
	sl_info("stream %llu %s after %llu batch(es)",
		(unsigned long long)s->id, sl_job_state_name(state),
		(unsigned long long)(s->drv ? sl_stream_batches(s->drv) : 0));
	coord_stream_info(s, state, status == SL_OK ? "" : error, &info);
	info.ended_ms = coord_wall_ms();
	if (c->store && !c->stopping &&
	    sl_store_end(c->store, &info, NULL, 0, NULL, 0, &err) != SL_OK)
		sl_warn("%s", err.buf);
	coord_history_push(c, &info);
	/* A usage error is one found before a stream starts (answered by
	 * coord_on_submit_stream); one that stops it is its failure. */
	if (s->client.len)
		coord_reply_done(c, &s->client, s->id,
				 status == SL_EUSAGE ? SL_EJOB : status,
				 status == SL_OK ? "" : error, NULL);
	for (pp = &c->streams; *pp && *pp != s; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = s->next;
	coord_stream_free(s);
	sl_buf_release(&err);
}

/* Queues the batch job the stream asked for (batch: moved into it). */
static void
coord_stream_batch(sl_coord *c, coord_stream *s, sl_msg *batch)
{
	coord_job *j = calloc(1, sizeof(*j)), **pp;
	sl_msg done;

	if (j == NULL) {
		sl_msg_release(batch);
		memset(&done, 0, sizeof(done));
		done.type = SL_MSG_JOB_DONE;
		done.u.job_done.status = SL_ENOMEM;
		done.u.job_done.error = "out of memory";
		coord_stream_step(c, s, &done);
		return;
	}
	j->id = ++c->next_job_id;
	j->stream = s;
	j->submit_ms = sl_now_ms();
	j->submitted_wall_ms = coord_wall_ms();
	sl_buf_init(&j->client);
	j->submit = *batch;
	memset(batch, 0, sizeof(*batch));
	for (pp = &c->queue; *pp; pp = &(*pp)->next)
		;
	*pp = j;
	s->due_ms = UINT64_MAX;
}

/* Steps stream s (done: its batch's JOB_DONE, or NULL) and does what it
 * asks. */
static void
coord_stream_step(sl_coord *c, coord_stream *s, const sl_msg *done)
{
	sl_buf err = SL_BUF_INIT;
	uint64_t wait_ms;
	sl_msg batch;
	int status;

	switch (sl_stream_step(s->drv, done, &batch, &wait_ms, &status,
			       &err)) {
	case SL_STREAM_RUN:
		coord_stream_batch(c, s, &batch);
		break;
	case SL_STREAM_WAIT:
		/* at least a millisecond: the loop turns in between */
		s->due_ms = sl_now_ms() + (wait_ms ? wait_ms : 1);
		break;
	case SL_STREAM_END:
		coord_stream_end(c, s, status, err.len ? err.buf
						       : sl_strerror(status));
		break;
	}
	sl_buf_release(&err);
}

/* Steps the streams that are due. Returns how many. */
static int
coord_streams_due(sl_coord *c)
{
	uint64_t now = sl_now_ms();
	coord_stream *s, *next;
	int n = 0;

	for (s = c->streams; s; s = next) {
		next = s->next;
		if (s->due_ms <= now) {
			coord_stream_step(c, s, NULL);
			n++;
		}
	}
	return n;
}

/* The stream that job id is, or whose batch it is, or NULL. */
static coord_stream *
coord_stream_of(const sl_coord *c, uint64_t id)
{
	coord_stream *s;
	coord_job *j;

	for (s = c->streams; s; s = s->next)
		if (s->id == id)
			return s;
	for (j = c->jobs; j; j = j->next)
		if (j->id == id)
			return j->stream;
	for (j = c->queue; j; j = j->next)
		if (j->id == id)
			return j->stream;
	return NULL;
}

/*
 * A stream of SUBMIT m (moved) as job id: its checkpoint, source and sink
 * opened, then stepped at once. SL_OK, or the reason it cannot start
 * (SL_EUSAGE: a bad URI, a checkpoint of another stream), nothing kept.
 */
static int
coord_stream_start(sl_coord *c, uint64_t id, const sl_buf *client,
		   sl_msg *m, uint64_t submitted_wall_ms, sl_buf *err)
{
	coord_stream *s = calloc(1, sizeof(*s)), **pp;
	int rv;

	if (s == NULL)
		return SL_ENOMEM;
	s->id = id;
	sl_buf_init(&s->client);
	if (client)
		sl_buf_add(&s->client, client->buf, client->len);
	s->submit = *m;
	memset(m, 0, sizeof(*m));
	s->submitted_wall_ms = submitted_wall_ms;
	if ((rv = sl_stream_open(&s->drv, &s->submit, err)) != SL_OK) {
		coord_stream_free(s);
		return rv;
	}
	s->started_wall_ms = coord_wall_ms();
	s->due_ms = sl_now_ms();
	for (pp = &c->streams; *pp; pp = &(*pp)->next)
		;
	*pp = s;
	sl_info("stream %llu: %s from %s into %s", (unsigned long long)id,
		s->submit.u.submit.spec.job, s->submit.u.submit.stream.source,
		s->submit.u.submit.stream.sink);
	return SL_OK;
}

/* SUBMIT of a stream: refused at once (JOB_DONE of job 0) when it cannot
 * start; else journaled, ACCEPTED, and running. */
static void
coord_on_submit_stream(sl_coord *c, const sl_buf *peer, sl_msg *m)
{
	sl_buf err = SL_BUF_INIT, enc = SL_BUF_INIT;
	uint64_t id = c->next_job_id + 1, wall = coord_wall_ms();
	coord_stream *s;
	sl_job_info info;
	int rv;

	if ((rv = sl_msg_encode(m, &enc)) != SL_OK ||
	    (rv = coord_stream_start(c, id, peer, m, wall, &err)) != SL_OK) {
		coord_reply_done(c, peer, 0, rv, err.len ? err.buf
						   : sl_strerror(rv), NULL);
		goto out;
	}
	c->next_job_id = id;
	for (s = c->streams; s->next; s = s->next)
		;
	coord_stream_info(s, SL_JOB_RUNNING, NULL, &info);
	if (c->store &&
	    sl_store_add(c->store, &info, enc.buf, enc.len, &err) != SL_OK)
		sl_warn("%s (stream %llu would not resume after a restart)",
			err.buf, (unsigned long long)id);
	memset(m, 0, sizeof(*m));
	m->type = SL_MSG_ACCEPTED;
	m->u.accepted.job = id;
	coord_send(c, peer, m);
	memset(m, 0, sizeof(*m));
out:
	sl_buf_release(&err);
	sl_buf_release(&enc);
}

/* --- batch jobs ---------------------------------------------------------- */

static void
coord_on_submit(sl_coord *c, const sl_buf *peer, sl_msg *m)
{
	coord_job *j, **pp;
	sl_msg r;

	if (m->u.submit.stream.source && m->u.submit.stream.source[0]) {
		coord_on_submit_stream(c, peer, m);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		coord_reply_done(c, peer, 0, SL_ENOMEM, "out of memory", NULL);
		return;
	}
	j->id = c->next_job_id + 1;
	j->submit_ms = sl_now_ms();
	j->submitted_wall_ms = coord_wall_ms();
	sl_buf_init(&j->client);
	sl_buf_add(&j->client, peer->buf, peer->len);
	j->submit = *m;
	memset(m, 0, sizeof(*m));
	/* In the store before its id goes out (store.h). */
	if (c->store) {
		sl_buf enc = SL_BUF_INIT, err = SL_BUF_INIT;
		sl_job_info info;
		int rv;

		coord_job_info(j, SL_JOB_QUEUED, NULL, &info);
		if ((rv = sl_msg_encode(&j->submit, &enc)) == SL_OK)
			rv = sl_store_add(c->store, &info, enc.buf, enc.len,
					  &err);
		if (rv != SL_OK) {
			sl_warn("%s", err.buf);
			coord_reply_done(c, peer, 0, rv, err.len ? err.buf
						  : "cannot journal the job",
					 NULL);
			coord_job_free(j);
			j = NULL;
		}
		sl_buf_release(&enc);
		sl_buf_release(&err);
		if (j == NULL)
			return;
	}
	c->next_job_id = j->id;
	memset(&r, 0, sizeof(r));
	r.type = SL_MSG_ACCEPTED;
	r.u.accepted.job = j->id;
	coord_send(c, peer, &r);
	for (pp = &c->queue; *pp; pp = &(*pp)->next)
		;
	*pp = j; /* coord_on_message's coord_progress admits it */
}

/* --- workers ------------------------------------------------------------- */

static void
coord_worker_release(coord_worker *w)
{
	sl_buf_release(&w->peer);
	free(w->name);
	free(w->endpoint);
	w->name = w->endpoint = NULL;
}

/* Removes the workers found lost since the last call; keeps id order. */
static void
coord_workers_compact(sl_coord *c)
{
	uint32_t i, n = 0;

	for (i = 0; i < c->nworkers; i++) {
		if (!c->workers[i].alive) {
			coord_worker_release(&c->workers[i]);
			continue;
		}
		if (n != i)
			c->workers[n] = c->workers[i];
		n++;
	}
	c->nworkers = n;
}

static coord_worker *
coord_worker_by_peer(sl_coord *c, const sl_buf *peer)
{
	uint32_t i;

	for (i = 0; i < c->nworkers; i++) {
		coord_worker *w = &c->workers[i];

		if (w->alive && w->peer.len == peer->len &&
		    memcmp(w->peer.buf, peer->buf, peer->len) == 0)
			return w;
	}
	return NULL;
}

static void
coord_on_hello(sl_coord *c, const sl_buf *peer, const sl_msg *m)
{
	coord_worker *w;
	coord_job *j;
	sl_msg r;

	/* A HELLO from a live worker: it dropped its work (it rejoins, its
	 * attempts are void), so the old worker is lost and a new one
	 * joins. */
	if ((w = coord_worker_by_peer(c, peer)) != NULL)
		coord_worker_lost(c, w, "it joined again");
	/* The scheduler takes at most this many: refuse, do not half-join. */
	if (m->u.hello.slots > SL_SCHED_MAX_SLOTS) {
		sl_warn("coordinator: worker '%s' offers %u slots, more than "
			"%u: ignored", m->u.hello.name, m->u.hello.slots,
			SL_SCHED_MAX_SLOTS);
		return;
	}
	/* Bounded: a lost worker leaves the table (coord_workers_compact),
	 * so only live ones count. */
	if (coord_alive(c) >= c->cfg.max_workers ||
	    c->last_worker_id == UINT32_MAX) {
		sl_warn("coordinator: worker '%s' refused: %u workers have "
			"joined, the most this coordinator takes",
			m->u.hello.name, coord_alive(c));
		return;
	}
	if (sl_array_grow(&c->workers, &c->walloc, c->nworkers + 1,
			  sizeof(*c->workers)) != SL_OK) {
		sl_warn("coordinator: out of memory for worker '%s'",
			m->u.hello.name);
		return;
	}
	w = &c->workers[c->nworkers];
	memset(w, 0, sizeof(*w));
	sl_buf_init(&w->peer);
	w->name = strdup(m->u.hello.name);
	w->endpoint = strdup(m->u.hello.shuffle_endpoint);
	if (sl_buf_add(&w->peer, peer->buf, peer->len) != SL_OK ||
	    !w->name || !w->endpoint) {
		coord_worker_release(w);
		sl_warn("coordinator: out of memory for worker '%s'",
			m->u.hello.name);
		return;
	}
	w->id = ++c->last_worker_id;
	w->pid = m->u.hello.pid;
	w->slots = m->u.hello.slots;
	w->last_heard_ms = sl_now_ms();
	w->alive = true;
	c->nworkers++;
	for (j = c->jobs; j; j = j->next)
		if (sl_sched_worker_add(j->sched, w->id, w->slots) != SL_OK) {
			coord_worker_lost(c, w, "out of memory");
			return;
		}
	memset(&r, 0, sizeof(r));
	r.type = SL_MSG_WELCOME;
	r.u.welcome.worker = w->id;
	r.u.welcome.heartbeat_ms = c->cfg.heartbeat_ms;
	r.u.welcome.timeout_ms = c->cfg.timeout_ms;
	coord_send(c, peer, &r);
	sl_info("worker %u joined: %s, %u slot(s), shuffle at %s", w->id,
		w->name, w->slots, w->endpoint);
}

/*
 * A worker is lost: the scheduler reruns its work, and the embedded
 * client, which may have started it (sluice run), is told, so that it can
 * kill a process that is still there (stopped, or stuck) and start
 * another. The entry leaves the table at the next coord_workers_compact.
 */
static void
coord_worker_lost(sl_coord *c, coord_worker *w, const char *why)
{
	static const unsigned char any[SL_COORD_CLIENT_ID];
	sl_buf msg = SL_BUF_INIT, client = SL_BUF_INIT;
	coord_job *j;
	sl_msg m;

	if (!w->alive)
		return;
	w->alive = false;
	sl_warn("worker %u (%s) lost: %s", w->id, w->name, why);
	if (memcmp(c->cfg.client_id, any, sizeof(any)) != 0) {
		memset(&m, 0, sizeof(m));
		m.type = SL_MSG_WORKER_LOST;
		m.u.worker_lost.worker = w->id;
		m.u.worker_lost.pid = w->pid;
		m.u.worker_lost.name = w->name;
		m.u.worker_lost.endpoint = w->endpoint;
		m.u.worker_lost.why = (char *)why;
		sl_buf_add(&client, c->cfg.client_id, SL_COORD_CLIENT_ID);
		coord_send(c, &client, &m);
		sl_buf_release(&client);
	}
	for (j = c->jobs; j; j = j->next) {
		sl_sched_worker_lost(j->sched, w->id, sl_now_ms());
		/* Its exchanged partitions (or its part in the collective)
		 * are gone: nothing reruns across the MPI exchange. */
		if (coord_mpi_shuffle(j)) {
			sl_buf_reset(&msg);
			sl_buf_addf(&msg, "worker %u (%s) lost (%s): --shuffle "
				    "mpi cannot go on without every worker "
				    "rank", w->id, w->name, why);
			sl_sched_fail(j->sched, msg.buf);
		}
	}
	sl_buf_release(&msg);
}

/*
 * The running job of attempt id, when the attempt was given to worker w:
 * only that worker may report on it or commit it. Anything else, from a
 * worker of another attempt or a forger that joined, is ignored: it can
 * neither commit nor fail a task it does not run.
 */
static coord_job *
coord_attempt_of(const sl_coord *c, const coord_worker *w,
		 const sl_attempt_id *id, const char *what)
{
	coord_job *j = coord_running(c, id->job);
	uint32_t owner;

	if (j == NULL)
		return NULL;
	if (sl_sched_attempt_worker(j->sched, id->kind, id->task,
				    id->attempt, &owner) == SL_OK &&
	    owner == w->id)
		return j;
	sl_warn("coordinator: %s for %s task %u attempt %u from worker %u "
		"(%s), which does not run it: ignored", what,
		id->kind == SL_TASK_MAP ? "map" : "reduce", id->task,
		id->attempt, w->id, w->name);
	return NULL;
}

static void
coord_on_task_done(sl_coord *c, coord_worker *w, const sl_msg *m)
{
	const sl_attempt_id *id = &m->u.task_done.id;
	coord_job *j;
	coord_task_stats *st;
	uint64_t now = sl_now_ms();
	int status = m->u.task_done.status;

	if ((j = coord_attempt_of(c, w, id, "TASK_DONE")) == NULL)
		return;
	if (status != SL_OK)
		sl_info("job %llu: %s task %u attempt %u on worker %u "
			"failed: %s", (unsigned long long)id->job,
			id->kind == SL_TASK_MAP ? "map" : "reduce", id->task,
			id->attempt, w->id, m->u.task_done.error);
	/* A reduce attempt that was told to commit reports the rename here;
	 * for the others the scheduler answers SL_EINVAL, which is fine. */
	if (id->kind == SL_TASK_REDUCE)
		sl_sched_commit_done(j->sched, id->task, id->attempt, status,
				     m->u.task_done.error, now);
	if (m->u.task_done.lost_map && coord_mpi_shuffle(j)) {
		/* its own worker could not serve an exchanged segment */
		sl_sched_fail(j->sched, m->u.task_done.error);
	} else if (m->u.task_done.lost_map) {
		uint32_t map = m->u.task_done.lost_map - 1, holder, att;

		/* Only the output the scheduler still points at is lost. */
		if (sl_sched_map_location(j->sched, map, &holder, &att) ==
		    SL_OK && att == m->u.task_done.lost_attempt)
			sl_sched_fetch_failed(j->sched, map, att, holder, now);
	}
	if (sl_sched_attempt_done(j->sched, id->kind, id->task, id->attempt,
				  status, sl_status_retryable(status),
				  m->u.task_done.error, now) != SL_OK)
		return;     /* stale or duplicate report */
	if (status != SL_OK)
		return;
	/* The scheduler knew the attempt: its kind and task are in range
	 * (it has j->splits.n maps and spec.partitions reduces). */
	if (id->kind == SL_TASK_MAP &&
	    coord_output_update(j, w, id->task) != SL_OK) {
		sl_sched_fail(j->sched, "out of memory");
		return;
	}
	st = id->kind == SL_TASK_MAP ? &j->maps[id->task]
				     : &j->reduces[id->task];
	coord_stats_release(st);
	coord_counters_add(st, m->u.task_done.counters,
			   m->u.task_done.ncounters);
	st->records_in = m->u.task_done.records_in;
	st->bytes_in = m->u.task_done.bytes_in;
	st->records_out = m->u.task_done.records_out;
	st->event_ms_max = m->u.task_done.event_ms_max;
	if (j->maps_done_ms == 0 && sl_sched_maps_done(j->sched))
		j->maps_done_ms = now;
}

static void
coord_on_commit_req(sl_coord *c, coord_worker *w, const sl_msg *m)
{
	const sl_attempt_id *id = &m->u.commit_req.id;
	coord_job *j;
	int go;

	if (coord_running(c, id->job) == NULL) {
		/* a job that is over: nothing of it may commit */
		coord_send_attempt(c, w->id, SL_MSG_KILL, id->job, id->kind,
				   id->task, id->attempt);
		return;
	}
	if ((j = coord_attempt_of(c, w, id, "COMMIT_REQ")) == NULL)
		return;
	if (id->kind != SL_TASK_REDUCE) {
		coord_send_attempt(c, w->id, SL_MSG_KILL, id->job, id->kind,
				   id->task, id->attempt);
		return;
	}
	go = sl_sched_commit_request(j->sched, id->task, id->attempt);
	coord_send_attempt(c, w->id, go == 1 ? SL_MSG_COMMIT_GO : SL_MSG_KILL,
			   id->job, id->kind, id->task, id->attempt);
}

/* --- client requests ----------------------------------------------------- */

/* JOB_LIST of every job (id 0), or of job `id` alone (none if unknown). */
static void
coord_on_list(sl_coord *c, const sl_buf *peer, uint64_t id)
{
	sl_job_info *v;
	size_t n = 0, i;
	const coord_job *j;
	const coord_stream *s;
	sl_msg m;

	for (j = c->queue; j; j = j->next)
		n++;
	for (s = c->streams; s; s = s->next)
		n++;
	/* ended jobs first (the oldest ids), then the running ones, then
	 * the queue: id order, since jobs start in the order submitted;
	 * then the streams (a stream's batch jobs are the stream's) */
	if ((v = calloc(c->nhistory + c->njobs + n + 1, sizeof(*v))) ==
	    NULL) {
		sl_warn("coordinator: out of memory for a job list");
		return;
	}
	n = 0;
	for (i = 0; i < c->nhistory; i++)
		if (id == 0 || c->history[i].id == id)
			v[n++] = c->history[i];
	for (j = c->jobs; j; j = j->next)
		if (j->stream == NULL && (id == 0 || j->id == id))
			coord_job_info(j, SL_JOB_RUNNING, NULL, &v[n++]);
	for (j = c->queue; j; j = j->next)
		if (j->stream == NULL && (id == 0 || j->id == id))
			coord_job_info(j, SL_JOB_QUEUED, NULL, &v[n++]);
	for (s = c->streams; s; s = s->next)
		if (id == 0 || s->id == id)
			coord_stream_info(s, SL_JOB_RUNNING, NULL, &v[n++]);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_JOB_LIST;
	m.u.job_list.jobs = v;
	m.u.job_list.njobs = (uint32_t)(n < SL_PROTO_MAX_ITEMS
						? n
						: SL_PROTO_MAX_ITEMS);
	coord_send(c, peer, &m);
	free(v);
}

/* LOG: the attempt log of a job, a page from `from`, and its counters. */
static void
coord_on_log(sl_coord *c, const sl_buf *peer, uint64_t id, uint64_t from)
{
	coord_task_stats total = { 0 }; /* only its counters are used */
	const coord_job *j = coord_running(c, id);
	sl_attempt_info *v = NULL;
	sl_buf err = SL_BUF_INIT;
	size_t n = 0, i;
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_JOB_LOG;
	for (i = 0; j == NULL && i < c->nhistory; i++)
		if (c->history[i].id == id)
			break;
	if (j == NULL && i < c->nhistory && c->store) {
		/* ended: its log is in the store */
		m.u.job_log.status = sl_store_log(c->store, id, from, &m, &err);
		if (m.u.job_log.status != SL_OK) {
			sl_warn("%s", err.len ? err.buf
					      : sl_strerror(m.u.job_log.status));
			free(m.u.job_log.error);
			m.u.job_log.error = strdup("cannot read the job store");
		}
		coord_send(c, peer, &m);
		sl_msg_release(&m);
		sl_buf_release(&err);
		return;
	}
	m.u.job_log.job = id;
	m.u.job_log.error = "";
	if (j == NULL) {
		for (j = c->queue; j && j->id != id; j = j->next)
			;
		if (j == NULL) { /* unknown, or ended with no store */
			m.u.job_log.status = SL_ENOTFOUND;
			sl_buf_addf(&err, i < c->nhistory
						  ? "no log kept of job %llu"
						  : "no job %llu",
				    (unsigned long long)id);
			m.u.job_log.error = err.buf;
		}
	} else if (coord_log_page(j, from, SL_LOG_PAGE, &v, &n) != SL_OK) {
		m.u.job_log.status = SL_ENOMEM;
		m.u.job_log.error = "out of memory";
	} else {
		m.u.job_log.total = sl_sched_attempts(j->sched);
		m.u.job_log.attempts = v;
		m.u.job_log.nattempts = (uint32_t)n;
	}
	if (j && m.u.job_log.status == SL_OK) {
		coord_job_counters(j, &total);
		m.u.job_log.counters = total.counters;
		m.u.job_log.ncounters = total.ncounters;
	}
	coord_send(c, peer, &m);
	free(v);
	coord_stats_release(&total);
	sl_buf_release(&err);
}

/* CANCEL: a queued job leaves the queue, a running one is stopped; both
 * end canceled, with no output that looks complete. */
static void
coord_on_cancel(sl_coord *c, const sl_buf *peer, uint64_t id)
{
	coord_job **pp, *j;
	coord_stream *s;
	size_t i;
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_CANCELED;
	m.u.canceled.job = id;
	m.u.canceled.error = "";
	/* A stream (or its batch) stops once the batch in flight commits. */
	if ((s = coord_stream_of(c, id)) != NULL) {
		sl_stream_stop(s->drv);
		if (s->due_ms != UINT64_MAX)
			s->due_ms = sl_now_ms(); /* not in a batch: now */
		sl_info("stream %llu: stopping after the batch in flight",
			(unsigned long long)s->id);
		goto reply;
	}
	if ((j = coord_running(c, id)) != NULL) {
		coord_job_finish(c, j, SL_ECANCELED, "job canceled");
		goto reply;
	}
	for (pp = &c->queue; *pp && (*pp)->id != id; pp = &(*pp)->next)
		;
	if ((j = *pp) != NULL) {
		*pp = j->next;
		coord_job_ended(c, j, SL_JOB_CANCELED, "job canceled");
		coord_reply_done(c, &j->client, j->id, SL_ECANCELED,
				 "job canceled", NULL);
		coord_job_free(j);
		sl_info("job %llu canceled while queued",
			(unsigned long long)id);
		goto reply;
	}
	for (i = 0; i < c->nhistory && c->history[i].id != id; i++)
		;
	m.u.canceled.status = i < c->nhistory ? SL_EINVAL : SL_ENOTFOUND;
	m.u.canceled.error = i < c->nhistory ? "the job has ended already"
					     : "no such job";
reply:
	coord_send(c, peer, &m);
}

static void
coord_on_workers(sl_coord *c, const sl_buf *peer)
{
	sl_worker_info *v = calloc(c->nworkers + 1, sizeof(*v));
	uint64_t now = sl_now_ms();
	uint32_t i, n = 0;
	sl_msg m;

	if (v == NULL) {
		sl_warn("coordinator: out of memory for a worker list");
		return;
	}
	for (i = 0; i < c->nworkers; i++) {
		const coord_worker *w = &c->workers[i];

		if (w->alive)
			v[n++] = (sl_worker_info){ w->id, w->name,
						   w->endpoint, w->slots,
						   w->busy,
						   now - w->last_heard_ms };
	}
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_WORKER_LIST;
	m.u.worker_list.workers = v;
	m.u.worker_list.nworkers = n;
	coord_send(c, peer, &m);
	free(v);
}

/* --- the loop ------------------------------------------------------------ */

/* The messages of clients: to them a peer need not be a worker. */
static bool
coord_is_client_msg(int type)
{
	return type == SL_MSG_SUBMIT || type == SL_MSG_SHUTDOWN ||
	       type == SL_MSG_STATUS || type == SL_MSG_LIST ||
	       type == SL_MSG_CANCEL || type == SL_MSG_WORKERS ||
	       type == SL_MSG_LOG;
}

/* Whether peer may submit jobs, ask about them and stop the coordinator. */
static bool
coord_client_allowed(const sl_coord *c, const sl_buf *peer)
{
	static const unsigned char any[SL_COORD_CLIENT_ID];

	if (memcmp(c->cfg.client_id, any, sizeof(any)) == 0)
		return true;
	return peer->len == SL_COORD_CLIENT_ID &&
	       memcmp(peer->buf, c->cfg.client_id, SL_COORD_CLIENT_ID) == 0;
}

static void
coord_on_message(sl_coord *c)
{
	sl_buf peer = SL_BUF_INIT, err = SL_BUF_INIT;
	coord_worker *w;
	sl_msg m;
	int rv;

	if ((rv = sl_zrecv(c->sock, true, &peer, &m, NULL, &err)) != SL_OK) {
		sl_warn("coordinator: bad message: %s", err.buf);
		/* A peer of another version is answered in ours, which it
		 * cannot read either: its decoder then names both versions
		 * (REJOIN carries nothing else). */
		if (rv == SL_EVERSION)
			coord_send_simple(c, &peer, SL_MSG_REJOIN, 0);
		goto out;
	}
	w = coord_worker_by_peer(c, &peer);
	if (w) {
		w->last_heard_ms = sl_now_ms();
	} else if (!coord_is_client_msg(m.type) && m.type != SL_MSG_HELLO) {
		/* Fencing: a worker declared lost that speaks again (it was
		 * stopped, or its network was cut), or one of a coordinator
		 * that was restarted, must not act on its stale work: ignore
		 * it, and tell it that it is no worker here (it drops its work
		 * and joins again, or stops). */
		sl_info("coordinator: %s from a lost or unknown worker "
			"ignored; telling it to join again",
			sl_msg_type_name(m.type));
		/* never blocks: a peer that does not read misses it */
		coord_send_simple(c, &peer, SL_MSG_REJOIN, 0);
	}
	if (coord_is_client_msg(m.type) && !coord_client_allowed(c, &peer)) {
		sl_warn("coordinator: %s from a peer that is not its client "
			"ignored", sl_msg_type_name(m.type));
		goto release;
	}
	switch (m.type) {
	case SL_MSG_SUBMIT:
		coord_on_submit(c, &peer, &m);
		break;
	case SL_MSG_SHUTDOWN:
		c->stop = true;
		sl_buf_reset(&c->stopper);
		sl_buf_add(&c->stopper, peer.buf, peer.len);
		break;
	case SL_MSG_HELLO:
		coord_on_hello(c, &peer, &m);
		break;
	case SL_MSG_HEARTBEAT:
		if (w)
			w->busy = m.u.heartbeat.running;
		break;
	case SL_MSG_STATUS:
		coord_on_list(c, &peer, m.u.status.job ? m.u.status.job
						       : UINT64_MAX);
		break;
	case SL_MSG_LIST:
		coord_on_list(c, &peer, 0);
		break;
	case SL_MSG_LOG:
		coord_on_log(c, &peer, m.u.log.job, m.u.log.from);
		break;
	case SL_MSG_CANCEL:
		coord_on_cancel(c, &peer, m.u.cancel.job);
		break;
	case SL_MSG_WORKERS:
		coord_on_workers(c, &peer);
		break;
	case SL_MSG_TASK_DONE:
		if (w)
			coord_on_task_done(c, w, &m);
		break;
	case SL_MSG_COMMIT_REQ:
		if (w)
			coord_on_commit_req(c, w, &m);
		break;
	case SL_MSG_EXCHANGED:
		if (w)
			coord_on_exchanged(c, w, &m);
		break;
	default:
		sl_warn("coordinator: unexpected %s", sl_msg_type_name(m.type));
	}
release:
	sl_msg_release(&m);
out:
	sl_buf_release(&peer);
	sl_buf_release(&err);
}

/* The scheduler's next due time is where the due timer goes off. */
static void
coord_arm(sl_coord *c)
{
	uint64_t now = sl_now_ms(), due = UINT64_MAX, d;
	const coord_stream *s;
	const coord_job *j;

	for (j = c->jobs; j; j = j->next)
		if ((d = sl_sched_next_due(j->sched, now)) < due)
			due = d;
	for (s = c->streams; s; s = s->next)
		if (s->due_ms < due)
			due = s->due_ms;
	sl_loop_timer_in(c->loop, c->due_timer,
			 due == UINT64_MAX ? UINT64_MAX
			 : due > now	   ? due - now
					   : 1);
}

/*
 * What follows every event (a message, a timer): the decisions it allows
 * (coord_progress), the lost workers out of the table, the deadline timer
 * at the scheduler's next due time.
 */
static void
coord_settle(sl_coord *c)
{
	coord_progress(c);
	coord_workers_compact(c);
	coord_arm(c);
}

/* The timer of the heartbeat interval: heartbeats out, and loss of
 * silent workers. */
static void
coord_tick(sl_loop *loop, void *arg)
{
	sl_coord *c = arg;
	uint64_t now = sl_now_ms();
	uint32_t i;
	bool exchanging = false;
	const coord_job *j;

	/* Workers in the MPI collective cannot answer: a rank that dies
	 * there makes mpirun end every rank. */
	for (j = c->jobs; j; j = j->next)
		exchanging |= j->ex_sent && j->ex_pending;

	(void)loop;
	for (i = 0; i < c->nworkers; i++) {
		coord_worker *w = &c->workers[i];

		if (!w->alive)
			continue;
		if (exchanging)
			w->last_heard_ms = now;
		if (now - w->last_heard_ms > c->cfg.timeout_ms) {
			coord_worker_lost(c, w, "no heartbeat");
		} else if (coord_send_simple(c, &w->peer, SL_MSG_HEARTBEAT,
					     0) == SL_ELOST) {
			/* ROUTER_MANDATORY: its connection is gone, which
			 * for ipc and tcp means the process (or its host)
			 * died, or its queue is full: it stopped reading.
			 * No need to wait for the timeout. */
			coord_worker_lost(c, w, "connection closed or not "
					  "reading");
		}
	}
	/* a job waiting for workers to join times out in coord_settle */
	coord_settle(c);
}

/* The scheduler's due time passed: a rerun's backoff, a straggler. */
static void
coord_on_due(sl_loop *loop, void *arg)
{
	(void)loop;
	coord_settle(arg);
}

static void
coord_on_readable(sl_loop *loop, void *arg)
{
	sl_coord *c = arg;

	coord_on_message(c);
	coord_settle(c);
	if (c->stop)
		sl_loop_stop(loop);
}

/*
 * A job of the store: one that ended goes to the history; a queued or
 * running one (the coordinator died under it) is queued again, in id
 * order, to run from the start: its old output goes as any stale output
 * does when it starts.
 */
static int
coord_load(void *arg, const sl_job_info *info, const void *submit,
	   size_t len)
{
	sl_coord *c = arg;
	sl_buf err = SL_BUF_INIT;
	coord_job *j, **pp;
	sl_job_info failed;
	int rv;

	if (info->id > c->next_job_id)
		c->next_job_id = info->id;
	if (info->state != SL_JOB_QUEUED && info->state != SL_JOB_RUNNING) {
		coord_history_push(c, info);
		return SL_OK;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return SL_ENOMEM;
	sl_buf_init(&j->client); /* nobody waits for it in this process */
	if (sl_msg_decode(submit, len, &j->submit, &err) != SL_OK ||
	    j->submit.type != SL_MSG_SUBMIT) {
		failed = *info;
		failed.state = SL_JOB_FAILED;
		failed.error = "its SUBMIT in the job store cannot be read";
		sl_warn("job %llu: %s: %s", (unsigned long long)info->id,
			failed.error, err.buf);
		coord_journal(c, &failed);
		coord_history_push(c, &failed);
		coord_job_free(j);
		sl_buf_release(&err);
		return SL_OK;
	}
	if (j->submit.u.submit.stream.source[0]) {
		/* A stream resumes from its checkpoint. */
		rv = coord_stream_start(c, info->id, NULL, &j->submit,
					info->submitted_ms, &err);
		failed = *info;
		if (rv == SL_OK)
			sl_info("stream %llu: resumed from its checkpoint",
				(unsigned long long)info->id);
		else {
			failed.state = SL_JOB_FAILED;
			failed.ended_ms = coord_wall_ms();
			failed.error = err.buf;
			sl_warn("stream %llu cannot resume: %s",
				(unsigned long long)info->id, err.buf);
			coord_journal(c, &failed);
			coord_history_push(c, &failed);
		}
		coord_job_free(j);
		sl_buf_release(&err);
		return SL_OK;
	}
	j->id = info->id;
	j->submit_ms = sl_now_ms();
	j->submitted_wall_ms = info->submitted_ms;
	for (pp = &c->queue; *pp; pp = &(*pp)->next)
		;
	*pp = j;
	sl_info("job %llu: %s when the coordinator stopped; it runs again",
		(unsigned long long)j->id, sl_job_state_name(info->state));
	sl_buf_release(&err);
	return SL_OK;
}

int
sl_coord_new(sl_coord **cp, void *zctx, const sl_coord_config *cfg,
	     sl_buf *err)
{
	sl_coord *c = calloc(1, sizeof(*c));
	int due;

	*cp = NULL;
	if (c == NULL)
		return SL_ENOMEM;
	c->cfg = *cfg;
	sl_buf_init(&c->stopper);
	c->sock = sl_zsock_new(zctx, ZMQ_ROUTER, SL_PROTO_MAX_MSG, err);
	if (c->sock == NULL) {
		free(c);
		return SL_EIO;
	}
	if (sl_loop_new(&c->loop) != SL_OK ||
	    sl_loop_add_socket(c->loop, c->sock, coord_on_readable, c) !=
		    SL_OK ||
	    sl_loop_add_timer(c->loop, c->cfg.heartbeat_ms, coord_tick, c) <
		    0 ||
	    (due = sl_loop_add_timer(c->loop, UINT64_MAX, coord_on_due, c)) <
		    0) {
		sl_coord_free(c);
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	c->due_timer = due;
	if (cfg->state_dir) {
		int rv = sl_store_open(&c->store, cfg->state_dir, err);

		if (rv == SL_OK)
			rv = sl_store_each(c->store, coord_load, c, err);
		if (rv != SL_OK) {
			sl_coord_free(c);
			return rv;
		}
	}
	*cp = c;
	return SL_OK;
}

int
sl_coord_bind(sl_coord *c, const char *endpoint, sl_buf *out, sl_buf *err)
{
	return sl_zsock_bind(c->sock, endpoint, out, err);
}

int
sl_coord_run(sl_coord *c, sl_buf *err)
{
	coord_job *j;
	int rv;

	coord_settle(c); /* the streams of the store resume */
	if ((rv = sl_loop_run(c->loop, c->cfg.stop, err)) != SL_OK)
		return rv;
	/* Not journaled: a stop is, for the store, a crash; the jobs that
	 * were queued or running run again at the next start. */
	c->stopping = true;
	while (c->jobs)
		coord_job_finish(c, c->jobs, SL_ECANCELED,
				 "coordinator shut down");
	/* A stream stops where it is: its checkpoint has what it needs to
	 * go on at the next start. */
	while (c->streams)
		coord_stream_end(c, c->streams, SL_ECANCELED,
				 "coordinator shut down");
	while ((j = c->queue) != NULL) {
		c->queue = j->next;
		if (j->stream == NULL)
			coord_reply_done(c, &j->client, j->id, SL_ECANCELED,
					 "coordinator shut down", NULL);
		coord_job_free(j);
	}
	coord_send_all(c, SL_MSG_SHUTDOWN, 0);
	/* the answer to the client that asked: it is done */
	if (c->stopper.len)
		coord_send_simple(c, &c->stopper, SL_MSG_SHUTDOWN, 0);
	return SL_OK;
}

void
sl_coord_free(sl_coord *c)
{
	coord_stream *s;
	coord_job *j;
	uint32_t i;
	int linger = 500;

	if (c == NULL)
		return;
	while ((j = c->queue) != NULL) {
		c->queue = j->next;
		coord_job_free(j);
	}
	while ((j = c->jobs) != NULL) {
		c->jobs = j->next;
		coord_job_free(j);
	}
	while ((s = c->streams) != NULL) {
		c->streams = s->next;
		coord_stream_free(s);
	}
	for (i = 0; i < c->nhistory; i++)
		coord_info_release(&c->history[i]);
	free(c->history);
	for (i = 0; i < c->nworkers; i++)
		coord_worker_release(&c->workers[i]);
	free(c->workers);
	sl_loop_free(c->loop);
	/* What sl_coord_run sent last (SHUTDOWN to the workers and to the
	 * client that asked) gets a moment to leave. */
	zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof(linger));
	sl_zsock_close(c->sock);
	sl_buf_release(&c->stopper);
	sl_store_close(c->store);
	free(c);
}
