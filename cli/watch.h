/*
 * watch.h - what `sluice run` and `sluice submit --wait` do while they
 * wait for their job's JOB_DONE: ask its state with STATUS (every
 * CLI_PROGRESS_MS with the bar, CLI_WATCH_MS without), draw the progress
 * bar on stderr from the answers, and notice an end that JOB_DONE will
 * not tell: a coordinator restarted with --state runs the job again and
 * ends it, but the JOB_DONE goes to the client it knew before the
 * restart, not to this one, which a STATUS answer still reaches.
 *
 *   job 3 [#########-----------]  45% map 12/40 reduce 0/4 1.2 GB 310 MB/s ETA 0:04
 *
 * The bar is one line, redrawn in place ("\r"). The wait's callback hands
 * the watch its ticks and messages, so the watch never reads the socket
 * itself and no message of the wait is lost. The fraction done counts
 * tasks (maps and reduces alike); the rate is input bytes of the maps
 * done over the time the job has run; the ETA is the time so far scaled
 * by what is left. The bar is off unless asked for (`--progress`,
 * default: stderr is a terminal).
 */
#ifndef SL_CLI_WATCH_H
#define SL_CLI_WATCH_H

#include <stdio.h>

#include "client/client.h"

#define CLI_PROGRESS_MS 250 /* STATUS this often with the bar */
#define CLI_WATCH_MS 1000   /* and without */

typedef struct cli_watch {
	bool bar;              /* draw the progress bar */
	sl_client *client;     /* asked for the job's state */
	uint64_t job;
	uint64_t asked_ms;     /* when STATUS last went, 0 for never */
	bool drawn;            /* a bar is on the terminal */
	uint8_t ended;         /* the job's state once STATUS says it ended
				  (sl_job_state), else SL_JOB_QUEUED */
	sl_buf error;          /* then its error */
} cli_watch;

/* Watches job on client; with a bar when `bar`. */
void cli_watch_init(cli_watch *w, bool bar, sl_client *client, uint64_t job);

/*
 * From a wait's callback: m NULL on a tick, else a message it read.
 * SL_OK, or SL_ELOST once STATUS says the job ended (w->ended, w->error):
 * its JOB_DONE was lost, the wait is over.
 */
int cli_watch_event(cli_watch *w, const sl_msg *m);

/*
 * After cli_watch_event's SL_ELOST: says on stderr how the job ended (its
 * summary is lost with the JOB_DONE; `sluice status` has the rest) and
 * returns the exit status: 0 succeeded, 1 failed or canceled.
 */
int cli_watch_exit(const cli_watch *w, const char *output_dir);

/* Erases the bar, if one is drawn: before the summary. */
void cli_watch_erase(cli_watch *w);

/* Erases the bar and frees what w holds. */
void cli_watch_release(cli_watch *w);

/*
 * The line for job j at wall time now_ms (ms since the epoch), into out
 * (appended, no "\r" or newline), at most width - 1 columns wide (0:
 * any width), so that it never wraps.
 */
void cli_progress_line(const sl_job_info *j, uint64_t now_ms, size_t width,
		       sl_buf *out);

#endif
