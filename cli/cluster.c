/*
 * cluster.c - the commands of a cluster that stays up:
 *
 *   sluice coordinator [--listen URL]    runs until `sluice stop` or SIGTERM
 *   mpirun -np N sluice cluster          the same, with N-1 worker ranks
 *   sluice submit JOB ... -o OUT [--wait] a job to it (its id on stdout)
 *   sluice jobs | workers | stop          what it runs; stop it
 *   sluice status ID | logs ID | cancel ID
 *
 * Every client command takes --coordinator URL (else $SLUICE_COORDINATOR,
 * else tcp://127.0.0.1:7070) and --json (one JSON document on stdout,
 * made with jansson). A coordinator that does not answer within
 * CLI_CLIENT_TIMEOUT_MS is an error (exit 1). Workers join with `sluice
 * worker --connect URL` (cli/main.c). docs/cluster.md is the user's page.
 */
#include "cli.h"
#include "watch.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "client/client.h"
#include "cluster/mpi.h"
#include "common/input.h"
#include "cluster/zmsg.h"
#include "worker/worker.h"

/* --state's default: $SLUICE_STATE, else ~/.local/state/sluice. */
static void
cli_state_dir(sl_buf *out)
{
	const char *env = getenv("SLUICE_STATE"), *home = getenv("HOME");

	if (env && *env)
		sl_buf_addstr(out, env);
	else
		sl_buf_addf(out, "%s/.local/state/sluice",
			    home && *home ? home : ".");
}

static const char *
cli_coordinator_url(const char *given)
{
	const char *env = getenv("SLUICE_COORDINATOR");

	if (given)
		return given;
	return env && *env ? env : CLI_DEFAULT_COORDINATOR;
}

/* Whether url stays on this host: ipc://, inproc://, or tcp:// on a
 * loopback address. */
static bool
cli_loopback(const char *url)
{
	static const char *const ok[] = { "tcp://127.", "tcp://localhost:",
					  "tcp://[::1]:", "ipc://" };
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(ok); i++)
		if (strncmp(url, ok[i], strlen(ok[i])) == 0)
			return true;
	return false;
}

/* --- coordinator ---------------------------------------------------------- */

/* What `sluice coordinator` and `sluice cluster` were asked. */
typedef struct cli_coord_args {
	sl_coord_config cfg;
	sl_buf listen;   /* the client endpoint to bind, ":0" made ":*" */
	sl_buf state;    /* --state */
	uint32_t slots;  /* cluster: worker ranks' slots (0: their cores) */
} cli_coord_args;

static void
cli_coord_parse(int argc, char **argv, cli_coord_args *a, bool cluster)
{
	const char *url = CLI_DEFAULT_COORDINATOR, *val;
	const cli_opt *o;
	int i, verbose = 0;
	size_t len;

	memset(a, 0, sizeof(*a));
	sl_buf_init(&a->listen);
	sl_buf_init(&a->state);
	sl_coord_config_default(&a->cfg);
	cli_state_dir(&a->state);
	for (i = 2; i < argc; i++) {
		o = cli_match(cli_coord_ids, cli_coord_nids,
			      argc, argv, &i, &val);
		if (o == NULL || (o->id == OPT_SLOTS && !cluster))
			cli_usage_error("unknown option '%s' for 'sluice %s'",
					argv[i], argv[1]);
		switch (o->id) {
		case OPT_LISTEN: url = val; break;
		case OPT_STATE:
			sl_buf_reset(&a->state);
			sl_buf_addstr(&a->state, val);
			break;
		case OPT_HB_INTERVAL:
			a->cfg.heartbeat_ms = (uint32_t)cli_number(o->name, val,
								   10, 60000);
			break;
		case OPT_HB_TIMEOUT:
			a->cfg.timeout_ms = (uint32_t)cli_number(o->name, val,
								 100, 3600000);
			break;
		case OPT_SLOTS:
			a->slots = (uint32_t)cli_number(o->name, val, 1, 1024);
			break;
		case OPT_MAX_RUNNING:
			a->cfg.max_running = (uint32_t)cli_number(o->name, val,
								  1, 64);
			break;
		case OPT_VERBOSE: verbose++; break;
		default: break;
		}
	}
	if (a->cfg.timeout_ms <= 2 * a->cfg.heartbeat_ms)
		cli_usage_error("--heartbeat-timeout must be more than twice "
				"--heartbeat-interval");
	if (!cli_loopback(url))
		cli_usage_error("--listen '%s' is not a loopback or ipc:// "
				"address: nothing listens beyond loopback "
				"until nodes authenticate", url);
	sl_log_set_level(verbose ? SL_LOG_INFO + verbose - 1 : SL_LOG_WARN);
	/* "...:0" picks a free port, as ZeroMQ's "...:*" does. */
	sl_buf_addstr(&a->listen, url);
	len = strlen(url);
	if (len > 2 && strcmp(url + len - 2, ":0") == 0 &&
	    strncmp(url, "tcp://", 6) == 0) {
		sl_buf_setlen(&a->listen, a->listen.len - 1);
		sl_buf_addch(&a->listen, '*');
	}
	a->cfg.state_dir = a->state.buf;
	memset(a->cfg.client_id, 0, sizeof(a->cfg.client_id)); /* any */
}

