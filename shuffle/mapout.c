/*
 * mapout.c - map output: partition, combine, sort; see mapout.h.
 *
 * Records wait in parts[r], the kv encoding of partition r in emission
 * order: appended on add without combine, written out of the combine
 * table at finish with combine. Finish then sorts each part into its
 * segment with sl_kv_sort, so both cases share one sort.
 *
 * With combine, the table is keyed by sl_combine_hash (combine.h), which
 * is cheaper than XXH3; the partition's XXH3 is computed at drain, once
 * per distinct key. Without combine each record gets XXH3, which it needs
 * for its partition anyway.
 *
 * The sort (merge sort, stable) moves 24-byte entries: the first 8 key
 * bytes as a big-endian integer, zero-padded, a pointer to the key and
 * the key's length with the sizes of the record's two varints. Most
 * comparisons end at the integer; on equal integers, a key of at most 8
 * bytes is a prefix of the other and the lengths decide. Only keys longer
 * than 8 bytes with one prefix touch the records. Each record is decoded
 * once, by sl_kv_next as its entry is made (a map output counts the
 * records of each part, so no pass counts them first); only the copy
 * into the segment reads the value's length varint again. Keeping the
 * record's length in the entry instead would make it 32 bytes: 12 more
 * bytes of scratch a record, which the memory budget would count
 * (sl_mapout_peak_bytes) and a word count's spills would pay for.
 */
#include "sl_impl.h"

#include <stdlib.h>
/* Inlined, XXH3 of a short key is a few instructions instead of a call
 * into libxxhash; the values are the same. */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "shuffle/mapout.h"

#define MO_INSERTION 16 /* runs this short are insertion-sorted */

struct sl_mapout {
	uint32_t partitions;    /* R, >= 1 */
	size_t (*prefix)(void *, const void *, size_t); /* partition key,
							   or NULL */
	void *prefix_arg;       /* its first argument */
	sl_fold_fn fold;        /* NULL: no combine */
	void *arg;              /* first argument of fold */
	sl_combine *table;      /* with fold: the records; NULL until the
	                           first add after new or finish */
	sl_buf *parts;          /* R buffers: kv records of each partition */
	size_t *nrecs;          /* R counts: records in parts[r] */
	uint64_t records_in;    /* records added, ever, but those in table */
	int error;              /* first error of an add without table */
	size_t watch_keys;      /* sl_mapout_watch, for a table made later */
	int *watch_flag;
	const void *readable_lo; /* sl_mapout_readable's range, for table */
	const void *readable_hi;
};

typedef struct mo_ent {
	uint64_t prefix;        /* first 8 key bytes, big-endian, zero-padded */
	const char *key;        /* the key, in its valid kv record */
	uint64_t lens;          /* key bytes << 10 | bytes of the key's length
	                           varint << 5 | bytes of both varints */
} mo_ent;

#define MO_KLEN(e) ((size_t)((e)->lens >> 10))

static int mo_sort_records(const void *data, size_t len, size_t n,
			   sl_buf *out);

/*
 * sl_partition_of(key, klen, R) with XXH3 inlined (a call to it would
 * cost a record without combine 3 % more); one partition needs no hash.
 * The unit tests hold the two to the same partitions.
 */
static uint32_t
mo_partition(const sl_mapout *m, const void *key, size_t klen)
{
	size_t n;

	if (m->partitions == 1)
		return 0;
	if (m->prefix && (n = m->prefix(m->prefix_arg, key, klen)) < klen)
		klen = n;
	return (uint32_t)(XXH3_64bits(key, klen) % m->partitions);
}

void
sl_mapout_partition_by(sl_mapout *m,
		       size_t (*prefix)(void *arg, const void *key,
					size_t klen),
		       void *arg)
{
	m->prefix = prefix;
	m->prefix_arg = arg;
}

int
sl_mapout_new(sl_mapout **out, uint32_t partitions, sl_fold_fn fold,
	      void *arg)
{
	sl_mapout *m;
	uint32_t r;

	*out = NULL;
	if (partitions == 0)
		return SL_EINVAL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return SL_ENOMEM;
	m->parts = calloc(partitions, sizeof(*m->parts));
	m->nrecs = calloc(partitions, sizeof(*m->nrecs));
	if (m->parts == NULL || m->nrecs == NULL) {
		sl_mapout_free(m); /* partitions 0: frees only the arrays */
		return SL_ENOMEM;
	}
	for (r = 0; r < partitions; r++)
		sl_buf_init(&m->parts[r]);
	m->partitions = partitions;
	m->fold = fold;
	m->arg = arg;
	*out = m;
	return SL_OK;
}

/*
 * The add of sl_mapout_add when there is no table: without combine, the
 * record is appended to its partition; with it, the table is made first.
 */
