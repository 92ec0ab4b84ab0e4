/*
 * test_combine.c - the combine table against a naive reference: all
 * records sorted with qsort and summed by a linear scan.
 */
#include "sl_impl.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include "shuffle/combine.h"
#include "tests/unit/unit.h"

/* Sums 8-byte counts (sl_u64 layout); SL_EOVERFLOW on overflow. */
static int
fold_sum(void *arg, void *acc, const void *val, size_t len)
{
	uint64_t a, v;

	CU_ASSERT_EQUAL(len, 8);
	memcpy(&a, acc, 8);
	memcpy(&v, val, 8);
	if (__builtin_add_overflow(a, v, &a))
		return SL_EOVERFLOW;
	memcpy(acc, &a, 8);
	return SL_OK;
}

static int
add_u64(sl_combine *t, const void *key, size_t klen, uint64_t v)
{
	return sl_combine_add(t, XXH3_64bits(key, klen), key, klen, &v, 8);
}

/* The held u64 value of a key, found by iteration; -1 when absent. */
static int
held(const sl_combine *t, const void *key, size_t klen, uint64_t *v)
{
	size_t pos = 0;
	uint64_t hash;
	sl_slice k, val;

	while (sl_combine_next(t, &pos, &hash, &k, &val))
		if (sl_key_cmp(k.ptr, k.len, key, klen) == 0) {
			CU_ASSERT_EQUAL(hash, XXH3_64bits(key, klen));
			CU_ASSERT_EQUAL(val.len, 8);
			memcpy(v, val.ptr, 8);
			return 0;
		}
	return -1;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
	return unit_rng(&rng_state);
}

typedef struct rec {
	unsigned char key[12];
	size_t klen;
	uint64_t val;
} rec;

static int
rec_cmp(const void *a, const void *b)
{
	const rec *x = a, *y = b;

	return sl_key_cmp(x->key, x->klen, y->key, y->klen);
}

/*
 * The records of a table filled by add_u64 sorted by key into recs[];
 * returns how many.
 */
static size_t
sorted_contents(const sl_combine *t, rec *recs, size_t max)
{
	size_t n = 0, pos = 0;
	uint64_t hash;
	sl_slice k, val;

	while (n < max && sl_combine_next(t, &pos, &hash, &k, &val)) {
		CU_ASSERT(k.len <= sizeof(recs[n].key));
		CU_ASSERT_EQUAL(val.len, 8);
		CU_ASSERT_EQUAL(hash, XXH3_64bits(k.ptr, k.len));
		memcpy(recs[n].key, k.ptr, k.len);
		recs[n].klen = k.len;
		memcpy(&recs[n].val, val.ptr, 8);
		n++;
	}
	qsort(recs, n, sizeof(*recs), rec_cmp);
	return n;
}

static void
test_new_key_holds_a_copy(void)
{
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	char key[] = "word";
	uint64_t v = 0;

	ASSERT_EQ_INT(add_u64(t, key, 4, 5), SL_OK);
	key[0] = 'x';
	ASSERT_EQ_INT(held(t, "word", 4, &v), 0);
	ASSERT_EQ_INT(v, 5);
	ASSERT_EQ_INT(held(t, "xord", 4, &v), -1);
	ASSERT_EQ_INT(sl_combine_count(t), 1);
	sl_combine_free(t);
}

static void
test_random_keys_fold_like_reference(void)
{
	enum { N = 20000 };
	static const unsigned char alphabet[] = { 0x00, 'a', 'b', 0xff };
	rec *recs = calloc(N, sizeof(*recs));
	rec *held_recs = calloc(N, sizeof(*held_recs));
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	size_t i, j, nheld, groups = 0;
	uint64_t sum;

	for (i = 0; i < N; i++) {
		recs[i].klen = rng() % 9;
		for (j = 0; j < recs[i].klen; j++)
			recs[i].key[j] = alphabet[rng() % 4];
		recs[i].val = rng() % 1000;
		ASSERT_EQ_INT(add_u64(t, recs[i].key, recs[i].klen,
				      recs[i].val), SL_OK);
	}
	/* What the table holds, as records sorted by key. */
	nheld = sorted_contents(t, held_recs, N);
	ASSERT_EQ_INT(nheld, sl_combine_count(t));
	/* The reference: all records sorted, each run of a key summed. */
	qsort(recs, N, sizeof(*recs), rec_cmp);
	for (i = 0; i < N; i = j, groups++) {
		for (sum = 0, j = i; j < N && rec_cmp(&recs[i], &recs[j]) == 0;
		     j++)
			sum += recs[j].val;
		if (groups >= nheld)
			continue;
		ASSERT_EQ_MEM(held_recs[groups].key, held_recs[groups].klen,
			      recs[i].key, recs[i].klen);
		ASSERT_EQ_INT(held_recs[groups].val, sum);
	}
	ASSERT_EQ_INT(groups, nheld);
	CU_ASSERT(groups > 100 && groups < N);
	free(held_recs);
	free(recs);
	sl_combine_free(t);
}

