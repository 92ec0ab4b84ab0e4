/*
 * combine.c - the map-side combine table; see combine.h.
 *
 * Layout. slots[cap] is an array of 32-byte slots {hash, klen, vlen,
 * key, val}; a free slot has klen CB_FREE. A key of up to 8 bytes is
 * held in the slot itself, zero-padded, and so is a value of up to 8
 * bytes: a word count's hit then reads one slot, one cache line, and
 * touches nothing else. Longer keys and values live in the arena and the
 * slot points to them; a value there starts at a CB_ALIGN boundary, so
 * that fold functions may read it as any type (as with malloc memory).
 * Arena chunks grow from CB_CHUNK_MIN to CB_CHUNK_MAX bytes; a piece
 * larger than a chunk gets a chunk of its own. Nothing is freed before
 * sl_combine_free().
 *
 * The table never removes keys, so linear probing needs no tombstones. It
 * doubles before an insert would take it past 3/4 full; at that load a hit
 * probes about 2.5 slots on average.
 *
 * With sl__fold_sum_u64 as its fold the table adds counts inline (no
 * call per add); any other fold of a value held in the slot gets a copy
 * in an aligned local, which is copied back after the call.
 *
 * The queue. A word count's add mostly waits for its slot to come from
 * memory (a table of 30 k words is 2 MiB of slots, past the core's L2),
 * and one add's miss follows another's. sl_combine_queue computes the
 * hash of a count's key, prefetches its slot and copies the add to the
 * queue; the queue is added when full or flushed, by which time the
 * slots are on their way: the misses of CB_QUEUE adds overlap.
 */
#include "sl_impl.h"

#include <endian.h>
#include <stdalign.h>
#include <stdlib.h>
#include <xxhash.h>

#include "shuffle/combine.h"

#define CB_ALIGN alignof(max_align_t)
#define CB_SLOTS_MIN 64              /* initial capacity, a power of two */
#define CB_CHUNK_MIN (4 * 1024)      /* first arena chunk, bytes */
#define CB_CHUNK_MAX (1024 * 1024)   /* largest regular arena chunk, bytes */
#define CB_INLINE 8                  /* keys and values this short stay in
                                        the slot */
#define CB_FREE UINT32_MAX           /* klen of a free slot */
#define CB_QUEUE (SL_COMBINE_GROW_KEYS / 2) /* adds sl_combine_queue
                                        holds back */
#define CB_QUEUE_KEY 16              /* longest key it holds back */
/* Longest key or value: below CB_FREE, and arena sizes cannot overflow. */
#define CB_LEN_MAX (SIZE_MAX / 4 < UINT32_MAX - 1 ? SIZE_MAX / 4 \
						   : UINT32_MAX - 1)

/* A key or value: its bytes when short, else where they are. */
typedef union cb_bytes {
	unsigned char in[CB_INLINE]; /* len <= CB_INLINE: the bytes,
	                                zero-padded */
	unsigned char *out;          /* longer: the bytes in the arena */
} cb_bytes;

typedef struct cb_slot {
	uint64_t hash;          /* the key's hash, compared before the key */
	uint32_t klen;          /* key bytes; CB_FREE: the slot is free */
	uint32_t vlen;          /* value bytes */
	cb_bytes key;
	cb_bytes val;
} cb_slot;

/*
 * A count held back by sl_combine_queue, with a copy of its key: the
 * first 8 bytes of key[] are its sl__key_head8 (little-endian), as in a
 * slot.
 */
typedef struct cb_queued {
	uint64_t hash;                  /* sl_combine_hash of the key */
	size_t klen;
	unsigned char key[CB_QUEUE_KEY]; /* the key, zero-padded to 8 */
	unsigned char val[8];           /* the count, as emitted */
} cb_queued;

typedef struct cb_chunk {
	struct cb_chunk *next;  /* the chunk allocated before, or a big one */
	size_t size;            /* bytes of data[] */
	size_t used;            /* bytes of data[] handed out */
	alignas(CB_ALIGN) unsigned char data[]; /* keys and values */
} cb_chunk;

struct sl_combine {
	sl_fold_fn fold;        /* folds a value into a held one */
	void *arg;              /* first argument of fold */
	bool sum_u64;           /* fold is sl__fold_sum_u64: done inline */
	cb_slot *slots;         /* cap slots */
	size_t cap;             /* slots, a power of two */
	size_t count;           /* keys held (used slots) */
	cb_chunk *chunks;       /* the current chunk first */
	size_t next_chunk;      /* data bytes of the next regular chunk */
	size_t bytes;           /* memory held: struct, slots, chunks */
	size_t kv_bytes;        /* key and value bytes of the entries */
	uint64_t adds;          /* adds made (SL_OK), ever */
	int error;              /* first error of sl_combine_queue's adds */
	size_t watch_keys;      /* sl_combine_watch: at this count... */
	int *watch_flag;        /* ...set this to 1 */
	uintptr_t readable;     /* sl_combine_readable's lo */
	size_t nreadable;       /* keys starting at readable + [0, this) have
	                           16 readable bytes */
	size_t nqueued;         /* adds waiting in queue */
	cb_queued queue[CB_QUEUE];
};

