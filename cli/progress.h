/*
 * progress.h - the progress bar of `sluice run` and `sluice submit --wait`
 * on stderr:
 *
 *   job 3 [#########-----------]  45% map 12/40 reduce 0/4 1.2 GB 310 MB/s ETA 0:04
 *
 * One line, redrawn in place ("\r") from the job's JOB_LIST entry, which
 * it asks for with STATUS (at most every CLI_PROGRESS_MS) on the client
 * the wait reads: the wait's callback hands it its ticks and messages, so
 * it never reads the socket itself and no reply of the wait is lost. The
 * fraction done counts tasks (maps and reduces alike); the rate is input
 * bytes of the maps done over the time the job has run; the ETA is the
 * time so far scaled by what is left. Off unless asked for (`--progress`,
 * default: stderr is a terminal).
 */
#ifndef SL_CLI_PROGRESS_H
#define SL_CLI_PROGRESS_H

#include <stdio.h>

#include "client/client.h"

#define CLI_PROGRESS_MS 250 /* STATUS at most this often */

typedef struct cli_progress {
	bool on;               /* draw it */
	sl_client *client;     /* asked for the job's state */
	uint64_t job;
	uint64_t asked_ms;     /* when STATUS last went, 0 for never */
	bool drawn;            /* a line is on the terminal */
} cli_progress;

/* A bar for job, asked for on client; `on` false makes every call a no-op. */
void cli_progress_init(cli_progress *p, bool on, sl_client *client,
		       uint64_t job);

/* From a wait's callback: m NULL on a tick, else a message it read. */
void cli_progress_event(cli_progress *p, const sl_msg *m);

/* Erases the line, if one is drawn: before the summary. */
void cli_progress_end(cli_progress *p);

/*
 * The line for job j at wall time now_ms (ms since the epoch), into out
 * (appended, no "\r" or newline), at most width - 1 columns wide (0:
 * any width), so that it never wraps.
 */
void cli_progress_line(const sl_job_info *j, uint64_t now_ms, size_t width,
		       sl_buf *out);

#endif
