/*
 * worker.c - the worker's event loop: task attempts, commits, and the
 * shuffle server. See worker.h for the threads and what they own.
 *
 * An attempt's life: TASK arrives -> a task thread runs it -> the thread
 * posts the attempt on the completion queue -> a map attempt keeps its
 * segments here and reports TASK_DONE; a reduce attempt asks to commit
 * (COMMIT_REQ) and on COMMIT_GO renames its temporary file into place and
 * reports TASK_DONE, or on KILL deletes it.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zmq.h>

#include "cluster/bind.h"
#include "cluster/loop.h"
#include "cluster/zmsg.h"
#include "common/kv.h"
#include "task.h"

#define WORKER_DONE_EP "inproc://sluice-worker-done"
/*
 * Blocks of this size and more are mmap'd by malloc and returned to the
 * system when freed. glibc's default threshold rises with every big
 * block freed (up to 32 MiB), after which freed tables and buffers stay
 * in the task threads' arenas: measured, a word count worker kept 80-150
 * MiB resident that way between spills (docs/performance.md). Smaller
 * blocks (the combine table's 1 MiB arena chunks among them) stay on the
 * heap and are reused: at 1 MiB, mapping and faulting each chunk anew
 * slowed a word count by a fifth.
 */
#define WORKER_MMAP_THRESHOLD (4u << 20)

typedef enum { ATT_RUNNING, ATT_WAIT_COMMIT } worker_att_state;

typedef struct worker_attempt {
	sl_msg task;             /* the TASK message (owned) */
	pthread_t thread;
	atomic_int cancel;       /* set by KILL or shutdown */
	sl_task_result res;      /* filled by the task thread */
	worker_att_state state;
	sl_task_env env;         /* the worker's context, slots and memory,
				    and our cancel flag, for the thread */
	struct worker_attempt *next;
} worker_attempt;

typedef struct worker_output {
	uint64_t job;
	uint32_t map;
	uint32_t attempt;
	sl_buf *segs;            /* one per partition (owned) */
	uint32_t nsegs;
	char *path;              /* or a file holding them (owned, removed
				    with the output), NULL */
	uint64_t *ends;          /* with path: where each segment ends */
	size_t held;             /* bytes of segs counted in worker.held */
	struct worker_output *next;
} worker_output;

/* A segment received in an MPI exchange: partition of one map output. */
typedef struct worker_exseg {
	uint64_t job;
	uint32_t map;
	uint32_t attempt;        /* the map attempt it came from */
	uint32_t partition;
	sl_buf seg;              /* the segment's bytes (owned) */
	struct worker_exseg *next;
} worker_exseg;

typedef struct worker {
	const sl_worker_config *cfg;
	void *zctx;
	void *ctrl;              /* DEALER to the coordinator */
	void *shuf;              /* ROUTER serving FETCH */
	void *done;              /* PULL: finished attempts */
	sl_buf shuffle_ep;       /* the endpoint actually bound */
	uint32_t id;             /* from WELCOME */
	uint32_t heartbeat_ms;
	uint32_t timeout_ms;
	uint64_t last_heard_ms;  /* last message from the coordinator */
	sl_loop *loop;           /* the event loop of sl_worker_run */
	int beat_timer;          /* its heartbeat timer */
	int rv;                  /* why the loop stopped: SL_OK, SL_ELOST */
	sl_buf *err;             /* the reason, for sl_worker_run's caller */
	worker_attempt *attempts;
	worker_output *outputs;
	atomic_size_t held;      /* bytes of outputs' segs in memory, as
				    reserved by their maps (task.h) */
	worker_exseg *exchanged; /* this worker's partitions, --shuffle mpi */
	sl_buf swept;            /* the tmpdir last swept of dead workers'
				    spill directories (worker_sweep) */
	bool stop;
} worker;

/* --- task threads -------------------------------------------------------- */

static void *
worker_task_thread(void *arg)
{
	worker_attempt *a = arg;
	void *push;
	int core = sl_bind_task_begin(); /* pinned inside the binding */

	sl_task_run(&a->task, &a->env, &a->res);
	sl_bind_task_end(core);
	/* Post the attempt; the loop thread joins this thread on receipt. */
	push = zmq_socket(a->env.zctx, ZMQ_PUSH);
	if (push) {
		int zero = 0;

		zmq_setsockopt(push, ZMQ_LINGER, &zero, sizeof(zero));
		if (zmq_connect(push, WORKER_DONE_EP) == 0)
			zmq_send(push, &a, sizeof(a), 0);
		zmq_close(push);
	}
	return NULL;
}