static void
test_equal_hashes_keep_keys_apart(void)
{
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	char key[16];
	uint64_t v, got;
	size_t i, j, pos = 0;
	sl_slice k, val;
	uint64_t hash;
	int n;

	/* One hash for all keys, and hashes that differ only in high bits. */
	for (i = 0; i < 300; i++) {
		n = snprintf(key, sizeof(key), "k%zu", i);
		v = i;
		ASSERT_EQ_INT(sl_combine_add(t, i % 2 ? 7 : 7 | (i << 40), key,
					     (size_t)n, &v, 8), SL_OK);
		ASSERT_EQ_INT(sl_combine_add(t, i % 2 ? 7 : 7 | (i << 40), key,
					     (size_t)n, &v, 8), SL_OK);
	}
	ASSERT_EQ_INT(sl_combine_count(t), 300);
	for (i = 0; sl_combine_next(t, &pos, &hash, &k, &val); i++) {
		memcpy(&got, val.ptr, 8);
		j = got / 2; /* key "k<j>" got j twice */
		n = snprintf(key, sizeof(key), "k%zu", j);
		ASSERT_EQ_MEM(k.ptr, k.len, key, (size_t)n);
		ASSERT_EQ_INT(hash, j % 2 ? 7 : 7 | (j << 40));
	}
	ASSERT_EQ_INT(i, 300);
	sl_combine_free(t);
}

/*
 * Short keys are compared in word-sized loads: a key that differs from
 * another of its length in any one byte, at any length up to 24, under
 * one shared hash, is another key; the same bytes again are the same key.
 */
static void
test_keys_differing_in_one_byte_are_distinct(void)
{
	unsigned char base[24], other[24];
	size_t len, i, pos, n = 0;
	uint64_t v = 1, hash, got;
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	sl_slice k, val;

	for (i = 0; i < sizeof(base); i++)
		base[i] = (unsigned char)('a' + i);
	for (len = 1; len <= sizeof(base); len++) {
		ASSERT_EQ_INT(sl_combine_add(t, 7, base, len, &v, 8), SL_OK);
		for (i = 0; i < len; i++) {
			memcpy(other, base, len);
			other[i] ^= 0x80;
			ASSERT_EQ_INT(sl_combine_add(t, 7, other, len, &v, 8),
				      SL_OK);
		}
		ASSERT_EQ_INT(sl_combine_add(t, 7, base, len, &v, 8), SL_OK);
	}
	/* 24 base keys held twice, 1 + 2 + ... + 24 others once. */
	ASSERT_EQ_INT(sl_combine_count(t), 24 + 24 * 25 / 2);
	for (pos = 0; sl_combine_next(t, &pos, &hash, &k, &val);) {
		memcpy(&got, val.ptr, 8);
		if (memcmp(k.ptr, base, k.len) == 0) {
			ASSERT_EQ_INT(got, 2);
			n++;
		} else {
			ASSERT_EQ_INT(got, 1);
		}
	}
	ASSERT_EQ_INT(n, 24);
	sl_combine_free(t);
}

static void
test_table_grows_and_keeps_every_key(void)
{
	enum { N = 100000 };
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	size_t i, bad = 0, bytes0 = sl_combine_bytes(t);
	char key[16];
	uint64_t got;
	int n;

	for (i = 0; i < 2 * N; i++) {
		n = snprintf(key, sizeof(key), "%zu", i % N);
		ASSERT_EQ_INT(add_u64(t, key, (size_t)n, i % N), SL_OK);
	}
	ASSERT_EQ_INT(sl_combine_count(t), N);
	for (i = 0; i < N; i += 997) {
		n = snprintf(key, sizeof(key), "%zu", i);
		if (held(t, key, (size_t)n, &got) != 0 || got != 2 * i)
			bad++;
	}
	ASSERT_EQ_INT(bad, 0);
	/* At least the slots (32 bytes, <= 3/4 full), which hold the keys. */
	CU_ASSERT(sl_combine_bytes(t) >= bytes0 + N * 4 / 3 * 32);
	sl_combine_free(t);
}