static __attribute__((noinline)) int
mo_add_untabled(sl_mapout *m, const void *key, size_t klen, const void *val,
		size_t vlen)
{
	uint32_t r;
	int rv;

	if (m->fold) {
		if ((m->table = sl_combine_new(m->fold, m->arg)) == NULL)
			return m->error = SL_ENOMEM;
		sl_combine_readable(m->table, m->readable_lo, m->readable_hi);
		sl_combine_watch(m->table, m->watch_keys, m->watch_flag);
		return sl_combine_queue(m->table, key, klen, val, vlen);
	}
	r = mo_partition(m, key, klen);
	rv = sl_kv_append(&m->parts[r], key, klen, val, vlen);
	if (rv == SL_OK) {
		m->records_in++;
		m->nrecs[r]++;
	} else {
		m->error = rv;
	}
	return rv;
}

/*
 * The path of every word of a word count: kept to the table's add (which
 * counts the records added to it).
 */
int
sl_mapout_add(sl_mapout *m, const void *key, size_t klen, const void *val,
	      size_t vlen)
{
	if (m->table == NULL)
		return mo_add_untabled(m, key, klen, val, vlen);
	return sl_combine_queue(m->table, key, klen, val, vlen);
}

void
sl_mapout_watch(sl_mapout *m, size_t keys, int *flag)
{
	m->watch_keys = keys;
	m->watch_flag = flag;
	if (m->table)
		sl_combine_watch(m->table, sl_combine_count(m->table) + keys,
				 flag);
}

void
sl_mapout_readable(sl_mapout *m, const void *lo, const void *hi)
{
	m->readable_lo = lo;
	m->readable_hi = hi;
	if (m->table)
		sl_combine_readable(m->table, lo, hi);
}

int
sl_mapout_flush(sl_mapout *m)
{
	if (m->error != SL_OK)
		return m->error;
	return m->table ? sl_combine_flush(m->table) : SL_OK;
}

/*
 * Moves the combine table's records into their parts, frees the table.
 * The table's hashes are sl_combine_hash, not the partition's.
 */
static int
mo_drain_table(sl_mapout *m)
{
	size_t pos = 0;
	uint64_t hash;
	sl_slice key, val;
	uint32_t r;

	while (sl_combine_next(m->table, &pos, &hash, &key, &val)) {
		r = mo_partition(m, key.ptr, key.len);
		if (sl_kv_append(&m->parts[r], key.ptr, key.len, val.ptr,
				 val.len) != SL_OK)
			return SL_ENOMEM;
		m->nrecs[r]++;
	}
	m->records_in += sl_combine_adds(m->table);
	sl_combine_free(m->table);
	m->table = NULL;
	return SL_OK;
}

int
sl_mapout_finish(sl_mapout *m, sl_buf *segs)
{
	uint32_t r;
	int rv;

	if ((rv = sl_mapout_flush(m)) != SL_OK ||
	    (m->table && (rv = mo_drain_table(m)) != SL_OK))
		return rv;
	for (r = 0; r < m->partitions; r++) {
		rv = mo_sort_records(m->parts[r].buf, m->parts[r].len,
				     m->nrecs[r], &segs[r]);
		if (rv != SL_OK)
			return rv;
		sl_buf_release(&m->parts[r]);
		m->nrecs[r] = 0;
	}
	return SL_OK;
}

uint64_t
sl_mapout_records_in(const sl_mapout *m)
{
	return m->records_in + (m->table ? sl_combine_adds(m->table) : 0);
}

size_t
sl_mapout_bytes(const sl_mapout *m)
{
	size_t n = sizeof(*m) +
		   m->partitions * (sizeof(*m->parts) + sizeof(*m->nrecs));
	uint32_t r;

	if (m->table)
		n += sl_combine_bytes(m->table);
	for (r = 0; r < m->partitions; r++)
		n += m->parts[r].alloc;
	return n;
}

/*
 * Records held and their encoded bytes. A varint of a length L takes 1
 * byte, plus at most L / 64 for L >= 128: the table's keys and values
 * give an upper bound that is exact for lengths below 128.
 */
static size_t
mo_held(const sl_mapout *m, size_t *enc)
{
	size_t n, kv;
	uint32_t r;

	if (m->table) {
		n = sl_combine_count(m->table);
		kv = sl_combine_kv_bytes(m->table);
		*enc = kv + 2 * n + kv / 64;
		return n;
	}
	for (*enc = 0, n = 0, r = 0; r < m->partitions; r++) {
		*enc += m->parts[r].len;
		n += m->nrecs[r];
	}
	return n;
}

size_t
sl_mapout_out_bytes(const sl_mapout *m)
{
	size_t enc;

	mo_held(m, &enc);
	return enc;
}

size_t
sl_mapout_peak_bytes(const sl_mapout *m)
{
	size_t held = sl_mapout_bytes(m), enc, n = mo_held(m, &enc);
	size_t scratch = n * (sizeof(mo_ent) + sizeof(mo_ent) / 2);
	size_t add = held, finish;

	if (m->table) {
		add += sl_combine_grow_bytes(m->table);
		/* Drain: table and parts; sort: parts, segments, scratch. */
		finish = held + enc > 2 * enc + scratch ? held + enc
							: 2 * enc + scratch;
	} else {
		finish = held + enc + scratch;
	}
	return add > finish ? add : finish;
}

