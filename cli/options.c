/*
 * options.c - the one table of the `sluice` command's options, and the
 * parsing every subcommand does with it.
 *
 * cli_opts holds each option once (name, short name, value, help), by
 * its id; a subcommand takes the ids it accepts (cli_run_ids, ...), which
 * drive both its parsing (cli_match) and its part of --help
 * (cli_print_opts). A job's own options come from its sl_job.options.
 */
#include "sl_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "common/input.h" /* sl_parse_size */

#define OPT(id, name, shortname, arg, help) \
	[id] = { id, name, shortname, arg, help }

static const cli_opt cli_opts[] = {
	OPT(OPT_OUTPUT, "output", 'o', "DIR",
	    "output directory (required): part-00000... and _SUCCESS"),
	OPT(OPT_WORKERS, "workers", 0, "N",
	    "local worker processes (default: one per core)"),
	OPT(OPT_PARTITIONS, "partitions", 0, "R",
	    "reduce tasks, i.e. part files (default: one per worker slot)"),
	OPT(OPT_SPLIT_SIZE, "split-size", 0, "SIZE",
	    "input bytes per map task, K/M/G suffixes (default 64M)"),
	OPT(OPT_BAD_RECORDS, "bad-records", 0, "fail|skip",
	    "malformed input records fail the job, or are skipped and "
	    "counted (default fail)"),
	OPT(OPT_MAX_RECORD, "max-record-size", 0, "SIZE",
	    "longest input line or CSV record (default 1G)"),
	OPT(OPT_MEMORY, "memory", 0, "SIZE",
	    "memory for task data of each worker process, K/M/G suffixes; "
	    "past it map outputs and fetched segments spill to disk "
	    "(default: RAM / (2 x workers), at least 64M)"),
	OPT(OPT_TMPDIR, "tmpdir", 0, "DIR",
	    "directory for spill files (default $TMPDIR, else /tmp)"),
	OPT(OPT_MAX_ATTEMPTS, "max-attempts", 0, "N",
	    "attempts of a task before the job fails (default 4)"),
	OPT(OPT_HB_INTERVAL, "heartbeat-interval", 0, "MS",
	    "heartbeats between coordinator and workers (default 500)"),
	OPT(OPT_HB_TIMEOUT, "heartbeat-timeout", 0, "MS",
	    "a silent worker is lost after this (default 10000)"),
	OPT(OPT_SPECULATION, "speculation", 0, "on|off",
	    "speculative copies of straggling tasks (default on)"),
	OPT(OPT_SLOTS, "slots", 0, "N",
	    "task slots of a worker process, or of each worker rank under "
	    "mpirun/srun (default: one per core of its binding)"),
	OPT(OPT_BIND, "bind", 0, "none|core",
	    "pin the task threads of a worker to cores of its binding "
	    "(default core)"),
	OPT(OPT_SHUFFLE, "shuffle", 0, "zmq|mpi",
	    "map outputs reach reducers by ZeroMQ fetches, or (under "
	    "mpirun/srun) by an MPI all-to-all among the worker ranks "
	    "(default zmq)"),
	OPT(OPT_OVERWRITE, "overwrite", 0, NULL,
	    "replace an output directory that holds a complete output"),
	OPT(OPT_TOP, "top", 0, "K",
	    "wordcount: then print the K most frequent words on stdout"),
	OPT(OPT_VERBOSE, "verbose", 'v', NULL,
	    "what the process does, on stderr (twice: debug)"),
	OPT(OPT_PROGRESS, "progress", 0, "on|off",
	    "a progress bar on stderr while the job runs: tasks done, "
	    "bytes, rate, ETA (default: on when stderr is a terminal)"),
	OPT(OPT_HELP, "help", 'h', NULL, "this help"),
	OPT(OPT_CONNECT, "connect", 0, "ENDPOINT",
	    "the coordinator's endpoint (required)"),
	OPT(OPT_SHUFFLE_BIND, "shuffle-bind", 0, "ENDPOINT",
	    "where to serve map outputs (default tcp://127.0.0.1:*)"),
	OPT(OPT_COORDINATOR, "coordinator", 0, "URL",
	    "the coordinator to talk to (default $SLUICE_COORDINATOR, "
	    "else " CLI_DEFAULT_COORDINATOR ")"),
	OPT(OPT_WAIT, "wait", 0, NULL,
	    "wait for the job, print its summary, exit with its status"),
	OPT(OPT_JSON, "json", 0, NULL,
	    "print JSON on stdout (submit: the job id)"),
	OPT(OPT_LISTEN, "listen", 0, "URL",
	    "where clients and workers reach it (default "
	    CLI_DEFAULT_COORDINATOR "; port 0 picks one, printed on "
	    "stdout); loopback or ipc:// only until nodes authenticate"),
	OPT(OPT_STATE, "state", 0, "DIR",
	    "the job store, which survives restarts (default "
	    "$SLUICE_STATE, else ~/.local/state/sluice)"),
	OPT(OPT_MAX_RUNNING, "max-running", 0, "N",
	    "jobs that run at once, sharing the slots fairly (default 4); "
	    "the others wait in submission order"),
	OPT(OPT_STREAM, "stream", 0, NULL,
	    "submit: a stream (--source, --sink, --checkpoint and the "
	    "options of 'sluice stream'), which runs on the cluster until "
	    "'sluice cancel ID'"),
	OPT(OPT_SOURCE, "source", 0, "URI",
	    "stream: where events come from: file:DIR (new files of DIR, "
	    "in name order), rate:N[,keys=K] (N generated events a "
	    "second: key,ts,value) or tcp://HOST:PORT (lines sent to a "
	    "loopback port, acknowledged once in the checkpoint)"),
	OPT(OPT_SINK, "sink", 0, "URI",
	    "stream: where each batch's result goes: file:DIR or "
	    "sqlite:PATH?table=T"),
	OPT(OPT_MAX_BATCH, "max-batch-records", 0, "N",
	    "stream: events a batch takes at most (rate: events; file: "
	    "lines, a big file then spans batches; tcp: whole WAL "
	    "segments)"),
	OPT(OPT_CHECKPOINT, "checkpoint", 0, "DIR",
	    "stream: offsets, commits and state, to resume exactly once "
	    "(required)"),
	OPT(OPT_TRIGGER, "trigger", 0, "WHEN",
	    "stream: a batch every DURATION (as 1s, 100ms; default 1s; 0: "
	    "each as soon as the last is done), once, or available-now "
	    "(every batch there is, then stop)"),
	OPT(OPT_OUTPUT_MODE, "output-mode", 0, "complete|update|append",
	    "stream: each batch writes the whole result so far (complete, "
	    "the default), the rows its events changed (update), or the "
	    "window rows that became final (append, with --watermark)"),
	OPT(OPT_WATERMARK, "watermark", 0, "DELAY",
	    "stream, append mode: a window is final when the latest event "
	    "time seen, less DELAY (as 0, 10s, 5m), passes its end"),
	OPT(OPT_LATE, "late", 0, "count|drop|sink:URI",
	    "stream, append mode: an event whose windows the watermark has "
	    "passed is counted (count, the default; drop is the same), or "
	    "counted and written as it came to the sink URI, once"),
};

