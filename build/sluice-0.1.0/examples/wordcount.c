/*
 * wordcount.c - the word count job, the first example of the job API.
 *
 * A word is a maximal run of bytes that are not ASCII whitespace (space,
 * \t, \n, \v, \f, \r): case-sensitive, bytes as they are (DESIGN.md).
 * map emits (word, 1) as an 8-byte count; combine adds counts in the
 * engine's in-memory hash table, so a map task sends each distinct word
 * once; reduce sums and writes "word\tcount".
 */
#include "sluice.h"

#include <stdio.h>

/* The whitespace bytes of DESIGN.md; a table beats isspace(), which
 * depends on the locale. */
static const unsigned char wc_space[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\v'] = 1, ['\f'] = 1, ['\r'] = 1,
};

static int
wc_map(sl_ctx *ctx, const sl_record *rec)
{
	const unsigned char *p = (const unsigned char *)rec->line.ptr;
	const unsigned char *end = p + rec->line.len;
	unsigned char one[8];
	int rv;

	sl_u64_put(one, 1);
	while (p < end) {
		const unsigned char *w;

		while (p < end && wc_space[*p])
			p++;
		w = p;
		while (p < end && !wc_space[*p])
			p++;
		if (p > w && (rv = sl_emit(ctx, w, (size_t)(p - w), one,
					   sizeof(one))) != SL_OK)
			return rv;
	}
	return SL_OK;
}

static int
wc_combine(sl_ctx *ctx, void *acc, const void *val, size_t len)
{
	uint64_t a = sl_u64_get(acc), b = sl_u64_get(val);

	if (len != 8)
		return sl_fail(ctx, "count of %zu bytes, expected 8", len);
	if (a + b < a)
		return sl_fail(ctx, "count overflows 64 bits");
	sl_u64_put(acc, a + b);
	return SL_OK;
}

static int
wc_reduce(sl_ctx *ctx, const void *key, size_t klen, sl_values *vals)
{
	const void *v;
	size_t len;
	uint64_t sum = 0, n;
	char num[24];
	int nlen;

	while (sl_values_next(vals, &v, &len)) {
		if (len != 8)
			return sl_fail(ctx, "count of %zu bytes, expected 8",
				       len);
		n = sl_u64_get(v);
		if (sum + n < sum)
			return sl_fail(ctx, "count overflows 64 bits");
		sum += n;
	}
	nlen = snprintf(num, sizeof(num), "%llu", (unsigned long long)sum);
	return sl_emit(ctx, key, klen, num, (size_t)nlen);
}

const sl_job sl__job_wordcount = {
	.api_version = SL_API_VERSION,
	.name = "wordcount",
	.summary = "count words (maximal runs of non-whitespace bytes)",
	.input = SL_INPUT_LINES,
	.map = wc_map,
	.combine = wc_combine,
	.reduce = wc_reduce,
};