static void
worker_attempt_free(worker_attempt *a)
{
	atomic_fetch_sub(a->env.held, a->res.held);
	sl_msg_release(&a->task);
	sl_task_result_release(&a->res);
	free(a);
}

static void
worker_attempt_unlink(worker *w, worker_attempt *a)
{
	worker_attempt **pp;

	for (pp = &w->attempts; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			return;
		}
	}
}

static worker_attempt *
worker_attempt_find(worker *w, const sl_attempt_id *id)
{
	worker_attempt *a;

	for (a = w->attempts; a; a = a->next) {
		const sl_attempt_id *x = &a->task.u.task.id;

		if (x->job == id->job && x->kind == id->kind &&
		    x->task == id->task && x->attempt == id->attempt)
			return a;
	}
	return NULL;
}

static uint32_t
worker_running(const worker *w)
{
	const worker_attempt *a;
	uint32_t n = 0;

	for (a = w->attempts; a; a = a->next)
		n += a->state == ATT_RUNNING;
	return n;
}

/* --- messages to the coordinator ---------------------------------------- */

static void
worker_send(worker *w, const sl_msg *m)
{
	int rv = sl_zsend(w->ctrl, NULL, m, NULL, 0);

	if (rv != SL_OK)
		sl_warn("worker %u: cannot send %s to the coordinator: %s",
			w->id, sl_msg_type_name(m->type), sl_strerror(rv));
}

static void
worker_report(worker *w, worker_attempt *a)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_TASK_DONE;
	m.u.task_done.id = a->task.u.task.id;
	m.u.task_done.status = a->res.status;
	m.u.task_done.error = a->res.error.buf;
	m.u.task_done.counters = a->res.counters;
	m.u.task_done.ncounters = a->res.ncounters;
	m.u.task_done.records_in = a->res.records_in;
	m.u.task_done.bytes_in = a->res.bytes_in;
	m.u.task_done.records_out = a->res.records_out;
	m.u.task_done.bytes_out = a->res.bytes_out;
	m.u.task_done.lost_map = a->res.lost_map;
	m.u.task_done.lost_attempt = a->res.lost_attempt;
	m.u.task_done.event_ms_max = a->res.event_ms_max;
	worker_send(w, &m);
}

static void
worker_send_id(worker *w, int type, const sl_attempt_id *id)
{
	sl_msg m;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	m.u.commit_req.id = *id;
	worker_send(w, &m);
}

/* --- events -------------------------------------------------------------- */

/*
 * Removes the spill directories that dead workers of this host left in
 * tmpdir, unless it was the last one swept: the worker's own tmpdir at
 * start, then each job's --tmpdir as its tasks come (a cluster worker
 * learns it only then). Runs on the loop thread, before the attempt that
 * will spill there starts; costs a readdir of tmpdir.
 */
static void
worker_sweep(worker *w, const char *tmpdir)
{
	if (strcmp(tmpdir, w->swept.buf) == 0)
		return;
	sl_procdir_sweep(tmpdir, sl_spill_dir_pid, "spill");
	sl_buf_reset(&w->swept);
	sl_buf_addstr(&w->swept, tmpdir);
}

static void
worker_on_task(worker *w, sl_msg *m)
{
	worker_attempt *a;

	worker_sweep(w, sl_tmpdir(m->u.task.spec.tmpdir));
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		sl_error("worker %u: out of memory for a task", w->id);
		sl_msg_release(m);
		return;
	}
	a->task = *m;
	memset(m, 0, sizeof(*m));
	sl_task_result_init(&a->res);
	atomic_init(&a->cancel, 0);
	a->env = (sl_task_env){ .zctx = w->zctx, .cancel = &a->cancel,
				.fetch_timeout_ms = w->timeout_ms,
				.slots = w->cfg->slots, .held = &w->held };
	a->state = ATT_RUNNING;
	if (pthread_create(&a->thread, NULL, worker_task_thread, a) != 0) {
		a->res.status = SL_ENOMEM;
		sl_buf_addstr(&a->res.error, "cannot start a task thread");
		worker_report(w, a);
		worker_attempt_free(a);
		return;
	}
	a->next = w->attempts;
	w->attempts = a;
}

