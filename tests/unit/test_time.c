/*
 * test_time.c - event times and durations (common/time.c), checked
 * against libc's timegm/gmtime_r as the independent reference.
 */
#define _DEFAULT_SOURCE /* timegm */
#include "sl_impl.h"

#include <time.h>

#include "unit.h"

static int64_t
parse_ok(const char *s, sl_time_unit unit)
{
	int64_t ms = 0;
	int rv = sl_time_parse(s, strlen(s), unit, &ms);

	if (rv != SL_OK)
		fprintf(stderr, "'%s': %s\n", s, sl_strerror(rv));
	CU_ASSERT(rv == SL_OK);
	return ms;
}

static void
parse_bad(const char *s, int want)
{
	int64_t ms;

	ASSERT_EQ_INT(sl_time_parse(s, strlen(s), SL_TIME_AUTO, &ms), want);
}

static void
test_iso_times_in_every_form_parse_to_utc_ms(void)
{
	ASSERT_EQ_INT(parse_ok("1970-01-01", SL_TIME_AUTO), 0);
	ASSERT_EQ_INT(parse_ok("2026-12-03T14:00:00Z", SL_TIME_AUTO),
		      1796306400000LL);
	ASSERT_EQ_INT(parse_ok("2026-12-03 14:00:00", SL_TIME_AUTO),
		      1796306400000LL);
	ASSERT_EQ_INT(parse_ok("2026-12-03T14:00", SL_TIME_AUTO),
		      1796306400000LL);
	ASSERT_EQ_INT(parse_ok("2026-12-03T15:30:00+01:30", SL_TIME_AUTO),
		      1796306400000LL);
	ASSERT_EQ_INT(parse_ok("2026-12-03T12:00:00-0200", SL_TIME_AUTO),
		      1796306400000LL);
	ASSERT_EQ_INT(parse_ok("2026-12-03T16:00:00+02", SL_TIME_AUTO),
		      1796306400000LL);
	/* fractions: ms kept, the rest truncated */
	ASSERT_EQ_INT(parse_ok("1970-01-01T00:00:01.5Z", SL_TIME_AUTO), 1500);
	ASSERT_EQ_INT(parse_ok("1970-01-01T00:00:01.123999Z", SL_TIME_AUTO),
		      1123);
	ASSERT_EQ_INT(parse_ok("1969-12-31T23:59:59.999Z", SL_TIME_AUTO), -1);
	ASSERT_EQ_INT(parse_ok("2024-02-29", SL_TIME_AUTO),
		      1709164800000LL);
	ASSERT_EQ_INT(parse_ok("0001-01-01T00:00:00Z", SL_TIME_AUTO),
		      SL_TIME_MIN_MS);
	ASSERT_EQ_INT(parse_ok("9999-12-31T23:59:59.999Z", SL_TIME_AUTO),
		      SL_TIME_MAX_MS);
}

static void
test_epoch_seconds_and_ms_parse(void)
{
	ASSERT_EQ_INT(parse_ok("1700000000", SL_TIME_AUTO), 1700000000000LL);
	ASSERT_EQ_INT(parse_ok("1700000000.25", SL_TIME_AUTO),
		      1700000000250LL);
	ASSERT_EQ_INT(parse_ok("-1.5", SL_TIME_AUTO), -1500);
	ASSERT_EQ_INT(parse_ok("1700000000123", SL_TIME_MS), 1700000000123LL);
	ASSERT_EQ_INT(parse_ok("0", SL_TIME_MS), 0);
}

static void
test_bad_and_out_of_range_times_are_refused(void)
{
	int64_t ms;

	parse_bad("", SL_EINVAL);
	parse_bad("yesterday", SL_EINVAL);
	parse_bad("2023-02-29", SL_EINVAL); /* not a leap year */
	parse_bad("1900-02-29", SL_EINVAL);
	parse_bad("2026-13-01", SL_EINVAL);
	parse_bad("2026-04-31", SL_EINVAL);
	parse_bad("2026-12-03T24:00:00Z", SL_EINVAL);
	parse_bad("2026-12-03T12:60", SL_EINVAL);
	parse_bad("2026-12-03T12:00:00+25:00", SL_EINVAL);
	parse_bad("2026-12-03T12:00:00Zjunk", SL_EINVAL);
	parse_bad("2026-12-03T", SL_EINVAL);
	parse_bad("0000-01-01", SL_EINVAL);
	parse_bad("1700000000.", SL_EINVAL);
	parse_bad("17e8", SL_EINVAL);
	parse_bad("1e999999999999999999999999", SL_EINVAL);
	parse_bad("99999999999999999999999", SL_EOVERFLOW);
	parse_bad("253402300800", SL_EOVERFLOW); /* the year 10000 */
	parse_bad("-62135596801", SL_EOVERFLOW); /* before the year 1 */
	ASSERT_EQ_INT(sl_time_parse("1.5", 3, SL_TIME_MS, &ms), SL_EINVAL);
}

