/*
 * launch.h - the local launcher: worker processes on this machine, for
 * `sluice run` without a cluster. Each worker is this same program,
 * started as `sluice worker --connect ENDPOINT ...`, so the local mode runs
 * the same code path as a cluster: only the endpoints differ.
 *
 * The children die with their parent (PR_SET_PDEATHSIG), so an
 * interrupted `sluice run` leaves no worker behind. A worker that dies
 * during the job is replaced (sl_local_replace), up to a bound, so a job
 * on one machine does not run out of workers; so is one that the
 * coordinator found lost while its process is still there (stopped, or
 * stuck), once sl_local_kill_lost() has killed it.
 */
#ifndef SL_LAUNCH_H
#define SL_LAUNCH_H

#include <sys/types.h>

#include "sl_impl.h"

#define SL_LOCAL_MAX_REPLACE_PER_WORKER 3 /* replacements per worker slot */

typedef struct sl_local_cluster {
	pid_t *pids;          /* by worker index; 0 once reaped */
	bool *killed;         /* by worker index: we killed it (no warning
				 when it is reaped) */
	uint32_t n;           /* workers started */
	uint32_t alive;       /* not yet reaped */
	uint32_t replaced;    /* replacements started so far */
	char exe[4096];       /* this program */
	char *coordinator;    /* endpoint the workers connect to */
	char *rundir;         /* private directory for ipc endpoints */
	int verbose;          /* log level passed on */
} sl_local_cluster;

/*
 * Starts n workers, each connecting to `coordinator` and serving its map
 * outputs on an ipc endpoint in `rundir` (an existing private directory).
 * `verbose` passes the log level on. On failure no child is left running.
 */
int sl_local_start(sl_local_cluster *lc, uint32_t n, const char *coordinator,
		   const char *rundir, int verbose, sl_buf *err);

/*
 * The coordinator found the worker with this pid and shuffle endpoint
 * lost: if it is one of ours (both match), SIGKILL it, so that the next
 * sl_local_replace() starts another. Returns whether it was ours.
 */
bool sl_local_kill_lost(sl_local_cluster *lc, uint32_t pid,
			const char *endpoint);

/* Reaps exited workers without waiting; returns how many still run. */
uint32_t sl_local_poll(sl_local_cluster *lc);

/*
 * Starts a new process for each worker that has exited, while fewer than
 * SL_LOCAL_MAX_REPLACE_PER_WORKER * n replacements were made. Returns how
 * many it started.
 */
uint32_t sl_local_replace(sl_local_cluster *lc);

/*
 * Asks every worker to exit (SIGTERM, and SIGCONT so that a stopped one
 * acts on it), waits up to grace_ms, then kills the rest. Workers stopped
 * this way are not reported as killed.
 */
void sl_local_stop(sl_local_cluster *lc, uint32_t grace_ms);

#endif
