/*
 * aggregate.c - the built-in `aggregate` job, SQL's GROUP BY over CSV,
 * and the `window` job, the same grouped by key and window of event time:
 *
 *   sluice run aggregate IN.csv -o OUT --key COL[,COL...] \
 *       --agg count,sum:COL,avg:COL,min:COL,max:COL
 *   sluice run window IN.csv -o OUT --key COL[,COL...] --time COL \
 *       --window tumbling:SIZE|sliding:SIZE,SLIDE|count:N|session:GAP \
 *       --agg ...
 *
 * Written against include/sluice.h only, as a user's job would be; see
 * docs/aggregate.md and docs/window.md for the semantics (NULLs, number
 * and time syntax, windows, output). The input is CSV or JSON lines: the
 * engine chooses by file, and task_begin names the columns the job reads
 * (sl_input_columns), which a JSON-lines file's fields then are.
 *
 * Sessions and count windows are made in the reduce, from the events of
 * a key in time order: the map emits a session's events under the key
 * columns and the event time, a count window's under the key columns,
 * the event time, the file name and the byte offset (each event its own
 * key, so that none is folded into another); partition_prefix keeps a
 * key's events in one reduce, which carries the key's open window from
 * key to key (open_*) and writes it when it closes.
 *
 * A window job's key is the aggregate key followed by the window's start
 * (8 bytes, big-endian, sign bit flipped, so that memcmp order is time
 * order); a row of a sliding window's event is emitted once per window
 * that holds it. The reduce writes the key columns, window_start and
 * window_end (ISO 8601 UTC, end exclusive), then the aggregates. Over a
 * file every window is final (the watermark is the end of the input).
 *
 * map     checks the row (field count, numbers), and emits
 *           key   = the key columns, each with 0x00 escaped as 00 FF and
 *                   ended by 00 01, so that memcmp order of keys is the
 *                   order of key tuples (a field that is a prefix of
 *                   another ends with 00 01, which sorts before any byte
 *                   or escaped NUL that the longer one goes on with);
 *           value = the partial aggregate of one row (layout below).
 * combine folds two partial aggregates of a key (hash aggregation in the
 *         map task): exact, associative and commutative.
 * reduce  folds the partial aggregates of a key and writes one CSV row.
 *
 * Value layout, little-endian, no padding, the same on every machine:
 *   u64 rows                    count of rows, NULLs included
 *   per numeric column (the distinct columns of sum/avg/min/max, in the
 *   order of their first use in --agg), AGG_COL_BYTES each:
 *     u64 nonnull               rows whose value is not empty
 *     dec sum, dec min, dec max 16-byte two's complement mantissa + 1-byte
 *                               scale; all zero while nonnull is 0
 * min/max of numerically equal values of different scales (1.5, 1.50)
 * keep the larger scale, so the result does not depend on the order.
 *
 * Per task attempt: an agg_state (options parsed, header positions,
 * scratch buffers) set as task data in task_begin, freed in task_end. No
 * allocation per record once the scratch buffers have grown.
 */
#include "sluice.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry (jobs/jobs.c) finds the jobs by these names. */
extern const sl_job sl__job_aggregate;
extern const sl_job sl__job_window;

#define AGG_DEC_BYTES 17                      /* mantissa 16 + scale 1 */
#define AGG_COL_BYTES (8 + 3 * AGG_DEC_BYTES) /* nonnull, sum, min, max */
#define AGG_ROWS_BYTES 8
#define AGG_SHOW_MAX 64 /* bytes of a bad value quoted in a message */
#define AGG_WIN_BYTES 8 /* a window job's key: the window start */
#define AGG_WIN_MAX 1000 /* windows a sliding window's event may be in */
#define AGG_COUNT_MAX 1000000000 /* events a count window may have */

__extension__ typedef unsigned __int128 agg_u128;

typedef enum agg_fn { AGG_COUNT, AGG_SUM, AGG_AVG, AGG_MIN, AGG_MAX } agg_fn;

static const char *const agg_fn_names[] = { "count", "sum", "avg", "min",
					    "max" };

typedef struct agg_item {
	agg_fn fn;   /* what to compute */
	size_t col;  /* index into agg_state.cols; unused for count */
} agg_item;

/* A growable byte string. */
typedef struct agg_bytes {
	char *p;     /* the bytes, NULL while cap is 0 */
	size_t len;  /* bytes in use */
	size_t cap;  /* bytes allocated */
} agg_bytes;

typedef struct agg_state {
	char **keys;         /* --key column names */
	size_t nkeys;
	char **cols;         /* distinct numeric columns of --agg */
	size_t ncols;
	agg_item *items;     /* --agg, in order */
	size_t nitems;
	char **names;        /* output columns: keys, then one per item */
	size_t nnames;

	size_t *key_at;      /* map: header position of each key column */
	size_t *col_at;      /* map: header position of each numeric column */
	size_t width;        /* map: fields in the header */
	char *file;          /* map: the file the positions are for */

	bool windowed;       /* the window job */
	char *time_col;      /* window: --time */
	size_t time_at;      /* window, map: its header position */
	bool proc;           /* window: --time proc, processing time (the
				batch's, sl_batch_time) */
	sl_time_unit unit;   /* window: --time-unit */
	int64_t size_ms;     /* window: a window's length */
	int64_t slide_ms;    /* window: between window starts (tumbling:
				the size) */
	bool session;        /* window: session:GAP (size_ms is the gap) */
	uint64_t count_n;    /* window: count:N, events a window; else 0 */
	agg_bytes open_key;  /* session or count window, reduce: the open
				one's key columns */
	unsigned char *open_val; /* its folded value */
	int64_t open_start;  /* its first event */
	int64_t open_last;   /* its last event */
	uint64_t open_events; /* count window: its events so far */
	size_t open_mark;    /* a stream's reduce: the state before it */
	bool is_open;

	sl_expr *where;      /* --where, or NULL */
	size_t *where_at;    /* map: header position of each of its columns */
	sl_slice *where_vals; /* map: their values in the row */
	sl_expr *having;     /* --having, or NULL */
	size_t *having_at;   /* output column of each of its columns */
	sl_slice *having_vals; /* reduce: their values in the row */

	unsigned char *val;  /* one value: a row's (map) or the fold (reduce) */
	size_t vlen;         /* AGG_ROWS_BYTES + ncols * AGG_COL_BYTES */
	agg_bytes key;       /* map: encoded key; reduce: a decoded field */
	agg_bytes row;       /* reduce: the CSV row being made */
	agg_bytes raw;       /* reduce: its cells unquoted, one after another */
	size_t *cells;       /* reduce: where each cell starts in raw */
	size_t ncells;
} agg_state;

static int
agg_nomem(sl_ctx *ctx)
{
	sl_fail(ctx, "aggregate: out of memory");
	return SL_ENOMEM;
}