static void
worker_on_done(worker *w)
{
	worker_attempt *a;
	worker_output *o;

	if (zmq_recv(w->done, &a, sizeof(a), 0) != (int)sizeof(a))
		return;
	pthread_join(a->thread, NULL);
	if (a->res.status == SL_OK && atomic_load(&a->cancel))
		a->res.status = SL_ECANCELED;
	if (a->res.status != SL_OK || w->stop) {
		worker_report(w, a);
		goto drop;
	}
	if (a->task.u.task.id.kind == SL_TASK_REDUCE) {
		a->state = ATT_WAIT_COMMIT;
		worker_send_id(w, SL_MSG_COMMIT_REQ, &a->task.u.task.id);
		return;
	}
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		a->res.status = SL_ENOMEM;
		worker_report(w, a);
		goto drop;
	}
	o->job = a->task.u.task.id.job;
	o->map = a->task.u.task.id.task;
	o->attempt = a->task.u.task.id.attempt;
	o->segs = a->res.segs;
	o->nsegs = a->res.nsegs;
	o->path = a->res.out_path.len ? sl_buf_detach(&a->res.out_path, NULL)
				      : NULL;
	o->ends = a->res.ends;
	o->held = a->res.held;
	a->res.held = 0;
	a->res.segs = NULL;
	a->res.nsegs = 0;
	a->res.ends = NULL;
	o->next = w->outputs;
	w->outputs = o;
	worker_report(w, a);
drop:
	worker_attempt_unlink(w, a);
	worker_attempt_free(a);
}

static void
worker_on_commit(worker *w, const sl_attempt_id *id, bool go)
{
	worker_attempt *a = worker_attempt_find(w, id);
	sl_buf part = SL_BUF_INIT;

	if (a == NULL) {
		sl_debug("worker %u: commit decision for an unknown attempt",
			 w->id);
		return;
	}
	if (a->state == ATT_RUNNING) {
		/* KILL of a running attempt: it stops at its next check. */
		atomic_store(&a->cancel, 1);
		return;
	}
	if (!go) {
		unlink(a->res.temp_path.buf);
		a->res.status = SL_ECANCELED;
		sl_buf_addstr(&a->res.error, "killed: another attempt committed");
	} else if (sl_part_path(&part, a->task.u.task.output_dir, id->task) !=
		   SL_OK || rename(a->res.temp_path.buf, part.buf) != 0) {
		a->res.status = SL_EIO;
		sl_buf_addf(&a->res.error, "cannot commit '%s': %s", part.buf,
			    strerror(errno));
		unlink(a->res.temp_path.buf);
	}
	worker_report(w, a);
	worker_attempt_unlink(w, a);
	worker_attempt_free(a);
	sl_buf_release(&part);
}

static void
worker_outputs_drop(worker *w, uint64_t job, bool all)
{
	worker_output **pp = &w->outputs, *o;
	uint32_t i;

	while ((o = *pp) != NULL) {
		if (!all && o->job != job) {
			pp = &o->next;
			continue;
		}
		*pp = o->next;
		for (i = 0; o->segs && i < o->nsegs; i++)
			sl_buf_release(&o->segs[i]);
		free(o->segs);
		atomic_fetch_sub(&w->held, o->held);
		if (o->path) {
			/* And the job's spill directory once it is empty. */
			unlink(o->path);
			*strrchr(o->path, '/') = '\0';
			rmdir(o->path);
		}
		free(o->path);
		free(o->ends);
		free(o);
	}
}

/* --- the MPI exchange (--shuffle mpi) ------------------------------------ */

/*
 * Appends one segment to an exchange buffer: varints map, attempt,
 * partition, length, then the segment's bytes (kv.h's varints).
 */
static int
worker_ex_put(sl_buf *b, uint32_t map, uint32_t attempt, uint32_t part,
	      const sl_buf *seg)
{
	unsigned char head[4 * SL_VARINT_MAX];
	size_t n = 0;
	int rv;

	n += sl_varint_put(head + n, map);
	n += sl_varint_put(head + n, attempt);
	n += sl_varint_put(head + n, part);
	n += sl_varint_put(head + n, seg->len);
	if ((rv = sl_buf_add(b, head, n)) != SL_OK)
		return rv;
	return sl_buf_add(b, seg->buf, seg->len);
}

/*
 * Fills send[d] with partition r of every map output m->maps names that
 * this worker holds, for d = r mod ranks. A named output that this worker
 * was said to hold (its endpoint is ours) and does not is an error. On
 * error the buffers are emptied: the exchange still takes place.
 */
