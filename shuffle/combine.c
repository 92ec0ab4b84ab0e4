/*
 * combine.c - the map-side combine table; see combine.h.
 *
 * Layout. slots[cap] is an array of {hash, entry}; an empty slot has
 * entry NULL. An entry is {klen, vlen} then the key, then the value at the
 * next CB_ALIGN boundary, so that fold functions may read the value as any
 * type (as with malloc memory). Entries are carved from chunks that grow
 * from CB_CHUNK_MIN to CB_CHUNK_MAX bytes; an entry larger than a chunk
 * gets a chunk of its own. Nothing is freed before sl_combine_free().
 *
 * The table never removes keys, so linear probing needs no tombstones. It
 * doubles before an insert would take it past 3/4 full; at that load a hit
 * probes about 2.5 slots on average.
 */
#include "sl_impl.h"

#include <stdalign.h>
#include <stdlib.h>

#include "shuffle/combine.h"

#define CB_ALIGN alignof(max_align_t)
#define CB_SLOTS_MIN 64              /* initial capacity, a power of two */
#define CB_CHUNK_MIN (4 * 1024)      /* first arena chunk, bytes */
#define CB_CHUNK_MAX (1024 * 1024)   /* largest regular arena chunk, bytes */
/* Longest key or value: fits cb_entry, and entry sizes cannot overflow. */
#define CB_LEN_MAX (SIZE_MAX / 4 < UINT32_MAX ? SIZE_MAX / 4 : UINT32_MAX)

typedef struct cb_entry {
	uint32_t klen;          /* key bytes, which follow this header */
	uint32_t vlen;          /* value bytes, at cb_val() */
} cb_entry;

typedef struct cb_slot {
	uint64_t hash;          /* the key's hash, compared before the key */
	cb_entry *e;            /* the entry, NULL when the slot is free */
} cb_slot;

typedef struct cb_chunk {
	struct cb_chunk *next;  /* the chunk allocated before, or a big one */
	size_t size;            /* bytes of data[] */
	size_t used;            /* bytes of data[] handed out */
	alignas(CB_ALIGN) unsigned char data[]; /* the entries */
} cb_chunk;

struct sl_combine {
	sl_fold_fn fold;        /* folds a value into a held one */
	void *arg;              /* first argument of fold */
	cb_slot *slots;         /* cap slots */
	size_t cap;             /* slots, a power of two */
	size_t count;           /* keys held (used slots) */
	cb_chunk *chunks;       /* the current chunk first */
	size_t next_chunk;      /* data bytes of the next regular chunk */
	size_t bytes;           /* memory held: struct, slots, chunks */
};

static size_t
cb_round(size_t n)
{
	return (n + CB_ALIGN - 1) & ~(size_t)(CB_ALIGN - 1);
}

static unsigned char *
cb_key(cb_entry *e)
{
	return (unsigned char *)(e + 1);
}

static unsigned char *
cb_val(cb_entry *e)
{
	return (unsigned char *)e + cb_round(sizeof(*e) + e->klen);
}

sl_combine *
sl_combine_new(sl_fold_fn fold, void *arg)
{
	sl_combine *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->slots = calloc(CB_SLOTS_MIN, sizeof(*t->slots));
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	t->fold = fold;
	t->arg = arg;
	t->cap = CB_SLOTS_MIN;
	t->next_chunk = CB_CHUNK_MIN;
	t->bytes = sizeof(*t) + CB_SLOTS_MIN * sizeof(*t->slots);
	return t;
}

/* `size` bytes (a multiple of CB_ALIGN) from the arena, or NULL. */
static void *
cb_alloc(sl_combine *t, size_t size)
{
	cb_chunk *c = t->chunks;
	size_t data;

	if (c && c->size - c->used >= size) {
		c->used += size;
		return c->data + c->used - size;
	}
	data = size > t->next_chunk ? size : t->next_chunk;
	if (data > SIZE_MAX - sizeof(*c))
		return NULL;
	c = malloc(sizeof(*c) + data);
	if (c == NULL)
		return NULL;
	c->size = data;
	c->used = size;
	t->bytes += sizeof(*c) + data;
	if (data == size && t->chunks) {
		/* A chunk filled by one entry: keep filling the current one. */
		c->next = t->chunks->next;
		t->chunks->next = c;
	} else {
		c->next = t->chunks;
		t->chunks = c;
		if (t->next_chunk < CB_CHUNK_MAX)
			t->next_chunk *= 2;
	}
	return c->data;
}