static void
test_value_of_another_length_is_rejected(void)
{
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	uint64_t got;

	ASSERT_EQ_INT(add_u64(t, "k", 1, 3), SL_OK);
	ASSERT_EQ_INT(sl_combine_add(t, XXH3_64bits("k", 1), "k", 1, "abcd", 4),
		      SL_EINVAL);
	ASSERT_EQ_INT(sl_combine_add(t, XXH3_64bits("k", 1), "k", 1, "", 0),
		      SL_EINVAL);
	ASSERT_EQ_INT(held(t, "k", 1, &got), 0);
	ASSERT_EQ_INT(got, 3);
	ASSERT_EQ_INT(sl_combine_count(t), 1);
	sl_combine_free(t);
}

static void
test_fold_error_is_returned_as_it_is(void)
{
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	uint64_t got;

	ASSERT_EQ_INT(add_u64(t, "k", 1, UINT64_MAX - 1), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "k", 1, 1), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "k", 1, 1), SL_EOVERFLOW);
	ASSERT_EQ_INT(held(t, "k", 1, &got), 0);
	ASSERT_EQ_INT(got, UINT64_MAX);
	sl_combine_free(t);
}

static void
test_odd_keys_are_distinct(void)
{
	enum { BIG = 1 << 20 };
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	char *big = malloc(BIG + 1);
	size_t bytes0 = sl_combine_bytes(t);
	uint64_t got;

	memset(big, 'x', BIG + 1);
	ASSERT_EQ_INT(add_u64(t, "", 0, 1), SL_OK);
	ASSERT_EQ_INT(add_u64(t, NULL, 0, 1), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "\0", 1, 10), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "\0\0", 2, 100), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "a\0b", 3, 1000), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "a\0c", 3, 10000), SL_OK);
	ASSERT_EQ_INT(add_u64(t, big, BIG, 3), SL_OK);
	ASSERT_EQ_INT(add_u64(t, big, BIG + 1, 5), SL_OK);
	ASSERT_EQ_INT(add_u64(t, big, BIG, 4), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "x", 1, 7), SL_OK);
	ASSERT_EQ_INT(sl_combine_count(t), 8);
	ASSERT_EQ_INT(held(t, "", 0, &got), 0);
	ASSERT_EQ_INT(got, 2);
	ASSERT_EQ_INT(held(t, "\0", 1, &got), 0);
	ASSERT_EQ_INT(got, 10);
	ASSERT_EQ_INT(held(t, "\0\0", 2, &got), 0);
	ASSERT_EQ_INT(got, 100);
	ASSERT_EQ_INT(held(t, "a\0b", 3, &got), 0);
	ASSERT_EQ_INT(got, 1000);
	ASSERT_EQ_INT(held(t, "a\0c", 3, &got), 0);
	ASSERT_EQ_INT(got, 10000);
	ASSERT_EQ_INT(held(t, big, BIG, &got), 0);
	ASSERT_EQ_INT(got, 7);
	ASSERT_EQ_INT(held(t, big, BIG + 1, &got), 0);
	ASSERT_EQ_INT(got, 5);
	ASSERT_EQ_INT(held(t, "x", 1, &got), 0);
	ASSERT_EQ_INT(got, 7);
	CU_ASSERT(sl_combine_bytes(t) >= bytes0 + 2 * (size_t)BIG);
	free(big);
	sl_combine_free(t);
}

static int
fold_check_align(void *arg, void *acc, const void *val, size_t len)
{
	int *seen = arg; /* [0] folds, [1] misaligned accumulators */

	seen[0]++;
	if ((uintptr_t)acc % alignof(max_align_t))
		seen[1]++;
	return SL_OK;
}

