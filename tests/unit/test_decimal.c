/*
 * test_decimal.c - exact decimals and 8-byte integers (common/decimal.c).
 *
 * Expected values were worked out by hand and checked with Python's
 * decimal module (ROUND_HALF_UP, which rounds half away from zero), never
 * with the code under test.
 */
#include "sl_impl.h"

#include "tests/unit/unit.h"

/* A decimal from a string the test knows to be valid. */
static sl_decimal
dec(const char *s)
{
	sl_decimal d = { 0, 0 };

	ASSERT_EQ_INT(sl_dec_parse(s, strlen(s), &d), SL_OK);
	return d;
}

static const char *
fmt(sl_decimal d)
{
	static char buf[SL_DEC_STR_MAX];
	size_t n = sl_dec_format(d, buf);

	ASSERT_EQ_INT(n, strlen(buf));
	return buf;
}

static sl_decimal
mk(sl_i128 mant, unsigned scale)
{
	sl_decimal d = { mant, (uint8_t)scale };

	return d;
}

/* 10^38 - 1, written out independently of decimal.c's constant. */
static sl_i128
max_mant(void)
{
	sl_i128 m = 0;
	int i;

	for (i = 0; i < 38; i++)
		m = m * 10 + 9;
	return m;
}

static void
test_canonical_strings_format_back_unchanged(void)
{
	static const char *const cases[] = {
		"0", "12", "-7", "0.05", "-0.50", "123.456", "1.50",
		"0.000000000000000001", "-0.000000000000000001",
		"1.000000000000000000",
		"99999999999999999999999999999999999999",
		"-99999999999999999999999999999999999999",
		"99999999999999999999.999999999999999999",
		"-99999999999999999999.999999999999999999",
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++)
		ASSERT_EQ_STR(fmt(dec(cases[i])), cases[i]);
}

static void
test_other_accepted_forms_format_canonically(void)
{
	static const char *const cases[][2] = {
		{ "+7", "7" },      { ".5", "0.5" },     { "-.5", "-0.5" },
		{ "+.25", "0.25" }, { "1.", "1" },       { "-3.", "-3" },
		{ "007.10", "7.10" }, { "-0", "0" },     { "-0.00", "0.00" },
		{ "+0.0", "0.0" },
		{ "0000000000000000000000000000000000000000000001", "1" },
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++)
		ASSERT_EQ_STR(fmt(dec(cases[i][0])), cases[i][1]);
}

static void
test_parse_keeps_the_written_scale(void)
{
	sl_decimal d = dec("1.50");

	CU_ASSERT(d.mant == 150);
	ASSERT_EQ_INT(d.scale, 2);
	d = dec("-12");
	CU_ASSERT(d.mant == -12);
	ASSERT_EQ_INT(d.scale, 0);
	d = dec("-.000000000000000007");
	CU_ASSERT(d.mant == -7);
	ASSERT_EQ_INT(d.scale, 18);
	d = dec("99999999999999999999999999999999999999");
	CU_ASSERT(d.mant == max_mant());
}

static void
test_parse_uses_only_the_given_length(void)
{
	sl_decimal d;

	ASSERT_EQ_INT(sl_dec_parse("12.5xyz", 4, &d), SL_OK);
	ASSERT_EQ_STR(fmt(d), "12.5");
	ASSERT_EQ_INT(sl_dec_parse("1\0" "2", 3, &d), SL_EINVAL);
}

static void
test_parse_rejects_what_is_not_a_plain_decimal(void)
{
	static const char *const bad[] = {
		"", " ", "+", "-", ".", "+.", "-.", "1e5", "1E5", "1e-2",
		"abc", "--1", "+-1", "-+1", "1.2.3", "1..2", " 1", "1 ",
		"1\t", "0x10", "1,000", "1,5", "inf", "nan", "1-", "1.5-",
		"\xc2\xbd", "1.0000000000000000000", /* 19 decimals */
		"0.1234567890123456789",
	};
	size_t i;
	sl_decimal d = { 42, 1 };

	for (i = 0; i < SL_ARRAY_LEN(bad); i++) {
		int rv = sl_dec_parse(bad[i], strlen(bad[i]), &d);

		if (rv != SL_EINVAL)
			fprintf(stderr, "accepted '%s'\n", bad[i]);
		ASSERT_EQ_INT(rv, SL_EINVAL);
	}
	CU_ASSERT(d.mant == 42 && d.scale == 1);  /* untouched */
}