static int
worker_ex_pack(worker *w, const sl_msg *m, uint32_t ranks, sl_buf *send,
	       sl_buf *err)
{
	const sl_map_output *mo;
	const worker_output *o;
	uint32_t i, r;
	int rv = SL_OK;

	for (i = 0; i < m->u.exchange.nmaps && rv == SL_OK; i++) {
		mo = &m->u.exchange.maps[i];
		for (o = w->outputs; o; o = o->next)
			if (o->job == m->u.exchange.job && o->map == mo->map &&
			    o->attempt == mo->attempt)
				break;
		if (o == NULL) {
			if (strcmp(mo->endpoint, w->shuffle_ep.buf) != 0)
				continue;
			sl_buf_addf(err, "no output of map task %u (attempt "
				    "%u) here", mo->map, mo->attempt);
			rv = SL_ENOTFOUND;
		} else if (o->nsegs != m->u.exchange.partitions) {
			sl_buf_addf(err, "map task %u has %u partitions, not "
				    "%u", mo->map, o->nsegs,
				    m->u.exchange.partitions);
			rv = SL_EPROTO;
		}
		for (r = 0; o && rv == SL_OK && r < o->nsegs; r++)
			rv = worker_ex_put(&send[r % ranks], mo->map,
					   mo->attempt, r, &o->segs[r]);
	}
	if (rv == SL_ENOMEM)
		sl_buf_addstr(err, "out of memory");
	for (i = 0; rv != SL_OK && i < ranks; i++)
		sl_buf_reset(&send[i]);
	return rv;
}

/* How many of partitions 0..R-1 go to rank me of ranks: r mod ranks = me. */
static uint32_t
worker_ex_mine(uint32_t r, uint32_t ranks, uint32_t me)
{
	return r > me ? (r - me - 1) / ranks + 1 : 0;
}

/*
 * Takes the segments received from one rank (untrusted framing: every
 * length is checked) into w->exchanged. have[] marks (map, r / ranks)
 * seen, so a duplicate or a stray segment is an error.
 */
static int
worker_ex_unpack(worker *w, const sl_msg *m, uint32_t ranks, uint32_t me,
		 const sl_buf *in, uint8_t *have, sl_buf *err)
{
	const unsigned char *p = (const unsigned char *)in->buf;
	const unsigned char *end = p + in->len;
	uint32_t nmaps = m->u.exchange.nmaps, mine;
	uint64_t v[4];
	worker_exseg *x;
	size_t n, k;

	mine = worker_ex_mine(m->u.exchange.partitions, ranks, me);
	while (p < end) {
		for (k = 0; k < 4; k++) {
			if ((n = sl_varint_get(p, end, &v[k])) == 0)
				goto bad;
			p += n;
		}
		/* map, attempt and partition must be the ones asked for */
		if (v[0] >= nmaps || v[1] != m->u.exchange.maps[v[0]].attempt ||
		    v[2] >= m->u.exchange.partitions || v[2] % ranks != me ||
		    v[3] > (uint64_t)(end - p) ||
		    have[v[0] * mine + v[2] / ranks])
			goto bad;
		have[v[0] * mine + v[2] / ranks] = 1;
		if ((x = calloc(1, sizeof(*x))) == NULL)
			return SL_ENOMEM;
		sl_buf_init(&x->seg);
		if (sl_buf_add(&x->seg, p, (size_t)v[3]) != SL_OK) {
			free(x);
			return SL_ENOMEM;
		}
		x->job = m->u.exchange.job;
		x->map = (uint32_t)v[0];
		x->attempt = (uint32_t)v[1];
		x->partition = (uint32_t)v[2];
		x->next = w->exchanged;
		w->exchanged = x;
		p += v[3];
	}
	return SL_OK;
bad:
	sl_buf_addf(err, "malformed exchange data at byte %zu",
		    (size_t)(p - (const unsigned char *)in->buf));
	return SL_EPROTO;
}

static void
worker_exchanged_drop(worker *w, uint64_t job, bool all)
{
	worker_exseg **pp = &w->exchanged, *x;

	while ((x = *pp) != NULL) {
		if (!all && x->job != job) {
			pp = &x->next;
			continue;
		}
		*pp = x->next;
		sl_buf_release(&x->seg);
		free(x);
	}
}

/*
 * EXCHANGE: the collective itself, on this (the main) thread. Every
 * worker rank enters sl_mpi_alltoallv whatever went wrong before, so no
 * peer waits for ever; errors are reported in EXCHANGED.
 */
