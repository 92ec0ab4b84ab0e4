/*
 * time.c - event times and durations (sluice.h): ISO 8601 and epoch
 * parsing, ISO 8601 formatting, "10s"-style durations. Calendar
 * arithmetic on the proleptic Gregorian calendar, by hand: no time zone
 * database and no locale are involved (gmtime/timegm would do the same
 * for UTC but not say when a field is out of range).
 */
#include "sl_impl.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_DAY 86400000LL

/* Days from 1970-01-01 to y-m-d (m 1..12), for any year of 1..9999. */
static int64_t
time_days(int64_t y, int m, int d)
{
	/* Years that start in March put the leap day at a year's end. */
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of time_days. */
static void
time_civil(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
time_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* n digits at *p (advanced), as a number; false when they are not. */
static bool
time_digits(const char **p, const char *end, int n, int *out)
{
	int v = 0;

	if (end - *p < n)
		return false;
	while (n--) {
		if (**p < '0' || **p > '9')
			return false;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return true;
}

static int
time_iso(const char *p, const char *end, int64_t *ms)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30,
				     31, 31, 30, 31, 30, 31 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, zh = 0, zm = 0, k;
	int sign = 0;
	int64_t t;

	if (!time_digits(&p, end, 4, &y) || p == end || *p++ != '-' ||
	    !time_digits(&p, end, 2, &mo) || p == end || *p++ != '-' ||
	    !time_digits(&p, end, 2, &d))
		return SL_EINVAL;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && time_leap(y)))
		return SL_EINVAL;
	if (p < end && (*p == 'T' || *p == ' ')) {
		p++;
		if (!time_digits(&p, end, 2, &h) || p == end || *p++ != ':' ||
		    !time_digits(&p, end, 2, &mi))
			return SL_EINVAL;
		if (p < end && *p == ':') {
			p++;
			if (!time_digits(&p, end, 2, &sec))
				return SL_EINVAL;
			if (p < end && (*p == '.' || *p == ',')) {
				p++;
				if (p == end || *p < '0' || *p > '9')
					return SL_EINVAL;
				for (k = 0; p < end && *p >= '0' && *p <= '9';
				     p++, k++)
					if (k < 3)
						frac = frac * 10 + (*p - '0');
				for (; k < 3; k++)
					frac *= 10;
			}
		}
		/* 24:00 and leap seconds are not taken */
		if (h > 23 || mi > 59 || sec > 59)
			return SL_EINVAL;
		if (p < end && *p == 'Z') {
			p++;
		} else if (p < end && (*p == '+' || *p == '-')) {
			sign = *p++ == '-' ? -1 : 1;
			if (!time_digits(&p, end, 2, &zh))
				return SL_EINVAL;
			if (p < end && *p == ':')
				p++;
			if (p < end && !time_digits(&p, end, 2, &zm))
				return SL_EINVAL;
			if (zh > 23 || zm > 59)
				return SL_EINVAL;
		}
	}
	if (p != end)
		return SL_EINVAL;
	t = time_days(y, mo, d) * MS_PER_DAY +
	    ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + frac -
	    (int64_t)sign * ((int64_t)zh * 3600 + zm * 60) * 1000;
	if (t < SL_TIME_MIN_MS || t > SL_TIME_MAX_MS)
		return SL_EOVERFLOW;
	*ms = t;
	return SL_OK;
}

/* [+-]digits[.digits] scaled by 10^3 (seconds) or 1 (ms), truncated. */
static int
time_epoch(const char *p, const char *end, bool seconds, int64_t *ms)
{
	int64_t v = 0, limit = SL_TIME_MAX_MS;
	int neg = 0, k, digits = 0;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
		v = v * 10 + (*p - '0');
		if (v > (seconds ? limit / 1000 + 1 : limit + 1))
			return SL_EOVERFLOW;
	}
	if (digits == 0)
		return SL_EINVAL;
	if (seconds) {
		v *= 1000;
		if (p < end && *p == '.') {
			p++;
			if (p == end)
				return SL_EINVAL;
			for (k = 0; p < end && *p >= '0' && *p <= '9'; p++, k++)
				if (k < 3)
					v += (*p - '0') * (k == 0 ? 100
							   : k == 1 ? 10 : 1);
		}
	}
	if (p != end)
		return SL_EINVAL;
	v = neg ? -v : v;
	if (v < SL_TIME_MIN_MS || v > SL_TIME_MAX_MS)
		return SL_EOVERFLOW;
	*ms = v;
	return SL_OK;
}

int
sl_time_parse(const char *s, size_t len, sl_time_unit unit, int64_t *ms)
{
	const char *end = s + len;

	if (unit == SL_TIME_MS)
		return time_epoch(s, end, false, ms);
	/* ISO 8601 has its '-' after four digits; an epoch only first */
	if (len > 4 && s[4] == '-' && s[0] >= '0' && s[0] <= '9')
		return time_iso(s, end, ms);
	return time_epoch(s, end, true, ms);
}

size_t
sl_time_format(int64_t ms, char buf[SL_TIME_STR_MAX])
{
	int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY, y;
	int m, d, n;

	if (rem < 0) {
		rem += MS_PER_DAY;
		days--;
	}
	time_civil(days, &y, &m, &d);
	n = snprintf(buf, SL_TIME_STR_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d",
		     (long long)y, m, d, (int)(rem / 3600000),
		     (int)(rem / 60000 % 60), (int)(rem / 1000 % 60));
	if (rem % 1000)
		n += snprintf(buf + n, SL_TIME_STR_MAX - (size_t)n, ".%03d",
			      (int)(rem % 1000));
	n += snprintf(buf + n, SL_TIME_STR_MAX - (size_t)n, "Z");
	return (size_t)n;
}

int
sl_duration_parse(const char *s, int64_t *ms)
{
	static const struct {
		const char *suffix;
		int64_t ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		      { "h", 3600000 }, { "d", MS_PER_DAY } };
	int64_t v = 0;
	size_t i;

	if (*s < '0' || *s > '9')
		return SL_EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (*s - '0');
		if (v > 10000 * MS_PER_DAY)
			return SL_EOVERFLOW;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s, units[i].suffix) != 0)
			continue;
		if (v == 0)
			return SL_EINVAL;
		if (v > 10000 * MS_PER_DAY / units[i].ms)
			return SL_EOVERFLOW;
		*ms = v * units[i].ms;
		return SL_OK;
	}
	return SL_EINVAL;
}