void
sl_mapout_free(sl_mapout *m)
{
	uint32_t r;

	if (m == NULL)
		return;
	sl_combine_free(m->table);
	for (r = 0; r < m->partitions; r++)
		sl_buf_release(&m->parts[r]);
	free(m->parts);
	free(m->nrecs);
	free(m);
}

/* --- sort ------------------------------------------------------------- */

/*
 * The first 8 key bytes, zero-padded, as a big-endian integer, so that
 * integer order is memcmp order: sl__key_head8 reads them little-endian
 * (byte 0 lowest), and the swap puts byte 0 highest.
 */
static inline uint64_t
mo_prefix(const void *key, size_t klen)
{
	return __builtin_bswap64(sl__key_head8(key, klen));
}

static int
mo_cmp(const mo_ent *a, const mo_ent *b)
{
	size_t la = MO_KLEN(a), lb = MO_KLEN(b);

	if (a->prefix != b->prefix)
		return a->prefix < b->prefix ? -1 : 1;
	if (la <= 8 || lb <= 8)
		return (la > lb) - (la < lb);
	return sl_key_cmp(a->key + 8, la - 8, b->key + 8, lb - 8);
}

/* Stable merge sort of a[n]; tmp has room for n / 2 entries. */
static void
mo_sort(mo_ent *a, mo_ent *tmp, size_t n)
{
	size_t h = n / 2, i, j, k;
	mo_ent x;

	if (n <= MO_INSERTION) {
		for (i = 1; i < n; i++) {
			x = a[i];
			for (j = i; j > 0 && mo_cmp(&a[j - 1], &x) > 0; j--)
				a[j] = a[j - 1];
			a[j] = x;
		}
		return;
	}
	mo_sort(a, tmp, h);
	mo_sort(a + h, tmp, n - h);
	if (mo_cmp(&a[h - 1], &a[h]) <= 0)
		return; /* already in order, common for sorted input */
	memcpy(tmp, a, h * sizeof(*a));
	/* Merge tmp[0..h) and a[h..n) into a; k never passes j. */
	for (i = 0, j = h, k = 0; i < h && j < n; k++)
		a[k] = mo_cmp(&tmp[i], &a[j]) <= 0 ? tmp[i++] : a[j++];
	memcpy(a + k, tmp + i, (h - i) * sizeof(*a));
}

/*
 * sl_kv_sort of data that should hold n records, each decoded once as its
 * entry is made. SL_EPROTO when data is not n kv records, SL_ENOMEM; out
 * unchanged then.
 */
static int
mo_sort_records(const void *data, size_t len, size_t n, sl_buf *out)
{
	const unsigned char *rec, *key;
	size_t pos = 0, at, i, hlen, klen_bytes, rlen;
	uint64_t vlen, unused;
	mo_ent *ents;
	sl_slice k, v;
	int rv = SL_OK;

	if (n == 0)
		return len == 0 ? SL_OK : SL_EPROTO; /* data may be NULL */
	if (n > SIZE_MAX / sizeof(*ents) / 2 ||
	    (ents = malloc((n + n / 2) * sizeof(*ents))) == NULL)
		return SL_ENOMEM;
	for (i = 0; i < n; i++) {
		at = pos;
		if (sl_kv_next(data, len, &pos, &k, &v) != 1) {
			rv = SL_EPROTO;
			goto out;
		}
		rec = (const unsigned char *)data + at;
		hlen = (size_t)((const unsigned char *)k.ptr - rec);
		/* Encoders write the shortest varints; a longer one (which
		 * decoders take) is measured. */
		klen_bytes = sl_varint_len(k.len);
		if (klen_bytes + sl_varint_len(v.len) != hlen)
			klen_bytes = sl_varint_get(rec, rec + hlen, &unused);
		ents[i].prefix = mo_prefix(k.ptr, k.len);
		ents[i].key = k.ptr;
		/* A key in memory is shorter than 2^54 bytes. */
		ents[i].lens = (uint64_t)k.len << 10 |
			       (uint64_t)klen_bytes << 5 | hlen;
	}
	if (pos != len) {
		rv = SL_EPROTO;
		goto out;
	}
	if (sl_buf_grow(out, len) != SL_OK) {
		rv = SL_ENOMEM;
		goto out;
	}
	mo_sort(ents, ents + n, n);
	for (i = 0; i < n; i++) {
		key = (const unsigned char *)ents[i].key;
		hlen = ents[i].lens & 31;
		rec = key - hlen;
		sl_varint_get(rec + (ents[i].lens >> 5 & 31), key, &vlen);
		rlen = hlen + MO_KLEN(&ents[i]) + (size_t)vlen;
		memcpy(out->buf + out->len, rec, rlen);
		out->len += rlen;
	}
	out->buf[out->len] = '\0';
out:
	free(ents);
	return rv;
}

int
sl_kv_sort(const void *data, size_t len, sl_buf *out)
{
	size_t pos = 0, n = 0;
	sl_slice key, val;
	int rv;

	/* The count sizes the entries before any is made; a map output
	 * knows its counts and skips this pass. */
	while ((rv = sl_kv_next(data, len, &pos, &key, &val)) == 1)
		n++;
	if (rv < 0)
		return rv;
	return mo_sort_records(data, len, n, out);
}