static void
cli_coord_args_release(cli_coord_args *a)
{
	sl_buf_release(&a->listen);
	sl_buf_release(&a->state);
}

/*
 * Starts a coordinator bound to a->listen (and to also, when not NULL,
 * whose bound endpoint goes to also_bound) and prints the client endpoint
 * on stdout. SL_OK with *c and *zctx, else the error printed (SL_EUSAGE:
 * its --state is in use).
 */
static int
cli_coord_open(cli_coord_args *a, const char *also, sl_buf *also_bound,
	       void **zctx, sl_coord **c)
{
	sl_buf bound = SL_BUF_INIT, err = SL_BUF_INIT;
	int rv = SL_EIO;

	cli_catch_signals();
	a->cfg.stop = &cli_stop;
	*c = NULL;
	if ((*zctx = zmq_ctx_new()) == NULL ||
	    (rv = sl_coord_new(c, *zctx, &a->cfg, &err)) != SL_OK ||
	    (rv = sl_coord_bind(*c, a->listen.buf, &bound, &err)) != SL_OK ||
	    (also &&
	     (rv = sl_coord_bind(*c, also, also_bound, &err)) != SL_OK)) {
		sl_error("coordinator: %s", err.len ? err.buf : "cannot start");
		rv = rv == SL_OK ? SL_EIO : rv;
	} else {
		printf("%s\n", bound.buf);
		fflush(stdout);
		sl_info("coordinator listening on %s", bound.buf);
	}
	sl_buf_release(&bound);
	sl_buf_release(&err);
	return rv;
}

/* Serves until stopped: 0, or EXIT_JOB with the error printed. */
static int
cli_coord_serve(sl_coord *c)
{
	sl_buf err = SL_BUF_INIT;
	int code = 0;

	if (sl_coord_run(c, &err) != SL_OK) {
		sl_error("coordinator: %s", err.buf);
		code = EXIT_JOB;
	}
	sl_buf_release(&err);
	return code;
}

static void
cli_coord_close(void *zctx, sl_coord *c)
{
	sl_coord_free(c);
	if (zctx)
		zmq_ctx_term(zctx);
}

int
cli_cmd_coordinator(int argc, char **argv)
{
	cli_coord_args a;
	sl_coord *c;
	void *zctx;
	int rv, code;

	cli_coord_parse(argc, argv, &a, false);
	rv = cli_coord_open(&a, NULL, NULL, &zctx, &c);
	code = rv == SL_OK ? cli_coord_serve(c)
	       : rv == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
	cli_coord_close(zctx, c);
	cli_coord_args_release(&a);
	return code;
}

/*
 * `mpirun -np N sluice cluster`: rank 0 the coordinator (clients reach it
 * at --listen, the worker ranks at tcp://HOST:*, its endpoint broadcast
 * with MPI, as `sluice run` under mpirun does), ranks 1..N-1 workers with
 * a slot per core of their binding, until `sluice stop`. Every rank exits
 * with rank 0's status.
 */