static void
test_held_value_is_aligned_like_malloc(void)
{
	int seen[2] = { 0, 0 };
	sl_combine *t = sl_combine_new(fold_check_align, seen);
	char key[32];
	size_t klen, i;

	/*
	 * Every key length up to 31, twice each so that fold sees them;
	 * values of 3 bytes (held in the slot) and of 11 (in the arena,
	 * after keys of every length).
	 */
	for (i = 0; i < 64; i++) {
		klen = i % 32;
		memset(key, 'a' + (int)klen, klen);
		ASSERT_EQ_INT(sl_combine_add(t, klen, key, klen, "0123456789a",
					     klen % 2 ? 3 : 11), SL_OK);
	}
	ASSERT_EQ_INT(sl_combine_count(t), 32);
	ASSERT_EQ_INT(seen[0], 32);
	ASSERT_EQ_INT(seen[1], 0);
	sl_combine_free(t);
}

static void
test_empty_table_iterates_nothing(void)
{
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	size_t pos = 0;
	uint64_t hash;
	sl_slice k, v;

	ASSERT_EQ_INT(sl_combine_next(t, &pos, &hash, &k, &v), 0);
	ASSERT_EQ_INT(sl_combine_next(t, &pos, &hash, &k, &v), 0);
	ASSERT_EQ_INT(sl_combine_count(t), 0);
	CU_ASSERT(sl_combine_bytes(t) > 0);
	sl_combine_free(t);
	sl_combine_free(NULL);
}

/*
 * The inline sum of sl__fold_sum_u64 gives the table a generic fold
 * (called per add) gives, for keys held in the slot (up to 8 bytes) and
 * in the arena (9 to 12), with NUL and 0xff bytes.
 */
static void
test_inline_sum_folds_like_a_generic_fold(void)
{
	enum { N = 50000 };
	static const unsigned char alphabet[] = { 0x00, 'a', 'b', 0xff };
	rec *a = calloc(N, sizeof(*a)), *b = calloc(N, sizeof(*b));
	sl_combine *generic = sl_combine_new(fold_sum, NULL);
	sl_combine *inl = sl_combine_new(sl__fold_sum_u64, NULL);
	unsigned char key[12];
	size_t i, j, klen, na, nb;
	uint64_t v, total = 0;

	for (i = 0; i < N; i++) {
		klen = rng() % 13;
		for (j = 0; j < klen; j++)
			key[j] = alphabet[rng() % 4];
		v = rng() % 1000;
		total += v;
		ASSERT_EQ_INT(add_u64(generic, key, klen, v), SL_OK);
		ASSERT_EQ_INT(add_u64(inl, key, klen, v), SL_OK);
	}
	na = sorted_contents(generic, a, N);
	nb = sorted_contents(inl, b, N);
	ASSERT_EQ_INT(na, nb);
	ASSERT_EQ_INT(nb, sl_combine_count(inl));
	CU_ASSERT(nb > 1000 && nb < N);
	for (i = 0; i < na && i < nb; i++) {
		ASSERT_EQ_MEM(a[i].key, a[i].klen, b[i].key, b[i].klen);
		ASSERT_EQ_INT(a[i].val, b[i].val);
		total -= b[i].val;
	}
	ASSERT_EQ_INT(total, 0);
	free(a);
	free(b);
	sl_combine_free(generic);
	sl_combine_free(inl);
}

/*
 * Counts are little-endian 8-byte integers (sl_u64_put); an overflow is
 * an error that leaves the count as it was; a value of another length
 * is refused, also as the first value of a key.
 */
