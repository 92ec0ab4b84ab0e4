/*
 * checkpoint.h - a stream's checkpoint directory: what it belongs to
 * (meta), its lock, the offset log, the commit log, the state of each
 * batch and the progress log. The format is in docs/stream.md; only
 * checkpoint.c knows the layout.
 *
 *   CK/meta                "sluice-checkpoint 1", then the stream's
 *                          identity (the driver's text, one item a line)
 *   CK/lock                flock'ed while a stream runs on CK
 *   CK/offsets/NNNNNNNNNN  batch N's time ("batch-time MS") and offsets,
 *                          before it runs
 *   CK/commits/NNNNNNNNNN  batch N committed, with the next watermark
 *   CK/state/NNNNNNNNNN/   batch N's state (part-R files, _SUCCESS)
 *   CK/progress.jsonl      a JSON line a committed batch
 *   CK/late/               the late sink's checkpoint directory (its
 *                          identity and staging: --late sink:URI)
 *
 * Every file is written under a temporary name, fsync'ed, renamed into
 * place and its directory fsync'ed (sl_write_file). Not thread-safe: one
 * driver per checkpoint, which the lock enforces across processes.
 */
#ifndef SL_CHECKPOINT_H
#define SL_CHECKPOINT_H

#include "sl_impl.h"
#include "common/proto.h" /* SL_NO_WATERMARK */

#define SL_CK_FORMAT "sluice-checkpoint 1" /* first line of meta and of
					      each offset log entry */

typedef struct sl_checkpoint {
	char *dir;            /* the directory (owned) */
	int lock_fd;          /* CK/lock, flock'ed; -1 when closed */
	uint64_t committed;   /* the last batch of the commit log, 0: none */
	int64_t wm;           /* the watermark it left, or SL_NO_WATERMARK */
} sl_checkpoint;

/*
 * Opens the checkpoint of directory dir (made if missing): takes its
 * lock, writes meta (the identity text, after the format line) or checks
 * it against the one there, reads where the commit log stands. SL_OK;
 * SL_EUSAGE when it is locked by another stream or belongs to another
 * (its meta differs); SL_EIO; the reason in err. sl_ck_close() after
 * either.
 */
int sl_ck_open(sl_checkpoint *ck, const char *dir, const char *identity,
	       sl_buf *err);
void sl_ck_close(sl_checkpoint *ck);

/* The last batch of the offset log, 0 for none. */
uint64_t sl_ck_logged(const sl_checkpoint *ck);

/* Batch n's time (when it was planned, ms since the epoch) into *time
 * and its offsets into offsets (replaced). SL_OK, or SL_EIO with the
 * reason (missing, not of this version). */
int sl_ck_offsets(const sl_checkpoint *ck, uint64_t n, int64_t *time,
		  sl_buf *offsets, sl_buf *err);

/* Logs batch n's time and offsets, durably. */
int sl_ck_log_offsets(const sl_checkpoint *ck, uint64_t n, int64_t time,
		      const char *offsets, sl_buf *err);

/* The state directory of batch n (appended to dir); nothing for n 0. */
void sl_ck_state_dir(const sl_checkpoint *ck, uint64_t n, sl_buf *dir);

/*
 * Batch n is done (its sink has it): its state marked complete, then n
 * and the watermark wm (SL_NO_WATERMARK for none) appended to the commit
 * log, durably, then batch n-1's state removed (a failure there is only
 * logged). ck->committed and ck->wm follow.
 */
int sl_ck_commit(sl_checkpoint *ck, uint64_t n, int64_t wm, sl_buf *err);

/* CK/late, the directory the late sink of the stream is opened with as
 * its checkpoint (appended to dir): its identity in a database and its
 * staging, apart from the stream's sink's. */
void sl_ck_late_dir(const sl_checkpoint *ck, sl_buf *dir);

/* The bytes of batch n's state. */
uint64_t sl_ck_state_bytes(const sl_checkpoint *ck, uint64_t n);

/* Appends a line to the progress log (a failure is logged: the line is
 * a report, the commit log is the truth). */
void sl_ck_progress(const sl_checkpoint *ck, const char *line);

#endif