static size_t
cb_round(size_t n)
{
	return (n + CB_ALIGN - 1) & ~(size_t)(CB_ALIGN - 1);
}

static const unsigned char *
cb_ptr(const cb_bytes *b, size_t len)
{
	return len <= CB_INLINE ? b->in : b->out;
}

/* Free slots, klen CB_FREE (all bits set); NULL when out of memory. */
static cb_slot *
cb_slots_new(size_t n)
{
	cb_slot *s = n > SIZE_MAX / sizeof(*s) ? NULL : malloc(n * sizeof(*s));

	if (s)
		memset(s, 0xff, n * sizeof(*s));
	return s;
}

uint64_t
sl__combine_hash_long(const void *key, size_t klen)
{
	return XXH3_64bits(key, klen);
}

sl_combine *
sl_combine_new(sl_fold_fn fold, void *arg)
{
	sl_combine *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->slots = cb_slots_new(CB_SLOTS_MIN);
	if (t->slots == NULL) {
		free(t);
		return NULL;
	}
	t->fold = fold;
	t->arg = arg;
	t->sum_u64 = fold == sl__fold_sum_u64;
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
		/* A chunk filled by one piece: keep filling the current one. */
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

/*
 * Stores len bytes in *b: in place when short, else in the arena (at a
 * CB_ALIGN boundary). Returns SL_OK or SL_ENOMEM.
 */
static int
cb_store(sl_combine *t, cb_bytes *b, const void *src, size_t len)
{
	if (len <= CB_INLINE) {
		memset(b->in, 0, CB_INLINE);
		if (len)
			memcpy(b->in, src, len);
		return SL_OK;
	}
	if ((b->out = cb_alloc(t, cb_round(len))) == NULL)
		return SL_ENOMEM;
	memcpy(b->out, src, len);
	return SL_OK;
}

/* The first free slot for `hash` in slots[mask + 1]. */
static cb_slot *
cb_free_slot(cb_slot *slots, size_t mask, uint64_t hash)
{
	size_t i = (size_t)hash & mask;

	while (slots[i].klen != CB_FREE)
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
	if ((ns = cb_slots_new(ncap)) == NULL)
		return SL_ENOMEM;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i].klen != CB_FREE)
			*cb_free_slot(ns, ncap - 1, t->slots[i].hash) =
				t->slots[i];
	free(t->slots);
	t->slots = ns;
	t->bytes += (ncap - t->cap) * sizeof(*ns);
	t->cap = ncap;
	return SL_OK;
}

/*
 * Are the len bytes at a and b equal? For keys longer than CB_INLINE:
 * up to 16 bytes (most words) are compared in two overlapping loads each
 * instead of a call to memcmp.
 */