static void
test_parse_reports_overflow_beyond_38_digits(void)
{
	static const char *const big[] = {
		"100000000000000000000000000000000000000",   /* 10^38 */
		"-100000000000000000000000000000000000000",
		"9999999999999999999999999999999999999.99",  /* 39 digits */
		"170141183460469231731687303715884105728",   /* 2^127 */
		"340282366920938463463374607431768211457",   /* 2^128 + 1 */
		"1000000000000000000000000000000000000000000000000000000",
	};
	size_t i;
	sl_decimal d;

	for (i = 0; i < SL_ARRAY_LEN(big); i++)
		ASSERT_EQ_INT(sl_dec_parse(big[i], strlen(big[i]), &d),
			      SL_EOVERFLOW);
	/* A junk byte after too many digits is still a syntax error. */
	ASSERT_EQ_INT(sl_dec_parse("1000000000000000000000000000000000000000x",
				   41, &d), SL_EINVAL);
}

static void
test_format_prints_exactly_scale_decimals(void)
{
	ASSERT_EQ_STR(fmt(mk(-50, 2)), "-0.50");
	ASSERT_EQ_STR(fmt(mk(5, 2)), "0.05");
	ASSERT_EQ_STR(fmt(mk(12, 0)), "12");
	ASSERT_EQ_STR(fmt(mk(0, 3)), "0.000");
	ASSERT_EQ_STR(fmt(mk(0, 0)), "0");
	ASSERT_EQ_STR(fmt(mk(-1, 18)), "-0.000000000000000001");
	ASSERT_EQ_STR(fmt(mk(1234, 4)), "0.1234");
	ASSERT_EQ_STR(fmt(mk(-1234, 3)), "-1.234");
	/* The extreme mantissa (outside what arithmetic produces) fits. */
	ASSERT_EQ_STR(fmt(mk((sl_i128)((unsigned __int128)1 << 127), 18)),
		      "-170141183460469231731.687303715884105728");
	/* A scale beyond the maximum is clamped, so buf's bound holds. */
	ASSERT_EQ_STR(fmt(mk(-1, 255)), "-0.000000000000000001");
}

static void
test_add_mixes_scales_and_carries(void)
{
	static const char *const cases[][3] = {
		{ "1.5", "2.25", "3.75" },   { "0.99", "0.01", "1.00" },
		{ "9.9", "0.1", "10.0" },    { "999", "1", "1000" },
		{ "-1.5", "0.25", "-1.25" }, { "1.5", "-1.50", "0.00" },
		{ "-0.5", "0.25", "-0.25" }, { "-0.50", "0.50", "0.00" },
		{ "-2", "-3.001", "-5.001" }, { "0", "0.000", "0.000" },
		{ "10000000000000000000", "0.000000000000000001",
		  "10000000000000000000.000000000000000001" },
		{ "99999999999999999999999999999999999998", "1",
		  "99999999999999999999999999999999999999" },
		{ "99999999999999999999999999999999999999",
		  "-99999999999999999999999999999999999999", "0" },
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++) {
		sl_decimal acc = dec(cases[i][0]);

		ASSERT_EQ_INT(sl_dec_add(&acc, dec(cases[i][1])), SL_OK);
		ASSERT_EQ_STR(fmt(acc), cases[i][2]);
	}
}

