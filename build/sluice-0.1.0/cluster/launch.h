/*
 * launch.h - the local launcher: worker processes on this machine, for
 * `sluice run` without a cluster. Each worker is this same program,
 * started as `sluice worker --connect ENDPOINT ...`, so the local mode runs
 * the same code path as a cluster: only the endpoints differ.
 *
 * The children die with their parent (PR_SET_PDEATHSIG), so an
 * interrupted `sluice run` leaves no worker behind.
 */
#ifndef SL_LAUNCH_H
#define SL_LAUNCH_H

#include <sys/types.h>

#include "sl_impl.h"

typedef struct sl_local_cluster {
	pid_t *pids;        /* by worker index; 0 once reaped */
	uint32_t n;         /* workers started */
	uint32_t alive;     /* not yet reaped */
} sl_local_cluster;

/*
 * Starts n workers, each connecting to `coordinator` and serving its map
 * outputs on an ipc endpoint in `rundir` (an existing private directory).
 * `verbose` passes the log level on. On failure no child is left running.
 */
int sl_local_start(sl_local_cluster *lc, uint32_t n, const char *coordinator,
		   const char *rundir, int verbose, sl_buf *err);

/* Reaps exited workers without waiting; returns how many still run. */
uint32_t sl_local_poll(sl_local_cluster *lc);

/* Waits up to grace_ms for every worker to exit, then kills the rest. */
void sl_local_stop(sl_local_cluster *lc, uint32_t grace_ms);

#endif