static int
agg_put(agg_bytes *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		size_t cap = b->cap ? b->cap : 256;
		char *q;

		if (n > SIZE_MAX / 2 - b->len)
			return SL_ENOMEM;
		while (cap < b->len + n)
			cap *= 2;
		q = realloc(b->p, cap);
		if (q == NULL)
			return SL_ENOMEM;
		b->p = q;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return SL_OK;
}

/* One CSV field, quoted (RFC 4180) when it holds , " CR or LF. */
static int
agg_put_field(agg_bytes *b, const char *p, size_t n)
{
	size_t i, from = 0;
	int rv = SL_OK;

	for (i = 0; i < n; i++)
		if (p[i] == ',' || p[i] == '"' || p[i] == '\r' || p[i] == '\n')
			break;
	if (i == n)
		return agg_put(b, p, n);
	rv |= agg_put(b, "\"", 1);
	for (i = 0; i < n; i++) {
		if (p[i] != '"')
			continue;
		rv |= agg_put(b, p + from, i + 1 - from); /* up to the quote */
		rv |= agg_put(b, "\"", 1);                /* doubled */
		from = i + 1;
	}
	rv |= agg_put(b, p + from, n - from);
	rv |= agg_put(b, "\"", 1);
	return rv ? SL_ENOMEM : SL_OK;
}

static void
agg_free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

static void
agg_state_free(agg_state *st)
{
	if (st == NULL)
		return;
	agg_free_strings(st->keys, st->nkeys);
	agg_free_strings(st->cols, st->ncols);
	agg_free_strings(st->names, st->nnames);
	free(st->time_col);
	sl_expr_free(st->where);
	free(st->where_at);
	free(st->where_vals);
	sl_expr_free(st->having);
	free(st->having_at);
	free(st->having_vals);
	free(st->raw.p);
	free(st->cells);
	free(st->open_key.p);
	free(st->open_val);
	free(st->items);
	free(st->key_at);
	free(st->col_at);
	free(st->file);
	free(st->val);
	free(st->key.p);
	free(st->row.p);
	free(st);
}

/* --- options ------------------------------------------------------------- */

/* Number of comma-separated items in s. */
static size_t
agg_count_items(const char *s)
{
	size_t n = 1;

	for (; *s; s++)
		n += *s == ',';
	return n;
}

/* A copy of s[0, n) as a C string; NULL when out of memory. */
static char *
agg_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static int
agg_parse_keys(sl_ctx *ctx, agg_state *st, const char *opt)
{
	size_t n = agg_count_items(opt);

	st->keys = calloc(n, sizeof(*st->keys));
	if (st->keys == NULL)
		return SL_ENOMEM;
	while (st->nkeys < n) {
		size_t len = strcspn(opt, ",");

		if (len == 0) {
			sl_fail(ctx, "empty column name in --key");
			return SL_EUSAGE;
		}
		st->keys[st->nkeys] = agg_strndup(opt, len);
		if (st->keys[st->nkeys] == NULL)
			return SL_ENOMEM;
		st->nkeys++;
		opt += len + (opt[len] == ',');
	}
	return SL_OK;
}

/* Index of column name[0, len) in st->cols, added if new. */
static int
agg_col_index(agg_state *st, const char *name, size_t len, size_t *at)
{
	for (*at = 0; *at < st->ncols; (*at)++)
		if (strlen(st->cols[*at]) == len &&
		    memcmp(st->cols[*at], name, len) == 0)
			return SL_OK;
	st->cols[st->ncols] = agg_strndup(name, len);
	if (st->cols[st->ncols] == NULL)
		return SL_ENOMEM;
	st->ncols++;
	return SL_OK;
}

/* One --agg item s[0, len): "count" or "FN:COL". */
static int
agg_parse_item(sl_ctx *ctx, agg_state *st, const char *s, size_t len)
{
	agg_item *it = &st->items[st->nitems];
	size_t fnlen = strcspn(s, ":,");
	size_t i;

	if (len == 0) {
		sl_fail(ctx, "empty aggregate in --agg");
		return SL_EUSAGE;
	}
	for (i = 0; i < sizeof(agg_fn_names) / sizeof(agg_fn_names[0]); i++)
		if (strlen(agg_fn_names[i]) == fnlen &&
		    memcmp(agg_fn_names[i], s, fnlen) == 0)
			break;
	if (i == sizeof(agg_fn_names) / sizeof(agg_fn_names[0])) {
		sl_fail(ctx, "unknown aggregate '%.*s' in --agg (count, "
			"sum:COL, avg:COL, min:COL, max:COL)", (int)len, s);
		return SL_EUSAGE;
	}
	it->fn = (agg_fn)i;
	if (it->fn == AGG_COUNT && fnlen != len) {
		sl_fail(ctx, "aggregate 'count' takes no column in --agg: "
			"'%.*s'", (int)len, s);
		return SL_EUSAGE;
	}
	if (it->fn != AGG_COUNT && len <= fnlen + 1) {
		sl_fail(ctx, "aggregate '%s' needs a column in --agg: "
			"%s:COL", agg_fn_names[i], agg_fn_names[i]);
		return SL_EUSAGE;
	}
	st->nitems++;
	if (it->fn == AGG_COUNT)
		return SL_OK;
	return agg_col_index(st, s + fnlen + 1, len - fnlen - 1, &it->col);
}

static int
agg_parse_aggs(sl_ctx *ctx, agg_state *st, const char *opt)
{
	size_t n = agg_count_items(opt);
	int rv;

	st->items = calloc(n, sizeof(*st->items));
	st->cols = calloc(n, sizeof(*st->cols));
	if (st->items == NULL || st->cols == NULL)
		return SL_ENOMEM;
	while (st->nitems < n) {
		size_t len = strcspn(opt, ",");

		rv = agg_parse_item(ctx, st, opt, len);
		if (rv != SL_OK)
			return rv;
		opt += len + (opt[len] == ',');
	}
	return SL_OK;
}

/* Output column i: a key column's name, window_start and window_end for
 * a window job, then "count" or "FN_COL". */
static char *
agg_output_name(const agg_state *st, size_t i)
{
	size_t nwin = st->windowed ? 2 : 0;
	const agg_item *it;
	size_t fl, cl;
	char *name;

	if (i < st->nkeys)
		return agg_strndup(st->keys[i], strlen(st->keys[i]));
	if (i < st->nkeys + nwin) {
		const char *w = i == st->nkeys ? "window_start" : "window_end";

		return agg_strndup(w, strlen(w));
	}
	it = &st->items[i - st->nkeys - nwin];
	if (it->fn == AGG_COUNT)
		return agg_strndup("count", 5);
	fl = strlen(agg_fn_names[it->fn]);
	cl = strlen(st->cols[it->col]);
	name = malloc(fl + 1 + cl + 1);
	if (name) {
		memcpy(name, agg_fn_names[it->fn], fl);
		name[fl] = '_';
		memcpy(name + fl + 1, st->cols[it->col], cl + 1);
	}
	return name;
}

