/*
 * rate.c - the rate source of a stream, "rate:N[,keys=K]": N events a
 * second, a deterministic sequence for tests and benchmarks (Spark's rate
 * source). Event i has the key "k" and a number of 0..K-1 (default
 * K = 1000) drawn from i, the event time START + i * 1000 / N ms (START:
 * when the stream's first batch was planned) and the value i % 1000; its
 * CSV columns are key,ts,value (ts in epoch ms: `--time ts --time-unit
 * ms`).
 *
 * Offsets: "rate START FROM TO", the events [FROM, TO) of the sequence
 * that began at START, which the source keeps in CK/source/start from
 * its first open on. A batch takes the events whose time has come, at
 * most --max-batch-records. Its input file, CK/source/batch-N.csv, is
 * made from the offsets alone, so a replay makes the same bytes; it goes
 * once the batch is committed. An event arrives at its time: the
 * stream's event-to-sink latency is its commit's time less that.
 */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/io.h"
#include "common/procdir.h"

#define RATE_MAX (100u * 1000 * 1000) /* events a second at most */
#define RATE_MAX_KEYS (100u * 1000 * 1000)

typedef struct rate_source {
	sl_source base;
	uint64_t per_s;  /* N */
	uint64_t keys;   /* K */
	int64_t start;   /* ms since the epoch of event 0 */
	char *dir;       /* CK/source */
} rate_source;

static int64_t rate_now_ms(void);

static int
rate_open(sl_source **out, const char *where, const char *ck, sl_buf *err)
{
	unsigned long long n, k = 1000;
	rate_source *r;
	sl_buf dir = SL_BUF_INIT;
	int used = 0, used2 = 0;

	if (sscanf(where, "%llu%n", &n, &used) != 1 || n == 0 ||
	    n > RATE_MAX || (where[used] != '\0' &&
			     (sscanf(where + used, ",keys=%llu%n", &k,
				     &used2) != 1 ||
			      where[used + used2] != '\0' || k == 0 ||
			      k > RATE_MAX_KEYS)) || where[0] == '-' ||
	    where[0] == '+') {
		sl_buf_addf(err, "source 'rate:%s' is not rate:N[,keys=K] (N "
			    "events a second, 1 to %u; K keys, 1 to %u)",
			    where, RATE_MAX, RATE_MAX_KEYS);
		return SL_EUSAGE;
	}
	sl_buf_addf(&dir, "%s/source", ck);
	if (sl_mkdirs(dir.buf, 0755, err) != SL_OK) {
		sl_buf_release(&dir);
		return SL_EIO;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		sl_buf_release(&dir);
		sl_buf_addstr(err, "out of memory");
		return SL_ENOMEM;
	}
	r->base.ops = &sl_source_rate;
	r->per_s = n;
	r->keys = k;
	r->dir = sl_buf_detach(&dir, NULL);
	/* The sequence's start: the first open's time, kept. */
	{
		sl_buf path = SL_BUF_INIT, text = SL_BUF_INIT;
		long long v;
		int rv;

		sl_buf_addf(&path, "%s/start", r->dir);
		rv = sl_read_file(path.buf, &text, err);
		if (rv == SL_ENOTFOUND) {
			r->start = rate_now_ms();
			sl_buf_addf(&text, "%lld\n", (long long)r->start);
			rv = sl_write_file(r->dir, "start", text.buf, text.len,
					   err);
		} else if (rv == SL_OK && sscanf(text.buf, "%lld", &v) == 1) {
			r->start = v;
		} else if (rv == SL_OK) {
			sl_buf_addf(err, "source 'rate:': '%s' is not a start "
				    "time", path.buf);
			rv = SL_EIO;
		}
		sl_buf_release(&path);
		sl_buf_release(&text);
		if (rv != SL_OK) {
			free(r->dir);
			free(r);
			return rv;
		}
	}
	*out = &r->base;
	return SL_OK;
}

static int64_t
rate_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Parses "rate START FROM TO" (one line). */
static bool
rate_parse(const char *offsets, long long *start, unsigned long long *from,
	   unsigned long long *to)
{
	int used = 0;

	return sscanf(offsets, "rate %lld %llu %llu\n%n", start, from, to,
		      &used) == 3 && offsets[used] == '\0' && *from <= *to;
}

/* The events whose time has come at now. */
static unsigned long long
rate_due(const rate_source *r, int64_t now)
{
	return now > r->start
		       ? (unsigned long long)(now - r->start) * r->per_s / 1000
		       : 0;
}