/* Every case overflows and must leave the accumulator untouched. */
static void
test_add_reports_overflow_and_leaves_the_sum_alone(void)
{
	static const char *const cases[][2] = {
		{ "99999999999999999999999999999999999999", "1" },
		{ "-99999999999999999999999999999999999999", "-1" },
		/* 2 * (10^38 - 1) is beyond 2^127 itself */
		{ "99999999999999999999999999999999999999",
		  "99999999999999999999999999999999999999" },
		{ "-99999999999999999999999999999999999999",
		  "-99999999999999999999999999999999999999" },
		/* rescaling 10^37 by 10 reaches 10^38 */
		{ "10000000000000000000000000000000000000", "0.5" },
		/* rescaling by 10^18 would wrap 128 bits many times over */
		{ "99999999999999999999999999999999999999",
		  "0.000000000000000001" },
		{ "100000000000000000000", "0.000000000000000001" },
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++) {
		sl_decimal acc = dec(cases[i][0]), before = acc;

		ASSERT_EQ_INT(sl_dec_add(&acc, dec(cases[i][1])),
			      SL_EOVERFLOW);
		CU_ASSERT(acc.mant == before.mant && acc.scale == before.scale);
		/* the other way round too */
		acc = dec(cases[i][1]);
		before = acc;
		ASSERT_EQ_INT(sl_dec_add(&acc, dec(cases[i][0])),
			      SL_EOVERFLOW);
		CU_ASSERT(acc.mant == before.mant && acc.scale == before.scale);
	}
}

static void
test_add_refuses_mantissas_at_2_to_the_127(void)
{
	sl_i128 top = (sl_i128)(((unsigned __int128)1 << 127) - 1);
	sl_decimal acc = mk(top, 0);

	ASSERT_EQ_INT(sl_dec_add(&acc, mk(0, 0)), SL_EOVERFLOW);
	acc = mk(1, 0);
	ASSERT_EQ_INT(sl_dec_add(&acc, mk(-top - 1, 0)), SL_EOVERFLOW);
	acc = mk(1, 0);
	ASSERT_EQ_INT(sl_dec_add(&acc, mk(1, 19)), SL_EINVAL);
}

static void
test_cmp_orders_numerically_across_scales(void)
{
	static const struct {
		const char *a, *b;
		int sign;
	} cases[] = {
		{ "1.5", "1.50", 0 },     { "1.5", "1.51", -1 },
		{ "-2", "1", -1 },        { "-1.5", "-1.51", 1 },
		{ "0", "-0.00", 0 },      { "10", "9.999", 1 },
		{ "0.000000000000000001", "0", 1 },
		/* rescaling the left one would overflow int128 */
		{ "99999999999999999999999999999999999999",
		  "0.000000000000000001", 1 },
		{ "-99999999999999999999999999999999999999",
		  "-0.000000000000000001", -1 },
		{ "-99999999999999999999999999999999999999",
		  "99999999999999999999.999999999999999999", -1 },
		{ "100000000000000000000",
		  "99999999999999999999.999999999999999999", 1 },
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++) {
		int ab = sl_dec_cmp(dec(cases[i].a), dec(cases[i].b));
		int ba = sl_dec_cmp(dec(cases[i].b), dec(cases[i].a));

		ASSERT_EQ_INT((ab > 0) - (ab < 0), cases[i].sign);
		ASSERT_EQ_INT((ba > 0) - (ba < 0), -cases[i].sign);
	}
}

static void
test_avg_rounds_half_away_from_zero_to_6_decimals(void)
{
	static const struct {
		const char *sum;
		uint64_t count;
		const char *avg;
	} cases[] = {
		{ "1", 8, "0.125000" },
		{ "2", 3, "0.666667" },
		{ "-2", 3, "-0.666667" },
		{ "1", 3, "0.333333" },
		{ "1", 16000000, "0.000000" },
		{ "-1", 16000000, "0.000000" },  /* never "-0.000000" */
		{ "1", 2000000, "0.000001" },    /* 0.0000005 rounds away */
		{ "-1", 2000000, "-0.000001" },
		{ "0.000005", 2, "0.000003" },
		{ "-0.000005", 2, "-0.000003" },
		{ "0.0000004999999", 1, "0.000000" },
		{ "12.50", 4, "3.125000" },
		{ "10", 4, "2.500000" },
		{ "-7.5", 2, "-3.750000" },
		{ "0.000000000000000000", 5, "0.000000" },
		{ "99999999999999999999.999999999999999999",
		  UINT64_MAX, "5.421011" },
		{ "-99999999999999999999.999999999999999999",
		  UINT64_MAX, "-5.421011" },
		{ "99999999999999999999999999999999", 1,
		  "99999999999999999999999999999999.000000" },
		/* 38 digits: the average has more digits than a decimal
		 * holds, and is still exact */
		{ "99999999999999999999999999999999999999", 1,
		  "99999999999999999999999999999999999999.000000" },
		{ "-99999999999999999999999999999999999999", 7,
		  "-14285714285714285714285714285714285714.142857" },
		{ "99999999999999999999999999999999999999", 2,
		  "49999999999999999999999999999999999999.500000" },
		{ "99999999999999999999.999999999999999999", 1,
		  "100000000000000000000.000000" },  /* rounds up into q */
		{ "-0.0000009", 1, "-0.000001" },
	};
	size_t i;

	for (i = 0; i < SL_ARRAY_LEN(cases); i++) {
		char buf[SL_DEC_STR_MAX];
		size_t len = 0;

		ASSERT_EQ_INT(sl_dec_avg(dec(cases[i].sum), cases[i].count,
					 buf, &len), SL_OK);
		ASSERT_EQ_STR(buf, cases[i].avg);
		ASSERT_EQ_INT(len, strlen(cases[i].avg));
	}
}