int
cli_cmd_cluster(int argc, char **argv)
{
	cli_coord_args a;
	sl_buf err = SL_BUF_INIT, host = SL_BUF_INIT, ep = SL_BUF_INIT;
	sl_worker_config wc = { .stop = &cli_stop };
	sl_topo_info info;
	sl_coord *c = NULL;
	void *zctx = NULL;
	int rank, size, rv, code = EXIT_JOB;

	cli_coord_parse(argc, argv, &a, true);
	if ((rv = sl_mpi_init(&rank, &size, &err)) != SL_OK) {
		sl_error("%s", err.buf);
		cli_coord_args_release(&a);
		sl_buf_release(&err);
		return rv == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
	}
	if (size < 2) {
		sl_error("'sluice cluster' runs under mpirun or srun with 2 or "
			 "more ranks: rank 0 the coordinator, the others "
			 "workers");
		code = EXIT_USAGE;
		goto out;
	}
	sl_buf_addstr(&host, "tcp://");
	if (rank == 0) {
		rv = sl_mpi_host(&host, &err);
		sl_buf_addstr(&host, ":*");
		if (rv != SL_OK)
			sl_error("%s", err.buf);
		else if (cli_coord_open(&a, host.buf, &ep, &zctx, &c) != SL_OK)
			sl_buf_reset(&ep);
		/* "" when it could not start, so that no rank waits */
		sl_buf_reset(&err);
		if (sl_mpi_bcast_str(&ep, &err) != SL_OK)
			sl_error("%s", err.buf);
		code = ep.len ? cli_coord_serve(c) : EXIT_JOB;
		cli_coord_close(zctx, c);
	} else if (sl_mpi_bcast_str(&ep, &err) == SL_OK && ep.len) {
		rv = sl_mpi_host(&host, &err);
		sl_buf_addstr(&host, ":*");
		if (rv == SL_OK &&
		    (rv = sl_bind_setup(SL_BIND_CORE, &info, &err)) == SL_OK) {
			wc.coordinator = ep.buf;
			wc.shuffle_bind = host.buf;
			wc.slots = a.slots ? a.slots : info.cores;
			rv = sl_worker_run(&wc, &err);
			sl_bind_teardown();
		}
		if (rv != SL_OK)
			sl_error("worker rank %d: %s", rank, err.buf);
	}
	/* Every rank exits with the coordinator's status. */
	sl_buf_reset(&err);
	if (sl_mpi_bcast_int(&code, &err) != SL_OK) {
		sl_error("%s", err.buf);
		code = EXIT_JOB;
	}
out:
	sl_mpi_finalize();
	cli_coord_args_release(&a);
	sl_buf_release(&err);
	sl_buf_release(&host);
	sl_buf_release(&ep);
	return code;
}

/* --- client commands ------------------------------------------------------- */

static sl_client *
cli_connect(void *zctx, const char *url)
{
	sl_buf err = SL_BUF_INIT;
	sl_client *c;

	if (sl_client_new(&c, zctx, url, NULL, 0, CLI_CLIENT_TIMEOUT_MS,
			  &err) != SL_OK) {
		sl_error("%s", err.buf);
		c = NULL;
	}
	sl_buf_release(&err);
	return c;
}

/* One request and its answer; prints the error and returns false. */
static bool
cli_ask(sl_client *c, int type, uint64_t job, int reply_type, sl_msg *reply)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m;
	int rv;

	memset(&m, 0, sizeof(m));
	m.type = (uint8_t)type;
	m.u.status.job = job;
	if ((rv = sl_client_request(c, &m, reply_type, reply, &err)) != SL_OK)
		sl_error("%s", err.buf);
	sl_buf_release(&err);
	return rv == SL_OK;
}

/* An absolute path for path, as the coordinator and the workers, which
 * run elsewhere, must read it. Returns a string to free. */
static char *
cli_absolute(const char *path)
{
	char cwd[PATH_MAX];
	sl_buf b = SL_BUF_INIT;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	sl_buf_addf(&b, "%s/%s", cwd, path);
	return sl_buf_detach(&b, NULL);
}

/* The total slots of the coordinator's workers, at least 1: the default
 * number of partitions of a submitted job, as `sluice run` takes one per
 * worker process. */