/* The first free slot for `hash` in slots[mask + 1]. */
static cb_slot *
cb_free_slot(cb_slot *slots, size_t mask, uint64_t hash)
{
	size_t i = (size_t)hash & mask;

	while (slots[i].e)
		i = (i + 1) & mask;
	return &slots[i];
}

static int
cb_grow(sl_combine *t)
{
	size_t ncap, i;
	cb_slot *ns;

	if (t->cap > SIZE_MAX / 2 / sizeof(*ns))
		return SL_ENOMEM;
	ncap = t->cap * 2;
	ns = calloc(ncap, sizeof(*ns));
	if (ns == NULL)
		return SL_ENOMEM;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].e)
			*cb_free_slot(ns, ncap - 1, t->slots[i].hash) =
				t->slots[i];
	free(t->slots);
	t->slots = ns;
	t->bytes += (ncap - t->cap) * sizeof(*ns);
	t->cap = ncap;
	return SL_OK;
}

/*
 * Are the len bytes at a and b equal? Keys of up to 16 bytes (most words)
 * are compared in two overlapping loads each instead of a call to memcmp.
 */
static bool
cb_key_eq(const unsigned char *a, const unsigned char *b, size_t len)
{
	uint64_t a0, a1, b0, b1;
	uint32_t c0, c1, d0, d1;

	if (len > 16)
		return memcmp(a, b, len) == 0;
	if (len >= 8) {
		memcpy(&a0, a, 8);
		memcpy(&a1, a + len - 8, 8);
		memcpy(&b0, b, 8);
		memcpy(&b1, b + len - 8, 8);
		return ((a0 ^ b0) | (a1 ^ b1)) == 0;
	}
	if (len >= 4) {
		memcpy(&c0, a, 4);
		memcpy(&c1, a + len - 4, 4);
		memcpy(&d0, b, 4);
		memcpy(&d1, b + len - 4, 4);
		return ((c0 ^ d0) | (c1 ^ d1)) == 0;
	}
	/* 0 to 3 bytes: the first, middle and last byte cover them all. */
	return len == 0 || (a[0] == b[0] && a[len / 2] == b[len / 2] &&
			    a[len - 1] == b[len - 1]);
}

int
sl_combine_add(sl_combine *t, uint64_t hash, const void *key, size_t klen,
	       const void *val, size_t vlen)
{
	size_t mask = t->cap - 1, i = (size_t)hash & mask;
	cb_slot *s;
	cb_entry *e;

	if (klen > CB_LEN_MAX || vlen > CB_LEN_MAX)
		return SL_ETOOBIG;
	for (; t->slots[i].e; i = (i + 1) & mask) {
		e = t->slots[i].e;
		if (t->slots[i].hash != hash || e->klen != klen ||
		    !cb_key_eq(cb_key(e), key, klen))
			continue;
		if (e->vlen != vlen)
			return SL_EINVAL;
		return t->fold(t->arg, cb_val(e), val, vlen);
	}
	s = &t->slots[i];
	if ((t->count + 1) * 4 > t->cap * 3) {
		if (cb_grow(t) != SL_OK)
			return SL_ENOMEM;
		s = cb_free_slot(t->slots, t->cap - 1, hash);
	}
	e = cb_alloc(t, cb_round(sizeof(*e) + klen) + cb_round(vlen));
	if (e == NULL)
		return SL_ENOMEM;
	e->klen = (uint32_t)klen;
	e->vlen = (uint32_t)vlen;
	if (klen)
		memcpy(cb_key(e), key, klen);
	if (vlen)
		memcpy(cb_val(e), val, vlen);
	s->hash = hash;
	s->e = e;
	t->count++;
	return SL_OK;
}

int
sl_combine_next(const sl_combine *t, size_t *pos, uint64_t *hash,
		sl_slice *key, sl_slice *val)
{
	size_t i;

	for (i = *pos; i < t->cap; i++) {
		cb_entry *e = t->slots[i].e;

		if (e == NULL)
			continue;
		*hash = t->slots[i].hash;
		key->ptr = (const char *)cb_key(e);
		key->len = e->klen;
		val->ptr = (const char *)cb_val(e);
		val->len = e->vlen;
		*pos = i + 1;
		return 1;
	}
	*pos = t->cap;
	return 0;
}

size_t
sl_combine_count(const sl_combine *t)
{
	return t->count;
}

size_t
sl_combine_bytes(const sl_combine *t)
{
	return t->bytes;
}

void
sl_combine_free(sl_combine *t)
{
	cb_chunk *c, *next;

	if (t == NULL)
		return;
	for (c = t->chunks; c; c = next) {
		next = c->next;
		free(c);
	}
	free(t->slots);
	free(t);
}
