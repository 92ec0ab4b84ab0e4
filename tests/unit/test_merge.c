/*
 * test_merge.c - the k-way merge: hand-built segments with known output,
 * malformed segments, and the merge of several map outputs against a
 * reference (every emitted record in an array, sorted with qsort by key
 * then emission order, filtered by sl_partition_of).
 */
#include "sl_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "shuffle/mapout.h"
#include "shuffle/merge.h"
#include "shuffle/spill.h"
#include "tests/unit/unit.h"

/*
 * The merge of runs (spill files where paths[i]) as text: "key=v1,v2;
 * key=v3;" with every value read, or reading at most `max_vals` values
 * of a key (the rest skipped). Returns the first error code, or 0.
 */
static int
merge_to_text(const sl_slice *segs, const char *const *paths, size_t nsegs,
	      size_t max_vals, sl_buf *text)
{
	sl_buf err = SL_BUF_INIT;
	sl_merge *m;
	sl_slice key, val;
	size_t i;
	int rv;

	rv = sl_merge_new_runs(&m, segs, paths, nsegs, &err);
	sl_buf_release(&err);
	if (rv != SL_OK)
		return rv;
	while ((rv = sl_merge_next_key(m, &key)) == 1) {
		sl_buf_add(text, key.ptr, key.len);
		sl_buf_addch(text, '=');
		for (i = 0; i < max_vals &&
		     (rv = sl_merge_next_value(m, &val)) == 1; i++) {
			if (i)
				sl_buf_addch(text, ',');
			sl_buf_add(text, val.ptr, val.len);
		}
		if (rv < 0)
			break;
		sl_buf_addch(text, ';');
	}
	sl_merge_free(m);
	return rv;
}

/* Segment from "k=v" strings (NULL-terminated list). */
static void
make_segment(sl_buf *seg, const char *const *kvs)
{
	for (; *kvs; kvs++) {
		const char *eq = strchr(*kvs, '=');

		sl_kv_append(seg, *kvs, (size_t)(eq - *kvs), eq + 1,
			     strlen(eq + 1));
	}
}

static void
check_merge(const char *const *const *segdefs, size_t nsegs,
	    size_t max_vals, const char *expected)
{
	sl_buf segbufs[8], text = SL_BUF_INIT;
	sl_slice segs[8];
	size_t i;

	for (i = 0; i < nsegs; i++) {
		sl_buf_init(&segbufs[i]);
		make_segment(&segbufs[i], segdefs[i]);
		segs[i].ptr = segbufs[i].buf;
		segs[i].len = segbufs[i].len;
	}
	ASSERT_EQ_INT(merge_to_text(segs, NULL, nsegs, max_vals, &text), 0);
	ASSERT_EQ_STR(text.buf, expected);
	for (i = 0; i < nsegs; i++)
		sl_buf_release(&segbufs[i]);
	sl_buf_release(&text);
}

static void
test_no_segments_end_at_once(void)
{
	static const sl_slice nulls[2] = { { NULL, 0 }, { NULL, 0 } };
	sl_merge *m;
	sl_slice key, val;

	ASSERT_EQ_INT(sl_merge_new_runs(&m, NULL, NULL, 0, NULL), SL_OK);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), 0);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), 0);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), 0);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), 0);
	sl_merge_free(m);
	sl_merge_free(NULL);
	/* Empty segments given as NULL pointers. */
	ASSERT_EQ_INT(sl_merge_new_runs(&m, nulls, NULL, 2, NULL), SL_OK);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), 0);
	sl_merge_free(m);
}

static void
test_one_segment_is_read_as_it_is(void)
{
	static const char *const s0[] = { "a=1", "a=2", "b=3", "c=4", "c=5",
					  NULL };
	static const char *const *const segs[] = { s0 };

	check_merge(segs, 1, SIZE_MAX, "a=1,2;b=3;c=4,5;");
}

static void
test_values_come_segment_by_segment(void)
{
	static const char *const s0[] = { "a=0a", "b=0b", "b=0bb", NULL };
	static const char *const s1[] = { NULL };
	static const char *const s2[] = { "b=2b", "c=2c", NULL };
	static const char *const s3[] = { "a=3a", "b=3b", "d=3d", NULL };
	static const char *const s4[] = { NULL };
	static const char *const *const segs[] = { s0, s1, s2, s3, s4 };

	check_merge(segs, 5, SIZE_MAX, "a=0a,3a;b=0b,0bb,2b,3b;c=2c;d=3d;");
}