static uint32_t
cli_cluster_slots(sl_client *c)
{
	uint64_t n = 0;
	uint32_t i;
	sl_msg m;

	if (!cli_ask(c, SL_MSG_WORKERS, 0, SL_MSG_WORKER_LIST, &m))
		return 0;
	for (i = 0; i < m.u.worker_list.nworkers; i++)
		n += m.u.worker_list.workers[i].slots;
	sl_msg_release(&m);
	return n == 0 ? 1 : n > 100000 ? 100000 : (uint32_t)n;
}

/* While submit --wait waits: the watch; a signal stops the wait, not the
 * job. */
static int
cli_on_submit_wait(void *arg, const sl_msg *m, sl_buf *err)
{
	cli_watch *w = arg;
	int rv = cli_watch_event(w, m);

	if (rv != SL_OK)
		return rv;
	if (cli_stop) {
		sl_buf_addf(err, "interrupted by signal %d: job %llu goes on "
			    "('sluice cancel %llu' stops it)", (int)cli_stop,
			    (unsigned long long)w->job,
			    (unsigned long long)w->job);
		return SL_ECANCELED;
	}
	return SL_OK;
}

int
cli_cmd_submit(int argc, char **argv)
{
	cli_run r;
	sl_job_ref ref;
	sl_buf err = SL_BUF_INIT;
	sl_strlist files = { 0 };
	sl_client *c = NULL;
	sl_msg m, done;
	cli_watch watch;
	uint64_t job = 0;
	void *zctx = NULL;
	uint32_t i;
	int code = EXIT_JOB, rv;
	char *output = NULL;

	memset(&done, 0, sizeof(done));
	cli_parse_run(argc, argv, &r, &ref, CLI_SUBMIT);
	sl_log_set_level(r.verbose ? SL_LOG_INFO + r.verbose - 1
				   : SL_LOG_WARN);
	code = EXIT_USAGE;
	if (cli_check(&r) != 0)
		goto out;
	if (r.stream)
		cli_stream_check(&r);
	/* A missing input is found here, before anything is queued (the
	 * coordinator expands the inputs again when the job starts). */
	if (!r.stream &&
	    sl_input_expand(r.inputs, r.ninputs, &files, &err) != SL_OK) {
		sl_error("%s", err.buf);
		goto out; /* code is EXIT_USAGE */
	}
	code = EXIT_JOB;
	/* The coordinator and the workers do not run in our directory. */
	for (i = 0; i < r.ninputs; i++)
		r.inputs[i] = cli_absolute(r.inputs[i]);
	output = cli_absolute(r.stream ? "" : r.output);
	if (strchr(r.spec.job, '/'))
		r.spec.job = cli_absolute(r.spec.job);
	cli_catch_signals();
	if ((zctx = zmq_ctx_new()) == NULL ||
	    (c = cli_connect(zctx, cli_coordinator_url(r.coordinator))) ==
		    NULL)
		goto out;
	if (r.spec.partitions == 0 &&
	    (r.spec.partitions = cli_cluster_slots(c)) == 0)
		goto out;
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SUBMIT;
	m.u.submit.spec = r.spec;
	m.u.submit.inputs = r.inputs;
	m.u.submit.ninputs = r.ninputs;
	m.u.submit.output_dir = output;
	m.u.submit.split_size = r.split_size;
	m.u.submit.overwrite = r.overwrite;
	m.u.submit.stream = r.stream_spec;
	if (sl_client_submit(c, &m, &job, &done, &err) != SL_OK) {
		sl_error("cannot submit the job: %s", err.buf);
		goto out;
	}
	if (job == 0) { /* refused at once */
		code = cli_job_done(&r, &done);
		goto out;
	}
	if (r.json)
		printf("{\"id\": %llu}\n", (unsigned long long)job);
	else
		printf("%llu\n", (unsigned long long)job);
	fflush(stdout);
	code = 0;
	if (!r.wait)
		goto out;
	cli_watch_init(&watch, r.progress, c, job);
	rv = sl_client_wait(c, job, 100, cli_on_submit_wait, &watch, &done,
			    &err);
	cli_watch_erase(&watch);
	if (rv == SL_ELOST && watch.ended != SL_JOB_QUEUED) {
		code = cli_watch_exit(&watch, output);
		cli_watch_release(&watch);
		goto out;
	}
	cli_watch_release(&watch);
	if (rv != SL_OK) {
		sl_error("%s", err.buf);
		code = rv == SL_ECANCELED ? 128 + cli_stop : EXIT_JOB;
		goto out;
	}
	r.output = output;
	code = cli_job_done(&r, &done);
out:
	sl_msg_release(&done);
	sl_strlist_release(&files);
	sl_client_free(c);
	if (zctx)
		zmq_ctx_term(zctx);
	if (output) {
		for (i = 0; i < r.ninputs; i++)
			free(r.inputs[i]);
		if (r.spec.job != argv[2])
			free(r.spec.job);
	}
	free(output);
	cli_stream_release(&r);
	sl_job_unload(&ref);
	free(r.inputs);
	free(r.opts);
	sl_buf_release(&err);
	return code;
}

