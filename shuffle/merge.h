/*
 * merge.h - the reduce-side k-way merge of sorted shuffle segments.
 *
 * A reduce task fetches segment r of every map task and reads them as one
 * sorted stream grouped by key: sl_merge_next_key() gives each distinct
 * key once, in sl_key_cmp order, and sl_merge_next_value() the values of
 * that key: first those of segment 0, then segment 1, ..., each segment's
 * in its record order. With segments given in map-task order, the values
 * of a key therefore come in input order, whatever the scheduling was.
 *
 * The segments came over the network: every record is decoded with the
 * checks of sl_kv_next(), and each segment's keys must not decrease.
 * A violation is SL_EPROTO, and every later call returns it again.
 *
 * A segment may also be a run in a spill file (spill.h), read a piece
 * at a time, so a merge of runs bigger than memory holds about one
 * SL_SPILL_BLOCK (plus the reader's 64 KiB and LZ4 context) per file run.
 *
 * Ownership: the merge reads the caller's in-memory segments in place;
 * they must stay unchanged until sl_merge_free(). Key and value slices
 * of an in-memory segment point into it; those of a file run are valid
 * until the next call (next_key for a key, which is a copy). Not
 * thread-safe.
 * Costs: a binary heap of the non-empty segments; each record costs
 * O(log k) key comparisons, except that consecutive records of one key in
 * one segment cost a single comparison; a key from a file run is copied.
 */
#ifndef SL_MERGE_H
#define SL_MERGE_H

#include "sl_impl.h"

typedef struct sl_merge sl_merge;

/*
 * A merge of nsegs runs (nsegs may be 0, runs may be empty; the arrays
 * are copied): run i is the spill file paths[i] when paths and paths[i]
 * are not NULL, else the segment segs[i] (segs may be NULL when every
 * run is a file; paths and err may be NULL when none is). Sets *m and
 * returns SL_OK; the errors of sl_spill_open() (message in err) or
 * SL_ENOMEM, *m NULL then. The runs are read from the first next_key.
 * Reading a file run can fail later with SL_EIO, SL_EPROTO or SL_ENOMEM:
 * sl_merge_error() says why.
 */
int sl_merge_new_runs(sl_merge **m, const sl_slice *segs,
		      const char *const *paths, size_t nsegs, sl_buf *err);

/*
 * Moves to the next distinct key, skipping the values of the current key
 * not yet read. Returns 1 and sets *key (see Ownership);
 * 0 at the end; SL_EPROTO for a segment that is not kv encoding or not
 * sorted (or a file run's error, see sl_merge_new_runs).
 */
int sl_merge_next_key(sl_merge *m, sl_slice *key);

/*
 * The next value of the current key: returns 1 and sets *val (see
 * Ownership); 0 when the key has no more values (or before the
 * first next_key); SL_EPROTO as sl_merge_next_key().
 */
int sl_merge_next_value(sl_merge *m, sl_slice *val);

/* The run (its index in sl_merge_new_runs) of the last value returned. */
size_t sl_merge_value_run(const sl_merge *m);

/*
 * Why the merge failed: a file run's message, else sl_strerror() of its
 * error; NULL when m is NULL or has not failed.
 */
const char *sl_merge_error(const sl_merge *m);

/* Frees m (not the segments); NULL is a no-op. */
void sl_merge_free(sl_merge *m);

#endif
