/*
 * stream.h - the micro-batch driver: a stream as a sequence of batch
 * jobs over the offsets of a replayable source, each committed to the
 * sink and the checkpoint exactly once (docs/stream.md).
 *
 * A state machine with no loop of its own, so that the coordinator runs
 * many streams, and batch jobs beside them, on its one event loop: the
 * coordinator calls sl_stream_step() when the stream starts, when the
 * wait it asked for is over, and when the batch job it asked for ended
 * (with that job's JOB_DONE); the step says what to do next: run a batch
 * (its SUBMIT), wait, or end. Between the steps nothing of the stream
 * runs; a step does the driver's own I/O (the source's plan, the offset
 * and commit logs, the sink's commit), which is small next to a batch.
 *
 * Exactly once: batch N's offsets are logged before its job runs; the
 * job's reduces fold batch N-1's state with the new input into batch N's
 * state and write the rows; the sink takes them (a batch it holds
 * already is not taken twice); then N goes to the commit log. After a
 * crash the logged, uncommitted batch runs again as it was: the engine
 * is deterministic, so the same bytes.
 *
 * Not thread-safe: the coordinator's thread steps its streams.
 */
#ifndef SL_STREAM_H
#define SL_STREAM_H

#include "sl_impl.h"
#include "common/proto.h"

typedef struct sl_stream sl_stream;

/*
 * Opens the stream of SUBMIT m (a copy is kept): its checkpoint (locked,
 * checked against the stream's identity), source and sink. SL_OK and
 * *out; SL_EUSAGE (a bad URI, a checkpoint of another stream or in use),
 * SL_EIO, with the reason in err.
 */
int sl_stream_open(sl_stream **out, const sl_msg *m, sl_buf *err);

/* What sl_stream_step asks for. */
typedef enum sl_stream_do {
	SL_STREAM_RUN,   /* run *batch (a SUBMIT, the caller's), then step
			    again with its JOB_DONE */
	SL_STREAM_WAIT,  /* step again in *wait_ms */
	SL_STREAM_END,   /* the stream is over: *status SL_OK (its
			    trigger's end), SL_ECANCELED (stopped), or the
			    error, with the reason in err */
} sl_stream_do;

/*
 * The stream's next move. done: the JOB_DONE of the batch it asked to
 * run, or NULL for a start or the end of a wait.
 */
sl_stream_do sl_stream_step(sl_stream *s, const sl_msg *done, sl_msg *batch,
			    uint64_t *wait_ms, int *status, sl_buf *err);

/* Asks the stream to stop: after the batch in flight commits, or at its
 * next step. */
void sl_stream_stop(sl_stream *s);

/* Its batches committed so far, and the last one's progress line (JSON,
 * "" before the first). */
uint64_t sl_stream_batches(const sl_stream *s);
const char *sl_stream_progress(const sl_stream *s);

/* NULL-safe; lets go of the checkpoint's lock. */
void sl_stream_close(sl_stream *s);

#endif