/* The output column names, checked for duplicates. */
static int
agg_make_names(sl_ctx *ctx, agg_state *st)
{
	size_t i, j, n = st->nkeys + (st->windowed ? 2 : 0) + st->nitems;

	st->names = calloc(n, sizeof(*st->names));
	if (st->names == NULL)
		return SL_ENOMEM;
	for (i = 0; i < n; i++) {
		char *name = agg_output_name(st, i);

		if (name == NULL)
			return SL_ENOMEM;
		st->names[st->nnames++] = name;
		for (j = 0; j < i; j++) {
			if (strcmp(st->names[j], name) != 0)
				continue;
			sl_fail(ctx, "duplicate output column '%s' (from --key "
				"and --agg)", name);
			return SL_EUSAGE;
		}
	}
	return SL_OK;
}

/* --window count:N: N decimal digits, 1 to AGG_COUNT_MAX. */
static int
win_parse_count(sl_ctx *ctx, agg_state *st, const char *win)
{
	const char *p = win + 6;

	for (st->count_n = 0; *p >= '0' && *p <= '9'; p++) {
		st->count_n = st->count_n * 10 + (uint64_t)(*p - '0');
		if (st->count_n > AGG_COUNT_MAX)
			break;
	}
	if (*p == '\0' && p > win + 6 && st->count_n >= 1 &&
	    st->count_n <= AGG_COUNT_MAX)
		return SL_OK;
	sl_fail(ctx, "--window: '%s' is not count:N (N events a window, 1 "
		"to %d; count windows do not slide)", win, AGG_COUNT_MAX);
	return SL_EUSAGE;
}

/* --window tumbling:SIZE, sliding:SIZE,SLIDE, count:N or session:GAP, and
 * --time, --time-unit. */
static int
agg_parse_window(sl_ctx *ctx, agg_state *st)
{
	const char *win = sl_option(ctx, "window"), *col = sl_option(ctx, "time");
	const char *unit = sl_option(ctx, "time-unit");
	char size[32];
	const char *comma;

	if (win == NULL || col == NULL) {
		sl_fail(ctx, "window needs --time COL and --window "
			"tumbling:SIZE, sliding:SIZE,SLIDE, count:N or "
			"session:GAP");
		return SL_EUSAGE;
	}
	if (*col == '\0') {
		sl_fail(ctx, "empty column name in --time");
		return SL_EUSAGE;
	}
	if ((st->time_col = agg_strndup(col, strlen(col))) == NULL)
		return SL_ENOMEM;
	st->proc = strcmp(col, "proc") == 0;
	st->unit = SL_TIME_AUTO;
	if (unit && strcmp(unit, "ms") == 0)
		st->unit = SL_TIME_MS;
	else if (unit && strcmp(unit, "s") != 0) {
		sl_fail(ctx, "--time-unit: '%s' is not 's' or 'ms'", unit);
		return SL_EUSAGE;
	}
	if (strncmp(win, "count:", 6) == 0)
		return win_parse_count(ctx, st, win);
	if (strncmp(win, "session:", 8) == 0) {
		if (sl_duration_parse(win + 8, &st->size_ms) != SL_OK)
			goto bad;
		st->session = true;
		return SL_OK;
	}
	if (strncmp(win, "tumbling:", 9) == 0) {
		if (sl_duration_parse(win + 9, &st->size_ms) != SL_OK)
			goto bad;
		st->slide_ms = st->size_ms;
		return SL_OK;
	}
	if (strncmp(win, "sliding:", 8) != 0 ||
	    (comma = strchr(win + 8, ',')) == NULL ||
	    (size_t)(comma - win - 8) >= sizeof(size))
		goto bad;
	memcpy(size, win + 8, (size_t)(comma - win - 8));
	size[comma - win - 8] = '\0';
	if (sl_duration_parse(size, &st->size_ms) != SL_OK ||
	    sl_duration_parse(comma + 1, &st->slide_ms) != SL_OK)
		goto bad;
	if ((st->size_ms + st->slide_ms - 1) / st->slide_ms > AGG_WIN_MAX) {
		sl_fail(ctx, "--window '%s': an event would be in more than "
			"%d windows (SIZE / SLIDE)", win, AGG_WIN_MAX);
		return SL_EUSAGE;
	}
	return SL_OK;
bad:
	sl_fail(ctx, "--window: '%s' is not tumbling:SIZE, "
		"sliding:SIZE,SLIDE, count:N or session:GAP (as 500ms, 10s, "
		"5m, 1h, 1d)", win);
	return SL_EUSAGE;
}

/* Compiles --NAME into *e (NULL when not given) and room for the values
 * of its columns. */
static int
agg_compile(sl_ctx *ctx, const char *name, sl_expr **e, sl_slice **vals,
	    size_t **at)
{
	const char *text = sl_option(ctx, name);
	const char *const *cols;
	char err[SL_EXPR_ERR_MAX];
	size_t n;
	int rv;

	if (text == NULL)
		return SL_OK;
	if ((rv = sl_expr_compile(text, e, err)) != SL_OK) {
		if (rv == SL_ENOMEM)
			return SL_ENOMEM;
		sl_fail(ctx, "--%s: %s", name, err);
		return SL_EUSAGE;
	}
	n = sl_expr_columns(*e, &cols);
	*vals = calloc(n ? n : 1, sizeof(**vals));
	*at = calloc(n ? n : 1, sizeof(**at));
	return *vals && *at ? SL_OK : SL_ENOMEM;
}

/*
 * --where (over the input's columns, found in each file's header) and
 * --having (over the output's columns, found here).
 */
static int
agg_parse_exprs(sl_ctx *ctx, agg_state *st)
{
	const char *const *cols;
	size_t n, i, j;
	int rv;

	if ((rv = agg_compile(ctx, "where", &st->where, &st->where_vals,
			      &st->where_at)) != SL_OK ||
	    (rv = agg_compile(ctx, "having", &st->having, &st->having_vals,
			      &st->having_at)) != SL_OK || !st->having)
		return rv;
	n = sl_expr_columns(st->having, &cols);
	for (i = 0; i < n; i++) {
		for (j = 0; j < st->nnames; j++)
			if (strcmp(st->names[j], cols[i]) == 0)
				break;
		if (j == st->nnames) {
			sl_fail(ctx, "unknown column '%s' in --having (it "
				"sees the output's columns: %s, ...)", cols[i],
				st->names[0]);
			return SL_EUSAGE;
		}
		st->having_at[i] = j;
	}
	return SL_OK;
}

/*
 * Parses --key and --agg into st. SL_EUSAGE with the message set by
 * sl_fail, or SL_ENOMEM.
 */
