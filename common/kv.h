/*
 * kv.h - the encoding of key/value records in shuffle segments.
 *
 * A record is varint(klen) varint(vlen) key value, varints in LEB128
 * (7 bits a byte, low first, at most 10 bytes). A segment is records back
 * to back, sorted by key (memcmp, shorter first on a common prefix), and
 * for equal keys in input order. Decoding is for untrusted bytes: every
 * length is checked against what is left.
 */
#ifndef SL_KV_H
#define SL_KV_H

#include <stddef.h>
#include <stdint.h>

struct sl_buf;

#define SL_VARINT_MAX 10

/* Writes v at p (room for SL_VARINT_MAX bytes); returns bytes written. */
size_t sl_varint_put(unsigned char *p, uint64_t v);
/* Bytes sl_varint_put() writes for v: the shortest varint, 1 to 10. */
static inline size_t
sl_varint_len(uint64_t v)
{
	return v < 0x80 ? 1 : (size_t)(70 - __builtin_clzll(v)) / 7;
}

/* Reads a varint from [p, end); returns bytes read, 0 if malformed. */
size_t sl_varint_get(const unsigned char *p, const unsigned char *end,
		     uint64_t *v);

/* Appends one record to b. SL_OK or SL_ENOMEM. */
int sl_kv_append(struct sl_buf *b, const void *key, size_t klen,
		 const void *val, size_t vlen);

/*
 * Decodes the record at *pos in [base, base+len). On success returns 1,
 * sets key/val and advances *pos; returns 0 at the end; SL_EPROTO when
 * the bytes are not a record.
 */
int sl_kv_next(const void *base, size_t len, size_t *pos,
	       sl_slice *key, sl_slice *val);

/* memcmp order of keys, shorter first on a common prefix. */
int sl_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