static void
test_inline_sum_refuses_overflow_and_other_lengths(void)
{
	sl_combine *t = sl_combine_new(sl__fold_sum_u64, NULL);
	unsigned char acc[8] = { 0xff, 1, 0, 0, 0, 0, 0, 0 };
	const unsigned char one[8] = { 1, 0, 0, 0, 0, 0, 0, 0 };
	uint64_t got;

	/* 0x1ff + 1 = 0x200, in byte order. */
	ASSERT_EQ_INT(sl__fold_sum_u64(NULL, acc, one, 8), SL_OK);
	ASSERT_EQ_MEM(acc, 8, "\0\2\0\0\0\0\0\0", 8);
	ASSERT_EQ_INT(sl__fold_sum_u64(NULL, acc, one, 4), SL_EINVAL);

	ASSERT_EQ_INT(add_u64(t, "k", 1, UINT64_MAX - 1), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "k", 1, 1), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "k", 1, 1), SL_EOVERFLOW);
	ASSERT_EQ_INT(held(t, "k", 1, &got), 0);
	ASSERT_EQ_INT(got, UINT64_MAX);
	ASSERT_EQ_INT(add_u64(t, "a long key, 25 bytes long", 25,
			      UINT64_MAX), SL_OK);
	ASSERT_EQ_INT(add_u64(t, "a long key, 25 bytes long", 25, 1),
		      SL_EOVERFLOW);
	ASSERT_EQ_INT(held(t, "a long key, 25 bytes long", 25, &got), 0);
	ASSERT_EQ_INT(got, UINT64_MAX);
	ASSERT_EQ_INT(sl_combine_add(t, XXH3_64bits("k", 1), "k", 1, "abcd", 4),
		      SL_EINVAL);
	ASSERT_EQ_INT(sl_combine_add(t, XXH3_64bits("new", 3), "new", 3,
				     "abcd", 4), SL_EINVAL);
	ASSERT_EQ_INT(sl_combine_count(t), 2);
	sl_combine_free(t);
}

/* Keeps the larger byte at each position: a fold that is not a sum. */
static int
fold_bytewise_max(void *arg, void *acc, const void *val, size_t len)
{
	unsigned char *a = acc;
	const unsigned char *v = val;
	size_t i;

	for (i = 0; i < len; i++)
		if (v[i] > a[i])
			a[i] = v[i];
	return SL_OK;
}

static void
test_generic_fold_of_a_short_value_is_kept(void)
{
	sl_combine *t = sl_combine_new(fold_bytewise_max, NULL);
	size_t pos = 0;
	uint64_t hash;
	sl_slice k, v;

	ASSERT_EQ_INT(sl_combine_add(t, 1, "key", 3, "a9c", 3), SL_OK);
	ASSERT_EQ_INT(sl_combine_add(t, 1, "key", 3, "x1y", 3), SL_OK);
	ASSERT_EQ_INT(sl_combine_add(t, 1, "key", 3, "b2z", 3), SL_OK);
	ASSERT_EQ_INT(sl_combine_next(t, &pos, &hash, &k, &v), 1);
	ASSERT_EQ_MEM(k.ptr, k.len, "key", 3);
	ASSERT_EQ_MEM(v.ptr, v.len, "x9z", 3);
	ASSERT_EQ_INT(sl_combine_next(t, &pos, &hash, &k, &v), 0);
	sl_combine_free(t);
}

/* The reference of sl__key_head8: the first min(len, 8) bytes, LE. */
static uint64_t
head8_ref(const unsigned char *k, size_t len)
{
	uint64_t w = 0;
	size_t i;

	for (i = 0; i < len && i < 8; i++)
		w |= (uint64_t)k[i] << (8 * i);
	return w;
}

/*
 * Keys of 0..24 bytes ending exactly at the end of a readable page (the
 * next one is PROT_NONE, so a read past the key faults) and at every
 * other offset near it, and the same keys in a buffer with other bytes
 * after them: the head and the hash see the key's bytes only.
 */
static void
test_head_and_hash_read_only_the_key_even_at_a_page_end(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len, off;
	unsigned char *map, *end, copy[32];

	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CU_ASSERT_FATAL(map != MAP_FAILED);
	CU_ASSERT_FATAL(mprotect(map + page, page, PROT_NONE) == 0);
	end = map + page;
	for (off = 0; off < 64; off++)
		end[-1 - (ptrdiff_t)off] = (unsigned char)(0x41 + off * 7);
	for (len = 0; len <= 24; len++) {
		for (off = 0; off + len <= 40; off++) {
			const unsigned char *k = end - len - off;

			memset(copy, off % 2 ? 0xff : 0, sizeof(copy));
			memcpy(copy, k, len);
			CU_ASSERT_EQUAL(sl__key_head8(k, len), head8_ref(k, len));
			CU_ASSERT_EQUAL(sl__key_head8(copy, len),
					head8_ref(k, len));
			CU_ASSERT_EQUAL(sl_combine_hash(k, len),
					sl_combine_hash(copy, len));
		}
	}
	munmap(map, 2 * page);
}

/*
 * The table's hash mixes every byte and the length: flipping any one bit
 * of a key of 1..40 bytes, or adding a NUL, changes it. (A 64-bit hash
 * could collide by chance; for these fixed keys it does not, and a hash
 * that skipped bytes, as a head-and-tail read of long keys would, fails.)
 */