static int
rate_lag(sl_source *s, const char *offsets, uint64_t *records)
{
	rate_source *r = (rate_source *)s;
	unsigned long long from, to, due = rate_due(r, rate_now_ms());
	long long start;

	if (!rate_parse(offsets, &start, &from, &to))
		return SL_ENOTFOUND;
	*records = due > to ? due - to : 0;
	return SL_OK;
}

static int
rate_plan(sl_source *s, const char *last, uint64_t max_records,
	  sl_buf *next, sl_buf *err)
{
	rate_source *r = (rate_source *)s;
	long long start = r->start;
	unsigned long long from = 0, to = 0, due;
	int64_t now = rate_now_ms();

	if (*last && (!rate_parse(last, &start, &from, &to) ||
		      start != r->start)) {
		sl_buf_addf(err, "source 'rate:': offsets '%.60s' are not of "
			    "this source's sequence", last);
		return SL_EIO;
	}
	from = to;
	due = rate_due(r, now);
	if (max_records && due > from + max_records)
		due = from + max_records;
	if (due > from)
		sl_buf_addf(next, "rate %lld %llu %llu\n", start, from, due);
	return SL_OK;
}

/* Event i's key number: a bijective mix of i (splitmix64's), mod K. */
static uint64_t
rate_key(uint64_t i, uint64_t keys)
{
	uint64_t z = i + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) % keys;
}

static void
rate_path(const rate_source *r, uint64_t n, sl_buf *path)
{
	sl_buf_reset(path);
	sl_buf_addf(path, "%s/batch-%010llu.csv", r->dir, (unsigned long long)n);
}

static int
rate_inputs(sl_source *s, uint64_t n, const char *offsets,
	    sl_split_list *splits, sl_buf *err)
{
	rate_source *r = (rate_source *)s;
	sl_buf path = SL_BUF_INIT, tmp = SL_BUF_INIT;
	unsigned long long from, to, i;
	long long start, bytes;
	FILE *f;
	int rv = SL_OK;

	if (!rate_parse(offsets, &start, &from, &to)) {
		sl_buf_addf(err, "source 'rate:': offsets '%.60s' are not of "
			    "this source", offsets);
		return SL_EIO;
	}
	rate_path(r, n, &path);
	sl_buf_addf(&tmp, "%s.tmp", path.buf);
	if ((f = fopen(tmp.buf, "w")) == NULL) {
		sl_buf_addf(err, "cannot create '%s': %s", tmp.buf,
			    strerror(errno));
		rv = SL_EIO;
		goto out;
	}
	fputs("key,ts,value\n", f);
	for (i = from; i < to; i++)
		fprintf(f, "k%llu,%lld,%llu\n",
			(unsigned long long)rate_key(i, r->keys),
			start + (long long)(i * 1000 / r->per_s), i % 1000);
	/* made again from the offsets after a crash: no fsync */
	bytes = ftell(f);
	if (fclose(f) != 0 || bytes < 0 || rename(tmp.buf, path.buf) != 0) {
		sl_buf_addf(err, "cannot write '%s': %s", path.buf,
			    strerror(errno));
		rv = SL_EIO;
		goto out;
	}
	rv = sl_split_list_add(splits, path.buf, 0, (uint64_t)bytes);
out:
	if (rv != SL_OK)
		unlink(tmp.buf);
	sl_buf_release(&path);
	sl_buf_release(&tmp);
	return rv;
}

static void
rate_done(sl_source *s, uint64_t n)
{
	sl_buf path = SL_BUF_INIT;

	rate_path((rate_source *)s, n, &path);
	unlink(path.buf);
	sl_buf_release(&path);
}

/* An event arrives at its event time: it is made then. */
static int
rate_arrivals(sl_source *s, const char *offsets, int64_t *oldest,
	      int64_t *newest)
{
	rate_source *r = (rate_source *)s;
	unsigned long long from, to;
	long long start;

	if (!rate_parse(offsets, &start, &from, &to) || from == to)
		return SL_EINVAL;
	*oldest = start + (int64_t)(from * 1000 / r->per_s);
	*newest = start + (int64_t)((to - 1) * 1000 / r->per_s);
	return SL_OK;
}

static void
rate_close(sl_source *s)
{
	rate_source *r = (rate_source *)s;

	free(r->dir);
	free(r);
}

const sl_source_ops sl_source_rate = {
	.scheme = "rate",
	.syntax = "rate:N[,keys=K]",
	.open = rate_open,
	.plan = rate_plan,
	.inputs = rate_inputs,
	.done = rate_done,
	.arrivals = rate_arrivals,
	.lag = rate_lag,
	.close = rate_close,
};
