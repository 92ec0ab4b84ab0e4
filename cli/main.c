/*
 * main.c - the `sluice` command.
 *
 *   sluice run JOB [options] INPUT... -o OUTDIR   a job on this machine,
 *                                                 or under mpirun/srun
 *   sluice worker --connect ENDPOINT [...]        a worker process
 *   sluice info                                   topology, slots, endpoints
 *
 * `run` starts a coordinator on a thread of this process and local worker
 * processes, submits the job to the coordinator with the same SUBMIT
 * message a standalone coordinator accepts, waits for JOB_DONE, shuts
 * everything down and exits 0 (success), 1 (job failed) or 2 (usage).
 * Under mpirun or srun (cluster/mpi.h) rank 0 does the same with tcp://
 * endpoints and ranks 1..N-1 are the workers; see docs/mpi.md.
 * Only this file calls exit().
 *
 * One table of options (cli/options.c) drives parsing and --help; a
 * job's own options come from its sl_job.options table.
 */
#include "sl_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "client/client.h"
#include "cluster/bind.h"
#include "cluster/launch.h"
#include "cluster/mpi.h"
#include "cluster/zmsg.h"
#include "common/input.h"
#include "coordinator/coord.h"
#include "jobs/jobs.h"
#include "shuffle/spill.h"
#include "worker/task.h"
#include "worker/worker.h"

#include "cli.h"
#include "watch.h"

static void
cli_help(FILE *f)
{
	size_t i, k;

	fprintf(f,
		"usage: sluice run JOB [options] INPUT... -o OUTDIR\n"
		"       sluice coordinator [--listen URL] [options]\n"
		"       mpirun -np N sluice cluster [--listen URL] [options]\n"
		"       sluice worker --connect URL [options]\n"
		"       sluice submit JOB [options] INPUT... -o OUTDIR "
		"[--wait]\n"
		"       sluice stream JOB [options] --source file:DIR --sink "
		"file:DIR --checkpoint DIR\n"
		"       sluice jobs | workers | stop [--coordinator URL] "
		"[--json]\n"
		"       sluice status ID | logs ID | cancel ID [--coordinator URL] "
		"[--json]\n"
		"       sluice info\n"
		"       sluice --help | --version\n\n"
		"Runs a MapReduce job on this machine: a coordinator and local "
		"worker\nprocesses over ZeroMQ. INPUT is a file, a directory "
		"(its files) or a glob.\nUnder mpirun or srun, rank 0 is the "
		"coordinator and ranks 1..N-1 the workers.\n`info` prints the "
		"topology, binding, slots and endpoint of each process.\n"
		"A cluster that stays up: `sluice coordinator`, then `sluice "
		"worker --connect\nURL` on each node; `submit` sends a job to "
		"it, the other commands ask it\n(see docs/cluster.md).\n"
		"Exit status: 0 success, 1 job failed, 2 usage error.\n\n"
		"Jobs:\n");
	for (i = 0; sl__jobs_builtin[i]; i++)
		fprintf(f, "  %-28s %s\n", sl__jobs_builtin[i]->name,
			sl__jobs_builtin[i]->summary);
	fprintf(f, "  %-28s %s\n", "./PATH.so",
		"a job of your own built against sluice.h");
	fprintf(f, "\nOptions of run, submit and stream (some take only one):\n");
	cli_print_opts(f, cli_run_ids, cli_run_nids);
	for (i = 0; sl__jobs_builtin[i]; i++) {
		const sl_job_option *o = sl__jobs_builtin[i]->options;

		if (o == NULL || o[0].name == NULL)
			continue;
		fprintf(f, "\nOptions of %s:\n", sl__jobs_builtin[i]->name);
		for (k = 0; o[k].name; k++) {
			char left[64];

			snprintf(left, sizeof(left), "--%s %s", o[k].name,
				 o[k].arg ? o[k].arg : "VALUE");
			fprintf(f, "  %-28s %s\n", left, o[k].help);
		}
	}
	fprintf(f, "\nOptions of worker:\n");
	cli_print_opts(f, cli_worker_ids, cli_worker_nids);
	fprintf(f, "\nOptions of coordinator and cluster:\n");
	cli_print_opts(f, cli_coord_ids, cli_coord_nids);
	fprintf(f, "\nOptions of jobs, status, logs, cancel, workers, stop:\n");
	cli_print_opts(f, cli_client_ids, cli_client_nids);
}

static sl_bind_mode
cli_bind(const char *v)
{
	sl_bind_mode mode;

	if (sl_bind_parse(v, &mode) != SL_OK)
		cli_usage_error("--bind: '%s' is not 'none' or 'core'", v);
	return mode;
}

/*
 * The cores this process may use (its binding from mpirun, srun or
 * taskset, else the machine), as hwloc sees them: cores, not threads.
 */
static uint32_t
cli_cores(void)
{
	sl_topo_info info;
	sl_buf err = SL_BUF_INIT;
	long n;

	if (sl_bind_setup(SL_BIND_NONE, &info, &err) == SL_OK &&
	    info.cores > 0) {
		sl_buf_release(&err);
		return info.cores;
	}
	sl_buf_release(&err);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (uint32_t)n : 1;
}