static void
test_table_hash_sees_every_byte_and_the_length(void)
{
	unsigned char key[41];
	size_t len, i;
	uint64_t h;
	int bit;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)('a' + i % 26);
	key[sizeof(key) - 1] = 0;
	CU_ASSERT(sl_combine_hash("", 0) != sl_combine_hash("\0", 1));
	for (len = 1; len < sizeof(key); len++) {
		h = sl_combine_hash(key, len);
		CU_ASSERT(h != sl_combine_hash(key, len - 1));
		for (i = 0; i < len; i++) {
			for (bit = 0; bit < 8; bit++) {
				key[i] ^= (unsigned char)(1 << bit);
				CU_ASSERT(sl_combine_hash(key, len) != h);
				key[i] ^= (unsigned char)(1 << bit);
			}
		}
	}
	/* "ab" and "ab\0" share their padded head: the length decides. */
	memcpy(key, "ab\0", 3);
	CU_ASSERT(sl_combine_hash(key, 2) != sl_combine_hash(key, 3));
}

/*
 * Keys "0".."999" of at most 8 bytes (no arena): while the table is not
 * full the next add needs at most an arena chunk; when it is, the
 * doubling, and the next new key grows the held bytes by half of that
 * (the new slot array less the old): 64 slots doubled 5 times holds
 * 1000 keys at most 3/4 full. kv_bytes sums the keys and values of
 * distinct keys only.
 */
static void
test_grow_and_kv_bytes_foretell_the_table(void)
{
	enum { N = 3000, W = SL_COMBINE_GROW_KEYS };
	sl_combine *t = sl_combine_new(fold_sum, NULL);
	static size_t bytes[N + 1], grow[N + 1];
	char key[32];
	size_t kv = 0, i, j, jump, peak;
	int len, ok = 1;

	for (i = 0; i < N; i++) {
		/* Short keys stay in the slot, keys of 11-16 bytes go to the
		 * arena. */
		len = snprintf(key, sizeof(key), i % 2 ? "%zu" : "key-%07zu%.*s",
			       i, (int)(i % 6), "xxxxxx");
		bytes[i] = sl_combine_bytes(t);
		grow[i] = sl_combine_grow_bytes(t);
		ok &= grow[i] <= 2 * bytes[i] + (2u << 20);
		ASSERT_EQ_INT(add_u64(t, key, (size_t)len, 1), SL_OK);
		ASSERT_EQ_INT(add_u64(t, key, (size_t)len, 1), SL_OK); /* a hit */
		kv += (size_t)len + 8;
	}
	bytes[N] = sl_combine_bytes(t);
	/*
	 * Over the next W new keys from any count, what the table took, plus
	 * the step of a doubling in them (which holds the old slots and the
	 * new ones at once: its peak is the bytes after it plus its step, a
	 * power of two, where an arena chunk's step adds its header), stays
	 * within what grow foretold.
	 */
	for (i = 0; i + W <= N; i++) {
		for (peak = 0, j = i; j < i + W; j++) {
			jump = bytes[j + 1] - bytes[j];
			if (jump > 0 && (jump & (jump - 1)) == 0)
				peak = jump;
		}
		ok &= bytes[i + W] - bytes[i] + peak <= grow[i];
	}
	CU_ASSERT(ok);
	ASSERT_EQ_INT(sl_combine_kv_bytes(t), kv);
	ASSERT_EQ_INT(sl_combine_count(t), N);
	sl_combine_free(t);
}

/*
 * Do the tables of counts a and b hold the same keys, with the same
 * counts and the same hash, sl_combine_hash?
 */
static bool
same_counts(const sl_combine *a, const sl_combine *b)
{
	size_t pos = 0, bpos;
	uint64_t h, bh;
	sl_slice k, v, bk, bv;
	bool ok = sl_combine_count(a) == sl_combine_count(b), found;

	while (ok && sl_combine_next(a, &pos, &h, &k, &v)) {
		for (found = false, bpos = 0;
		     !found && sl_combine_next(b, &bpos, &bh, &bk, &bv);)
			found = bh == h && bk.len == k.len &&
				memcmp(bk.ptr, k.ptr, k.len) == 0 &&
				sl_u64_get(bv.ptr) == sl_u64_get(v.ptr);
		ok = found && h == sl_combine_hash(k.ptr, k.len);
	}
	return ok;
}