/* "2026-12-03 11:42:47" in local time, or "-" for 0. */
static const char *
cli_time(uint64_t wall_ms, char buf[32])
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;

	if (wall_ms == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		return "-";
	return buf;
}

/* Seconds a job ran (so far), or -1 while queued. */
static double
cli_duration(const sl_job_info *j)
{
	struct timespec ts;
	uint64_t end = j->ended_ms;

	if (j->started_ms == 0)
		return -1;
	if (end == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		end = (uint64_t)ts.tv_sec * 1000 +
		      (uint64_t)ts.tv_nsec / 1000000;
	}
	return end > j->started_ms ? (double)(end - j->started_ms) / 1000.0
				   : 0.0;
}

static json_t *
cli_job_json(const sl_job_info *j)
{
	json_t *o = json_pack("{sIsssssIsIsIsisisisisIssss}", "id",
			 (json_int_t)j->id, "job", j->job, "state",
			 sl_job_state_name(j->state), "submitted_ms",
			 (json_int_t)j->submitted_ms, "started_ms",
			 (json_int_t)j->started_ms, "ended_ms",
			 (json_int_t)j->ended_ms, "maps", (int)j->maps,
			 "maps_done", (int)j->maps_done, "reduces",
			 (int)j->reduces, "reduces_done", (int)j->reduces_done,
			 "bytes_in", (json_int_t)j->bytes_in, "output_dir",
			 j->output_dir, "error", j->error);

	/* A stream: its batches, and its last one's progress (as JSON). */
	if (o && j->stream) {
		json_t *p = j->progress && j->progress[0]
				    ? json_loads(j->progress, 0, NULL)
				    : NULL;

		json_object_set_new(o, "stream", json_true());
		json_object_set_new(o, "batches", json_integer(
			(json_int_t)j->batches));
		json_object_set_new(o, "last_batch", p ? p : json_null());
	}
	return o;
}

/* Prints v (which it frees) on stdout; false when it could not. */
static bool
cli_print_json(json_t *v)
{
	char *s = v ? json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;

	json_decref(v);
	if (s == NULL) {
		sl_error("cannot make JSON: out of memory");
		return false;
	}
	printf("%s\n", s);
	free(s);
	return true;
}

static bool
cli_print_jobs(const sl_msg *m, bool json)
{
	const sl_job_info *j;
	json_t *a;
	char t[32];
	uint32_t i;

	if (json) {
		a = json_array();
		for (i = 0; a && i < m->u.job_list.njobs; i++)
			json_array_append_new(a,
					      cli_job_json(&m->u.job_list.jobs[i]));
		return cli_print_json(a);
	}
	printf("%-6s %-16s %-9s %-20s %-19s %s\n", "ID", "JOB", "STATE",
	       "PROGRESS", "SUBMITTED", "DURATION");
	for (i = 0; i < m->u.job_list.njobs; i++) {
		char prog[48];
		double d;

		j = &m->u.job_list.jobs[i];
		d = cli_duration(j);
		snprintf(prog, sizeof(prog), "map %u/%u red %u/%u",
			 j->maps_done, j->maps, j->reduces_done, j->reduces);
		printf("%-6llu %-16.16s %-9s %-20s %-19s ",
		       (unsigned long long)j->id, j->job,
		       sl_job_state_name(j->state), prog,
		       cli_time(j->submitted_ms, t));
		if (d < 0)
			printf("-\n");
		else
			printf("%.1fs\n", d);
	}
	return true;
}

static const char *
cli_kind_name(int kind)
{
	return kind == SL_TASK_MAP ? "map" : "reduce";
}