static void
worker_on_exchange(worker *w, const sl_msg *m)
{
	const sl_mpi_group *g = w->cfg->group;
	uint32_t ranks = g ? sl_mpi_group_size(g) : 0, me = 0, i, mine;
	sl_buf *bufs = NULL, err = SL_BUF_INIT; /* ranks to send, then
						   ranks received */
	uint8_t *have = NULL;
	size_t nhave = 0, k;
	sl_msg r;
	int rv, xrv;

	memset(&r, 0, sizeof(r));
	r.type = SL_MSG_EXCHANGED;
	r.u.exchanged.job = m->u.exchange.job;
	if (g == NULL) {
		rv = SL_EUSAGE;
		sl_buf_addstr(&err, "this worker is not an MPI worker rank "
			      "(--shuffle mpi needs mpirun or srun)");
		goto reply;
	}
	me = sl_mpi_group_rank(g);
	mine = worker_ex_mine(m->u.exchange.partitions, ranks, me);
	nhave = (size_t)m->u.exchange.nmaps * mine;
	bufs = calloc(2 * (size_t)ranks, sizeof(*bufs));
	have = calloc(nhave ? nhave : 1, 1);
	for (i = 0; bufs && i < 2 * ranks; i++)
		sl_buf_init(&bufs[i]);
	if (bufs && have) {
		rv = worker_ex_pack(w, m, ranks, bufs, &err);
	} else {
		rv = SL_ENOMEM;
		sl_buf_addstr(&err, "out of memory");
		free(bufs);
		bufs = NULL;
	}
	/* NULL buffers: every rank learns that one cannot take part. */
	xrv = sl_mpi_alltoallv(w->cfg->group, bufs, bufs ? bufs + ranks : NULL,
			       &err);
	if (rv == SL_OK)
		rv = xrv;
	for (i = 0; rv == SL_OK && i < ranks; i++)
		rv = worker_ex_unpack(w, m, ranks, me, &bufs[ranks + i], have,
				      &err);
	for (k = 0; rv == SL_OK && k < nhave; k++) {
		if (have[k])
			continue;
		sl_buf_addf(&err, "partition %zu of map task %zu did not "
			    "arrive", (k % mine) * ranks + me, k / mine);
		rv = SL_EPROTO;
	}
	if (rv == SL_OK)
		worker_outputs_drop(w, m->u.exchange.job, false);
	else
		worker_exchanged_drop(w, m->u.exchange.job, false);
	r.u.exchanged.rank = me;
	r.u.exchanged.ranks = ranks;
	for (i = 0; bufs && i < 2 * ranks; i++)
		sl_buf_release(&bufs[i]);
	free(bufs);
	free(have);
reply:
	r.u.exchanged.status = rv;
	r.u.exchanged.error = err.buf;
	if (rv != SL_OK)
		sl_warn("worker %u: exchange of job %llu failed: %s", w->id,
			(unsigned long long)m->u.exchange.job, err.buf);
	worker_send(w, &r);
	sl_buf_release(&err);
	/* Time blocked in the collective is not the coordinator's silence:
	 * its heartbeats wait in the socket. */
	w->last_heard_ms = sl_now_ms();
}

/* The job is over: its attempts are obsolete, its map outputs unneeded. */
static void
worker_job_end(worker *w, uint64_t job)
{
	worker_attempt *a, *next;

	for (a = w->attempts; a; a = next) {
		next = a->next;
		if (a->task.u.task.id.job != job)
			continue;
		if (a->state == ATT_RUNNING) {
			atomic_store(&a->cancel, 1);
			continue;
		}
		unlink(a->res.temp_path.buf);
		worker_attempt_unlink(w, a);
		worker_attempt_free(a);
	}
	worker_outputs_drop(w, job, false);
	worker_exchanged_drop(w, job, false);
}

/*
 * Reads the chunk a FETCH asks for of a spilled map output's segment
 * into chunk and sets *total to the segment's length. Returns chunk, or
 * NULL when the request is past the segment or the file cannot be read
 * (the reducer then reports the output lost and the map is rerun).
 */
static const sl_buf *
worker_file_chunk(const worker_output *o, const sl_msg *m, sl_buf *chunk,
		  uint64_t *total)
{
	uint32_t p = m->u.fetch.partition;
	uint64_t start = p ? o->ends[p - 1] : 0, off = m->u.fetch.offset;
	size_t n, got;
	int fd, rv;

	*total = o->ends[p] - start;
	if (off > *total)
		return NULL;
	n = (size_t)(*total - off < m->u.fetch.max_bytes
		     ? *total - off : m->u.fetch.max_bytes);
	if (sl_buf_grow(chunk, n) != SL_OK ||
	    sl_open_read(o->path, &fd, NULL) != SL_OK)
		return NULL;
	rv = sl_pread(fd, o->path, chunk->buf, n, start + off, &got, NULL);
	close(fd);
	if (rv != SL_OK || got != n) {
		sl_warn("cannot read map output '%s'", o->path);
		return NULL;
	}
	chunk->len = n;
	return chunk;
}

