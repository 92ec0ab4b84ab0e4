/*
 * spill.h - sorted runs on local disk, compressed with LZ4.
 *
 * When a map task's combine table or sort buffers pass the worker's memory
 * budget, the records held so far are sorted into one run per partition
 * and written out with sl_spill_write(); the task then goes on with empty
 * memory. A run is read back with sl_spill_read() when the runs are
 * merged. A run file is one LZ4 frame (the standard format of the `lz4`
 * command, with a content checksum) holding the run's kv-encoded records,
 * so `lz4 -d` can read it when something needs a look.
 *
 * Files: sl_spill_write() creates a new file (O_EXCL: it never overwrites)
 * and removes it again when writing fails, so a failed spill leaves
 * nothing behind; a directory of spills is removed with sl_spill_rmdir().
 *
 * Errors return SL_E* codes and append a one-line message to err:
 * `cannot write spill file '/tmp/x': No space left on device`.
 * Threads: none inside; each call is independent.
 * Costs: LZ4 at its default level (some hundreds of MB/s a core); memory
 * is one block of SL_SPILL_BLOCK input bytes' compressed bound.
 */
#ifndef SL_SPILL_H
#define SL_SPILL_H

#include "sl_impl.h"

#define SL_SPILL_BLOCK ((size_t)1 << 20) /* bytes compressed at a time */

/*
 * Writes the len bytes at data (a run: kv records) to a new file at
 * path, compressed, and fsyncs nothing (a spill lives only as long as
 * its task). Returns SL_OK; SL_EIO when the file cannot be created or
 * written (the file is then removed); SL_ENOMEM.
 */
int sl_spill_write(const char *path, const void *data, size_t len,
		   sl_buf *err);

/*
 * Appends the bytes of the run in the file at path to out, at most
 * max_bytes of them. Returns SL_OK; SL_ENOTFOUND or SL_EIO (cannot open
 * or read); SL_EPROTO when the file is not a whole LZ4 frame or its
 * checksum does not match (a damaged or truncated spill); SL_ETOOBIG
 * when the run holds more than max_bytes; SL_ENOMEM. On error out has
 * its former length again.
 */
int sl_spill_read(const char *path, sl_buf *out, size_t max_bytes,
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
 * checked to be a whole frame with nothing after it; SL_EIO, SL_EPROTO
 * (damaged or truncated: message in err) or SL_ENOMEM. On error out may
 * have grown but keeps its former len plus whatever an earlier call gave.
 */
int sl_spill_next(sl_spill_reader *r, sl_buf *out, sl_buf *err);

/* Closes r; NULL is a no-op. */
void sl_spill_close(sl_spill_reader *r);

/*
 * Removes the regular files directly inside dir, then dir itself; a
 * missing dir is not an error. For the spill directory of a task or a
 * job, after success and after failure alike. Returns SL_OK or SL_EIO.
 */
int sl_spill_rmdir(const char *dir, sl_buf *err);

#endif