static void
test_times_match_libc_both_ways_across_the_range(void)
{
	uint64_t x = 88172645463325252ull;
	char buf[SL_TIME_STR_MAX], want[64];
	int i;

	for (i = 0; i < 20000; i++) {
		struct tm tm;
		time_t t;
		int64_t ms, back;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* seconds from the year 1 to 9999 */
		t = (time_t)(x % (uint64_t)(253402300799LL + 62135596800LL)) -
		    62135596800LL;
		ms = (int64_t)t * 1000 + (int64_t)(x >> 40) % 1000 * (i % 2);
		CU_ASSERT_FATAL(gmtime_r(&t, &tm) != NULL);
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (ms % 1000)
			snprintf(want + strlen(want), sizeof(want) - strlen(want),
				 ".%03d", (int)(ms % 1000 + 1000) % 1000);
		strcat(want, "Z");
		sl_time_format(ms, buf);
		if (strcmp(buf, want) != 0) {
			ASSERT_EQ_STR(buf, want);
			return;
		}
		CU_ASSERT_FATAL(sl_time_parse(buf, strlen(buf), SL_TIME_AUTO,
					      &back) == SL_OK);
		if (back != ms) {
			ASSERT_EQ_INT(back, ms);
			return;
		}
		ASSERT_EQ_INT(timegm(&tm), t);
	}
}

static void
test_durations_parse_with_their_units(void)
{
	int64_t ms;

	ASSERT_EQ_INT(sl_duration_parse("500ms", &ms), SL_OK);
	ASSERT_EQ_INT(ms, 500);
	ASSERT_EQ_INT(sl_duration_parse("10s", &ms), SL_OK);
	ASSERT_EQ_INT(ms, 10000);
	ASSERT_EQ_INT(sl_duration_parse("5m", &ms), SL_OK);
	ASSERT_EQ_INT(ms, 300000);
	ASSERT_EQ_INT(sl_duration_parse("2h", &ms), SL_OK);
	ASSERT_EQ_INT(ms, 7200000);
	ASSERT_EQ_INT(sl_duration_parse("1d", &ms), SL_OK);
	ASSERT_EQ_INT(ms, 86400000);
	ASSERT_EQ_INT(sl_duration_parse("0s", &ms), SL_EINVAL);
	ASSERT_EQ_INT(sl_duration_parse("10", &ms), SL_EINVAL);
	ASSERT_EQ_INT(sl_duration_parse("s", &ms), SL_EINVAL);
	ASSERT_EQ_INT(sl_duration_parse("-1s", &ms), SL_EINVAL);
	ASSERT_EQ_INT(sl_duration_parse("1.5s", &ms), SL_EINVAL);
	ASSERT_EQ_INT(sl_duration_parse("10 s", &ms), SL_EINVAL);
	ASSERT_EQ_INT(sl_duration_parse("10001d", &ms), SL_EOVERFLOW);
	ASSERT_EQ_INT(sl_duration_parse("99999999999999999999s", &ms),
		      SL_EOVERFLOW);
}

static const unit_case cases[] = {
	{ "ISO times in every form parse to UTC ms",
	  test_iso_times_in_every_form_parse_to_utc_ms },
	{ "epoch seconds and ms parse", test_epoch_seconds_and_ms_parse },
	{ "bad and out-of-range times are refused",
	  test_bad_and_out_of_range_times_are_refused },
	{ "times match libc both ways across the range",
	  test_times_match_libc_both_ways_across_the_range },
	{ "durations parse with their units",
	  test_durations_parse_with_their_units },
	{ NULL, NULL }
};

UNIT_MAIN("time", cases)