static int
agg_parse(sl_ctx *ctx, agg_state *st)
{
	const char *key = sl_option(ctx, "key");
	const char *agg = sl_option(ctx, "agg");
	int rv;

	if (key == NULL || agg == NULL) {
		sl_fail(ctx, "%s needs --key COL[,COL...] and --agg "
			"count,sum:COL,avg:COL,min:COL,max:COL",
			st->windowed ? "window" : "aggregate");
		return SL_EUSAGE;
	}
	rv = agg_parse_keys(ctx, st, key);
	if (rv == SL_OK && st->windowed)
		rv = agg_parse_window(ctx, st);
	if (rv == SL_OK)
		rv = agg_parse_aggs(ctx, st, agg);
	if (rv == SL_OK)
		rv = agg_make_names(ctx, st);
	if (rv == SL_OK)
		rv = agg_parse_exprs(ctx, st);
	if (rv == SL_OK) {
		st->vlen = AGG_ROWS_BYTES + st->ncols * AGG_COL_BYTES;
		st->val = malloc(st->vlen);
		if (st->val == NULL)
			rv = SL_ENOMEM;
	}
	return rv == SL_ENOMEM ? agg_nomem(ctx) : rv;
}

/* Position of `name` in the header, first match; SL_EUSAGE if absent. */
static int
agg_find(sl_ctx *ctx, const sl_slice *hdr, size_t n, const char *name,
	 const char *opt, size_t *at)
{
	size_t len = strlen(name);

	for (*at = 0; *at < n; (*at)++)
		if (hdr[*at].len == len && memcmp(hdr[*at].ptr, name, len) == 0)
			return SL_OK;
	sl_fail(ctx, "unknown column '%s' in --%s", name, opt);
	return SL_EUSAGE;
}

/*
 * The columns a map reads, for JSON-lines files (sl_input_columns): the
 * keys, the numeric columns, the time, those of --where; the header that
 * agg_resolve() then finds them in.
 */
static int
agg_input_columns(sl_ctx *ctx, agg_state *st)
{
	const char *const *wcols = NULL;
	size_t nw = st->where ? sl_expr_columns(st->where, &wcols) : 0;
	const char **names = calloc(st->nkeys + st->ncols + 1 + nw,
				    sizeof(*names));
	size_t n = 0, i;
	int rv;

	if (names == NULL)
		return agg_nomem(ctx);
	for (i = 0; i < st->nkeys; i++)
		names[n++] = st->keys[i];
	for (i = 0; i < st->ncols; i++)
		names[n++] = st->cols[i];
	if (st->windowed && !st->proc)
		names[n++] = st->time_col;
	for (i = 0; i < nw; i++)
		names[n++] = wcols[i];
	rv = sl_input_columns(ctx, names, n);
	free(names);
	return rv == SL_ENOMEM ? agg_nomem(ctx) : rv;
}

/*
 * Finds the columns in the header of the file being read. `file` (may be
 * NULL in task_begin) is remembered so that map() redoes this when a task
 * moves on to another file.
 */
static int
agg_resolve(sl_ctx *ctx, agg_state *st, const char *file)
{
	const sl_slice *hdr;
	size_t n, i;
	int rv = SL_OK;

	if (sl_csv_header(ctx, &hdr, &n) != SL_OK || n == 0) {
		/* In task_begin: no file open yet, or one without even a
		 * header, which then has no records. */
		if (file == NULL)
			return SL_OK;
		return sl_fail(ctx, "no CSV header in '%s'", file);
	}
	if (st->key_at == NULL)
		st->key_at = calloc(st->nkeys, sizeof(*st->key_at));
	if (st->col_at == NULL && st->ncols > 0)
		st->col_at = calloc(st->ncols, sizeof(*st->col_at));
	if (st->key_at == NULL || (st->ncols > 0 && st->col_at == NULL))
		return agg_nomem(ctx);
	for (i = 0; rv == SL_OK && i < st->nkeys; i++)
		rv = agg_find(ctx, hdr, n, st->keys[i], "key", &st->key_at[i]);
	for (i = 0; rv == SL_OK && i < st->ncols; i++)
		rv = agg_find(ctx, hdr, n, st->cols[i], "agg", &st->col_at[i]);
	if (rv == SL_OK && st->windowed && !st->proc)
		rv = agg_find(ctx, hdr, n, st->time_col, "time", &st->time_at);
	if (rv == SL_OK && st->where) {
		const char *const *cols;
		size_t nc = sl_expr_columns(st->where, &cols);

		for (i = 0; rv == SL_OK && i < nc; i++)
			rv = agg_find(ctx, hdr, n, cols[i], "where",
				      &st->where_at[i]);
	}
	if (rv != SL_OK)
		return rv;
	st->width = n;
	free(st->file);
	st->file = file ? agg_strndup(file, strlen(file)) : NULL;
	if (file && st->file == NULL)
		return agg_nomem(ctx);
	return SL_OK;
}

/* --- values -------------------------------------------------------------- */

static void
agg_dec_put(unsigned char *p, sl_decimal d)
{
	agg_u128 m = (agg_u128)d.mant;

	sl_u64_put(p, (uint64_t)m);
	sl_u64_put(p + 8, (uint64_t)(m >> 64));
	p[16] = d.scale;
}

static sl_decimal
agg_dec_get(const unsigned char *p)
{
	agg_u128 m = ((agg_u128)sl_u64_get(p + 8) << 64) | sl_u64_get(p);
	sl_decimal d;

	d.mant = (sl_i128)m;
	d.scale = p[16];
	return d;
}

/* Whether v replaces the kept extreme a: sign -1 for min, +1 for max. */
static bool
agg_better(sl_decimal v, sl_decimal a, int sign)
{
	int c = sl_dec_cmp(v, a) * sign;

	return c > 0 || (c == 0 && v.scale > a.scale);
}

static const char *
agg_col_name(sl_ctx *ctx, size_t col)
{
	agg_state *st = sl_task_data(ctx);

	return st && col < st->ncols ? st->cols[col] : "?";
}

/*
 * The combine: folds the partial aggregate val into acc, both len bytes.
 * Row and non-NULL counts are u64 and cannot overflow in practice.
 */
static int
agg_fold(sl_ctx *ctx, void *accp, const void *valp, size_t len)
{
	unsigned char *acc = accp;
	const unsigned char *val = valp;
	size_t c;

	if (len < AGG_ROWS_BYTES || (len - AGG_ROWS_BYTES) % AGG_COL_BYTES)
		return sl_fail(ctx, "aggregate: a value of %zu bytes is not "
			       "one of this job", len);
	sl_u64_put(acc, sl_u64_get(acc) + sl_u64_get(val));
	for (c = 0; c < (len - AGG_ROWS_BYTES) / AGG_COL_BYTES; c++) {
		unsigned char *a = acc + AGG_ROWS_BYTES + c * AGG_COL_BYTES;
		const unsigned char *v = val + AGG_ROWS_BYTES +
					 c * AGG_COL_BYTES;
		uint64_t an = sl_u64_get(a), vn = sl_u64_get(v);
		sl_decimal sum, vmin, vmax;

		if (vn == 0)
			continue;
		if (an == 0) {
			memcpy(a, v, AGG_COL_BYTES);
			continue;
		}
		sl_u64_put(a, an + vn);
		sum = agg_dec_get(a + 8);
		if (sl_dec_add(&sum, agg_dec_get(v + 8)) != SL_OK) {
			sl_fail(ctx, "sum of column '%s' overflows (more than "
				"38 digits)", agg_col_name(ctx, c));
			return SL_EOVERFLOW;
		}
		agg_dec_put(a + 8, sum);
		vmin = agg_dec_get(v + 8 + AGG_DEC_BYTES);
		if (agg_better(vmin, agg_dec_get(a + 8 + AGG_DEC_BYTES), -1))
			agg_dec_put(a + 8 + AGG_DEC_BYTES, vmin);
		vmax = agg_dec_get(v + 8 + 2 * AGG_DEC_BYTES);
		if (agg_better(vmax, agg_dec_get(a + 8 + 2 * AGG_DEC_BYTES), 1))
			agg_dec_put(a + 8 + 2 * AGG_DEC_BYTES, vmax);
	}
	return SL_OK;
}