static const char *
cli_attempt_state_name(int state)
{
	static const char *const names[] = { "running", "succeeded",
					     "failed", "aborted" };

	return state >= 0 && state <= SL_ATTEMPT_ABORTED ? names[state] : "?";
}

static json_t *
cli_counters_json(const sl_msg *log)
{
	json_t *o = json_object();
	uint32_t i;

	for (i = 0; o && i < log->u.job_log.ncounters; i++)
		json_object_set_new(o, log->u.job_log.counters[i].name,
				    json_integer(log->u.job_log.counters[i]
							 .value));
	return o;
}

static json_t *
cli_attempt_json(const sl_attempt_info *a)
{
	return json_pack("{sssisisisIsIsssbss}", "kind",
			 cli_kind_name(a->kind), "task", (int)a->task,
			 "attempt", (int)a->attempt, "worker", (int)a->worker,
			 "started_ms", (json_int_t)a->started_ms, "ended_ms",
			 (json_int_t)a->ended_ms, "state",
			 cli_attempt_state_name(a->state), "speculative",
			 (int)a->speculative, "error", a->error);
}

/* Attempt a before b in time; ties keep the log's order. */
static int
cli_attempt_cmp(const void *pa, const void *pb)
{
	const sl_attempt_info *a = pa, *b = pb;

	if (a->started_ms != b->started_ms)
		return a->started_ms < b->started_ms ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->task != b->task)
		return a->task < b->task ? -1 : 1;
	return a->attempt < b->attempt ? -1 : a->attempt > b->attempt;
}

/* sluice logs: every attempt, in the order they started. */
static bool
cli_print_log(sl_msg *log, bool json)
{
	sl_attempt_info *v = log->u.job_log.attempts;
	uint32_t i, n = log->u.job_log.nattempts;
	json_t *o, *a;
	char t[32];

	if (n)
		qsort(v, n, sizeof(*v), cli_attempt_cmp);
	if (json) {
		a = json_array();
		for (i = 0; a && i < n; i++)
			json_array_append_new(a, cli_attempt_json(&v[i]));
		o = json_pack("{sIsoso}", "job",
			      (json_int_t)log->u.job_log.job, "attempts", a,
			      "counters", cli_counters_json(log));
		return cli_print_json(o);
	}
	printf("%-14s %-7s %-6s %-10s %-19s %-9s %s\n", "TASK", "ATTEMPT",
	       "WORKER", "STATE", "STARTED", "DURATION", "ERROR");
	for (i = 0; i < n; i++) {
		char task[32], dur[32];

		snprintf(task, sizeof(task), "%s %u", cli_kind_name(v[i].kind),
			 v[i].task);
		if (v[i].ended_ms >= v[i].started_ms && v[i].ended_ms)
			snprintf(dur, sizeof(dur), "%.3fs",
				 (double)(v[i].ended_ms - v[i].started_ms) /
					 1000.0);
		else
			snprintf(dur, sizeof(dur), "-");
		printf("%-14s %-7u %-6u %-10s %-19s %-9s %s%s\n", task,
		       v[i].attempt, v[i].worker,
		       cli_attempt_state_name(v[i].state),
		       cli_time(v[i].started_ms, t), dur,
		       v[i].speculative ? "(speculative) " : "", v[i].error);
	}
	return true;
}

/* sluice status: the job, its counters and its failed attempts (log may
 * be NULL: a coordinator that kept none). */
