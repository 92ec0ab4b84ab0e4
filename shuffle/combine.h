/*
 * combine.h - the map-side combine table: hash aggregation of emitted
 * values by key, folding each new value into the one already held.
 *
 * An open-addressing hash table (linear probing, power-of-two capacity,
 * doubled when it is 3/4 full). Each 32-byte slot holds the key's 64-bit
 * hash, the key and value lengths, and the key and the value themselves
 * when they are at most 8 bytes long (most words, counts); longer ones
 * live in a chunked arena the slot points to. So a word count's add reads
 * one slot and allocates nothing unless a long key or value arrives, an
 * arena chunk fills or the table doubles. The hash is sl_combine_hash()
 * in sluice (cheap, inline; not the partition hash): sl_combine_queue
 * computes it, sl_combine_add takes it from the caller, so tests can
 * force collisions.
 *
 * The fold sl__fold_sum_u64 (the engine's side of sl_combine_sum_u64) is
 * recognized and done inline, with no call per add.
 *
 * Ownership: the table copies keys and values; slices it returns (in
 * sl_combine_next) stay valid until the next add or sl_combine_free().
 * Not thread-safe: one table belongs to one map task attempt.
 * Costs: an add is one probe sequence, a hash compare per probed slot and
 * a key compare on hash equality (in the slot for keys of up to 8 bytes);
 * memory is 32 bytes a slot plus, for a key or value longer than 8
 * bytes, its bytes rounded up to a multiple of 16 in the arena.
 */
#ifndef SL_COMBINE_H
#define SL_COMBINE_H

#include "sl_impl.h"

#include <endian.h>

/*
 * Folds `val` into the accumulated value `acc` of the same key, in place.
 * Both are `len` bytes; `acc` is aligned as malloc() memory is. Returns
 * SL_OK or an error code, which sl_combine_add() passes on as it is.
 */
typedef int (*sl_fold_fn)(void *arg, void *acc, const void *val, size_t len);

/*
 * Adds the 8-byte counts (sl_u64_put layout) val and acc into acc. Returns
 * SL_OK; SL_EINVAL when len is not 8; SL_EOVERFLOW when the sum does not
 * fit 64 bits (acc unchanged). A table made with this fold adds inline and
 * refuses a value of any other length, also for a new key (SL_EINVAL).
 */
int sl__fold_sum_u64(void *arg, void *acc, const void *val, size_t len);

typedef struct sl_combine sl_combine;

/*
 * The first min(klen, 8) bytes of key, zero-padded to 8 (the image the
 * table keeps of a short key), as a little-endian integer: byte 0 in the
 * low bits. Reads only the key's own bytes: 8 at once, two overlapping
 * 4-byte loads for 4..7 bytes, three byte loads for 1..3, so a word costs
 * at most three well-predicted length branches and no byte loop. An empty
 * key (possibly NULL) reads nothing.
 */
static inline uint64_t
sl__key_head8(const void *key, size_t klen)
{
	const unsigned char *k = key;
	uint64_t w;
	uint32_t lo, hi;

	if (klen >= 8) {
		memcpy(&w, k, 8);
		return le64toh(w);
	}
	if (klen >= 4) {
		memcpy(&lo, k, 4);
		memcpy(&hi, k + klen - 4, 4);
		return (uint64_t)le32toh(lo) |
		       (uint64_t)le32toh(hi) << (8 * (klen - 4));
	}
	if (klen == 0)
		return 0;
	return (uint64_t)k[0] | (uint64_t)k[klen / 2] << (8 * (klen / 2)) |
	       (uint64_t)k[klen - 1] << (8 * (klen - 1));
}

/* XXH3-64 of a key; the part of sl_combine_hash() out of line. */
uint64_t sl__combine_hash_long(const void *key, size_t klen);

/*
 * sl_combine_hash() of a key of at most 16 bytes whose sl__key_head8() is
 * `head`: for a caller that has the head already (sl_combine_queue).
 * sl__combine_mix is its core, given also the key's last 8 bytes as a
 * little-endian integer when it is longer than 8 (tail; else 0).
 */
static inline uint64_t
sl__combine_mix(uint64_t head, uint64_t tail, size_t klen)
{
	const uint64_t k1 = UINT64_C(0xa0761d6478bd642f);
	const uint64_t k2 = UINT64_C(0xe7037ed1a0b428db);
	uint64_t a, b;

	a = head ^ k1;
	b = tail ^ k2 ^ klen;
#ifdef __SIZEOF_INT128__
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
#else
	/* No 128-bit product (32-bit hosts): two multiply-xorshift rounds. */
	a = (a ^ (a >> 32)) * b;
	return (a ^ (a >> 29)) * k2;
#endif
}

static inline uint64_t
sl__combine_hash_short(uint64_t head, const void *key, size_t klen)
{
	uint64_t tail = 0;

	if (klen > 8) {
		memcpy(&tail, (const unsigned char *)key + klen - 8, 8);
		tail = le64toh(tail);
	}
	return sl__combine_mix(head, tail, klen);
}