/* --- callbacks ----------------------------------------------------------- */

/* The header row of a part file. */
static int
agg_write_header(sl_ctx *ctx, agg_state *st)
{
	size_t i;
	int rv = SL_OK;

	st->row.len = 0;
	for (i = 0; rv == SL_OK && i < st->nnames; i++) {
		if (i)
			rv = agg_put(&st->row, ",", 1);
		if (rv == SL_OK)
			rv = agg_put_field(&st->row, st->names[i],
					   strlen(st->names[i]));
	}
	if (rv == SL_OK)
		rv = agg_put(&st->row, "\n", 1);
	if (rv != SL_OK)
		return agg_nomem(ctx);
	return sl_write_header(ctx, st->row.p, st->row.len);
}

/* Both jobs' task_begin: `windowed` for the window job. */
static int
agg_begin(sl_ctx *ctx, bool windowed)
{
	agg_state *st = calloc(1, sizeof(*st));
	int rv;

	if (st == NULL)
		return agg_nomem(ctx);
	st->windowed = windowed;
	rv = agg_parse(ctx, st);

	if (rv == SL_OK && sl_task_kind_of(ctx) == SL_TASK_MAP &&
	    (rv = agg_input_columns(ctx, st)) == SL_OK)
		rv = agg_resolve(ctx, st, NULL);
	if (rv == SL_OK && sl_task_kind_of(ctx) == SL_TASK_REDUCE)
		rv = agg_write_header(ctx, st);
	if (rv != SL_OK) {
		agg_state_free(st);
		return rv;
	}
	sl_set_task_data(ctx, st);
	return SL_OK;
}

static int
agg_task_begin(sl_ctx *ctx)
{
	return agg_begin(ctx, false);
}

static int
win_task_begin(sl_ctx *ctx)
{
	return agg_begin(ctx, true);
}

static int win_flush(sl_ctx *ctx, agg_state *st);

static int
agg_task_end(sl_ctx *ctx)
{
	agg_state *st = sl_task_data(ctx);
	int rv = SL_OK;

	if (st && st->is_open) /* the last window of the reduce */
		rv = win_flush(ctx, st);
	agg_state_free(st);
	sl_set_task_data(ctx, NULL);
	return rv;
}

/*
 * Both jobs' check: parses the options (task_begin in a check does
 * nothing more) and says which columns are a row's key: the --key
 * columns, then window_start and window_end for a window. A session has
 * none: its start and end move as its events come (an event may join
 * two sessions), so no columns of its row name it from batch to batch.
 */
static int
agg_check_as(sl_ctx *ctx, bool windowed)
{
	int rv = agg_begin(ctx, windowed);
	const agg_state *st = sl_task_data(ctx);

	if (rv == SL_OK && !st->session)
		sl_set_key_columns(ctx, st->nkeys + (windowed ? 2 : 0));
	agg_task_end(ctx);
	return rv;
}

static int
agg_check(sl_ctx *ctx)
{
	return agg_check_as(ctx, false);
}

static int
win_check(sl_ctx *ctx)
{
	return agg_check_as(ctx, true);
}

/* Appends one key field, 0x00 escaped as 00 FF, ended by 00 01. */
static int
agg_put_key_field(agg_bytes *b, const sl_slice *f)
{
	const char *p = f->ptr, *end = f->ptr + f->len, *nul;
	int rv = SL_OK;

	while ((nul = memchr(p, '\0', (size_t)(end - p))) != NULL) {
		rv |= agg_put(b, p, (size_t)(nul - p));
		rv |= agg_put(b, "\0\xff", 2);
		p = nul + 1;
	}
	rv |= agg_put(b, p, (size_t)(end - p));
	rv |= agg_put(b, "\0\x01", 2);
	return rv ? SL_ENOMEM : SL_OK;
}

/* floor(a / b) for b > 0, whatever a's sign. */
static int64_t
win_floor(int64_t a, int64_t b)
{
	return a / b - (a % b < 0);
}

/* Appends u as 8 bytes, big-endian: memcmp order is numeric order. */
static int
agg_put_be64(agg_bytes *b, uint64_t u)
{
	unsigned char be[8];
	int k;

	for (k = 0; k < 8; k++)
		be[k] = (unsigned char)(u >> (56 - 8 * k));
	return agg_put(b, be, sizeof(be));
}

/* Emits the row's value under the key columns (the first base bytes of
 * st->key) followed by the time t (sign bit flipped: time order). */
static int
win_emit_at(sl_ctx *ctx, agg_state *st, size_t base, int64_t t)
{
	st->key.len = base;
	if (agg_put_be64(&st->key, (uint64_t)t ^ ((uint64_t)1 << 63)))
		return agg_nomem(ctx);
	return sl_emit(ctx, st->key.p, st->key.len, st->val, st->vlen);
}

/*
 * A count window's event: under the key columns, its time, then where it
 * is in the input (file name as a key field, byte offset), so that every
 * event is a key of its own (the combine folds none) and the events of a
 * time come in input order: the order of the files' names, then of the
 * lines in a file.
 */
static int
win_emit_event(sl_ctx *ctx, agg_state *st, size_t base, int64_t t,
	       const sl_record *rec)
{
	sl_slice file = { rec->file, strlen(rec->file) };

	st->key.len = base;
	if (agg_put_be64(&st->key, (uint64_t)t ^ ((uint64_t)1 << 63)) ||
	    agg_put_key_field(&st->key, &file) ||
	    agg_put_be64(&st->key, rec->offset))
		return agg_nomem(ctx);
	return sl_emit(ctx, st->key.p, st->key.len, st->val, st->vlen);
}

/*
 * Emits the row's value once per window that holds its event time (the
 * window's start after the key columns), or, for sessions, once at its
 * time.
 */
