/*
 * test_kv.c - the record encoding of shuffle segments, the key order, the
 * partition function, the growable buffer and array growth (buf.c).
 */
#include "sl_impl.h"

#include <stdlib.h>
#include <xxhash.h>

#include "unit.h"

static void
test_varints_round_trip_at_every_length(void)
{
	const uint64_t vals[] = { 0, 1, 127, 128, 16383, 16384, UINT32_MAX,
				  (uint64_t)1 << 56, UINT64_MAX };
	unsigned char b[SL_VARINT_MAX];
	uint64_t v, top;
	size_t i, n;

	/* The largest value of each length k, 2^(7k) - 1, and the next. */
	for (i = 1; i < SL_VARINT_MAX; i++) {
		top = ((uint64_t)1 << (7 * i)) - 1;
		ASSERT_EQ_INT(sl_varint_put(b, top), i);
		ASSERT_EQ_INT(sl_varint_len(top), i);
		ASSERT_EQ_INT(sl_varint_put(b, top + 1), i + 1);
		ASSERT_EQ_INT(sl_varint_len(top + 1), i + 1);
	}
	for (i = 0; i < SL_ARRAY_LEN(vals); i++) {
		n = sl_varint_put(b, vals[i]);
		ASSERT_EQ_INT(sl_varint_len(vals[i]), n);
		ASSERT_EQ_INT(sl_varint_get(b, b + n, &v), n);
		CU_ASSERT(v == vals[i]);
		/* One byte short is malformed. */
		ASSERT_EQ_INT(sl_varint_get(b, b + n - 1, &v), 0);
	}
	ASSERT_EQ_INT(sl_varint_put(b, 127), 1);
	ASSERT_EQ_INT(sl_varint_put(b, 128), 2);
	ASSERT_EQ_INT(sl_varint_put(b, UINT64_MAX), 10);
}

static void
test_varints_longer_than_64_bits_are_malformed(void)
{
	unsigned char b[11];
	uint64_t v;

	memset(b, 0xff, sizeof(b));
	ASSERT_EQ_INT(sl_varint_get(b, b + sizeof(b), &v), 0);
	memset(b, 0x80, 9);
	b[9] = 0x02; /* bit 64 */
	ASSERT_EQ_INT(sl_varint_get(b, b + 10, &v), 0);
}

static void
test_records_decode_as_they_were_appended(void)
{
	sl_buf b = SL_BUF_INIT;
	sl_slice k, v;
	size_t pos = 0;

	CU_ASSERT(sl_kv_append(&b, "apple", 5, "1", 1) == SL_OK);
	CU_ASSERT(sl_kv_append(&b, "", 0, "", 0) == SL_OK);
	CU_ASSERT(sl_kv_append(&b, "a\0b", 3, "\xff", 1) == SL_OK);
	/* Two 1-byte varints a record, then the bytes: 8 + 2 + 6. */
	ASSERT_EQ_INT(b.len, 16);
	ASSERT_EQ_INT(sl_kv_next(b.buf, b.len, &pos, &k, &v), 1);
	ASSERT_EQ_MEM(k.ptr, k.len, "apple", 5);
	ASSERT_EQ_MEM(v.ptr, v.len, "1", 1);
	ASSERT_EQ_INT(sl_kv_next(b.buf, b.len, &pos, &k, &v), 1);
	ASSERT_EQ_INT(k.len + v.len, 0);
	ASSERT_EQ_INT(sl_kv_next(b.buf, b.len, &pos, &k, &v), 1);
	ASSERT_EQ_MEM(k.ptr, k.len, "a\0b", 3);
	ASSERT_EQ_MEM(v.ptr, v.len, "\xff", 1);
	ASSERT_EQ_INT(sl_kv_next(b.buf, b.len, &pos, &k, &v), 0);
	sl_buf_release(&b);
}

static void
test_truncated_records_are_protocol_errors(void)
{
	sl_buf b = SL_BUF_INIT;
	sl_slice k, v;
	size_t pos, len;

	sl_kv_append(&b, "key", 3, "value", 5);
	for (len = 1; len < b.len; len++) {
		pos = 0;
		ASSERT_EQ_INT(sl_kv_next(b.buf, len, &pos, &k, &v), SL_EPROTO);
		ASSERT_EQ_INT(pos, 0);
	}
	/* A length that points past the end, with both lengths huge. */
	pos = 0;
	ASSERT_EQ_INT(sl_kv_next("\xff\xff\xff\xff\x0f\x01xy", 8, &pos, &k,
				 &v), SL_EPROTO);
	sl_buf_release(&b);
}

