/*
 * decimal.c - exact decimals (sl_decimal) and the fixed 8-byte integers of
 * sluice.h.
 *
 * A decimal is mant / 10^scale with a signed 128-bit mantissa and a scale of
 * 0..SL_DEC_MAX_SCALE. Every result keeps its mantissa within
 * +-(10^38 - 1), SQL's DECIMAL(38) range, so that any value formats in
 * SL_DEC_STR_MAX bytes and every rescaling can be checked before it is
 * done: an operation that would leave that range returns SL_EOVERFLOW and
 * leaves its output untouched; nothing ever wraps.
 *
 * Parsing accepts exactly: an optional sign, then digits with an optional
 * fraction: "12", "-3.50", "+7", "1." (scale 0), ".5" and "-.5" (scale 1).
 * At least one digit; at most SL_DEC_MAX_SCALE digits after the point;
 * leading zeros are allowed ("007"). The scale is the number of fraction
 * digits as written, so "1.50" keeps scale 2. Anything else is SL_EINVAL:
 * empty, blanks, exponents, "inf", "0x10", "1,000", "--1", "1.2.3". A number
 * of that form whose mantissa is beyond 10^38 - 1 is SL_EOVERFLOW.
 *
 * All functions are pure (no allocation, no state) and thread-safe; the
 * cost of each is a few 128-bit multiplications or divisions.
 */
#include "sl_impl.h"

#include <endian.h>

typedef unsigned __int128 dec_u128;

/* 10^38 - 1, the largest mantissa a result may have. */
#define DEC_MAX_MANT                                                          \
	((sl_i128)(((dec_u128)5421010862427522170ULL << 64) |                 \
		   687399551400673279ULL))

/* 10^0 .. 10^18 fit in 64 bits; enough for every rescaling by a scale
 * difference and for the 6 decimals of an average. */
static const uint64_t dec_pow10[SL_DEC_MAX_SCALE + 1] = {
	1ULL,
	10ULL,
	100ULL,
	1000ULL,
	10000ULL,
	100000ULL,
	1000000ULL,
	10000000ULL,
	100000000ULL,
	1000000000ULL,
	10000000000ULL,
	100000000000ULL,
	1000000000000ULL,
	10000000000000ULL,
	100000000000000ULL,
	1000000000000000ULL,
	10000000000000000ULL,
	100000000000000000ULL,
	1000000000000000000ULL,
};

#define DEC_AVG_SCALE 6

/* Hot in every combine: a plain copy where the host is little-endian
 * (htole64 and le64toh are then no-ops), as in shuffle/combine.c. */
void
sl_u64_put(void *dst, uint64_t v)
{
	v = htole64(v);
	memcpy(dst, &v, 8);
}

uint64_t
sl_u64_get(const void *src)
{
	uint64_t v;

	memcpy(&v, src, 8);
	return le64toh(v);
}

static int
dec_in_range(sl_i128 m)
{
	return m <= DEC_MAX_MANT && m >= -DEC_MAX_MANT;
}

/* *m * 10^k within the decimal range, else SL_EOVERFLOW. */
static int
dec_rescale(sl_i128 *m, unsigned k)
{
	sl_i128 limit;

	if (k == 0) /* the common case, without a 128-bit division */
		return SL_OK;
	limit = DEC_MAX_MANT / (sl_i128)dec_pow10[k];
	if (*m > limit || *m < -limit)
		return SL_EOVERFLOW;
	*m *= (sl_i128)dec_pow10[k];
	return SL_OK;
}

