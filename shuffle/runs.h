/*
 * runs.h - a map output kept within a memory budget: sorted runs spilled
 * to disk, merged at the end into one output file.
 *
 * A map task adds records to its sl_mapout; whenever
 * sl_mapout_peak_bytes() passes the task's budget it calls
 * sl_runs_spill(), which finishes the records held so far into one
 * sorted run per partition and writes each non-empty one with
 * sl_spill_write() to PREFIX-p<partition>-<k>, then goes on with an
 * empty map output. sl_runs_finish() finishes what is
 * left into memory and merges, partition by partition, the partition's
 * file runs and that last run (sl_merge over file runs, one block of each
 * in memory), folding the values of equal keys again with a fold
 * function, and writes the merged segments back to back, uncompressed, to
 * one file: segment r is bytes [ends[r-1], ends[r]) (ends[-1] = 0), so a
 * worker serves a FETCH with one pread.
 *
 * Runs of one partition are merged in spill order and the merge keeps
 * the order of equal keys across runs, so without a fold the records of
 * a key keep their emission order, as in an unspilled map output.
 *
 * Ownership: sl_runs owns the names of its run files and removes them in
 * sl_runs_free() (after success and failure alike); the output file is
 * the caller's (removed by sl_runs_finish() only when it fails).
 * Not thread-safe: one per map attempt.
 * Costs: a spill writes each record once (LZ4); the final merge reads it
 * once and holds about 1.1 MiB per run of the partition being merged plus
 * a 1 MiB output buffer.
 */
#ifndef SL_RUNS_H
#define SL_RUNS_H

#include "sl_impl.h"

#include "shuffle/combine.h"
#include "shuffle/mapout.h"

typedef struct sl_runs sl_runs;

/*
 * Runs of a map output with `partitions` partitions, in files named
 * PREFIX-p<r>-<k> (prefix is copied; its directory must exist), folded
 * at the end with fold(arg, ...) when fold is not NULL (the map output's
 * own fold). Sets *out and returns SL_OK, or SL_ENOMEM (*out NULL).
 */
int sl_runs_new(sl_runs **out, uint32_t partitions, const char *prefix,
		sl_fold_fn fold, void *arg);

/*
 * Finishes the records of mo (which has the runs' partitions) into one
 * sorted run per partition and writes them out; mo is empty again on
 * SL_OK. Errors: SL_EIO (message in err; the run files written so far
 * are removed by sl_runs_free), SL_ENOMEM.
 */
int sl_runs_spill(sl_runs *runs, sl_mapout *mo, sl_buf *err);

/*
 * Finishes mo and merges it with the spilled runs into a new file at
 * path (O_EXCL), setting ends[r] for r in 0..R-1 as above. Returns SL_OK;
 * SL_EIO or SL_EPROTO (message in err), SL_EINVAL (a fold met values of
 * one key with different lengths), the fold's error, SL_ENOMEM. The file
 * is removed on error. The run files stay until sl_runs_free().
 */
int sl_runs_finish(sl_runs *runs, sl_mapout *mo, const char *path,
		   uint64_t *ends, sl_buf *err);

/* Removes the run files and frees runs; NULL is a no-op. */
void sl_runs_free(sl_runs *runs);

#endif