/*
 * Two tables over the same keys, one filled by sl_combine_queue (from a
 * key buffer rewritten at once: the queue copies), the other by
 * sl_combine_add with sl_combine_hash: the same keys, counts and hashes,
 * and the same refusals of another length, on a hit and on a miss.
 */
static void
test_queue_builds_the_table_add_builds(void)
{
	sl_combine *a = sl_combine_new(sl__fold_sum_u64, NULL);
	sl_combine *b = sl_combine_new(sl__fold_sum_u64, NULL);
	unsigned char key[40], one[8];
	size_t n, i, len, pos = 0;
	uint64_t h;
	sl_slice k, v;
	int ok = 1;

	sl_u64_put(one, 1);
	for (n = 0; n < 20000; n++) {
		len = (size_t)(rng() % 41);
		for (i = 0; i < len; i++)
			key[i] = (unsigned char)('a' + rng() % 3);
		ok &= sl_combine_queue(a, key, len, one, 8) == SL_OK;
		ok &= sl_combine_add(b, sl_combine_hash(key, len), key, len,
				     one, 8) == SL_OK;
	}
	CU_ASSERT(ok);
	ASSERT_EQ_INT(sl_combine_flush(a), SL_OK);
	ASSERT_EQ_INT(sl_combine_count(a), sl_combine_count(b));
	CU_ASSERT(same_counts(a, b));
	/*
	 * A queue's refusal sticks (every later add returns it), so the
	 * queue is asked once per table: b on a hit, a on a miss ("zz" has
	 * no 'z' of the keys); add is asked on every key of b (a's keys).
	 */
	while (sl_combine_next(a, &pos, &h, &k, &v))
		ok &= sl_combine_add(b, h, k.ptr, k.len, one, 7) == SL_EINVAL;
	CU_ASSERT(ok);
	ASSERT_EQ_INT(sl_combine_queue(b, "a", 1, one, 7), SL_EINVAL);
	ASSERT_EQ_INT(sl_combine_queue(a, "zz", 2, one, 7), SL_EINVAL);
	sl_combine_free(a);
	a = sl_combine_new(sl__fold_sum_u64, NULL);
	ASSERT_EQ_INT(sl_combine_queue(a, "zzzzzzzzzzzzzzzzzzzzzz", 22, one,
				       7), SL_EINVAL);
	ASSERT_EQ_INT(sl_combine_count(a), 0);
	sl_combine_free(a);
	sl_combine_free(b);
}

/*
 * Keys inside a readable range are read in whole words: the table they
 * build is the one sl_combine_add with sl_combine_hash builds. The range
 * is a malloc'd block of exactly its size, and keys reach its last byte:
 * a key within 16 bytes of the end must be read byte-exactly, or a
 * sanitizer build sees the read past the block.
 */
static void
test_readable_keys_build_the_table_add_builds(void)
{
	enum { N = 1000 };
	sl_combine *a = sl_combine_new(sl__fold_sum_u64, NULL);
	sl_combine *b = sl_combine_new(sl__fold_sum_u64, NULL);
	unsigned char *buf = malloc(N), one[8];
	size_t n, i, len, at;
	int ok = 1;

	CU_ASSERT_FATAL(buf != NULL);
	for (i = 0; i < N; i++)
		buf[i] = (unsigned char)('a' + rng() % 3);
	sl_u64_put(one, 1);
	sl_combine_readable(a, buf, buf + N);
	for (n = 0; n < 30000; n++) {
		len = (size_t)(rng() % 17);
		at = n % 7 ? (size_t)(rng() % (N - len + 1)) : N - len;
		ok &= sl_combine_queue(a, buf + at, len, one, 8) == SL_OK;
		ok &= sl_combine_add(b, sl_combine_hash(buf + at, len),
				     buf + at, len, one, 8) == SL_OK;
	}
	CU_ASSERT(ok);
	ASSERT_EQ_INT(sl_combine_flush(a), SL_OK);
	ASSERT_EQ_INT(sl_combine_count(a), sl_combine_count(b));
	ASSERT_EQ_INT(sl_combine_adds(a), 30000);
	CU_ASSERT(same_counts(a, b));
	sl_combine_free(a);
	sl_combine_free(b);
	free(buf);
}