int
sl_dec_parse(const char *s, size_t len, sl_decimal *out)
{
	const char *p = s, *end = s + len;
	dec_u128 mag = 0;
	size_t digits = 0, frac = 0;
	int neg = 0, point = 0, big = 0;

	if (p < end && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	for (; p < end; p++) {
		if (*p == '.' && !point) {
			point = 1;
			continue;
		}
		if (*p < '0' || *p > '9')
			return SL_EINVAL;
		digits++;
		frac += point;
		/* mag <= (10^38-1)/10 keeps mag*10+9 <= 10^38-1. Keep reading
		 * after an overflow: 50 digits and an "x" is still not a
		 * number. */
		if (mag > (dec_u128)DEC_MAX_MANT / 10)
			big = 1;
		else
			mag = mag * 10 + (dec_u128)(*p - '0');
	}
	if (digits == 0 || frac > SL_DEC_MAX_SCALE)
		return SL_EINVAL;
	if (big)
		return SL_EOVERFLOW;
	out->mant = neg ? -(sl_i128)mag : (sl_i128)mag;
	out->scale = (uint8_t)frac;
	return SL_OK;
}

int
sl_dec_add(sl_decimal *acc, sl_decimal v)
{
	sl_i128 a = acc->mant, b = v.mant;
	unsigned scale;

	if (acc->scale > SL_DEC_MAX_SCALE || v.scale > SL_DEC_MAX_SCALE)
		return SL_EINVAL;
	scale = acc->scale > v.scale ? acc->scale : v.scale;
	if (dec_rescale(&a, scale - acc->scale) != SL_OK ||
	    dec_rescale(&b, scale - v.scale) != SL_OK)
		return SL_EOVERFLOW;
	/* 2 * (10^38 - 1) is beyond int128: check the addition itself too. */
	if (__builtin_add_overflow(a, b, &a) || !dec_in_range(a))
		return SL_EOVERFLOW;
	acc->mant = a;
	acc->scale = (uint8_t)scale;
	return SL_OK;
}

int
sl_dec_mul(sl_decimal *acc, sl_decimal v)
{
	sl_i128 m;
	unsigned scale = (unsigned)acc->scale + v.scale;

	if (acc->scale > SL_DEC_MAX_SCALE || v.scale > SL_DEC_MAX_SCALE)
		return SL_EINVAL;
	if (__builtin_mul_overflow(acc->mant, v.mant, &m) || !dec_in_range(m))
		return SL_EOVERFLOW;
	/* Trailing zeros past the largest scale go: the value stays exact. */
	while (scale > SL_DEC_MAX_SCALE && m % 10 == 0) {
		m /= 10;
		scale--;
	}
	if (scale > SL_DEC_MAX_SCALE)
		return SL_EOVERFLOW;
	acc->mant = m;
	acc->scale = (uint8_t)scale;
	return SL_OK;
}

int
sl_dec_cmp(sl_decimal a, sl_decimal b)
{
	sl_i128 x = a.mant, y = b.mant;
	sl_i128 *low = a.scale < b.scale ? &x : &y;
	unsigned diff = a.scale < b.scale ? b.scale - a.scale
					  : a.scale - b.scale;

	if (diff == 0) /* the common case */
		return (x > y) - (x < y);
	if (diff > SL_DEC_MAX_SCALE)
		diff = SL_DEC_MAX_SCALE;
	/* When the rescaled mantissa leaves int128 its magnitude exceeds any
	 * mantissa, so its sign alone decides. */
	if (__builtin_mul_overflow(*low, (sl_i128)dec_pow10[diff], low)) {
		int sign = (low == &x ? a.mant : b.mant) < 0 ? -1 : 1;

		return low == &x ? sign : -sign;
	}
	return (x > y) - (x < y);
}

size_t
sl_dec_format(sl_decimal d, char buf[SL_DEC_STR_MAX])
{
	char digits[SL_DEC_STR_MAX];
	dec_u128 mag = d.mant < 0 ? -(dec_u128)d.mant : (dec_u128)d.mant;
	size_t n = 0, len = 0, i;
	/* An invalid scale is clamped so that buf's bound always holds. */
	size_t scale = d.scale > SL_DEC_MAX_SCALE ? SL_DEC_MAX_SCALE : d.scale;

	do {
		digits[n++] = (char)('0' + (int)(mag % 10));
		mag /= 10;
	} while (mag && n < sizeof(digits));
	while (n <= scale)  /* at least one digit before the point */
		digits[n++] = '0';
	if (d.mant < 0)
		buf[len++] = '-';
	for (i = n; i > 0; i--) {
		if (i == scale)
			buf[len++] = '.';
		buf[len++] = digits[i - 1];
	}
	buf[len] = '\0';
	return len;
}

int
sl_dec_avg(sl_decimal sum, uint64_t count, char buf[SL_DEC_STR_MAX],
	   size_t *len)
{
	dec_u128 mag, div, q, r, frac = 0;
	char digits[SL_DEC_STR_MAX];
	size_t n = 0, at = 0;
	int i;

	if (count == 0 || sum.scale > SL_DEC_MAX_SCALE)
		return SL_EINVAL;
	/* avg = mant / (10^scale * count): at most 10^18 * 2^64 < 2^124. */
	mag = sum.mant < 0 ? -(dec_u128)sum.mant : (dec_u128)sum.mant;
	div = (dec_u128)dec_pow10[sum.scale] * count;
	q = mag / div;
	r = mag % div;
	/* Long division for the decimals: r < div < 2^124, so r * 10 fits. */
	for (i = 0; i < DEC_AVG_SCALE; i++) {
		r *= 10;
		frac = frac * 10 + r / div;
		r %= div;
	}
	if (r >= div - r)  /* remainder >= div/2: round half away from zero */
		frac++;
	if (frac == dec_pow10[DEC_AVG_SCALE]) {
		q++;  /* |avg| <= |sum| < 10^38: q stays within 38 digits */
		frac = 0;
	}
	/* The text is made here, not through an sl_decimal: 38 digits
	 * before the point and 6 after do not fit its mantissa. */
	if (sum.mant < 0 && (q || frac))
		buf[at++] = '-';
	do {
		digits[n++] = (char)('0' + (int)(q % 10));
		q /= 10;
	} while (q);
	while (n > 0)
		buf[at++] = digits[--n];
	buf[at++] = '.';
	for (i = DEC_AVG_SCALE - 1; i >= 0; i--) {
		buf[at + (size_t)i] = (char)('0' + (int)(frac % 10));
		frac /= 10;
	}
	at += DEC_AVG_SCALE;
	buf[at] = '\0';
	*len = at;
	return SL_OK;
}