static bool
cli_print_status(const sl_job_info *j, const sl_msg *log, bool json)
{
	char t[32];
	double d = cli_duration(j);
	uint32_t i, n = log ? log->u.job_log.nattempts : 0;

	if (json) {
		json_t *o = cli_job_json(j), *f = json_array();

		for (i = 0; f && i < n; i++)
			if (log->u.job_log.attempts[i].state ==
			    SL_ATTEMPT_FAILED)
				json_array_append_new(
					f, cli_attempt_json(
						   &log->u.job_log.attempts[i]));
		if (o && log) {
			json_object_set_new(o, "counters",
					    cli_counters_json(log));
			json_object_set_new(o, "attempts", json_integer(n));
		}
		if (o)
			json_object_set_new(o, "failed_attempts", f);
		else
			json_decref(f);
		return cli_print_json(o);
	}
	printf("job        %llu\n", (unsigned long long)j->id);
	printf("name       %s\n", j->job);
	printf("state      %s\n", sl_job_state_name(j->state));
	if (j->stream) {
		printf("stream     %llu batch(es) committed\n",
		       (unsigned long long)j->batches);
		printf("partitions %u\n", j->reduces);
		if (j->progress && j->progress[0])
			printf("last batch %s\n", j->progress);
	} else {
		printf("maps       %u of %u done\n", j->maps_done, j->maps);
		printf("reduces    %u of %u done\n", j->reduces_done,
		       j->reduces);
		printf("bytes in   %llu\n", (unsigned long long)j->bytes_in);
	}
	printf("submitted  %s\n", cli_time(j->submitted_ms, t));
	printf("started    %s\n", cli_time(j->started_ms, t));
	printf("ended      %s\n", cli_time(j->ended_ms, t));
	if (d >= 0)
		printf("duration   %.1f s\n", d);
	printf("%s %s\n", j->stream ? "sink      " : "output    ",
	       j->output_dir);
	if (j->error[0])
		printf("error      %s\n", j->error);
	if (log == NULL)
		return true;
	printf("attempts   %u ('sluice logs %llu' lists them)\n", n,
	       (unsigned long long)j->id);
	for (i = 0; i < log->u.job_log.ncounters; i++)
		printf("counter    %s = %lld\n", log->u.job_log.counters[i].name,
		       (long long)log->u.job_log.counters[i].value);
	for (i = 0; i < n; i++) {
		const sl_attempt_info *a = &log->u.job_log.attempts[i];

		if (a->state == SL_ATTEMPT_FAILED)
			printf("failed     %s task %u attempt %u on worker %u: "
			       "%s\n", cli_kind_name(a->kind), a->task,
			       a->attempt, a->worker, a->error);
	}
	return true;
}

/* A live worker's state: whether its slots are free, from its heartbeat. */
static const char *
cli_worker_state(const sl_worker_info *w)
{
	return w->busy == 0 ? "idle" : w->busy < w->slots ? "busy" : "full";
}

static bool
cli_print_workers(const sl_msg *m, bool json)
{
	const sl_worker_info *w;
	json_t *a;
	uint32_t i;

	if (json) {
		a = json_array();
		for (i = 0; a && i < m->u.worker_list.nworkers; i++) {
			w = &m->u.worker_list.workers[i];
			json_array_append_new(a, json_pack(
				"{sisssssisisIss}", "id", (int)w->id, "name",
				w->name, "endpoint", w->endpoint, "slots",
				(int)w->slots, "busy", (int)w->busy,
				"silent_ms", (json_int_t)w->silent_ms, "state",
				cli_worker_state(w)));
		}
		return cli_print_json(a);
	}
	printf("%-4s %-24s %-5s %-4s %-5s %-14s %s\n", "ID", "NAME", "SLOTS",
	       "BUSY", "STATE", "LAST HEARTBEAT", "SHUFFLE");
	for (i = 0; i < m->u.worker_list.nworkers; i++) {
		char ago[32];

		w = &m->u.worker_list.workers[i];
		snprintf(ago, sizeof(ago), "%.1fs ago",
			 (double)w->silent_ms / 1000.0);
		printf("%-4u %-24.24s %-5u %-4u %-5s %-14s %s\n", w->id,
		       w->name, w->slots, w->busy, cli_worker_state(w), ago,
		       w->endpoint);
	}
	return true;
}

/*
 * The attempt log of job into *log (released by the caller). A refusal
 * (no such job, no log kept) is an error when `needed`, else a log whose
 * status says so. False, with the error printed, when it could not be had.
 */
static bool
cli_job_log(sl_client *c, uint64_t id, sl_msg *log, bool needed)
{
	sl_buf err = SL_BUF_INIT;
	int rv = sl_client_log(c, id, log, &err);

	if (rv != SL_OK)
		sl_error("%s", err.buf);
	else if (needed && log->u.job_log.status != SL_OK)
		sl_error("%s", log->u.job_log.error);
	sl_buf_release(&err);
	return rv == SL_OK && (!needed || log->u.job_log.status == SL_OK);
}

