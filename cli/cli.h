/*
 * cli.h - what the files of the `sluice` command share: exit codes, the
 * option tables' types and matching, the parse of a job's command line
 * (run and submit), the job summary, the signal flag.
 */
#ifndef SL_CLI_H
#define SL_CLI_H

#include "sl_impl.h"
#include "cluster/launch.h"

#include <signal.h>
#include <stdio.h>

#include "cluster/bind.h"
#include "common/proto.h"
#include "coordinator/coord.h"
#include "jobs/jobs.h"

#define EXIT_JOB 1
#define EXIT_USAGE 2

/* Where clients find the coordinator, and where it listens, by default. */
#define CLI_DEFAULT_COORDINATOR "tcp://127.0.0.1:7070"

/* How long a client waits for the coordinator's answer to a request. */
#define CLI_CLIENT_TIMEOUT_MS 5000

typedef enum {
	OPT_OUTPUT, OPT_WORKERS, OPT_PARTITIONS, OPT_SPLIT_SIZE,
	OPT_BAD_RECORDS, OPT_MAX_RECORD, OPT_MAX_ATTEMPTS, OPT_OVERWRITE,
	OPT_TOP, OPT_VERBOSE, OPT_HELP, OPT_HB_INTERVAL, OPT_HB_TIMEOUT,
	OPT_SPECULATION, OPT_SLOTS, OPT_BIND, OPT_SHUFFLE,
	OPT_MEMORY, OPT_TMPDIR, OPT_PROGRESS,
	/* worker */
	OPT_CONNECT, OPT_SHUFFLE_BIND,
	/* submit and the commands of a cluster (cli/cluster.c) */
	OPT_COORDINATOR, OPT_WAIT, OPT_JSON, OPT_LISTEN, OPT_STATE, OPT_MAX_RUNNING,
	/* stream */
	OPT_STREAM, OPT_SOURCE, OPT_SINK, OPT_CHECKPOINT, OPT_TRIGGER, OPT_OUTPUT_MODE,
	OPT_WATERMARK, OPT_MAX_BATCH, OPT_LATE,
	OPT_COUNT /* options in cli_opts */
} cli_opt_id;

typedef struct cli_opt {
	cli_opt_id id;
	const char *name;     /* long name, without "--" */
	char shortname;       /* or 0 */
	const char *arg;      /* value's name, or NULL for a flag */
	const char *help;
} cli_opt;

/* What `sluice run` or `sluice submit` was asked to do. */
typedef struct cli_run {
	sl_job_spec spec;
	sl_kvpair *opts;          /* job options (strings point into argv) */
	uint32_t nopts;
	char **inputs;
	uint32_t ninputs;
	const char *output;
	uint32_t workers;
	uint64_t split_size;
	bool overwrite;
	uint64_t top;
	int verbose;
	bool progress;            /* draw the progress bar while waiting */
	uint32_t slots;           /* worker ranks' slots, 0: one per core */
	sl_bind_mode bind;        /* worker ranks' pinning */
	bool mpi_opts;            /* --slots or --bind was given */
	uint32_t min_workers;     /* workers the job waits for (SUBMIT) */
	sl_coord_config coord;    /* heartbeats, retries, speculation */
	bool submit;              /* `submit`: to a running coordinator */
	bool stream;              /* `stream`, `submit --stream`: a stream
				     (cli/stream.c) */
	const char *source;       /* stream: --source */
	const char *sink;         /* stream: --sink */
	const char *checkpoint;   /* stream: --checkpoint */
	const char *trigger;      /* stream: --trigger, NULL for 1s */
	bool append;              /* stream: --output-mode append */
	bool update;              /* stream: --output-mode update */
	const char *watermark;    /* stream: --watermark, or NULL */
	uint64_t max_batch_records; /* stream: --max-batch-records, 0 none */
	const char *late;         /* stream: --late, or NULL (count) */
	sl_stream_spec stream_spec; /* stream: the above, checked
				       (cli_stream_check), and the job's
				       key columns (cli_check) */
	const char *coordinator;  /* submit: its endpoint */
	bool wait;                /* submit --wait */
	bool json;                /* submit --json */
	const sl_job *job;        /* spec.job, loaded once by cli_parse_run
				     for the whole process: the option
				     parsing, the checks, the coordinator */
} cli_run;

/* Prints "sluice: MESSAGE" and `sluice --help` advice; exits 2. */
void cli_usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* The options each subcommand takes (cli/options.c): run and submit share
 * cli_run_ids, less cli_submit_only for run and cli_run_only for submit. */
