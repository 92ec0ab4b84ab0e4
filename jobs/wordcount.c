/*
 * wordcount.c - the built-in word count job.
 *
 * A word is a maximal run of bytes that are not ASCII whitespace (space,
 * \t, \n, \v, \f, \r): case-sensitive, bytes as they are (DESIGN.md).
 * map emits (word, 1) as an 8-byte count; the combine is the engine's
 * own sl_combine_sum_u64, which adds the counts in the map side's hash
 * table with no call per word, so a map task sends each distinct word
 * once; reduce sums and writes "word\tcount".
 */
#include "sluice.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * The whitespace bytes of DESIGN.md as a bit mask: bit i of the result is
 * set when p[i] is one of space, \t, \n, \v, \f, \r, for the 64 bytes
 * at p. With SSE2 (every x86-64) 16 bytes are classified at once; the
 * portable loop gives the same bits. Not isspace(): it depends on the
 * locale.
 */
static uint64_t
wc_space_bits(const unsigned char *p)
{
	uint64_t bits = 0;
	unsigned i;

#ifdef __SSE2__
	/* x in \t..\r (9..13) iff x + 119 wraps to 128..132, which as a
	 * signed byte is below -123. */
	const __m128i space = _mm_set1_epi8(' ');
	const __m128i shift = _mm_set1_epi8(119), limit = _mm_set1_epi8(-123);

	for (i = 0; i < 64; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(p + i));
		__m128i ws = _mm_or_si128(
			_mm_cmpeq_epi8(x, space),
			_mm_cmplt_epi8(_mm_add_epi8(x, shift), limit));

		bits |= (uint64_t)(uint16_t)_mm_movemask_epi8(ws) << i;
	}
#else
	for (i = 0; i < 64; i++)
		bits |= (uint64_t)(p[i] == ' ' || (p[i] >= '\t' &&
						   p[i] <= '\r')) << i;
#endif
	return bits;
}

/*
 * Emits (word, 1) for every word of the record, a run of lines. The
 * record is classified 64 bytes at a time into a whitespace mask; a word
 * starts at a non-space byte after a space (or at the start of the
 * record) and ends at the next space, and these edges alternate, so the
 * set bits of "edges" are taken in order, each one opening or closing a
 * word. No branch per byte.
 */
static int
wc_map(sl_ctx *ctx, const sl_record *rec)
{
	const unsigned char *line = (const unsigned char *)rec->line.ptr;
	size_t len = rec->line.len, base, n, start = 0, i;
	unsigned char tail[64], one[8];
	uint64_t ws, prev = 1, edges; /* prev: was the byte before a space? */
	bool in_word = false;
	int rv;

	sl_u64_put(one, 1);
	for (base = 0; base < len; base += 64) {
		n = len - base < 64 ? len - base : 64;
		if (n == 64) {
			ws = wc_space_bits(line + base);
		} else {
			/* The last bytes, padded with spaces to 64. */
			memset(tail, ' ', sizeof(tail));
			memcpy(tail, line + base, n);
			ws = wc_space_bits(tail);
		}
		edges = ws ^ ((ws << 1) | prev);
		prev = ws >> 63;
		if (in_word && edges) {
			/* The end of the word begun in an earlier block. */
			i = base + (size_t)__builtin_ctzll(edges);
			edges &= edges - 1;
			in_word = false;
			if ((rv = sl_emit(ctx, line + start, i - start, one,
					  sizeof(one))) != SL_OK)
				return rv;
		}
		while (edges) {
			start = base + (size_t)__builtin_ctzll(edges);
			edges &= edges - 1;
			if (edges == 0) {
				in_word = true; /* ends in a later block */
				break;
			}
			i = base + (size_t)__builtin_ctzll(edges);
			edges &= edges - 1;
			if ((rv = sl_emit(ctx, line + start, i - start, one,
					  sizeof(one))) != SL_OK)
				return rv;
		}
	}
	if (in_word)
		return sl_emit(ctx, line + start, len - start, one,
			       sizeof(one));
	return SL_OK;
}

/* Adds the counts as the map side's combine does, with its checks. */
static int
wc_reduce(sl_ctx *ctx, const void *key, size_t klen, sl_values *vals)
{
	const void *v;
	size_t len;
	unsigned char sum[8];
	char num[24];
	int nlen, rv;

	sl_u64_put(sum, 0);
	while (sl_values_next(vals, &v, &len))
		if ((rv = sl_combine_sum_u64(ctx, sum, v, len)) != SL_OK)
			return rv;
	nlen = snprintf(num, sizeof(num), "%llu",
			(unsigned long long)sl_u64_get(sum));
	return sl_emit(ctx, key, klen, num, (size_t)nlen);
}

const sl_job sl__job_wordcount = {
	.api_version = SL_API_VERSION,
	.name = "wordcount",
	.summary = "count words (maximal runs of non-whitespace bytes)",
	.input = SL_INPUT_BLOCKS, /* "\n" and "\r" are whitespace */
	.map = wc_map,
	.combine = sl_combine_sum_u64, /* added inline by the engine */
	.reduce = wc_reduce,
};
