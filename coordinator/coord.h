/*
 * coord.h - the coordinator: accepts jobs, plans their tasks, drives the
 * scheduler, tracks workers, and commits the output.
 *
 * One ROUTER socket (bound to one or more endpoints) carries every peer:
 * workers (HELLO, HEARTBEAT, TASK_DONE, COMMIT_REQ) and clients (SUBMIT,
 * SHUTDOWN). Every peer is untrusted: a report on an attempt is taken
 * only from the worker the attempt was given to, the table of workers is
 * bounded (max_workers live ones; lost ones leave it), and no send
 * blocks: a worker whose queue is full (it stopped reading) is lost, and
 * a message to any other peer that does not read is dropped. The coordinator never touches record data: it moves task
 * descriptions and small status messages; it stats input files to plan
 * splits and manages the output directory's metadata (temporary dir,
 * stale parts, _SUCCESS).
 *
 * Jobs start in the order submitted, up to max_running at once; running
 * jobs share every worker's slots by the fair-share rule (sl_share_pick:
 * the job with the fewest running attempts takes the next free slot), the
 * others wait. A job starts once SUBMIT's min_workers workers have joined
 * (bounded by join_timeout_ms), so that a launcher that starts the
 * workers with the client (mpirun) runs the job on all of them. A
 * --shuffle mpi job runs alone.
 *
 * --shuffle mpi (spec.shuffle): reduces are held when every map is done;
 * every worker gets EXCHANGE (each map's output attempt and holder); each
 * answers EXCHANGED with its rank among the W worker ranks once the
 * MPI_Alltoallv is over; then reduce r is pinned to the worker of rank
 * r mod W and reads its inputs from that worker's own endpoint. A lost
 * worker, a failed exchange or an unreadable exchanged segment fails the
 * job: nothing is rerun across the exchange.
 * Threads: sl_coord_run() runs on the caller's thread and owns all state;
 * it returns when a client sends SHUTDOWN.
 */
#ifndef SL_COORD_H
#define SL_COORD_H

#include <signal.h>

#include "sl_impl.h"
#include "scheduler/sched.h"

#define SL_COORD_CLIENT_ID 16  /* bytes of the embedded client's identity */
#define SL_COORD_MAX_WORKERS 4096 /* live workers a coordinator takes */

typedef struct sl_coord_config {
	uint32_t heartbeat_ms;   /* heartbeats to and from workers */
	uint32_t timeout_ms;     /* a silent worker is lost after this */
	uint32_t join_timeout_ms; /* a job whose SUBMIT asks for min_workers
				     fails when fewer have joined this long
				     after it was submitted; default 30000 */
	uint32_t max_running;    /* jobs that run at once, sharing the slots
				    fairly (the others wait); default 4 */
	uint32_t max_workers;    /* live workers at most (a HELLO past it is
				    refused); default SL_COORD_MAX_WORKERS */
	sl_sched_config sched;   /* backoff, speculation; max_attempts is
				    each job's own (its SUBMIT's spec) */
	const char *state_dir;   /* the job store's directory (store.h), or
				    NULL: the job table lives in memory only;
				    NULL by default. Borrowed. */
	const volatile sig_atomic_t *stop; /* non-zero: sl_coord_run returns
					      as on SHUTDOWN (set by a
					      signal); NULL by default */
	/*
	 * The only peer whose SUBMIT and SHUTDOWN are taken: the ROUTER
	 * identity of the embedded client (random, set with
	 * ZMQ_ROUTING_ID). All zero: any peer (no client is embedded). Until
	 * CURVE and a ZAP allow-list secure sockets, this keeps a peer that
	 * reaches a tcp:// coordinator from submitting jobs or stopping it.
	 * When set, this client is also sent WORKER_LOST for each worker
	 * found lost, so that the launcher that started it can kill it (it
	 * may be stopped rather than dead) and start another.
	 */
	unsigned char client_id[SL_COORD_CLIENT_ID];
} sl_coord_config;

void sl_coord_config_default(sl_coord_config *cfg);

typedef struct sl_coord sl_coord;

/* zctx stays the caller's; it must outlive the coordinator. */
int sl_coord_new(sl_coord **c, void *zctx, const sl_coord_config *cfg,
		 sl_buf *err);
/* Binds one more endpoint; writes the endpoint actually bound to out. */
int sl_coord_bind(sl_coord *c, const char *endpoint, sl_buf *out,
		  sl_buf *err);
/* Serves until a SHUTDOWN message; then tells the workers to exit. */
int sl_coord_run(sl_coord *c, sl_buf *err);
void sl_coord_free(sl_coord *c);

#endif