static int
win_emit(sl_ctx *ctx, agg_state *st, const sl_record *rec)
{
	const sl_slice *f = &rec->fields[st->time_at];
	size_t base = st->key.len;
	int64_t t, start, wm = 0;
	bool late, taken = false, passed = false;
	int rv = SL_OK;

	if (st->proc)
		t = sl_batch_time(ctx);
	else
		rv = sl_time_parse(f->ptr, f->len, st->unit, &t);
	if (rv != SL_OK) {
		bool cut = f->len > AGG_SHOW_MAX;

		return sl_bad_record(ctx, rec, "column '%s': '%.*s%s' is %s",
				     st->time_col,
				     cut ? AGG_SHOW_MAX : (int)f->len, f->ptr,
				     cut ? "..." : "",
				     rv == SL_EOVERFLOW
					     ? "outside the years 0001 to 9999"
				     : st->unit == SL_TIME_MS
					     ? "not a time (epoch ms)"
					     : "not a time (ISO 8601 or epoch "
					       "seconds)");
	}
	sl_event_time(ctx, t);
	late = sl_watermark(ctx, &wm);
	if (st->session) { /* the reduce makes the sessions */
		if (late && t + st->size_ms <= wm)
			return sl_emit_late(ctx, rec);
		return win_emit_at(ctx, st, base, t);
	}
	if (st->count_n) { /* and the count windows: late when it would go
			      before a window written already */
		if (late && t < wm)
			return sl_emit_late(ctx, rec);
		return win_emit_event(ctx, st, base, t, rec);
	}
	/* The windows [start, start + size) with start a multiple of the
	 * slide: from the latest down, while the event is still inside;
	 * a window the watermark has passed was final in an earlier batch
	 * of a stream, and takes no more. */
	for (start = win_floor(t, st->slide_ms) * st->slide_ms;
	     start > t - st->size_ms; start -= st->slide_ms) {
		if (late && start + st->size_ms <= wm) {
			passed = true; /* and every earlier one */
			break;
		}
		if ((rv = win_emit_at(ctx, st, base, start)) != SL_OK)
			return rv;
		taken = true;
	}
	/* late: no window left to take it (not an event between windows) */
	if (!taken && passed)
		return sl_emit_late(ctx, rec);
	return SL_OK;
}

static int
agg_map(sl_ctx *ctx, const sl_record *rec)
{
	agg_state *st = sl_task_data(ctx);
	size_t i;
	int rv;

	if (st->file == NULL || strcmp(st->file, rec->file) != 0) {
		rv = agg_resolve(ctx, st, rec->file);
		if (rv != SL_OK)
			return rv;
	}
	if (rec->nfields != st->width)
		return sl_bad_record(ctx, rec, "expected %zu fields, found %zu",
				     st->width, rec->nfields);
	if (st->where) {
		const char *const *cols;
		char err[SL_EXPR_ERR_MAX];
		size_t nc = sl_expr_columns(st->where, &cols);

		for (i = 0; i < nc; i++)
			st->where_vals[i] = rec->fields[st->where_at[i]];
		rv = sl_expr_eval(st->where, st->where_vals, err);
		if (rv < 0)
			return sl_bad_record(ctx, rec, "--where: %s", err);
		if (rv == 0)
			return SL_OK; /* filtered out */
	}
	memset(st->val, 0, st->vlen);
	sl_u64_put(st->val, 1);
	for (i = 0; i < st->ncols; i++) {
		const sl_slice *f = &rec->fields[st->col_at[i]];
		unsigned char *v = st->val + AGG_ROWS_BYTES + i * AGG_COL_BYTES;
		bool cut = f->len > AGG_SHOW_MAX;
		int show = cut ? AGG_SHOW_MAX : (int)f->len;
		sl_decimal d;

		if (f->len == 0)
			continue; /* NULL */
		rv = sl_dec_parse(f->ptr, f->len, &d);
		if (rv != SL_OK)
			return sl_bad_record(ctx, rec, "column '%s': '%.*s%s' "
					     "is %s", st->cols[i], show,
					     f->ptr, cut ? "..." : "",
					     rv == SL_EOVERFLOW
						     ? "out of range (over 38 "
						       "digits)"
						     : "not a number");
		sl_u64_put(v, 1);
		agg_dec_put(v + 8, d);
		agg_dec_put(v + 8 + AGG_DEC_BYTES, d);
		agg_dec_put(v + 8 + 2 * AGG_DEC_BYTES, d);
	}
	st->key.len = 0;
	for (i = 0; i < st->nkeys; i++)
		if (agg_put_key_field(&st->key, &rec->fields[st->key_at[i]]))
			return agg_nomem(ctx);
	if (st->windowed)
		return win_emit(ctx, st, rec);
	return sl_emit(ctx, st->key.p, st->key.len, st->val, st->vlen);
}

/* Room for one more cell offset (the row has st->nnames cells). */
static int
agg_cells_room(agg_state *st)
{
	if (st->cells == NULL &&
	    (st->cells = calloc(st->nnames, sizeof(*st->cells))) == NULL)
		return SL_ENOMEM;
	return st->ncells < st->nnames ? SL_OK : SL_EINVAL;
}

/* One cell of the output row: CSV-quoted into row (after a comma but
 * for the first), and as it is into raw, for --having. */
static int
agg_cell(sl_ctx *ctx, agg_state *st, const char *p, size_t n)
{
	if (agg_cells_room(st) != SL_OK ||
	    (st->ncells && agg_put(&st->row, ",", 1)) ||
	    agg_put_field(&st->row, p, n))
		return agg_nomem(ctx);
	st->cells[st->ncells++] = st->raw.len;
	if (agg_put(&st->raw, p, n))
		return agg_nomem(ctx);
	return SL_OK;
}

/* The time of the 8 key bytes at k (big-endian, sign bit flipped). */
static int64_t
win_time(const unsigned char *k)
{
	uint64_t u = 0;
	size_t i;

	for (i = 0; i < AGG_WIN_BYTES; i++)
		u = u << 8 | k[i];
	return (int64_t)(u ^ ((uint64_t)1 << 63));
}

/* Appends the cells window_start and window_end. */
static int
win_cells(sl_ctx *ctx, agg_state *st, int64_t start, int64_t end)
{
	char buf[SL_TIME_STR_MAX];
	int rv;

	if ((rv = agg_cell(ctx, st, buf, sl_time_format(start, buf))) !=
	    SL_OK)
		return rv;
	return agg_cell(ctx, st, buf, sl_time_format(end, buf));
}

/* Appends the key's fields, decoded and CSV-quoted, to the row: the n
 * bytes at k are exactly the encoded key columns. */
static int
agg_put_key(sl_ctx *ctx, agg_state *st, const unsigned char *k, size_t n)
{
	size_t i = 0, field;

	for (field = 0; field < st->nkeys; field++) {
		st->key.len = 0;
		for (;;) {
			if (i < n && k[i] != 0) {
				if (agg_put(&st->key, &k[i++], 1))
					goto nomem;
			} else if (i + 1 < n && k[i + 1] == 0xff) {
				if (agg_put(&st->key, "", 1)) /* the NUL */
					goto nomem;
				i += 2;
			} else if (i + 1 < n && k[i + 1] == 0x01) {
				i += 2;
				break;
			} else {
				return sl_fail(ctx, "aggregate: a key of %zu "
					       "bytes is not one of this job",
					       n);
			}
		}
		if (agg_cell(ctx, st, st->key.p, st->key.len) != SL_OK)
			return SL_ENOMEM;
	}
	if (i != n)
		return sl_fail(ctx, "aggregate: a key of %zu bytes is not one "
			       "of this job", n);
	return SL_OK;
nomem:
	return agg_nomem(ctx);
}