/*
 * A queued count that overflows fails the add that fills the queue, or
 * the flush; the counts before it stay, and the error sticks: every
 * later flush returns it, so a caller that checks only flushes misses
 * no failed add.
 */
static void
test_queued_overflow_fails_and_sticks(void)
{
	sl_combine *t = sl_combine_new(sl__fold_sum_u64, NULL);
	unsigned char max[8], one[8];
	uint64_t h;
	sl_slice k, v;
	size_t pos = 0, queued = 0;
	int rv = SL_OK;

	sl_u64_put(max, UINT64_MAX - 1);
	sl_u64_put(one, 1);
	ASSERT_EQ_INT(sl_combine_queue(t, "word", 4, max, 8), SL_OK);
	ASSERT_EQ_INT(sl_combine_flush(t), SL_OK);
	/* UINT64_MAX - 1 + 1 fits; the next 1 does not. */
	while (rv == SL_OK && queued < 1000) {
		rv = sl_combine_queue(t, "word", 4, one, 8);
		queued++;
	}
	ASSERT_EQ_INT(rv, SL_EOVERFLOW);
	CU_ASSERT(queued > 2 && queued < 1000); /* returned by the full queue */
	ASSERT_EQ_INT(sl_combine_next(t, &pos, &h, &k, &v), 1);
	CU_ASSERT(sl_u64_get(v.ptr) == UINT64_MAX);
	ASSERT_EQ_INT(sl_combine_adds(t), 2);
	ASSERT_EQ_INT(sl_combine_flush(t), SL_EOVERFLOW);
	ASSERT_EQ_INT(sl_combine_queue(t, "other", 5, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_combine_flush(t), SL_EOVERFLOW);
	/* A failed add made at once sticks too. */
	sl_combine_free(t);
	t = sl_combine_new(sl__fold_sum_u64, NULL);
	ASSERT_EQ_INT(sl_combine_queue(t, "word", 4, one, 4), SL_EINVAL);
	ASSERT_EQ_INT(sl_combine_flush(t), SL_EINVAL);
	sl_combine_free(t);
}

static const unit_case cases[] = {
	{ "a new key holds a copy of its first value",
	  test_new_key_holds_a_copy },
	{ "random keys fold to the sums of a sorted reference",
	  test_random_keys_fold_like_reference },
	{ "keys with equal hashes are kept apart",
	  test_equal_hashes_keep_keys_apart },
	{ "keys that differ in one byte are distinct, at every length",
	  test_keys_differing_in_one_byte_are_distinct },
	{ "the table grows and keeps every key",
	  test_table_grows_and_keeps_every_key },
	{ "grow and kv bytes foretell what the table takes",
	  test_grow_and_kv_bytes_foretell_the_table },
	{ "a value of another length for a held key is rejected",
	  test_value_of_another_length_is_rejected },
	{ "a fold error is returned as it is",
	  test_fold_error_is_returned_as_it_is },
	{ "empty, NUL, prefix and 1 MiB keys are distinct keys",
	  test_odd_keys_are_distinct },
	{ "the held value is aligned like malloc memory",
	  test_held_value_is_aligned_like_malloc },
	{ "an empty table iterates nothing",
	  test_empty_table_iterates_nothing },
	{ "the inline sum of counts folds like a generic fold",
	  test_inline_sum_folds_like_a_generic_fold },
	{ "the inline sum refuses an overflow and values of another length",
	  test_inline_sum_refuses_overflow_and_other_lengths },
	{ "a generic fold of a value held in the slot is kept",
	  test_generic_fold_of_a_short_value_is_kept },
	{ "a key's head and hash read only its bytes, even at a page's end",
	  test_head_and_hash_read_only_the_key_even_at_a_page_end },
	{ "the table hash sees every byte and the length",
	  test_table_hash_sees_every_byte_and_the_length },
	{ "queue builds the table that add with the table hash builds",
	  test_queue_builds_the_table_add_builds },
	{ "keys read in whole words build the table add builds",
	  test_readable_keys_build_the_table_add_builds },
	{ "a queued count that overflows fails, and the error sticks",
	  test_queued_overflow_fails_and_sticks },
	{ NULL, NULL }
};

UNIT_MAIN("combine", cases)