static void
test_next_key_skips_values_not_read(void)
{
	static const char *const s0[] = { "a=1", "a=2", "b=3", "b=4", NULL };
	static const char *const s1[] = { "a=5", "b=6", "c=7", NULL };
	static const char *const *const segs[] = { s0, s1 };

	check_merge(segs, 2, 0, "a=;b=;c=;");
	check_merge(segs, 2, 1, "a=1;b=3;c=7;");
	check_merge(segs, 2, 2, "a=1,2;b=3,4;c=7;");
	check_merge(segs, 2, 3, "a=1,2,5;b=3,4,6;c=7;");
}

static void
test_no_more_values_stays_no_more(void)
{
	static const char *const s0[] = { "a=1", "b=2", NULL };
	sl_buf seg = SL_BUF_INIT;
	sl_slice s, key, val;
	sl_merge *m;

	make_segment(&seg, s0);
	s.ptr = seg.buf;
	s.len = seg.len;
	ASSERT_EQ_INT(sl_merge_new_runs(&m, &s, NULL, 1, NULL), SL_OK);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), 1);
	ASSERT_EQ_MEM(key.ptr, key.len, "a", 1);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), 1);
	ASSERT_EQ_MEM(val.ptr, val.len, "1", 1);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), 0);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), 0);
	/* The key slice of "a" stays valid after the merge moved on. */
	ASSERT_EQ_INT(sl_merge_next_key(m, &val), 1);
	ASSERT_EQ_MEM(val.ptr, val.len, "b", 1);
	ASSERT_EQ_MEM(key.ptr, key.len, "a", 1);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), 0);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), 0);
	sl_merge_free(m);
	sl_buf_release(&seg);
}

static void
test_empty_and_prefix_keys_merge_in_order(void)
{
	static const char *const s0[] = { "=e0", "ab=x", "abc=y", NULL };
	static const char *const s1[] = { "=e1", "a=z", "ab=w", "b=q", NULL };
	static const char *const *const segs[] = { s0, s1 };

	check_merge(segs, 2, SIZE_MAX, "=e0,e1;a=z;ab=x,w;abc=y;b=q;");
}

static void
test_binary_keys_merge_in_memcmp_order(void)
{
	sl_buf s0 = SL_BUF_INIT, s1 = SL_BUF_INIT, text = SL_BUF_INIT;
	sl_slice segs[2];

	sl_kv_append(&s0, "\0", 1, "1", 1);
	sl_kv_append(&s0, "\x7f", 1, "2", 1);
	sl_kv_append(&s0, "\xff", 1, "3", 1);
	sl_kv_append(&s1, "\0\0", 2, "4", 1);
	sl_kv_append(&s1, "\x80", 1, "5", 1);
	segs[0] = (sl_slice){ s0.buf, s0.len };
	segs[1] = (sl_slice){ s1.buf, s1.len };
	ASSERT_EQ_INT(merge_to_text(segs, NULL, 2, SIZE_MAX, &text), 0);
	ASSERT_EQ_MEM(text.buf, text.len,
		      "\0=1;" "\0\0=4;" "\x7f=2;" "\x80=5;" "\xff=3;", 21);
	sl_buf_release(&s0);
	sl_buf_release(&s1);
	sl_buf_release(&text);
}

/* A merge of a good segment and `bad` returns SL_EPROTO, then again. */
static void
check_malformed(const char *bad, size_t len, size_t max_vals)
{
	sl_buf good = SL_BUF_INIT, text = SL_BUF_INIT;
	sl_slice segs[2], key, val;
	sl_merge *m;

	sl_kv_append(&good, "m", 1, "1", 1);
	segs[0] = (sl_slice){ good.buf, good.len };
	segs[1] = (sl_slice){ bad, len };
	ASSERT_EQ_INT(merge_to_text(segs, NULL, 2, max_vals, &text), SL_EPROTO);
	/* Once failed, always failed. */
	ASSERT_EQ_INT(sl_merge_new_runs(&m, segs, NULL, 2, NULL), SL_OK);
	while (sl_merge_next_key(m, &key) == 1)
		while (sl_merge_next_value(m, &val) == 1)
			;
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), SL_EPROTO);
	ASSERT_EQ_INT(sl_merge_next_value(m, &val), SL_EPROTO);
	sl_merge_free(m);
	sl_buf_release(&good);
	sl_buf_release(&text);
}

