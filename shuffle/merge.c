/*
 * merge.c - k-way merge of sorted segments; see merge.h.
 *
 * Each segment has a cursor holding its current record. The cursors of
 * segments not yet exhausted form a binary min-heap ordered by (key,
 * segment index): the index breaks ties so that the values of a key come
 * segment by segment. The top cursor's record is the next value. When the
 * top advances to a record of the same key (checked anyway, for the order
 * of the segment) it stays the top, so runs of one key in one segment do
 * not touch the heap.
 *
 * A run in a spill file is read through a window: the bytes from the
 * current record on, plus one more piece of the file when the next record
 * is not whole in it. Refilling moves the current record to the window's
 * start, so after a refill the current record is decoded again there; a
 * key from a file run is copied for the same reason. Before a refill, the
 * header of the record that is not whole is checked against what the
 * rest of the file can hold (sl_spill_check_left), so a damaged length
 * fails at once rather than growing the window to the end of the file.
 */
#include "sl_impl.h"

#include <stdlib.h>

#include "shuffle/merge.h"
#include "shuffle/spill.h"

typedef struct mg_cursor {
	const char *base;       /* the segment's bytes */
	size_t len;             /* the segment's length, bytes */
	size_t pos;             /* offset of the record after the current */
	size_t cur;             /* offset of the current record */
	size_t seg;             /* index of the segment, breaks key ties */
	sl_slice key;           /* current record's key */
	sl_slice val;           /* current record's value */
	sl_spill_reader *file;  /* a run on disk, or NULL */
	sl_buf window;          /* a file run's bytes from the current record */
	bool eof;               /* the file run has no more bytes */
} mg_cursor;

struct sl_merge {
	mg_cursor *cursors;     /* one per segment */
	size_t ncursors;        /* segments */
	mg_cursor **heap;       /* cursors with a current record, a min-heap */
	size_t nheap;           /* cursors in heap */
	sl_slice key;           /* the current key */
	sl_buf keycopy;         /* its bytes when it is from a file run */
	bool started;           /* the cursors have read their first record */
	bool in_key;            /* the top record is an unread value of key */
	int err;                /* SL_OK, or the error returned ever after */
	size_t value_run;       /* the run of the last value returned */
	sl_buf errmsg;          /* what went wrong reading a file run */
};

int
sl_merge_new_runs(sl_merge **out, const sl_slice *segs,
		  const char *const *paths, size_t nsegs, sl_buf *err)
{
	int rv;

	sl_merge *m;
	size_t i;

	*out = NULL;
	if (nsegs > SIZE_MAX / (sizeof(mg_cursor) + sizeof(mg_cursor *)))
		return SL_ENOMEM;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return SL_ENOMEM;
	sl_buf_init(&m->keycopy);
	sl_buf_init(&m->errmsg);
	/* calloc(0) may return NULL: allocate at least one of each. */
	m->cursors = calloc(nsegs ? nsegs : 1, sizeof(*m->cursors));
	m->heap = calloc(nsegs ? nsegs : 1, sizeof(*m->heap));
	if (m->cursors == NULL || m->heap == NULL) {
		sl_merge_free(m);
		return SL_ENOMEM;
	}
	m->ncursors = nsegs;
	for (i = 0; i < nsegs; i++)
		sl_buf_init(&m->cursors[i].window);
	for (i = 0; i < nsegs; i++) {
		mg_cursor *c = &m->cursors[i];

		c->seg = i;
		if (paths == NULL || paths[i] == NULL) {
			c->base = segs[i].ptr;
			c->len = segs[i].len;
		} else if ((rv = sl_spill_open(&c->file, paths[i], err)) !=
			   SL_OK) {
			sl_merge_free(m);
			return rv;
		}
	}
	*out = m;
	return SL_OK;
}

/*
 * Moves the current record of a file run to the window's start and
 * appends the next piece of the file. SL_OK (c->eof when nothing came),
 * or the reader's error with its message in m->errmsg.
 */
static int
mg_refill(sl_merge *m, mg_cursor *c)
{
	size_t keep = c->len - c->cur;
	int rv;

	memmove(c->window.buf, c->window.buf + c->cur, keep);
	sl_buf_setlen(&c->window, keep);
	c->pos -= c->cur;
	c->cur = 0;
	rv = sl_spill_next(c->file, &c->window, &m->errmsg);
	if (rv < 0)
		return rv;
	c->eof = rv == 0;
	c->base = c->window.buf;
	c->len = c->window.len;
	return SL_OK;
}

/*
 * The record at c->pos of a file run is not whole in the window: SL_OK
 * when the rest of the run may complete it; SL_EPROTO (message in
 * m->errmsg) when its header shows it never can, because a length varint
 * does not end within its 10 bytes or the lengths ask for more than the
 * rest of the run holds (at its end, anything); SL_EIO.
 */
static int
mg_check_partial(sl_merge *m, mg_cursor *c)
{
	const unsigned char *p = (const unsigned char *)c->base + c->pos;
	const unsigned char *end = (const unsigned char *)c->base + c->len;
	uint64_t klen, vlen, more = 1; /* a varint cut short needs a byte */
	size_t hk, hv = 0;

	hk = sl_varint_get(p, end, &klen);
	if (hk)
		hv = sl_varint_get(p + hk, end, &vlen);
	if (hk && hv) {
		/* sl_kv_next failed: klen + vlen > what follows the header */
		more = klen > UINT64_MAX - vlen ?
			       UINT64_MAX :
			       klen + vlen - (uint64_t)(end - p - hk - hv);
	} else if ((size_t)(end - p) - hk >= SL_VARINT_MAX) {
		more = UINT64_MAX; /* no varint is that long */
	}
	return sl_spill_check_left(c->file, more, &m->errmsg);
}

