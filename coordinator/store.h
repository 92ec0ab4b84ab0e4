/*
 * store.h - the coordinator's job store: one SQLite file, DIR/jobs.db,
 * one row per job (its SUBMIT as msgpack, state, times, progress, error),
 * so that the job table survives a restart of the coordinator.
 *
 * The journal rule: a job is in the store before its id is returned to
 * its client (sl_store_add commits before ACCEPTED goes out), and every
 * change of state is written when it happens. After a crash, the jobs the
 * store holds as queued or running run again (the commit protocol cleans
 * their half-done output); the ones that ended keep their history.
 *
 * DIR/lock is held with flock(2) while the store is open, so a second
 * coordinator on the same DIR is refused. Writes use SQLite's WAL journal
 * with synchronous=NORMAL: a committed row survives a kill -9 of the
 * coordinator (it is in the WAL, in the kernel's cache) but not always a
 * power loss of its host, which may roll the last ones back. FULL, which
 * survives both, cost 3.3 ms of the 16 ms of a warm 1 KiB job (an fsync
 * a transaction, three a job, on this VM): measured, and traded. Not
 * thread-safe: the coordinator's thread uses it.
 */
#ifndef SL_STORE_H
#define SL_STORE_H

#include "sl_impl.h"
#include "common/proto.h"

typedef struct sl_store sl_store;

/*
 * Opens (creating it and DIR, mode 0700, when missing) the store in dir.
 * SL_OK and *sp; SL_EUSAGE when another process holds the store, SL_EIO
 * when it cannot be created, read or written (a corrupt file, a read-only
 * one), with the reason, naming the file, in err.
 */
int sl_store_open(sl_store **sp, const char *dir, sl_buf *err);
void sl_store_close(sl_store *s);

/* A new job, queued: its SUBMIT message's bytes and its info. */
int sl_store_add(sl_store *s, const sl_job_info *info, const void *submit,
		 size_t len, sl_buf *err);

/* The job's state, times, progress and error, as info says now. */
int sl_store_update(sl_store *s, const sl_job_info *info, sl_buf *err);

/*
 * A job ended: its info as sl_store_update writes it, with its attempt
 * log (n attempts, in log order) and its counters, in one transaction
 * (any log it had from a run before a restart replaced). SL_OK; SL_EIO
 * with the reason in err, nothing written.
 */
int sl_store_end(sl_store *s, const sl_job_info *info,
		 const sl_attempt_info *attempts, size_t n,
		 const sl_counter *counters, uint32_t ncounters, sl_buf *err);

/*
 * The log of an ended job as the JOB_LOG *out (job, total, at most
 * SL_LOG_PAGE attempts from the from-th, counters; error ""; status
 * left 0), which the caller releases with sl_msg_release whatever the
 * result. A job with no log has total 0. SL_OK; SL_EIO (a read failed,
 * or a row is out of range: the file is untrusted) with the reason in
 * err; SL_ENOMEM.
 */
int sl_store_log(sl_store *s, uint64_t job, uint64_t from, sl_msg *out,
		 sl_buf *err);

/*
 * Calls fn for every job, in id order, with its info (strings valid
 * during the call) and its SUBMIT's bytes. A non-zero return of fn stops
 * the walk and is returned. SL_EIO with the reason in err.
 */
typedef int sl_store_fn(void *arg, const sl_job_info *info,
			const void *submit, size_t len);
int sl_store_each(sl_store *s, sl_store_fn *fn, void *arg, sl_buf *err);

#endif