static void
test_truncated_varint_is_a_protocol_error(void)
{
	check_malformed("\x80", 1, SIZE_MAX);
	check_malformed("\x01\x01" "a1" "\x01\x81", 6, SIZE_MAX);
	check_malformed("\x01\x01" "a1" "\x01\x81", 6, 0);
}

static void
test_length_past_the_end_is_a_protocol_error(void)
{
	check_malformed("\x01\x01" "a1" "\x01\x05" "z12", 9, SIZE_MAX);
	check_malformed("\x01\x01" "z1" "\x09\x00" "z", 7, 0);
	check_malformed("\x01\x01" "z1" "\x09\x00" "z", 7, SIZE_MAX);
}

static void
test_unsorted_keys_are_a_protocol_error(void)
{
	check_malformed("\x01\x01" "b1" "\x01\x01" "a2", 8, SIZE_MAX);
	check_malformed("\x01\x01" "b1" "\x01\x01" "a2", 8, 0);
	check_malformed("\x02\x01" "zz1" "\x01\x01" "z2", 9, SIZE_MAX);
	check_malformed("\x01\x01" "z1" "\x01\x01" "z2" "\x00\x01" "3", 11,
			SIZE_MAX);
}

/* --- map outputs against the global reference --------------------------- */

typedef struct rec {
	char key[8];
	size_t klen;
	char val[24];           /* "map.index", unique */
	size_t vlen;
	size_t idx;             /* emission order: map task, then record */
} rec;

static uint64_t rng_state = 0x13198a2e03707344ull;

static uint64_t
rng(void)
{
	return unit_rng(&rng_state);
}

