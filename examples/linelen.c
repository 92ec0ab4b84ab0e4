/*
 * linelen.c - a job written as a user writes one, against <sluice.h> alone:
 * counts the input lines of each length in bytes, "LENGTH<TAB>COUNT".
 *
 *   cc -std=gnu11 -shared -fPIC -I include -o linelen.so examples/linelen.c
 *   sluice run ./linelen.so corpus.txt -o out/
 *
 * map emits (length, 1) as an 8-byte count, the combine adds counts in the
 * map task, reduce writes the sum. LENGTH keys sort as bytes ("10" before
 * "9"), as every key does.
 */
#include <sluice.h>
#include <stdio.h>

static int
ll_map(sl_ctx *ctx, const sl_record *rec)
{
	char key[32];
	unsigned char one[8];
	int n = snprintf(key, sizeof key, "%zu", rec->line.len);

	sl_u64_put(one, 1);
	return sl_emit(ctx, key, (size_t)n, one, sizeof one);
}

static int
ll_combine(sl_ctx *ctx, void *acc, const void *val, size_t len)
{
	(void)ctx;
	(void)len;
	sl_u64_put(acc, sl_u64_get(acc) + sl_u64_get(val));
	return SL_OK;
}

static int
ll_reduce(sl_ctx *ctx, const void *key, size_t klen, sl_values *vals)
{
	const void *val;
	size_t len;
	unsigned long long sum = 0;
	char out[32];
	int n;

	while (sl_values_next(vals, &val, &len)) {
		if (len != 8)
			return sl_fail(ctx, "value of %zu bytes", len);
		sum += sl_u64_get(val);
	}
	n = snprintf(out, sizeof out, "%llu", sum);
	return sl_emit(ctx, key, klen, out, (size_t)n);
}

const struct sl_job sluice_job = {
	.api_version = SL_API_VERSION,
	.name = "linelen",
	.summary = "count the lines of each length",
	.input = SL_INPUT_LINES,
	.map = ll_map,
	.combine = ll_combine,
	.reduce = ll_reduce,
};