static void
test_avg_refuses_a_zero_count_and_a_bad_scale(void)
{
	char buf[SL_DEC_STR_MAX] = "untouched";
	size_t len = 42;

	ASSERT_EQ_INT(sl_dec_avg(dec("1"), 0, buf, &len), SL_EINVAL);
	ASSERT_EQ_INT(sl_dec_avg(mk(1, SL_DEC_MAX_SCALE + 1), 1, buf, &len),
		      SL_EINVAL);
	ASSERT_EQ_STR(buf, "untouched");
	ASSERT_EQ_INT(len, 42);
}

static void
test_u64_is_8_bytes_little_endian(void)
{
	unsigned char b[9];

	memset(b, 0xAA, sizeof(b));
	sl_u64_put(b, 0x0102030405060708ULL);
	ASSERT_EQ_MEM(b, 9, "\x08\x07\x06\x05\x04\x03\x02\x01\xAA", 9);
	CU_ASSERT(sl_u64_get(b) == 0x0102030405060708ULL);
	sl_u64_put(b, UINT64_MAX);
	CU_ASSERT(sl_u64_get(b) == UINT64_MAX);
	sl_u64_put(b, 0);
	ASSERT_EQ_MEM(b, 8, "\0\0\0\0\0\0\0\0", 8);
	CU_ASSERT(sl_u64_get("\xff\0\0\0\0\0\0\x80") ==
		  0x80000000000000ffULL);
}

static const unit_case cases[] = {
	{ "canonical strings format back unchanged",
	  test_canonical_strings_format_back_unchanged },
	{ "other accepted forms format canonically",
	  test_other_accepted_forms_format_canonically },
	{ "parse keeps the written scale", test_parse_keeps_the_written_scale },
	{ "parse uses only the given length",
	  test_parse_uses_only_the_given_length },
	{ "parse rejects what is not a plain decimal",
	  test_parse_rejects_what_is_not_a_plain_decimal },
	{ "parse reports overflow beyond 38 digits",
	  test_parse_reports_overflow_beyond_38_digits },
	{ "format prints exactly scale decimals",
	  test_format_prints_exactly_scale_decimals },
	{ "add mixes scales and carries", test_add_mixes_scales_and_carries },
	{ "add reports overflow and leaves the sum alone",
	  test_add_reports_overflow_and_leaves_the_sum_alone },
	{ "add refuses mantissas at 2^127",
	  test_add_refuses_mantissas_at_2_to_the_127 },
	{ "cmp orders numerically across scales",
	  test_cmp_orders_numerically_across_scales },
	{ "avg rounds half away from zero to 6 decimals",
	  test_avg_rounds_half_away_from_zero_to_6_decimals },
	{ "avg refuses a zero count and a bad scale",
	  test_avg_refuses_a_zero_count_and_a_bad_scale },
	{ "u64 is 8 bytes little-endian", test_u64_is_8_bytes_little_endian },
	{ NULL, NULL },
};

UNIT_MAIN("decimal", cases)