/* Appends the cell of one --agg item of the folded value val. */
static int
agg_put_item(sl_ctx *ctx, agg_state *st, const agg_item *it,
	     const unsigned char *val)
{
	const unsigned char *c = NULL;
	char buf[SL_DEC_STR_MAX > 24 ? SL_DEC_STR_MAX : 24];
	sl_decimal d;
	size_t n = 0;

	if (it->fn != AGG_COUNT)
		c = val + AGG_ROWS_BYTES + it->col * AGG_COL_BYTES;
	if (it->fn == AGG_COUNT) {
		n = (size_t)snprintf(buf, sizeof(buf), "%llu",
				     (unsigned long long)sl_u64_get(val));
	} else if (sl_u64_get(c) > 0) {
		/* sum, min, max at 8, 8 + 17, 8 + 34; avg from the sum */
		size_t at = it->fn == AGG_MIN ? 1 : it->fn == AGG_MAX ? 2 : 0;

		d = agg_dec_get(c + 8 + at * AGG_DEC_BYTES);
		if (it->fn != AGG_AVG)
			n = sl_dec_format(d, buf);
		else if (sl_dec_avg(d, sl_u64_get(c), buf, &n) != SL_OK)
			return sl_fail(ctx, "internal error: avg of column "
				       "'%s'", st->cols[it->col]);
	}
	/* a group whose values are all NULL prints an empty field */
	return agg_cell(ctx, st, buf, n);
}

/* --having over the row's cells: 1 keep it, 0 drop it, or an error. */
static int
agg_having(sl_ctx *ctx, agg_state *st)
{
	const char *const *cols;
	char err[SL_EXPR_ERR_MAX];
	size_t n = sl_expr_columns(st->having, &cols), i, c, end;
	int rv;

	for (i = 0; i < n; i++) {
		c = st->having_at[i];
		end = c + 1 < st->ncells ? st->cells[c + 1] : st->raw.len;
		st->having_vals[i].ptr = st->raw.p + st->cells[c];
		st->having_vals[i].len = end - st->cells[c];
	}
	rv = sl_expr_eval(st->having, st->having_vals, err);
	if (rv < 0)
		return sl_fail(ctx, "--having: %s", err);
	return rv;
}

/*
 * Writes one output row: the key columns (the n bytes at k), the window
 * [start, end) for a window job, the aggregates of val; unless --having
 * says no.
 */
static int
agg_write_row(sl_ctx *ctx, agg_state *st, const unsigned char *k, size_t n,
	      int64_t start, int64_t end, const unsigned char *val)
{
	size_t i;
	int rv;

	st->row.len = 0;
	st->raw.len = 0;
	st->ncells = 0;
	rv = agg_put_key(ctx, st, k, n);
	if (rv == SL_OK && st->windowed)
		rv = win_cells(ctx, st, start, end);
	for (i = 0; rv == SL_OK && i < st->nitems; i++)
		rv = agg_put_item(ctx, st, &st->items[i], val);
	if (rv == SL_OK && st->having) {
		if ((rv = agg_having(ctx, st)) != 1)
			return rv; /* 0: not written, or an error */
		rv = SL_OK;
	}
	if (rv == SL_OK && agg_put(&st->row, "\n", 1))
		rv = agg_nomem(ctx);
	if (rv != SL_OK)
		return rv;
	return sl_write(ctx, st->row.p, st->row.len);
}

/*
 * The open window's row, a session's or a count window's; it is closed.
 * A session ends GAP after its last event; a count window holds the
 * events [first, last], and ends 1 ms after its last, exclusive as every
 * window's end. A count window of fewer than N events (the last of its
 * key) has no row: its events are counted in incomplete_window_records.
 * In a stream with a watermark (append mode) a row is written once, when
 * the watermark has passed the window's end, and its keys leave the
 * state; until then they stay and the row waits (an incomplete count
 * window waits for more events).
 */
static int
win_flush(sl_ctx *ctx, agg_state *st)
{
	int64_t end = st->open_last + (st->count_n ? 1 : st->size_ms), wm;

	st->is_open = false;
	if (st->count_n && st->open_events < st->count_n)
		return sl_counter_add(ctx, "incomplete_window_records",
				      (int64_t)st->open_events);
	if (sl_watermark(ctx, &wm)) {
		if (end > wm)
			return SL_OK;
		sl_state_cut(ctx, st->open_mark);
		/* a full count window closes in the reduce of its last
		 * event, whose key is kept after the reduce: not this one */
		if (st->count_n)
			sl_state_drop(ctx);
	}
	return agg_write_row(ctx, st, (const unsigned char *)st->open_key.p,
			     st->open_key.len, st->open_start, end,
			     st->open_val);
}

/* Whether the open window is of the key columns k[0, n). */
static bool
win_open_is(const agg_state *st, const unsigned char *k, size_t n)
{
	return st->is_open && st->open_key.len == n &&
	       memcmp(st->open_key.p, k, n) == 0;
}

/* Opens a window of key columns k[0, n) with the events at t (folded in
 * st->val), after closing the open one. */
static int
win_open(sl_ctx *ctx, agg_state *st, const unsigned char *k, size_t n,
	 int64_t t)
{
	int rv;

	if (st->is_open && (rv = win_flush(ctx, st)) != SL_OK)
		return rv;
	st->open_key.len = 0;
	if (agg_put(&st->open_key, k, n) ||
	    (st->open_val == NULL &&
	     (st->open_val = malloc(st->vlen)) == NULL))
		return agg_nomem(ctx);
	memcpy(st->open_val, st->val, st->vlen);
	st->open_start = st->open_last = t;
	st->open_events = 1;
	st->open_mark = sl_state_mark(ctx); /* before this key is kept */
	st->is_open = true;
	return SL_OK;
}

/*
 * The events of key columns k[0, n) at time t (folded in st->val): into
 * the open session when it is of the same key columns and t is less than
 * the gap after its last event, else the open one is written and a new
 * one opens. Keys come in order: by key columns, then by time.
 */
static int
win_session_add(sl_ctx *ctx, agg_state *st, const unsigned char *k,
		size_t n, int64_t t)
{
	if (!win_open_is(st, k, n) || t - st->open_last >= st->size_ms)
		return win_open(ctx, st, k, n, t);
	st->open_last = t;
	return agg_fold(ctx, st->open_val, st->val, st->vlen);
}