/* A job id argument, or a usage error. */
static uint64_t
cli_job_id(const char *cmd, const char *v)
{
	if (v == NULL)
		cli_usage_error("'%s' needs a job id: sluice %s ID", cmd, cmd);
	return cli_number("job id", v, 1, UINT64_MAX);
}

int
cli_cmd_client(int argc, char **argv)
{
	const char *cmd = argv[1], *url = NULL, *val, *arg = NULL;
	const cli_opt *o;
	sl_client *c = NULL;
	void *zctx = NULL;
	bool json = false, ok = false;
	uint64_t id = 0;
	sl_buf err = SL_BUF_INIT;
	sl_msg m, log;
	int i, verbose = 0;

	memset(&m, 0, sizeof(m));
	memset(&log, 0, sizeof(log));
	for (i = 2; i < argc; i++) {
		if (argv[i][0] != '-') {
			if (arg)
				cli_usage_error("unexpected argument '%s'",
						argv[i]);
			arg = argv[i];
			continue;
		}
		o = cli_match(cli_client_ids, cli_client_nids,
			      argc, argv, &i, &val);
		if (o == NULL)
			cli_usage_error("unknown option '%s' for 'sluice %s'",
					argv[i], cmd);
		if (o->id == OPT_COORDINATOR)
			url = val;
		else if (o->id == OPT_JSON)
			json = true;
		else
			verbose++;
	}
	sl_log_set_level(verbose ? SL_LOG_INFO + verbose - 1 : SL_LOG_WARN);
	if (strcmp(cmd, "status") == 0 || strcmp(cmd, "cancel") == 0 ||
	    strcmp(cmd, "logs") == 0)
		id = cli_job_id(cmd, arg);
	else if (arg)
		cli_usage_error("unexpected argument '%s'", arg);
	if ((zctx = zmq_ctx_new()) == NULL ||
	    (c = cli_connect(zctx, cli_coordinator_url(url))) == NULL)
		goto out;
	if (strcmp(cmd, "jobs") == 0) {
		ok = cli_ask(c, SL_MSG_LIST, 0, SL_MSG_JOB_LIST, &m) &&
		     cli_print_jobs(&m, json);
	} else if (strcmp(cmd, "status") == 0) {
		ok = cli_ask(c, SL_MSG_STATUS, id, SL_MSG_JOB_LIST, &m);
		if (ok && m.u.job_list.njobs == 0) {
			sl_error("no job %llu", (unsigned long long)id);
			ok = false;
		} else if (ok) {
			ok = cli_job_log(c, id, &log, false);
			ok = ok && cli_print_status(&m.u.job_list.jobs[0],
						    log.u.job_log.status == SL_OK
							    ? &log
							    : NULL,
						    json);
		}
	} else if (strcmp(cmd, "logs") == 0) {
		ok = cli_job_log(c, id, &log, true) && cli_print_log(&log, json);
	} else if (strcmp(cmd, "cancel") == 0) {
		ok = cli_ask(c, SL_MSG_CANCEL, id, SL_MSG_CANCELED, &m);
		if (ok && m.u.canceled.status != SL_OK) {
			sl_error("cannot cancel job %llu: %s",
				 (unsigned long long)id, m.u.canceled.error);
			ok = false;
		} else if (ok && json) {
			ok = cli_print_json(json_pack("{sIss}", "id",
						      (json_int_t)id, "state",
						      "canceled"));
		} else if (ok) {
			fprintf(stderr, "sluice: job %llu canceled\n",
				(unsigned long long)id);
		}
	} else if (strcmp(cmd, "workers") == 0) {
		ok = cli_ask(c, SL_MSG_WORKERS, 0, SL_MSG_WORKER_LIST, &m) &&
		     cli_print_workers(&m, json);
	} else { /* stop: answered once jobs and workers are stopped */
		ok = cli_ask(c, SL_MSG_SHUTDOWN, 0, SL_MSG_SHUTDOWN, &m);
		if (ok && json)
			ok = cli_print_json(json_pack(
				"{ssss}", "coordinator", sl_client_endpoint(c),
				"state", "stopped"));
	}
out:
	sl_msg_release(&m);
	sl_msg_release(&log);
	sl_client_free(c);
	if (zctx)
		zmq_ctx_term(zctx);
	sl_buf_release(&err);
	return ok ? 0 : EXIT_JOB;
}