_Static_assert(SL_ARRAY_LEN(cli_opts) == OPT_COUNT,
	       "every option id has its entry");

/* What each subcommand takes: run, submit and stream share cli_run_ids,
 * less what only another of them takes. */
const cli_opt_id cli_run_ids[] = {
	OPT_OUTPUT, OPT_WORKERS, OPT_PARTITIONS, OPT_SPLIT_SIZE,
	OPT_BAD_RECORDS, OPT_MAX_RECORD, OPT_MEMORY, OPT_TMPDIR,
	OPT_MAX_ATTEMPTS, OPT_HB_INTERVAL, OPT_HB_TIMEOUT, OPT_SPECULATION,
	OPT_SLOTS, OPT_BIND, OPT_SHUFFLE, OPT_OVERWRITE, OPT_TOP,
	OPT_VERBOSE, OPT_PROGRESS, OPT_COORDINATOR, OPT_WAIT, OPT_JSON,
	OPT_STREAM, OPT_SOURCE, OPT_SINK, OPT_CHECKPOINT, OPT_TRIGGER, OPT_OUTPUT_MODE,
	OPT_WATERMARK, OPT_MAX_BATCH, OPT_LATE, OPT_HELP,
};
const size_t cli_run_nids = SL_ARRAY_LEN(cli_run_ids);
const cli_opt_id cli_stream_only[] = {
	OPT_SOURCE, OPT_SINK, OPT_CHECKPOINT, OPT_TRIGGER, OPT_OUTPUT_MODE,
	OPT_WATERMARK, OPT_MAX_BATCH, OPT_LATE,
};
const size_t cli_stream_only_n = SL_ARRAY_LEN(cli_stream_only);
const cli_opt_id cli_run_only[] = {
	OPT_WORKERS, OPT_HB_INTERVAL, OPT_HB_TIMEOUT, OPT_SPECULATION,
	OPT_SLOTS, OPT_BIND, OPT_TOP,
};
const size_t cli_run_only_n = SL_ARRAY_LEN(cli_run_only);
const cli_opt_id cli_submit_only[] = {
	OPT_COORDINATOR, OPT_WAIT, OPT_JSON, OPT_STREAM,
};
const size_t cli_submit_only_n = SL_ARRAY_LEN(cli_submit_only);
const cli_opt_id cli_worker_ids[] = {
	OPT_CONNECT, OPT_SHUFFLE_BIND, OPT_SLOTS, OPT_BIND, OPT_VERBOSE,
	OPT_HELP,
};
const size_t cli_worker_nids = SL_ARRAY_LEN(cli_worker_ids);
const cli_opt_id cli_coord_ids[] = {
	OPT_LISTEN, OPT_STATE, OPT_HB_INTERVAL, OPT_HB_TIMEOUT,
	OPT_MAX_RUNNING, OPT_SLOTS, OPT_VERBOSE,
};
const size_t cli_coord_nids = SL_ARRAY_LEN(cli_coord_ids);
const cli_opt_id cli_client_ids[] = {
	OPT_COORDINATOR, OPT_JSON, OPT_VERBOSE,
};
const size_t cli_client_nids = SL_ARRAY_LEN(cli_client_ids);

