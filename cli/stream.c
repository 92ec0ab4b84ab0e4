/*
 * stream.c - `sluice stream` and the stream part of `sluice submit
 * --stream`: the stream's options checked and made an sl_stream_spec,
 * then, for `sluice stream`, a coordinator and local workers in this
 * process that run it (the driver is the coordinator's:
 * coordinator/stream.c), until its trigger ends it or a signal stops
 * it after the batch in flight.
 *
 *   sluice stream JOB [job options] --source URI --sink URI \
 *       --checkpoint CK [--trigger 1s|0|once|available-now]
 *       [--output-mode complete|update | --output-mode append --watermark D
 *        [--late count|drop|sink:URI]]
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/mpi.h"
#include "connectors/sink.h"
#include "connectors/source.h"

/*
 * --late: count (the default) and drop (its other name: a late event is
 * never dropped silently) count late events only; sink:URI also writes
 * them to that sink. Late events exist only in append mode, where a
 * window's row is final: --late without it is refused.
 */
static void
cli_stream_late(cli_run *r, sl_stream_spec *st)
{
	sl_buf b = SL_BUF_INIT;

	if (r->late == NULL)
		return;
	if (!r->append)
		cli_usage_error("--late: only --output-mode append (with "
				"--watermark) has late events");
	if (strcmp(r->late, "count") == 0 || strcmp(r->late, "drop") == 0)
		return;
	if (strncmp(r->late, "sink:", 5) != 0 || r->late[5] == '\0')
		cli_usage_error("--late: '%s' is not count, drop or sink:URI",
				r->late);
	sl_sink_absolute(r->late + 5, &b);
	if (strcmp(b.buf, st->sink) == 0)
		cli_usage_error("--late: the late events need a sink of their "
				"own, not the stream's ('%s')", r->late + 5);
	if (strcmp(b.buf, "console") == 0 && strcmp(st->sink, "console") == 0)
		cli_usage_error("--late: sink:console beside --sink console "
				"would mix the two on standard output");
	st->late_sink = sl_buf_detach(&b, NULL);
	st->late_output = r->job->input == SL_INPUT_CSV ? SL_OUTPUT_CSV
						       : SL_OUTPUT_LINES;
}

void
cli_stream_check(cli_run *r)
{
	sl_stream_spec *st = &r->stream_spec;
	sl_buf b = SL_BUF_INIT;
	uint32_t i;
	int64_t ms;

	if (r->job->combine == NULL)
		cli_usage_error("job '%s' has no combine: a stream keeps its "
				"state by folding values", r->job->name);
	st->delay_ms = -1;
	if (r->watermark && strcmp(r->watermark, "0") == 0)
		st->delay_ms = 0;
	else if (r->watermark && sl_duration_parse(r->watermark, &ms) == SL_OK)
		st->delay_ms = ms;
	else if (r->watermark)
		cli_usage_error("--watermark: '%s' is not a delay (as 0, 10s, "
				"5m)", r->watermark);
	if (r->append != (r->watermark != NULL))
		cli_usage_error("--output-mode append and --watermark DELAY go "
				"together: a row is final when the watermark "
				"passes it");
	if (r->append && (strcmp(r->job->name, "wordcount") == 0 ||
			  strcmp(r->job->name, "aggregate") == 0))
		cli_usage_error("%s keeps running totals, which are never "
				"final: --output-mode complete (append is for "
				"windows)", r->job->name);
	/* A session or count window is made of several of the state's
	 * keys, and a batch folds only the keys its events touch: its rows
	 * of such windows would miss their older events. */
	for (i = 0; r->update && strcmp(r->job->name, "window") == 0 &&
		    i < r->nopts; i++)
		if (strcmp(r->opts[i].key, "window") == 0 &&
		    (strncmp(r->opts[i].value, "session:", 8) == 0 ||
		     strncmp(r->opts[i].value, "count:", 6) == 0))
			cli_usage_error("--output-mode update takes tumbling "
					"and sliding windows: a session or "
					"count window's row would miss the "
					"events of earlier batches (use append "
					"or complete)");
	st->mode = r->append ? SL_MODE_APPEND
		   : r->update ? SL_MODE_UPDATE : SL_MODE_COMPLETE;
	if (r->trigger && strcmp(r->trigger, "available-now") == 0)
		st->trigger = SL_TRIGGER_AVAILABLE;
	else if (r->trigger && strcmp(r->trigger, "once") == 0)
		st->trigger = SL_TRIGGER_ONCE;
	else if (r->trigger && strcmp(r->trigger, "0") == 0)
		st->interval_ms = 0;
	else if (sl_duration_parse(r->trigger ? r->trigger : "1s", &ms) ==
		 SL_OK)
		st->interval_ms = (uint64_t)ms;
	else
		cli_usage_error("--trigger: '%s' is not a duration (as 1s, "
				"100ms, 0), once or available-now", r->trigger);
	st->max_batch_records = r->max_batch_records;
	st->output = (uint8_t)r->job->output;
	/* The coordinator may run in another directory. */
	sl_source_absolute(r->source, &b);
	st->source = sl_buf_detach(&b, NULL);
	sl_sink_absolute(r->sink, &b);
	st->sink = sl_buf_detach(&b, NULL);
	cli_stream_late(r, st);
	if (r->checkpoint[0] != '/') {
		char cwd[4096];

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			cli_usage_error("cannot tell the current directory");
		sl_buf_addf(&b, "%s/", cwd);
	}
	sl_buf_addstr(&b, r->checkpoint);
	st->checkpoint = sl_buf_detach(&b, NULL);
	if (!st->source || !st->sink || !st->checkpoint ||
	    (r->late && strncmp(r->late, "sink:", 5) == 0 && !st->late_sink))
		cli_usage_error("out of memory");
}

void
cli_stream_release(cli_run *r)
{
	free(r->stream_spec.source);
	free(r->stream_spec.sink);
	free(r->stream_spec.checkpoint);
	free(r->stream_spec.late_sink);
	r->stream_spec.source = r->stream_spec.sink = NULL;
	r->stream_spec.checkpoint = r->stream_spec.late_sink = NULL;
}

int
cli_cmd_stream(int argc, char **argv)
{
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
	cli_stream_check(&r);
	if (sl_mpi_launched()) {
		sl_error("'sluice stream' runs its own workers on this machine; "
			 "under mpirun start 'sluice cluster' and use 'sluice "
			 "submit --stream'");
		code = EXIT_USAGE;
	} else {
		signal(SIGPIPE, SIG_IGN);
		cli_catch_signals();
		code = cli_run_local(&r, cli_job);
	}
	cli_stream_release(&r);
	sl_job_unload(&ref);
	free(r.opts);
	return code;
}