/*
 * One event of key columns k[0, n) at time t (its value in st->val), in
 * the order of keys (key columns, time, place in the input): into the
 * open count window of its key columns, which is written once it holds
 * N events; else into a new one.
 */
static int
win_count_add(sl_ctx *ctx, agg_state *st, const unsigned char *k, size_t n,
	      int64_t t)
{
	int rv;

	if (!win_open_is(st, k, n)) {
		rv = win_open(ctx, st, k, n, t);
	} else {
		st->open_last = t;
		st->open_events++;
		rv = agg_fold(ctx, st->open_val, st->val, st->vlen);
	}
	if (rv == SL_OK && st->open_events == st->count_n)
		rv = win_flush(ctx, st);
	return rv;
}

/*
 * Bytes of the nkeys key columns that k[0, klen) starts with (each ended
 * by 00 01, a NUL in it written 00 FF), or SIZE_MAX when it does not hold
 * that many.
 */
static size_t
agg_key_columns_len(const unsigned char *k, size_t klen, size_t nkeys)
{
	const unsigned char *z;
	size_t i = 0;

	while (nkeys > 0) {
		z = memchr(k + i, 0, klen - i);
		if (z == NULL || (size_t)(z - k) + 1 >= klen)
			return SIZE_MAX;
		i = (size_t)(z - k) + 2;
		if (z[1] == 0x01)
			nkeys--;
	}
	return i;
}

static int
agg_reduce(sl_ctx *ctx, const void *key, size_t klen, sl_values *vals)
{
	agg_state *st = sl_task_data(ctx);
	const unsigned char *k = key;
	const void *v;
	size_t len;
	bool first = true;
	int64_t t, wm;
	int rv;

	while (sl_values_next(vals, &v, &len)) {
		if (len != st->vlen)
			return sl_fail(ctx, "aggregate: a value of %zu bytes "
				       "is not one of this job", len);
		if (first)
			memcpy(st->val, v, len);
		else if ((rv = agg_fold(ctx, st->val, v, len)) != SL_OK)
			return rv;
		first = false;
	}
	if (first)
		return SL_OK; /* a key without values has no row */
	if (!st->windowed)
		return agg_write_row(ctx, st, k, klen, 0, 0, st->val);
	if (st->count_n) { /* key columns, time, place in the input */
		size_t n = agg_key_columns_len(k, klen, st->nkeys);

		if (n == SIZE_MAX || klen - n < AGG_WIN_BYTES)
			return sl_fail(ctx, "window: a key of %zu bytes is not "
				       "one of this job", klen);
		return win_count_add(ctx, st, k, n, win_time(k + n));
	}
	if (klen < AGG_WIN_BYTES)
		return sl_fail(ctx, "window: a key of %zu bytes is not one of "
			       "this job", klen);
	t = win_time(k + klen - AGG_WIN_BYTES);
	if (st->session)
		return win_session_add(ctx, st, k, klen - AGG_WIN_BYTES, t);
	/* A stream with a watermark (append mode): a window's row is
	 * written once, in the batch whose watermark passes its end, and
	 * the window leaves the state; until then it waits there. */
	if (sl_watermark(ctx, &wm)) {
		if (t + st->size_ms > wm)
			return SL_OK;
		sl_state_drop(ctx);
	}
	return agg_write_row(ctx, st, k, klen - AGG_WIN_BYTES, t,
			     t + st->size_ms, st->val);
}

/*
 * A window job's partition: its key columns, without the time, so that a
 * key's windows (and the events of its sessions and count windows) meet
 * in one reduce. The engine may call this after task_end (when it drains
 * the combine table), so the layout is read from the options, not from
 * the task data: a count window's key goes on past the time.
 */
static size_t
win_partition_prefix(sl_ctx *ctx, const void *key, size_t klen)
{
	const char *win = sl_option(ctx, "window"), *keys;
	size_t n;

	if (win && strncmp(win, "count:", 6) == 0) {
		keys = sl_option(ctx, "key");
		n = agg_key_columns_len(key, klen,
					keys ? agg_count_items(keys) : 1);
		return n < klen ? n : klen;
	}
	return klen >= AGG_WIN_BYTES ? klen - AGG_WIN_BYTES : klen;
}

static const sl_job_option agg_options[] = {
	{ "key", "COL[,COL...]", "columns to group by (CSV header or JSON "
	  "member names)" },
	{ "agg", "AGG[,AGG...]",
	  "aggregates: count, sum:COL, avg:COL, min:COL, max:COL" },
	{ "where", "EXPR", "only the rows where EXPR holds (over the input's "
	  "columns; docs/expressions.md)" },
	{ "having", "EXPR", "only the output rows where EXPR holds (over the "
	  "output's columns: count, sum_COL, ...)" },
	{ NULL, NULL, NULL },
};

static const sl_job_option win_options[] = {
	{ "key", "COL[,COL...]", "columns to group by (CSV header or JSON "
	  "member names)" },
	{ "time", "COL|proc", "the event time: ISO 8601, or epoch seconds; "
	  "proc: processing time (the batch's)" },
	{ "time-unit", "s|ms", "epoch numbers in --time are seconds (the "
	  "default) or milliseconds" },
	{ "window", "SPEC",
	  "tumbling:SIZE, sliding:SIZE,SLIDE, count:N or session:GAP (as "
	  "500ms, 10s, 5m, 1h, 1d; windows start at multiples of the slide "
	  "since the epoch; a count window is a key's next N events in time "
	  "order; a session ends GAP after its last event)" },
	{ "agg", "AGG[,AGG...]",
	  "aggregates: count, sum:COL, avg:COL, min:COL, max:COL" },
	{ "where", "EXPR", "only the rows where EXPR holds (over the input's "
	  "columns; docs/expressions.md)" },
	{ "having", "EXPR", "only the output rows where EXPR holds (over the "
	  "output's columns: window_start, count, sum_COL, ...)" },
	{ NULL, NULL, NULL },
};

const sl_job sl__job_window = {
	.api_version = SL_API_VERSION,
	.name = "window",
	.summary = "group CSV rows by key columns and windows of event "
		   "time: count, exact sum, avg, min, max",
	.input = SL_INPUT_CSV,
	.options = win_options,
	.check = win_check,
	.task_begin = win_task_begin,
	.task_end = agg_task_end,
	.map = agg_map,
	.combine = agg_fold,
	.reduce = agg_reduce,
	.partition_prefix = win_partition_prefix,
	.output = SL_OUTPUT_CSV,
};

const sl_job sl__job_aggregate = {
	.api_version = SL_API_VERSION,
	.name = "aggregate",
	.summary = "group CSV rows by key columns: count, exact sum, avg, "
		   "min, max",
	.input = SL_INPUT_CSV,
	.options = agg_options,
	.check = agg_check,
	.task_begin = agg_task_begin,
	.task_end = agg_task_end,
	.map = agg_map,
	.combine = agg_fold,
	.reduce = agg_reduce,
	.output = SL_OUTPUT_CSV,
};