static int
rec_cmp(const void *a, const void *b)
{
	const rec *x = a, *y = b;
	int c = sl_key_cmp(x->key, x->klen, y->key, y->klen);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static void
test_merged_map_outputs_equal_the_global_order(void)
{
	enum { MAPS = 5, R = 3, PER_MAP = 3000 };
	static const char alphabet[] = { '\0', 'a', 'b', '\xff' };
	rec *recs = calloc(MAPS * PER_MAP, sizeof(*recs));
	sl_buf segs[MAPS][R], got = SL_BUF_INIT, exp = SL_BUF_INIT;
	sl_slice part[MAPS];
	sl_mapout *m;
	size_t i, j, n = 0;
	uint32_t r;
	int t;

	for (t = 0; t < MAPS; t++) {
		ASSERT_EQ_INT(sl_mapout_new(&m, R, NULL, NULL), SL_OK);
		for (i = 0; i < PER_MAP; i++, n++) {
			recs[n].klen = rng() % 6;
			for (j = 0; j < recs[n].klen; j++)
				recs[n].key[j] = alphabet[rng() % 4];
			recs[n].vlen = (size_t)snprintf(recs[n].val,
				sizeof(recs[n].val), "%d.%zu", t, i);
			recs[n].idx = n;
			ASSERT_EQ_INT(sl_mapout_add(m, recs[n].key,
				recs[n].klen, recs[n].val, recs[n].vlen),
				SL_OK);
		}
		for (r = 0; r < R; r++)
			sl_buf_init(&segs[t][r]);
		ASSERT_EQ_INT(sl_mapout_finish(m, segs[t]), SL_OK);
		sl_mapout_free(m);
	}
	qsort(recs, n, sizeof(*recs), rec_cmp);
	for (r = 0; r < R; r++) {
		sl_buf_reset(&got);
		sl_buf_reset(&exp);
		for (t = 0; t < MAPS; t++)
			part[t] = (sl_slice){ segs[t][r].buf, segs[t][r].len };
		ASSERT_EQ_INT(merge_to_text(part, NULL, MAPS, SIZE_MAX, &got),
			      0);
		/* The same text from the sorted reference. */
		for (i = 0; i < n; i = j) {
			j = i + 1;
			if (sl_partition_of(recs[i].key, recs[i].klen, R) != r)
				continue;
			sl_buf_add(&exp, recs[i].key, recs[i].klen);
			sl_buf_addch(&exp, '=');
			for (j = i; j < n && sl_key_cmp(recs[i].key,
			     recs[i].klen, recs[j].key, recs[j].klen) == 0;
			     j++) {
				if (j > i)
					sl_buf_addch(&exp, ',');
				sl_buf_add(&exp, recs[j].val, recs[j].vlen);
			}
			sl_buf_addch(&exp, ';');
		}
		CU_ASSERT(exp.len > 0);
		ASSERT_EQ_INT(got.len, exp.len);
		CU_ASSERT(got.len == exp.len &&
			  memcmp(got.buf, exp.buf, exp.len) == 0);
		for (t = 0; t < MAPS; t++)
			sl_buf_release(&segs[t][r]);
	}
	sl_buf_release(&got);
	sl_buf_release(&exp);
	free(recs);
}

static void
test_file_runs_merge_like_memory(void)
{
	const char *dir = unit_tdir_make();
	sl_buf segs[3], paths[3], want = SL_BUF_INIT, got = SL_BUF_INIT;
	sl_buf val = SL_BUF_INIT, err = SL_BUF_INIT;
	sl_slice views[3];
	const char *names[3];
	char key[16];
	size_t i, k;

	/*
	 * Three runs of 4000 keys; every 500th value is 300 KB so records
	 * straddle the reader's pieces and some are bigger than several.
	 */
	for (i = 0; i < 3; i++) {
		sl_buf_init(&segs[i]);
		sl_buf_init(&paths[i]);
		for (k = 0; k < 4000; k++) {
			snprintf(key, sizeof(key), "%06zu",
				 k * 3 + (k % 3 + i) % 3 * (k % 2));
			sl_buf_reset(&val);
			while (val.len < ((k % 500 == 7) ? 300000u : k % 50))
				sl_buf_addch(&val, (int)('a' + (k + i) % 26));
			sl_kv_append(&segs[i], key, strlen(key), val.buf,
				     val.len);
		}
		views[i].ptr = segs[i].buf;
		views[i].len = segs[i].len;
		sl_buf_addf(&paths[i], "%s/run%zu", dir, i);
		ASSERT_EQ_INT(sl_spill_write(paths[i].buf, segs[i].buf,
					     segs[i].len, &err), SL_OK);
	}
	ASSERT_EQ_INT(merge_to_text(views, NULL, 3, SIZE_MAX, &want), 0);
	/* All files, and a mix with the middle run in memory. */
	names[0] = paths[0].buf;
	names[1] = paths[1].buf;
	names[2] = paths[2].buf;
	ASSERT_EQ_INT(merge_to_text(NULL, names, 3, SIZE_MAX, &got), 0);
	CU_ASSERT(want.len > 100000);
	ASSERT_EQ_MEM(got.buf, got.len, want.buf, want.len);
	sl_buf_reset(&got);
	names[1] = NULL;
	ASSERT_EQ_INT(merge_to_text(views, names, 3, SIZE_MAX, &got), 0);
	ASSERT_EQ_MEM(got.buf, got.len, want.buf, want.len);
	/* A missing file fails at once; a damaged one when it is read. */
	names[1] = "/nonexistent-h13";
	ASSERT_EQ_INT(merge_to_text(views, names, 3, SIZE_MAX, &got),
		      SL_ENOTFOUND);
	ASSERT_EQ_INT(truncate(paths[2].buf, 1000), 0);
	names[1] = NULL;
	sl_buf_reset(&got);
	ASSERT_EQ_INT(merge_to_text(views, names, 3, SIZE_MAX, &got),
		      SL_EPROTO);
	ASSERT_EQ_INT(sl_rmtree(dir, &err), SL_OK);
	for (i = 0; i < 3; i++) {
		sl_buf_release(&segs[i]);
		sl_buf_release(&paths[i]);
	}
	sl_buf_release(&want);
	sl_buf_release(&got);
	sl_buf_release(&val);
	sl_buf_release(&err);
}

/*
 * A file run whose last record lies past the start of the reader's
 * window: its value, returned as the run ends, must be the one written
 * (a refill moves it).
 */
static void
test_the_last_value_of_a_file_run_is_whole(void)
{
	const char *dir = unit_tdir_make();
	sl_buf seg = SL_BUF_INIT, path = SL_BUF_INIT, err = SL_BUF_INIT;
	sl_buf want = SL_BUF_INIT, got = SL_BUF_INIT;
	const char *name;
	char big[100];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('A' + i % 26);
	sl_kv_append(&seg, "a", 1, "x", 1);
	sl_kv_append(&seg, "b", 1, big, sizeof(big));
	sl_buf_addf(&path, "%s/run", dir);
	ASSERT_EQ_INT(sl_spill_write(path.buf, seg.buf, seg.len, &err), SL_OK);
	name = path.buf;
	/* Every byte of every value, not a digest of them. */
	sl_buf_add(&want, "a=x;b=", 6);
	sl_buf_add(&want, big, sizeof(big));
	sl_buf_addch(&want, ';');
	ASSERT_EQ_INT(merge_to_text(NULL, &name, 1, SIZE_MAX, &got), 0);
	ASSERT_EQ_MEM(got.buf, got.len, want.buf, want.len);
	ASSERT_EQ_INT(sl_rmtree(dir, &err), SL_OK);
	sl_buf_release(&seg);
	sl_buf_release(&path);
	sl_buf_release(&err);
	sl_buf_release(&want);
	sl_buf_release(&got);
}

/*
 * A file run whose third record declares a 1 TiB key (or a length varint
 * that never ends), then 8 MiB of bytes, then garbage after the frame:
 * the merge fails as soon as it meets the length, which no rest of the
 * file can hold. Reading on to the end, a window grown to 8 MiB, would
 * have met the garbage and said only that the file is damaged.
 */
static void
test_a_damaged_length_in_a_file_run_fails_at_once(void)
{
	static const struct {
		const char *bytes;
		size_t len;
	} heads[] = {
		{ "\x80\x80\x80\x80\x80\x20\x00", 7 },  /* 2^40, 0 */
		{ "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 11 },
	};
	sl_buf seg = SL_BUF_INIT, path = SL_BUF_INIT, err = SL_BUF_INIT;
	size_t i, rest = (size_t)8 << 20;
	const char *name;
	sl_merge *m;
	sl_slice k, v;
	FILE *f;

	unit_tdir_make();
	for (i = 0; i < SL_ARRAY_LEN(heads); i++) {
		sl_buf_reset(&seg);
		sl_buf_reset(&path);
		sl_kv_append(&seg, "a", 1, "x", 1);
		sl_kv_append(&seg, "b", 1, "y", 1);
		sl_buf_add(&seg, heads[i].bytes, heads[i].len);
		CU_ASSERT_FATAL(sl_buf_grow(&seg, rest) == SL_OK);
		memset(seg.buf + seg.len, 'z', rest);
		sl_buf_setlen(&seg, seg.len + rest);
		sl_buf_addf(&path, "%s/run%zu", unit_tdir(), i);
		ASSERT_EQ_INT(sl_spill_write(path.buf, seg.buf, seg.len, &err),
			      SL_OK);
		f = fopen(path.buf, "ab");
		CU_ASSERT_FATAL(f != NULL);
		fputs("garbage", f);
		fclose(f);
		name = path.buf;
		ASSERT_EQ_INT(sl_merge_new_runs(&m, NULL, &name, 1, &err),
			      SL_OK);
		ASSERT_EQ_INT(sl_merge_next_key(m, &k), 1);
		ASSERT_EQ_INT(sl_merge_next_key(m, &k), 1);
		ASSERT_EQ_MEM(k.ptr, k.len, "b", 1);
		/* Reading b's value reads on to the next record. */
		ASSERT_EQ_INT(sl_merge_next_value(m, &v), SL_EPROTO);
		ASSERT_EQ_STR(strstr(sl_merge_error(m), "' is damaged: "),
			      "' is damaged: a record runs past its end");
		sl_merge_free(m);
	}
	unit_tdir_remove();
	sl_buf_release(&seg);
	sl_buf_release(&path);
	sl_buf_release(&err);
}

/*
 * Records longer than a block, and than the slack of the check above:
 * 24 MiB of one byte (LZ4's best ratio, near its 255 bound) and 3 MiB of
 * random bytes come out of a file run whole.
 */
static void
test_records_longer_than_a_block_merge_from_a_file_run(void)
{
	size_t lens[3] = { (size_t)24 << 20, (size_t)3 << 20, 3 };
	sl_buf seg = SL_BUF_INIT, path = SL_BUF_INIT, err = SL_BUF_INIT;
	char *vals[3], key[2] = "a";
	uint64_t x = 7;
	const char *name;
	sl_merge *m;
	sl_slice k, v;
	size_t i, j;

	unit_tdir_make();
	for (i = 0; i < 3; i++) {
		vals[i] = malloc(lens[i]);
		CU_ASSERT_FATAL(vals[i] != NULL);
		for (j = 0; j < lens[i]; j++)
			vals[i][j] = i == 1 ? (char)unit_rng(&x) : 'q';
		key[0] = (char)('a' + i);
		sl_kv_append(&seg, key, 1, vals[i], lens[i]);
	}
	sl_buf_addf(&path, "%s/run", unit_tdir());
	ASSERT_EQ_INT(sl_spill_write(path.buf, seg.buf, seg.len, &err), SL_OK);
	name = path.buf;
	ASSERT_EQ_INT(sl_merge_new_runs(&m, NULL, &name, 1, &err), SL_OK);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ_INT(sl_merge_next_key(m, &k), 1);
		CU_ASSERT(k.len == 1 && k.ptr[0] == (char)('a' + i));
		ASSERT_EQ_INT(sl_merge_next_value(m, &v), 1);
		ASSERT_EQ_INT(v.len, lens[i]);
		CU_ASSERT(v.len == lens[i] &&
			  memcmp(v.ptr, vals[i], lens[i]) == 0);
		ASSERT_EQ_INT(sl_merge_next_value(m, &v), 0);
	}
	ASSERT_EQ_INT(sl_merge_next_key(m, &k), 0);
	CU_ASSERT_PTR_NULL(sl_merge_error(m));
	sl_merge_free(m);
	unit_tdir_remove();
	for (i = 0; i < 3; i++)
		free(vals[i]);
	sl_buf_release(&seg);
	sl_buf_release(&path);
	sl_buf_release(&err);
}

/*
 * A run that cannot be read (read(2) of a directory fails with EISDIR,
 * as root too) is an I/O error with the OS's reason, not a damaged file.
 */
static void
test_a_file_run_that_cannot_be_read_is_an_io_error(void)
{
	sl_buf err = SL_BUF_INIT;
	const char *name;
	sl_merge *m;
	sl_slice key;

	name = unit_tdir_make();
	ASSERT_EQ_INT(sl_merge_new_runs(&m, NULL, &name, 1, &err), SL_OK);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), SL_EIO);
	ASSERT_EQ_INT(sl_merge_next_key(m, &key), SL_EIO);
	CU_ASSERT(strstr(sl_merge_error(m), "cannot read spill file '") ==
		  sl_merge_error(m));
	CU_ASSERT(strstr(sl_merge_error(m), "Is a directory") != NULL);
	sl_merge_free(m);
	unit_tdir_remove();
	sl_buf_release(&err);
}