/*
 * The hash the combine table is keyed by in sluice: keys of up to 16
 * bytes (nearly all words) are mixed with their length in one 128-bit
 * multiply (wyhash's "mum": the product's halves xor-folded), longer ones
 * get XXH3. A few instructions and one length branch, inline, where XXH3
 * of every word cost a fifth of a word count's CPU. Not the partition
 * hash (XXH3, kv.h): that one is computed once per distinct key.
 */
static inline uint64_t
sl_combine_hash(const void *key, size_t klen)
{
	if (klen > 16)
		return sl__combine_hash_long(key, klen);
	return sl__combine_hash_short(sl__key_head8(key, klen), key, klen);
}

/* A new empty table folding with fold(arg, ...); NULL when out of memory. */
sl_combine *sl_combine_new(sl_fold_fn fold, void *arg);

/*
 * Inserts the key with a copy of the value, or folds the value into the
 * key's held value. `hash` must be the same function of the key bytes on
 * every call. Returns SL_OK; SL_EINVAL when vlen differs from the length
 * of the held value of that key (nothing changes); SL_ETOOBIG when klen or
 * vlen exceeds UINT32_MAX - 1 (SIZE_MAX / 4 on 32-bit hosts); SL_ENOMEM
 * (nothing changes); or the error of fold, as it is (the held value is
 * then whatever fold left in it).
 */
int sl_combine_add(sl_combine *t, uint64_t hash, const void *key,
		   size_t klen, const void *val, size_t vlen);

/*
 * sl_combine_add(t, sl_combine_hash(key, klen), key, ...), now or a
 * little later: the add of sluice's map output, once per emitted record.
 * In a table folding with sl__fold_sum_u64, an 8-byte count of a key of
 * up to 16 bytes is copied to a queue of a few adds, after a prefetch of
 * its slot, and the queue is added when full, so that the adds' cache
 * misses overlap; other adds are made at once, after the queue's. Returns
 * what sl_combine_add returns, for this add or for the queue's: the only
 * errors of a queued add are SL_EOVERFLOW and SL_ENOMEM.
 */
int sl_combine_queue(sl_combine *t, const void *key, size_t klen,
		     const void *val, size_t vlen);

/*
 * Tells sl_combine_queue that the bytes [lo, hi) are readable until the
 * next call (lo == hi: none): a key that starts there with at least 16
 * bytes of the range from its start is read in two whole words, with no
 * branch on its length (which a word count's keys vary from word to
 * word, so the branches are mispredicted). The range is read, never
 * written; keys elsewhere are read byte-exactly.
 */
void sl_combine_readable(sl_combine *t, const void *lo, const void *hi);

/*
 * Makes the adds sl_combine_queue holds back. The functions below see
 * only the adds made: flush first. Returns SL_OK or the first error of
 * an add of sl_combine_queue (the queued adds after it are dropped),
 * then and ever after: a caller that checks only the flushes misses no
 * failed add.
 */
int sl_combine_flush(sl_combine *t);

/*
 * Iterates over the entries in no particular order: start with *pos = 0;
 * returns 1 and sets hash, key and val, or 0 when there are no more.
 * Adding to the table invalidates *pos and the slices already returned.
 */
int sl_combine_next(const sl_combine *t, size_t *pos, uint64_t *hash,
		    sl_slice *key, sl_slice *val);

/* Adds made that returned SL_OK (queued ones once made). */
uint64_t sl_combine_adds(const sl_combine *t);

/* Number of distinct keys held. */
size_t sl_combine_count(const sl_combine *t);

/* Bytes of memory the table holds (slots, arena chunks, the struct). */
size_t sl_combine_bytes(const sl_combine *t);

/* New keys sl_combine_grow_bytes() provides for. */
#define SL_COMBINE_GROW_KEYS 64

/*
 * Bytes the next SL_COMBINE_GROW_KEYS new keys may allocate on top of
 * sl_combine_bytes() while they are added: the doubled slot array if they
 * take the table past 3/4 full (the old one is freed only after the
 * move), and the next arena chunk (4 KiB growing to 1 MiB; their keys
 * and values, up to 8 bytes of each in the slot and 16 for a queued
 * count's key, fit in one). A key or value longer than a chunk gets a
 * chunk of its own size, which this does not count. A caller that
 * checks its memory every SL_COMBINE_GROW_KEYS / 2 new keys
 * (sl_combine_watch) stays within what it checked: a flush of the queue
 * adds fewer than that after the key that set its flag.
 */
size_t sl_combine_grow_bytes(const sl_combine *t);

/*
 * Sets *flag to 1 when an add makes the table hold `keys` keys (never
 * when it holds that many already); one watch at a time.
 */
void sl_combine_watch(sl_combine *t, size_t keys, int *flag);

/* Key and value bytes of the entries held (their sum, for encoding). */
size_t sl_combine_kv_bytes(const sl_combine *t);

/* Frees the table and everything in it; NULL is a no-op. */
void sl_combine_free(sl_combine *t);

#endif
