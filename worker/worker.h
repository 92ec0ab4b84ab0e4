/*
 * worker.h - a worker process: runs task attempts for a coordinator and
 * serves the map outputs it holds to reducers.
 *
 * Threads: the caller's thread runs the event loop and owns every socket
 * but the fetch sockets of reduce attempts: the coordinator connection
 * (DEALER), the shuffle server (ROUTER) and the completion queue (PULL,
 * inproc) on which task threads post their finished attempts. Each task
 * attempt runs on a thread of its own (at most `slots` at once).
 * Map outputs are held in memory by the loop thread until the coordinator
 * ends their job (JOB_END).
 *
 * --shuffle mpi: on EXCHANGE the loop thread (the process's main thread,
 * the only one calling MPI) sends partition r of the named map outputs it
 * holds to the worker rank r mod W of cfg->group and receives its own
 * partitions of every map (sl_mpi_alltoallv, blocking the loop meanwhile),
 * keeps them keyed (job, map, attempt, partition), drops its map outputs
 * and answers EXCHANGED. FETCH is served from both stores, so a reduce
 * reads its exchanged segments through its own worker's endpoint.
 */
#ifndef SL_WORKER_H
#define SL_WORKER_H

#include <signal.h>

#include "sl_impl.h"
#include "cluster/mpi.h"

typedef struct sl_worker_config {
	const char *coordinator;   /* endpoint to connect to */
	const char *shuffle_bind;  /* endpoint to serve map outputs on */
	uint32_t slots;            /* task attempts at once, >= 1 */
	const volatile sig_atomic_t *stop; /* non-zero: exit (set by a signal
					      handler), or NULL */
	sl_mpi_group *group;       /* the worker ranks, for EXCHANGE (the
				      MPI shuffle); NULL: not a worker rank */
	bool rejoin;               /* when the coordinator falls silent: drop
				      its work and join again (a cluster
				      worker), instead of returning
				      SL_ELOST (a worker rank) */
} sl_worker_config;

/*
 * Runs until the coordinator sends SHUTDOWN (SL_OK), *cfg->stop becomes
 * non-zero (SL_OK), the coordinator is lost (SL_ELOST, unless
 * cfg->rejoin), or a fatal error (reason in err).
 */
int sl_worker_run(const sl_worker_config *cfg, sl_buf *err);

#endif