static void
worker_on_fetch(worker *w, const sl_buf *peer, const sl_msg *m)
{
	const worker_output *o;
	const worker_exseg *x;
	const sl_buf *seg = NULL;
	sl_buf chunk = SL_BUF_INIT;
	sl_msg r;
	uint64_t off = m->u.fetch.offset, n = 0, total = 0, base = 0;

	for (o = w->outputs; o; o = o->next) {
		if (o->job == m->u.fetch.job && o->map == m->u.fetch.map &&
		    o->attempt == m->u.fetch.attempt &&
		    m->u.fetch.partition < o->nsegs) {
			seg = &o->segs[m->u.fetch.partition];
			break;
		}
	}
	for (x = w->exchanged; x && seg == NULL; x = x->next)
		if (x->job == m->u.fetch.job && x->map == m->u.fetch.map &&
		    x->attempt == m->u.fetch.attempt &&
		    x->partition == m->u.fetch.partition)
			seg = &x->seg;
	/* A spilled output is read from its file: the chunk asked for. */
	if (o && o->path) {
		seg = worker_file_chunk(o, m, &chunk, &total);
		base = off;
	} else if (seg) {
		total = seg->len;
	}
	memset(&r, 0, sizeof(r));
	r.type = SL_MSG_FETCH_REPLY;
	if (seg == NULL || off > total) {
		r.u.fetch_reply.status = SL_ENOTFOUND;
	} else {
		n = total - off;
		if (n > m->u.fetch.max_bytes)
			n = m->u.fetch.max_bytes;
		r.u.fetch_reply.total = total;
		r.u.fetch_reply.offset = off;
	}
	/* A reducer that went away makes the send fail: nothing to do. */
	sl_zsend(w->shuf, peer, &r, seg ? seg->buf + (off - base) : "",
		 (size_t)n);
	sl_buf_release(&chunk);
}

static void worker_rejoin(worker *w, const char *why);

static void
worker_on_ctrl(worker *w)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m;
	int rv;

	if ((rv = sl_zrecv(w->ctrl, false, NULL, &m, NULL, &err)) != SL_OK) {
		/* A coordinator of another version: nothing can work. */
		if (rv == SL_EVERSION) {
			sl_buf_addf(w->err, "coordinator '%s' speaks another "
				    "protocol: %s", w->cfg->coordinator,
				    err.buf);
			w->rv = SL_EUSAGE;
			w->stop = true;
			goto out;
		}
		sl_warn("worker %u: bad message from the coordinator: %s",
			w->id, err.buf);
		goto out;
	}
	w->last_heard_ms = sl_now_ms();
	switch (m.type) {
	case SL_MSG_WELCOME:
		w->id = m.u.welcome.worker;
		w->heartbeat_ms = m.u.welcome.heartbeat_ms;
		w->timeout_ms = m.u.welcome.timeout_ms;
		sl_loop_timer_in(w->loop, w->beat_timer, w->heartbeat_ms);
		break;
	case SL_MSG_HEARTBEAT:
		break;
	case SL_MSG_TASK:
		worker_on_task(w, &m);
		break;
	case SL_MSG_COMMIT_GO:
		worker_on_commit(w, &m.u.commit_go.id, true);
		break;
	case SL_MSG_KILL:
		worker_on_commit(w, &m.u.kill.id, false);
		break;
	case SL_MSG_JOB_END:
		worker_job_end(w, m.u.job_end.job);
		break;
	case SL_MSG_EXCHANGE:
		worker_on_exchange(w, &m);
		break;
	case SL_MSG_SHUTDOWN:
		w->stop = true;
		break;
	case SL_MSG_REJOIN:
		/* It does not know us: declared lost, or restarted. Not yet
		 * joined, it answers what we sent before our HELLO. */
		if (w->id == 0)
			break;
		if (w->cfg->rejoin) {
			worker_rejoin(w, "does not know this worker");
			break;
		}
		sl_buf_addf(w->err, "coordinator '%s' does not know this "
			    "worker (declared lost): this worker stops",
			    w->cfg->coordinator);
		w->rv = SL_ELOST;
		w->stop = true;
		break;
	default:
		sl_warn("worker %u: unexpected %s from the coordinator", w->id,
			sl_msg_type_name(m.type));
	}
	sl_msg_release(&m);