void
cli_parse_run(int argc, char **argv, cli_run *r, sl_job_ref *ref,
	      cli_mode mode)
{
	bool submit = mode == CLI_SUBMIT;
	const sl_job_option *jo;
	const cli_opt *o;
	const char *val;
	sl_buf err = SL_BUF_INIT;
	int i;

	memset(r, 0, sizeof(*r));
	r->submit = submit;
	r->stream = mode == CLI_STREAM;
	/* `submit --stream`: the stream's options are taken, wherever the
	 * flag is */
	for (i = 3; submit && i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--stream") == 0)
			r->stream = true;
	r->split_size = 64ull << 20;
	r->spec.max_attempts = 4;
	r->spec.max_record = 1ull << 30;
	r->spec.watermark_ms = SL_NO_WATERMARK;
	r->bind = SL_BIND_CORE;
	r->progress = isatty(STDERR_FILENO);
	sl_coord_config_default(&r->coord);
	if (argc < 3 || argv[2][0] == '-') {
		if (argc >= 3 && (strcmp(argv[2], "--help") == 0 ||
				  strcmp(argv[2], "-h") == 0)) {
			cli_help(stdout);
			exit(0);
		}
		cli_usage_error("'%s' needs a job: sluice %s JOB [options] %s",
				argv[1], argv[1],
				mode == CLI_STREAM ? "--source URI --sink URI "
					    "--checkpoint DIR"
					  : "INPUT... -o OUTDIR");
	}
	if (sl_job_load(argv[2], ref, &err) != SL_OK) {
		sl_error("%s", err.buf);
		exit(EXIT_USAGE);
	}
	r->spec.job = argv[2];
	r->job = ref->job;
	r->inputs = calloc((size_t)argc, sizeof(*r->inputs));
	r->opts = calloc((size_t)argc, sizeof(*r->opts));
	if (!r->inputs || !r->opts)
		cli_usage_error("out of memory");
	for (i = 3; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0') {
			r->inputs[r->ninputs++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			while (++i < argc)
				r->inputs[r->ninputs++] = argv[i];
			break;
		}
		o = cli_match(cli_run_ids, cli_run_nids, argc,
			      argv, &i, &val);
		if (o == NULL) {
			/* A job option: --name VALUE or --name=VALUE. */
			const char *eq = NULL;

			for (jo = ref->job->options; jo && jo->name; jo++)
				if (cli_is_long(a, jo->name, &eq))
					break;
			if (jo == NULL || jo->name == NULL)
				cli_usage_error("unknown option '%s' for job "
						"'%s'", a, ref->job->name);
			r->opts[r->nopts].key = (char *)jo->name;
			r->opts[r->nopts++].value =
				(char *)cli_value(argc, argv, &i, eq);
			continue;
		}
		if ((mode != CLI_RUN && mode != CLI_STREAM &&
		     cli_opt_in(o->id, cli_run_only, cli_run_only_n)) ||
		    (mode != CLI_SUBMIT &&
		     cli_opt_in(o->id, cli_submit_only, cli_submit_only_n)) ||
		    (!r->stream &&
		     cli_opt_in(o->id, cli_stream_only, cli_stream_only_n)))
			cli_usage_error("--%s applies to another command than "
					"'sluice %s'", o->name, argv[1]);
		switch (o->id) {
		case OPT_OUTPUT: r->output = val; break;
		case OPT_SOURCE: r->source = val; break;
		case OPT_SINK: r->sink = val; break;
		case OPT_CHECKPOINT: r->checkpoint = val; break;
		case OPT_TRIGGER: r->trigger = val; break;
		case OPT_OUTPUT_MODE:
			if (strcmp(val, "complete") && strcmp(val, "append") &&
			    strcmp(val, "update"))
				cli_usage_error("--output-mode: '%s' is not "
						"'complete', 'append' or "
						"'update'", val);
			r->append = strcmp(val, "append") == 0;
			r->update = strcmp(val, "update") == 0;
			break;
		case OPT_WATERMARK: r->watermark = val; break;
		case OPT_LATE: r->late = val; break;
		case OPT_MAX_BATCH:
			r->max_batch_records = cli_number(o->name, val, 1,
							  UINT64_MAX / 2);
			break;
		case OPT_COORDINATOR: r->coordinator = val; break;
		case OPT_WAIT: r->wait = true; break;
		case OPT_JSON: r->json = true; break;
		case OPT_STREAM: break; /* taken above */
		case OPT_WORKERS:
			r->workers = (uint32_t)cli_number(o->name, val, 1, 1024);
			break;
		case OPT_PARTITIONS:
			r->spec.partitions = (uint32_t)cli_number(o->name, val,
								  1, 100000);
			break;
		case OPT_SPLIT_SIZE: r->split_size = cli_size(o->name, val); break;
		case OPT_MAX_RECORD:
			r->spec.max_record = cli_size(o->name, val);
			break;
		case OPT_MEMORY: r->spec.memory = cli_size(o->name, val); break;
		case OPT_TMPDIR: r->spec.tmpdir = (char *)val; break;
		case OPT_MAX_ATTEMPTS:
			r->spec.max_attempts = (uint32_t)cli_number(o->name, val,
								    1, 100);
			break;
		case OPT_BAD_RECORDS:
			if (strcmp(val, "fail") && strcmp(val, "skip"))
				cli_usage_error("--bad-records: '%s' is not "
						"'fail' or 'skip'", val);
			r->spec.bad_records = strcmp(val, "skip") == 0;
			break;
		case OPT_HB_INTERVAL:
			r->coord.heartbeat_ms = (uint32_t)cli_number(o->name,
								     val, 10,
								     60000);
			break;
		case OPT_HB_TIMEOUT:
			r->coord.timeout_ms = (uint32_t)cli_number(o->name, val,
								   100,
								   3600000);
			break;
		case OPT_SPECULATION:
			if (strcmp(val, "on") && strcmp(val, "off"))
				cli_usage_error("--speculation: '%s' is not "
						"'on' or 'off'", val);
			r->coord.sched.speculation = strcmp(val, "on") == 0;
			break;
		case OPT_SLOTS:
			r->slots = (uint32_t)cli_number(o->name, val, 1, 1024);
			r->mpi_opts = true;
			break;
		case OPT_BIND:
			r->bind = cli_bind(val);
			r->mpi_opts = true;
			break;
		case OPT_SHUFFLE:
			if (strcmp(val, "zmq") && strcmp(val, "mpi"))
				cli_usage_error("--shuffle: '%s' is not 'zmq' "
						"or 'mpi'", val);
			r->spec.shuffle = strcmp(val, "mpi") == 0
						  ? SL_SHUFFLE_MPI
						  : SL_SHUFFLE_ZMQ;
			break;
		case OPT_OVERWRITE: r->overwrite = true; break;
		case OPT_TOP:
			if (strcmp(ref->job->name, "wordcount") != 0)
				cli_usage_error("--top works with wordcount");
			r->top = cli_number(o->name, val, 1, 1u << 30);
			break;
		case OPT_VERBOSE: r->verbose++; break;
		case OPT_PROGRESS:
			if (strcmp(val, "on") && strcmp(val, "off"))
				cli_usage_error("--progress: '%s' is not 'on' "
						"or 'off'", val);
			r->progress = strcmp(val, "on") == 0;
			break;
		case OPT_HELP: cli_help(stdout); exit(0);
		default: break;
		}
	}
	if (r->stream && (r->ninputs || r->output))
		cli_usage_error("a stream reads its --source and writes its "
				"--sink: no INPUT or -o");
	if (r->stream && (!r->source || !r->sink || !r->checkpoint))
		cli_usage_error("a stream needs --source URI, --sink URI and "
				"--checkpoint DIR");
	if (!r->stream && r->output == NULL)
		cli_usage_error("missing the output directory (-o OUTDIR)");
	if (!r->stream && r->ninputs == 0)
		cli_usage_error("missing the input (files, directories or "
				"globs)");
	if (r->coord.timeout_ms <= 2 * r->coord.heartbeat_ms)
		cli_usage_error("--heartbeat-timeout must be more than twice "
				"--heartbeat-interval");
	/* --workers and the default R depend on the mode: cli_cmd_run. */
	r->spec.options = r->opts;
	r->spec.noptions = r->nopts;
	sl_buf_release(&err);
}

/* --- run ----------------------------------------------------------------- */

typedef struct cli_coord_thread {
	sl_coord *coord;
	int rv;
	sl_buf err;
} cli_coord_thread;

static void *
cli_coord_main(void *arg)
{
	cli_coord_thread *t = arg;

	t->rv = sl_coord_run(t->coord, &t->err);
	return NULL;
}

/* A word and its count, for --top. */
typedef struct cli_top {
	char *word;
	uint64_t count;
} cli_top;

/* Whether a ranks before b: count descending, then word ascending. */
static bool
cli_top_before(const cli_top *a, const cli_top *b)
{
	if (a->count != b->count)
		return a->count > b->count;
	return strcmp(a->word, b->word) < 0;
}

static void
cli_top_sift(cli_top *h, size_t n, size_t i)
{
	/* Min-heap on rank: the root is the worst of the best K. */
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		cli_top t;

		if (l < n && cli_top_before(&h[m], &h[l]))
			m = l;
		if (r < n && cli_top_before(&h[m], &h[r]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Restores the heap after appending h[i]: moves it up past better ones. */
static void
cli_top_sift_up(cli_top *h, size_t i)
{
	cli_top t;

	while (i > 0 && cli_top_before(&h[(i - 1) / 2], &h[i])) {
		t = h[i];
		h[i] = h[(i - 1) / 2];
		h[(i - 1) / 2] = t;
		i = (i - 1) / 2;
	}
}

static int
cli_top_cmp(const void *a, const void *b)
{
	return cli_top_before(a, b) ? -1 : cli_top_before(b, a) ? 1 : 0;
}

/*
 * Prints the K most frequent words of a word count's output. Words hold
 * no whitespace and so no tab; NUL bytes in words end them here (the
 * part files keep them).
 */
int
cli_print_top(const char *dir, uint32_t parts, uint64_t k)
{
	cli_top *heap = NULL;
	sl_buf path = SL_BUF_INIT;
	char *line = NULL, *tab;
	size_t cap = 0, n = 0, halloc = 0, i;
	ssize_t len;
	uint32_t r;
	FILE *f;
	int rv = SL_OK;

	for (r = 0; r < parts && rv == SL_OK; r++) {
		sl_part_path(&path, dir, r);
		if ((f = fopen(path.buf, "r")) == NULL) {
			sl_error("cannot open '%s': %s", path.buf,
				 strerror(errno));
			rv = SL_EIO;
			break;
		}
		while ((len = getline(&line, &cap, f)) > 0) {
			cli_top t;

			if (line[len - 1] == '\n')
				line[len - 1] = '\0';
			if ((tab = strrchr(line, '\t')) == NULL)
				continue;
			*tab = '\0';
			t.count = strtoull(tab + 1, NULL, 10);
			t.word = line;
			if (n == k && !cli_top_before(&t, &heap[0]))
				continue;
			if ((t.word = strdup(line)) == NULL) {
				rv = SL_ENOMEM;
				break;
			}
			/* Grown as words come: K may exceed them. */
			if (n < k && sl_array_grow(&heap, &halloc, n + 1,
						   sizeof(*heap)) != SL_OK) {
				free(t.word);
				rv = SL_ENOMEM;
				break;
			}
			if (n < k) {
				heap[n++] = t;
				cli_top_sift_up(heap, n - 1);
			} else {
				free(heap[0].word);
				heap[0] = t;
				cli_top_sift(heap, n, 0);
			}
		}
		fclose(f);
	}
	if (n)
		qsort(heap, n, sizeof(*heap), cli_top_cmp);
	for (i = 0; i < n; i++) {
		if (rv == SL_OK)
			printf("%s\t%llu\n", heap[i].word,
			       (unsigned long long)heap[i].count);
		free(heap[i].word);
	}
	free(heap);
	free(line);
	sl_buf_release(&path);
	return rv;
}

/* An error of several lines: each becomes a "sluice: " line of its own. */
void
cli_print_error(const char *prefix, const char *msg)
{
	const char *nl;

	while ((nl = strchr(msg, '\n')) != NULL) {
		sl_error("%s%.*s", prefix, (int)(nl - msg), msg);
		prefix = "";
		msg = nl + 1;
	}
	if (*msg)
		sl_error("%s%s", prefix, msg);
}

void
cli_summary(const cli_run *r, const sl_msg *d)
{
	double secs = (double)d->u.job_done.elapsed_ms / 1000.0;
	double mb = (double)d->u.job_done.bytes_in / 1e6;
	uint32_t i;

	fprintf(stderr, "sluice: job %s done: %u map and %u reduce tasks, "
		"%.1f MB in %.2f s (%.1f MB/s), %llu records in, %llu out\n",
		r->spec.job, d->u.job_done.maps, d->u.job_done.reduces, mb,
		secs, secs > 0 ? mb / secs : 0.0,
		(unsigned long long)d->u.job_done.records_in,
		(unsigned long long)d->u.job_done.records_out);
	for (i = 0; i < d->u.job_done.ncounters; i++) {
		const sl_counter *c = &d->u.job_done.counters[i];

		if (strcmp(c->name, "bad_records") == 0)
			fprintf(stderr, "sluice: skipped %lld bad record%s\n",
				(long long)c->value, c->value == 1 ? "" : "s");
		else
			fprintf(stderr, "sluice: counter %s = %lld\n", c->name,
				(long long)c->value);
	}
	fprintf(stderr, "sluice: output in %s/ (part-00000 to part-%05u)\n",
		r->output, r->spec.partitions - 1);
}

/*
 * Set by SIGTERM, SIGINT and SIGHUP to the signal's number: a worker
 * leaves its loop and cleans up; `sluice run` cancels its job (the
 * coordinator removes its partial output), stops its workers, removes its
 * directories and exits 128 + the signal's number.
 */
volatile sig_atomic_t cli_stop;

static void
cli_on_signal(int sig)
{
	cli_stop = sig;
}

void
cli_catch_signals(void)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cli_on_signal;
	/* No SA_RESTART: zmq_poll must return EINTR for the loop to see it. */
	for (i = 0; i < SL_ARRAY_LEN(sigs); i++)
		sigaction(sigs[i], &sa, NULL);
}

/*
 * While `sluice run` waits for its job (sl_client_wait calls this every
 * 100 ms and for each message): a worker the coordinator found lost is
 * killed (it may be stopped rather than dead) and each one that is gone
 * is replaced; if all of them are gone the job cannot finish. Worker
 * ranks under MPI are watched by the coordinator's heartbeats and by
 * mpirun, which ends every rank when one dies. A signal (cli_stop) ends
 * the wait with SL_ECANCELED.
 */
typedef struct cli_wait {
	sl_local_cluster *lc;     /* local workers, or none */
	cli_watch watch;
	bool stream;              /* a stream: a signal stops it after its
				     batch in flight (CANCEL, once) */
	bool canceled;            /* that CANCEL went */
	uint64_t job;
} cli_wait;

static int
cli_on_wait(void *arg, const sl_msg *m, sl_buf *err)
{
	cli_wait *w = arg;
	sl_local_cluster *lc = w->lc;
	int rv = cli_watch_event(&w->watch, m);

	if (rv != SL_OK)
		return rv;
	if (cli_stop && !w->stream) {
		sl_buf_addf(err, "interrupted by signal %d (%s): job canceled",
			    (int)cli_stop, strsignal(cli_stop));
		return SL_ECANCELED;
	}
	if (cli_stop && !w->canceled) {
		sl_msg c;

		memset(&c, 0, sizeof(c));
		c.type = SL_MSG_CANCEL;
		c.u.cancel.job = w->job;
		w->canceled = sl_client_send(w->watch.client, &c, err) == SL_OK;
		sl_buf_reset(err);
	}
	if (lc->n == 0)
		return SL_OK;
	if (m && m->type == SL_MSG_WORKER_LOST)
		sl_local_kill_lost(lc, m->u.worker_lost.pid,
				   m->u.worker_lost.endpoint);
	sl_local_poll(lc);
	sl_local_replace(lc);
	if (lc->alive == 0) {
		sl_buf_addstr(err, "every worker process exited before the "
			      "job ended");
		return SL_ELOST;
	}
	return SL_OK;
}

/* A coordinator on a thread of this process, and its client socket. */
struct cli_coord_rt {
	sl_buf rundir;            /* private dir of ipc endpoints, or "" */
	void *zctx;
	sl_client *client;        /* to the coordinator, inproc */
	cli_coord_thread ct;
	pthread_t thread;
	bool started;             /* the coordinator thread runs */
	sl_buf ep;                /* the endpoint workers connect to */
};

/*
 * Starts the coordinator thread, bound to inproc (for the client) and to
 * `bind` for the workers: a tcp:// pattern, or NULL for an ipc endpoint in
 * a fresh private directory. rt->ep gets the endpoint bound. On failure
 * the reason is in err; cli_coord_stop() cleans up either way.
 */
static int
cli_coord_start(cli_coord_rt *rt, const cli_run *r, const char *bind,
		sl_buf *err)
{
	sl_buf pattern = SL_BUF_INIT, inproc = SL_BUF_INIT;
	sl_coord_config cfg;
	int rv = SL_EIO;

	if (bind == NULL) {
		/* In /tmp, not $TMPDIR: ipc paths are limited to 107 bytes. */
		sl_procdir_sweep("/tmp", sl_run_dir_pid, "run");
		if (sl_run_dir_make("/tmp", &rt->rundir, err) != SL_OK)
			goto out;
		sl_buf_addf(&pattern, "ipc://%s/coord", rt->rundir.buf);
	} else {
		sl_buf_addstr(&pattern, bind);
	}
	/* The client's identity is the coordinator's only submitter. */
	cfg = r->coord;
	if (getrandom(cfg.client_id, sizeof(cfg.client_id), 0) !=
	    (ssize_t)sizeof(cfg.client_id)) {
		sl_buf_addf(err, "cannot draw a random client identity: %s",
			    strerror(errno));
		goto out;
	}
	cfg.client_id[0] |= 1; /* never all zero (the "any peer" value) */
	rt->zctx = zmq_ctx_new();
	if (rt->zctx == NULL ||
	    sl_coord_new(&rt->ct.coord, rt->zctx, &cfg, err) != SL_OK)
		goto out;
	sl_buf_addstr(&inproc, "inproc://sluice-coord");
	if (sl_coord_bind(rt->ct.coord, inproc.buf, &inproc, err) != SL_OK ||
	    sl_coord_bind(rt->ct.coord, pattern.buf, &rt->ep, err) != SL_OK)
		goto out;
	if (pthread_create(&rt->thread, NULL, cli_coord_main, &rt->ct) != 0) {
		sl_buf_addstr(err, "cannot start the coordinator thread");
		goto out;
	}
	rt->started = true;
	if (sl_client_new(&rt->client, rt->zctx, inproc.buf, cfg.client_id,
			  sizeof(cfg.client_id), CLI_CLIENT_TIMEOUT_MS,
			  err) != SL_OK)
		goto out;
	rv = SL_OK;
out:
	sl_buf_release(&pattern);
	sl_buf_release(&inproc);
	return rv;
}

/*
 * Stops the coordinator (which tells the workers to exit), then the local
 * workers of lc (which may have none), and removes the private directory
 * of ipc endpoints.
 */
static void
cli_coord_stop(cli_coord_rt *rt, sl_local_cluster *lc)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m;

	if (rt->client && rt->started) {
		memset(&m, 0, sizeof(m));
		m.type = SL_MSG_SHUTDOWN;
		sl_client_send(rt->client, &m, &err);
	}
	if (rt->started) {
		pthread_join(rt->thread, NULL);
		if (rt->ct.rv != SL_OK)
			sl_error("coordinator: %s", rt->ct.err.buf);
	}
	/* Workers exit within milliseconds of SHUTDOWN or SIGTERM; the
	 * grace is for one that is stuck. */
	sl_local_stop(lc, 5000);
	sl_client_free(rt->client);
	sl_coord_free(rt->ct.coord);
	if (rt->zctx)
		zmq_ctx_term(rt->zctx);
	/* Every entry goes, whoever bound it: ours, and the shuffle
	 * endpoints of killed workers, which closed no socket. */
	if (rt->rundir.len && sl_rmtree(rt->rundir.buf, &err) != SL_OK)
		sl_warn("%s", err.buf);
	sl_buf_release(&err);
	sl_buf_release(&rt->rundir);
	sl_buf_release(&rt->ep);
	sl_buf_release(&rt->ct.err);
}

/*
 * Submits the job to the running coordinator, waits for it, prints the
 * summary or the error. Returns the exit status.
 */
int
cli_job(cli_coord_rt *rt, cli_run *r, sl_local_cluster *lc)
{
	sl_buf err = SL_BUF_INIT;
	sl_msg m, done;
	cli_wait w;
	uint64_t job;
	int rv, code = EXIT_JOB;

	memset(&done, 0, sizeof(done));
	w.lc = lc;
	w.stream = r->stream;
	w.canceled = false;
	cli_watch_init(&w.watch, r->progress && !r->stream, rt->client, 0);
	memset(&m, 0, sizeof(m));
	m.type = SL_MSG_SUBMIT;
	m.u.submit.spec = r->spec;
	m.u.submit.inputs = r->inputs;
	m.u.submit.ninputs = r->ninputs;
	m.u.submit.output_dir = (char *)r->output;
	m.u.submit.split_size = r->split_size;
	m.u.submit.overwrite = r->overwrite;
	m.u.submit.min_workers = r->min_workers;
	m.u.submit.stream = r->stream_spec;
	if ((rv = sl_client_submit(rt->client, &m, &job, &done, &err)) !=
	    SL_OK) {
		sl_error("cannot submit the job: %s", err.buf);
		goto out;
	}
	w.watch.job = w.job = job;
	rv = job ? sl_client_wait(rt->client, job, 100, cli_on_wait, &w, &done,
				  &err)
		 : SL_OK;
	cli_watch_erase(&w.watch);
	if (rv == SL_ELOST && w.watch.ended != SL_JOB_QUEUED) {
		code = cli_watch_exit(&w.watch, r->output);
		goto out;
	}
	if (rv != SL_OK) {
		sl_error("%s", err.buf);
		if (rv == SL_ECANCELED)
			code = 128 + cli_stop;
		goto out;
	}
	code = cli_job_done(r, &done);
out:
	cli_watch_release(&w.watch);
	sl_msg_release(&done);
	sl_buf_release(&err);
	return code;
}

int
cli_job_done(const cli_run *r, const sl_msg *done)
{
	int status = done->u.job_done.status;

	/* A stream ends by its trigger (once, available-now) or stopped:
	 * by a signal after its batch in flight, or canceled. */
	if (r->stream && (status == SL_OK || status == SL_ECANCELED)) {
		if (cli_stop)
			sl_info("stream: stopped by signal %d",
				(int)cli_stop);
		else if (status == SL_ECANCELED)
			sl_warn("stream: %s", done->u.job_done.error);
		return 0;
	}
	if (r->stream) {
		cli_print_error("stream failed: ", done->u.job_done.error);
		return status == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
	}
	if (done->u.job_done.status == SL_OK) {
		cli_summary(r, done);
		if (r->top && cli_print_top(r->output, r->spec.partitions,
					    r->top) != SL_OK)
			return EXIT_JOB;
		return 0;
	}
	cli_print_error("job failed: ", done->u.job_done.error);
	return done->u.job_done.status == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
}

/* Checks the job's options before anything starts (and sets the key
 * columns of r->stream_spec): 0 or EXIT_USAGE. */
int
cli_check(cli_run *r)
{
	sl_buf err = SL_BUF_INIT;
	int code = 0;

	if (sl_task_check(r->job, &r->spec, &r->stream_spec.key_columns,
			  &err) != SL_OK) {
		sl_error("%s", err.buf);
		code = EXIT_USAGE;
	}
	sl_buf_release(&err);
	return code;
}

/*
 * The local workers spill into a directory of this run, made here inside
 * --tmpdir and passed to them as the job's tmpdir: removing it after the
 * job removes the spills of workers that were killed too. Those of runs
 * that were killed (SIGKILL: no clean-up) go first.
 */
static int
cli_spill_root(cli_run *r, sl_buf *root, sl_buf *err)
{
	const char *parent = sl_tmpdir(r->spec.tmpdir);

	sl_procdir_sweep(parent, sl_run_dir_pid, "run");
	if (sl_run_dir_make(parent, root, err) != SL_OK)
		return SL_EIO;
	r->spec.tmpdir = root->buf;
	return SL_OK;
}

/* Removes the run's spill directory and the workers' directories in it. */
static void
cli_spill_root_remove(const sl_buf *root)
{
	sl_buf err = SL_BUF_INIT;

	if (root->len && sl_rmtree(root->buf, &err) != SL_OK)
		sl_warn("%s", err.buf);
	sl_buf_release(&err);
}

/* The local mode: a coordinator and --workers worker processes. */
int
cli_run_local(cli_run *r, cli_body_fn *body)
{
	cli_coord_rt rt = { .ep = SL_BUF_INIT, .rundir = SL_BUF_INIT };
	sl_local_cluster lc = { 0 };
	sl_buf err = SL_BUF_INIT, spill = SL_BUF_INIT;
	int code;

	if (r->mpi_opts) {
		sl_error("--slots and --bind apply to worker ranks under mpirun "
			 "or srun; local worker processes have one slot each "
			 "(try 'sluice --help')");
		return EXIT_USAGE;
	}
	if (r->spec.shuffle == SL_SHUFFLE_MPI) {
		sl_error("--shuffle mpi exchanges map outputs among worker "
			 "ranks: it needs mpirun or srun with 2 or more ranks "
			 "(try 'sluice --help')");
		return EXIT_USAGE;
	}
	if (r->workers == 0)
		r->workers = cli_cores();
	if (r->spec.partitions == 0)
		r->spec.partitions = r->workers;
	if (r->spec.memory == 0)
		r->spec.memory = sl_memory_default(r->workers);
	if ((code = cli_check(r)) != 0)
		return code;
	code = EXIT_JOB;
	if (cli_spill_root(r, &spill, &err) == SL_OK &&
	    cli_coord_start(&rt, r, NULL, &err) == SL_OK &&
	    sl_local_start(&lc, r->workers, rt.ep.buf, rt.rundir.buf, r->verbose,
			   &err) == SL_OK)
		code = body(&rt, r, &lc);
	else
		sl_error("%s", err.buf);
	cli_coord_stop(&rt, &lc);
	cli_spill_root_remove(&spill);
	sl_buf_release(&spill);
	sl_buf_release(&err);
	return code;
}

/*
 * Rank 0 under MPI: the coordinator on tcp://HOST:*, its endpoint
 * broadcast to the worker ranks ("" when it could not start, so that
 * nobody waits), then the job.
 */
static int
cli_rank_coord(cli_run *r)
{
	cli_coord_rt rt = { .ep = SL_BUF_INIT, .rundir = SL_BUF_INIT };
	sl_local_cluster lc = { 0 };
	sl_buf err = SL_BUF_INIT, bind = SL_BUF_INIT, ep = SL_BUF_INIT;
	int code = EXIT_JOB, rv;

	sl_buf_addstr(&bind, "tcp://");
	rv = sl_mpi_host(&bind, &err);
	sl_buf_addstr(&bind, ":*");
	if (rv == SL_OK)
		rv = cli_coord_start(&rt, r, bind.buf, &err);
	if (rv == SL_OK)
		sl_buf_addstr(&ep, rt.ep.buf);
	else
		sl_error("%s", err.buf);
	sl_buf_reset(&err);
	if (sl_mpi_bcast_str(&ep, &err) != SL_OK)
		sl_error("%s", err.buf);
	else if (rv == SL_OK)
		code = cli_job(&rt, r, &lc);
	cli_coord_stop(&rt, &lc);
	sl_buf_release(&err);
	sl_buf_release(&bind);
	sl_buf_release(&ep);
	return code;
}

/*
 * A worker rank: receives the coordinator's endpoint, serves map outputs
 * on tcp://HOST:*, one slot per core of its binding unless --slots.
 * When the coordinator goes silent it returns: the final status broadcast
 * still says how the job ended. It exits the process on a failure to
 * start, so that mpirun ends the job instead of the
 * coordinator waiting for a worker that is not coming.
 */
static void
cli_rank_worker(const cli_run *r, int rank, sl_mpi_group *group)
{
	sl_buf err = SL_BUF_INIT, ep = SL_BUF_INIT, shuffle = SL_BUF_INIT;
	sl_worker_config cfg = { .group = group, .stop = &cli_stop };
	sl_topo_info info;
	int rv;

	if ((rv = sl_mpi_bcast_str(&ep, &err)) != SL_OK || ep.len == 0)
		goto out;
	sl_buf_addstr(&shuffle, "tcp://");
	if ((rv = sl_mpi_host(&shuffle, &err)) != SL_OK ||
	    (rv = sl_bind_setup(r->bind, &info, &err)) != SL_OK)
		goto out;
	sl_buf_addstr(&shuffle, ":*");
	cfg.coordinator = ep.buf;
	cfg.shuffle_bind = shuffle.buf;
	cfg.slots = r->slots ? r->slots : info.cores;
	sl_info("worker rank %d: %u slots on PUs %s, bind %s", rank, cfg.slots,
		info.cpuset, r->bind == SL_BIND_CORE ? "core" : "none");
	rv = sl_worker_run(&cfg, &err);
	sl_bind_teardown();
out:
	if (rv != SL_OK)
		sl_error("worker rank %d: %s", rank, err.buf);
	sl_buf_release(&err);
	sl_buf_release(&ep);
	sl_buf_release(&shuffle);
	if (rv != SL_OK && rv != SL_ELOST)
		exit(EXIT_JOB);
}

/*
 * The worker ranks' communicator, for --shuffle mpi (collective: every
 * rank calls this, rank 0 gets NULL). A failure makes that rank exit 1,
 * so that mpirun ends the job rather than leave the others waiting.
 */
static sl_mpi_group *
cli_rank_group(const cli_run *r, int rank)
{
	sl_mpi_group *g = NULL;
	sl_buf err = SL_BUF_INIT;

	if (r->spec.shuffle != SL_SHUFFLE_MPI)
		return NULL;
	if (sl_mpi_workers_new(&g, &err) != SL_OK) {
		sl_error("rank %d: %s", rank, err.buf);
		exit(EXIT_JOB);
	}
	sl_buf_release(&err);
	return g;
}

/*
 * Under mpirun or srun. Every rank has parsed the same command line, and
 * takes the same usage decisions after MPI_Init (they depend only on the
 * arguments and the world size), so a usage error exits 2 everywhere
 * without a collective. One rank: the local mode inside its allocation.
 */
static int
cli_run_mpi(cli_run *r)
{
	sl_buf err = SL_BUF_INIT;
	sl_mpi_group *group;
	int rank, size, rv, code;

	if ((rv = sl_mpi_init(&rank, &size, &err)) != SL_OK) {
		sl_error("%s", err.buf);
		sl_buf_release(&err);
		return rv == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
	}
	if (size == 1) {
		code = cli_run_local(r, cli_job);
		goto out;
	}
	if (r->workers) {
		sl_error("--workers does not apply under mpirun or srun with "
			 "more than one rank: ranks 1 to N-1 are the workers "
			 "(try 'sluice --help')");
		code = EXIT_USAGE;
		goto out;
	}
	if (r->spec.partitions == 0)
		r->spec.partitions = (uint32_t)size - 1;
	/* The job starts once every worker rank has joined: a short job
	 * then leaves no late rank waiting for its heartbeat timeout. */
	r->min_workers = (uint32_t)size - 1;
	if ((code = cli_check(r)) != 0)
		goto out;
	group = cli_rank_group(r, rank);
	if (rank == 0)
		code = cli_rank_coord(r);
	else
		cli_rank_worker(r, rank, group);
	sl_mpi_workers_free(group);
	/* Every rank exits with the job's status, as rank 0 saw it. */
	if (sl_mpi_bcast_int(&code, &err) != SL_OK) {
		sl_error("%s", err.buf);
		code = EXIT_JOB;
	}
out:
	sl_mpi_finalize();
	sl_buf_release(&err);
	return code;
}

static int
cli_cmd_run(int argc, char **argv)
{
	cli_run r;
	sl_job_ref ref;
	int code;

	cli_parse_run(argc, argv, &r, &ref, CLI_RUN);
	sl_log_set_level(r.verbose ? SL_LOG_INFO + r.verbose - 1 : SL_LOG_WARN);
	/* A streaming task's child that exits early must not kill a worker
	 * rank (local workers set this in cli_cmd_worker). */
	signal(SIGPIPE, SIG_IGN);
	cli_catch_signals();
	code = sl_mpi_launched() ? cli_run_mpi(&r) : cli_run_local(&r, cli_job);
	sl_job_unload(&ref);
	free(r.inputs);
	free(r.opts);
	return code;
}

/* --- worker -------------------------------------------------------------- */

static int
cli_cmd_worker(int argc, char **argv)
{
	sl_worker_config cfg = { .shuffle_bind = "tcp://127.0.0.1:*",
				 .rejoin = true };
	sl_bind_mode bind = SL_BIND_CORE;
	sl_topo_info info;
	sl_buf err = SL_BUF_INIT;
	const cli_opt *o;
	const char *val;
	int i, verbose = 0, rv;

	for (i = 2; i < argc; i++) {
		if (argv[i][0] != '-')
			cli_usage_error("unexpected argument '%s'", argv[i]);
		if (strcmp(argv[i], "-vv") == 0) {
			verbose += 2;
			continue;
		}
		o = cli_match(cli_worker_ids, cli_worker_nids,
			      argc, argv, &i, &val);
		if (o == NULL)
			cli_usage_error("unknown option '%s'", argv[i]);
		switch (o->id) {
		case OPT_CONNECT: cfg.coordinator = val; break;
		case OPT_SHUFFLE_BIND: cfg.shuffle_bind = val; break;
		case OPT_SLOTS:
			cfg.slots = (uint32_t)cli_number(o->name, val, 1, 1024);
			break;
		case OPT_BIND: bind = cli_bind(val); break;
		case OPT_VERBOSE: verbose++; break;
		case OPT_HELP: cli_help(stdout); exit(0);
		default: break;
		}
	}
	if (cfg.coordinator == NULL)
		cli_usage_error("worker needs --connect ENDPOINT");
	sl_log_set_level(verbose ? SL_LOG_INFO + verbose - 1 : SL_LOG_WARN);
	/* A streaming task's child that exits early must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	cli_catch_signals();
	cfg.stop = &cli_stop;
	if ((rv = sl_bind_setup(bind, &info, &err)) == SL_OK) {
		if (cfg.slots == 0)
			cfg.slots = info.cores;
		rv = sl_worker_run(&cfg, &err);
		sl_bind_teardown();
	}
	if (rv != SL_OK)
		sl_error("worker: %s", err.buf);
	sl_buf_release(&err);
	return rv == SL_OK ? 0 : EXIT_JOB;
}

/* --- info ---------------------------------------------------------------- */

/*
 * One line on what this process sees: host, topology, binding, the slots
 * a worker would run, and a tcp endpoint it can bind (bound for real on a
 * free port, then closed, so a wrong address shows here).
 */
static int
cli_info_line(sl_buf *line, int rank, int size, sl_buf *err)
{
	sl_buf ep = SL_BUF_INIT, bound = SL_BUF_INIT;
	sl_topo_info info;
	char host[256];
	void *zctx = NULL, *sock = NULL;
	int rv;

	if ((rv = sl_bind_setup(SL_BIND_NONE, &info, err)) != SL_OK)
		goto out;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	sl_buf_addstr(&ep, "tcp://");
	if ((rv = sl_mpi_host(&ep, err)) != SL_OK)
		goto out;
	sl_buf_addstr(&ep, ":*");
	rv = SL_EIO;
	if ((zctx = zmq_ctx_new()) == NULL ||
	    (sock = sl_zsock_new(zctx, ZMQ_ROUTER, 1024, err)) == NULL ||
	    (rv = sl_zsock_bind(sock, ep.buf, &bound, err)) != SL_OK)
		goto out;
	sl_buf_addf(line, "rank %d of %d on %s: machine %u cores %u PUs; "
		    "binding PUs %s (%u cores, %u PUs%s); worker slots %u; "
		    "endpoint %s", rank, size, host, info.machine_cores,
		    info.machine_pus, info.cpuset, info.cores, info.pus,
		    info.bound ? "" : ", not bound", info.cores, bound.buf);
out:
	sl_zsock_close(sock);
	if (zctx)
		zmq_ctx_term(zctx);
	sl_buf_release(&ep);
	sl_buf_release(&bound);
	return rv;
}

/*
 * `sluice info`: what the workers would see. Under mpirun or srun every
 * rank describes itself and rank 0 prints the lines in rank order.
 */
static int
cli_cmd_info(int argc, char **argv)
{
	sl_buf line = SL_BUF_INIT, all = SL_BUF_INIT, err = SL_BUF_INIT;
	bool mpi = sl_mpi_launched();
	int rank = 0, size = 1, rv, code = 0;

	if (argc > 2)
		cli_usage_error("'info' takes no argument");
	if (mpi && (rv = sl_mpi_init(&rank, &size, &err)) != SL_OK) {
		sl_error("%s", err.buf);
		sl_buf_release(&err);
		return rv == SL_EUSAGE ? EXIT_USAGE : EXIT_JOB;
	}
	/* A rank that fails still sends its line, so that nobody waits. */
	if (cli_info_line(&line, rank, size, &err) != SL_OK) {
		sl_buf_reset(&line);
		sl_buf_addf(&line, "rank %d of %d: %s", rank, size, err.buf);
		code = EXIT_JOB;
	}
	sl_buf_reset(&err);
	if (!mpi)
		rv = sl_buf_addf(&all, "%s\n", line.buf);
	else
		rv = sl_mpi_gather_lines(line.buf, &all, &err);
	if (rv != SL_OK) {
		sl_error("%s", err.len ? err.buf : sl_strerror(rv));
		code = EXIT_JOB;
	}
	if (rank == 0)
		fputs(all.buf, stdout);
	if (mpi && sl_mpi_bcast_int(&code, &err) != SL_OK)
		code = EXIT_JOB;
	sl_mpi_finalize();
	sl_buf_release(&line);
	sl_buf_release(&all);
	sl_buf_release(&err);
	return code;
}

int
main(int argc, char **argv)
{
	int fd;

	/* A standard descriptor that is closed would be the next file
	 * opened (a socket, the job store) and get what is meant for it:
	 * /dev/null holds its place, read-only for 0 and 1 (writes to a
	 * closed stdout fail, as a console sink must see), write-only for
	 * 2. */
	for (fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 &&
		    open("/dev/null", fd == 2 ? O_WRONLY : O_RDONLY) != fd)
			return EXIT_JOB;
	if (argc < 2)
		cli_usage_error("missing a command: run, submit, coordinator, "
				"worker, jobs, status, logs, cancel, workers, "
				"stop or info");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("sluice %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cli_cmd_run(argc, argv);
	if (strcmp(argv[1], "stream") == 0)
		return cli_cmd_stream(argc, argv);
	if (strcmp(argv[1], "submit") == 0)
		return cli_cmd_submit(argc, argv);
	if (strcmp(argv[1], "coordinator") == 0)
		return cli_cmd_coordinator(argc, argv);
	if (strcmp(argv[1], "cluster") == 0)
		return cli_cmd_cluster(argc, argv);
	if (strcmp(argv[1], "jobs") == 0 || strcmp(argv[1], "status") == 0 ||
	    strcmp(argv[1], "cancel") == 0 || strcmp(argv[1], "workers") == 0 ||
	    strcmp(argv[1], "logs") == 0 || strcmp(argv[1], "stop") == 0)
		return cli_cmd_client(argc, argv);
	if (strcmp(argv[1], "worker") == 0)
		return cli_cmd_worker(argc, argv);
	if (strcmp(argv[1], "info") == 0)
		return cli_cmd_info(argc, argv);
	cli_usage_error("unknown command '%s'", argv[1]);
}