static const unit_case cases[] = {
	{ "a merge of no segments ends at once",
	  test_no_segments_end_at_once },
	{ "a merge of one segment reads it as it is",
	  test_one_segment_is_read_as_it_is },
	{ "values of a key come segment by segment, empty segments too",
	  test_values_come_segment_by_segment },
	{ "next_key skips the values not read",
	  test_next_key_skips_values_not_read },
	{ "no more values of a key stays no more",
	  test_no_more_values_stays_no_more },
	{ "empty keys and prefix keys merge in order",
	  test_empty_and_prefix_keys_merge_in_order },
	{ "binary keys merge in memcmp order",
	  test_binary_keys_merge_in_memcmp_order },
	{ "a truncated varint is a protocol error",
	  test_truncated_varint_is_a_protocol_error },
	{ "a length past the end is a protocol error",
	  test_length_past_the_end_is_a_protocol_error },
	{ "unsorted keys in a segment are a protocol error",
	  test_unsorted_keys_are_a_protocol_error },
	{ "merged map outputs equal the global sorted order",
	  test_merged_map_outputs_equal_the_global_order },
	{ "runs read from spill files merge as they do in memory",
	  test_file_runs_merge_like_memory },
	{ "the last value of a file run is whole",
	  test_the_last_value_of_a_file_run_is_whole },
	{ "a damaged length in a file run fails at once",
	  test_a_damaged_length_in_a_file_run_fails_at_once },
	{ "records longer than a block merge from a file run",
	  test_records_longer_than_a_block_merge_from_a_file_run },
	{ "a file run that cannot be read is an I/O error",
	  test_a_file_run_that_cannot_be_read_is_an_io_error },
	{ NULL, NULL }
};

UNIT_MAIN("merge", cases)