out:
	sl_buf_release(&err);
}

static void
worker_on_shuffle(worker *w)
{
	sl_buf peer = SL_BUF_INIT, err = SL_BUF_INIT;
	sl_msg m;

	if (sl_zrecv(w->shuf, true, &peer, &m, NULL, &err) != SL_OK) {
		sl_debug("worker %u: bad shuffle request: %s", w->id, err.buf);
	} else {
		if (m.type == SL_MSG_FETCH)
			worker_on_fetch(w, &peer, &m);
		else
			sl_debug("worker %u: unexpected %s on shuffle socket",
				 w->id, sl_msg_type_name(m.type));
		sl_msg_release(&m);
	}
	sl_buf_release(&peer);
	sl_buf_release(&err);
}

/* HELLO: who we are, how many slots, where our map outputs are. */
static int
worker_hello(worker *w)
{
	char host[256];
	sl_buf name = SL_BUF_INIT;
	sl_msg m;
	int rv;

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	sl_buf_addf(&name, "%s:%d", host, (int)getpid());
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_HELLO;
	m.u.hello.name = name.buf;
	m.u.hello.pid = (uint32_t)getpid();
	m.u.hello.slots = w->cfg->slots;
	m.u.hello.shuffle_endpoint = w->shuffle_ep.buf;
	rv = sl_zsend(w->ctrl, NULL, &m, NULL, 0);
	sl_buf_release(&name);
	return rv;
}

/* Stops every attempt (cancel, and join the running ones) and frees
 * them, with the temporary files of those that wait to commit. */
static void
worker_attempts_stop(worker *w)
{
	worker_attempt *a;

	for (a = w->attempts; a; a = a->next)
		atomic_store(&a->cancel, 1);
	while ((a = w->attempts) != NULL) {
		w->attempts = a->next;
		if (a->state == ATT_RUNNING)
			pthread_join(a->thread, NULL);
		else
			unlink(a->res.temp_path.buf);
		worker_attempt_free(a);
	}
}

/*
 * The coordinator fell silent, or says it does not know this worker (it
 * was restarted, or this worker was stopped past the timeout and declared
 * lost): its work here is void, as
 * the coordinator reruns what it needs. Attempts stop, map outputs go,
 * messages queued meanwhile are dropped unread (a stale COMMIT_GO among
 * them), and a new HELLO asks to join again; the DEALER reconnects by
 * itself to a coordinator that comes back at the same endpoint.
 */
static void
worker_rejoin(worker *w, const char *why)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m;
	zmq_pollitem_t item = { .socket = w->ctrl, .events = ZMQ_POLLIN };

	sl_warn("worker %u: coordinator '%s' %s: its work here is dropped; "
		"joining again", w->id, w->cfg->coordinator, why);
	worker_attempts_stop(w);
	worker_outputs_drop(w, 0, true);
	worker_exchanged_drop(w, 0, true);
	/* the finished attempts' notes on the PULL socket are stale too */
	while (zmq_poll(&item, 1, 0) > 0 &&
	       sl_zrecv(w->ctrl, false, NULL, &m, NULL, &err) == SL_OK)
		sl_msg_release(&m);
	item.socket = w->done;
	while (zmq_poll(&item, 1, 0) > 0) {
		zmq_msg_t z;

		zmq_msg_init(&z);
		zmq_msg_recv(&z, w->done, ZMQ_DONTWAIT);
		zmq_msg_close(&z);
	}
	sl_buf_release(&err);
	w->id = 0;
	w->last_heard_ms = sl_now_ms();
	worker_hello(w);
}

/*
 * The heartbeat timer. A worker that was stopped (SIGSTOP) past the
 * timeout has been declared lost and its work given to others, so it must
 * not act on the stale messages queued meanwhile (a COMMIT_GO among
 * them): this timer is overdue then, and the loop runs timers before it
 * reads any socket (cluster/loop.h), so the worker stops first.
 */
static void
worker_on_beat(sl_loop *loop, void *arg)
{
	worker *w = arg;
	sl_msg m;

	if (sl_now_ms() - w->last_heard_ms > w->timeout_ms) {
		if (w->cfg->rejoin) {
			worker_rejoin(w, "fell silent");
			return;
		}
		sl_buf_addf(w->err, "coordinator '%s' silent for more than %u "
			    "ms: this worker stops", w->cfg->coordinator,
			    w->timeout_ms);
		w->rv = SL_ELOST;
		sl_loop_stop(loop);
		return;
	}
	/* Not joined yet (no WELCOME): no heartbeat, which the coordinator
	 * would answer REJOIN; the silence above sends HELLO again. */
	if (w->id == 0)
		return;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_HEARTBEAT;
	m.u.heartbeat.worker = w->id;
	m.u.heartbeat.running = worker_running(w);
	worker_send(w, &m);
}

