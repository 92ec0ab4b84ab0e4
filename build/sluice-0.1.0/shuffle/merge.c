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
 */
#include "sl_impl.h"

#include <stdlib.h>

#include "shuffle/merge.h"

typedef struct mg_cursor {
	const char *base;       /* the segment's bytes */
	size_t len;             /* the segment's length, bytes */
	size_t pos;             /* offset of the record after the current */
	size_t seg;             /* index of the segment, breaks key ties */
	sl_slice key;           /* current record's key */
	sl_slice val;           /* current record's value */
} mg_cursor;

struct sl_merge {
	mg_cursor *cursors;     /* one per segment */
	size_t ncursors;        /* segments */
	mg_cursor **heap;       /* cursors with a current record, a min-heap */
	size_t nheap;           /* cursors in heap */
	sl_slice key;           /* the current key */
	bool started;           /* the cursors have read their first record */
	bool in_key;            /* the top record is an unread value of key */
	int err;                /* SL_OK, or the error returned ever after */
};

int
sl_merge_new(sl_merge **out, const sl_slice *segs, size_t nsegs)
{
	sl_merge *m;
	size_t i;

	*out = NULL;
	if (nsegs > SIZE_MAX / (sizeof(mg_cursor) + sizeof(mg_cursor *)))
		return SL_ENOMEM;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return SL_ENOMEM;
	/* calloc(0) may return NULL: allocate at least one of each. */
	m->cursors = calloc(nsegs ? nsegs : 1, sizeof(*m->cursors));
	m->heap = calloc(nsegs ? nsegs : 1, sizeof(*m->heap));
	if (m->cursors == NULL || m->heap == NULL) {
		sl_merge_free(m);
		return SL_ENOMEM;
	}
	for (i = 0; i < nsegs; i++) {
		m->cursors[i].base = segs[i].ptr;
		m->cursors[i].len = segs[i].len;
		m->cursors[i].seg = i;
	}
	m->ncursors = nsegs;
	*out = m;
	return SL_OK;
}

/*
 * Reads the cursor's next record: 1, 0 at the end of the segment, or
 * SL_EPROTO. Unless `first`, checks that the key does not go down and sets
 * *same to whether it is the previous key.
 */
static int
mg_read(mg_cursor *c, bool first, bool *same)
{
	sl_slice key;
	int rv, cmp;

	if (c->pos == c->len)
		return 0; /* base may be NULL when len is 0 */
	rv = sl_kv_next(c->base, c->len, &c->pos, &key, &c->val);
	if (rv != 1)
		return rv;
	if (!first) {
		cmp = sl_key_cmp(key.ptr, key.len, c->key.ptr, c->key.len);
		if (cmp < 0)
			return SL_EPROTO;
		*same = cmp == 0;
	}
	c->key = key;
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
		rv = mg_read(&m->cursors[i], true, NULL);
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
	*val = top->val;
	rv = mg_read(top, false, &same);
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
	m->in_key = true;
	*key = m->key;
	return 1;
}

void
sl_merge_free(sl_merge *m)
{
	if (m == NULL)
		return;
	free(m->cursors);
	free(m->heap);
	free(m);
}