extern const cli_opt_id cli_run_ids[], cli_run_only[], cli_submit_only[],
	cli_stream_only[], cli_worker_ids[], cli_coord_ids[], cli_client_ids[];
extern const size_t cli_run_nids, cli_run_only_n, cli_submit_only_n,
	cli_stream_only_n, cli_worker_nids, cli_coord_nids, cli_client_nids;

bool cli_opt_in(cli_opt_id id, const cli_opt_id *ids, size_t n);

/* The options ids, one line each, for --help. */
void cli_print_opts(FILE *f, const cli_opt_id *ids, size_t n);

/*
 * Matches argv[*i] against the options ids. Returns the option, or NULL
 * when it is not one of them; *val gets its value (from "--x=v" or the
 * next argument, which it consumes).
 */
const cli_opt *cli_match(const cli_opt_id *ids, size_t n, int argc,
			 char **argv, int *i, const char **val);

/* Whether argument a is "--NAME" or "--NAME=VALUE"; *eq is then its '='
 * or NULL. For the options of the table and those of a job alike. */
bool cli_is_long(const char *a, const char *name, const char **eq);

/* The value of the option argv[*i]: after its '=' (eq), else the next
 * argument, which it consumes; a usage error when there is none. */
const char *cli_value(int argc, char **argv, int *i, const char *eq);

/* The number or size of option --name, or a usage error. */
uint64_t cli_number(const char *name, const char *v, uint64_t min,
		    uint64_t max);
uint64_t cli_size(const char *name, const char *v);

/* Which command cli_parse_run parses. */
typedef enum cli_mode { CLI_RUN, CLI_SUBMIT, CLI_STREAM } cli_mode;

/*
 * Parses `sluice run|submit JOB [options] INPUT... -o OUTDIR` or `sluice
 * stream JOB [options] --source URI --sink URI --checkpoint DIR`: loads
 * the job (into *ref) and fills *r; a usage error exits 2. submit: the
 * options of a job sent to a running coordinator (--coordinator, --wait,
 * --json; not those of local workers or of this process's coordinator).
 */
void cli_parse_run(int argc, char **argv, cli_run *r, sl_job_ref *ref,
		   cli_mode mode);

/* A coordinator on a thread of this process, its client, and the local
 * workers (cli/main.c). */
typedef struct cli_coord_rt cli_coord_rt;

/*
 * Submits r's job (or stream) to the coordinator of rt, waits for it,
 * prints its summary or error; a signal cancels a job, and stops a
 * stream after its batch in flight. Returns the exit status.
 */
int cli_job(cli_coord_rt *rt, cli_run *r, sl_local_cluster *lc);

/*
 * `sluice run` on this machine: a coordinator, local workers, then body
 * (cli_job for a job, the stream's loop for a stream). The exit status.
 */
typedef int cli_body_fn(cli_coord_rt *rt, cli_run *r, sl_local_cluster *lc);
int cli_run_local(cli_run *r, cli_body_fn *body);

/* `sluice stream` (cli/stream.c). */
int cli_cmd_stream(int argc, char **argv);

/* Checks a stream's options (a usage error exits 2) and fills
 * r->stream_spec; cli_stream_release() frees it. */
void cli_stream_check(cli_run *r);
void cli_stream_release(cli_run *r);

/* Checks the job's options before anything starts (and sets the key
 * columns of r->stream_spec): 0 or EXIT_USAGE. */
int cli_check(cli_run *r);

/*
 * What a job's JOB_DONE means to the user: its summary (and --top) or its
 * error on stderr. Returns the exit status.
 */
int cli_job_done(const cli_run *r, const sl_msg *done);

/* The summary of a job that succeeded, on stderr. */
void cli_summary(const cli_run *r, const sl_msg *done);

/* An error of several lines: each becomes a "sluice: " line of its own. */
void cli_print_error(const char *prefix, const char *msg);

/* wordcount --top K: the K most frequent words of the output. */
int cli_print_top(const char *dir, uint32_t parts, uint64_t k);

/* The signal that asked this process to stop, or 0 (cli_catch_signals). */
extern volatile sig_atomic_t cli_stop;
void cli_catch_signals(void);

/* The commands of cli/cluster.c. */
int cli_cmd_coordinator(int argc, char **argv);
int cli_cmd_cluster(int argc, char **argv);
int cli_cmd_submit(int argc, char **argv);
int cli_cmd_client(int argc, char **argv); /* jobs, status, cancel,
					       workers, stop */

#endif
