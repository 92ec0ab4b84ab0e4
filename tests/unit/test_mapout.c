/*
 * test_mapout.c - map output and sl_kv_sort against a naive reference:
 * every emitted record kept in an array, sorted with qsort by (key,
 * emission index), summed by a linear scan when combining, and put in the
 * partition sl_partition_of() gives.
 */
#include "sl_impl.h"

#include <stdlib.h>

#include "shuffle/mapout.h"
#include "tests/unit/unit.h"

typedef struct rec {
	unsigned char *key;     /* malloc'ed */
	size_t klen;
	unsigned char *val;     /* malloc'ed */
	size_t vlen;
	size_t idx;             /* emission order */
} rec;

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint64_t
rng(void)
{
	return unit_rng(&rng_state);
}

/* Sums 8-byte counts (sl_u64_put), as a fold of a job's own would. */
static int
fold_sum(void *arg, void *acc, const void *val, size_t len)
{
	uint64_t a = sl_u64_get(acc), v = sl_u64_get(val);

	if (__builtin_add_overflow(a, v, &a))
		return SL_EOVERFLOW;
	sl_u64_put(acc, a);
	return SL_OK;
}

/*
 * n random records: keys of 0..10 bytes over {NUL, 'a', 'b', 0xff} (so
 * many duplicates and prefixes), one in 50 a 9..40-byte key of one
 * repeated byte; values 8-byte counts (u64) or 0..5 random bytes.
 */
static rec *
gen_records(size_t n, bool u64)
{
	static const unsigned char alphabet[] = { 0x00, 'a', 'b', 0xff };
	rec *recs = calloc(n, sizeof(*recs));
	size_t i, j;

	for (i = 0; i < n; i++) {
		rec *r = &recs[i];

		r->klen = rng() % 50 == 0 ? 9 + rng() % 32 : rng() % 11;
		r->key = malloc(r->klen + 1);
		for (j = 0; j < r->klen; j++)
			r->key[j] = r->klen > 10 ? 'b' : alphabet[rng() % 4];
		r->vlen = u64 ? 8 : rng() % 6;
		r->val = malloc(r->vlen + 1);
		if (u64)
			sl_u64_put(r->val, rng() % 1000);
		else
			for (j = 0; j < r->vlen; j++)
				r->val[j] = (unsigned char)rng();
		r->idx = i;
	}
	return recs;
}

static void
free_records(rec *recs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(recs[i].key);
		free(recs[i].val);
	}
	free(recs);
}

