/*
 * spill.h - sorted runs on local disk, compressed with LZ4.
 *
 * When a map task's combine table or sort buffers pass the worker's memory
 * budget, the records held so far are sorted into one run per partition
 * and written out with sl_spill_write(); the task then goes on with empty
 * memory. A run is read back a piece at a time (sl_spill_open,
 * sl_spill_next) when the runs are merged. A run file is one LZ4 frame
 * (the standard format of the `lz4` command, with a content checksum)
 * holding the run's kv-encoded records, so `lz4 -d` can read it when
 * something needs a look.
 *
 * Files: sl_spill_write() and sl_spill_create() create a new file
 * (O_EXCL: never overwriting) and remove it again when writing fails, so
 * a failed spill leaves nothing behind; a directory of spills is removed
 * with sl_rmtree() (common/procdir.h).
 *
 * Errors return SL_E* codes and append a one-line message to err:
 * `cannot write spill file '/tmp/x': No space left on device`.
 * Threads: none inside; each call is independent.
 * Costs: LZ4 at its default level (some hundreds of MB/s a core); a
 * writer's memory is one block of SL_SPILL_BLOCK input bytes' compressed
 * bound, however much is appended.
 */
#ifndef SL_SPILL_H
#define SL_SPILL_H

#include "sl_impl.h"

#define SL_SPILL_BLOCK ((size_t)1 << 20) /* bytes compressed at a time */

/*
 * Writing a run a piece at a time, for a run that arrives in pieces (a
 * fetched segment): create, append any number of times, then finish;
 * or abort to drop it. The file holds the concatenation of the appends,
 * as if written by one sl_spill_write. Nothing is fsynced (a spill
 * lives only as long as its task). Memory: one block's compressed bound
 * (about 1 MiB) plus the compressor's context, whatever the appends.
 */
typedef struct sl_spill_writer sl_spill_writer;

/*
 * Creates a new file at path (never an existing one) for a run. Sets *w
 * and returns SL_OK; SL_EIO (cannot create: message in err, and an
 * existing file is left as it was); SL_ENOMEM. *w is NULL on error.
 */
int sl_spill_create(sl_spill_writer **w, const char *path, sl_buf *err);

/*
 * Appends the len bytes at data to the run. Returns SL_OK; SL_EIO
 * (cannot write: message in err) or SL_ENOMEM, and then w is freed and
 * its file removed: do not use w again.
 */
int sl_spill_append(sl_spill_writer *w, const void *data, size_t len,
		    sl_buf *err);

/*
 * Ends the frame, closes the file and frees w, in every case. Returns
 * SL_OK (the run is whole in its file); SL_EIO or SL_ENOMEM, and then
 * the file is removed.
 */
int sl_spill_finish(sl_spill_writer *w, sl_buf *err);

/* Frees w and removes its file; NULL is a no-op. */
void sl_spill_abort(sl_spill_writer *w);

/*
 * Writes the len bytes at data (a run: kv records) to a new file at
 * path: create, one append, finish. Returns SL_OK; SL_EIO when the file
 * cannot be created or written (the file is then removed); SL_ENOMEM.
 */
int sl_spill_write(const char *path, const void *data, size_t len,
		   sl_buf *err);

/*
 * Reading a run a piece at a time, for merges that keep one block of
 * each run in memory: open, then next until it returns 0, then close.
 * Memory: SP_READ (64 KiB) of input plus the decompressor's context.
 */
typedef struct sl_spill_reader sl_spill_reader;

/*
 * Opens the run at path. Sets *r and returns SL_OK; SL_ENOTFOUND or
 * SL_EIO (cannot open, message in err); SL_ENOMEM. *r is NULL on error.
 */
int sl_spill_open(sl_spill_reader **r, const char *path, sl_buf *err);

/*
 * Appends the next bytes of the run to out (at most SL_SPILL_BLOCK, at
 * least one) and returns 1; returns 0 at the end of the run once it is
 * checked to be a whole frame with nothing after it; SL_EIO (a read
 * failed: message in err, with the OS's reason), SL_EPROTO (damaged or
 * truncated: message in err) or SL_ENOMEM. On error out may
 * have grown but keeps its former len plus whatever an earlier call gave.
 */
int sl_spill_next(sl_spill_reader *r, sl_buf *out, sl_buf *err);

/*
 * Whether the run can still give `bytes` bytes after those sl_spill_next
 * gave: SL_OK when the rest of the file may hold them (a bound: the
 * compressed bytes left times LZ4's largest expansion, 255, plus a block
 * the decompressor may hold; nothing once the frame ended); SL_EPROTO
 * (damaged: message in err) when it cannot; SL_EIO (message in err). For a
 * reader that needs a whole record and learns its length before it has
 * it: a damaged length fails at once instead of after reading to the end.
 */
int sl_spill_check_left(const sl_spill_reader *r, uint64_t bytes,
			sl_buf *err);

/* Closes r; NULL is a no-op. */
void sl_spill_close(sl_spill_reader *r);


#endif