static void
test_keys_order_as_bytes_with_shorter_prefix_first(void)
{
	CU_ASSERT(sl_key_cmp("a", 1, "b", 1) < 0);
	CU_ASSERT(sl_key_cmp("ab", 2, "a", 1) > 0);
	CU_ASSERT(sl_key_cmp("", 0, "a", 1) < 0);
	CU_ASSERT(sl_key_cmp("", 0, "", 0) == 0);
	CU_ASSERT(sl_key_cmp("\xff", 1, "a", 1) > 0);   /* unsigned bytes */
	CU_ASSERT(sl_key_cmp("a\0", 2, "a", 1) > 0);
}

static void
test_partition_is_xxh3_of_the_key_modulo_r(void)
{
	/* The published XXH3-64 of the empty input, seed 0: a fixed point
	 * of the contract (the same key lands in the same part forever). */
	CU_ASSERT(XXH3_64bits("", 0) == 0x2D06800538D394C2ULL);
	ASSERT_EQ_INT(sl_partition_of("", 0, 7), 0x2D06800538D394C2ULL % 7);
	ASSERT_EQ_INT(sl_partition_of("the", 3, 1), 0);
	ASSERT_EQ_INT(sl_partition_of("the", 3, 1000),
		      XXH3_64bits("the", 3) % 1000);
}

static void
test_buffers_grow_and_stay_terminated(void)
{
	sl_buf b = SL_BUF_INIT;
	char *p;
	size_t len, i;

	ASSERT_EQ_STR(b.buf, "");
	for (i = 0; i < 1000; i++)
		CU_ASSERT(sl_buf_addch(&b, 'a' + (int)(i % 26)) == SL_OK);
	ASSERT_EQ_INT(b.len, 1000);
	ASSERT_EQ_INT(b.buf[1000], 0);
	sl_buf_setlen(&b, 3);
	ASSERT_EQ_STR(b.buf, "abc");
	sl_buf_addf(&b, "-%d-%s", 42, "x");
	ASSERT_EQ_STR(b.buf, "abc-42-x");
	p = sl_buf_detach(&b, &len);
	ASSERT_EQ_STR(p, "abc-42-x");
	ASSERT_EQ_INT(len, 8);
	ASSERT_EQ_STR(b.buf, "");
	free(p);
	CU_ASSERT(sl_buf_grow(&b, SIZE_MAX) == SL_ENOMEM);
	sl_buf_release(&b);
}

static void
test_arrays_grow_from_empty_to_4_then_double(void)
{
	uint32_t *v = NULL;
	size_t alloc = 0, i;

	/* Nothing needed: nothing allocated. */
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 0, sizeof(*v)), SL_OK);
	CU_ASSERT(v == NULL);
	ASSERT_EQ_INT(alloc, 0);
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 1, sizeof(*v)), SL_OK);
	CU_ASSERT_FATAL(v != NULL);
	ASSERT_EQ_INT(alloc, 4);
	for (i = 0; i < 4; i++)
		v[i] = (uint32_t)i;
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 5, sizeof(*v)), SL_OK);
	ASSERT_EQ_INT(alloc, 8);
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 33, sizeof(*v)), SL_OK);
	ASSERT_EQ_INT(alloc, 64);
	v[63] = 63;
	for (i = 0; i < 4; i++)
		ASSERT_EQ_INT(v[i], i);
	free(v);
}

static void
test_arrays_of_exactly_the_need_do_not_grow(void)
{
	uint32_t *v = NULL, *was;
	size_t alloc = 0;

	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 16, sizeof(*v)), SL_OK);
	ASSERT_EQ_INT(alloc, 16);
	was = v;
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 16, sizeof(*v)), SL_OK);
	CU_ASSERT(v == was);
	ASSERT_EQ_INT(alloc, 16);
	/* A need below what is allocated changes nothing either. */
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 3, sizeof(*v)), SL_OK);
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 0, sizeof(*v)), SL_OK);
	CU_ASSERT(v == was);
	ASSERT_EQ_INT(alloc, 16);
	free(v);
}