static int
rec_cmp(const void *a, const void *b)
{
	const rec *x = a, *y = b;
	int c = sl_key_cmp(x->key, x->klen, y->key, y->klen);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* The reference segments: recs sorted (in place) and partitioned. */
static void
expect_segments(rec *recs, size_t n, uint32_t r, bool combine, sl_buf *exp)
{
	size_t i, j;
	uint64_t sum;
	unsigned char v[8];

	qsort(recs, n, sizeof(*recs), rec_cmp);
	for (i = 0; i < n; i = j) {
		uint32_t p = sl_partition_of(recs[i].key, recs[i].klen, r);

		if (!combine) {
			sl_kv_append(&exp[p], recs[i].key, recs[i].klen,
				     recs[i].val, recs[i].vlen);
			j = i + 1;
			continue;
		}
		for (sum = 0, j = i; j < n && sl_key_cmp(recs[i].key,
		     recs[i].klen, recs[j].key, recs[j].klen) == 0; j++)
			sum += sl_u64_get(recs[j].val);
		sl_u64_put(v, sum);
		sl_kv_append(&exp[p], recs[i].key, recs[i].klen, v, 8);
	}
}

/* Every record of segs[p] belongs to partition p. */
static void
check_partitions(const sl_buf *segs, uint32_t r)
{
	sl_slice k, v;
	size_t pos, bad = 0;
	uint32_t p;

	for (p = 0; p < r; p++)
		for (pos = 0; sl_kv_next(segs[p].buf, segs[p].len, &pos, &k,
					 &v) == 1;)
			if (sl_partition_of(k.ptr, k.len, r) != p)
				bad++;
	ASSERT_EQ_INT(bad, 0);
}

static void
run_against_reference(size_t n, uint32_t r, sl_fold_fn fold)
{
	rec *recs = gen_records(n, fold != NULL);
	sl_buf segs[7], exp[7];
	sl_mapout *m;
	size_t i;
	uint32_t p, nonempty = 0;

	for (p = 0; p < r; p++) {
		sl_buf_init(&segs[p]);
		sl_buf_init(&exp[p]);
	}
	ASSERT_EQ_INT(sl_mapout_new(&m, r, fold, NULL), SL_OK);
	for (i = 0; i < n; i++)
		ASSERT_EQ_INT(sl_mapout_add(m, recs[i].key, recs[i].klen,
					    recs[i].val, recs[i].vlen), SL_OK);
	/* Queued adds (the engine's sum) are counted once made. */
	ASSERT_EQ_INT(sl_mapout_flush(m), SL_OK);
	ASSERT_EQ_INT(sl_mapout_records_in(m), n);
	ASSERT_EQ_INT(sl_mapout_finish(m, segs), SL_OK);
	expect_segments(recs, n, r, fold != NULL, exp);
	for (p = 0; p < r; p++) {
		ASSERT_EQ_INT(segs[p].len, exp[p].len);
		CU_ASSERT(segs[p].len == exp[p].len &&
			  memcmp(segs[p].buf, exp[p].buf, exp[p].len) == 0);
		nonempty += segs[p].len > 0;
	}
	ASSERT_EQ_INT(nonempty, r);
	check_partitions(segs, r);
	for (p = 0; p < r; p++) {
		sl_buf_release(&segs[p]);
		sl_buf_release(&exp[p]);
	}
	sl_mapout_free(m);
	free_records(recs, n);
}

static void
test_one_partition_without_combine(void)
{
	run_against_reference(20000, 1, NULL);
}

static void
test_seven_partitions_without_combine(void)
{
	run_against_reference(20000, 7, NULL);
}

static void
test_one_partition_with_combine(void)
{
	run_against_reference(20000, 1, fold_sum);
}

static void
test_seven_partitions_with_combine(void)
{
	run_against_reference(20000, 7, fold_sum);
}

/* The engine's sum: counts queued, keys over 16 bytes added at once. */
static void
test_seven_partitions_with_the_engine_sum(void)
{
	run_against_reference(20000, 7, sl__fold_sum_u64);
}

static void
test_equal_keys_keep_emission_order(void)
{
	sl_buf seg = SL_BUF_INIT;
	sl_mapout *m;

	ASSERT_EQ_INT(sl_mapout_new(&m, 1, NULL, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, "1", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "kk", 2, "x", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, "2", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "", 0, "e", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, "3", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_finish(m, &seg), SL_OK);
	ASSERT_EQ_MEM(seg.buf, seg.len,
		      "\0\1e" "\1\1k1" "\1\1k2" "\1\1k3" "\2\1kkx", 20);
	sl_buf_release(&seg);
	sl_mapout_free(m);
}

static void
test_long_keys_are_partitioned_and_sorted(void)
{
	enum { BIG = 1 << 20 };
	unsigned char *a = malloc(BIG + 1), *b = malloc(BIG);
	unsigned char one[8], two[8], three[8];
	sl_buf segs[7], exp[7];
	sl_mapout *m;
	uint32_t p;

	memset(a, 'z', BIG + 1);
	memset(b, 'z', BIG);
	b[BIG - 1] = 'y';
	sl_u64_put(one, 1);
	sl_u64_put(two, 2);
	sl_u64_put(three, 3);
	for (p = 0; p < 7; p++) {
		sl_buf_init(&segs[p]);
		sl_buf_init(&exp[p]);
	}
	ASSERT_EQ_INT(sl_mapout_new(&m, 7, fold_sum, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, a, BIG + 1, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, a, BIG, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, b, BIG, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, a, BIG, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, a, BIG + 1, two, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_finish(m, segs), SL_OK);
	/* b < a[0..BIG) < a[0..BIG] */
	sl_kv_append(&exp[sl_partition_of(b, BIG, 7)], b, BIG, one, 8);
	sl_kv_append(&exp[sl_partition_of(a, BIG, 7)], a, BIG, two, 8);
	sl_kv_append(&exp[sl_partition_of(a, BIG + 1, 7)], a, BIG + 1,
		     three, 8);
	for (p = 0; p < 7; p++) {
		ASSERT_EQ_INT(segs[p].len, exp[p].len);
		CU_ASSERT(segs[p].len == exp[p].len &&
			  memcmp(segs[p].buf, exp[p].buf, exp[p].len) == 0);
		sl_buf_release(&segs[p]);
		sl_buf_release(&exp[p]);
	}
	sl_mapout_free(m);
	free(a);
	free(b);
}

static void
test_fold_error_is_returned(void)
{
	unsigned char big[8], one[8];
	sl_mapout *m;

	sl_u64_put(big, UINT64_MAX);
	sl_u64_put(one, 1);
	ASSERT_EQ_INT(sl_mapout_new(&m, 3, fold_sum, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, big, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, one, 8), SL_EOVERFLOW);
	ASSERT_EQ_INT(sl_mapout_records_in(m), 1);
	sl_mapout_free(m);
}

static void
test_value_of_another_length_is_rejected(void)
{
	unsigned char one[8];
	sl_buf seg = SL_BUF_INIT;
	sl_mapout *m;

	sl_u64_put(one, 1);
	ASSERT_EQ_INT(sl_mapout_new(&m, 1, fold_sum, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "k", 1, one, 4), SL_EINVAL);
	/* The error sticks: a caller checking only flush or finish sees it. */
	ASSERT_EQ_INT(sl_mapout_flush(m), SL_EINVAL);
	ASSERT_EQ_INT(sl_mapout_finish(m, &seg), SL_EINVAL);
	sl_buf_release(&seg);
	sl_mapout_free(m);
}

/*
 * The partition function is frozen: XXH3-64 of "" is 0x2d06800538d394c2
 * (xxHash's published test vector), 4 mod 7; of "a" 0xe6c632b61e964e1f,
 * 1 mod 7. A change of hash, seed or reduction would move these keys.
 * With combine too, whose table hashes keys with another function.
 */
static void
run_partitions_follow_the_xxh3_test_vectors(sl_fold_fn fold)
{
	sl_buf segs[7];
	sl_mapout *m;
	uint32_t p;

	for (p = 0; p < 7; p++)
		sl_buf_init(&segs[p]);
	ASSERT_EQ_INT(sl_mapout_new(&m, 7, fold, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "", 0, "e", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_add(m, "a", 1, "v", 1), SL_OK);
	ASSERT_EQ_INT(sl_mapout_finish(m, segs), SL_OK);
	for (p = 0; p < 7; p++) {
		if (p == 4)
			ASSERT_EQ_MEM(segs[p].buf, segs[p].len, "\0\1e", 3);
		else if (p == 1)
			ASSERT_EQ_MEM(segs[p].buf, segs[p].len, "\1\1av", 4);
		else
			ASSERT_EQ_INT(segs[p].len, 0);
		sl_buf_release(&segs[p]);
	}
	sl_mapout_free(m);
}

static void
test_partitions_follow_the_xxh3_test_vectors(void)
{
	run_partitions_follow_the_xxh3_test_vectors(NULL);
	run_partitions_follow_the_xxh3_test_vectors(fold_sum);
}

static void
test_zero_partitions_is_invalid(void)
{
	sl_mapout *m = (sl_mapout *)&m;

	ASSERT_EQ_INT(sl_mapout_new(&m, 0, NULL, NULL), SL_EINVAL);
	CU_ASSERT_PTR_NULL(m);
	sl_mapout_free(NULL);
}

static void
run_finish_twice(sl_fold_fn fold)
{
	unsigned char one[8];
	sl_buf first[2] = { SL_BUF_INIT, SL_BUF_INIT };
	sl_buf second[2] = { SL_BUF_INIT, SL_BUF_INIT };
	sl_mapout *m;
	size_t empty_bytes;
	uint32_t pa = sl_partition_of("a", 1, 2);
	uint32_t pb = sl_partition_of("b", 1, 2);

	sl_u64_put(one, 1);
	ASSERT_EQ_INT(sl_mapout_new(&m, 2, fold, NULL), SL_OK);
	empty_bytes = sl_mapout_bytes(m);
	ASSERT_EQ_INT(sl_mapout_add(m, "a", 1, one, 8), SL_OK);
	CU_ASSERT(sl_mapout_bytes(m) > empty_bytes);
	ASSERT_EQ_INT(sl_mapout_finish(m, first), SL_OK);
	ASSERT_EQ_INT(sl_mapout_bytes(m), empty_bytes);
	ASSERT_EQ_INT(sl_mapout_add(m, "b", 1, one, 8), SL_OK);
	ASSERT_EQ_INT(sl_mapout_finish(m, second), SL_OK);
	ASSERT_EQ_INT(sl_mapout_records_in(m), 2);
	ASSERT_EQ_MEM(first[pa].buf, first[pa].len, "\1\10a\1\0\0\0\0\0\0\0",
		      11);
	ASSERT_EQ_MEM(second[pb].buf, second[pb].len,
		      "\1\10b\1\0\0\0\0\0\0\0", 11);
	ASSERT_EQ_INT(first[0].len + first[1].len, 11);
	ASSERT_EQ_INT(second[0].len + second[1].len, 11);
	sl_buf_release(&first[0]);
	sl_buf_release(&first[1]);
	sl_buf_release(&second[0]);
	sl_buf_release(&second[1]);
	sl_mapout_free(m);
}

static void
test_finish_empties_the_map_output(void)
{
	run_finish_twice(NULL);
	run_finish_twice(fold_sum);
}

/*
 * 1000 records of 300 keys "k0".."k299" (8-byte values) and one of a
 * 200-byte key, whose length takes a 2-byte varint: the segments are
 * the sum of their encodings (every record, or each key once with a
 * fold), which sl_mapout_out_bytes foretells, exactly without a fold, as
 * an upper bound within 1/64 with one; sl_mapout_peak_bytes covers what
 * is held, the records drained from a table, and the sort's copy and 36
 * bytes of scratch a record.
 */
static void
run_budget_bounds(sl_fold_fn fold)
{
	unsigned char one[8], big[200];
	char key[16];
	sl_buf segs[3] = { SL_BUF_INIT, SL_BUF_INIT, SL_BUF_INIT };
	sl_mapout *m;
	size_t want, n, out, peak, i;
	int klen;

	sl_u64_put(one, 1);
	memset(big, 'x', sizeof(big));
	ASSERT_EQ_INT(sl_mapout_new(&m, 3, fold, NULL), SL_OK);
	ASSERT_EQ_INT(sl_mapout_out_bytes(m), 0);
	CU_ASSERT(sl_mapout_peak_bytes(m) >= sl_mapout_bytes(m));
	for (want = 0, i = 0; i < 1000; i++) {
		klen = snprintf(key, sizeof(key), "k%zu", i % 300);
		ASSERT_EQ_INT(sl_mapout_add(m, key, (size_t)klen, one, 8), SL_OK);
		if (fold == NULL || i < 300)
			want += 1 + 1 + (size_t)klen + 8;
	}
	ASSERT_EQ_INT(sl_mapout_add(m, big, sizeof(big), one, 8), SL_OK);
	want += 2 + 1 + sizeof(big) + 8;
	n = fold ? 301 : 1001;
	out = sl_mapout_out_bytes(m);
	if (fold == NULL)
		ASSERT_EQ_INT(out, want);
	CU_ASSERT(out >= want && out <= want + want / 64);
	peak = sl_mapout_peak_bytes(m);
	CU_ASSERT(peak >= 2 * out + 36 * n);
	CU_ASSERT(peak >= sl_mapout_bytes(m) + out);
	ASSERT_EQ_INT(sl_mapout_finish(m, segs), SL_OK);
	ASSERT_EQ_INT(segs[0].len + segs[1].len + segs[2].len, want);
	ASSERT_EQ_INT(sl_mapout_out_bytes(m), 0);
	ASSERT_EQ_INT(sl_mapout_peak_bytes(m), sl_mapout_bytes(m));
	for (i = 0; i < 3; i++)
		sl_buf_release(&segs[i]);
	sl_mapout_free(m);
}

static void
test_budget_bounds_cover_finish(void)
{
	run_budget_bounds(NULL);
	run_budget_bounds(fold_sum);
}

static void
test_kv_sort_rejects_malformed_bytes(void)
{
	static const struct {
		const char *bytes;
		size_t len;
	} bad[] = {
		{ "\x80", 1 },                  /* truncated varint */
		{ "\x01\x01" "ab" "\x85", 5 },  /* a record, then truncated */
		{ "\x05\x00" "ab", 4 },         /* key past the end */
		{ "\x01\x05" "ab", 4 },         /* value past the end */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f\x00", 11 },
	};
	sl_buf out = SL_BUF_INIT;
	size_t i;

	sl_buf_addstr(&out, "kept");
	for (i = 0; i < SL_ARRAY_LEN(bad); i++) {
		ASSERT_EQ_INT(sl_kv_sort(bad[i].bytes, bad[i].len, &out),
			      SL_EPROTO);
		ASSERT_EQ_MEM(out.buf, out.len, "kept", 4);
	}
	sl_buf_release(&out);
}

static void
test_kv_sort_orders_shared_prefixes(void)
{
	/* Keys in the order expected, then shuffled below. */
	static const struct {
		const char *key;
		size_t len;
	} keys[] = {
		{ "", 0 }, { "\0", 1 }, { "\0\0", 2 }, { "abcdefg", 7 },
		{ "abcdefg\0", 8 }, { "abcdefgh", 8 }, { "abcdefgh\0", 9 },
		{ "abcdefgh\0\1", 10 }, { "abcdefgh\1", 9 },
		{ "abcdefghij", 10 }, { "abcdefgi", 8 }, { "\xff", 1 },
	};
	static const size_t order[] = { 9, 3, 11, 0, 6, 1, 8, 5, 2, 10, 7, 4 };
	sl_buf in = SL_BUF_INIT, out = SL_BUF_INIT, exp = SL_BUF_INIT;
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(order); i++)
		sl_kv_append(&in, keys[order[i]].key, keys[order[i]].len, "v",
			     1);
	for (i = 0; i < SL_ARRAY_LEN(keys); i++)
		sl_kv_append(&exp, keys[i].key, keys[i].len, "v", 1);
	ASSERT_EQ_INT(sl_kv_sort(in.buf, in.len, &out), SL_OK);
	ASSERT_EQ_INT(out.len, exp.len);
	CU_ASSERT(out.len == exp.len && memcmp(out.buf, exp.buf, exp.len) == 0);
	sl_buf_release(&in);
	sl_buf_release(&out);
	sl_buf_release(&exp);
}

static void
test_kv_sort_of_nothing_appends_nothing(void)
{
	sl_buf out = SL_BUF_INIT;

	ASSERT_EQ_INT(sl_kv_sort(NULL, 0, &out), SL_OK);
	ASSERT_EQ_INT(out.len, 0);
	sl_buf_addstr(&out, "x");
	ASSERT_EQ_INT(sl_kv_sort("\1\0b\1\0a", 6, &out), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, "x\1\0a\1\0b", 7);
	sl_buf_release(&out);
}

static void
test_kv_sort_is_stable_on_many_equal_keys(void)
{
	enum { N = 5000 };
	sl_buf in = SL_BUF_INIT, out = SL_BUF_INIT, exp = SL_BUF_INIT;
	size_t i;
	char v[16];
	int n;

	/* Reverse order of keys "b" and "a" alternating, values numbered. */
	for (i = 0; i < N; i++) {
		n = snprintf(v, sizeof(v), "%zu", i);
		sl_kv_append(&in, i % 2 ? "a" : "b", 1, v, (size_t)n);
	}
	for (i = 1; i < N; i += 2) {
		n = snprintf(v, sizeof(v), "%zu", i);
		sl_kv_append(&exp, "a", 1, v, (size_t)n);
	}
	for (i = 0; i < N; i += 2) {
		n = snprintf(v, sizeof(v), "%zu", i);
		sl_kv_append(&exp, "b", 1, v, (size_t)n);
	}
	ASSERT_EQ_INT(sl_kv_sort(in.buf, in.len, &out), SL_OK);
	ASSERT_EQ_INT(out.len, exp.len);
	CU_ASSERT(out.len == exp.len && memcmp(out.buf, exp.buf, exp.len) == 0);
	sl_buf_release(&in);
	sl_buf_release(&out);
	sl_buf_release(&exp);
}

/*
 * Decoders take varints longer than the shortest (a zero continued), so
 * the sort may meet them: it moves such records byte for byte, and finds
 * their keys and ends as it does those of the shortest ones.
 */
static void
test_kv_sort_keeps_longer_varints(void)
{
	static const char in[] =
		"\x81\x00\x01" "bx"                  /* klen in 2 bytes */
		"\x01\x80\x80\x00" "a"              /* vlen in 3 bytes */
		"\x8a\x00\x00" "abcdefghij"          /* key > 8 bytes */
		"\x0a\x81\x00" "abcdefghia" "v"
		"\x01\x02" "cyz";
	static const char want[] =
		"\x01\x80\x80\x00" "a"
		"\x0a\x81\x00" "abcdefghia" "v"
		"\x8a\x00\x00" "abcdefghij"
		"\x81\x00\x01" "bx"
		"\x01\x02" "cyz";
	sl_buf out = SL_BUF_INIT;

	ASSERT_EQ_INT(sl_kv_sort(in, sizeof(in) - 1, &out), SL_OK);
	ASSERT_EQ_MEM(out.buf, out.len, want, sizeof(want) - 1);
	sl_buf_release(&out);
}

/* The partition key of test_a_partition_prefix...: up to the first '/'. */
static size_t
slash_prefix(void *arg, const void *key, size_t klen)
{
	(void)arg;
	const char *s = memchr(key, '/', klen);

	return s ? (size_t)(s - (const char *)key) : klen;
}

static void
run_partition_prefix(sl_fold_fn fold)
{
	static const char *const keys[] = { "u1/0005", "u1/0001", "u2/0001",
					    "u3/0007", "u1/0003", "u3/0002",
					    "u4", "u2/0009" };
	sl_buf segs[5];
	unsigned char one[8];
	sl_mapout *m;
	sl_slice k, v;
	size_t i, pos, n = 0;
	uint32_t p;

	sl_u64_put(one, 1);
	for (p = 0; p < 5; p++)
		sl_buf_init(&segs[p]);
	ASSERT_EQ_INT(sl_mapout_new(&m, 5, fold, NULL), SL_OK);
	sl_mapout_partition_by(m, slash_prefix, NULL);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ASSERT_EQ_INT(sl_mapout_add(m, keys[i], strlen(keys[i]), one, 8),
			      SL_OK);
	ASSERT_EQ_INT(sl_mapout_finish(m, segs), SL_OK);
	for (p = 0; p < 5; p++) {
		const char *prev = NULL;
		size_t prev_len = 0;

		for (pos = 0; sl_kv_next(segs[p].buf, segs[p].len, &pos, &k,
					 &v) == 1; n++) {
			/* by the prefix's hash, sorted by the whole key */
			ASSERT_EQ_INT(sl_partition_of(k.ptr,
						      slash_prefix(NULL, k.ptr, k.len),
						      5), p);
			if (prev)
				CU_ASSERT(sl_key_cmp(prev, prev_len, k.ptr,
						     k.len) < 0);
			prev = k.ptr;
			prev_len = k.len;
		}
		sl_buf_release(&segs[p]);
	}
	ASSERT_EQ_INT(n, sizeof(keys) / sizeof(keys[0]));
	sl_mapout_free(m);
}

static void
test_a_partition_prefix_keeps_a_prefix_in_one_partition(void)
{
	run_partition_prefix(NULL);
	run_partition_prefix(sl__fold_sum_u64);
}

static const unit_case cases[] = {
	{ "a partition prefix keeps a prefix in one partition",
	  test_a_partition_prefix_keeps_a_prefix_in_one_partition },
	{ "one partition without combine is the stably sorted reference",
	  test_one_partition_without_combine },
	{ "seven partitions without combine follow sl_partition_of",
	  test_seven_partitions_without_combine },
	{ "one partition with combine holds the reference sums",
	  test_one_partition_with_combine },
	{ "seven partitions with combine hold the reference sums",
	  test_seven_partitions_with_combine },
	{ "seven partitions with the engine's sum hold the reference sums",
	  test_seven_partitions_with_the_engine_sum },
	{ "equal keys keep emission order without combine",
	  test_equal_keys_keep_emission_order },
	{ "1 MiB keys are combined, partitioned and sorted",
	  test_long_keys_are_partitioned_and_sorted },
	{ "a fold error is returned and the record not counted",
	  test_fold_error_is_returned },
	{ "a value of another length for a held key fails the map output",
	  test_value_of_another_length_is_rejected },
	{ "partitions follow the xxHash3-64 test vectors, with and without "
	  "combine",
	  test_partitions_follow_the_xxh3_test_vectors },
	{ "zero partitions is an invalid argument",
	  test_zero_partitions_is_invalid },
	{ "finish empties the map output, which takes new records",
	  test_finish_empties_the_map_output },
	{ "the output and peak bytes foretold cover what finish makes",
	  test_budget_bounds_cover_finish },
	{ "sorting bytes that are not kv records is a protocol error",
	  test_kv_sort_rejects_malformed_bytes },
	{ "sorting orders keys that share a prefix, shorter first",
	  test_kv_sort_orders_shared_prefixes },
	{ "sorting nothing appends nothing",
	  test_kv_sort_of_nothing_appends_nothing },
	{ "sorting is stable on many equal keys",
	  test_kv_sort_is_stable_on_many_equal_keys },
	{ "sorting moves records with longer varints byte for byte",
	  test_kv_sort_keeps_longer_varints },
	{ NULL, NULL }
};

UNIT_MAIN("mapout", cases)