static void
worker_ctrl_readable(sl_loop *loop, void *arg)
{
	worker *w = arg;

	worker_on_ctrl(w);
	if (w->stop)
		sl_loop_stop(loop);
}

static void
worker_shuffle_readable(sl_loop *loop, void *arg)
{
	(void)loop;
	worker_on_shuffle(arg);
}

static void
worker_done_readable(sl_loop *loop, void *arg)
{
	(void)loop;
	worker_on_done(arg);
}

/* --- set-up and the loop ------------------------------------------------- */

static int
worker_open(worker *w, sl_buf *err)
{
	int rv;

	w->zctx = zmq_ctx_new();
	if (w->zctx == NULL) {
		sl_buf_addstr(err, "cannot create a ZeroMQ context");
		return SL_EIO;
	}
	w->ctrl = sl_zsock_new(w->zctx, ZMQ_DEALER, SL_PROTO_MAX_MSG, err);
	w->shuf = sl_zsock_new(w->zctx, ZMQ_ROUTER, 65536, err);
	w->done = sl_zsock_new(w->zctx, ZMQ_PULL, 64, err);
	if (!w->ctrl || !w->shuf || !w->done)
		return SL_EIO;
	if ((rv = sl_zsock_bind(w->shuf, w->cfg->shuffle_bind, &w->shuffle_ep,
				err)) != SL_OK ||
	    zmq_bind(w->done, WORKER_DONE_EP) != 0)
		return rv != SL_OK ? rv : SL_EIO;
	if (zmq_connect(w->ctrl, w->cfg->coordinator) != 0) {
		sl_buf_addf(err, "cannot connect to '%s': %s",
			    w->cfg->coordinator, zmq_strerror(zmq_errno()));
		return SL_EIO;
	}
	return worker_hello(w);
}

static void
worker_close(worker *w)
{
	worker_attempt *a;

	/* Stop the task threads: cancel, and interrupt blocking fetches. */
	for (a = w->attempts; a; a = a->next)
		atomic_store(&a->cancel, 1);
	if (w->zctx)
		zmq_ctx_shutdown(w->zctx);
	worker_attempts_stop(w);
	worker_outputs_drop(w, 0, true);
	worker_exchanged_drop(w, 0, true);
	sl_zsock_close(w->ctrl);
	sl_zsock_close(w->shuf);
	sl_zsock_close(w->done);
	if (w->zctx)
		zmq_ctx_term(w->zctx);
	sl_buf_release(&w->shuffle_ep);
	sl_buf_release(&w->swept);
}

int
sl_worker_run(const sl_worker_config *cfg, sl_buf *err)
{
	worker w;
	int rv;

	memset(&w, 0, sizeof(w));
	w.cfg = cfg;
	w.err = err;
	atomic_init(&w.held, 0);
	sl_buf_init(&w.shuffle_ep);
	sl_buf_init(&w.swept);
	mallopt(M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD);
	/* Until WELCOME says otherwise. */
	w.heartbeat_ms = 500;
	w.timeout_ms = 10000;
	w.last_heard_ms = sl_now_ms();
	/* Before HELLO, so before any task: what killed workers of this
	   host left (this one before a restart too) goes now. */
	worker_sweep(&w, sl_tmpdir(NULL));
	if ((rv = worker_open(&w, err)) != SL_OK)
		goto out;
	/* Finished attempts first, then fetches, then the coordinator's
	 * messages, in each turn. */
	if (sl_loop_new(&w.loop) != SL_OK ||
	    sl_loop_add_socket(w.loop, w.done, worker_done_readable, &w) ||
	    sl_loop_add_socket(w.loop, w.shuf, worker_shuffle_readable, &w) ||
	    sl_loop_add_socket(w.loop, w.ctrl, worker_ctrl_readable, &w) ||
	    (w.beat_timer = sl_loop_add_timer(w.loop, w.heartbeat_ms,
					      worker_on_beat, &w)) < 0) {
		sl_buf_addstr(err, "out of memory");
		rv = SL_ENOMEM;
		goto out;
	}
	if ((rv = sl_loop_run(w.loop, cfg->stop, err)) == SL_OK)
		rv = w.rv;
out:
	worker_close(&w);
	sl_loop_free(w.loop);
	return rv;
}
