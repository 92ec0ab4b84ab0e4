/*
 * mapout.h - the output of one map task: records collected in memory,
 * then split into R partitions, sorted by key and encoded as one shuffle
 * segment per partition (the kv encoding of kv.h).
 *
 * With a fold function, records go into a combine table (combine.h) that
 * folds the values of equal keys in place, so a segment holds each key
 * once. Without, records are appended as they come to the buffer of their
 * partition and keep every record; records of equal keys stay in emission
 * order (the sort is stable).
 *
 * The partition of a key is sl_partition_of(key, R): XXH3-64 (seed 0) of
 * the key bytes, modulo R; docs/shuffle.md says why that is stable across
 * machines. Without combine it is computed once per record; with
 * combine, once per distinct key when the table is drained (the table
 * has a cheaper hash of its own).
 *
 * Ownership: sl_mapout copies keys and values. Not thread-safe: one map
 * output belongs to one map task attempt.
 * Costs: an add is one hash plus a combine add or an append; finish
 * hashes each distinct key of the combine table with XXH3 and sorts
 * each partition in O(n log n) with 36 bytes of scratch per record.
 */
#ifndef SL_MAPOUT_H
#define SL_MAPOUT_H

#include "sl_impl.h"

#include "shuffle/combine.h"

typedef struct sl_mapout sl_mapout;

/*
 * A new map output with `partitions` (R >= 1) partitions, combining with
 * fold(arg, ...) when fold is not NULL. Sets *out and returns SL_OK, or
 * returns SL_EINVAL (R == 0) or SL_ENOMEM and sets *out to NULL.
 */
int sl_mapout_new(sl_mapout **out, uint32_t partitions, sl_fold_fn fold,
		  void *arg);

/*
 * Partitions by the first prefix(arg, key, klen) bytes of each key (at
 * most klen) instead of the whole key: sl_job.partition_prefix. Before
 * the first add.
 */
void sl_mapout_partition_by(sl_mapout *m,
			    size_t (*prefix)(void *arg, const void *key,
					     size_t klen),
			    void *arg);

/*
 * Adds one record, now or, with a fold function, maybe at a later add or
 * flush (sl_combine_queue). Returns SL_OK, SL_ENOMEM, or with a fold
 * function the errors of sl_combine_add(), for this record or for one
 * held back: SL_EINVAL for a value whose length differs from the held
 * value of the key, SL_ETOOBIG, or the fold's own error. A failed add
 * fails the map output: later adds may return SL_OK, but flush and
 * finish return the error.
 */
int sl_mapout_add(sl_mapout *m, const void *key, size_t klen,
		  const void *val, size_t vlen);

/*
 * Sets *flag to 1 once the combine table has taken `keys` more keys than
 * it holds now (a table made later: `keys` keys), so that a caller can
 * check its memory within a record: sl_combine_watch().
 */
void sl_mapout_watch(sl_mapout *m, size_t keys, int *flag);

/* sl_combine_readable() of the table, now and when made. */
void sl_mapout_readable(sl_mapout *m, const void *lo, const void *hi);

/*
 * Makes the adds held back. The byte counts below see only the adds
 * made: flush before reading them. Returns SL_OK, or the error of the
 * first add that failed, held back or not, then and ever after: a caller
 * that checks the flushes misses no failed add.
 */
int sl_mapout_flush(sl_mapout *m);

/*
 * Partitions, sorts and encodes the records: appends partition r's
 * records, sorted, to segs[r] for r in 0..R-1 (segs is the caller's array
 * of R initialized buffers). Flushes first, and fails as
 * sl_mapout_flush() does. On SL_OK the map output is empty again (its
 * memory released) and takes new records. On SL_ENOMEM the contents of
 * segs are unspecified and m may only be freed.
 */
int sl_mapout_finish(sl_mapout *m, sl_buf *segs);

/* Records added since sl_mapout_new (finish does not reset it); held
 * back ones once made (flush first). */
uint64_t sl_mapout_records_in(const sl_mapout *m);

/* Bytes of memory held for the records now in m (for a memory budget). */
size_t sl_mapout_bytes(const sl_mapout *m);

/*
 * The most memory m needs before the next check, for a memory budget:
 * the larger of what the next adds may take (sl_mapout_bytes plus the
 * combine table's growth for SL_COMBINE_GROW_KEYS new keys, see
 * sl_combine_grow_bytes) and what sl_mapout_finish() takes at its peak
 * if called now (the table and the records drained from it, then the
 * records, their sorted copy and 36 bytes of sort scratch a record). A
 * caller that finishes (spills) when this passes its budget, checking
 * after every record and every SL_COMBINE_GROW_KEYS / 2 new keys of the
 * table (sl_mapout_watch), keeps the map output within the budget.
 */
size_t sl_mapout_peak_bytes(const sl_mapout *m);

/* Bytes of the segments sl_mapout_finish() would make now (at most). */
size_t sl_mapout_out_bytes(const sl_mapout *m);

/* Frees m; NULL is a no-op. */
void sl_mapout_free(sl_mapout *m);

/*
 * Sorts the kv-encoded records in [data, data + len) by key (sl_key_cmp
 * order), stably (records of equal keys keep their order), and appends
 * them to out. Returns SL_OK; SL_EPROTO when the bytes are not kv records
 * (out unchanged); SL_ENOMEM (out unchanged). data must not point into out.
 */
int sl_kv_sort(const void *data, size_t len, sl_buf *out);

#endif