static void
test_arrays_meet_a_large_need_at_once(void)
{
	uint64_t *v = NULL;
	size_t alloc = 0, i;

	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 1000, sizeof(*v)), SL_OK);
	CU_ASSERT_FATAL(v != NULL);
	ASSERT_EQ_INT(alloc, 1024);
	for (i = 0; i < 1000; i++)
		v[i] = i * 7;
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 100000, sizeof(*v)), SL_OK);
	ASSERT_EQ_INT(alloc, 131072);
	v[131071] = 1;
	for (i = 0; i < 1000; i++)
		ASSERT_EQ_INT(v[i], i * 7);
	free(v);

	/* An array the caller allocated smaller than 4 grows to 4. */
	v = malloc(3 * sizeof(*v));
	CU_ASSERT_FATAL(v != NULL);
	alloc = 3;
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 4, sizeof(*v)), SL_OK);
	ASSERT_EQ_INT(alloc, 4);
	free(v);
}

static void
test_arrays_whose_bytes_overflow_are_left_unchanged(void)
{
	uint64_t *v = NULL, *was;
	char *c = NULL;
	size_t alloc = 0;

	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, 5, sizeof(*v)), SL_OK);
	CU_ASSERT_FATAL(v != NULL);
	v[4] = 44;
	was = v;
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, SIZE_MAX / sizeof(*v) + 1,
				    sizeof(*v)), SL_ENOMEM);
	ASSERT_EQ_INT(sl_array_grow(&v, &alloc, SIZE_MAX, sizeof(*v)),
		      SL_ENOMEM);
	CU_ASSERT(v == was);
	ASSERT_EQ_INT(alloc, 8);
	ASSERT_EQ_INT(v[4], 44);
	free(v);

	/* From empty, with elements too large for two of them. */
	alloc = 0;
	ASSERT_EQ_INT(sl_array_grow(&c, &alloc, 2, SIZE_MAX / 2 + 1),
		      SL_ENOMEM);
	CU_ASSERT(c == NULL);
	ASSERT_EQ_INT(alloc, 0);
}

static void
test_every_error_code_has_a_message(void)
{
	ASSERT_EQ_STR(sl_strerror(SL_OK), "success");
	ASSERT_EQ_STR(sl_strerror(SL_ENOMEM), "out of memory");
	ASSERT_EQ_STR(sl_strerror(SL_EINTERNAL), "internal error");
	ASSERT_EQ_STR(sl_strerror(12345), "unknown error");
}

/* Against a byte-by-byte count, at every length and alignment around the
 * 16-byte steps and the 255-step rounds of the vector count. */
static void
test_newlines_are_counted_at_every_length_and_offset(void)
{
	size_t len, off, i, want, size = 255 * 16 * 2 + 64;
	char *b = malloc(size);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (i = 0; i < size; i++) /* dense: runs of "\n" past 255 per lane */
		b[i] = i % 3 == 0 || (i > 4000 && i < 8200) ? '\n' : 'x';
	for (off = 0; off < 17; off++) {
		for (len = 0; off + len <= size;
		     len += len < 300 ? 1 : 997) {
			for (want = 0, i = off; i < off + len; i++)
				want += b[i] == '\n';
			if (sl_count_newlines(b + off, len) != want) {
				ASSERT_EQ_INT(sl_count_newlines(b + off, len),
					      want);
				free(b);
				return;
			}
		}
	}
	for (want = 0, i = 0; i < size; i++)
		want += b[i] == '\n';
	ASSERT_EQ_INT(sl_count_newlines(b, size), want);
	free(b);
}

static const unit_case cases[] = {
	{ "newlines are counted at every length and offset",
	  test_newlines_are_counted_at_every_length_and_offset },
	{ "varints round trip at every length",
	  test_varints_round_trip_at_every_length },
	{ "varints longer than 64 bits are malformed",
	  test_varints_longer_than_64_bits_are_malformed },
	{ "records decode as they were appended",
	  test_records_decode_as_they_were_appended },
	{ "truncated records are protocol errors",
	  test_truncated_records_are_protocol_errors },
	{ "keys order as bytes with the shorter prefix first",
	  test_keys_order_as_bytes_with_shorter_prefix_first },
	{ "partition is xxh3 of the key modulo R",
	  test_partition_is_xxh3_of_the_key_modulo_r },
	{ "buffers grow and stay terminated",
	  test_buffers_grow_and_stay_terminated },
	{ "arrays grow from empty to 4 then double",
	  test_arrays_grow_from_empty_to_4_then_double },
	{ "arrays of exactly the need do not grow",
	  test_arrays_of_exactly_the_need_do_not_grow },
	{ "arrays meet a large need at once",
	  test_arrays_meet_a_large_need_at_once },
	{ "arrays whose bytes overflow are left unchanged",
	  test_arrays_whose_bytes_overflow_are_left_unchanged },
	{ "every error code has a message",
	  test_every_error_code_has_a_message },
	{ NULL, NULL }
};

UNIT_MAIN("kv", cases)
