/*
 * coord.h - the coordinator: accepts jobs, plans their tasks, drives the
 * scheduler, tracks workers, and commits the output.
 *
 * One ROUTER socket (bound to one or more endpoints) carries every peer:
 * workers (HELLO, HEARTBEAT, TASK_DONE, COMMIT_REQ) and clients (SUBMIT,
 * SHUTDOWN). The coordinator never touches record data: it moves task
 * descriptions and small status messages; it stats input files to plan
 * splits and manages the output directory's metadata (temporary dir,
 * stale parts, _SUCCESS).
 *
 * Jobs run one at a time, in the order submitted (the others wait).
 * Threads: sl_coord_run() runs on the caller's thread and owns all state;
 * it returns when a client sends SHUTDOWN.
 */
#ifndef SL_COORD_H
#define SL_COORD_H

#include "sl_impl.h"
#include "scheduler/sched.h"

typedef struct sl_coord_config {
	uint32_t heartbeat_ms;   /* heartbeats to and from workers */
	uint32_t timeout_ms;     /* a silent worker is lost after this */
	sl_sched_config sched;   /* retries, backoff, speculation */
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