void __attribute__((format(printf, 1, 2), noreturn))
cli_usage_error(const char *fmt, ...)
{
	sl_buf b = SL_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sl_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	sl_error("%s (try 'sluice --help')", b.buf);
	sl_buf_release(&b);
	exit(EXIT_USAGE);
}

bool
cli_opt_in(cli_opt_id id, const cli_opt_id *ids, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

void
cli_print_opts(FILE *f, const cli_opt_id *ids, size_t n)
{
	char left[64];
	size_t i;

	for (i = 0; i < n; i++) {
		const cli_opt *o = &cli_opts[ids[i]];

		snprintf(left, sizeof(left), "%s%c%s--%s%s%s",
			 o->shortname ? "-" : "",
			 o->shortname ? o->shortname : ' ',
			 o->shortname ? ", " : "  ", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(f, "  %-28s %s\n", left + (o->shortname ? 0 : 1),
			o->help);
	}
}

bool
cli_is_long(const char *a, const char *name, const char **eq)
{
	size_t len;

	if (a[0] != '-' || a[1] != '-')
		return false;
	*eq = strchr(a + 2, '=');
	len = *eq ? (size_t)(*eq - a - 2) : strlen(a + 2);
	return strlen(name) == len && strncmp(a + 2, name, len) == 0;
}

const char *
cli_value(int argc, char **argv, int *i, const char *eq)
{
	if (eq)
		return eq + 1;
	if (*i + 1 >= argc)
		cli_usage_error("option '%s' needs a value", argv[*i]);
	return argv[++*i];
}

const cli_opt *
cli_match(const cli_opt_id *ids, size_t n, int argc, char **argv, int *i,
	  const char **val)
{
	const char *a = argv[*i], *eq = NULL;
	size_t k;

	*val = NULL;
	for (k = 0; k < n; k++) {
		const cli_opt *o = &cli_opts[ids[k]];

		if (a[1] == '-') {
			if (!cli_is_long(a, o->name, &eq))
				continue;
			if (!o->arg && eq)
				cli_usage_error("option '--%s' takes no value",
						o->name);
		} else if (o->shortname == 0 || a[1] != o->shortname ||
			   a[2] != '\0') {
			continue;
		}
		if (o->arg)
			*val = cli_value(argc, argv, i, eq);
		return o;
	}
	return NULL;
}

uint64_t
cli_number(const char *name, const char *v, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max)
		cli_usage_error("--%s: '%s' is not a number from %llu to %llu",
				name, v, (unsigned long long)min,
				(unsigned long long)max);
	return n;
}

uint64_t
cli_size(const char *name, const char *v)
{
	uint64_t n;

	if (sl_parse_size(v, &n) != SL_OK)
		cli_usage_error("--%s: '%s' is not a size (e.g. 64M)", name, v);
	return n;
}
