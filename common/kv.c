/*
 * kv.c - the record encoding of shuffle segments; see kv.h.
 */
#include "sl_impl.h"

#include <xxhash.h>

size_t
sl_varint_put(unsigned char *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

size_t
sl_varint_get(const unsigned char *p, const unsigned char *end, uint64_t *v)
{
	uint64_t r = 0;
	size_t n;

	for (n = 0; n < SL_VARINT_MAX && p + n < end; n++) {
		uint64_t b = p[n] & 0x7f;

		/* The tenth byte may carry only the top bit of 64. */
		if (n == 9 && b > 1)
			return 0;
		r |= b << (7 * n);
		if (!(p[n] & 0x80)) {
			*v = r;
			return n + 1;
		}
	}
	return 0;
}

int
sl_kv_append(sl_buf *b, const void *key, size_t klen, const void *val,
	     size_t vlen)
{
	unsigned char hdr[2 * SL_VARINT_MAX];
	size_t h;

	h = sl_varint_put(hdr, klen);
	h += sl_varint_put(hdr + h, vlen);
	if (sl_buf_grow(b, h + klen + vlen) != SL_OK)
		return SL_ENOMEM;
	memcpy(b->buf + b->len, hdr, h);
	if (klen)
		memcpy(b->buf + b->len + h, key, klen);
	if (vlen)
		memcpy(b->buf + b->len + h + klen, val, vlen);
	b->len += h + klen + vlen;
	b->buf[b->len] = '\0';
	return SL_OK;
}

int
sl_kv_next(const void *base, size_t len, size_t *pos, sl_slice *key,
	   sl_slice *val)
{
	const unsigned char *p, *end;
	uint64_t klen, vlen;
	size_t n;

	if (*pos >= len)
		return 0;
	p = (const unsigned char *)base + *pos;
	end = (const unsigned char *)base + len;
	if ((n = sl_varint_get(p, end, &klen)) == 0)
		return SL_EPROTO;
	p += n;
	if ((n = sl_varint_get(p, end, &vlen)) == 0)
		return SL_EPROTO;
	p += n;
	if (klen > (uint64_t)(end - p) || vlen > (uint64_t)(end - p) - klen)
		return SL_EPROTO;
	key->ptr = (const char *)p;
	key->len = (size_t)klen;
	val->ptr = (const char *)p + klen;
	val->len = (size_t)vlen;
	*pos = (size_t)(p + klen + vlen - (const unsigned char *)base);
	return 1;
}

int
sl_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

uint32_t
sl_partition_of(const void *key, size_t klen, uint32_t r)
{
	return (uint32_t)(XXH3_64bits(key, klen) % r);
}