/*
 * Reads the cursor's next record: 1, 0 at the end of the segment, or
 * SL_EPROTO (or a file run's read error). Unless `first`, checks that the
 * key does not go down, sets *same to whether it is the previous key and
 * *prev to the previous record's value (which a refill may have moved).
 */
static int
mg_read(sl_merge *m, mg_cursor *c, bool first, bool *same, sl_slice *prev)
{
	sl_slice key, val;
	size_t at;
	int rv, cmp;

	for (;;) {
		at = c->pos;
		/* base may be NULL when len is 0 */
		rv = at == c->len ? 0 : sl_kv_next(c->base, c->len, &at, &key,
						   &val);
		if (rv == 1 || c->file == NULL || (rv == 0 && c->eof))
			break;
		/* A file run's next record is not whole in the window (at
		 * its end the check fails). */
		if (rv < 0 && (rv = mg_check_partial(m, c)) != SL_OK)
			return rv;
		if ((rv = mg_refill(m, c)) != SL_OK)
			return rv;
		if (!first) {
			/* The previous record moved: so did its value, which
			 * the caller returns also when the run ends here. */
			at = 0;
			sl_kv_next(c->base, c->len, &at, &c->key, &c->val);
			*prev = c->val;
		}
	}
	if (rv != 1)
		return rv;
	if (!first) {
		cmp = sl_key_cmp(key.ptr, key.len, c->key.ptr, c->key.len);
		if (cmp < 0)
			return SL_EPROTO;
		*same = cmp == 0;
		*prev = c->val;
	}
	c->cur = c->pos;
	c->pos = at;
	c->key = key;
	c->val = val;
	return 1;
}

static bool
mg_less(const mg_cursor *a, const mg_cursor *b)
{
	int cmp = sl_key_cmp(a->key.ptr, a->key.len, b->key.ptr, b->key.len);

	return cmp < 0 || (cmp == 0 && a->seg < b->seg);
}

static void
mg_sift_down(sl_merge *m, size_t i)
{
	mg_cursor *c = m->heap[i];
	size_t child;

	while ((child = 2 * i + 1) < m->nheap) {
		if (child + 1 < m->nheap &&
		    mg_less(m->heap[child + 1], m->heap[child]))
			child++;
		if (!mg_less(m->heap[child], c))
			break;
		m->heap[i] = m->heap[child];
		i = child;
	}
	m->heap[i] = c;
}

/* Reads the first record of every segment and builds the heap. */
static int
mg_start(sl_merge *m)
{
	size_t i;
	int rv;

	for (i = 0; i < m->ncursors; i++) {
		rv = mg_read(m, &m->cursors[i], true, NULL, NULL);
		if (rv < 0)
			return rv;
		if (rv == 1)
			m->heap[m->nheap++] = &m->cursors[i];
	}
	for (i = m->nheap / 2; i-- > 0;)
		mg_sift_down(m, i);
	m->started = true;
	return SL_OK;
}

int
sl_merge_next_value(sl_merge *m, sl_slice *val)
{
	mg_cursor *top;
	bool same = false;
	int rv;

	if (m->err)
		return m->err;
	if (!m->in_key)
		return 0;
	top = m->heap[0];
	m->value_run = (size_t)(top - m->cursors);
	*val = top->val;
	rv = mg_read(m, top, false, &same, val);
	if (rv < 0)
		return m->err = rv;
	if (rv == 0)
		m->heap[0] = m->heap[--m->nheap];
	if (!same && m->nheap > 0)
		mg_sift_down(m, 0);
	m->in_key = same || (m->nheap > 0 &&
			     m->heap[0]->key.len == m->key.len &&
			     memcmp(m->heap[0]->key.ptr, m->key.ptr,
				    m->key.len) == 0);
	return 1;
}

size_t
sl_merge_value_run(const sl_merge *m)
{
	return m->value_run;
}

int
sl_merge_next_key(sl_merge *m, sl_slice *key)
{
	sl_slice val;
	int rv;

	if (m->err)
		return m->err;
	if (!m->started && (rv = mg_start(m)) != SL_OK)
		return m->err = rv;
	while (m->in_key)
		if ((rv = sl_merge_next_value(m, &val)) < 0)
			return rv;
	if (m->nheap == 0)
		return 0;
	m->key = m->heap[0]->key;
	if (m->heap[0]->file) {
		/* A refill of the window would move the key's bytes. */
		sl_buf_reset(&m->keycopy);
		if (sl_buf_add(&m->keycopy, m->key.ptr, m->key.len) != SL_OK)
			return m->err = SL_ENOMEM;
		m->key.ptr = m->keycopy.buf;
	}
	m->in_key = true;
	*key = m->key;
	return 1;
}

const char *
sl_merge_error(const sl_merge *m)
{
	if (m == NULL || m->err == SL_OK)
		return NULL;
	return m->errmsg.len ? m->errmsg.buf : sl_strerror(m->err);
}

void
sl_merge_free(sl_merge *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ncursors; i++) {
		sl_spill_close(m->cursors[i].file);
		sl_buf_release(&m->cursors[i].window);
	}
	sl_buf_release(&m->keycopy);
	sl_buf_release(&m->errmsg);
	free(m->cursors);
	free(m->heap);
	free(m);
}