static bool
cb_key_eq(const unsigned char *a, const unsigned char *b, size_t len)
{
	uint64_t a0, a1, b0, b1;

	if (len > 16)
		return memcmp(a, b, len) == 0;
	memcpy(&a0, a, 8);
	memcpy(&a1, a + len - 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + len - 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Is slot s (of klen bytes) the key whose in-slot image is pad8? */
static bool
cb_slot_is(const cb_slot *s, const void *key, size_t klen, uint64_t pad8)
{
	uint64_t held;

	if (klen > CB_INLINE)
		return cb_key_eq(s->key.out, key, klen);
	memcpy(&held, s->key.in, 8);
	return held == pad8;
}

/* sl__fold_sum_u64 of 8-byte values, inlined in sl_combine_add. */
static inline int
cb_sum_u64(void *acc, const void *val)
{
	uint64_t a, v;

	memcpy(&a, acc, 8);
	memcpy(&v, val, 8);
	if (__builtin_add_overflow(le64toh(a), le64toh(v), &a))
		return SL_EOVERFLOW;
	a = htole64(a);
	memcpy(acc, &a, 8);
	return SL_OK;
}

int
sl__fold_sum_u64(void *arg, void *acc, const void *val, size_t len)
{
	return len == 8 ? cb_sum_u64(acc, val) : SL_EINVAL;
}

/*
 * Folds val into the value held in slot s (of the same length) with a
 * fold other than sl__fold_sum_u64.
 */
static int
cb_fold(sl_combine *t, cb_slot *s, const void *val, size_t vlen)
{
	union {
		max_align_t align;
		unsigned char in[CB_INLINE];
	} acc;
	int rv;

	if (vlen > CB_INLINE)
		return t->fold(t->arg, s->val.out, val, vlen);
	/* The slot's value is only 8-byte aligned: fold an aligned copy. */
	memcpy(acc.in, s->val.in, CB_INLINE);
	rv = t->fold(t->arg, acc.in, val, vlen);
	memcpy(s->val.in, acc.in, CB_INLINE);
	return rv;
}

/*
 * Inserts a key the table does not hold. Out of line, finding its free
 * slot again: a new key is rare next to hits, and the hit path then has
 * no call to keep registers across.
 */
static __attribute__((noinline)) int
cb_insert(sl_combine *t, uint64_t hash, const void *key, size_t klen,
	  const void *val, size_t vlen)
{
	cb_slot *s;

	if (klen > CB_LEN_MAX || vlen > CB_LEN_MAX)
		return SL_ETOOBIG;
	if (t->sum_u64 && vlen != 8)
		return SL_EINVAL;
	if ((t->count + 1) * 4 > t->cap * 3 && cb_grow(t) != SL_OK)
		return SL_ENOMEM;
	s = cb_free_slot(t->slots, t->cap - 1, hash);
	if (cb_store(t, &s->key, key, klen) != SL_OK ||
	    cb_store(t, &s->val, val, vlen) != SL_OK)
		return SL_ENOMEM; /* the slot stays free; arena bytes stay */
	s->hash = hash;
	s->klen = (uint32_t)klen;
	s->vlen = (uint32_t)vlen;
	if (++t->count == t->watch_keys)
		*t->watch_flag = 1;
	t->kv_bytes += klen + vlen;
	return SL_OK;
}

/*
 * sl_combine_add of a key whose sl__key_head8 is `head`. A key longer
 * than CB_LEN_MAX matches no slot (klen is 32 bits there) and is refused
 * by cb_insert; a held key's length is valid, so a hit checks only that
 * the value's length is the held one's. `sum`: t->sum_u64, or true where
 * the caller knows it is, so that the fold call drops out of its loop.
 */
static inline __attribute__((always_inline)) int
cb_add(sl_combine *t, uint64_t hash, uint64_t head, const void *key,
       size_t klen, const void *val, size_t vlen, bool sum)
{
	size_t mask = t->cap - 1, i = (size_t)hash & mask;
	uint64_t pad8 = htole64(head); /* as memcpy'd to a slot */
	cb_slot *s;

	for (; (s = &t->slots[i])->klen != CB_FREE; i = (i + 1) & mask) {
		if (s->hash != hash || s->klen != klen ||
		    !cb_slot_is(s, key, klen, pad8))
			continue;
		if (s->vlen != vlen)
			return vlen > CB_LEN_MAX ? SL_ETOOBIG : SL_EINVAL;
		if (sum)
			return cb_sum_u64(s->val.in, val);
		return cb_fold(t, s, val, vlen);
	}
	return cb_insert(t, hash, key, klen, val, vlen);
}

int
sl_combine_add(sl_combine *t, uint64_t hash, const void *key, size_t klen,
	       const void *val, size_t vlen)
{
	int rv = cb_add(t, hash, sl__key_head8(key, klen), key, klen, val,
			vlen, t->sum_u64);

	if (rv == SL_OK)
		t->adds++;
	return rv;
}

int
sl_combine_flush(sl_combine *t)
{
	size_t i, n = t->nqueued;
	int rv = SL_OK;

	t->nqueued = 0;
	if (t->error != SL_OK)
		return t->error;
	for (i = 0; i < n; i++) {
		const cb_queued *q = &t->queue[i];
		uint64_t head;

		memcpy(&head, q->key, 8);
		rv = cb_add(t, q->hash, le64toh(head), q->key, q->klen, q->val,
			    8, true); /* only counts are queued */
		if (rv != SL_OK) {
			t->error = rv;
			break;
		}
	}
	t->adds += i;
	return rv;
}

/*
 * The adds sl_combine_queue makes at once, after the queue's: keys of
 * more than 16 bytes, values other than a count.
 */
static __attribute__((noinline)) int
cb_add_now(sl_combine *t, const void *key, size_t klen, const void *val,
	   size_t vlen)
{
	int rv = sl_combine_flush(t);

	if (rv == SL_OK)
		rv = sl_combine_add(t, sl_combine_hash(key, klen), key, klen,
				    val, vlen);
	return t->error = rv;
}

void
sl_combine_readable(sl_combine *t, const void *lo, const void *hi)
{
	size_t n = (size_t)((const char *)hi - (const char *)lo);

	t->readable = (uintptr_t)lo;
	t->nreadable = n >= CB_QUEUE_KEY ? n - CB_QUEUE_KEY + 1 : 0;
}

/*
 * Queues a count whose key's hash and head are computed, its bytes past
 * the 8th (if any) copied to q->key + 8 already; adds the queue when
 * full.
 */
static inline __attribute__((always_inline)) int
cb_enqueue(sl_combine *t, cb_queued *q, uint64_t hash, uint64_t head,
	   size_t klen, const void *val)
{
	q->hash = hash;
	__builtin_prefetch(&t->slots[hash & (t->cap - 1)]);
	head = htole64(head);
	memcpy(q->key, &head, 8);
	memcpy(q->val, val, 8);
	q->klen = klen;
	if (++t->nqueued == CB_QUEUE)
		return sl_combine_flush(t);
	return SL_OK;
}

/*
 * sl_combine_queue of a key outside the readable range, read byte by
 * byte as far as it goes; or an add made at once.
 */
static __attribute__((noinline)) int
cb_queue_exact(sl_combine *t, const void *key, size_t klen, const void *val,
	       size_t vlen)
{
	cb_queued *q = &t->queue[t->nqueued];
	uint64_t head;

	if (!t->sum_u64 || vlen != 8 || klen > CB_QUEUE_KEY)
		return cb_add_now(t, key, klen, val, vlen);
	head = sl__key_head8(key, klen);
	if (klen > 8)
		memcpy(q->key + klen - 8, (const unsigned char *)key + klen - 8,
		       8);
	return cb_enqueue(t, q, sl__combine_hash_short(head, key, klen), head,
			  klen, val);
}

/*
 * A key with 16 readable bytes is read as three words (its first 8
 * bytes, bytes 8 to 15, its last 8), which are then masked and selected
 * by its length: the same head and hash as the byte-exact path, without
 * a branch on the length, which a word count's keys vary unpredictably.
 */
int
sl_combine_queue(sl_combine *t, const void *key, size_t klen,
		 const void *val, size_t vlen)
{
	const unsigned char *k = key;
	cb_queued *q = &t->queue[t->nqueued];
	uint64_t w0, tail, head;
	unsigned n8 = klen < 8 ? (unsigned)klen : 8;

	if (!t->sum_u64 || vlen != 8 || klen > CB_QUEUE_KEY ||
	    (size_t)((uintptr_t)key - t->readable) >= t->nreadable)
		return cb_queue_exact(t, key, klen, val, vlen);
	memcpy(&w0, k, 8);
	memcpy(&tail, k + (klen > 8 ? klen - 8 : 0), 8);
	memcpy(q->key + 8, k + 8, 8);
	/* Two shifts of 4 * n8: a shift by 64 would be undefined. */
	head = le64toh(w0) & ~(~UINT64_C(0) << (4 * n8) << (4 * n8));
	tail = klen > 8 ? le64toh(tail) : 0;
	return cb_enqueue(t, q, sl__combine_mix(head, tail, klen), head, klen,
			  val);
}

int
sl_combine_next(const sl_combine *t, size_t *pos, uint64_t *hash,
		sl_slice *key, sl_slice *val)
{
	size_t i;

	for (i = *pos; i < t->cap; i++) {
		const cb_slot *s = &t->slots[i];

		if (s->klen == CB_FREE)
			continue;
		*hash = s->hash;
		key->ptr = (const char *)cb_ptr(&s->key, s->klen);
		key->len = s->klen;
		val->ptr = (const char *)cb_ptr(&s->val, s->vlen);
		val->len = s->vlen;
		*pos = i + 1;
		return 1;
	}
	*pos = t->cap;
	return 0;
}

uint64_t
sl_combine_adds(const sl_combine *t)
{
	return t->adds;
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

size_t
sl_combine_grow_bytes(const sl_combine *t)
{
	size_t cap = t->cap, grow = sizeof(cb_chunk) + t->next_chunk;

	while ((t->count + SL_COMBINE_GROW_KEYS) * 4 > cap * 3)
		cap *= 2;
	/* The last doubling holds the old array and the new one. */
	if (cap > t->cap)
		grow += (cap + cap / 2 - t->cap) * sizeof(*t->slots);
	return grow;
}

void
sl_combine_watch(sl_combine *t, size_t keys, int *flag)
{
	t->watch_keys = keys > t->count ? keys : 0;
	t->watch_flag = flag;
}

size_t
sl_combine_kv_bytes(const sl_combine *t)
{
	return t->kv_bytes;
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
